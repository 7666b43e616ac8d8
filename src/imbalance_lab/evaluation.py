"""Cross-validation on the stored folds, imbalance-aware metrics, thresholds and paired tests.

The decision threshold used for the threshold metrics of a validation fold is chosen on the
out-of-fold predictions of the *other* folds of the same repeat (cross-fitted), so no fold is
scored at a threshold tuned on its own labels.

Confidence intervals and paired comparisons use the corrected resampled t statistic of
Nadeau and Bengio (2003): the variance of the J = n_splits x n_repeats fold scores is inflated
by ``1/J + n_test/n_train`` because the training sets overlap.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import joblib
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .data import iter_splits
from .errors import ThresholdError
from .params import LOWER_IS_BETTER

log = logging.getLogger(__name__)

#: Threshold-free metrics a learning curve can show, with their scikit-learn scorer names.
CURVE_METRICS = {"average_precision": "average_precision", "roc_auc": "roc_auc", "brier": "neg_brier_score",
                 "log_loss": "neg_log_loss"}
EPS = 1e-15


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def _cumulative_counts(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Thresholds (distinct scores, descending) and TP / FP when predicting ``score >= t``."""
    order = np.argsort(-y_score, kind="mergesort")
    s, y = y_score[order], y_true[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return s[last], tp.astype(float), fp.astype(float), int(y.sum()), int(len(y) - y.sum())


def choose_threshold(
    y_true: Sequence[int],
    y_score: Sequence[float],
    *,
    objective: str = "f1",
    cost_fp: float = 1.0,
    cost_fn: float = 1.0,
    target: float | None = None,
) -> float:
    """Choose a decision threshold (predict positive when ``score >= threshold``).

    Parameters
    ----------
    y_true, y_score : array-like
        Labels (0/1) and scores, typically out-of-fold.
    objective : {"f1", "cost", "recall", "precision"}
        ``f1``: maximise F1. ``cost``: minimise ``cost_fp * FP + cost_fn * FN``. ``recall``:
        the highest threshold whose recall reaches ``target``. ``precision``: the lowest
        threshold whose precision reaches ``target`` (most recall at that precision).
    cost_fp, cost_fn : float
        Costs of a false positive and a false negative (objective "cost").
    target : float, optional
        The recall or precision to reach.

    Returns
    -------
    float
        The chosen threshold. Ties go to the higher threshold.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    thresholds, tp, fp, pos, neg = _cumulative_counts(y_true, y_score)
    fn = pos - tp
    if objective == "f1":
        values = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
        return float(thresholds[int(np.argmax(values))])
    if objective == "cost":
        cost = cost_fp * fp + cost_fn * fn
        # predicting no positive at all is also a candidate: cost_fn * pos; it is the highest
        # threshold, so it wins ties
        best = int(np.argmin(cost))
        if cost_fn * pos <= cost[best]:
            return float(np.nextafter(thresholds[0], np.inf))
        return float(thresholds[best])
    if target is None or not 0 < target <= 1:
        raise ValueError(f"objective {objective!r} needs a target in (0, 1], got {target!r}")
    if objective == "recall":
        if pos == 0:
            raise ValueError("no positives: a recall target cannot be reached")
        reached = np.flatnonzero(tp / max(pos, 1) >= target - 1e-12)
        return float(thresholds[reached[0]])
    if objective == "precision":
        precision = tp / (tp + fp)
        reached = np.flatnonzero(precision >= target - 1e-12)
        if reached.size == 0:
            raise ThresholdError(f"no threshold reaches precision {target} on the out-of-fold predictions (the highest "
                                 f"is {np.nanmax(precision):.4g}); lower evaluate.target or use another "
                                 "evaluate.threshold_objective")
        return float(thresholds[reached[-1]])
    raise ValueError(f"unknown threshold objective {objective!r}")


def _top_rows(n: int, k: float) -> int:
    """The number of rows in the top ``k`` (a fraction of ``n`` below 1, a count from 1), at
    least one and at most ``n``."""
    return min(max(int(round(k * n)) if k < 1 else int(k), 1), n)


def _positives_in_top(y_true: np.ndarray, y_score: np.ndarray, n_top: int) -> float:
    """Positives among the ``n_top`` highest scores. Rows tied with the last one taken share its
    remaining places: each counts in proportion (the mean over every order of the tied rows),
    so the result does not depend on row order."""
    order = np.argsort(-y_score, kind="mergesort")
    cut = y_score[order[n_top - 1]]
    above = y_score > cut
    tied = y_score == cut
    places = n_top - int(above.sum())
    return float(y_true[above].sum() + places * y_true[tied].sum() / tied.sum())


def capture_at_k(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> float:
    """Share of all positives found among the top ``k`` scored rows.

    ``k`` below 1 is a fraction of the rows, ``k`` of 1 or more a count. Rows tied at the cut
    share the places left (see :func:`top_k`): a constant score captures ``k`` of the
    positives, not the share that happens to come first in the file.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    positives = y_true.sum()
    if not positives:
        return float("nan")
    return _positives_in_top(y_true, y_score, _top_rows(len(y_true), k)) / float(positives)


def threshold_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Precision, recall, F1, balanced accuracy, MCC and geometric mean of 0/1 predictions."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    tp = float(np.sum((y_pred == 1) & (y_true == 1)))
    fp = float(np.sum((y_pred == 1) & (y_true == 0)))
    fn = float(np.sum((y_pred == 0) & (y_true == 1)))
    tn = float(np.sum((y_pred == 0) & (y_true == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / denom if denom else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "balanced_accuracy": (recall + specificity) / 2,
        "mcc": float(mcc),
        "geometric_mean": float(np.sqrt(recall * specificity)),
    }


#: Metrics of the scores themselves, without a threshold (what ``tune.metric`` may be).
SCORE_METRICS = ("average_precision", "roc_auc", "brier", "log_loss")


def _score_metric(y_true: np.ndarray, y_score: np.ndarray, metric: str) -> float:
    """One of :data:`SCORE_METRICS` of 0/1 labels and scores clipped to [0, 1]; the ranking
    metrics are NaN when the labels hold one class only."""
    if metric in ("average_precision", "roc_auc") and len(np.unique(y_true)) < 2:
        return float("nan")
    if metric == "average_precision":
        return float(average_precision_score(y_true, y_score))
    if metric == "roc_auc":
        return float(roc_auc_score(y_true, y_score))
    if metric == "brier":
        return float(brier_score_loss(y_true, y_score))
    if metric == "log_loss":
        return float(log_loss(y_true, np.clip(y_score, EPS, 1 - EPS), labels=[0, 1]))
    raise ValueError(f"unknown score metric {metric!r}; use one of {', '.join(SCORE_METRICS)}")


def score_metric(y_true: Sequence[int], y_score: Sequence[float], *, metric: str) -> float:
    """One of :data:`SCORE_METRICS` of a set of predictions, the same value as
    :func:`score_predictions` gives for it, without computing the others (a tune trial needs
    one metric per fold)."""
    return _score_metric(np.asarray(y_true).astype(int), np.clip(np.asarray(y_score, dtype=float), 0.0, 1.0), metric)


def score_predictions(
    y_true: Sequence[int], y_score: Sequence[float], *, threshold: float, top_k_fraction: float | None = None
) -> dict[str, float]:
    """All metrics of one set of predictions.

    Parameters
    ----------
    threshold : float
        Predictions with ``score >= threshold`` are positive.
    top_k_fraction : float, optional
        The k of ``capture_at_k``, a fraction of rows; without it, ``capture_at_k`` is left out.

    Returns
    -------
    dict
        ``average_precision``, ``roc_auc``, ``brier``, ``log_loss``, ``capture_at_k`` (share
        of positives in the top ``top_k_fraction`` of scores, with ``top_k_fraction``),
        ``threshold`` and the threshold metrics of :func:`threshold_metrics` at
        ``score >= threshold``.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.clip(np.asarray(y_score, dtype=float), 0.0, 1.0)
    out = {metric: _score_metric(y_true, y_score, metric) for metric in SCORE_METRICS}
    if top_k_fraction is not None:
        out["capture_at_k"] = capture_at_k(y_true, y_score, k=top_k_fraction)
    out["threshold"] = float(threshold)
    out.update(threshold_metrics(y_true, (y_score >= threshold).astype(int)))
    return out


# --------------------------------------------------------------------------------------------
# Cross-validation
# --------------------------------------------------------------------------------------------


@dataclass
class CVResult:
    """What :func:`cross_validate` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (repeat, fold): every metric. Deterministic for given params and seed.
    oof : DataFrame
        Out-of-fold scores: columns ``row``, ``repeat``, ``fold``, ``y_true``, ``y_score``.
    timings : DataFrame
        Measured durations per (repeat, fold): ``fit_seconds``, ``predict_seconds``.
    """

    scores: pd.DataFrame
    oof: pd.DataFrame
    timings: pd.DataFrame


def _fit_predict(estimator: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, float, float]:
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        model = clone(estimator).fit(X.iloc[train], y[train])
        t1 = time.perf_counter()
        proba = model.predict_proba(X.iloc[val])[:, 1]
        t2 = time.perf_counter()
    return proba, t1 - t0, t2 - t1


# --- Shared preprocessing ---------------------------------------------------------------------
#
# Every registered pipeline starts with a "preprocess" step (imputation, encoding, scaling) whose
# fit depends only on its own parameters and the training rows. Pipelines with the same
# preprocessing (dummy and xgboost; every imbalance strategy and the ratio sweep) reuse one
# fitted step per fold instead of refitting it: on large data that fit (a masked-array median of
# every numeric column, category counts) costs as much as a model. The fitted steps are small
# (medians, categories) and are kept, keyed by the data, the step's parameters and the rows.
# Text columns go to the worker processes as pandas categoricals (codes instead of one Python
# string per cell: ~10x smaller and faster to send); scikit-learn turns them back into the same
# object arrays, so every transformed value is the same.

#: Fitted preprocessing steps: key -> (fitted step, measured fit seconds). Least recently used
#: entries are dropped beyond :data:`PREPROCESS_CACHE_SIZE`.
_PREPROCESS_CACHE: "OrderedDict[tuple[str, str, str], tuple[Any, float]]" = OrderedDict()
PREPROCESS_CACHE_SIZE = 64


def _shared_preprocessing(estimator: Any) -> Any | None:
    """The unfitted ``preprocess`` step of a pipeline that starts with one, else None."""
    steps = getattr(estimator, "steps", None)
    if not steps or len(steps) < 2 or steps[0][0] != "preprocess" or not hasattr(steps[0][1], "transform"):
        return None
    return steps[0][1]


def _frame_for_workers(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with its text columns as pandas categoricals (same values, cheap to pickle)."""
    text = [c for c in X.columns if isinstance(X[c].dtype, pd.StringDtype)
            or (X[c].dtype == object and pd.api.types.infer_dtype(X[c], skipna=True) == "string")]
    if not text:
        return X
    out = X.copy(deep=False)
    for c in text:
        out[c] = X[c].astype("category")
    return out


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.view(np.uint8).tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def _frame_digest(X: pd.DataFrame) -> str:
    h = hashlib.sha256(repr([(str(c), str(X[c].dtype)) for c in X.columns]).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _fit_preprocessing(step: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray) -> tuple[Any, float]:
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        fitted = clone(step).fit(X.iloc[train], y[train])
        return fitted, time.perf_counter() - t0


#: Fitted pipelines without their preprocessing (sampler, model): key -> (fitted steps, measured
#: fit seconds). A pipeline fitted again on the same rows (``threshold_moving`` is ``none``'s
#: model; the learning curve's full-size point is the cross-validation's fit) is not refitted.
#: Only fits that pickle to at most :data:`MODEL_CACHE_MAX_BYTES` are kept, at most
#: :data:`MODEL_CACHE_SIZE` of them (least recently used dropped).
_MODEL_CACHE: "OrderedDict[tuple[str, str, str], tuple[Any, float]]" = OrderedDict()
MODEL_CACHE_SIZE = 16
MODEL_CACHE_MAX_BYTES = 32 * 2**20


def _rest_of(estimator: Any) -> Any:
    rest = clone(estimator)
    rest.steps = rest.steps[1:]
    return rest


def _fit_predict_prefitted(estimator: Any, preprocess: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray,
                           val: np.ndarray) -> tuple[np.ndarray, float, float, bytes | None]:
    """:func:`_fit_predict` with the ``preprocess`` step already fitted on the training rows:
    the rest of the pipeline (sampler, model) is fitted on its output, as ``Pipeline.fit`` does.
    Also returns that fitted rest, pickled, when it is small enough to keep."""
    import pickle

    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        rest = _rest_of(estimator).fit(preprocess.transform(X.iloc[train]), y[train])
        t1 = time.perf_counter()
        proba = rest.predict_proba(preprocess.transform(X.iloc[val]))[:, 1]
        t2 = time.perf_counter()
    blob = pickle.dumps(rest, protocol=pickle.HIGHEST_PROTOCOL)
    return proba, t1 - t0, t2 - t1, blob if len(blob) <= MODEL_CACHE_MAX_BYTES else None


def _predict_prefitted(rest: Any, preprocess: Any, X: pd.DataFrame, val: np.ndarray) -> tuple[np.ndarray, float]:
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        proba = rest.predict_proba(preprocess.transform(X.iloc[val]))[:, 1]
        return proba, time.perf_counter() - t0


class _Shared:
    """The preprocessing and model caches for one data set (``X``, ``y``) in one call."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray) -> None:
        self.X = _frame_for_workers(X)
        self.y = y
        self.data_key = _frame_digest(self.X) + _digest(y)

    def step_key(self, step: Any, rows: np.ndarray) -> tuple[str, str, str]:
        return (self.data_key, joblib.hash(step), _digest(rows))

    def model_key(self, estimator: Any, rows: np.ndarray) -> tuple[str, str, str]:
        return (self.data_key, "model:" + joblib.hash(estimator), _digest(rows))

    def preprocess(self, wanted: list[tuple[Any, np.ndarray]], parallel: Any, desc: str) -> list[tuple[Any, float]]:
        """Fitted preprocessing steps for (unfitted step, training rows) pairs: from the cache, the
        missing ones fitted in parallel."""
        keys = [self.step_key(step, rows) for step, rows in wanted]
        missing = {k: w for k, w in zip(keys, wanted) if k not in _PREPROCESS_CACHE}
        if missing:
            jobs = (delayed(_fit_preprocessing)(step, self.X, self.y, rows) for step, rows in missing.values())
            fitted = list(tqdm(parallel(jobs), total=len(missing), desc=f"{desc}: preprocessing", leave=False, mininterval=1.0))
            for key, result in zip(missing, fitted):
                _PREPROCESS_CACHE[key] = result
        out = [_PREPROCESS_CACHE[k] for k in keys]
        for k in keys:
            _PREPROCESS_CACHE.move_to_end(k)
        while len(_PREPROCESS_CACHE) > PREPROCESS_CACHE_SIZE:
            _PREPROCESS_CACHE.popitem(last=False)
        return out

    @staticmethod
    def model(key: tuple[str, str, str]) -> tuple[Any, float] | None:
        hit = _MODEL_CACHE.get(key)
        if hit is not None:
            _MODEL_CACHE.move_to_end(key)
        return hit

    @staticmethod
    def keep_model(key: tuple[str, str, str], blob: bytes | None, fit_seconds: float) -> None:
        import pickle

        if blob is None:
            return
        _MODEL_CACHE[key] = (pickle.loads(blob), fit_seconds)
        while len(_MODEL_CACHE) > MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)


def _run_folds(pipelines: Sequence[tuple[str, Any]], X: pd.DataFrame, y: np.ndarray, splits: list, *, n_jobs: int,
               fit_predict: Callable[..., tuple[np.ndarray, float, float]], desc: str) -> list[list[tuple[np.ndarray, float, float]]]:
    """Fit and predict every pipeline on every split, all in one pool of ``n_jobs`` processes
    (no core idles between pipelines). Returns, per pipeline, the results in split order."""
    order = [(i, j) for i in range(len(pipelines)) for j in range(len(splits))]
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    steps = [_shared_preprocessing(est) if fit_predict is _fit_predict else None for _, est in pipelines]
    if all(step is None for step in steps):
        jobs = (delayed(fit_predict)(pipelines[i][1], X, y, splits[j][2], splits[j][3]) for i, j in order)
        results = list(tqdm(parallel(jobs), total=len(order), desc=desc, leave=False, mininterval=1.0))
        out: list[list[tuple[np.ndarray, float, float]]] = [[] for _ in pipelines]
        for (i, _), result in zip(order, results):
            out[i].append(result)
        return out

    shared = _Shared(X, y)
    wanted = [(i, j) for i, j in order if steps[i] is not None]
    prefitted = dict(zip(wanted, shared.preprocess([(steps[i], splits[j][2]) for i, j in wanted], parallel, desc)))
    model_keys = {(i, j): shared.model_key(pipelines[i][1], splits[j][2]) for i, j in wanted}

    def job(i: int, j: int) -> Any:
        _, est = pipelines[i]
        _, _, train, val = splits[j]
        if steps[i] is None:
            return delayed(fit_predict)(est, X, y, train, val)
        cached = shared.model(model_keys[i, j])
        if cached is not None:
            reused[i, j] = cached  # kept here: the cache may drop it before the result comes back
            return delayed(_predict_prefitted)(cached[0], prefitted[i, j][0], shared.X, val)
        return delayed(_fit_predict_prefitted)(est, prefitted[i, j][0], shared.X, y, train, val)

    reused: dict[tuple[int, int], tuple[Any, float]] = {}
    # the first of several equal pipelines (same fit on the same rows) runs; the others wait for it
    first: dict[tuple[str, str, str], tuple[int, int]] = {}
    now, later = [], []
    for i, j in order:
        key = model_keys.get((i, j))
        if key is not None and shared.model(key) is None and first.setdefault(key, (i, j)) != (i, j):
            later.append((i, j))
        else:
            now.append((i, j))
    results: dict[tuple[int, int], tuple[np.ndarray, float, float]] = {}
    for batch in (now, later):
        if not batch:
            continue
        for (i, j), res in zip(batch, tqdm(parallel(job(i, j) for i, j in batch), total=len(batch), desc=desc,
                                           leave=False, mininterval=1.0)):
            if steps[i] is None:
                results[i, j] = res
            elif len(res) == 2:  # predicted with a kept model: its fit is the measured one
                fit_s = reused[i, j][1]
                results[i, j] = (res[0], fit_s, res[1])
            else:
                proba, fit_s, pred_s, blob = res
                fit_s += prefitted[i, j][1]  # the preprocessing's fit belongs to every pipeline using it
                shared.keep_model(model_keys[i, j], blob, fit_s)
                results[i, j] = (proba, fit_s, pred_s)
    out = [[] for _ in pipelines]
    for i, j in order:
        out[i].append(results[i, j])
    return out


def _assemble(splits: list, results: list[tuple[np.ndarray, float, float]], y: np.ndarray, *,
              threshold_objective: str, top_k_fraction: float) -> CVResult:
    oof_rows, timing_rows = [], []
    for (r, k, _, val), (proba, fit_s, pred_s) in zip(splits, results):
        oof_rows.append(pd.DataFrame({"row": val, "repeat": r, "fold": k, "y_true": y[val], "y_score": proba}))
        timing_rows.append({"repeat": r, "fold": k, "fit_seconds": fit_s, "predict_seconds": pred_s})
    oof = pd.concat(oof_rows, ignore_index=True)

    score_rows = []
    for (r, k, _, _) in splits:
        same_repeat = oof["repeat"] == r
        others = oof[same_repeat & (oof["fold"] != k)]
        mine = oof[same_repeat & (oof["fold"] == k)]
        threshold = choose_threshold(others["y_true"], others["y_score"], objective=threshold_objective)
        metrics = score_predictions(mine["y_true"], mine["y_score"], threshold=threshold, top_k_fraction=top_k_fraction)
        score_rows.append({"repeat": r, "fold": k, **metrics})
    return CVResult(scores=pd.DataFrame(score_rows), oof=oof, timings=pd.DataFrame(timing_rows))


def cross_validate(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    threshold_objective: str = "f1",
    top_k_fraction: float = 0.1,
    n_jobs: int = 1,
    desc: str | None = None,
    fit_predict: Callable[..., tuple[np.ndarray, float, float]] = _fit_predict,
) -> CVResult:
    """Fit and score an estimator on every stored fold.

    Parameters
    ----------
    estimator : estimator
        Unfitted (imblearn or sklearn) pipeline; cloned for each fold, so preprocessing and
        resampling are fitted on the training part only.
    X, y : DataFrame, array
        Training rows, aligned with ``folds``.
    folds : DataFrame
        The fold assignment from :func:`imbalance_lab.data.make_folds`.
    threshold_objective : str
        Objective of :func:`choose_threshold`, applied to the other folds' predictions.
    top_k_fraction : float
        The k of ``capture_at_k``.
    n_jobs : int
        Folds fitted in parallel (processes); each fit runs with one BLAS/OpenMP thread.
    desc : str, optional
        Label of the progress bar.
    fit_predict : callable
        ``fit_predict(estimator, X, y, train, val) -> (proba, fit_seconds, predict_seconds)``;
        replaceable for special fitting (early stopping, pruning). With the default, a pipeline's
        ``preprocess`` step fitted on the same rows by an earlier call is reused (same values).
    """
    splits = list(iter_splits(folds))
    results = _run_folds([("model", estimator)], X, y, splits, n_jobs=n_jobs, fit_predict=fit_predict,
                         desc=desc or "folds")[0]
    return _assemble(splits, results, y, threshold_objective=threshold_objective, top_k_fraction=top_k_fraction)


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def fold_size_ratio(folds: pd.DataFrame) -> float:
    """``n_test / n_train`` of one fold of the assignment (for the corrected variance)."""
    n_splits = int(folds.iloc[:, 0].max()) + 1
    return 1.0 / (n_splits - 1)


def corrected_ci(values: Sequence[float], *, ratio: float, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Mean, sd and corrected t confidence interval of fold scores.

    Parameters
    ----------
    values : array-like
        The J fold scores.
    ratio : float
        ``n_test / n_train`` (see :func:`fold_size_ratio`).
    confidence : float
        Confidence level.

    Returns
    -------
    (mean, sd, low, high)
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    j = len(v)
    mean = float(v.mean()) if j else float("nan")
    if j < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(v.std(ddof=1))
    half = stats.t.ppf(0.5 + confidence / 2, j - 1) * np.sqrt((1.0 / j + ratio) * sd**2)
    return mean, sd, float(mean - half), float(mean + half)


def corrected_ttest(a: Sequence[float], b: Sequence[float], *, ratio: float) -> tuple[float, float]:
    """Corrected resampled paired t-test (Nadeau and Bengio, 2003) of ``a - b``.

    Parameters
    ----------
    a, b : array-like
        Paired fold scores (same folds, same order).
    ratio : float
        ``n_test / n_train``.

    Returns
    -------
    (t, p)
        The statistic and the two-sided p-value with J - 1 degrees of freedom.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    j = len(d)
    if j < 2:
        raise ValueError("the corrected t-test needs at least two paired scores")
    mean, var = d.mean(), d.var(ddof=1)
    if var == 0:
        return (0.0, 1.0) if mean == 0 else (float(np.sign(mean) * np.inf), 0.0)
    t = mean / np.sqrt((1.0 / j + ratio) * var)
    p = 2 * stats.t.sf(abs(t), j - 1)
    return float(t), float(p)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values (family-wise error control).

    Returns
    -------
    ndarray
        Adjusted p-values in the input order.
    """
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def summarize(scores: pd.DataFrame, *, metrics: Sequence[str], ratio: float, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd and corrected CI of each metric, per model.

    Parameters
    ----------
    scores : DataFrame
        Fold scores with a ``model`` column (or any grouping column named ``model``).
    metrics : list of str
        Metric columns to summarise.

    Returns
    -------
    DataFrame
        Index ``model``; columns ``<metric>_mean``, ``_sd``, ``_ci_low``, ``_ci_high``.
    """
    rows = []
    for model, group in scores.groupby("model", sort=False):
        row: dict[str, Any] = {"model": model}
        for m in metrics:
            mean, sd, lo, hi = corrected_ci(group[m], ratio=ratio, confidence=confidence)
            row.update({f"{m}_mean": mean, f"{m}_sd": sd, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def compare_with(
    scores: pd.DataFrame, *, reference: str, metric: str, ratio: float, alpha: float = 0.05
) -> pd.DataFrame:
    """Compare every model with a reference model on paired fold scores.

    Returns
    -------
    DataFrame
        Index ``model``: ``difference`` (model minus reference, in the metric's direction
        "higher is better" after sign flip for losses), ``t``, ``p_value``, ``p_holm`` and
        ``verdict`` ("better", "worse" or "indistinguishable" at ``alpha`` after Holm).
    """
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ref = scores[scores["model"] == reference].sort_values(["repeat", "fold"])[metric].to_numpy()
    rows = []
    for model, group in scores.groupby("model", sort=False):
        if model == reference:
            continue
        mine = group.sort_values(["repeat", "fold"])[metric].to_numpy()
        t, p = corrected_ttest(sign * mine, sign * ref, ratio=ratio)
        rows.append({"model": model, "difference": float(sign * (mine - ref).mean()), "t": t, "p_value": p})
    table = pd.DataFrame(rows, columns=["model", "difference", "t", "p_value"])
    table["p_holm"] = holm(table["p_value"]) if len(table) else []
    table["verdict"] = np.where(
        table["p_holm"] >= alpha, "indistinguishable", np.where(table["difference"] > 0, "better", "worse")
    )
    return table.set_index("model")


def best_model(summary: pd.DataFrame, *, metric: str) -> str:
    """The model with the best mean of ``metric`` (ties: first in order)."""
    col = summary[f"{metric}_mean"]
    return str(col.idxmin() if metric in LOWER_IS_BETTER else col.idxmax())


# --------------------------------------------------------------------------------------------
# Several models
# --------------------------------------------------------------------------------------------


#: The metrics of the best model that ``metrics/cross_validate.json`` always holds (the columns
#: of ``dvc exp show``), with average precision's corrected interval.
HEADLINE_METRICS = ("average_precision", "roc_auc", "brier", "f1", "capture_at_k")


def headline(summary: pd.DataFrame, *, best: str, selection_metric: str) -> dict[str, Any]:
    """The cross-validation headline: the best model, the metric it was chosen by, its mean
    :data:`HEADLINE_METRICS`, average precision's corrected CI, and the selection metric's mean
    and CI when it is another metric (so the file always holds the number the choice was made by).

    Parameters
    ----------
    summary : DataFrame
        :func:`summarize` output, indexed by model, with ``{metric}_mean/_ci_low/_ci_high``.
    best : str
        The chosen model (a row of ``summary``).
    selection_metric : str
        The metric it was chosen by.
    """
    out: dict[str, Any] = {"best_model": best, "selection_metric": selection_metric}
    for metric in dict.fromkeys((*HEADLINE_METRICS, selection_metric)):
        out[metric] = summary.loc[best, f"{metric}_mean"]
    for metric in dict.fromkeys(("average_precision", selection_metric)):
        out[f"{metric}_ci_low"] = summary.loc[best, f"{metric}_ci_low"]
        out[f"{metric}_ci_high"] = summary.loc[best, f"{metric}_ci_high"]
    return out


def cross_validate_models(
    pipelines: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    threshold_objective: str = "f1",
    top_k_fraction: float = 0.1,
    n_jobs: int = 1,
) -> CVResult:
    """Run :func:`cross_validate` for every named pipeline; results get a ``model`` column.

    All (pipeline, fold) fits share one pool of ``n_jobs`` processes, so no core waits for the
    last fold of one pipeline before the next starts; the results are the same as one call per
    pipeline.
    """
    splits = list(iter_splits(folds))
    for name in pipelines:
        log.info("cross-validating %s", name)
    results = _run_folds(list(pipelines.items()), X, y, splits, n_jobs=n_jobs, fit_predict=_fit_predict,
                         desc=f"{len(pipelines)} pipelines x {len(splits)} folds")
    parts = {name: _assemble(splits, res, y, threshold_objective=threshold_objective, top_k_fraction=top_k_fraction)
             for name, res in zip(pipelines, results)}

    def stack(attr: str) -> pd.DataFrame:
        return pd.concat([getattr(r, attr).assign(model=n) for n, r in parts.items()], ignore_index=True)

    scores, oof, timings = stack("scores"), stack("oof"), stack("timings")
    first = ["model", "repeat", "fold"]
    return CVResult(
        scores=scores[first + [c for c in scores.columns if c not in first]],
        oof=oof[["model"] + [c for c in oof.columns if c != "model"]],
        timings=timings[first + [c for c in timings.columns if c not in first]],
    )


def cheapest_as_good(comparison: pd.DataFrame, timings: pd.DataFrame, *, best: str) -> str:
    """The model with the lowest mean fit time among the best and those indistinguishable from it.

    Parameters
    ----------
    comparison : DataFrame
        :func:`compare_with` against ``best``.
    timings : DataFrame
        Measured ``fit_seconds`` per model and fold.
    """
    candidates = [best] + list(comparison.index[comparison["verdict"] == "indistinguishable"])
    fit = timings.groupby("model")["fit_seconds"].mean()
    return str(fit.loc[candidates].idxmin())


def _learning_point(estimator: Any, rest: Any, preprocess: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray,
                    test: np.ndarray, scoring: str) -> tuple[float, float, str | None]:
    """Training and test score of ``estimator`` fitted on ``train`` (``rest``: already fitted),
    and the failure of the fit if it failed. As in scikit-learn's ``learning_curve``, a failed fit
    scores NaN, and so does a failed scoring (with a warning)."""
    from sklearn.metrics import check_scoring

    with threadpool_limits(limits=1):
        Xt = preprocess.transform(X.iloc[train])
        if rest is None:
            try:
                rest = _rest_of(estimator).fit(Xt, y[train])
            except Exception as exc:  # as scikit-learn's learning_curve: a failed fit scores NaN
                return np.nan, np.nan, f"{type(exc).__name__}: {exc}"
        scorer = check_scoring(rest, scoring=scoring)

        def score(Xs: Any, ys: np.ndarray) -> float:
            try:
                return scorer(rest, Xs, ys)
            except Exception as exc:  # scikit-learn's _score with error_score=nan
                warnings.warn(f"Scoring failed. The score on this train-test partition for these parameters will be "
                              f"set to nan. Details: {type(exc).__name__}: {exc}", UserWarning)
                return np.nan

        return score(Xt, y[train]), score(preprocess.transform(X.iloc[test]), y[test]), None


def learning_curve(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    sizes: Sequence[float],
    metric: str = "average_precision",
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training and validation scores by training size on the first repeat's folds.

    The same numbers as :func:`sklearn.model_selection.learning_curve` (``shuffle=False``: the
    first rows of each training fold). For a pipeline with a ``preprocess`` step, the
    preprocessing fitted on the same rows by :func:`cross_validate` is reused, and so is its model
    at the full size (the cross-validation's fit on the same rows) when it was kept.

    Returns
    -------
    (train_sizes, train_scores, validation_scores)
        Sizes in rows; scores with one column per fold.
    """
    from sklearn.model_selection import learning_curve as sk_learning_curve

    if metric not in CURVE_METRICS:
        raise ValueError(f"learning curves support {sorted(CURVE_METRICS)}, not {metric!r}")
    splits = [(tr, va) for r, _, tr, va in iter_splits(folds) if r == 0]
    scoring = CURVE_METRICS[metric]
    step = _shared_preprocessing(estimator)
    try:
        from sklearn.model_selection._validation import _translate_train_sizes
    except ImportError:  # pragma: no cover - a scikit-learn without the helper: its own function
        step = None
    if step is None:
        with threadpool_limits(limits=1):
            sizes_abs, train_scores, val_scores = sk_learning_curve(
                estimator, X, y, cv=splits, train_sizes=list(sizes), scoring=scoring, n_jobs=n_jobs, shuffle=False
            )
    else:
        sizes_abs = _translate_train_sizes(np.asarray(sizes), len(splits[0][0]))
        points = [(train[:n], test) for train, test in splits for n in sizes_abs]
        shared = _Shared(X, y)
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        prefitted = shared.preprocess([(step, sub) for sub, _ in points], parallel, "learning curve")
        kept = [shared.model(shared.model_key(estimator, sub)) for sub, _ in points]
        jobs = (delayed(_learning_point)(estimator, None if hit is None else hit[0], pre, shared.X, y, sub, test, scoring)
                for (sub, test), (pre, _), hit in zip(points, prefitted, kept))
        results = list(tqdm(parallel(jobs), total=len(points), desc="learning curve", leave=False, mininterval=1.0))
        failures = [r[2] for r in results if r[2] is not None]
        if len(failures) == len(results):
            raise ValueError(f"All the {len(results)} fits of the learning curve failed; the first: {failures[0]}")
        if failures:
            from sklearn.exceptions import FitFailedWarning

            warnings.warn(f"{len(failures)} of the {len(results)} fits of the learning curve failed and score NaN; "
                          f"the first: {failures[0]}", FitFailedWarning)
        scores = np.array([r[:2] for r in results], dtype=float)
        train_scores = scores[:, 0].reshape(-1, len(sizes_abs)).T
        val_scores = scores[:, 1].reshape(-1, len(sizes_abs)).T
    if scoring.startswith("neg_"):
        train_scores, val_scores = -train_scores, -val_scores
    return sizes_abs, train_scores, val_scores


def scores_at_threshold(oof: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """Threshold metrics of out-of-fold predictions at a fixed threshold, per model and fold.

    Parameters
    ----------
    oof : DataFrame
        ``model``, ``repeat``, ``fold``, ``y_true``, ``y_score`` (as in :class:`CVResult`).
    threshold : float
        Predict positive when ``score >= threshold``.

    Returns
    -------
    DataFrame
        ``model``, ``repeat``, ``fold`` and the metrics of :func:`threshold_metrics`.
    """
    rows = []
    for (model, r, k), g in oof.groupby(["model", "repeat", "fold"], sort=False):
        pred = (g["y_score"].to_numpy() >= threshold).astype(int)
        rows.append({"model": model, "repeat": r, "fold": k, **threshold_metrics(g["y_true"].to_numpy(), pred)})
    return pd.DataFrame(rows)


#: Above this many rows the BCa acceleration comes from a grouped jackknife (this many groups,
#: each leaving out an equal share of the positives and of the negatives), not one per row.
JACKKNIFE_GROUPS = 500


def _jackknife(y_true: np.ndarray, y_score: np.ndarray, metric: Callable[[np.ndarray, np.ndarray], float],
               *, seed: int) -> np.ndarray:
    """The metric with each row (or, above :data:`JACKKNIFE_GROUPS` rows, each group of rows) left out."""
    n = len(y_true)
    if n <= JACKKNIFE_GROUPS:
        groups = np.arange(n)
    else:  # positives and negatives dealt to the groups in turn, in a seeded order
        rng = np.random.default_rng([seed, 1])
        groups = np.empty(n, dtype=int)
        offset = 0
        for idx in (np.flatnonzero(y_true == 1), np.flatnonzero(y_true == 0)):
            groups[rng.permutation(idx)] = (np.arange(len(idx)) + offset) % JACKKNIFE_GROUPS
            offset += len(idx)
    return np.array([metric(y_true[groups != g], y_score[groups != g]) for g in np.unique(groups)])


def bca_levels(replicates: Sequence[float], estimate: float, jackknife: Sequence[float], *,
               confidence: float = 0.95) -> tuple[float, float]:
    """The quantile levels of the bootstrap replicates that bound a bias-corrected and
    accelerated (BCa) interval (Efron, 1987), as :func:`scipy.stats.bootstrap` computes them.

    The bias correction ``z0`` is the normal quantile of the share of replicates below the
    estimate (ties count half); the acceleration ``a`` comes from the jackknife values. When every
    replicate lies on one side of the estimate the percentile levels are returned.

    Returns
    -------
    (float, float)
        Lower and upper level, in (0, 1).
    """
    values = np.asarray(replicates, dtype=float)
    alpha = (1 - confidence) / 2
    share = (np.sum(values < estimate) + 0.5 * np.sum(values == estimate)) / len(values)
    if not 0 < share < 1:
        return alpha, 1 - alpha
    z0 = stats.norm.ppf(share)
    d = np.mean(jackknife) - np.asarray(jackknife, dtype=float)
    spread = 6.0 * np.sum(d ** 2) ** 1.5
    a = float(np.sum(d ** 3) / spread) if spread > 0 else 0.0
    z = z0 + stats.norm.ppf([alpha, 1 - alpha])
    low, high = stats.norm.cdf(z0 + z / (1 - a * z))
    return float(low), float(high)


def bootstrap_ci(
    y_true: Sequence[int],
    y_score: Sequence[float],
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "bca",
) -> tuple[float, float, float]:
    """Point estimate and stratified bootstrap interval of a metric.

    Positives and negatives are resampled separately (with replacement), so every replicate
    keeps the observed prevalence and has both classes.

    Parameters
    ----------
    method : {"bca", "percentile"}
        ``bca`` (default): bias-corrected and accelerated (:func:`bca_levels`, acceleration from
        a jackknife). Average precision's replicates sit mostly above the estimate (a resample
        repeats rows, which flatters it): the percentile interval, centred on them, was shifted
        upwards. ``percentile``: the quantiles of the replicates.

    Returns
    -------
    (estimate, low, high)
    """
    if method not in ("bca", "percentile"):
        raise ValueError(f"unknown bootstrap method {method!r}; use 'bca' or 'percentile'")
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    pos, neg = np.flatnonzero(y_true == 1), np.flatnonzero(y_true == 0)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        values[b] = metric(y_true[idx], y_score[idx])
    estimate = float(metric(y_true, y_score))
    alpha = (1 - confidence) / 2
    levels = ((alpha, 1 - alpha) if method == "percentile" else
              bca_levels(values, estimate, _jackknife(y_true, y_score, metric, seed=seed), confidence=confidence))
    low, high = np.quantile(values, levels)
    return estimate, float(low), float(high)


def top_k(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> dict[str, float]:
    """Capture (share of all positives) and lift (precision over prevalence) in the top ``k``.

    ``k`` below 1 is a fraction of the rows, 1 or more a count. When rows with the same score
    straddle the cut, they share the places left and each counts in proportion: ``positives``
    is then the expected number over every order of the tied rows (not a whole number), and
    nothing depends on the order of the rows.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    n_top = _top_rows(len(y_true), k)
    found = _positives_in_top(y_true, y_score, n_top)
    precision = found / n_top
    prevalence = float(y_true.mean())
    positives = int(found) if float(found).is_integer() else found
    return {"rows": n_top, "positives": positives,
            "capture": found / float(y_true.sum()) if y_true.sum() else float("nan"),
            "precision": precision, "lift": precision / prevalence if prevalence else float("nan")}


# --------------------------------------------------------------------------------------------
# Permutation importance
# --------------------------------------------------------------------------------------------


def _output_blocks(preprocess: Any, columns: Sequence[str]) -> dict[str, list[int]] | None:
    """The output columns of a fitted preprocessing ``ColumnTransformer`` that each input column
    becomes (its value, missing indicator, one-hot columns ...), or None for a structure this does
    not know (then nothing is assumed)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline as SkPipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    if not isinstance(preprocess, ColumnTransformer) or not hasattr(preprocess, "output_indices_"):
        return None
    blocks: dict[str, list[int]] = {c: [] for c in columns}
    for name, trans, cols in preprocess.transformers_:
        if isinstance(trans, str):
            if trans == "drop":
                continue
            return None  # passthrough: not used by this package
        cols = list(cols) if not isinstance(cols, str) else [cols]
        if any(not isinstance(c, str) or c not in blocks for c in cols):
            return None
        src: list[str] = list(cols)  # the input column of each current output column
        for step in (trans.steps if isinstance(trans, SkPipeline) else [(None, trans)]):
            est = step[1]
            if isinstance(est, SimpleImputer):
                kept = src
                if est.strategy != "constant" and not est.keep_empty_features:
                    stats = np.asarray(est.statistics_)
                    empty = pd.isna(stats) if stats.dtype == object else np.isnan(stats)
                    kept = [c for c, e in zip(src, empty) if not e]
                indicator = getattr(est, "indicator_", None)
                src = kept + ([src[i] for i in indicator.features_] if indicator is not None else [])
            elif isinstance(est, (StandardScaler, OrdinalEncoder)):
                pass
            elif isinstance(est, OneHotEncoder):
                if getattr(est, "drop_idx_", None) is not None:
                    return None
                infrequent = est.infrequent_categories_ if getattr(est, "_infrequent_enabled", False) else [None] * len(src)
                widths = [len(cats) if rare is None else len(cats) - len(rare) + 1
                          for cats, rare in zip(est.categories_, infrequent)]
                src = [c for c, w in zip(src, widths) for _ in range(w)]
            else:
                return None
        out = preprocess.output_indices_[name]
        if out.stop - out.start != len(src):
            return None
        for k, c in zip(range(out.start, out.stop), src):
            blocks[c].append(k)
    return blocks


def _blocks_hold(preprocess: Any, X: pd.DataFrame, Xt: np.ndarray, blocks: dict[str, list[int]], *, rows: int = 2000) -> bool:
    """Check on a sample: shuffling an input column, then preprocessing, gives the preprocessed
    rows with that column's block shuffled the same way (for every column)."""
    m = min(rows, len(X))
    sample, sample_t = X.iloc[:m], Xt[:m]
    order = np.arange(m)[::-1]
    for col, block in blocks.items():
        shuffled = sample.copy()
        shuffled[col] = sample[col].iloc[order].to_numpy()
        expected = sample_t.copy()
        expected[:, block] = sample_t[order][:, block]
        got = np.asarray(preprocess.transform(shuffled), dtype=float)
        if got.shape != expected.shape or not np.array_equal(got, expected, equal_nan=True):
            return False
    return True


def permutation_importance(pipeline: Any, X: pd.DataFrame, y: np.ndarray, *, scoring: str = "average_precision",
                           n_repeats: int = 5, random_state: int = 0, n_jobs: int = 1) -> Any:
    """:func:`sklearn.inspection.permutation_importance` of a fitted pipeline, preprocessing once.

    The pipelines of this package start with a ``preprocess`` step in which every output column
    comes from one input column (imputation, missing indicator, encoding, scaling), so shuffling
    an input column and then preprocessing gives exactly the preprocessed rows with that column's
    outputs shuffled the same way. The step therefore runs once, and every shuffle (the same
    shuffles as scikit-learn's, from the same seed) permutes those output columns and scores the
    rest of the pipeline: the same importances, without preprocessing the whole data
    ``n_features x n_repeats`` times (on a large test set that is nearly all of the cost). This is
    checked on a sample first; any other pipeline goes to scikit-learn's function.

    Returns
    -------
    Bunch
        ``importances_mean``, ``importances_std`` and ``importances`` (features x repeats), in the
        order of ``X``'s columns.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance
    from sklearn.metrics import check_scoring
    from sklearn.utils import Bunch, check_random_state

    steps = getattr(pipeline, "steps", None)
    blocks = None
    if isinstance(X, pd.DataFrame) and steps and len(steps) >= 2 and steps[0][0] == "preprocess":
        preprocess = steps[0][1]
        blocks = _output_blocks(preprocess, list(X.columns))
        if blocks is not None:
            Xt = preprocess.transform(X)
            if not isinstance(Xt, np.ndarray) or not _blocks_hold(preprocess, X, Xt, blocks):
                blocks = None
    if blocks is None:
        return sk_permutation_importance(pipeline, X, y, scoring=scoring, n_repeats=n_repeats,
                                         random_state=random_state, n_jobs=n_jobs)
    rest = type(pipeline)(steps[1:])  # the fitted sampler/model steps (samplers are skipped at predict)
    scorer = check_scoring(rest, scoring=scoring)
    baseline = scorer(rest, Xt, y)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    scores = np.empty((len(blocks), n_repeats))
    for i, block in enumerate(blocks.values()):
        if not block:  # a column the model does not use: shuffling it changes nothing
            scores[i] = baseline
            continue
        rng = check_random_state(seed)  # scikit-learn: a fresh RandomState(seed) per column
        original = Xt[:, block].copy()
        current = original
        shuffling_idx = np.arange(len(Xt))
        for r in range(n_repeats):
            rng.shuffle(shuffling_idx)
            current = current[shuffling_idx]  # shuffles accumulate, as in scikit-learn
            Xt[:, block] = current
            scores[i, r] = scorer(rest, Xt, y)
        Xt[:, block] = original
    importances = baseline - scores
    return Bunch(importances_mean=np.mean(importances, axis=1), importances_std=np.std(importances, axis=1),
                 importances=importances)
