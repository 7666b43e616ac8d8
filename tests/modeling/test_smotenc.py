"""Unit tests of imbalance_lab.modeling.smotenc: ChunkedSMOTENC against imbalanced-learn's SMOTENC."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from imbalance_lab import modeling
from imbalance_lab.data import iter_splits
from imbalance_lab.modeling import features, smotenc


@pytest.mark.parametrize("k_neighbors,constant", [(5, False), (9, False), (3, True)])
def test_chunked_smotenc_makes_imbalanced_learns_rows(k_neighbors, constant, monkeypatch):
    """The same synthetic rows as SMOTENC, with the neighbours gathered a few rows at a time:
    ties in the vote (two-level columns), k below and above numpy's pairwise-summation block,
    and continuous columns without spread (imbalanced-learn's zero-median-std branch)."""
    from imblearn.over_sampling import SMOTENC

    monkeypatch.setattr(smotenc, "VOTE_CHUNK_ROWS", 7)
    rng = np.random.default_rng(k_neighbors)
    n = 400
    continuous = np.zeros((n, 2)) if constant else rng.normal(size=(n, 2))
    X = np.column_stack([continuous, rng.integers(0, 2, n), rng.integers(0, 6, n), rng.integers(0, 3, n)]).astype(float)
    y = (rng.random(n) < 0.1).astype(int)
    options = {"categorical_features": [2, 3, 4], "k_neighbors": k_neighbors, "random_state": 11}
    expected = SMOTENC(**options).fit_resample(X, y)
    got = smotenc.ChunkedSMOTENC(**options).fit_resample(X, y)
    assert got[0].shape == expected[0].shape and got[0].shape[0] > n
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sampling_strategy", ["auto", 0.5])
def test_chunked_smotenc_encodes_only_the_minority_rows_and_returns_smotencs_array(
    mixed_rows, dtype, sampling_strategy, monkeypatch
):
    """Dense float input takes the lean path (imbalanced-learn's own is never called) and gives
    the same array as SMOTENC, type and bytes (-0.0 comes out as +0.0 in both), decoded across
    chunk boundaries and with the neighbours searched in blocks of a few rows; the categorical
    columns come between and after the continuous ones."""
    from imblearn.over_sampling import SMOTENC

    X, y = mixed_rows(900, seed=4, dtype=dtype)
    options = {
        "categorical_features": [1, 3],
        "k_neighbors": 5,
        "random_state": 2,
        "sampling_strategy": sampling_strategy,
    }
    expected_X, expected_y = SMOTENC(**options).fit_resample(X, y)
    monkeypatch.setattr(smotenc, "DECODE_CHUNK_ROWS", 64)
    monkeypatch.setattr(smotenc, "NEIGHBOURS_WORKING_MEMORY_MB", 0.001)  # a few rows' distances at a time
    monkeypatch.setattr(SMOTENC, "_fit_resample", lambda *a: pytest.fail("imbalanced-learn's SMOTENC ran"))
    got_X, got_y = smotenc.ChunkedSMOTENC(**options).fit_resample(X, y)
    assert got_X.dtype == expected_X.dtype == dtype and got_X.shape == expected_X.shape and got_X.shape[0] > len(X)
    assert got_X.tobytes() == expected_X.tobytes() and np.array_equal(got_y, expected_y)
    negative_zero = lambda a: (a == 0) & np.signbit(a)  # noqa: E731
    assert negative_zero(X[:, 2]).sum() > 100 and negative_zero(got_X).sum() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_smotenc_searches_many_minority_rows_densely_with_the_same_neighbours(mixed_rows, dtype, monkeypatch):
    """From DENSE_NEIGHBOURS_MIN_ROWS minority rows the neighbours are searched in a dense copy:
    without equidistant rows, the same neighbours, so SMOTENC's array byte for byte."""
    from imblearn.over_sampling import SMOTENC

    X, y = mixed_rows(900, seed=12, dtype=dtype, positives=0.3)
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
        monkeypatch.setattr(smotenc, "DENSE_NEIGHBOURS_MIN_ROWS", min_rows)
        monkeypatch.setattr(smotenc, "DENSE_NEIGHBOURS_MAX_BYTES", max_bytes)
        sampler = smotenc.ChunkedSMOTENC(**options)
        got_X, _ = sampler.fit_resample(X, y)
        assert type(sampler.nn_k_._fit_X) is searched
        assert got_X.tobytes() == expected_X.tobytes()


def test_chunked_smotenc_hands_other_input_to_imbalanced_learn(mixed_rows):
    """A frame, integer and sparse input go through SMOTENC's own code, with its results."""
    from imblearn.over_sampling import SMOTENC

    X, y = mixed_rows(300, seed=5)
    options = {"categorical_features": [1, 3], "k_neighbors": 3, "random_state": 0}
    for data in (pd.DataFrame(X), np.rint(X * 10).astype(np.int64), sp.csr_matrix(X)):
        expected = SMOTENC(**options).fit_resample(data, y)[0]
        got = smotenc.ChunkedSMOTENC(**options).fit_resample(data, y)[0]
        dense = lambda a: a.toarray() if sp.issparse(a) else np.asarray(a)  # noqa: E731
        assert type(got) is type(expected) and np.array_equal(dense(got), dense(expected))


def test_chunked_smotenc_rejects_an_infinite_continuous_value_like_smotenc(mixed_rows):
    from imblearn.over_sampling import SMOTENC

    X, y = mixed_rows(200, seed=6)
    X[7, 4] = np.inf
    for sampler in (SMOTENC, smotenc.ChunkedSMOTENC):
        with pytest.raises(ValueError, match="infinity"):
            sampler(categorical_features=[1, 3], random_state=0).fit_resample(X, y)


def test_chunked_smotenc_allocates_about_its_output_where_smotenc_allocates_many_copies(mixed_rows, monkeypatch):
    """The lean path's peak (tracemalloc traces numpy) is little more than the array it returns;
    imbalanced-learn's is several times that. (Few positives: the neighbour search, the same in
    both, then allocates little; small chunks, whose temporaries are a fixed cost, on a small fold.)"""
    import tracemalloc

    from imblearn.over_sampling import SMOTENC

    monkeypatch.setattr(smotenc, "VOTE_CHUNK_ROWS", 1024)
    monkeypatch.setattr(smotenc, "DECODE_CHUNK_ROWS", 4096)
    X, y = mixed_rows(60_000, seed=7, dtype=np.float32, positives=0.005)
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
    mine, same = peak(smotenc.ChunkedSMOTENC)
    assert same == output
    assert theirs > 4 * output and mine < 2 * output, (mine, theirs, output)


@pytest.mark.parametrize("lean", [True, False])
def test_chunked_smotenc_out_dtype_gives_smotencs_rows_in_that_type(mixed_rows, lean, monkeypatch):
    """``out_dtype``: the rows are computed in the input's type and written in the other: SMOTENC's
    array converted, bytes for bytes (a frame, through imbalanced-learn's code, is converted after)."""
    from imblearn.over_sampling import SMOTENC

    X, y = mixed_rows(700, seed=9)
    options = {"categorical_features": [1, 3], "k_neighbors": 4, "random_state": 5}
    expected = SMOTENC(**options).fit_resample(X, y)[0].astype(np.float32)
    data = X if lean else pd.DataFrame(X)
    if lean:
        monkeypatch.setattr(SMOTENC, "_fit_resample", lambda *a: pytest.fail("imbalanced-learn's SMOTENC ran"))
    got = np.asarray(smotenc.ChunkedSMOTENC(out_dtype="float32", **options).fit_resample(data, y)[0])
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
    rows, chosen = smotenc.ChunkedSMOTENC._first_drawn(mine, counts, positions)
    assert np.array_equal(rows, expected_rows) and np.array_equal(chosen, permuted[first, 1])
    assert theirs.randint(2**31) == mine.randint(2**31)


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
    got_X, got_y = smotenc.ChunkedSMOTENC(out_dtype=out_dtype, **options).fit_resample(rows, y[train])
    assert sizes == [int(y[train].sum())] and len(discrete) >= 2
    assert got_X.dtype == (out_dtype or np.float64) and got_X.shape[0] > len(train)
    assert got_X.tobytes() == expected_X.astype(got_X.dtype).tobytes() and np.array_equal(got_y, expected_y)
