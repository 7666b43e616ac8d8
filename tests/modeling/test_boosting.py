"""Unit tests of imbalance_lab.modeling.boosting: XGBoost trained from its matrix."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from imbalance_lab.modeling import fit_on_matrix, make_estimator, training_matrix


@pytest.fixture(scope="module")
def rows():
    """3,000 rows of 6 float32 columns with missing values; 10 % positives driven by two columns."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 6)).astype(np.float32)
    X[:, 3] = rng.integers(0, 4, size=3000)
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 3]) + rng.normal(size=3000) > 2.6).astype(int)
    return X, y


def _booster_bytes(model):
    return bytes(model.get_booster().save_raw("ubj"))


@pytest.mark.parametrize(
    "params",
    [
        {"n_estimators": 15},
        {"n_estimators": 15, "scale_pos_weight": 9.0, "max_bin": 32, "missing": 0.0},
        {"n_estimators": 15, "tree_method": "approx"},  # a DMatrix, not a QuantileDMatrix
    ],
)
def test_the_booster_is_the_one_fit_grows(rows, params):
    """Matrix first, then the fit: the same booster, byte for byte, and the same probabilities."""
    X, y = rows
    model = make_estimator("xgboost", seed=3, params=params)
    expected = clone(model).fit(X, y)
    got = fit_on_matrix(model, training_matrix(model, X, y), y)
    assert got is model
    assert _booster_bytes(got) == _booster_bytes(expected)
    assert np.array_equal(got.predict_proba(X), expected.predict_proba(X))
    assert got.n_features_in_ == expected.n_features_in_ == X.shape[1]
    assert "_create_dmatrix" not in vars(got)  # the fitted classifier pickles as fit leaves it


def test_the_matrix_holds_no_reference_to_the_rows(rows):
    """Once the caller drops its rows they are freed, though XGBoost has yet to train."""
    X, y = rows
    X = X.copy()
    ref = weakref.ref(X)
    model = make_estimator("xgboost", seed=3, params={"n_estimators": 5})
    matrix = training_matrix(model, X, y)
    del X  # no gc.collect(): freed when the last reference goes, as in fit_rest
    assert ref() is None
    fit_on_matrix(model, matrix, y)
    assert model.get_booster().num_boosted_rounds() == 5


def test_other_estimators_have_no_matrix(rows):
    X, y = rows
    assert training_matrix(LogisticRegression(), X, y) is None
    assert training_matrix(make_estimator("random_forest", seed=0), X, y) is None
