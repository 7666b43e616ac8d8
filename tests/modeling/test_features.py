"""Unit tests of imbalance_lab.modeling.features on a hand-made frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer

from imbalance_lab.data import Schema
from imbalance_lab.modeling.features import MISSING, ColumnwiseImputer, ColumnwiseScaler, make_preprocessor

SCHEMA = Schema(
    target="y", numeric=["num1", "num2"], categorical={"cat": ["a", "b", "c"]}, features=["num1", "num2", "cat"]
)


def train_frame(cat_dtype: str = "object") -> pd.DataFrame:
    """12 rows: num1 has two missing values (median of the rest 5.5), cat has a (5), b (5),
    c (1) and one missing value; with min_frequency=5, c and the missing value are rare."""
    cat = pd.Series(["a"] * 5 + ["b"] * 5 + ["c", None], dtype=object)
    return pd.DataFrame(
        {
            "num1": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, np.nan, np.nan],
            "num2": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0],
            "cat": cat if cat_dtype == "object" else cat.astype(cat_dtype),
            "ignored": list("abcdefghijkl"),  # not in the schema: dropped
        }
    )


def test_returns_unfitted_column_transformer_and_rejects_bad_encoding():
    pre = make_preprocessor(SCHEMA)
    assert isinstance(pre, ColumnTransformer)
    assert not hasattr(pre, "transformers_")
    with pytest.raises(ValueError, match="encoding"):
        make_preprocessor(SCHEMA, encoding="target")


@pytest.mark.parametrize("cat_dtype", ["object", "str"])
def test_onehot_and_ordinal_widths(cat_dtype):
    X = train_frame(cat_dtype)
    onehot = make_preprocessor(SCHEMA, encoding="onehot").fit(X)
    out = onehot.transform(X)
    # 2 numeric + 1 missing indicator + a, b and the grouped rare categories (c, missing)
    assert out.shape == (12, 6)
    assert list(onehot.get_feature_names_out()) == [
        "num1",
        "num2",
        "missingindicator_num1",
        "cat_a",
        "cat_b",
        "cat_infrequent_sklearn",
    ]
    np.testing.assert_array_equal(out[:, 3:].sum(axis=1), np.ones(12))  # exactly one category each
    np.testing.assert_array_equal(out[:, 5], [0] * 10 + [1, 1])

    ordinal = make_preprocessor(SCHEMA, encoding="ordinal").fit(X)
    out = ordinal.transform(X)
    assert out.shape == (12, 4)
    assert list(ordinal.get_feature_names_out()) == ["num1", "num2", "missingindicator_num1", "cat"]
    # codes in sorted order: "__missing__" < "a" < "b" < "c"
    assert MISSING < "a"
    np.testing.assert_array_equal(out[:, 3], [1] * 5 + [2] * 5 + [3, 0])


def test_onehot_without_rare_categories_is_one_column_per_category():
    X = pd.DataFrame({"num1": np.arange(10.0), "num2": np.arange(10.0) ** 2, "cat": ["a"] * 5 + ["b"] * 5})
    pre = make_preprocessor(SCHEMA, encoding="onehot").fit(X)
    assert list(pre.get_feature_names_out()) == ["num1", "num2", "cat_a", "cat_b"]  # no missing: no indicator
    out = pre.transform(pd.DataFrame({"num1": [1.0], "num2": [2.0], "cat": ["never seen"]}))
    np.testing.assert_array_equal(out, [[1.0, 2.0, 0.0, 0.0]])  # unseen category: all zeros


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_unseen_category_and_missing_values_at_transform(encoding):
    pre = make_preprocessor(SCHEMA, encoding=encoding).fit(train_frame())
    test = pd.DataFrame(
        {
            "num1": [np.nan, 3.0, 100.0],
            "num2": [1.0, np.nan, 2.0],
            "cat": pd.Series(["zzz", "a", None], dtype=object),
        }
    )
    out = pre.transform(test)
    # num1: the training median of 1..10 is 5.5, plus the indicator; num2 had no missing value
    # at fit time (no indicator column) and is imputed with its training median 3.25
    np.testing.assert_array_equal(out[:, 0], [5.5, 3.0, 100.0])
    np.testing.assert_array_equal(out[:, 1], [1.0, 3.25, 2.0])
    np.testing.assert_array_equal(out[:, 2], [1.0, 0.0, 0.0])
    if encoding == "ordinal":
        np.testing.assert_array_equal(out[:, 3], [-1.0, 1.0, 0.0])  # unseen -> -1, missing -> its code
    else:
        # unseen -> the infrequent group (it exists), "a" -> a, missing -> infrequent (rare at fit)
        np.testing.assert_array_equal(out[:, 3:], [[0, 0, 1], [1, 0, 0], [0, 0, 1]])


def test_median_comes_from_the_fitted_data_only():
    X = train_frame()
    pre = make_preprocessor(SCHEMA, encoding="ordinal").fit(X.iloc[:6])  # num1 1..6: median 3.5
    out = pre.transform(X.iloc[10:])  # the two rows with missing num1
    np.testing.assert_array_equal(out[:, 0], [3.5, 3.5])
    # fitted on the first six rows num1 had no missing value: no indicator column
    assert "missingindicator_num1" not in pre.get_feature_names_out()


def test_scaling():
    X = train_frame()
    plain = make_preprocessor(SCHEMA, encoding="ordinal", scale=False).fit_transform(X)
    scaled_pre = make_preprocessor(SCHEMA, encoding="ordinal", scale=True).fit(X)
    scaled = scaled_pre.transform(X)
    numeric = scaled[:, :3]  # num1, num2 and the indicator are standardised
    np.testing.assert_allclose(numeric.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(numeric.std(axis=0), 1.0)
    np.testing.assert_allclose(numeric, (plain[:, :3] - plain[:, :3].mean(axis=0)) / plain[:, :3].std(axis=0))
    np.testing.assert_array_equal(scaled[:, 3], plain[:, 3])  # categorical codes are not scaled
    scaler = scaled_pre.named_transformers_["numeric"].named_steps["scale"]
    # mean of num1 after imputation: (55 + 2 * 5.5) / 12 = 5.5
    assert scaler.mean_[0] == pytest.approx(5.5)
    assert "scale" not in make_preprocessor(SCHEMA, scale=False).transformers[0][1].named_steps


def test_only_numeric_or_only_categorical_schema():
    X = train_frame()
    num_only = make_preprocessor(Schema(target="y", numeric=["num1"], categorical={}, features=["num1"])).fit(X)
    assert list(num_only.get_feature_names_out()) == ["num1", "missingindicator_num1"]
    cat_only = make_preprocessor(
        Schema(target="y", numeric=[], categorical={"cat": []}, features=["cat"]), encoding="ordinal"
    ).fit(X)
    assert list(cat_only.get_feature_names_out()) == ["cat"]
    assert cat_only.transform(X).shape == (12, 1)


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_none_and_nan_are_the_same_missing_category(encoding):
    # None (object columns from SQL or Python lists), NaN (split_xy) and pd.NA are all missing
    # five of each: frequent enough (min_frequency=5) to get their own one-hot columns if split
    cat = ["a"] * 6 + ["b"] * 6 + [None] * 5 + [np.nan] * 5
    X = pd.DataFrame({"num1": np.arange(22.0), "num2": np.ones(22), "cat": pd.Series(cat, dtype=object)})
    pre = make_preprocessor(SCHEMA, encoding=encoding).fit(X)
    out = pre.transform(X)
    width = out.shape[1] - 2  # num1, num2 (no missing values, no indicator)
    assert width == (1 if encoding == "ordinal" else 3)  # a, b and one missing category
    missing_rows = out[12:, 2:]
    assert (missing_rows == missing_rows[0]).all()
    assert not (missing_rows[0] == out[0, 2:]).all() and not (missing_rows[0] == out[6, 2:]).all()
    new = pd.DataFrame({"num1": [1.0, 2.0], "num2": [1.0, 1.0], "cat": pd.Series([pd.NA, None], dtype=object)})
    np.testing.assert_array_equal(pre.transform(new)[:, 2:], np.vstack([missing_rows[0]] * 2))
    if encoding == "ordinal":
        np.testing.assert_array_equal(missing_rows[:, 0], 0.0)  # "__missing__" sorts first; never -1


def test_one_hot_last_columns_passes_the_others_and_ignores_unknown_codes():
    from imbalance_lab.modeling.features import OneHotLastColumns

    train = np.array([[0.5, 1.0, 0.0], [1.5, 0.0, 1.0], [2.5, 0.0, 2.0]] * 5)  # two numbers, then a code
    enc = OneHotLastColumns(n_columns=1).fit(train)
    out = enc.transform(np.array([[9.0, 1.0, 1.0], [8.0, 0.0, -1.0]]))  # -1: a category unseen in training
    np.testing.assert_array_equal(out, [[9.0, 1.0, 0.0, 1.0, 0.0], [8.0, 0.0, 0.0, 0.0, 0.0]])


def _large_frame(n: int, *, seed: int = 0) -> tuple[Schema, pd.DataFrame, np.ndarray]:
    """``n`` rows: 6 numeric columns (two with missing values) and 3 text columns of 40 to 60
    levels, with missing values: one-hot output mostly zeros, as on real data."""
    rng = np.random.default_rng(seed)
    data = {f"x{j}": rng.normal(j, 1 + j, n) for j in range(6)}
    for j in (1, 4):
        data[f"x{j}"][rng.random(n) < 0.1] = np.nan
    cats = {}
    for j, k in enumerate((40, 50, 60)):
        values = np.array([f"c{j}_{i}" for i in range(k)], dtype=object)[rng.integers(0, k, n)]
        values[rng.random(n) < 0.05] = None
        data[f"c{j}"] = values
        cats[f"c{j}"] = sorted({v for v in values if v is not None})
    schema = Schema(target="y", numeric=[f"x{j}" for j in range(6)], categorical=cats, features=list(data))
    return schema, pd.DataFrame(data), (rng.random(n) < 0.1).astype(int)


def _sklearn_twin(pre):
    """The same preprocessing with scikit-learn's own ``ColumnTransformer`` and ``SimpleImputer``
    (unfitted)."""
    from sklearn.base import clone
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    def own(t):
        t = clone(t)
        for name, step in getattr(t, "steps", []):
            if isinstance(step, ColumnwiseImputer):
                t.set_params(**{name: SimpleImputer(**step.get_params())})
            if isinstance(step, ColumnwiseScaler):
                t.set_params(**{name: StandardScaler(**step.get_params())})
        return t

    return ColumnTransformer(
        [(name, own(t), cols) for name, t, cols in pre.transformers],
        remainder="drop",
        verbose_feature_names_out=False,
    )


@pytest.mark.parametrize("encoding,scale", [("onehot", True), ("ordinal", False)])
def test_frame_transformer_gives_column_transformers_values_in_every_output_form(encoding, scale, monkeypatch):
    from imbalance_lab.modeling import features

    monkeypatch.setattr(features, "TRANSFORM_CHUNK_ROWS", 7)  # chunk boundaries inside the data
    schema, X, y = _large_frame(100)
    expected = _sklearn_twin(make_preprocessor(schema, encoding=encoding, scale=scale)).fit_transform(X, y)
    unseen = X.copy()
    unseen.loc[:3, "c0"] = "never seen"
    expected_unseen = (
        _sklearn_twin(make_preprocessor(schema, encoding=encoding, scale=scale)).fit(X, y).transform(unseen)
    )

    for dtype, sparse in (("float64", False), ("float32", False), ("float64", True)):
        pre = make_preprocessor(schema, encoding=encoding, scale=scale, dtype=dtype, sparse=sparse)
        params = pre.get_params(deep=True)
        fitted = pre.fit_transform(X, y)
        assert pre.get_params(deep=True).keys() == params.keys()
        twin = _sklearn_twin(pre).fit(X, y)
        assert pre.output_indices_ == twin.output_indices_ and pre.sparse_output_ is False
        assert [(n, type(t), c) for n, t, c in pre.transformers_] == [(n, type(t), c) for n, t, c in twin.transformers_]
        assert all(
            not isinstance(t, str) and t is not u for (_, t, _), (_, u, _) in zip(pre.transformers_, pre.transformers)
        )
        got = fitted.toarray() if sparse else fitted
        assert got.dtype == np.dtype(dtype) and (not sparse or fitted.format == "csr")
        assert np.array_equal(got, expected.astype(dtype))
        got_unseen = pre.transform(unseen)
        assert np.array_equal(got_unseen.toarray() if sparse else got_unseen, expected_unseen.astype(dtype))
        rows = np.array([50, 3, 99, 3, 0, 17, 18, 19, 20, 21])
        picked = pre.transform_rows(X, rows)
        assert np.array_equal(picked.toarray() if sparse else picked, expected[rows].astype(dtype))
        assert list(pre.get_feature_names_out()) == list(_sklearn_twin(pre).fit(X, y).get_feature_names_out())


def test_frame_transformer_fit_builds_no_output():
    """scikit-learn's fit builds the one-hot output (dense) and stacks it, to drop it; this fit
    allocates a fraction of that (numpy's allocations are traced by tracemalloc)."""
    import tracemalloc

    schema, X, y = _large_frame(20_000)
    pre = make_preprocessor(schema, encoding="onehot", scale=True)
    output_bytes = _sklearn_twin(pre).fit_transform(X, y).nbytes

    def peak(fit) -> int:
        tracemalloc.start()
        try:
            fit()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    sklearn_peak = peak(lambda: _sklearn_twin(pre).fit(X, y))
    mine = peak(lambda: make_preprocessor(schema, encoding="onehot", scale=True).fit(X, y))
    assert sklearn_peak > 1.5 * output_bytes  # the blocks and their stack
    assert mine < 0.5 * output_bytes, (mine, output_bytes, sklearn_peak)


def test_transform_rows_of_another_step_selects_the_rows_first():
    from sklearn.preprocessing import StandardScaler

    from imbalance_lab.modeling.features import transform_rows

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    step = StandardScaler().fit(X)
    assert np.array_equal(transform_rows(step, X, np.array([3, 1])), step.transform(X.iloc[[3, 1]]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("keep_empty_features", [False, True])
def test_columnwise_imputer_gives_simple_imputers_medians_and_indicator(dtype, keep_empty_features):
    """Odd and even counts of values, ties, a column without values and one without missing
    values: the same statistics (bit for bit), indicator columns and output."""
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(3)
    X = rng.normal(size=(301, 6)).round(1).astype(dtype)
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 1] = np.nan
    X[:, 2] = rng.integers(0, 3, len(X))
    for rows in (slice(None), slice(0, 300)):
        options = {"strategy": "median", "add_indicator": True, "keep_empty_features": keep_empty_features}
        theirs, mine = SimpleImputer(**options).fit(X[rows]), ColumnwiseImputer(**options).fit(X[rows])
        assert mine.statistics_.dtype == theirs.statistics_.dtype
        assert mine.statistics_.tobytes() == theirs.statistics_.tobytes()
        assert np.array_equal(mine.indicator_.features_, theirs.indicator_.features_)
        assert np.array_equal(mine.transform(X), theirs.transform(X), equal_nan=True)
    other = ColumnwiseImputer(strategy="mean").fit(X)
    assert np.array_equal(other.statistics_, SimpleImputer(strategy="mean").fit(X).statistics_, equal_nan=True)


def test_columnwise_imputer_fit_allocates_a_few_columns_where_simple_imputer_allocates_the_block_several_times():
    import tracemalloc

    from sklearn.impute import SimpleImputer

    X = np.random.default_rng(4).normal(size=(100_000, 40))
    X[::7, ::3] = np.nan

    def peak(imputer) -> int:
        tracemalloc.start()
        try:
            imputer.fit(X)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    theirs = peak(SimpleImputer(strategy="median", add_indicator=True, copy=False))
    mine = peak(ColumnwiseImputer(strategy="median", add_indicator=True, copy=False))
    assert theirs > 2.5 * X.nbytes and mine < 0.5 * X.nbytes, (mine, theirs, X.nbytes)


@pytest.mark.parametrize("frame", [False, True])
def test_columnwise_imputer_fit_reads_the_rows_without_copying_them(frame):
    """With the default ``copy=True`` (kept for ``transform``), the fit does not copy ``X``: a
    training fold's numeric block is not held twice. ``X`` is left as it was."""
    import tracemalloc

    X = np.random.default_rng(4).normal(size=(100_000, 40))
    X[::7, ::3] = np.nan
    data = pd.DataFrame(X, columns=[f"x{j}" for j in range(40)]) if frame else X
    before = X.copy()
    imputer = ColumnwiseImputer(strategy="median", add_indicator=True)
    tracemalloc.start()
    try:
        imputer.fit(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, (peak, X.nbytes)
    assert imputer.copy is True
    assert np.array_equal(np.asarray(data), before, equal_nan=True)
    assert np.isnan(imputer.transform(data)).sum() == 0 and np.isnan(np.asarray(data)).any()


def test_stacked_csr_is_vstacks_matrix():
    """Parts with more stored values per row than the first (the arrays grow again), an empty
    part, and one row: the same values, column indices and row pointers as ``vstack``."""
    import scipy.sparse as sp

    from imbalance_lab.modeling.features import stacked_csr

    rng = np.random.default_rng(3)
    parts = [
        sp.random(n, 9, density=d, format="csr", random_state=rng)
        for n, d in ((20, 0.1), (0, 0.5), (35, 0.6), (1, 1.0), (50, 0.3))
    ]
    expected = sp.vstack(parts, format="csr")
    got = stacked_csr(iter(parts), n_rows=sum(p.shape[0] for p in parts), dtype=np.float64)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert np.array_equal(got.data, expected.data) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.indptr, expected.indptr) and got.indptr.dtype == expected.indptr.dtype


def test_fold_rows_are_the_transformed_rows_read_in_chunks(monkeypatch):
    """:class:`FoldRows`: shape, type, chunks, a subset and the whole array are those of
    ``transform_rows``; a sparse step is refused."""
    from imbalance_lab.modeling import features

    X = train_frame()
    step = make_preprocessor(SCHEMA, encoding="ordinal", dtype="float32").fit(X)
    rows = np.array([5, 0, 11, 3, 1, 10, 2])
    monkeypatch.setattr(features, "TRANSFORM_CHUNK_ROWS", 3)
    fold = features.FoldRows(step, X, rows)
    expected = step.transform_rows(X, rows)
    assert fold.shape == expected.shape and len(fold) == len(rows) and fold.dtype == expected.dtype == np.float32
    chunks = list(fold.chunks())
    assert [start for start, _ in chunks] == [0, 3, 6] and all(c.dtype == np.float32 for _, c in chunks)
    assert np.array_equal(np.vstack([c for _, c in chunks]), expected, equal_nan=True)
    mask = np.array([True, False, True, False, False, True, True])
    assert np.array_equal(fold.take(mask), expected[mask], equal_nan=True)
    assert np.array_equal(np.asarray(fold), expected, equal_nan=True)
    assert np.asarray(fold, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="transformed when read"):
        np.array(fold, copy=False)
    sparse = make_preprocessor(SCHEMA, sparse=True).fit(X)
    with pytest.raises(ValueError, match="sparse"):
        features.FoldRows(sparse, X, rows)


@pytest.mark.parametrize("kind", ["frame", "integers", "array", "fortran"])
def test_columnwise_imputer_transform_writes_simple_imputers_output(kind, monkeypatch):
    """Float64 and integer columns, as a frame or an array: the imputed columns and indicators
    written column by column are ``SimpleImputer``'s output, bit for bit and in the same memory
    layout (a frame's is Fortran-ordered), with its code run on 3 rows only."""
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 7))
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, 3] = rng.normal(size=len(X))  # no missing value: no indicator
    data = pd.DataFrame(X, columns=[f"x{j}" for j in range(7)]) if kind in ("frame", "integers") else X
    if kind == "fortran":
        data = np.asfortranarray(X)
    if kind == "integers":
        data["x3"] = rng.integers(-5, 5, len(X))
    options = {"strategy": "median", "add_indicator": True}
    theirs = SimpleImputer(**options).fit(data)
    mine = ColumnwiseImputer(**options).fit(data)
    expected = theirs.transform(data)
    transform = SimpleImputer.transform
    monkeypatch.setattr(
        SimpleImputer, "transform", lambda self, X: transform(self, X) if len(X) <= 3 else pytest.fail()
    )
    got = mine.transform(data)  # scikit-learn's on 3 rows only, for the layout
    assert got.dtype == expected.dtype == np.float64 and got.shape == expected.shape == (500, 13)
    assert (
        got.tobytes(order="A") == expected.tobytes(order="A") and got.flags.f_contiguous == expected.flags.f_contiguous
    )
    bad = data.copy()
    if isinstance(bad, pd.DataFrame):
        bad.iloc[4, 0] = np.inf
    else:
        bad[4, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        mine.transform(bad)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_columnwise_imputer_transform_leaves_other_input_to_scikit_learn():
    """float32 columns, a column without values (dropped) and a constant strategy: scikit-learn's
    code and output."""
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(6)
    X = rng.normal(size=(200, 4))
    X[rng.random(X.shape) < 0.2] = np.nan
    empty = X.copy()
    empty[:, 1] = np.nan
    cases = [
        (pd.DataFrame(X.astype(np.float32)), {"strategy": "median"}),
        (empty, {"strategy": "median"}),
        (X, {"strategy": "constant", "fill_value": 2.5}),
    ]
    for data, options in cases:
        theirs = SimpleImputer(add_indicator=True, **options).fit(data)
        mine = ColumnwiseImputer(add_indicator=True, **options).fit(data)
        assert not mine._fills_in_place(data)
        expected, got = theirs.transform(data), mine.transform(data)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("n_columns", [3, 16, 17, 21, 58])
@pytest.mark.parametrize("options", [{}, {"with_mean": False}, {"with_std": False}])
@pytest.mark.parametrize("order", ["C", "F"])
def test_columnwise_scaler_fits_standard_scalers_values_bit_for_bit(n_columns, options, order):
    """Means, variances, scales and counts (a constant column, a column with missing values)
    are ``StandardScaler``'s, bit for bit, over more rows than numpy's reduction buffer."""
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(n_columns)
    X = rng.normal(loc=3.0, scale=rng.uniform(0.1, 1e4, n_columns), size=(20_000, n_columns))
    X[:, 0] = 7.25
    if order == "F":
        X = np.asfortranarray(X)
    for with_nan in (False, True):
        if with_nan:
            X[rng.random(len(X)) < 0.1, 1] = np.nan
        theirs, mine = StandardScaler(**options).fit(X), ColumnwiseScaler(**options).fit(X)
        for name in ("mean_", "var_", "scale_"):
            a, b = getattr(theirs, name), getattr(mine, name)
            assert (a is None and b is None) or a.tobytes() == b.tobytes(), name
        assert type(mine.n_samples_seen_) is type(theirs.n_samples_seen_)
        assert np.array_equal(mine.n_samples_seen_, theirs.n_samples_seen_)
        assert mine.n_features_in_ == n_columns
        assert np.array_equal(mine.transform(X), theirs.transform(X), equal_nan=True)


def test_numeric_preprocessing_fit_allocates_less_than_scikit_learns():
    """Imputing with indicators and scaling, as logistic regression's preprocessing fits them: the
    imputer writes one output (no float64 copy of the columns beside it) and the scaler centres a
    few columns at a time (tracemalloc: numpy's arrays)."""
    import tracemalloc

    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(100_000, 40)), columns=[f"x{j}" for j in range(40)])
    X.iloc[::7, ::3] = np.nan

    def peak(imputer, scaler) -> int:
        tracemalloc.start()
        try:
            Pipeline([("impute", imputer), ("scale", scaler)]).fit(X)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    options = {"strategy": "median", "add_indicator": True}
    theirs = peak(SimpleImputer(**options), StandardScaler())
    mine = peak(ColumnwiseImputer(**options), ColumnwiseScaler())
    block = X.shape[0] * 54 * 8  # the imputed block with its 14 indicator columns
    assert theirs > 2.5 * block and mine < 1.5 * block, (mine, theirs, block)
