"""Unit tests of imbalance_lab.modeling.models and make_pipeline: the registry and its pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from imbalance_lab.data import Schema
from imbalance_lab.modeling import MODELS, make_estimator, make_pipeline, models

SCHEMA = Schema(
    target="y", numeric=["num1", "num2"], categorical={"cat": ["a", "b", "c"]}, features=["num1", "num2", "cat"]
)


@pytest.fixture(scope="module")
def data(make_dataset):
    """160 rows, 15 % positives; num1 and cat carry signal; missing values in num2 and cat."""
    X, y, _ = make_dataset(160, positives=24)
    return X, y


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_fits_and_predicts_probabilities(name, data):
    X, y = data
    pipe = make_pipeline(name, SCHEMA, seed=0)
    assert isinstance(pipe, Pipeline)
    assert [step for step, _ in pipe.steps] == ["preprocess", "model"]
    pipe.fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert list(pipe.classes_) == [0, 1]
    # new rows with an unseen category and missing values are scored too
    new = pd.DataFrame({"num1": [np.nan, 0.3], "num2": [np.nan, np.nan], "cat": pd.Series(["zzz", None], dtype=object)})
    new_proba = pipe.predict_proba(new)[:, 1]
    assert new_proba.shape == (2,) and np.all((new_proba >= 0) & (new_proba <= 1))
    if name == "dummy":
        np.testing.assert_allclose(proba[:, 1], y.mean())  # the prior
    else:
        assert roc_auc_score(y, proba[:, 1]) > 0.8  # the signal is learned


@pytest.mark.parametrize("name", list(MODELS))
def test_preprocessing_matches_the_spec(name):
    pipe = make_pipeline(name, SCHEMA, seed=0)
    spec = MODELS[name]
    pre = pipe.named_steps["preprocess"]
    numeric = {n: t for n, t, _ in pre.transformers}["numeric"]
    categorical = {n: t for n, t, _ in pre.transformers}["categorical"]
    encoder = categorical.named_steps["encode"]
    assert isinstance(encoder, OneHotEncoder if spec.encoding == "onehot" else OrdinalEncoder)
    assert isinstance(numeric.steps[-1][1], StandardScaler) == spec.scale
    if spec.class_weight_param is not None:
        assert spec.class_weight_param in pipe.named_steps["model"].get_params()


@pytest.mark.parametrize("name", ["random_forest", "hist_gradient_boosting", "xgboost", "logistic_regression"])
def test_same_seed_same_predictions(name, data):
    X, y = data
    params = {"n_estimators": 30} if name in ("random_forest", "xgboost") else None
    if name == "hist_gradient_boosting":
        params = {"max_iter": 30}
    a = make_pipeline(name, SCHEMA, seed=1, params=params).fit(X, y).predict_proba(X)
    b = make_pipeline(name, SCHEMA, seed=1, params=params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert make_pipeline(name, SCHEMA, seed=7).named_steps["model"].get_params()["random_state"] == 7


def test_random_forest_seed_changes_the_model(data):
    X, y = data
    a = make_pipeline("random_forest", SCHEMA, seed=1, params={"n_estimators": 10}).fit(X, y).predict_proba(X)
    b = make_pipeline("random_forest", SCHEMA, seed=2, params={"n_estimators": 10}).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)


def test_sampler_used_at_fit_but_not_at_predict(data):
    X, y = data
    plain = make_pipeline("dummy", SCHEMA, seed=0).fit(X, y)
    np.testing.assert_allclose(plain.named_steps["model"].class_prior_, [1 - y.mean(), y.mean()])

    pipe = make_pipeline("dummy", SCHEMA, seed=0, sampler=RandomOverSampler(random_state=0))
    assert [step for step, _ in pipe.steps] == ["preprocess", "sample", "model"]
    pipe.fit(X, y)
    # the model was fitted on the oversampled (balanced) training rows...
    np.testing.assert_allclose(pipe.named_steps["model"].class_prior_, [0.5, 0.5])
    # ...but prediction keeps every given row, unresampled
    proba = pipe.predict_proba(X.iloc[:7])
    assert proba.shape == (7, 2)
    np.testing.assert_allclose(proba[:, 1], 0.5)


def test_sampler_sees_preprocessed_data(data):
    # SMOTE interpolates numbers: it fails on raw text or NaN, so it must come after preprocessing
    X, y = data
    pipe = make_pipeline("logistic_regression", SCHEMA, seed=0, sampler=SMOTE(random_state=0, k_neighbors=3))
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (len(X), 2)
    with pytest.raises(ValueError):
        SMOTE(random_state=0, k_neighbors=3).fit_resample(X, y)


@pytest.mark.parametrize(
    "name, params, expected, kept",
    [
        ("logistic_regression", {"C": 0.01}, {"C": 0.01}, {"max_iter": 2000}),
        (
            "random_forest",
            {"n_estimators": 7, "max_depth": 3},
            {"n_estimators": 7, "max_depth": 3},
            {"min_samples_leaf": 5},
        ),
        (
            "hist_gradient_boosting",
            {"max_iter": 10, "early_stopping": True},
            {"max_iter": 10, "early_stopping": True},
            {"max_leaf_nodes": 15},
        ),
        ("xgboost", {"max_depth": 2, "n_estimators": 5}, {"max_depth": 2, "n_estimators": 5}, {"learning_rate": 0.05}),
        ("dummy", {"strategy": "stratified"}, {"strategy": "stratified"}, {}),
    ],
)
def test_params_overrides_reach_the_estimator(name, params, expected, kept, data):
    X, y = data
    pipe = make_pipeline(name, SCHEMA, seed=3, params=params)
    got = pipe.named_steps["model"].get_params()
    for key, value in {**expected, **kept}.items():
        assert got[key] == value, key
    pipe.fit(X, y)
    assert pipe.predict_proba(X).shape == (len(X), 2)
    # the defaults are back without overrides
    default = make_pipeline(name, SCHEMA, seed=3).named_steps["model"].get_params()
    for key, value in expected.items():
        assert default[key] != value, key


def test_fitted_overrides_are_used(data):
    X, y = data
    pipe = make_pipeline("random_forest", SCHEMA, seed=0, params={"n_estimators": 7}).fit(X, y)
    assert len(pipe.named_steps["model"].estimators_) == 7
    pipe = make_pipeline("hist_gradient_boosting", SCHEMA, seed=0, params={"max_iter": 4}).fit(X, y)
    assert pipe.named_steps["model"].n_iter_ == 4


def test_n_jobs_and_defaults():
    assert make_estimator("random_forest", seed=0, n_jobs=3).n_jobs == 3
    assert make_estimator("xgboost", seed=0, n_jobs=2).get_params()["n_jobs"] == 2
    hgb = make_estimator("hist_gradient_boosting", seed=0)
    assert hgb.early_stopping is False and hgb.max_iter == 200
    assert make_estimator("dummy", seed=0).strategy == "prior"
    assert make_estimator("logistic_regression", seed=0, params=None).C == 1.0


def test_unknown_model_raises_key_error():
    with pytest.raises(KeyError, match="unknown model 'svm'"):
        make_estimator("svm", seed=0)
    with pytest.raises(KeyError):
        make_pipeline("svm", SCHEMA, seed=0)


@pytest.mark.parametrize(
    "name, params, named, hint",
    [
        ("logistic_regression", {"c": 0.5}, "'c'", "'c' -> 'C'"),
        (
            "xgboost",
            {"n_estimator": 50},
            "'n_estimator'",
            "'n_estimator' -> 'n_estimators'",
        ),  # XGBoost itself only warns at fit
        ("random_forest", {"n_estimators": 10, "zzz": 1}, "'zzz'", None),
    ],
)
def test_unknown_hyperparameter_is_a_params_error_naming_it(name, params, named, hint):
    from imbalance_lab.errors import ParamsError

    with pytest.raises(ParamsError) as err:
        make_estimator(name, seed=0, params=params)
    msg = str(err.value)
    assert msg.startswith(f"cross_validate.model_params.{name}:") and named in msg and "\n" not in msg
    assert (hint in msg) if hint else "did you mean" not in msg


@pytest.mark.parametrize(
    "name, key",
    [
        ("xgboost", "random_state"),
        ("random_forest", "n_jobs"),
        ("logistic_regression", "random_state"),
        ("xgboost", "nthread"),
    ],
)
def test_parameters_the_pipeline_sets_are_refused(name, key):
    """They were passed twice (TypeError: got multiple values for keyword argument)."""
    from imbalance_lab.errors import ParamsError

    with pytest.raises(ParamsError, match=rf"^cross_validate\.model_params\.{name}\.{key} is set by the pipeline"):
        make_estimator(name, seed=0, params={key: 1})


def test_registry_entries():
    assert set(MODELS) == {"dummy", "logistic_regression", "random_forest", "hist_gradient_boosting", "xgboost"}
    for spec in MODELS.values():
        assert isinstance(spec, models.ModelSpec)
        assert spec.encoding in ("onehot", "ordinal")
