"""Fixtures of the evaluation tests: the shared synthetic data set with its folds, and empty fit
caches."""

from __future__ import annotations

from collections import OrderedDict

import pytest

from imbalance_lab import evaluation as ev
from imbalance_lab.data import make_folds
from imbalance_lab.evaluation import caches


@pytest.fixture(scope="module")
def dataset(make_dataset):
    """The shared synthetic data set (300 rows) and two repeats of 3 folds: ``(X, y, schema, folds)``."""
    X, y, schema = make_dataset()
    folds = make_folds(y, n_splits=3, n_repeats=2, seed=7)
    return X, y, schema, folds


@pytest.fixture
def fresh_caches(monkeypatch):
    """Empty preprocessing and model caches for this test only (they are process-wide)."""
    monkeypatch.setattr(caches, "_PREPROCESS_CACHE", OrderedDict())
    monkeypatch.setattr(caches, "_MODEL_CACHE", OrderedDict())
    return ev


@pytest.fixture(scope="module")
def small_data(make_dataset):
    """120 rows: numeric columns (one with NaN), a text column with NaN; one repeat of 3 folds."""
    X, y, schema = make_dataset(n=120, seed=4)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=2)
    return X, y, schema, folds
