"""Fixtures of the modeling tests: the imbalanced data the strategy tests share."""

from __future__ import annotations

import pytest

from imbalance_lab.data import make_folds


@pytest.fixture(scope="module")
def strategy_data(make_dataset):
    """400 rows of the shared synthetic data set, 32 positives, one repeat of 3 folds:
    ``(X, y, schema, folds)``."""
    X, y, schema = make_dataset(400, positives=32)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=3)
    return X, y, schema, folds
