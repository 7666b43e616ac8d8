"""Unit tests of imbalance_lab.evaluation.learning: learning curves equal scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.model_selection  # patched below: evaluation imports it when called

from imbalance_lab import evaluation as ev
from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.evaluation import caches
from imbalance_lab.modeling import make_pipeline


def test_learning_curve_shapes(dataset):
    X, y, schema, folds = dataset
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    sizes, train_scores, val_scores = ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 1.0])
    n_train = len(next(iter_splits(folds))[2])
    assert list(sizes) == [n_train // 2, n_train]
    assert train_scores.shape == (2, 3) and val_scores.shape == (2, 3)  # first repeat only: 3 folds
    assert np.all((val_scores > 0) & (val_scores <= 1))
    sizes, train_scores, val_scores = ev.learning_curve(pipe, X, y, folds, sizes=[0.6, 0.8, 1.0], metric="brier")
    assert train_scores.shape == (3, 3) and val_scores.shape == (3, 3)
    assert np.all((val_scores >= 0) & (val_scores < 0.25))  # a loss, sign flipped back


def test_learning_curve_rejects_a_threshold_metric():
    with pytest.raises(ValueError, match="learning curves support"):
        ev.learning_curve(None, None, None, None, sizes=[1.0], metric="f1")


def _sklearn_curve(pipe, X, y, folds, sizes, metric):
    from sklearn.model_selection import learning_curve as sk_learning_curve

    splits = [(tr, va) for r, _, tr, va in iter_splits(folds) if r == 0]
    scoring = ev.CURVE_METRICS[metric]
    sizes_abs, train, val = sk_learning_curve(pipe, X, y, cv=splits, train_sizes=sizes, scoring=scoring, shuffle=False)
    if scoring.startswith("neg_"):
        train, val = -train, -val
    return sizes_abs, train, val


def _no_sklearn_curve(*args, **kwargs):
    raise AssertionError("the shared-preprocessing path of learning_curve was not taken")


@pytest.mark.parametrize("metric", ["average_precision", "brier"])
def test_learning_curve_equals_sklearn(small_data, fresh_caches, monkeypatch, metric):
    X, y, schema, _ = small_data
    folds = make_folds(y, n_splits=3, n_repeats=2, seed=2)  # the curve uses the first repeat only
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    expected = _sklearn_curve(pipe, X, y, folds, [0.5, 0.75, 1.0], metric)
    assert np.isfinite(expected[1]).all() and np.isfinite(expected[2]).all()
    monkeypatch.setattr(sklearn.model_selection, "learning_curve", _no_sklearn_curve)
    got = ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 0.75, 1.0], metric=metric)
    for g, e in zip(got, expected):
        assert np.array_equal(g, e)


def test_learning_curve_reuses_the_cross_validation_fit(small_data, fresh_caches, monkeypatch):
    X, y, schema, folds = small_data
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    expected = _sklearn_curve(pipe, X, y, folds, [0.5, 1.0], "average_precision")
    ev.cross_validate(pipe, X, y, folds)  # keeps the full-size fits and their preprocessing
    kept = set(caches._MODEL_CACHE)
    monkeypatch.setattr(sklearn.model_selection, "learning_curve", _no_sklearn_curve)
    got = ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 1.0])
    assert set(caches._MODEL_CACHE) == kept  # the full-size points were not refitted
    for g, e in zip(got, expected):
        assert np.array_equal(g, e)


def _negatives_first(make_dataset, n=90):
    """The training folds start with negatives only: a small learning-curve size has one class."""
    X, y, schema = make_dataset(n=n, seed=2)
    order = np.argsort(y, kind="stable")
    return X.iloc[order].reset_index(drop=True), y[order], schema


def test_learning_curve_failed_fit_scores_nan_like_sklearn(fresh_caches, make_dataset):
    from sklearn.exceptions import FitFailedWarning

    X, y, schema = _negatives_first(make_dataset)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    pipe = make_pipeline("logistic_regression", schema, seed=0)  # cannot fit a single class
    with pytest.warns(FitFailedWarning):
        expected = _sklearn_curve(pipe, X, y, folds, [0.2, 1.0], "average_precision")
    with pytest.warns(FitFailedWarning):
        got = ev.learning_curve(pipe, X, y, folds, sizes=[0.2, 1.0])
    assert np.isnan(expected[1][0]).all() and np.isfinite(expected[1][1]).all()
    for g, e in zip(got, expected):
        assert np.array_equal(g, e, equal_nan=True)


def test_learning_curve_failed_scoring_scores_nan_like_sklearn(fresh_caches, make_dataset):
    X, y, schema = _negatives_first(make_dataset)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    pipe = make_pipeline("dummy", schema, seed=0)  # fits one class, then cannot be scored
    with pytest.warns(UserWarning):
        expected = _sklearn_curve(pipe, X, y, folds, [0.2, 1.0], "average_precision")
    assert np.isnan(expected[1][0]).all()
    got = ev.learning_curve(pipe, X, y, folds, sizes=[0.2, 1.0])
    for g, e in zip(got, expected):
        assert np.array_equal(g, e, equal_nan=True)
