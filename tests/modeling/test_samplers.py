"""Unit tests of imbalance_lab.modeling.samplers: checked samplers and ensembles, SMOTE-NC, per-fold weights."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from sklearn.base import clone

from imbalance_lab import evaluation as ev
from imbalance_lab import modeling
from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.errors import StrategyError
from imbalance_lab.modeling import features, samplers

SAMPLERS = [n for n, s in modeling.STRATEGIES.items() if s.kind == "resampling"]
NEIGHBOUR_SAMPLERS = ["smote", "borderline_smote", "adasyn", "smote_tomek", "smote_enn"]


def test_class_weight_for_xgboost_is_computed_from_the_fit_data(strategy_data):
    X, y, schema, _ = strategy_data
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


def test_for_discrete_columns_keeps_the_options_and_leaves_other_samplers():
    from imblearn.combine import SMOTEENN, SMOTETomek
    from imblearn.over_sampling import ADASYN, SMOTEN

    from imbalance_lab.modeling.samplers import ChunkedSMOTENC

    nc = samplers.for_discrete_columns(SMOTE(sampling_strategy=0.5, k_neighbors=3, random_state=7), [2, 3])
    assert type(nc) is ChunkedSMOTENC and nc.categorical_features == [2, 3]
    assert (nc.sampling_strategy, nc.k_neighbors, nc.random_state) == (0.5, 3, 7)
    only_discrete = samplers.for_discrete_columns(SMOTE(k_neighbors=4, random_state=1), [0, 1])
    assert type(only_discrete) is SMOTEN and (only_discrete.k_neighbors, only_discrete.random_state) == (4, 1)
    for combined in (SMOTETomek(smote=SMOTE(k_neighbors=2, random_state=3)), SMOTEENN(smote=SMOTE(random_state=3))):
        inner = samplers.for_discrete_columns(combined, [1]).smote
        assert type(inner) is ChunkedSMOTENC and inner.categorical_features == [1] and inner.random_state == 3
    adasyn = ADASYN(random_state=0)
    assert samplers.for_discrete_columns(adasyn, [1]) is adasyn
    rows = np.random.default_rng(0).normal(size=(60, 3))
    labels = np.r_[np.ones(12, int), np.zeros(48, int)]
    # without discrete columns (n_continuous None, or all columns continuous) SMOTE is left alone
    for n_continuous in (None, 3):
        checked = modeling.CheckedSampler(SMOTE(random_state=0), strategy="smote", n_continuous=n_continuous)
        for a, b in zip(checked.fit_resample(rows, labels), SMOTE(random_state=0).fit_resample(rows, labels)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("strategy", SAMPLERS)
def test_a_fitted_pipeline_keeps_no_fitted_sampler(strategy_data, strategy):
    """The sampler's fitted state (SMOTE's and ENN's neighbour indexes hold the training rows)
    would be saved with the model: the fitted pipeline's sample step holds its params only."""
    X, y, schema, _ = strategy_data
    pipe = modeling.make_strategy_pipeline(strategy, "xgboost", schema, seed=0, model_params={"n_estimators": 5})
    pipe.fit(X, y)
    step = pipe.named_steps["sample"]
    assert vars(step).keys() == step.get_params(deep=False).keys()
    assert vars(step.sampler).keys() <= set(step.sampler.get_params(deep=False))


@pytest.mark.parametrize("strategy", NEIGHBOUR_SAMPLERS)
def test_k_neighbors_too_large_for_the_positives_in_a_fold(strategy_data, strategy):
    X, y, schema, folds = strategy_data
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
def test_impossible_float_sampling_strategy(strategy_data, strategy):
    X, y, schema, _ = strategy_data
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


@pytest.mark.parametrize("sampler", ["smote", "random_under", "smote_tomek"])
def test_checked_sampler_dtype_gives_the_samplers_rows_in_that_type(mixed_rows, sampler, monkeypatch):
    """``dtype``: the same rows as without it, in that type; a SMOTE-NC on its own writes them so
    (it makes no float64 rows), one inside SMOTETomek computes in float64 (Tomek links are searched
    on its rows) and the result is converted, as are the others'."""
    X, y = mixed_rows(600, seed=10)
    X = X[:, [0, 2, 4, 1, 3]]  # the continuous columns first, as the preprocessing writes them
    make = modeling.STRATEGIES[sampler].sampler
    made = []  # the type of the rows each SMOTE-NC made
    smotenc = samplers.ChunkedSMOTENC._fit_resample

    def recorded(self: Any, *args: Any) -> Any:
        out = smotenc(self, *args)
        made.append(out[0].dtype)
        return out

    monkeypatch.setattr(samplers.ChunkedSMOTENC, "_fit_resample", recorded)

    def checked(**options: Any) -> Any:
        return modeling.CheckedSampler(make(seed=3, sampling_strategy="auto", k_neighbors=5), n_continuous=3, **options)

    X_plain, y_plain = checked().fit_resample(X, y)
    X_32, y_32 = checked(dtype="float32").fit_resample(X, y)
    assert X_plain.dtype == np.float64 and X_32.dtype == np.float32 and np.array_equal(y_32, y_plain)
    assert X_32.tobytes() == X_plain.astype(np.float32).tobytes()
    expected = {"smote": [np.float64, np.float32], "smote_tomek": [np.float64, np.float64]}.get(sampler, [])
    assert made == expected


def test_checked_sampler_gives_other_samplers_the_fold_rows_as_an_array(strategy_data, monkeypatch):
    """Samplers other than SMOTE-NC are handed the transformed rows as an array (they are never
    given :class:`~imbalance_lab.modeling.features.FoldRows`): the same rows as from the array."""
    X, y, schema, folds = strategy_data
    _, _, train, _ = next(iter(iter_splits(folds)))
    step = modeling.make_preprocessor(schema, encoding="ordinal").fit(X.iloc[train], y[train])
    rows = features.FoldRows(step, X, train)
    for name in ("random_under", "smote_tomek"):
        sampler = modeling.STRATEGIES[name].sampler(seed=3, sampling_strategy="auto", k_neighbors=5)
        resample, given = type(sampler).fit_resample, []

        def recorded(self: Any, X: Any, y: Any, resample: Any = resample, given: list = given, **params: Any) -> Any:
            given.append(type(X))
            return resample(self, X, y, **params)

        monkeypatch.setattr(type(sampler), "fit_resample", recorded)
        checked = modeling.CheckedSampler(sampler, n_continuous=len(schema.numeric))
        got, expected = checked.fit_resample(rows, y[train]), checked.fit_resample(np.asarray(rows), y[train])
        assert given == [np.ndarray, np.ndarray], (name, given)
        assert got[0].tobytes() == expected[0].tobytes() and np.array_equal(got[1], expected[1])
