"""Unit tests of imbalance_lab.modeling.samplers: checked samplers and ensembles, SMOTE-NC, per-fold weights."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
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


@pytest.mark.parametrize("k_neighbors,constant", [(5, False), (9, False), (3, True)])
def test_chunked_smotenc_makes_imbalanced_learns_rows(k_neighbors, constant, monkeypatch):
    """The same synthetic rows as SMOTENC, with the neighbours gathered a few rows at a time:
    ties in the vote (two-level columns), k below and above numpy's pairwise-summation block,
    and continuous columns without spread (imbalanced-learn's zero-median-std branch)."""
    from imblearn.over_sampling import SMOTENC

    monkeypatch.setattr(samplers, "VOTE_CHUNK_ROWS", 7)
    rng = np.random.default_rng(k_neighbors)
    n = 400
    continuous = np.zeros((n, 2)) if constant else rng.normal(size=(n, 2))
    X = np.column_stack([continuous, rng.integers(0, 2, n), rng.integers(0, 6, n), rng.integers(0, 3, n)]).astype(float)
    y = (rng.random(n) < 0.1).astype(int)
    options = {"categorical_features": [2, 3, 4], "k_neighbors": k_neighbors, "random_state": 11}
    expected = SMOTENC(**options).fit_resample(X, y)
    got = samplers.ChunkedSMOTENC(**options).fit_resample(X, y)
    assert got[0].shape == expected[0].shape and got[0].shape[0] > n
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


def _mixed_rows(
    n: int, *, seed: int, dtype: Any = np.float64, positives: float = 0.08
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous columns (one with -0.0 and 0.0 cells) and ordinal-coded categorical ones."""
    rng = np.random.default_rng(seed)
    signed_zeros = np.where(rng.random(n) < 0.3, -0.0, rng.normal(size=n))
    X = np.column_stack(
        [rng.normal(size=n), rng.integers(0, 4, n), signed_zeros, rng.integers(0, 7, n), rng.exponential(size=n)]
    ).astype(dtype)
    return X, (rng.random(n) < positives).astype(int)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sampling_strategy", ["auto", 0.5])
def test_chunked_smotenc_encodes_only_the_minority_rows_and_returns_smotencs_array(
    dtype, sampling_strategy, monkeypatch
):
    """Dense float input takes the lean path (imbalanced-learn's own is never called) and gives
    the same array as SMOTENC, type and bytes (-0.0 comes out as +0.0 in both), decoded across
    chunk boundaries and with the neighbours searched in blocks of a few rows; the categorical
    columns come between and after the continuous ones."""
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed_rows(900, seed=4, dtype=dtype)
    options = {
        "categorical_features": [1, 3],
        "k_neighbors": 5,
        "random_state": 2,
        "sampling_strategy": sampling_strategy,
    }
    expected_X, expected_y = SMOTENC(**options).fit_resample(X, y)
    monkeypatch.setattr(samplers, "DECODE_CHUNK_ROWS", 64)
    monkeypatch.setattr(samplers, "NEIGHBOURS_WORKING_MEMORY_MB", 0.001)  # a few rows' distances at a time
    monkeypatch.setattr(SMOTENC, "_fit_resample", lambda *a: pytest.fail("imbalanced-learn's SMOTENC ran"))
    got_X, got_y = samplers.ChunkedSMOTENC(**options).fit_resample(X, y)
    assert got_X.dtype == expected_X.dtype == dtype and got_X.shape == expected_X.shape and got_X.shape[0] > len(X)
    assert got_X.tobytes() == expected_X.tobytes() and np.array_equal(got_y, expected_y)
    negative_zero = lambda a: (a == 0) & np.signbit(a)  # noqa: E731
    assert negative_zero(X[:, 2]).sum() > 100 and negative_zero(got_X).sum() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_smotenc_searches_many_minority_rows_densely_with_the_same_neighbours(dtype, monkeypatch):
    """From DENSE_NEIGHBOURS_MIN_ROWS minority rows the neighbours are searched in a dense copy:
    without equidistant rows, the same neighbours, so SMOTENC's array byte for byte."""
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed_rows(900, seed=12, dtype=dtype, positives=0.3)
    X[:, 2] = np.random.default_rng(13).normal(size=len(X))  # no signed zeros: no equidistant rows
    options = {"categorical_features": [1, 3], "k_neighbors": 5, "random_state": 4}
    expected_X, _ = SMOTENC(**options).fit_resample(X, y)
    n_minority = int(y.sum())
    dense_bytes = n_minority * (3 + 4 + 7) * X.itemsize  # 3 continuous columns, 4 and 7 categories
    for min_rows, max_bytes, searched in (
        (n_minority, dense_bytes, np.ndarray),
        (n_minority + 1, dense_bytes, sp.csr_matrix),  # too few rows
        (n_minority, dense_bytes - 1, sp.csr_matrix),  # too wide to copy
    ):
        monkeypatch.setattr(samplers, "DENSE_NEIGHBOURS_MIN_ROWS", min_rows)
        monkeypatch.setattr(samplers, "DENSE_NEIGHBOURS_MAX_BYTES", max_bytes)
        sampler = samplers.ChunkedSMOTENC(**options)
        got_X, _ = sampler.fit_resample(X, y)
        assert type(sampler.nn_k_._fit_X) is searched
        assert got_X.tobytes() == expected_X.tobytes()


def test_chunked_smotenc_hands_other_input_to_imbalanced_learn():
    """A frame, integer and sparse input go through SMOTENC's own code, with its results."""
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed_rows(300, seed=5)
    options = {"categorical_features": [1, 3], "k_neighbors": 3, "random_state": 0}
    for data in (pd.DataFrame(X), np.rint(X * 10).astype(np.int64), sp.csr_matrix(X)):
        expected = SMOTENC(**options).fit_resample(data, y)[0]
        got = samplers.ChunkedSMOTENC(**options).fit_resample(data, y)[0]
        dense = lambda a: a.toarray() if sp.issparse(a) else np.asarray(a)  # noqa: E731
        assert type(got) is type(expected) and np.array_equal(dense(got), dense(expected))


def test_chunked_smotenc_rejects_an_infinite_continuous_value_like_smotenc():
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed_rows(200, seed=6)
    X[7, 4] = np.inf
    for sampler in (SMOTENC, samplers.ChunkedSMOTENC):
        with pytest.raises(ValueError, match="infinity"):
            sampler(categorical_features=[1, 3], random_state=0).fit_resample(X, y)


def test_chunked_smotenc_allocates_about_its_output_where_smotenc_allocates_many_copies(monkeypatch):
    """The lean path's peak (tracemalloc traces numpy) is little more than the array it returns;
    imbalanced-learn's is several times that. (Few positives: the neighbour search, the same in
    both, then allocates little; small chunks, whose temporaries are a fixed cost, on a small fold.)"""
    import tracemalloc

    from imblearn.over_sampling import SMOTENC

    monkeypatch.setattr(samplers, "VOTE_CHUNK_ROWS", 1024)
    monkeypatch.setattr(samplers, "DECODE_CHUNK_ROWS", 4096)
    X, y = _mixed_rows(60_000, seed=7, dtype=np.float32, positives=0.005)
    X = np.hstack([X, np.random.default_rng(8).normal(size=(len(X), 40)).astype(np.float32)])  # a fold's width
    options = {"categorical_features": [1, 3], "random_state": 0}

    def peak(sampler: Any) -> tuple[int, int]:
        tracemalloc.start()
        try:
            out = sampler(**options).fit_resample(X, y)[0]
            return tracemalloc.get_traced_memory()[1], out.nbytes
        finally:
            tracemalloc.stop()

    theirs, output = peak(SMOTENC)
    mine, same = peak(samplers.ChunkedSMOTENC)
    assert same == output
    assert theirs > 4 * output and mine < 2 * output, (mine, theirs, output)


@pytest.mark.parametrize("lean", [True, False])
def test_chunked_smotenc_out_dtype_gives_smotencs_rows_in_that_type(lean, monkeypatch):
    """``out_dtype``: the rows are computed in the input's type and written in the other: SMOTENC's
    array converted, bytes for bytes (a frame, through imbalanced-learn's code, is converted after)."""
    from imblearn.over_sampling import SMOTENC

    X, y = _mixed_rows(700, seed=9)
    options = {"categorical_features": [1, 3], "k_neighbors": 4, "random_state": 5}
    expected = SMOTENC(**options).fit_resample(X, y)[0].astype(np.float32)
    data = X if lean else pd.DataFrame(X)
    if lean:
        monkeypatch.setattr(SMOTENC, "_fit_resample", lambda *a: pytest.fail("imbalanced-learn's SMOTENC ran"))
    got = np.asarray(samplers.ChunkedSMOTENC(out_dtype="float32", **options).fit_resample(data, y)[0])
    assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("seed", range(4))
def test_first_drawn_is_imbalanced_learns_permuted_first_pair(seed):
    """The tie break from ranks picks what imbalanced-learn's permutation of the (row, position)
    pairs and ``np.unique`` pick, with the same draws consumed."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 6, size=rng.integers(0, 400))
    positions = np.concatenate([rng.permutation(9)[:c] for c in counts] or [np.zeros(0, int)]).astype(np.uint8)
    pairs = np.column_stack([np.repeat(np.arange(counts.size), counts), positions])
    theirs, mine = np.random.RandomState(seed), np.random.RandomState(seed)
    permuted = theirs.permutation(pairs)
    expected_rows, first = np.unique(permuted[:, 0], return_index=True)
    rows, chosen = samplers.ChunkedSMOTENC._first_drawn(mine, counts, positions)
    assert np.array_equal(rows, expected_rows) and np.array_equal(chosen, permuted[first, 1])
    assert theirs.randint(2**31) == mine.randint(2**31)


@pytest.mark.parametrize("sampler", ["smote", "random_under", "smote_tomek"])
def test_checked_sampler_dtype_gives_the_samplers_rows_in_that_type(sampler, monkeypatch):
    """``dtype``: the same rows as without it, in that type; a SMOTE-NC on its own writes them so
    (it makes no float64 rows), one inside SMOTETomek computes in float64 (Tomek links are searched
    on its rows) and the result is converted, as are the others'."""
    X, y = _mixed_rows(600, seed=10)
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


@pytest.mark.parametrize("out_dtype", [None, "float32"])
def test_chunked_smotenc_reads_fold_rows_as_they_are_transformed(strategy_data, out_dtype, monkeypatch):
    """A fold as :class:`~imbalance_lab.features.FoldRows`: SMOTENC's rows on the
    transformed array (converted to ``out_dtype``), bytes for bytes, without the whole fold ever
    transformed at once (only its positive rows are, together) and without imbalanced-learn's code."""
    from imblearn.over_sampling import SMOTENC

    X, y, schema, folds = strategy_data
    _, _, train, _ = next(iter(iter_splits(folds)))
    step = modeling.make_preprocessor(schema, encoding="ordinal").fit(X.iloc[train], y[train])
    rows = features.FoldRows(step, X, train)
    array = np.asarray(rows)
    discrete = list(range(len(schema.numeric), array.shape[1]))
    options = {"categorical_features": discrete, "k_neighbors": 5, "random_state": 4}
    expected_X, expected_y = SMOTENC(**options).fit_resample(array, y[train])
    transform, sizes = features.FrameTransformer.transform_rows, []

    def recorded(self: Any, X: Any, rows: Any) -> Any:
        sizes.append(len(rows))
        return transform(self, X, rows)

    monkeypatch.setattr(features, "TRANSFORM_CHUNK_ROWS", 50)
    monkeypatch.setattr(features.FrameTransformer, "transform_rows", recorded)
    monkeypatch.setattr(SMOTENC, "_fit_resample", lambda *a: pytest.fail("imbalanced-learn's SMOTENC ran"))
    got_X, got_y = samplers.ChunkedSMOTENC(out_dtype=out_dtype, **options).fit_resample(rows, y[train])
    assert sizes == [int(y[train].sum())] and len(discrete) >= 2
    assert got_X.dtype == (out_dtype or np.float64) and got_X.shape[0] > len(train)
    assert got_X.tobytes() == expected_X.astype(got_X.dtype).tobytes() and np.array_equal(got_y, expected_y)


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
