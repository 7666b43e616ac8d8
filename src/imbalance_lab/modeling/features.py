"""The preprocessing step, built from the schema and fitted inside each training fold."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils import assert_all_finite
from sklearn.utils._mask import _get_mask
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data.schema import Schema

MISSING = "__missing__"

#: Rows transformed at a time by :class:`FrameTransformer`: the transformers' intermediate arrays
#: (the one-hot block, the imputed numeric block) exist for one chunk at a time, beside the one
#: output array. At 16,384 rows and 232 output columns a chunk's intermediates take about 50 MiB
#: (memray), at 65,536 rows 0.2 GiB; a fold of 533,333 rows is transformed about as fast (2.6 s
#: against 2.8 s for logistic regression's sparse rows, 1.0 s against 0.9 s for XGBoost's).
TRANSFORM_CHUNK_ROWS = 16_384


def one_hot_encoder() -> OneHotEncoder:
    """The one-hot encoder of linear models: categories seen fewer than 5 times in the training
    fold are grouped, unseen ones are ignored (all zeros)."""
    return OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)


def make_preprocessor(
    schema: Schema, *, encoding: str = "onehot", scale: bool = False, dtype: str = "float64", sparse: bool = False
) -> FrameTransformer:
    """Imputation, categorical encoding and optional scaling for the schema's features.

    Parameters
    ----------
    schema : Schema
        The prepared data's schema (its ``numeric`` and ``categorical`` columns).
    encoding : {"onehot", "ordinal"}
        One-hot for linear models (rare categories grouped, unseen ones ignored); ordinal codes
        for tree models (unseen categories become -1).
    scale : bool
        Standardise numeric columns (for models that need it).
    dtype : {"float64", "float32"}
        The output's type: float32 for a model that converts its input to float32 anyway
        (XGBoost, scikit-learn's trees), which gets the same values in half the memory.
    sparse : bool
        Output a CSR matrix: the same values; for one-hot encoded rows (mostly zeros) a third of
        the memory of the dense array.

    Returns
    -------
    FrameTransformer
        Unfitted; numeric missing values are imputed with the median plus an indicator column,
        categorical ones become their own category.
    """
    if encoding not in ("onehot", "ordinal"):
        raise ValueError(f"encoding must be 'onehot' or 'ordinal', got {encoding!r}")
    numeric_steps: list[tuple[str, Any]] = [("impute", ColumnwiseImputer(strategy="median", add_indicator=True))]
    if scale:
        numeric_steps.append(("scale", ColumnwiseScaler()))
    if encoding == "onehot":
        encoder = one_hot_encoder()
    else:
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    # missing_values=pd.NA makes the imputer use pandas.isna: None in object columns is missing
    # too (with the default np.nan it would become a category of its own, apart from NaN)
    categorical_steps = [
        ("impute", SimpleImputer(strategy="constant", fill_value=MISSING, missing_values=pd.NA)),
        ("encode", encoder),
    ]
    transformers = []
    if schema.numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), list(schema.numeric)))
    if schema.categorical:
        transformers.append(("categorical", Pipeline(categorical_steps), list(schema.categorical)))
    return FrameTransformer(transformers, remainder="drop", verbose_feature_names_out=False, dtype=dtype, sparse=sparse)


class FrameTransformer(ColumnTransformer):
    """A ``ColumnTransformer`` with the same fitted values and output, in less memory.

    * ``fit`` builds no output: scikit-learn's fits every column block with ``fit_transform`` and
      stacks the blocks, about twice the output at the peak (1.9 GB for a one-hot encoded fold
      of 533,333 rows and 232 columns), only to drop it. Here each block's transformer is only
      fitted (a pipeline's last step is not applied to the rows) and nothing is stacked.
    * ``transform`` (and ``fit_transform``) work in chunks of :data:`TRANSFORM_CHUNK_ROWS` rows
      written into one array of ``dtype`` (or stacked as one CSR matrix, ``sparse``): every
      transformer works row by row, so the values are those of one call on all rows.
    * :meth:`transform_rows` transforms some rows of a frame without copying them first.

    Parameters
    ----------
    transformers, remainder, sparse_threshold, n_jobs, transformer_weights, verbose, verbose_feature_names_out
        As for ``ColumnTransformer``; the output is dense (or CSR, ``sparse``) whatever
        ``sparse_threshold`` says.
    dtype : {"float64", "float32"}
        The output's type.
    sparse : bool
        Output a CSR matrix instead of an array.
    """

    def __init__(
        self,
        transformers: list,
        *,
        remainder: Any = "drop",
        sparse_threshold: float = 0.3,
        n_jobs: int | None = None,
        transformer_weights: dict | None = None,
        verbose: bool = False,
        verbose_feature_names_out: bool = True,
        dtype: str = "float64",
        sparse: bool = False,
    ) -> None:
        super().__init__(
            transformers,
            remainder=remainder,
            sparse_threshold=sparse_threshold,
            n_jobs=n_jobs,
            transformer_weights=transformer_weights,
            verbose=verbose,
            verbose_feature_names_out=verbose_feature_names_out,
        )
        self.dtype = dtype
        self.sparse = sparse

    def fit(self, X: Any, y: Any = None, **params: Any) -> FrameTransformer:
        """Fit every transformer on its columns of ``X``; no output is built."""
        given = self.transformers
        self.transformers = [(name, _FitOnly(t) if _is_estimator(t) else t, cols) for name, t, cols in given]
        self._fitting = True
        try:
            ColumnTransformer.fit_transform(self, X, y, **params)
        finally:
            self._fitting = False
            self.transformers = given
        self.transformers_ = [
            (name, t.transformer if isinstance(t, _FitOnly) else t, cols) for name, t, cols in self.transformers_
        ]
        self.sparse_output_ = False
        return self

    def _hstack(self, Xs: list, *, n_samples: int) -> Any:
        if getattr(self, "_fitting", False):
            return np.empty((n_samples, 0))
        return super()._hstack(Xs, n_samples=n_samples)

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> Any:
        """:meth:`fit`, then :meth:`transform` (the same values as ``ColumnTransformer``'s)."""
        return self.fit(X, y, **params).transform(X)

    def transform(self, X: Any, **params: Any) -> Any:
        """The transformed rows, as one array of ``dtype`` built chunk by chunk (CSR: ``sparse``)."""
        if X.shape[0] <= TRANSFORM_CHUNK_ROWS and not self.sparse:  # one chunk: no need to copy the rows
            return np.asarray(super().transform(X, **params), dtype=self.dtype)
        return self.transform_rows(X, np.arange(X.shape[0]), **params)

    def transform_rows(self, X: pd.DataFrame | np.ndarray, rows: np.ndarray, **params: Any) -> Any:
        """``transform(X.iloc[rows])``, without copying the rows first.

        Parameters
        ----------
        X : DataFrame or array
            All rows.
        rows : array of int
            Positions of the rows to transform, in the output's order.
        """
        if self.sparse:
            parts = (sp.csr_matrix(part, dtype=self.dtype) for _, part in self.transformed_chunks(X, rows, **params))
            return stacked_csr(parts, n_rows=len(rows), dtype=self.dtype)
        out = None
        for start, part in self.transformed_chunks(X, rows, **params):
            if out is None:
                out = np.empty((len(rows), part.shape[1]), dtype=self.dtype)
            out[start : start + len(part)] = part
        return out

    def transformed_chunks(self, X: pd.DataFrame | np.ndarray, rows: np.ndarray, **params: Any) -> Iterator[tuple]:
        """``transform(X.iloc[rows])`` :data:`TRANSFORM_CHUNK_ROWS` rows at a time, each chunk as
        the transformers output it (before the conversion to ``dtype``): (first row, chunk)
        pairs, at least one (with no rows when ``rows`` is empty)."""
        take = (lambda r: X.iloc[r]) if isinstance(X, pd.DataFrame) else (lambda r: X[r])
        for start in range(0, max(len(rows), 1), TRANSFORM_CHUNK_ROWS):
            yield start, super().transform(take(rows[start : start + TRANSFORM_CHUNK_ROWS]), **params)


def stacked_csr(parts: Iterable[sp.csr_matrix], *, n_rows: int, dtype: Any) -> sp.csr_matrix:
    """The rows of CSR matrices (with the same columns) stacked into one CSR matrix, as
    ``scipy.sparse.vstack`` stacks them, holding one part at a time beside the output.

    ``vstack`` needs every part and then copies them into its output: twice the output at the
    peak. Here the parts come from an iterator and are appended to arrays that grow in place
    (``ndarray.resize``: ``realloc``, which moves the pages of a large block without copying
    them), sized from the stored values per row so far for all ``n_rows`` rows (a one-hot encoded
    row stores about as many values as the next). Measured with memray on a one-hot encoded,
    scaled fold of 533,333 rows (354 MiB as CSR): the peak of transforming it and fitting
    logistic regression on it went from 712 MiB to 662 MiB, and to 440 MiB with chunks of
    16,384 rows instead of 65,536 (:data:`TRANSFORM_CHUNK_ROWS`).

    Parameters
    ----------
    parts : iterable of csr_matrix
        At least one; each is dropped once appended.
    n_rows : int
        The rows of all parts together.
    dtype : dtype
        The values' type.
    """
    data, indices = np.empty(0, dtype=dtype), np.empty(0, dtype=np.int32)
    indptr, done, n_columns, nnz = [np.zeros(1, dtype=np.int64)], 0, None, 0
    for part in parts:
        if n_columns is None:
            n_columns = part.shape[1]
        end, done = nnz + part.nnz, done + part.shape[0]
        if end > data.size:
            capacity = max(end, int(end / done * n_rows * 1.02))
            data.resize(capacity, refcheck=False)
            indices.resize(capacity, refcheck=False)
        data[nnz:end], indices[nnz:end] = part.data, part.indices
        indptr.append(part.indptr[1:].astype(np.int64) + nnz)
        nnz = end
    data.resize(nnz, refcheck=False)
    indices.resize(nnz, refcheck=False)
    return sp.csr_matrix((data, indices, np.concatenate(indptr)), shape=(done, n_columns))


def _is_estimator(transformer: Any) -> bool:
    return not isinstance(transformer, str)  # not "drop" or "passthrough"


class _FitOnly(BaseEstimator):
    """A transformer whose ``fit_transform`` only fits it (:meth:`FrameTransformer.fit`): a
    pipeline fits its last step without transforming the rows. Its placeholder output has no
    rows and the transformer's number of output columns (from transforming one row), which
    ``ColumnTransformer`` records as ``output_indices_``."""

    def __init__(self, transformer: Any = None) -> None:
        self.transformer = transformer

    def fit(self, X: Any, y: Any = None, **params: Any) -> _FitOnly:
        self.transformer.fit(X, y, **params)
        return self

    def fit_transform(self, X: Any, y: Any = None, **params: Any) -> np.ndarray:
        self.fit(X, y, **params)
        first = X.iloc[:1] if isinstance(X, pd.DataFrame) else X[:1]
        return np.empty((0, self.transformer.transform(first).shape[1]))

    def transform(self, X: Any) -> Any:
        return self.transformer.transform(X)


class ColumnwiseImputer(SimpleImputer):
    """``SimpleImputer`` whose median strategy works one column at a time.

    scikit-learn's takes the median of a masked array of every column at once (``np.ma.median``
    sorts a copy of it and allocates sort indices and a filled copy besides): its fit allocates
    3.4 times the numeric block (tracemalloc, 100,000 rows x 40 columns, indicator included),
    this one 0.2 times. The same function on one column at a time gives the same medians. Other
    strategies are scikit-learn's.

    Its ``fit`` reads ``X`` without copying it first: scikit-learn's copies it (``copy=True``) for
    ``transform``, which fills the copy, but ``fit`` only reads it. On a numeric block of 1.92
    million rows x 42 float64 columns that copy was 0.60 GiB and two thirds of the fit's time
    (14.0 s against 4.7 s, measured); a training fold's block at 4e6 rows (2.13 million rows) is
    0.67 GiB per worker process (computed).
    """

    def fit(self, X: Any, y: Any = None) -> ColumnwiseImputer:
        """``SimpleImputer.fit``, reading ``X`` in place (the same statistics and indicator)."""
        copy, self.copy = self.copy, False
        try:
            return super().fit(X, y)
        finally:
            self.copy = copy

    def _dense_fit(self, X: np.ndarray, strategy: str, missing_values: Any, fill_value: Any) -> np.ndarray:
        if strategy != "median" or X.shape[1] == 0:
            return super()._dense_fit(X, strategy, missing_values, fill_value)
        missing_mask = _get_mask(X, missing_values)
        self._fit_indicator(missing_mask)
        masked_X = np.ma.masked_array(X, mask=missing_mask)
        median_masked = np.ma.concatenate([np.ma.median(masked_X[:, j : j + 1], axis=0) for j in range(X.shape[1])])
        median = np.ma.getdata(median_masked)
        median[np.ma.getmaskarray(median_masked)] = 0 if self.keep_empty_features else np.nan
        return median

    def transform(self, X: Any) -> Any:
        """``SimpleImputer.transform``: on float64 or integer columns whose every statistic was
        found, the imputed columns and their indicators are written one column at a time into the
        one output array; scikit-learn converts all of them to a float64 copy, fills it and stacks
        it with the indicators into a third array. The same values in the same memory layout;
        on other input, scikit-learn's."""
        if not self._fills_in_place(X):
            return super().transform(X)
        validate_data(self, X, reset=False, skip_check_array=True)  # the columns' names and count
        frame = isinstance(X, pd.DataFrame)
        n_rows, n_columns = X.shape
        indicated = self.indicator_.features_ if self.add_indicator else np.arange(0)
        # scikit-learn's output on a few rows, for its memory layout (a frame's columns become
        # Fortran-ordered): a scaler after this sums each column in an order that depends on it
        probe = super().transform(X.iloc[:3] if frame else X[:3])
        order = "F" if probe.flags.f_contiguous and not probe.flags.c_contiguous else "C"
        out = np.empty((n_rows, n_columns + len(indicated)), dtype=np.float64, order=order)
        at = dict(zip(indicated.tolist(), range(n_columns, out.shape[1])))
        for j in range(n_columns):
            column = out[:, j]
            column[:] = X.iloc[:, j].to_numpy(dtype=np.float64) if frame else X[:, j]
            assert_all_finite(column, allow_nan=True, input_name="X")
            missing = np.isnan(column)
            column[missing] = self.statistics_[j]
            if j in at:
                out[:, at[j]] = missing
        return out

    def _fills_in_place(self, X: Any) -> bool:
        """Whether :meth:`transform` can write its output directly: a dense frame of numpy float64
        or integer columns (or a float64 array), NaN as the missing value, every statistic found."""
        check_is_fitted(self)
        if isinstance(X, pd.DataFrame):
            types_ok = (
                all(isinstance(t, np.dtype) and (t == np.float64 or t.kind in "iu") for t in X.dtypes)
                and X.shape[1] > 0
            )
        else:
            types_ok = isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == np.float64
        return (
            types_ok
            and is_scalar_nan(self.missing_values)
            and self.strategy in ("mean", "median")
            and self._fill_dtype == np.float64
            and not np.isnan(self.statistics_).any()
        )


#: Columns :class:`ColumnwiseScaler` fits at a time.
SCALE_BLOCK_COLUMNS = 8


class ColumnwiseScaler(StandardScaler):
    """``StandardScaler`` whose fit works on :data:`SCALE_BLOCK_COLUMNS` columns at a time.

    scikit-learn's computes the variance from a centred copy of every column at once (and a
    missing-value mask of them all): on the imputed numeric block of a fold, as large again as
    the block. Each column's mean and variance depend on that column alone, and numpy sums a
    block of columns in the order it sums the whole array (each column pairwise when the array
    is Fortran-ordered, as an imputed frame is; row by row when it is C-ordered and the block
    has two columns or more): the same fitted values (tested bit for bit), with temporaries of
    a few columns. Measured with memray on a fold of 533,333 rows: with
    :class:`ColumnwiseImputer`'s transform, logistic regression's preprocessing fit went from
    616 MiB to 433 MiB. Sparse input, sample weights and fewer than 16 columns are fitted by
    scikit-learn's code.
    """

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> ColumnwiseScaler:
        """Fit on ``X``, a few columns at a time when it is a dense array."""
        n_columns = X.shape[1] if isinstance(X, np.ndarray) and X.ndim == 2 else 0
        if sample_weight is not None or n_columns < 2 * SCALE_BLOCK_COLUMNS:
            return super().fit(X, y, sample_weight=sample_weight)
        # the last block takes the rest (at least 5 columns: numpy sums a single column pairwise)
        starts = range(0, n_columns - SCALE_BLOCK_COLUMNS // 2, SCALE_BLOCK_COLUMNS)
        bounds = itertools.pairwise([*starts, n_columns])
        parts = [StandardScaler(**self.get_params()).fit(X[:, a:b]) for a, b in bounds]
        self._reset()
        self.n_features_in_ = n_columns
        counts = np.concatenate([np.broadcast_to(p.n_samples_seen_, p.n_features_in_) for p in parts])
        self.n_samples_seen_ = counts[0] if np.ptp(counts) == 0 else counts
        for name in ("mean_", "var_", "scale_"):
            values = [getattr(p, name) for p in parts]
            setattr(self, name, None if values[0] is None else np.concatenate(values))
        return self


def transform_rows(step: Any, X: pd.DataFrame, rows: np.ndarray) -> Any:
    """A fitted preprocessing step's output for some rows of ``X``: without copying them first
    when the step is a :class:`FrameTransformer`."""
    if isinstance(step, FrameTransformer):
        return step.transform_rows(X, rows)
    return step.transform(X.iloc[rows])


class FoldRows:
    """Some rows of a frame as a fitted dense :class:`FrameTransformer` outputs them, transformed
    only when read: for a consumer that reads every row once, chunk by chunk, and needs only a
    few of them at once (:class:`imbalance_lab.modeling.smotenc.ChunkedSMOTENC` copies the
    fold into its output as it reads it and computes with the minority rows alone). The whole
    transformed fold (0.92 GiB of float64 for a fold of 4e6 rows with the large profile) never
    exists. Anything else gets the transformed rows from ``np.asarray``.

    Parameters
    ----------
    step : FrameTransformer
        Fitted, with dense output.
    X : DataFrame or array
        All rows.
    rows : array of int
        Positions of the rows, in the output's order.

    Attributes
    ----------
    shape : (int, int)
        The transformed rows' shape.
    dtype : numpy.dtype
        Their type (the step's ``dtype``).
    """

    def __init__(self, step: FrameTransformer, X: pd.DataFrame | np.ndarray, rows: np.ndarray) -> None:
        if step.sparse:
            raise ValueError("FoldRows reads the dense output of a FrameTransformer; this one is sparse")
        self.step, self.X, self.rows = step, X, np.asarray(rows)
        self.shape = (len(self.rows), max((s.stop for s in step.output_indices_.values()), default=0))
        self.dtype = np.dtype(step.dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """The transformed rows in order, a chunk at a time: (first row, chunk of ``dtype``)."""
        for start, part in self.step.transformed_chunks(self.X, self.rows):
            yield start, np.asarray(part, dtype=self.dtype)

    def take(self, positions: np.ndarray) -> np.ndarray:
        """The transformed rows at ``positions`` (integers or a boolean mask over the rows)."""
        return self.step.transform_rows(self.X, self.rows[positions])

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:  # numpy's protocol: refuse when the array cannot be had without a copy
            raise ValueError("FoldRows are transformed when read: their array is always a new one")
        out = self.step.transform_rows(self.X, self.rows)
        return out if dtype is None else out.astype(dtype, copy=False)


class OneHotLastColumns(TransformerMixin, BaseEstimator):
    """One-hot encode the last ``n_columns`` columns of an array of ordinal codes, after a
    sampler: SMOTE-NC must see each categorical column as one column of codes. On one-hot
    columns it took a majority vote per dummy column, and synthetic rows could have no category
    (every dummy 0) or several.

    The other columns pass through first, as :func:`make_preprocessor` with one-hot encoding
    orders them; the encoder is :func:`one_hot_encoder`'s (unknown codes, such as the
    ordinal encoder's -1 for an unseen category, become all zeros).

    Parameters
    ----------
    n_columns : int
        How many trailing columns are codes.
    """

    def __init__(self, n_columns: int = 1) -> None:
        self.n_columns = n_columns

    def fit(self, X: Any, y: Any = None) -> OneHotLastColumns:
        """Fit the one-hot encoder on the trailing code columns."""
        X = np.asarray(X)
        self.encoder_ = one_hot_encoder().fit(X[:, X.shape[1] - self.n_columns :])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The leading columns as they are, then the code columns one-hot encoded."""
        X = np.asarray(X)
        split = X.shape[1] - self.n_columns
        return np.hstack([X[:, :split].astype(float), self.encoder_.transform(X[:, split:])])


def as_type(X: Any, dtype: str | None) -> Any:
    """Rows (array, sparse matrix or frame) in ``dtype``: themselves when they already are, or
    when ``dtype`` is None."""
    if dtype is None:
        return X
    if isinstance(X, pd.DataFrame):
        return X if all(t == np.dtype(dtype) for t in X.dtypes) else X.astype(dtype)
    return X.astype(dtype, copy=False)
