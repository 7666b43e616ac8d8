"""Cross-validation on the stored folds.

Every pipeline is cloned and fitted on each training fold, so preprocessing and resampling are
fitted on the training part only. The decision threshold used for the threshold metrics of a
validation fold is chosen on the out-of-fold predictions of the *other* folds of the same
repeat (cross-fitted), so no fold is scored at a threshold tuned on its own labels.

All (pipeline, fold) fits of a call share one pool of worker processes; fitted preprocessing
steps and small fitted models are reused across pipelines and calls
(:mod:`imbalance_lab.evaluation.caches`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import delayed
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from ..data.split import iter_splits
from ..modeling.pipelines import fitted_rows
from ..progress import progress_bar
from .caches import SharedFits, fit_predict_prefitted, predict_prefitted, shared_preprocessing
from .metrics import score_predictions, threshold_metrics
from .parallel import on_workers, run_parallel
from .thresholds import choose_threshold

log = logging.getLogger(__name__)


@dataclass
class CVResult:
    """What :func:`cross_validate` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (repeat, fold): every metric. Deterministic for given params and seed.
    oof : DataFrame
        Out-of-fold scores: columns ``row``, ``repeat``, ``fold``, ``y_true``, ``y_score``, in
        compact types (:func:`build_oof_frame`); from :func:`cross_validate_models` also ``model``
        first, categorical.
    timings : DataFrame
        Measured durations per (repeat, fold): ``fit_seconds``, ``predict_seconds``.
    """

    scores: pd.DataFrame
    oof: pd.DataFrame
    timings: pd.DataFrame


def fit_and_predict(
    estimator: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """Fit a clone on the training rows and predict the validation rows, with one thread:
    (probabilities, fit seconds, predict seconds)."""
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        model = clone(estimator).fit(X.iloc[train], y[train])
        t1 = time.perf_counter()
        proba = model.predict_proba(X.iloc[val])[:, 1]
        t2 = time.perf_counter()
    return proba, t1 - t0, t2 - t1


def run_folds(
    pipelines: Sequence[tuple[str, Any]],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list,
    *,
    n_jobs: int,
    fit_predict: Callable[..., tuple[np.ndarray, float, float]],
    desc: str,
) -> list[list[tuple[np.ndarray, float, float]]]:
    """Fit and predict every pipeline on every split, all in one pool of ``n_jobs`` processes
    (no core idles between pipelines), or on the Dask cluster of ``$IMBALANCE_LAB_DASK_SCHEDULER``
    (:mod:`imbalance_lab.evaluation.parallel`). Returns, per pipeline, the results in split order."""
    return run_parallel(
        lambda parallel: _run_folds(pipelines, X, y, splits, parallel=parallel, fit_predict=fit_predict, desc=desc),
        n_jobs=n_jobs,
    )


def _run_folds(
    pipelines: Sequence[tuple[str, Any]],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list,
    *,
    parallel: Any,
    fit_predict: Callable[..., tuple[np.ndarray, float, float]],
    desc: str,
) -> list[list[tuple[np.ndarray, float, float]]]:
    order = longest_first([est for _, est in pipelines], y, len(splits))
    steps = [shared_preprocessing(est) if fit_predict is fit_and_predict else None for _, est in pipelines]
    if all(step is None for step in steps):
        X_fit, y_fit = on_workers(X), on_workers(y)  # the data itself, or its copy on every cluster worker
        jobs = (delayed(fit_predict)(pipelines[i][1], X_fit, y_fit, splits[j][2], splits[j][3]) for i, j in order)
        results = list(progress_bar(parallel(jobs), total=len(order), desc=desc))
        out: list[list[tuple[np.ndarray, float, float]]] = [[] for _ in pipelines]
        for (i, _), result in zip(order, results):
            out[i].append(result)
        return out

    shared = SharedFits(X, y)
    wanted = [(i, j) for i, j in order if steps[i] is not None]
    prefitted = dict(zip(wanted, shared.preprocess([(steps[i], splits[j][2]) for i, j in wanted], parallel, desc)))
    model_keys = {(i, j): shared.model_key(pipelines[i][1], splits[j][2]) for i, j in wanted}
    X_shared, y_fit = on_workers(shared.X), on_workers(y)  # the data, or its copy on every cluster worker
    X_fit = on_workers(X) if any(step is None for step in steps) else X

    def job(i: int, j: int) -> Any:
        _, est = pipelines[i]
        _, _, train, val = splits[j]
        if steps[i] is None:
            return delayed(fit_predict)(est, X_fit, y_fit, train, val)
        cached = shared.model(model_keys[i, j])
        if cached is not None:
            reused[i, j] = cached  # kept here: the cache may drop it before the result comes back
            return delayed(predict_prefitted)(cached[0], prefitted[i, j][0], X_shared, val)
        return delayed(fit_predict_prefitted)(est, prefitted[i, j][0], X_shared, y_fit, train, val)

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
        for (i, j), res in zip(
            batch,
            progress_bar(parallel(job(i, j) for i, j in batch), total=len(batch), desc=desc),
        ):
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
    for i, j in order:  # each pipeline's splits come in order
        out[i].append(results[i, j])
    return out


def longest_first(pipelines: Sequence[Any], y: np.ndarray, n_splits: int) -> list[tuple[int, int]]:
    """The (pipeline, split) fits in the order to dispatch them: the pipelines whose models meet
    the most rows first (an over-sampler's: about twice the fold), each pipeline's splits in
    order, pipelines of equal rows in their given order.

    With the fits in the pipelines' order, the over-samplers', the longest, often came last: a
    1e6-row imbalance stage (large profile, two workers) had one core idle for 80 of its 402 s
    while one worker fitted the last ``smote`` fold. Run back to back on the same project, that
    stage took 287 s in the pipelines' order and 257 s in this one. Whatever the order, each fit
    is the same and the results are returned in the pipelines' and splits' order.

    Parameters
    ----------
    pipelines : list of estimators
    y : array of 0/1
        The training rows' labels (the rows of each class, for the estimate).
    n_splits : int
    """
    n_positive = int(np.count_nonzero(y == 1))
    n_minority, n_majority = sorted((n_positive, len(y) - n_positive))
    rows = [fitted_rows(est, n_minority=n_minority, n_majority=n_majority) for est in pipelines]
    ranked = sorted(range(len(pipelines)), key=lambda i: -rows[i])
    return [(i, j) for i in ranked for j in range(n_splits)]


def build_oof_frame(
    row: np.ndarray, repeat: int, fold: int, y_true: np.ndarray, y_score: np.ndarray, *, n_rows: int
) -> pd.DataFrame:
    """One validation fold's out-of-fold scores, in the smallest types that hold them.

    ``row`` is int32 (int64 when ``n_rows`` needs it), ``repeat`` and ``fold`` int16, ``y_true``
    int8 and ``y_score`` as predicted (float32 from XGBoost). With the categorical ``model``
    column of :func:`cross_validate_models`, the five strategies' 16 million out-of-fold rows at
    4e6 training rows take 214 MiB instead of 821 MiB with int64 columns and model names as
    strings (``memory_usage(deep=True)``); the imbalance stage's kernel holds them to its end.
    The values are the same; every metric reads ``y_true`` as int.

    Parameters
    ----------
    row : array of int
        Positions of the validation rows in the training data.
    repeat, fold : int
        Which split they are.
    y_true, y_score : array
        Their labels (0/1) and predicted scores.
    n_rows : int
        Rows of the training data (sets the type of ``row``).
    """
    row_type = np.int32 if n_rows <= np.iinfo(np.int32).max else np.int64
    return pd.DataFrame(
        {
            "row": np.asarray(row, dtype=row_type),
            "repeat": np.full(len(row), repeat, dtype=np.int16),
            "fold": np.full(len(row), fold, dtype=np.int16),
            "y_true": np.asarray(y_true, dtype=np.int8),
            "y_score": y_score,
        }
    )


def _assemble(
    splits: list,
    results: list[tuple[np.ndarray, float, float]],
    y: np.ndarray,
    *,
    threshold_objective: str,
    top_k_fraction: float,
) -> CVResult:
    oof_rows, timing_rows = [], []
    for (r, k, _, val), (proba, fit_s, pred_s) in zip(splits, results):
        oof_rows.append(build_oof_frame(val, r, k, y[val], proba, n_rows=len(y)))
        timing_rows.append({"repeat": r, "fold": k, "fit_seconds": fit_s, "predict_seconds": pred_s})
    oof = pd.concat(oof_rows, ignore_index=True)

    score_rows = []
    for r, k, _, _ in splits:
        same_repeat = oof["repeat"] == r
        others = oof[same_repeat & (oof["fold"] != k)]
        mine = oof[same_repeat & (oof["fold"] == k)]
        threshold = choose_threshold(others["y_true"], others["y_score"], objective=threshold_objective)
        metrics = score_predictions(mine["y_true"], mine["y_score"], threshold=threshold, top_k_fraction=top_k_fraction)
        score_rows.append({"repeat": r, "fold": k, **metrics})
    return CVResult(scores=pd.DataFrame(score_rows), oof=oof, timings=pd.DataFrame(timing_rows))


def cross_validate_models(
    pipelines: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    threshold_objective: str = "f1",
    top_k_fraction: float = 0.1,
    n_jobs: int = 1,
    desc: str | None = None,
    fit_predict: Callable[..., tuple[np.ndarray, float, float]] = fit_and_predict,
) -> CVResult:
    """Fit and score every named pipeline on every stored fold; results get a ``model`` column.

    All (pipeline, fold) fits share one pool of ``n_jobs`` processes, so no core waits for the
    last fold of one pipeline before the next starts; the results are the same as one call per
    pipeline.

    Parameters
    ----------
    pipelines : dict
        Name -> unfitted (imblearn or sklearn) pipeline; cloned for each fold, so preprocessing
        and resampling are fitted on the training part only.
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
        replaceable for special fitting. With the default, a pipeline's ``preprocess`` step fitted
        on the same rows by an earlier call is reused (same values).
    """
    splits = list(iter_splits(folds))
    for name in pipelines:
        log.info("cross-validating %s", name)
    results = run_folds(
        list(pipelines.items()),
        X,
        y,
        splits,
        n_jobs=n_jobs,
        fit_predict=fit_predict,
        desc=desc or f"{len(pipelines)} pipelines x {len(splits)} folds",
    )
    parts = {
        name: _assemble(splits, res, y, threshold_objective=threshold_objective, top_k_fraction=top_k_fraction)
        for name, res in zip(pipelines, results)
    }

    def stack(attr: str) -> pd.DataFrame:
        frames = [getattr(r, attr) for r in parts.values()]
        stacked = pd.concat(frames, ignore_index=True)  # one copy: the model column is built apart
        # categories in name order, so that sorting by model sorts by name, as with strings
        names = sorted(parts)
        codes = np.repeat(np.array([names.index(n) for n in parts], dtype=np.int16), [len(f) for f in frames])
        model = pd.Categorical.from_codes(codes, categories=names)
        stacked.insert(0, "model", model if attr == "oof" else np.asarray(model))
        return stacked

    return CVResult(scores=stack("scores"), oof=stack("oof"), timings=stack("timings"))


def cross_validate(estimator: Any, X: pd.DataFrame, y: np.ndarray, folds: pd.DataFrame, **options: Any) -> CVResult:
    """:func:`cross_validate_models` of one pipeline: the same result without the ``model`` column.

    ``options`` are :func:`cross_validate_models`' keyword-only options.
    """
    cv = cross_validate_models({"model": estimator}, X, y, folds, **{"desc": "folds", **options})
    return CVResult(*(frame.drop(columns="model") for frame in (cv.scores, cv.oof, cv.timings)))


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
