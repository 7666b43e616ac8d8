"""Fold fits shared between pipelines and calls: the caches behind cross-validation.

Every registered pipeline starts with a ``preprocess`` step (imputation, encoding, scaling) whose
fit depends only on its own parameters and the training rows. Pipelines with the same
preprocessing (dummy and xgboost; every imbalance strategy and the ratio sweep) reuse one fitted
step per fold instead of refitting it: on large data that fit (a masked-array median of every
numeric column, category counts) costs as much as a model. The fitted steps are small (medians,
categories) and are kept, keyed by the data, the step's parameters and the rows.

A pipeline fitted again on the same rows (``threshold_moving`` is ``none``'s model; the learning
curve's full-size point is the cross-validation's fit) is not refitted either: small fitted
models are kept too.

Text columns go to the worker processes as pandas categoricals (codes instead of one Python
string per cell: ~10x smaller and faster to send); scikit-learn turns them back into the same
object arrays, so every transformed value is the same.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import time
from collections import OrderedDict
from typing import Any

import joblib
import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from ..modeling.boosting import fit_on_matrix, training_matrix
from ..modeling.features import FoldRows, FrameTransformer, transform_rows
from ..modeling.samplers import CheckedSampler
from ..progress import progress_bar
from .parallel import on_workers

#: Fitted preprocessing steps: key -> (fitted step, measured fit seconds). Least recently used
#: entries are dropped beyond :data:`PREPROCESS_CACHE_SIZE`.
_PREPROCESS_CACHE: OrderedDict[tuple[str, str, str], tuple[Any, float]] = OrderedDict()


PREPROCESS_CACHE_SIZE = 64


def shared_preprocessing(estimator: Any) -> Any | None:
    """The unfitted ``preprocess`` step of a pipeline that starts with one, else None."""
    steps = getattr(estimator, "steps", None)
    if not steps or len(steps) < 2 or steps[0][0] != "preprocess" or not hasattr(steps[0][1], "transform"):
        return None
    return steps[0][1]


def frame_for_workers(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its text columns as pandas categoricals (same values, cheap to pickle)."""
    text = [
        c
        for c in X.columns
        if isinstance(X[c].dtype, pd.StringDtype)
        or (X[c].dtype == object and pd.api.types.infer_dtype(X[c], skipna=True) == "string")
    ]
    if not text:
        return X
    out = X.copy(deep=False)
    for c in text:
        out[c] = X[c].astype("category")
    return out


def digest(*arrays: Any) -> str:
    """A content hash of arrays (dtype, shape and values)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.view(np.uint8).tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def frame_digest(X: pd.DataFrame) -> str:
    """A content hash of a DataFrame (column names, dtypes and values)."""
    h = hashlib.sha256(repr([(str(c), str(X[c].dtype)) for c in X.columns]).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    return h.hexdigest()


def fit_preprocessing(step: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray) -> tuple[Any, float]:
    """A clone of a preprocessing step fitted on the training rows, and the measured fit seconds."""
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        fitted = clone(step).fit(X.iloc[train], y[train])
        return fitted, time.perf_counter() - t0


#: Fitted pipelines without their preprocessing (sampler, model): key -> (fitted steps, measured
#: fit seconds). A pipeline fitted again on the same rows (``threshold_moving`` is ``none``'s
#: model; the learning curve's full-size point is the cross-validation's fit) is not refitted.
#: Only fits that pickle to at most :data:`MODEL_CACHE_MAX_BYTES` are kept, at most
#: :data:`MODEL_CACHE_SIZE` of them (least recently used dropped).
_MODEL_CACHE: OrderedDict[tuple[str, str, str], tuple[Any, float]] = OrderedDict()


MODEL_CACHE_SIZE = 16


MODEL_CACHE_MAX_BYTES = 32 * 2**20


def rest_of(estimator: Any) -> Any:
    """An unfitted clone of a pipeline without its ``preprocess`` step."""
    rest = clone(estimator)
    rest.steps = rest.steps[1:]
    return rest


def fit_rest(estimator: Any, preprocess: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray) -> Any:
    """:func:`rest_of` ``estimator`` fitted on the training rows preprocessed by the fitted
    ``preprocess`` step, as imbalanced-learn's ``Pipeline.fit`` fits it (each step's
    ``fit_transform`` or ``fit_resample`` in turn, then the model's ``fit``), except that the rows a
    step has replaced are let go at once.

    ``Pipeline.fit`` keeps its input until the model is fitted: with SMOTE, the preprocessed fold
    stays in memory beside the resampled one (twice its rows) while XGBoost fits. With the large
    profile's 3 folds and 58 preprocessed columns of float64, that is 0.23 GiB per worker process
    at 1e6 rows and 0.92 GiB at 4e6. A sampler first in line reads the rows as
    :class:`~imbalance_lab.modeling.features.FoldRows`: SMOTE-NC copies them into its output as
    they are transformed, so that the whole preprocessed fold never exists. XGBoost is trained
    on the matrix it builds from its input, and the input is let go before the trees are grown
    (:mod:`~imbalance_lab.modeling.boosting`): 0.8 GiB less per worker at 4e6 rows.
    """
    rest = rest_of(estimator)
    *steps, (_, model) = rest.steps
    first = next((step for _, step in steps if step is not None and step != "passthrough"), None)
    if isinstance(first, CheckedSampler) and isinstance(preprocess, FrameTransformer) and not preprocess.sparse:
        Xt = FoldRows(preprocess, X, train)  # transformed as the sampler reads it
    else:
        Xt = transform_rows(preprocess, X, train)
    yt = y[train]
    for _, step in steps:
        if step is None or step == "passthrough":  # a step set aside with set_params, as Pipeline allows
            continue
        if hasattr(step, "transform") or hasattr(step, "fit_transform"):
            Xt = step.fit_transform(Xt, yt)
        else:
            Xt, yt = step.fit_resample(Xt, yt)
    matrix = training_matrix(model, Xt, yt)
    if matrix is None:
        model.fit(Xt, yt)
    else:  # XGBoost: the rows go once they are quantised, before the trees are grown
        del Xt
        fit_on_matrix(model, matrix, yt)
    return rest


def fit_predict_prefitted(
    estimator: Any, preprocess: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray
) -> tuple[np.ndarray, float, float, bytes | None]:
    """:func:`imbalance_lab.evaluation.cross_validation.fit_and_predict` with the ``preprocess`` step
    already fitted on the training rows: the rest of the pipeline (sampler, model) is fitted on its
    output, as ``Pipeline.fit`` does. Also returns that fitted rest, pickled, when it is small
    enough to keep."""
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        rest = fit_rest(estimator, preprocess, X, y, train)
        t1 = time.perf_counter()
        proba = rest.predict_proba(transform_rows(preprocess, X, val))[:, 1]
        t2 = time.perf_counter()
    blob = pickle.dumps(rest, protocol=pickle.HIGHEST_PROTOCOL)
    return proba, t1 - t0, t2 - t1, blob if len(blob) <= MODEL_CACHE_MAX_BYTES else None


def predict_prefitted(rest: Any, preprocess: Any, X: pd.DataFrame, val: np.ndarray) -> tuple[np.ndarray, float]:
    """Validation probabilities of a kept fitted pipeline, and the measured predict seconds."""
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        proba = rest.predict_proba(transform_rows(preprocess, X, val))[:, 1]
        return proba, time.perf_counter() - t0


#: The output options of a preprocessing step (:class:`imbalance_lab.modeling.features.FrameTransformer`):
#: steps that differ only in them fit the same values.
OUTPUT_OPTIONS = {"dtype": "float64", "sparse": False}


def _with_output(step: Any, like: Any = None) -> Any:
    """``step`` with the output options of ``like`` (default: float64, dense): itself, or a shallow
    copy (the fitted parts shared)."""
    wanted = {k: getattr(like, k, v) for k, v in OUTPUT_OPTIONS.items()}
    if all(getattr(step, k, v) == v for k, v in wanted.items()):
        return step
    other = copy.copy(step)
    for k, v in wanted.items():
        setattr(other, k, v)
    return other


class SharedFits:
    """The preprocessing and model caches for one data set (``X``, ``y``) in one call."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray) -> None:
        self.X = frame_for_workers(X)
        self.y = y
        self.data_key = frame_digest(self.X) + digest(y)

    def step_key(self, step: Any, rows: np.ndarray) -> tuple[str, str, str]:
        """The cache key of a preprocessing step fitted on ``rows`` of this data (whatever its
        output options: float32 or float64, dense or sparse, it fits the same values)."""
        return (self.data_key, joblib.hash(_with_output(step)), digest(rows))

    def model_key(self, estimator: Any, rows: np.ndarray) -> tuple[str, str, str]:
        """The cache key of a pipeline's sampler and model fitted on ``rows`` of this data."""
        return (self.data_key, "model:" + joblib.hash(estimator), digest(rows))

    def preprocess(self, wanted: list[tuple[Any, np.ndarray]], parallel: Any, desc: str) -> list[tuple[Any, float]]:
        """Fitted preprocessing steps for (unfitted step, training rows) pairs: from the cache, the
        missing ones fitted in parallel."""
        keys = [self.step_key(step, rows) for step, rows in wanted]
        missing = {k: w for k, w in zip(keys, wanted) if k not in _PREPROCESS_CACHE}
        if missing:
            X, y = on_workers(self.X), on_workers(self.y)  # on a cluster: sent to the workers once
            jobs = (delayed(fit_preprocessing)(step, X, y, rows) for step, rows in missing.values())
            fitted = list(progress_bar(parallel(jobs), total=len(missing), desc=f"{desc}: preprocessing"))
            for key, result in zip(missing, fitted):
                _PREPROCESS_CACHE[key] = result
        out = [
            (_with_output(_PREPROCESS_CACHE[k][0], like=step), _PREPROCESS_CACHE[k][1])
            for k, (step, _) in zip(keys, wanted)
        ]
        for k in keys:
            _PREPROCESS_CACHE.move_to_end(k)
        while len(_PREPROCESS_CACHE) > PREPROCESS_CACHE_SIZE:
            _PREPROCESS_CACHE.popitem(last=False)
        return out

    @staticmethod
    def model(key: tuple[str, str, str]) -> tuple[Any, float] | None:
        """The kept (fitted rest of the pipeline, fit seconds) of ``key``, or None."""
        hit = _MODEL_CACHE.get(key)
        if hit is not None:
            _MODEL_CACHE.move_to_end(key)
        return hit

    @staticmethod
    def keep_model(key: tuple[str, str, str], blob: bytes | None, fit_seconds: float) -> None:
        """Keep a fitted rest of a pipeline (pickled ``blob``; None when it was too large to keep)."""
        if blob is None:
            return
        _MODEL_CACHE[key] = (pickle.loads(blob), fit_seconds)
        while len(_MODEL_CACHE) > MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
