"""SMOTE-NC in a fraction of imbalanced-learn's memory (:class:`ChunkedSMOTENC`).

:func:`imbalance_lab.modeling.samplers.for_discrete_columns` puts it in place of a plain SMOTE
when some of the columns to resample are discrete. The same rows as imbalanced-learn's
``SMOTENC``, written into one array a chunk at a time; many minority rows have their
neighbours searched in a dense copy of their encoding (:data:`DENSE_NEIGHBOURS_MIN_ROWS`).
"""

from __future__ import annotations

import itertools
import math
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from imblearn.over_sampling import SMOTE, SMOTENC
from imblearn.utils import check_sampling_strategy as imblearn_sampling_strategy
from imblearn.utils import check_target_type
from sklearn import config_context
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.sparsefuncs_fast import csr_mean_variance_axis0

from .features import FoldRows, as_type

#: Synthetic rows whose neighbours :class:`ChunkedSMOTENC` gathers at a time.
VOTE_CHUNK_ROWS = 8192
#: Rows :class:`ChunkedSMOTENC` copies or decodes into its output at a time.
DECODE_CHUNK_ROWS = 65_536
#: MB of distances :class:`ChunkedSMOTENC`'s neighbour search holds at a time (scikit-learn's
#: ``working_memory``, default 1024): it computes the distances of every minority row to every
#: other, in blocks of rows; a block and its sort indices are 0.7 GB at 1e6 rows (6,700
#: positives in a fold: one block), and at 4e6 a 1 GB block and its indices. Each row's
#: distances and neighbours do not depend on the block size.
NEIGHBOURS_WORKING_MEMORY_MB = 64
#: From this many minority rows :class:`ChunkedSMOTENC` searches their neighbours in a dense copy
#: of their encoding (with BLAS, on the threads it is given) instead of imbalanced-learn's sparse
#: one, whose distances scikit-learn computes on one thread with a loop over pairs of non-zeros.
#: Measured on 58 encoded columns (50 continuous, 8 one-hot categories): 10,000 rows 6.5 s sparse
#: against 0.75 s dense on one thread (0.38 on two); 20,000 rows 24 s against 4.5 (2.2) s. Below
#: it the search is imbalanced-learn's: equidistant neighbours may come in another order in the
#: two, which changes which one is drawn; with fewer rows that is likelier (repeated rows), and
#: the search takes at most about a second and a half either way.
DENSE_NEIGHBOURS_MIN_ROWS = 5000
#: ... as long as the dense copy takes at most this many bytes (a categorical column of thousands
#: of levels makes it wide; the sparse search is then kept).
DENSE_NEIGHBOURS_MAX_BYTES = 2**30


class ChunkedSMOTENC(SMOTENC):
    """imbalanced-learn's SMOTE-NC: the same rows, in a fraction of the memory.

    imbalanced-learn (0.14) encodes the whole training fold as a sparse matrix (the continuous
    columns, then the one-hot categories), copies it, stacks it with the synthetic rows and
    decodes them all before reordering the columns: a dozen copies of the fold. To give each
    synthetic row the most frequent category of its neighbours it gathers every neighbour's
    encoded row at once, a dense array of (synthetic rows x k_neighbors x encoded columns): 5.7 GB
    for the 527,000 synthetic rows of a 533,000-row fold at 1 % positives and 288 encoded columns.

    Here, on a dense float array or :class:`~imbalance_lab.modeling.features.FoldRows` (the
    preprocessed rows of a fold, transformed as they are read; other input goes to
    imbalanced-learn's own code), only the minority class's rows are encoded (their neighbours
    are searched, as imbalanced-learn does); the fold's rows and the synthetic ones are written
    into one array of the input's type (or ``out_dtype``), the fold's a chunk at a time (the
    categorical encoder is fitted on each column's distinct values, gathered on the way); the synthetic rows are interpolated and
    their neighbours' categories voted on :data:`VOTE_CHUNK_ROWS` rows at a time, one categorical
    column at a time, the ties broken with the same random draws in the same order. The output is
    imbalanced-learn's, value for value and type (a zero comes out as +0.0, as from its sparse
    round trip); from :data:`DENSE_NEIGHBOURS_MIN_ROWS` minority rows the neighbours are searched
    in a dense copy of their encoding, faster, with the same neighbours but for the order of
    equidistant ones. Measured at 1e6 rows with ``bench/scale.py`` (GiB): a worker running ``smote``
    peaked at 8.5 with imbalanced-learn's code, 4.2 with the chunked vote alone, 1.25 with this
    code (then fitting XGBoost on the resampled fold), 0.89 with float32 output and the
    preprocessed fold let go before the fit (:func:`imbalance_lab.evaluation.caches.fit_rest`),
    and 0.77 (PSS, the imbalance stage alone) reading the fold as it is transformed.

    Parameters
    ----------
    categorical_features, categorical_encoder, sampling_strategy, random_state, k_neighbors
        As imbalanced-learn's ``SMOTENC``.
    out_dtype : str or None
        The type of the output: the rows are computed in the input's type, as imbalanced-learn
        does, and converted (on a dense float array as they are written, so that the output is
        imbalanced-learn's converted without holding both). None: the input's type.
    """

    _parameter_constraints: ClassVar[dict] = {**SMOTENC._parameter_constraints, "out_dtype": [None, str]}

    def __init__(
        self,
        categorical_features: Any,
        *,
        categorical_encoder: Any = None,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        out_dtype: str | None = None,
    ) -> None:
        super().__init__(
            categorical_features,
            categorical_encoder=categorical_encoder,
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            k_neighbors=k_neighbors,
        )
        self.out_dtype = out_dtype

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """SMOTE-NC's ``fit_resample``, its rows in ``out_dtype`` when that is set.

        ``X`` may also be :class:`~imbalance_lab.modeling.features.FoldRows` (a fold transformed
        as it is read), which is validated as imbalanced-learn validates an array of its type."""
        if isinstance(X, FoldRows):
            if self.categorical_encoder is not None or X.dtype not in (np.float32, np.float64):
                X = np.asarray(X)
            else:  # imbalanced-learn's BaseSampler.fit_resample, without building the array
                self._validate_params()
                check_classification_targets(y)
                y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
                if not binarize_y:
                    self.n_features_in_ = X.shape[1]
                    self.sampling_strategy_ = imblearn_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
                    return self._fit_resample(X, y)
                X = np.asarray(X)
        X_res, y_res = super().fit_resample(X, y, **params)
        return as_type(X_res, self.out_dtype), y_res

    def _fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        lean = isinstance(X, FoldRows) or (
            isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64) and self.categorical_encoder is None
        )
        if not lean:
            return super()._fit_resample(X, y)
        self.n_features_ = X.shape[1]
        self._validate_column_types(X)
        self._validate_estimator()
        continuous, categorical = self.continuous_features_, self.categorical_features_
        n = X.shape[0]
        dtype = X.dtype if self.out_dtype is None else np.dtype(self.out_dtype)
        out = np.empty((n + sum(self.sampling_strategy_.values()), X.shape[1]), dtype=dtype)
        uniques = self._copy_rows(X, out)
        # fitted on each categorical column's values (their categories are those of all the rows)
        longest = max(len(u) for u in uniques)
        values = np.column_stack([np.resize(u, longest) for u in uniques]).astype(X.dtype, copy=False)
        self.categorical_encoder_ = OneHotEncoder(handle_unknown="ignore", dtype=X.dtype).fit(values)
        n_continuous = continuous.size
        self.median_std_ = {}
        draws = []
        for label, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            X_class = self._encode(X.take(y == label) if isinstance(X, FoldRows) else X[y == label])
            _, var = csr_mean_variance_axis0(X_class[:, :n_continuous])
            self.median_std_[label] = np.median(np.sqrt(var))
            if math.isclose(self.median_std_[label], 0):
                self._X_categorical_minority_encoded = X_class[:, n_continuous:].toarray()
            X_class_categorical = X_class[:, n_continuous:]
            X_class_categorical.data[:] = self.median_std_[label] / np.sqrt(2)
            X_class[:, n_continuous:] = X_class_categorical
            searched = self._searched_rows(X_class)
            with config_context(working_memory=NEIGHBOURS_WORKING_MEMORY_MB):
                self.nn_k_.fit(searched)
                nns = self.nn_k_.kneighbors(searched, return_distance=False)[:, 1:]
            # imbalanced-learn's BaseSMOTE._make_samples: the same draws
            rng = check_random_state(self.random_state)
            samples_indices = rng.randint(low=0, high=nns.size, size=n_samples)
            steps = rng.uniform(size=n_samples)[:, np.newaxis]
            rows, cols = np.floor_divide(samples_indices, nns.shape[1]), np.mod(samples_indices, nns.shape[1])
            draws.append((label, X_class, searched, nns, rows, cols, steps))
        y_new = [y.copy()]
        for label, X_class, searched, nns, rows, cols, steps in draws:
            new = out[n : n + len(rows)]
            for chunk, values in self._interpolated(X_class, X_class, nns, rows, cols, steps):
                new[chunk, continuous] = values.toarray()
            for column, categories, (xs, chosen) in zip(  # the vote reads the rows densely: the searched copy, if any
                categorical, self.categorical_encoder_.categories_, self._voted(searched, nns, rows, label)
            ):
                new[xs, column] = categories[chosen]
            n += len(rows)
            y_new.append(np.full(len(rows), fill_value=label, dtype=y.dtype))
        return out, np.hstack(y_new)

    def _copy_rows(self, X: np.ndarray | FoldRows, out: np.ndarray) -> list[np.ndarray]:
        """Copy the rows of ``X`` into the first rows of ``out``, checking on the way that the
        continuous columns are finite (as imbalanced-learn does); returns each categorical
        column's distinct values."""
        continuous, categorical = self.continuous_features_, self.categorical_features_
        if isinstance(X, FoldRows):
            chunks = X.chunks()
        else:
            chunks = ((a, X[a : a + DECODE_CHUNK_ROWS]) for a in range(0, max(X.shape[0], 1), DECODE_CHUNK_ROWS))
        uniques: list[list[np.ndarray]] = [[] for _ in categorical]
        for start, chunk in chunks:
            assert_all_finite(chunk[:, continuous], input_name="X")
            for seen, column in zip(uniques, categorical):
                seen.append(np.unique(chunk[:, column]))
            block = out[start : start + len(chunk)]
            block[:] = chunk
            block[block == 0] = 0  # -0.0 too: imbalanced-learn's sparse round trip drops stored zeros
        return [np.unique(np.concatenate(seen)) for seen in uniques]

    def _searched_rows(self, X_class: Any) -> Any:
        """The encoded minority rows the neighbour search runs on: a dense copy from
        :data:`DENSE_NEIGHBOURS_MIN_ROWS` rows (up to :data:`DENSE_NEIGHBOURS_MAX_BYTES`), searched
        by brute force as imbalanced-learn's sparse rows are; otherwise the sparse rows themselves.
        A neighbours estimator given as ``k_neighbors`` keeps its own search."""
        n_rows, n_columns = X_class.shape
        dense = (
            n_rows >= DENSE_NEIGHBOURS_MIN_ROWS
            and n_rows * n_columns * X_class.dtype.itemsize <= DENSE_NEIGHBOURS_MAX_BYTES
            and isinstance(self.k_neighbors, Integral)
        )
        if not dense:
            return X_class
        self.nn_k_.set_params(algorithm="brute")
        return X_class.toarray()

    def _encode(self, X_class: np.ndarray) -> Any:
        """imbalanced-learn's encoded rows: the continuous columns, then the one-hot categories,
        as one CSR matrix (zeros not stored)."""
        dtype = X_class.dtype
        X_ohe = sp.csr_matrix(self.categorical_encoder_.transform(X_class[:, self.categorical_features_]), dtype=dtype)
        return sp.hstack((X_class[:, self.continuous_features_], X_ohe), format="csr", dtype=dtype)

    def _interpolated(
        self, X: Any, nn_data: Any, nn_num: np.ndarray, rows: np.ndarray, cols: np.ndarray, steps: Any
    ) -> Any:
        """SMOTE's interpolation of the continuous columns, :data:`VOTE_CHUNK_ROWS` synthetic rows
        at a time (every row is computed on its own: the same values): (rows, values) pairs."""
        n_continuous = self.continuous_features_.size
        for start in range(0, max(len(rows), 1), VOTE_CHUNK_ROWS):
            c = slice(start, start + VOTE_CHUNK_ROWS)
            yield c, SMOTE._generate_samples(self, X, nn_data, nn_num, rows[c], cols[c], steps[c])[:, :n_continuous]

    def _voted(self, nn_data: Any, nn_num: np.ndarray, rows: np.ndarray, y_type: Any) -> Any:
        """The most frequent category among each synthetic row's neighbours, ties broken with
        imbalanced-learn's random draws, one categorical column at a time: yields (synthetic
        rows, category positions) per column."""
        rng = check_random_state(self.random_state)
        n_continuous = self.continuous_features_.size
        nn_data = nn_data.toarray() if sp.issparse(nn_data) else nn_data
        if math.isclose(self.median_std_[y_type], 0):
            nn_data[:, n_continuous:] = self._X_categorical_minority_encoded
        bounds = np.cumsum([n_continuous] + [cats.size for cats in self.categorical_encoder_.categories_])
        for a, b in itertools.pairwise(bounds):
            block = nn_data[:, a:b]
            counts, positions = [], []  # per synthetic row: how many maxima, and where (in row order)
            for start in range(0, max(len(rows), 1), VOTE_CHUNK_ROWS):
                col_maxs = block[nn_num[rows[start : start + VOTE_CHUNK_ROWS]]].sum(axis=1)
                ties = np.isclose(col_maxs, col_maxs.max(axis=1, keepdims=True))
                counts.append(ties.sum(axis=1))
                positions.append(np.nonzero(ties)[1].astype(np.min_scalar_type(b - a)))
            yield self._first_drawn(rng, np.concatenate(counts), np.concatenate(positions))

    @staticmethod
    def _first_drawn(rng: np.random.RandomState, counts: np.ndarray, positions: np.ndarray) -> tuple[Any, Any]:
        """imbalanced-learn's tie break, without its copies: it permutes the (synthetic row,
        position) pairs of all the maxima (``rng.permutation`` of a 2-D array shuffles an index
        of its rows: the same draws as ``rng.permutation(n)``) and keeps each row's first pair.
        Each row's first pair is its pair of lowest rank in that order: found here from the
        ranks with a reduction per row (every row has at least one maximum, in row order), where
        imbalanced-learn copies the pairs twice and sorts them. Measured with memray on a fold of
        1e6 rows (2.2 M pairs for one categorical column of its 527,000 synthetic rows): the
        resampling's peak beyond its output went from 228 MiB to 112 MiB. Returns (synthetic rows,
        positions)."""
        order = rng.permutation(positions.size)
        if not counts.size:
            return np.arange(0), positions
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        first = np.minimum.reduceat(rank, np.cumsum(counts) - counts)
        return np.arange(counts.size), positions[order[first]]

    def _generate_samples(
        self,
        X: Any,
        nn_data: Any,
        nn_num: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
        steps: Any,
        y_type: Any,
        y: Any = None,
    ) -> Any:
        continuous = [values for _, values in self._interpolated(X, nn_data, nn_num, rows, cols, steps)]
        chosen = list(self._voted(nn_data, nn_num, rows, y_type))
        offsets = np.cumsum([0] + [cats.size for cats in self.categorical_encoder_.categories_])
        xs = np.concatenate([x for x, _ in chosen])
        ys = np.concatenate([offset + c for offset, (_, c) in zip(offsets, chosen)])
        dtype = continuous[0].dtype
        categories = sp.csr_matrix((np.ones(len(xs), dtype=dtype), (xs, ys)), shape=(len(rows), offsets[-1]))
        if sp.issparse(continuous[0]):
            return sp.hstack([sp.vstack(continuous, format="csr"), categories], format="csr")
        return np.hstack([np.vstack(continuous), categories.toarray()])
