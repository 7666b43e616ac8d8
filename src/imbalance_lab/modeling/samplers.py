"""Samplers and estimators that carry an imbalance strategy into a pipeline.

They are module-level classes, so pipelines pickle into joblib worker processes and skops can
save them (each is in :data:`imbalance_lab.serving.artifact.ALLOWLIST`):

* :class:`CheckedSampler` wraps an imbalanced-learn sampler: a sampler that cannot run on a
  training fold (too few positives for ``k_neighbors``, an unreachable ``sampling_strategy``)
  raises a one-line :class:`~imbalance_lab.errors.StrategyError`, and SMOTE runs as SMOTE-NC when
  some columns are discrete (:func:`for_discrete_columns`, :class:`ChunkedSMOTENC`);
* :class:`CheckedBalancedRandomForestClassifier` and :class:`CheckedEasyEnsembleClassifier`: the
  balanced ensembles with the same check;
* :class:`FoldPositiveWeight`: a positive-class weight computed from each training fold.
"""

from __future__ import annotations

import itertools
import math
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import ADASYN, SMOTE, SMOTEN, SMOTENC
from imblearn.utils import check_sampling_strategy as imblearn_sampling_strategy
from imblearn.utils import check_target_type
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.sparsefuncs_fast import csr_mean_variance_axis0
from sklearn.utils.validation import check_is_fitted

from ..errors import StrategyError
from .features import FoldRows


def _neighbours_of(sampler: Any) -> int | None:
    """The number of minority neighbours a SMOTE-like sampler needs, ``None`` if it needs none."""
    if isinstance(sampler, (SMOTETomek, SMOTEENN)):
        sampler = sampler.smote
    if isinstance(sampler, ADASYN):
        value = sampler.n_neighbors
    else:
        value = getattr(sampler, "k_neighbors", None)
    return int(value) if isinstance(value, (int, np.integer)) else None


def _class_counts(y: Any) -> tuple[Any, int, Any, int]:
    """(minority label, its count, majority label, its count) of a binary target."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    if len(labels) != 2:
        return None, 0, None, 0
    i_min = int(np.argmin(counts)) if counts[0] != counts[1] else 1
    return labels[i_min], int(counts[i_min]), labels[1 - i_min], int(counts[1 - i_min])


def _rows_name(label: Any) -> str:
    return "positive" if label == 1 else f"minority-class ({label!r})"


def check_sampling_strategy(strategy: str, y: Any, *, sampling_strategy: Any, sampling_type: str) -> None:
    """Raise :class:`StrategyError` when a float ``sampling_strategy`` cannot be reached.

    Parameters
    ----------
    strategy : str
        Strategy name, for the message.
    y : array-like
        The training fold's target.
    sampling_strategy : float or str
        The requested minority/majority ratio after resampling (strings are not checked).
    sampling_type : {"over-sampling", "under-sampling"}
        Over-sampling must add at least one minority row; under-sampling must not need more
        majority rows than there are (the same arithmetic as imbalanced-learn).
    """
    if isinstance(sampling_strategy, bool) or not isinstance(sampling_strategy, Real):
        return
    r = float(sampling_strategy)
    if not 0 < r <= 1:
        raise StrategyError(
            f"strategy {strategy!r}: sampling_strategy={sampling_strategy} is not in (0, 1]; set "
            "imbalance.sampling_strategy to a minority/majority ratio in (0, 1] or to 'auto'"
        )
    label, n_min, _, n_maj = _class_counts(y)
    if label is None or n_maj == 0:
        return
    if sampling_type == "over-sampling":
        impossible = int(n_maj * r - n_min) <= 0
    elif sampling_type == "under-sampling":
        impossible = int(n_min / r) > n_maj
    else:
        return
    if impossible:
        natural = n_min / n_maj
        raise StrategyError(
            f"strategy {strategy!r}: sampling_strategy={r:g} is not above the minority/majority ratio "
            f"{natural:.4g} ({n_min}/{n_maj}) of a training fold, so there is nothing to resample; "
            f"raise imbalance.sampling_strategy above {natural:.4g} or use 'auto'"
        )


class CheckedSampler(BaseEstimator):
    """An imbalanced-learn sampler whose failures become one-line :class:`StrategyError` s.

    Before resampling, it checks that a SMOTE-like sampler has more minority rows than
    ``k_neighbors`` and that a float ``sampling_strategy`` is reachable; any ``ValueError`` or
    ``RuntimeError`` left from imbalanced-learn is re-raised as a :class:`StrategyError` naming
    the strategy.

    Nothing fitted is kept: a fitted sampler's nearest-neighbour index holds the training rows,
    which would be saved with the model.

    Parameters
    ----------
    sampler : imblearn sampler
        The wrapped sampler (cloned at each ``fit_resample``).
    strategy : str
        The strategy name used in messages.
    n_continuous : int or None
        How many leading columns of the rows to resample are continuous; the others are
        discrete (missing-value indicators, categorical codes or one-hot columns), and a plain
        SMOTE (also inside SMOTETomek or SMOTEENN) then runs as SMOTE-NC with those columns as
        categorical features (:func:`for_discrete_columns`). None: every column is continuous.
    dtype : str or None
        The type of the resampled rows, for a model that converts its input to it anyway
        (XGBoost and scikit-learn's trees read float32): the sampler computes in the input's
        type, and the model sees the same values, but the resampled fold (twice the training
        fold with SMOTE) takes half the memory. A SMOTE-NC on its own writes this type directly
        (:class:`ChunkedSMOTENC`); other samplers' output is converted. None: the sampler's
        own output.

    The rows to resample may be an array or :class:`~imbalance_lab.modeling.features.FoldRows`
    (a fold transformed as it is read: a SMOTE-NC then copies it into its output without the
    whole transformed fold in memory; other samplers get the array).
    """

    def __init__(
        self, sampler: Any = None, *, strategy: str = "", n_continuous: int | None = None, dtype: str | None = None
    ) -> None:
        self.sampler = sampler
        self.strategy = strategy
        self.n_continuous = n_continuous
        self.dtype = dtype

    def _check(self, y: Any) -> None:
        name = self.strategy or type(self.sampler).__name__
        label, n_min, _, _ = _class_counts(y)
        if label is None or n_min == 0:
            raise StrategyError(
                f"strategy {name!r}: a training fold holds only one class; resampling needs both "
                "classes in every fold: lower prepare.n_splits or add positive rows"
            )
        k = _neighbours_of(self.sampler)
        if k is not None and n_min <= k:
            raise StrategyError(
                f"strategy {name!r}: k_neighbors={k} needs at least {k + 1} {_rows_name(label)} rows in "
                f"each training fold, found {n_min}; lower imbalance.k_neighbors or use random_over"
            )
        inner = self.sampler.smote if isinstance(self.sampler, (SMOTETomek, SMOTEENN)) else self.sampler
        check_sampling_strategy(
            name,
            y,
            sampling_strategy=getattr(inner, "sampling_strategy", "auto"),
            sampling_type=getattr(inner, "_sampling_type", ""),
        )

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Validate, then resample ``X, y`` with a clone of the sampler.

        Returns
        -------
        (X_resampled, y_resampled)
        """
        self._check(y)
        name = self.strategy or type(self.sampler).__name__
        sampler = clone(self.sampler)
        n_features = np.shape(X)[1]
        if self.n_continuous is not None and n_features > self.n_continuous:
            sampler = for_discrete_columns(sampler, list(range(self.n_continuous, n_features)))
        if self.dtype is not None and isinstance(sampler, ChunkedSMOTENC):
            sampler.set_params(out_dtype=self.dtype)
        if isinstance(X, FoldRows) and not isinstance(sampler, ChunkedSMOTENC):  # only it reads them as they come
            X = np.asarray(X)
        try:  # the fitted sampler is not kept (see the class docstring)
            X_res, y_res = sampler.fit_resample(X, y, **params)
        except (ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if "ratio" in first or "sampling_strategy" in first:
                fix = "change imbalance.sampling_strategy (e.g. 'auto')"
            else:
                fix = "change imbalance.k_neighbors or imbalance.sampling_strategy, or use random_over"
            raise StrategyError(f"strategy {name!r}: the sampler failed on a training fold ({first}); {fix}") from None
        return as_type(X_res, self.dtype), y_res

    def fit(self, X: Any, y: Any, **params: Any) -> CheckedSampler:
        """Resample once (for API completeness); returns ``self``."""
        self.fit_resample(X, y, **params)
        return self


def resampled_rows(sampler: Any, *, n_minority: int, n_majority: int) -> int:
    """How many rows a sampler turns a binary fold into, as its ``sampling_strategy`` asks: an
    estimate of what the model after it is fitted on (for the order of the fold fits).

    Over-samplers add minority rows, under-samplers keep fewer majority rows, with
    imbalanced-learn's arithmetic; a SMOTE + cleaning combination counts as its SMOTE (the
    cleaning removes a few rows). Other samplers, and strategies other than a float or a string,
    keep the fold's rows.

    Parameters
    ----------
    sampler : CheckedSampler or imblearn sampler
    n_minority, n_majority : int
        The fold's rows of each class.
    """
    inner = sampler.sampler if isinstance(sampler, CheckedSampler) else sampler
    if isinstance(inner, (SMOTETomek, SMOTEENN)):
        inner = inner.smote
    strategy, kind = getattr(inner, "sampling_strategy", None), getattr(inner, "_sampling_type", "")
    n_rows = n_minority + n_majority
    if isinstance(strategy, bool) or not isinstance(strategy, (str, Real)) or n_minority == 0:
        return n_rows
    if kind == "over-sampling":
        target = n_majority if isinstance(strategy, str) else int(n_majority * float(strategy))
        return n_rows + max(target - n_minority, 0)
    if kind == "under-sampling":
        kept = n_minority if isinstance(strategy, str) else int(n_minority / float(strategy))
        return n_minority + min(kept, n_majority)
    return n_rows


def as_type(X: Any, dtype: str | None) -> Any:
    """Rows (array, sparse matrix or frame) in ``dtype``: themselves when they already are, or
    when ``dtype`` is None."""
    if dtype is None:
        return X
    if isinstance(X, pd.DataFrame):
        return X if all(t == np.dtype(dtype) for t in X.dtypes) else X.astype(dtype)
    return X.astype(dtype, copy=False)


def for_discrete_columns(sampler: Any, discrete: list[int]) -> Any:
    """The sampler with its plain SMOTE (itself, or the ``smote`` of a SMOTETomek or SMOTEENN)
    replaced by SMOTE-NC treating the ``discrete`` columns as categorical, with the same
    ``sampling_strategy``, ``k_neighbors`` and ``random_state``; by SMOTE-N when every column
    is discrete. Other samplers are returned as they are.

    Parameters
    ----------
    sampler : imblearn sampler
        Unfitted; changed in place when it holds a SMOTE.
    discrete : list of int
        Indices of the discrete columns (not empty).
    """

    def replace(smote: Any) -> Any:
        if type(smote) is not SMOTE:
            return smote
        options = {
            "sampling_strategy": smote.sampling_strategy,
            "random_state": smote.random_state,
            "k_neighbors": smote.k_neighbors,
        }
        if discrete[0] == 0:
            return SMOTEN(**options)
        return ChunkedSMOTENC(categorical_features=discrete, **options)

    if isinstance(sampler, (SMOTETomek, SMOTEENN)):
        return sampler.set_params(smote=replace(sampler.smote))
    return replace(sampler)


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


class CheckedBalancedRandomForestClassifier(BalancedRandomForestClassifier):
    """:class:`~imblearn.ensemble.BalancedRandomForestClassifier` with a one-line error for an
    unreachable float ``sampling_strategy`` (it under-samples the majority class per tree)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CheckedBalancedRandomForestClassifier:
        """Check ``sampling_strategy`` against ``y``, then fit the forest."""
        check_sampling_strategy(
            "balanced_random_forest", y, sampling_strategy=self.sampling_strategy, sampling_type="under-sampling"
        )
        return super().fit(X, y, sample_weight=sample_weight)


class CheckedEasyEnsembleClassifier(EasyEnsembleClassifier):
    """:class:`~imblearn.ensemble.EasyEnsembleClassifier` with a one-line error for an
    unreachable float ``sampling_strategy`` (it under-samples the majority class per member)."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> CheckedEasyEnsembleClassifier:
        """Check ``sampling_strategy`` against ``y``, then fit the ensemble."""
        check_sampling_strategy(
            "easy_ensemble", y, sampling_strategy=self.sampling_strategy, sampling_type="under-sampling"
        )
        return super().fit(X, y, **fit_params)


class FoldPositiveWeight(ClassifierMixin, BaseEstimator):
    """Set an estimator's positive-class weight from the labels it is fitted on.

    For estimators such as xgboost whose weight is a number (``scale_pos_weight``) rather
    than ``"balanced"``: at each ``fit`` the weight is ``n_negative / n_positive`` of the ``y``
    passed, i.e. of the training fold, never of the whole data.

    Parameters
    ----------
    estimator : classifier
        The unfitted estimator (cloned at fit).
    param : str
        Its weight parameter.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone, with ``param`` set.
    weight_ : float
        The weight used.
    classes_ : ndarray
        The classes seen at fit.
    """

    def __init__(self, estimator: Any = None, *, param: str = "scale_pos_weight") -> None:
        self.estimator = estimator
        self.param = param

    def fit(self, X: Any, y: Any, **fit_params: Any) -> FoldPositiveWeight:
        """Compute the weight from ``y`` and fit a clone of the estimator."""
        y_arr = np.asarray(y)
        n_pos = int(np.sum(y_arr == 1))
        n_neg = int(len(y_arr) - n_pos)
        if n_pos == 0:
            raise StrategyError(
                "strategy 'class_weight': a training fold has no positive rows, so the positive weight "
                "is undefined; lower prepare.n_splits or add positive rows"
            )
        self.weight_ = n_neg / n_pos
        self.estimator_ = clone(self.estimator).set_params(**{self.param: self.weight_})
        self.estimator_.fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", np.shape(X)[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the fitted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """Class predictions of the fitted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    @property
    def feature_importances_(self) -> np.ndarray:
        """The fitted estimator's feature importances."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_
