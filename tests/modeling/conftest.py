"""Fixtures of the modeling tests: the imbalanced data the strategy tests share."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from imbalance_lab.data import make_folds


@pytest.fixture(scope="module")
def strategy_data(make_dataset):
    """400 rows of the shared synthetic data set, 32 positives, one repeat of 3 folds:
    ``(X, y, schema, folds)``."""
    X, y, schema = make_dataset(400, positives=32)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=3)
    return X, y, schema, folds


def _mixed(n: int, *, seed: int, dtype: Any = np.float64, positives: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Continuous columns (one with -0.0 and 0.0 cells) and ordinal-coded categorical ones."""
    rng = np.random.default_rng(seed)
    signed_zeros = np.where(rng.random(n) < 0.3, -0.0, rng.normal(size=n))
    X = np.column_stack(
        [rng.normal(size=n), rng.integers(0, 4, n), signed_zeros, rng.integers(0, 7, n), rng.exponential(size=n)]
    ).astype(dtype)
    return X, (rng.random(n) < positives).astype(int)


@pytest.fixture
def mixed_rows():
    """A maker of rows with continuous columns (one with -0.0 and 0.0 cells) and ordinal-coded
    categorical ones, and their labels: ``mixed_rows(n, *, seed, dtype=float64, positives=0.08)``."""
    return _mixed
