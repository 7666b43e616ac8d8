"""Unit tests of imbalance_lab.modeling.pipelines: each strategy's pipeline, resampling in training folds only."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from imbalance_lab import evaluation as ev
from imbalance_lab import modeling
from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.errors import ImbalanceLabError, StrategyError
from imbalance_lab.evaluation import caches
from imbalance_lab.modeling import make_pipeline, strategies
from imbalance_lab.modeling import pipelines as pipelines_module

SAMPLERS = [n for n, s in modeling.STRATEGIES.items() if s.kind == "resampling"]
OVER_SAMPLERS = ["random_over", "smote", "borderline_smote", "adasyn"]


class Recorder(ClassifierMixin, BaseEstimator):
    """Records the rows it is fitted on and the rows it is asked to predict; predicts the base rate."""

    def fit(self, X, y):
        self.fit_X_ = np.array(X, dtype=float, copy=True)
        self.fit_y_ = np.array(y, copy=True)
        self.classes_ = np.array([0, 1])
        self.rate_ = float(np.mean(y))
        self.seen_ = []
        return self

    def predict_proba(self, X):
        X = np.array(X, dtype=float, copy=True)
        self.seen_.append(X)
        p = np.full(len(X), self.rate_)
        return np.column_stack([1 - p, p])


@pytest.mark.parametrize("strategy", list(modeling.STRATEGIES))
def test_every_strategy_fits_predicts_probabilities_and_pickles(strategy_data, strategy):
    X, y, schema, _ = strategy_data
    pipe = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0)
    names = [n for n, _ in pipe.steps]
    expected = ["preprocess", "model"]
    if strategy in SAMPLERS:  # SMOTE-NC sees categorical codes, one-hot encoded after it
        expected[1:1] = ["sample", "encode"] if strategy in strategies.SMOTE_NC else ["sample"]
    assert names == expected
    pickle.dumps(pipe)
    pipe.fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert np.all((proba >= 0) & (proba <= 1)) and np.allclose(proba.sum(axis=1), 1)
    assert np.unique(proba[:, 1]).size > 10  # a real model, not a constant
    again = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_pipelines_per_strategy_have_the_right_parts(strategy_data):
    _, _, schema, _ = strategy_data
    base = modeling.make_strategy_pipeline("none", "logistic_regression", schema, seed=0)
    moved = modeling.make_strategy_pipeline("threshold_moving", "logistic_regression", schema, seed=0)
    assert repr(base) == repr(moved) == repr(make_pipeline("logistic_regression", schema, seed=0))
    weighted = modeling.make_strategy_pipeline(
        "class_weight", "random_forest", schema, seed=0, model_params={"n_estimators": 7}
    )
    assert weighted.named_steps["model"].get_params()["class_weight"] == "balanced"
    assert weighted.named_steps["model"].n_estimators == 7
    smote = modeling.make_strategy_pipeline(
        "smote_tomek", "logistic_regression", schema, seed=11, sampling_strategy=0.5, k_neighbors=3
    )
    inner = smote.named_steps["sample"].sampler
    assert inner.smote.k_neighbors == 3 and inner.smote.sampling_strategy == 0.5 and inner.smote.random_state == 11
    adasyn = modeling.make_strategy_pipeline("adasyn", "logistic_regression", schema, seed=0, k_neighbors=4)
    assert adasyn.named_steps["sample"].sampler.n_neighbors == 4
    brf = modeling.make_strategy_pipeline("balanced_random_forest", "logistic_regression", schema, seed=5, n_jobs=2)
    model = brf.named_steps["model"]
    assert model.sampling_strategy == "all" and model.replacement and not model.bootstrap
    assert model.random_state == 5 and model.n_jobs == 2
    # ensembles use the ordinal (tree) preprocessing, whatever model was asked for
    categorical = {name: t for name, t, _ in brf.named_steps["preprocess"].transformers}["categorical"]
    assert type(categorical.named_steps["encode"]).__name__ == "OrdinalEncoder"


def test_class_weight_errors(strategy_data):
    _, _, schema, _ = strategy_data
    with pytest.raises(StrategyError, match=r"strategy 'class_weight': model 'dummy' has no class-weight parameter"):
        modeling.make_strategy_pipeline("class_weight", "dummy", schema, seed=0)
    with pytest.raises(StrategyError, match=r"remove scale_pos_weight"):
        modeling.make_strategy_pipeline("class_weight", "xgboost", schema, seed=0, model_params={"scale_pos_weight": 3})
    with pytest.raises(StrategyError, match=r"unknown imbalance strategy 'smoat'.*registered: none"):
        modeling.make_strategy_pipeline("smoat", "logistic_regression", schema, seed=0)
    assert issubclass(StrategyError, ImbalanceLabError)


@pytest.mark.parametrize("strategy", strategies.INTERPOLATE_DISCRETE)
def test_samplers_without_a_categorical_variant_warn(strategy_data, strategy, caplog):
    _, _, schema, _ = strategy_data
    with caplog.at_level("WARNING", logger=pipelines_module.log.name):
        modeling.make_strategy_pipeline(strategy, "xgboost", schema, seed=0)
    assert f"strategy '{strategy}' interpolates the encoded categorical columns (cat) like numbers" in caplog.text
    caplog.clear()
    numeric_only = schema.replace(categorical={}, features=schema.numeric)
    with caplog.at_level("WARNING", logger=pipelines_module.log.name):
        modeling.make_strategy_pipeline(strategy, "xgboost", numeric_only, seed=0)
        modeling.make_strategy_pipeline("smote", "xgboost", schema, seed=0)
    assert caplog.text == ""


def test_pipelines_run_in_worker_processes(strategy_data):
    X, y, schema, folds = strategy_data
    pipe = modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0)
    serial = ev.cross_validate(pipe, X, y, folds, n_jobs=1)
    parallel = ev.cross_validate(pipe, X, y, folds, n_jobs=2)
    pd.testing.assert_frame_equal(serial.oof, parallel.oof)
    # the one-line error survives the trip back from a worker
    bad = modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, k_neighbors=40)
    with pytest.raises(StrategyError, match=r"^strategy 'smote': k_neighbors=40"):
        ev.cross_validate(bad, X, y, folds, n_jobs=2)


def test_oversampling_before_the_split_inflates_cross_validated_scores(strategy_data):
    """Resampling the whole data set and then cross-validating leaks copies of validation
    positives into training: a flexible model memorises them. Inside the folds it cannot."""
    X, y, schema, folds = strategy_data
    flexible = {"n_estimators": 100, "min_samples_leaf": 1}
    X_leaky, y_leaky = RandomOverSampler(random_state=0).fit_resample(X, y)
    y_leaky = np.asarray(y_leaky)
    folds_leaky = make_folds(y_leaky, n_splits=3, n_repeats=1, seed=3)
    leaky = ev.cross_validate(
        make_pipeline("random_forest", schema, seed=0, params=flexible), X_leaky, y_leaky, folds_leaky
    )
    proper = ev.cross_validate(
        modeling.make_strategy_pipeline("random_over", "random_forest", schema, seed=0, model_params=flexible),
        X,
        y,
        folds,
    )
    leaky_ap, proper_ap = leaky.scores["average_precision"].mean(), proper.scores["average_precision"].mean()
    leaky_auc, proper_auc = leaky.scores["roc_auc"].mean(), proper.scores["roc_auc"].mean()
    assert leaky_ap > proper_ap + 0.25, (leaky_ap, proper_ap)
    # ROC AUC does not depend on the prevalence: the gain is memorisation, not the 50 % base rate
    assert leaky_auc > proper_auc + 0.08, (leaky_auc, proper_auc)
    assert leaky_auc > 0.97


def _no_encode_step(pipe):
    """Params that make the one-hot step after SMOTE-NC (logistic regression) pass its codes
    through, so the model sees what the preprocessing step gives (what these tests compare);
    that the step itself makes whole categories is tested below."""
    return {"encode": "passthrough"} if "encode" in pipe.named_steps else {}


@pytest.mark.parametrize("strategy", SAMPLERS)
def test_no_resampled_row_reaches_a_validation_fold(strategy_data, strategy):
    X, y, schema, folds = strategy_data
    pipe = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0)
    pipe.set_params(model=Recorder(), **_no_encode_step(pipe))
    fitted = []

    def fit_predict(estimator, X_, y_, train, val):
        model = clone(estimator).fit(X_.iloc[train], y_[train])
        fitted.append((train, val, model))
        return model.predict_proba(X_.iloc[val])[:, 1], 0.0, 0.0

    result = ev.cross_validate(pipe, X, y, folds, fit_predict=fit_predict)
    assert len(fitted) == folds["repeat_0"].nunique()
    for (_, k, train, val), (train2, _val2, model) in zip(iter_splits(folds), fitted):
        np.testing.assert_array_equal(train, train2)
        recorder = model.named_steps["model"]
        pre = model.named_steps["preprocess"]
        original_val = pre.transform(X.iloc[val])
        original_train = pre.transform(X.iloc[train])
        # predictions are made once, on exactly the original validation rows
        assert len(recorder.seen_) == 1
        assert recorder.seen_[0].shape[0] == len(val)
        np.testing.assert_array_equal(recorder.seen_[0], original_val)
        np.testing.assert_array_equal(result.oof.loc[result.oof["fold"] == k, "row"].to_numpy(), val)
        # the model was fitted on resampled rows
        n_fit, n_pos_fit = len(recorder.fit_y_), int(recorder.fit_y_.sum())
        if strategy in OVER_SAMPLERS:
            assert n_fit > len(train) and n_pos_fit > y[train].sum()
            np.testing.assert_array_equal(recorder.fit_X_[: len(train)], original_train)
            added = recorder.fit_X_[len(train) :]
            assert len(added) > 0
            if strategy != "random_over":  # synthetic rows: new points, never shown at prediction
                synthetic = ~(added[:, None, :] == original_train[None, :, :]).all(axis=2).any(axis=1)
                assert synthetic.mean() > 0.9
                assert not (added[synthetic][:, None, :] == recorder.seen_[0][None, :, :]).all(axis=2).any()
        elif strategy == "random_under":
            assert n_fit < len(train) and n_pos_fit == y[train].sum()
        else:  # SMOTE then cleaning: more positives than the fold had
            assert n_pos_fit > y[train].sum()


#: What :class:`LoggingRecorder` instances did, in order: ("fit", X, y) and ("predict", X).
RECORDED: list[tuple] = []


class LoggingRecorder(Recorder):
    """A Recorder that also logs to :data:`RECORDED`: the stages' path fits a clone of the
    pipeline's rest in the pool's worker (in this process with ``n_jobs=1``) and keeps no
    handle on it."""

    def fit(self, X, y):
        super().fit(X, y)
        RECORDED.append(("fit", self.fit_X_, self.fit_y_))
        return self

    def predict_proba(self, X):
        out = super().predict_proba(X)
        RECORDED.append(("predict", self.seen_[-1]))
        return out


@pytest.mark.parametrize("strategy", SAMPLERS)
def test_no_resampled_row_reaches_a_validation_fold_on_the_stages_path(strategy_data, strategy, monkeypatch):
    """The same guarantees through cross_validate_models' default path (preprocessing fitted once per
    training fold and shared, then sampler and model), which is what the stages run."""
    from collections import OrderedDict

    monkeypatch.setattr(caches, "_PREPROCESS_CACHE", OrderedDict())
    monkeypatch.setattr(caches, "_MODEL_CACHE", OrderedDict())
    X, y, schema, folds = strategy_data
    pipe = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0)
    pipe.set_params(model=LoggingRecorder(), **_no_encode_step(pipe))
    RECORDED.clear()
    result = ev.cross_validate_models({strategy: pipe}, X, y, folds, n_jobs=1)
    splits = list(iter_splits(folds))
    assert [r[0] for r in RECORDED] == ["fit", "predict"] * len(splits)
    for (_, k, train, val), (_, fit_X, fit_y), (_, seen) in zip(splits, RECORDED[0::2], RECORDED[1::2]):
        pre = clone(pipe.named_steps["preprocess"]).fit(X.iloc[train], y[train])
        everywhere = clone(pipe.named_steps["preprocess"]).fit(X, y)  # fitted on all rows: what must not happen
        # the model predicts exactly the validation rows, preprocessed as fitted on the training rows only
        np.testing.assert_array_equal(seen, pre.transform(X.iloc[val]))
        assert not np.allclose(seen, everywhere.transform(X.iloc[val]), equal_nan=True)
        np.testing.assert_array_equal(result.oof.loc[result.oof["fold"] == k, "row"].to_numpy(), val)
        original_train = pre.transform(X.iloc[train])
        if strategy in OVER_SAMPLERS:
            assert len(fit_y) > len(train) and fit_y.sum() > y[train].sum()
            np.testing.assert_array_equal(fit_X[: len(train)], original_train)
            added = fit_X[len(train) :]
            assert not (added[:, None, :] == seen[None, :, :]).all(axis=2).any(), "a validation row was added"
        elif strategy == "random_under":
            assert len(fit_y) < len(train) and fit_y.sum() == y[train].sum()
        else:  # SMOTE then cleaning: more positives than the fold had
            assert fit_y.sum() > y[train].sum()


@pytest.mark.parametrize("model", ["logistic_regression", "xgboost"])
@pytest.mark.parametrize("strategy", ["smote", "smote_tomek", "smote_enn"])
def test_smote_gives_discrete_columns_only_values_of_real_rows(strategy_data, strategy, model):
    """Missing-value indicators, categorical codes (xgboost) and one-hot columns (logistic
    regression) of synthetic rows take values the training rows have (SMOTE-NC), while the
    numeric columns are interpolated; interpolating codes would make categories no row has."""
    X, y, schema, _ = strategy_data
    pipe = modeling.make_strategy_pipeline(strategy, model, schema, seed=0)
    pipe.set_params(model=Recorder()).fit(X, y)
    original = X  # what the model sees of the real rows: every step but the sampler and the model
    for name, step in pipe.steps[:-1]:
        original = original if name == "sample" else step.transform(original)
    fit_X = pipe.named_steps["model"].fit_X_
    n_numeric = len(schema.numeric)
    assert original.shape[1] > n_numeric + 1  # an indicator column (num2 has missing values) and the category
    synthetic = ~(fit_X[:, None, :] == original[None, :, :]).all(axis=2).any(axis=1)
    assert synthetic.sum() >= 20
    for j in range(n_numeric, original.shape[1]):
        assert set(np.unique(fit_X[synthetic, j])) <= set(np.unique(original[:, j])), j
    assert len(np.unique(fit_X[synthetic, 0])) > synthetic.sum() // 2  # num1 still interpolated
    if model == "logistic_regression":
        # one-hot: SMOTE-NC sampled each dummy column apart, and synthetic rows had no category or two
        n_dummies = original.shape[1] - (n_numeric + 1)
        dummies = fit_X[:, -n_dummies:]
        assert set(np.unique(dummies)) <= {0.0, 1.0}
        assert (dummies.sum(axis=1) == len(schema.categorical)).all()
        assert "encode" in pipe.named_steps


@pytest.mark.parametrize(
    "strategy,sampling_strategy,rows",
    [
        ("none", "auto", 1000),
        ("class_weight", "auto", 1000),
        ("smote", "auto", 1900),  # 50 positives made 950
        ("smote", 0.5, 1425),  # 475 positives
        ("random_over", 0.5, 1425),
        ("smote_tomek", "auto", 1900),  # before its cleaning
        ("random_under", "auto", 100),  # 50 negatives kept
        ("random_under", 0.5, 150),  # 100 kept
        ("balanced_random_forest", "auto", 1000),  # its own estimator samples per tree
    ],
)
def test_fitted_rows_as_the_sampler_asks(strategy_data, strategy, sampling_strategy, rows):
    _, _, schema, _ = strategy_data
    pipe = modeling.make_strategy_pipeline(
        strategy, "logistic_regression", schema, seed=0, sampling_strategy=sampling_strategy
    )
    assert modeling.fitted_rows(pipe, n_minority=50, n_majority=950) == rows


def test_fitted_rows_is_what_the_sampler_makes(strategy_data):
    X, y, schema, _ = strategy_data
    for strategy, ratio in (("random_over", 0.3), ("random_under", 0.3), ("smote", "auto")):
        pipe = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0, sampling_strategy=ratio)
        Xt = pipe.named_steps["preprocess"].fit_transform(X, y)
        made = len(pipe.named_steps["sample"].fit_resample(Xt, y)[1])
        assert modeling.fitted_rows(pipe, n_minority=int(y.sum()), n_majority=int(len(y) - y.sum())) == made
