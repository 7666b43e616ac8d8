"""Unit tests of the imbalance strategies (imbalance_lab.modeling) and of choosing among them
(imbalance_lab.evaluation.selection) on small synthetic data."""

from __future__ import annotations

import itertools
import pickle
import re

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from imbalance_lab import evaluation as ev
from imbalance_lab import modeling, reporting
from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.errors import ImbalanceLabError, StrategyError
from imbalance_lab.evaluation import caches, selection
from imbalance_lab.modeling import make_pipeline, samplers, strategies
from imbalance_lab.modeling import pipelines as pipelines_module

REQUIRED = {
    "none",
    "class_weight",
    "random_over",
    "random_under",
    "smote",
    "borderline_smote",
    "adasyn",
    "smote_tomek",
    "smote_enn",
    "balanced_random_forest",
    "easy_ensemble",
    "threshold_moving",
}
SAMPLERS = [n for n, s in modeling.STRATEGIES.items() if s.kind == "resampling"]
OVER_SAMPLERS = ["random_over", "smote", "borderline_smote", "adasyn"]
NEIGHBOUR_SAMPLERS = ["smote", "borderline_smote", "adasyn", "smote_tomek", "smote_enn"]

# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(make_dataset):
    X, y, schema = make_dataset(400, positives=32)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=3)
    return X, y, schema, folds


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


# --------------------------------------------------------------------------------------------
# Registry and pipelines
# --------------------------------------------------------------------------------------------


def test_registry_names_kinds_descriptions_and_simplicity():
    assert set(modeling.STRATEGIES) >= REQUIRED
    for name, spec in modeling.STRATEGIES.items():
        assert spec.kind in strategies.KINDS, name
        assert spec.description and "\n" not in spec.description and len(spec.description) <= 90, name
        assert (spec.sampler is not None) == (spec.kind == "resampling"), name
    assert set(modeling.SIMPLICITY) == set(modeling.STRATEGIES) and len(modeling.SIMPLICITY) == len(modeling.STRATEGIES)
    assert modeling.STRATEGIES["threshold_moving"].kind == "threshold"
    assert (
        not modeling.STRATEGIES["balanced_random_forest"].uses_model
        and not modeling.STRATEGIES["easy_ensemble"].uses_model
    )
    table = modeling.describe_strategies()
    assert list(table.index) == list(modeling.STRATEGIES) and list(table.columns) == ["kind", "description"]


@pytest.mark.parametrize("strategy", list(modeling.STRATEGIES))
def test_every_strategy_fits_predicts_probabilities_and_pickles(data, strategy):
    X, y, schema, _ = data
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


def test_pipelines_per_strategy_have_the_right_parts(data):
    _, _, schema, _ = data
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


def test_class_weight_for_xgboost_is_computed_from_the_fit_data(data):
    X, y, schema, _ = data
    rng = np.random.default_rng(1)
    rows = np.r_[
        rng.choice(np.flatnonzero(y == 1), 10, replace=False), rng.choice(np.flatnonzero(y == 0), 90, replace=False)
    ]
    pipe = modeling.make_strategy_pipeline("class_weight", "xgboost", schema, seed=0, model_params={"n_estimators": 20})
    wrapper = pipe.named_steps["model"]
    assert isinstance(wrapper, modeling.FoldPositiveWeight)
    assert wrapper.estimator.get_params()["scale_pos_weight"] is None  # not fixed at construction
    fitted = clone(pipe).fit(X.iloc[rows], y[rows])
    assert fitted.named_steps["model"].weight_ == 9.0
    assert fitted.named_steps["model"].estimator_.get_params()["scale_pos_weight"] == 9.0
    proba = fitted.predict_proba(X)[:, 1]
    assert np.all((proba >= 0) & (proba <= 1))
    # a different fit gets its own weight: 20 positives, 80 negatives -> 4.0
    rows2 = np.r_[np.flatnonzero(y == 1)[:20], np.flatnonzero(y == 0)[:80]]
    assert clone(pipe).fit(X.iloc[rows2], y[rows2]).named_steps["model"].estimator_.scale_pos_weight == 4.0
    # cross-validation: each fold's weight comes from its own training part
    fitted_models = []

    def fit_predict(estimator, X_, y_, train, val):
        model = clone(estimator).fit(X_.iloc[train], y_[train])
        fitted_models.append((train, model))
        return model.predict_proba(X_.iloc[val])[:, 1], 0.0, 0.0

    folds = make_folds(y, n_splits=3, n_repeats=1, seed=9)
    ev.cross_validate(pipe, X, y, folds, fit_predict=fit_predict)
    for train, model in fitted_models:
        expected = (y[train] == 0).sum() / (y[train] == 1).sum()
        assert model.named_steps["model"].estimator_.scale_pos_weight == pytest.approx(expected)
    # and not from the whole data (32 positives, 368 negatives: 11.5)
    assert any(m.named_steps["model"].weight_ != pytest.approx(11.5) for _, m in fitted_models)
    pickle.loads(pickle.dumps(fitted_models[0][1]))


def test_class_weight_errors(data):
    _, _, schema, _ = data
    with pytest.raises(StrategyError, match=r"strategy 'class_weight': model 'dummy' has no class-weight parameter"):
        modeling.make_strategy_pipeline("class_weight", "dummy", schema, seed=0)
    with pytest.raises(StrategyError, match=r"remove scale_pos_weight"):
        modeling.make_strategy_pipeline("class_weight", "xgboost", schema, seed=0, model_params={"scale_pos_weight": 3})
    with pytest.raises(StrategyError, match=r"unknown imbalance strategy 'smoat'.*registered: none"):
        modeling.make_strategy_pipeline("smoat", "logistic_regression", schema, seed=0)
    assert issubclass(StrategyError, ImbalanceLabError)


# --------------------------------------------------------------------------------------------
# Leakage guard
# --------------------------------------------------------------------------------------------


def test_oversampling_before_the_split_inflates_cross_validated_scores(data):
    """Resampling the whole data set and then cross-validating leaks copies of validation
    positives into training: a flexible model memorises them. Inside the folds it cannot."""
    X, y, schema, folds = data
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
def test_no_resampled_row_reaches_a_validation_fold(data, strategy):
    X, y, schema, folds = data
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
def test_no_resampled_row_reaches_a_validation_fold_on_the_stages_path(data, strategy, monkeypatch):
    """The same guarantees through cross_validate_models' default path (preprocessing fitted once per
    training fold and shared, then sampler and model), which is what the stages run."""
    from collections import OrderedDict

    monkeypatch.setattr(caches, "_PREPROCESS_CACHE", OrderedDict())
    monkeypatch.setattr(caches, "_MODEL_CACHE", OrderedDict())
    X, y, schema, folds = data
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
def test_smote_gives_discrete_columns_only_values_of_real_rows(data, strategy, model):
    """Missing-value indicators, categorical codes (xgboost) and one-hot columns (logistic
    regression) of synthetic rows take values the training rows have (SMOTE-NC), while the
    numeric columns are interpolated; interpolating codes would make categories no row has."""
    X, y, schema, _ = data
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


def test_for_discrete_columns_keeps_the_options_and_leaves_other_samplers():
    from imblearn.combine import SMOTEENN, SMOTETomek
    from imblearn.over_sampling import ADASYN, SMOTEN, SMOTENC

    nc = samplers.for_discrete_columns(SMOTE(sampling_strategy=0.5, k_neighbors=3, random_state=7), [2, 3])
    assert type(nc) is SMOTENC and nc.categorical_features == [2, 3]
    assert (nc.sampling_strategy, nc.k_neighbors, nc.random_state) == (0.5, 3, 7)
    only_discrete = samplers.for_discrete_columns(SMOTE(k_neighbors=4, random_state=1), [0, 1])
    assert type(only_discrete) is SMOTEN and (only_discrete.k_neighbors, only_discrete.random_state) == (4, 1)
    for combined in (SMOTETomek(smote=SMOTE(k_neighbors=2, random_state=3)), SMOTEENN(smote=SMOTE(random_state=3))):
        inner = samplers.for_discrete_columns(combined, [1]).smote
        assert type(inner) is SMOTENC and inner.categorical_features == [1] and inner.random_state == 3
    adasyn = ADASYN(random_state=0)
    assert samplers.for_discrete_columns(adasyn, [1]) is adasyn
    rows = np.random.default_rng(0).normal(size=(60, 3))
    labels = np.r_[np.ones(12, int), np.zeros(48, int)]
    # without discrete columns (n_continuous None, or all columns continuous) SMOTE is left alone
    for n_continuous in (None, 3):
        checked = modeling.CheckedSampler(SMOTE(random_state=0), strategy="smote", n_continuous=n_continuous)
        for a, b in zip(checked.fit_resample(rows, labels), SMOTE(random_state=0).fit_resample(rows, labels)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("strategy", strategies.INTERPOLATE_DISCRETE)
def test_samplers_without_a_categorical_variant_warn(data, strategy, caplog):
    _, _, schema, _ = data
    with caplog.at_level("WARNING", logger=pipelines_module.log.name):
        modeling.make_strategy_pipeline(strategy, "xgboost", schema, seed=0)
    assert f"strategy '{strategy}' interpolates the encoded categorical columns (cat) like numbers" in caplog.text
    caplog.clear()
    numeric_only = schema.replace(categorical={}, features=schema.numeric)
    with caplog.at_level("WARNING", logger=pipelines_module.log.name):
        modeling.make_strategy_pipeline(strategy, "xgboost", numeric_only, seed=0)
        modeling.make_strategy_pipeline("smote", "xgboost", schema, seed=0)
    assert caplog.text == ""


@pytest.mark.parametrize("strategy", SAMPLERS)
def test_a_fitted_pipeline_keeps_no_fitted_sampler(data, strategy):
    """The sampler's fitted state (SMOTE's and ENN's neighbour indexes hold the training rows)
    would be saved with the model: the fitted pipeline's sample step holds its params only."""
    X, y, schema, _ = data
    pipe = modeling.make_strategy_pipeline(strategy, "xgboost", schema, seed=0, model_params={"n_estimators": 5})
    pipe.fit(X, y)
    step = pipe.named_steps["sample"]
    assert vars(step).keys() == step.get_params(deep=False).keys()
    assert vars(step.sampler).keys() <= set(step.sampler.get_params(deep=False))


# --------------------------------------------------------------------------------------------
# Errors of samplers that cannot run
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", NEIGHBOUR_SAMPLERS)
def test_k_neighbors_too_large_for_the_positives_in_a_fold(data, strategy):
    X, y, schema, folds = data
    pipe = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0, k_neighbors=25)
    first_train = next(iter_splits(folds))[2]
    found = int(y[first_train].sum())
    assert found < 26
    with pytest.raises(StrategyError) as info:
        ev.cross_validate(pipe, X, y, folds)
    message = str(info.value)
    assert message == (
        f"strategy '{strategy}': k_neighbors=25 needs at least 26 positive rows in each training fold, "
        f"found {found}; lower imbalance.k_neighbors or use random_over"
    )
    pickle.dumps(pipe)


def test_k_neighbors_boundary():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.r_[np.ones(6, int), np.zeros(34, int)]
    X[:6] += 2.0
    ok = modeling.CheckedSampler(SMOTE(k_neighbors=5, random_state=0), strategy="smote")
    X_res, y_res = ok.fit_resample(X, y)
    assert y_res.sum() == 34
    too_many = modeling.CheckedSampler(SMOTE(k_neighbors=6, random_state=0), strategy="smote")
    with pytest.raises(StrategyError, match=r"k_neighbors=6 needs at least 7 positive rows .* found 6;"):
        too_many.fit_resample(X, y)


def test_imblearn_failures_become_strategy_errors():
    # positives far from every negative: ADASYN finds no negative neighbour and gives up
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(10, 2)) + 100.0, rng.normal(size=(60, 2))]
    y = np.r_[np.ones(10, int), np.zeros(60, int)]
    sampler = modeling.CheckedSampler(
        modeling.STRATEGIES["adasyn"].sampler(seed=0, sampling_strategy="auto", k_neighbors=5), strategy="adasyn"
    )
    with pytest.raises(
        StrategyError, match=r"^strategy 'adasyn': the sampler failed on a training fold \(Not any"
    ) as info:
        sampler.fit_resample(X, y)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "strategy", ["random_over", "random_under", "smote", "smote_enn", "balanced_random_forest", "easy_ensemble"]
)
def test_impossible_float_sampling_strategy(data, strategy):
    X, y, schema, _ = data
    natural = y.sum() / (len(y) - y.sum())
    pipe = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0, sampling_strategy=0.03)
    with pytest.raises(StrategyError) as info:
        pipe.fit(X, y)
    message = str(info.value)
    assert message.startswith(f"strategy '{strategy}': sampling_strategy=0.03 is not above the minority/majority ratio")
    assert f"{natural:.4g}" in message and "imbalance.sampling_strategy" in message and "\n" not in message
    # a reachable ratio works
    ok = modeling.make_strategy_pipeline(strategy, "logistic_regression", schema, seed=0, sampling_strategy=0.5)
    if strategy in ("balanced_random_forest", "easy_ensemble"):
        ok.set_params(model__n_estimators=5)
    ok.fit(X, y)


def test_invalid_options_are_rejected_when_building(data):
    _, _, schema, _ = data
    with pytest.raises(StrategyError, match=r"sampling_strategy=1.5 is not in \(0, 1\].*imbalance.sampling_strategy"):
        modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, sampling_strategy=1.5)
    with pytest.raises(StrategyError, match=r"sampling_strategy='balanced' is unknown"):
        modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, sampling_strategy="balanced")
    with pytest.raises(StrategyError, match=r"k_neighbors=0 is not a positive integer.*imbalance.k_neighbors"):
        modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, k_neighbors=0)


def test_pipelines_run_in_worker_processes(data):
    X, y, schema, folds = data
    pipe = modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0)
    serial = ev.cross_validate(pipe, X, y, folds, n_jobs=1)
    parallel = ev.cross_validate(pipe, X, y, folds, n_jobs=2)
    pd.testing.assert_frame_equal(serial.oof, parallel.oof)
    # the one-line error survives the trip back from a worker
    bad = modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, k_neighbors=40)
    with pytest.raises(StrategyError, match=r"^strategy 'smote': k_neighbors=40"):
        ev.cross_validate(bad, X, y, folds, n_jobs=2)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def test_expected_calibration_error_hand_made():
    # 2 bins: [0, .5) holds 0.1, 0.3 (labels 0, 0): |0 - 0.2| = 0.2
    #         [.5, 1] holds 0.5, 0.6, 1.0 (labels 1, 0, 1): |2/3 - 0.7| = 1/30
    # ECE = 2/5 * 0.2 + 3/5 * 1/30 = 0.08 + 0.02 = 0.1
    y = [0, 0, 1, 0, 1]
    p = [0.1, 0.3, 0.5, 0.6, 1.0]
    assert ev.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.1)
    # 10 bins: 0.1 -> bin 1, 0.3 -> 3, 0.5 -> 5, 0.6 -> 6, 1.0 -> 9: every row is its own bin
    expected = np.mean(np.abs(np.array(y) - np.array(p)))
    assert ev.expected_calibration_error(y, p) == pytest.approx(expected)
    # perfectly calibrated bins
    assert ev.expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0
    with pytest.raises(ValueError):
        ev.expected_calibration_error([0, 1], [0.2, 1.2])


def test_prior_correction_hand_computed():
    # pi = 0.1, pi_s = 0.5: r1 = 0.2, r0 = 1.8
    # p = 0.5 -> 0.1 / (0.1 + 0.9) = 0.1; p = 0.8 -> 0.16 / (0.16 + 0.36) = 4/13
    out = modeling.prior_correction([0.5, 0.8, 0.0, 1.0], train_prevalence=0.1, sampled_prevalence=0.5)
    np.testing.assert_allclose(out, [0.1, 4 / 13, 0.0, 1.0])
    same = modeling.prior_correction([0.2, 0.7], train_prevalence=0.3, sampled_prevalence=0.3)
    np.testing.assert_allclose(same, [0.2, 0.7])
    with pytest.raises(ValueError):
        modeling.prior_correction([0.5], train_prevalence=0.0, sampled_prevalence=0.5)


def test_prior_correction_restores_the_prevalence_after_resampling(make_dataset):
    X, y, schema = make_dataset(2000, positives=160, seed=1)
    X_new, y_new, _ = make_dataset(2000, positives=160, seed=2)
    pipe = modeling.make_strategy_pipeline("random_over", "logistic_regression", schema, seed=0).fit(X, y)
    raw = pipe.predict_proba(X_new)[:, 1]
    pi_s = modeling.sampled_prevalence("random_over", y, "auto")
    assert pi_s == 0.5
    corrected = modeling.prior_correction(raw, train_prevalence=y.mean(), sampled_prevalence=pi_s)
    assert raw.mean() > 0.2  # trained at 50 %, far above the 8 % prevalence
    assert abs(corrected.mean() - y_new.mean()) < 0.015, (corrected.mean(), y_new.mean())
    assert ev.expected_calibration_error(y_new, corrected) < ev.expected_calibration_error(y_new, raw) / 3
    # the ranking is unchanged
    assert np.array_equal(np.argsort(raw, kind="mergesort"), np.argsort(corrected, kind="mergesort"))


def test_sampled_prevalence():
    y = np.r_[np.ones(10, int), np.zeros(90, int)]
    assert modeling.sampled_prevalence("none", y) == pytest.approx(0.1)
    assert modeling.sampled_prevalence("threshold_moving", y, 0.5) == pytest.approx(0.1)
    assert modeling.sampled_prevalence("class_weight", y) == 0.5
    assert modeling.sampled_prevalence("smote", y, "auto") == 0.5
    assert modeling.sampled_prevalence("random_under", y, 0.25) == pytest.approx(0.2)
    assert modeling.sampled_prevalence("random_under", 1 - y, 0.25) == pytest.approx(0.8)  # positives are the majority


def test_prior_shift_note_names_the_correction_for_strategies_that_shift_the_prevalence():
    y = np.r_[np.ones(10, int), np.zeros(90, int)]
    assert reporting.prior_shift_note("none", y) is None and reporting.prior_shift_note("threshold_moving", y) is None
    note = reporting.prior_shift_note("class_weight", y)
    assert "positive share of 0.5 (the data's is 0.1)" in note
    assert "prior_correction(score, train_prevalence=0.1, sampled_prevalence=0.5)" in note
    # the call it names gives back the data's prevalence from balanced scores
    assert modeling.prior_correction([0.5], train_prevalence=0.1, sampled_prevalence=0.5)[0] == pytest.approx(0.1)
    assert "sampled_prevalence=0.2)" in reporting.prior_shift_note("random_under", y, 0.25)
    assert "overstate" in note and "understate" in reporting.prior_shift_note(
        "class_weight", 1 - y
    )  # positives the majority


# --------------------------------------------------------------------------------------------
# Ratio sweep and selection
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("natural", [0.01, 0.087, 0.5, 0.95])
def test_ratio_grid(natural):
    grid = ev.ratio_grid(natural, n=5)
    assert len(grid) == 5
    assert grid[-1] == 1.0
    assert grid[0] > natural
    assert all(a < b for a, b in itertools.pairwise(grid))
    assert ev.ratio_grid(natural, n=1) == [1.0]
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError):
            ev.ratio_grid(bad)


def test_ratio_grid_values_are_reachable_in_every_fold(data):
    X, y, schema, folds = data
    first = ev.ratio_grid(y.sum() / (len(y) - y.sum()), n=4)[0]
    pipe = modeling.make_strategy_pipeline(
        "random_over", "logistic_regression", schema, seed=0, sampling_strategy=first
    )
    ev.cross_validate(pipe, X, y, folds)  # no StrategyError


def _hand_tables(p_none: float, p_cw: float):
    summary = pd.DataFrame(
        {"average_precision_mean": [0.37, 0.38, 0.40, 0.20]},
        index=pd.Index(["none", "class_weight", "smote", "easy_ensemble"], name="model"),
    )
    comparison = pd.DataFrame(
        {"difference": [-0.03, -0.02, -0.20], "p_holm": [p_none, p_cw, 0.001]},
        index=pd.Index(["none", "class_weight", "easy_ensemble"], name="model"),
    )
    return comparison, summary


def test_choose_strategy_hand_made():
    comparison, summary = _hand_tables(p_none=0.30, p_cw=0.40)
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.05) == "none"
    comparison, summary = _hand_tables(p_none=0.01, p_cw=0.40)
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.05) == "class_weight"
    comparison, summary = _hand_tables(p_none=0.01, p_cw=0.02)
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.05) == "smote"
    # a stricter alpha lets more through
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.005) == "none"
    with pytest.raises(ValueError, match="against the best strategy 'smote'"):
        ev.choose_strategy(comparison.rename(index={"none": "smote"}), summary, metric="average_precision", alpha=0.05)


def test_choose_strategy_with_compare_with_on_fold_scores():
    base = np.random.default_rng(0).normal(0.30, 0.02, size=10)  # 2 repeats x 5 folds: fold difficulty
    wiggle = np.array([1.0, -1.0] * 5)  # mean-zero fold-to-fold noise of the difference
    # mean brier difference to smote (lower is better): none +0.004 with sd ~0.01 (t ~ 0.64),
    # random_under +0.05 with sd ~0.002, balanced_random_forest +0.001 with sd ~0.001
    scores = pd.DataFrame(
        [
            {"model": m, "repeat": j // 5, "fold": j % 5, "brier": b}
            for m, shift, noise in [
                ("smote", 0.0, 0.0),
                ("none", 0.004, 0.01),
                ("random_under", 0.05, 0.002),
                ("balanced_random_forest", 0.001, 0.001),
            ]
            for j, b in enumerate(base + shift + noise * wiggle)
        ]
    )
    summary = ev.summarize(scores, metrics=["brier"], ratio=0.25)
    best = ev.best_model(summary, metric="brier")
    assert best == "smote"  # brier: lower is better
    comparison = ev.compare_with(scores, reference=best, metric="brier", ratio=0.25, alpha=0.05)
    assert comparison.loc["random_under", "verdict"] == "worse"
    assert comparison.loc["none", "verdict"] == "indistinguishable"
    assert ev.choose_strategy(comparison, summary, metric="brier", alpha=0.05) == "none"
    # without 'none', random_under is simpler than smote but significantly worse
    keep = scores["model"] != "none"
    summary2 = ev.summarize(scores[keep], metrics=["brier"], ratio=0.25)
    comparison2 = ev.compare_with(scores[keep], reference="smote", metric="brier", ratio=0.25, alpha=0.05)
    assert ev.choose_strategy(comparison2, summary2, metric="brier", alpha=0.05) == "smote"


def test_choose_strategy_rejects_unknown_names():
    summary = pd.DataFrame({"f1_mean": [0.5, 0.4]}, index=pd.Index(["smote", "mystery"], name="model"))
    comparison = pd.DataFrame({"difference": [-0.1], "p_holm": [0.5]}, index=pd.Index(["mystery"], name="model"))
    with pytest.raises(ValueError, match=re.escape("['mystery'] are not registered strategies")):
        ev.choose_strategy(comparison, summary, metric="f1", alpha=0.05)


def test_primary_scores_use_half_except_for_threshold_moving():
    import pandas as pd

    from imbalance_lab.evaluation import THRESHOLD_METRICS, primary_scores

    keys = {"repeat": [0, 0], "fold": [0, 0]}
    tuned = pd.DataFrame(
        {
            "model": ["none", "threshold_moving"],
            **keys,
            "average_precision": [0.3, 0.3],
            "threshold": [0.2, 0.2],
            **{m: [0.7, 0.7] for m in THRESHOLD_METRICS},
        }
    )
    half = pd.DataFrame({"model": ["none", "threshold_moving"], **keys, **{m: [0.1, 0.1] for m in THRESHOLD_METRICS}})
    got = primary_scores(tuned, half).set_index("model")
    assert got.loc["none", "f1"] == 0.1 and got.loc["threshold_moving", "f1"] == 0.7
    assert got.loc["none", "f1_tuned"] == 0.7 and got.loc["threshold_moving", "f1_at_half"] == 0.1
    assert "threshold" not in got and got.loc["none", "average_precision"] == 0.3


def test_every_selectable_metric_is_summarised(data):
    """Each imbalance.metric params accepts is a summary column the stage can rank and choose by."""
    from imbalance_lab.evaluation import IMBALANCE_METRICS

    X, y, schema, folds = data
    cv = ev.cross_validate_models(
        {
            name: modeling.make_strategy_pipeline(name, "logistic_regression", schema, seed=1)
            for name in ("none", "random_over", "threshold_moving")
        },
        X,
        y,
        folds,
    )
    scores = ev.primary_scores(cv.scores, ev.scores_at_threshold(cv.oof, threshold=0.5))
    summary = ev.summarize(scores, metrics=list(ev.SUMMARY_METRICS), ratio=ev.fold_size_ratio(folds))
    assert set(IMBALANCE_METRICS) <= set(ev.SUMMARY_METRICS)
    selections = {ev.selection_column(m) for m in IMBALANCE_METRICS}
    summary = ev.summarize(
        scores, metrics=list(dict.fromkeys([*ev.SUMMARY_METRICS, *selections])), ratio=ev.fold_size_ratio(folds)
    )
    for metric in [*IMBALANCE_METRICS, *sorted(selections)]:
        assert summary[f"{metric}_mean"].notna().all(), metric
        assert ev.best_model(summary, metric=metric) in summary.index


def test_strategies_are_chosen_on_threshold_metrics_at_the_tuned_threshold_they_are_deployed_with():
    """At 0.5 a resampler, whose scores sit higher, beat 'none' on MCC; deployed with a tuned
    threshold (as evaluate does) it is worse."""
    import pandas as pd

    keys = {"repeat": [0, 0, 0, 0], "fold": [0, 1, 0, 1]}
    models = ["none", "none", "easy_ensemble", "easy_ensemble"]
    tuned = pd.DataFrame(
        {
            "model": models,
            **keys,
            "average_precision": [0.3] * 4,
            "threshold": [0.1] * 4,
            **{m: [0.185, 0.186, 0.181, 0.183] for m in ev.THRESHOLD_METRICS},
        }
    )
    half = pd.DataFrame({"model": models, **keys, **{m: [0.02, 0.03, 0.194, 0.195] for m in ev.THRESHOLD_METRICS}})
    scores = ev.primary_scores(tuned, half)
    assert ev.selection_column("mcc") == "mcc_tuned" and ev.selection_column("average_precision") == "average_precision"
    summary = ev.summarize(scores, metrics=["mcc", "mcc_tuned"], ratio=0.5)
    assert ev.best_model(summary, metric="mcc") == "easy_ensemble"  # the old rule
    assert ev.best_model(summary, metric=ev.selection_column("mcc")) == "none"


def test_verdict_sentences_name_every_strategy_and_the_level():
    import pandas as pd

    from imbalance_lab.reporting import verdict_sentences

    table = pd.DataFrame(
        {
            "difference": [0.05, -0.04, 0.001],
            "p_holm": [0.01, 0.02, 0.9],
            "verdict": ["better", "worse", "indistinguishable"],
        },
        index=["smote", "random_under", "class_weight"],
    )
    text = " ".join(verdict_sentences(table, baseline="none", metric="average_precision", alpha=0.05))
    assert "significantly better than `none`" in text and "`smote` (+0.0500" in text
    assert "significantly worse" in text and "`random_under`" in text
    assert "not distinguishable" in text and "`class_weight`" in text and "alpha=0.05" in text


@pytest.mark.parametrize("strategy", SAMPLERS)
def test_ratio_sweep_takes_the_comparisons_ratio_from_its_scores(data, strategy, monkeypatch):
    X, y, schema, folds = data
    grid = ev.ratio_grid(float(y.sum() / (len(y) - y.sum())), n=2)
    kwargs = {"grid": grid, "seed": 1, "k_neighbors": 3}
    cv = ev.cross_validate_models(
        {
            name: modeling.make_strategy_pipeline(name, "logistic_regression", schema, seed=1, k_neighbors=3)
            for name in ("none", strategy)
        },
        X,
        y,
        folds,
    )
    compared = ev.primary_scores(cv.scores, ev.scores_at_threshold(cv.oof, threshold=0.5))
    refitted = ev.ratio_sweep(strategy, "logistic_regression", schema, X, y, folds, **kwargs)
    # threshold metrics are judged at 0.5, as in the comparison (not at the F1-tuned threshold)
    at_one = refitted[refitted["model"] == "1"].drop(columns="model").reset_index(drop=True)
    judged = compared[compared["model"] == strategy].drop(columns="model").reset_index(drop=True)
    pd.testing.assert_frame_equal(at_one, judged)
    assert (at_one["f1"] == at_one["f1_at_half"]).all() and not (at_one["f1"] == at_one["f1_tuned"]).all()
    fitted_names = []
    real = ev.cross_validate_models
    monkeypatch.setattr(
        selection, "cross_validate_models", lambda pipes, *a, **k: fitted_names.extend(pipes) or real(pipes, *a, **k)
    )
    for used in ("auto", 1.0):  # the comparison's setting, as a name or as the ratio
        fitted_names.clear()
        reused = ev.ratio_sweep(
            strategy, "logistic_regression", schema, X, y, folds, compared=compared, sampling_strategy=used, **kwargs
        )
        assert fitted_names == [f"{grid[0]:.6g}"]  # 1.0 was not fitted again ...
        assert list(reused["model"].unique()) == [f"{r:.6g}" for r in grid]
        pd.testing.assert_frame_equal(reused, refitted)  # ... and its scores are what a refit gives
    # a comparison at another ratio, or one without this strategy, is not reused
    for other in (
        {"sampling_strategy": 0.5, "compared": compared},
        {"sampling_strategy": "auto", "compared": compared[compared["model"] == "none"]},
    ):
        fitted_names.clear()
        ev.ratio_sweep(strategy, "logistic_regression", schema, X, y, folds, **other, **kwargs)
        assert fitted_names == [f"{r:.6g}" for r in grid]


@pytest.mark.parametrize("strategy", ["none", "class_weight", "threshold_moving", "balanced_random_forest"])
def test_ratio_sweep_refuses_strategies_that_do_not_resample(data, strategy):
    X, y, schema, folds = data
    with pytest.raises(StrategyError, match=f"{strategy!r} is not a resampling strategy"):
        ev.ratio_sweep(strategy, "logistic_regression", schema, X, y, folds, grid=[0.5, 1.0], seed=1)
