"""What a trial computes: its folds fitted and scored, reported to the pruner one by one.

Preprocessing does not depend on the hyperparameters, so each fold is preprocessed once for the
whole study (:func:`prepare_fold`, kept in :attr:`TuneTask.prepared`); a trial fits only the
model on it (:func:`fit_predict_prepared`), several folds at a time (:func:`fold_slots`,
:func:`in_order`), and reports them in the trial's order (:func:`run_trial`).

Where the fits run (:func:`fold_fits`): in this process's threads (:func:`local_fits`), or, when
``$IMBALANCE_LAB_DASK_SCHEDULER`` names a Dask scheduler, on its workers
(:mod:`imbalance_lab.tuning.cluster`, which prepares and keeps the folds there), with the same
threads per fit: the trial, its reports and its value are the same either way.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from ..data.schema import Schema
from ..data.split import iter_splits
from ..evaluation.metrics import score_metric
from ..evaluation.parallel import scheduler_address
from ..modeling.models import make_estimator
from ..modeling.pipelines import make_pipeline
from .pruners import pairs_folds
from .sampler import trial_slot
from .space import EARLY_STOPPING_SHARE, MAX_TREES, suggest_params, trial_model_params


def early_stopping_split(train: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """XGBoost's rows to fit on and rows to stop on: a stratified ``EARLY_STOPPING_SHARE`` of the
    training fold is held out."""
    fit_idx, stop_idx = train_test_split(train, test_size=EARLY_STOPPING_SHARE, stratify=y[train], random_state=seed)
    return fit_idx, stop_idx


def _preprocess_training(
    model: str, pre: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, *, seed: int, dtype: Any = None
) -> tuple[Any, np.ndarray, tuple[Any, np.ndarray] | None]:
    """Fit a trial's preprocessing ``pre`` on a training fold: the model's input, its labels and,
    for XGBoost, the early-stopping rows ``(X_stop, y_stop)`` (preprocessing fitted without them)."""
    cast = (lambda a: np.asarray(a, dtype=dtype)) if dtype is not None else (lambda a: a)
    if model == "xgboost":
        fit_idx, stop_idx = early_stopping_split(train, y, seed=seed)
        pre.fit(X.iloc[fit_idx], y[fit_idx])
        return cast(pre.transform(X.iloc[fit_idx])), y[fit_idx], (cast(pre.transform(X.iloc[stop_idx])), y[stop_idx])
    return cast(pre.fit_transform(X.iloc[train], y[train])), y[train], None  # what Pipeline.fit gives the model


def _fit_estimator(
    model: str, est: Any, X_fit: Any, y_fit: np.ndarray, stop: tuple[Any, np.ndarray] | None
) -> int | None:
    """Fit a trial's (preprocessed-input) estimator; the number of trees it kept, if a boosting model."""
    if model == "xgboost":
        est.fit(X_fit, y_fit, eval_set=[stop], verbose=False)
        return int(est.best_iteration) + 1
    est.fit(X_fit, y_fit)
    return int(est.n_iter_) if model == "hist_gradient_boosting" else None


def fit_fold(
    model: str,
    params: dict[str, Any],
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    *,
    seed: int,
    n_jobs: int = 1,
    max_trees: int = MAX_TREES,
) -> tuple[Any, int | None]:
    """Fit one trial's pipeline on a training fold, as a trial does.

    Boosting models hold out a stratified ``EARLY_STOPPING_SHARE`` of the training fold and stop
    adding trees when its log loss has not improved for ``EARLY_STOPPING_ROUNDS`` rounds, or at
    ``max_trees`` trees (:func:`imbalance_lab.tuning.space.trial_model_params`).

    Returns
    -------
    (pipeline, n_trees)
        The fitted pipeline (preprocessing and model) and the number of trees used (None for
        other models).
    """
    with threadpool_limits(limits=n_jobs):
        pipe = make_pipeline(
            model,
            schema,
            seed=seed,
            n_jobs=n_jobs if model == "xgboost" else 1,
            params=trial_model_params(model, params, max_trees=max_trees),
        )
        X_fit, y_fit, stop = _preprocess_training(model, pipe.named_steps["preprocess"], X, y, train, seed=seed)
        return pipe, _fit_estimator(model, pipe.named_steps["model"], X_fit, y_fit, stop)


@dataclass
class PreparedFold:
    """One fold, preprocessed once for all trials (the preprocessing does not depend on them).

    ``val`` is the validation fold, preprocessed as :func:`fit_fold` does. What the model is
    fitted on is ``fit``/``y_fit`` or, for XGBoost, ``fit_matrix``, with the early-stopping rows
    in ``stop_matrix``: XGBoost's own ``QuantileDMatrix`` objects, built once per fold exactly as
    ``XGBClassifier.fit`` builds them on every fit (its quantile sketch and bin index do not depend
    on the hyperparameters; building them was about half of a fit's time here).
    ``matrix_settings`` are the ``max_bin`` and threads they were built with.
    """

    val: np.ndarray
    fit: np.ndarray | None = None
    y_fit: np.ndarray | None = None
    fit_matrix: Any = None
    stop_matrix: Any = None
    matrix_settings: tuple[Any, int] | None = None


def _quantile_matrices(
    X_fit: np.ndarray, y_fit: np.ndarray, X_stop: np.ndarray, y_stop: np.ndarray, *, n_jobs: int
) -> tuple[Any, Any, tuple[Any, int]]:
    """XGBoost's training and early-stopping matrices as ``XGBClassifier.fit`` builds them for the
    tune stage's estimator (``QuantileDMatrix`` objects, the early-stopping one on the training one's
    bins), and the settings they depend on."""
    import xgboost

    for name, labels in (("training", y_fit), ("early-stopping", y_stop)):
        if not np.isin(labels, (0, 1)).all():  # what XGBClassifier.fit's label check would refuse
            raise ValueError(f"the {name} labels must be 0 or 1, got {np.unique(labels).tolist()}")
    est = make_estimator("xgboost", seed=0, n_jobs=n_jobs)
    options = {"missing": est.missing, "max_bin": est.max_bin, "nthread": n_jobs}
    fit_matrix = xgboost.QuantileDMatrix(X_fit, label=y_fit, **options)
    stop_matrix = xgboost.QuantileDMatrix(X_stop, label=y_stop, ref=fit_matrix, **options)
    return fit_matrix, stop_matrix, (est.max_bin, n_jobs)


def prepare_fold(
    model: str,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    *,
    seed: int,
    n_jobs: int = 1,
) -> PreparedFold:
    """Fit the preprocessing of ``model`` on a training fold and transform the fold's parts.

    The same rows, split and preprocessing as :func:`fit_fold`. For XGBoost, the training and
    early-stopping rows become the matrices XGBoost fits on (built with ``n_jobs`` threads, the
    threads of the fits that use them) and the validation rows are kept as float32, which XGBoost
    converts its input to anyway: the fitted trees and the predictions are identical to
    :func:`fit_fold`'s.
    """
    pre = clone(make_pipeline(model, schema, seed=seed).named_steps["preprocess"])  # as fit_fold's
    if model != "xgboost":
        X_fit, y_fit, _ = _preprocess_training(model, pre, X, y, train, seed=seed)
        return PreparedFold(val=pre.transform(X.iloc[val]), fit=X_fit, y_fit=y_fit)
    X_fit, y_fit, (X_stop, y_stop) = _preprocess_training(model, pre, X, y, train, seed=seed, dtype=np.float32)
    fit_matrix, stop_matrix, settings = _quantile_matrices(X_fit, y_fit, X_stop, y_stop, n_jobs=n_jobs)
    return PreparedFold(
        val=np.asarray(pre.transform(X.iloc[val]), dtype=np.float32),
        fit_matrix=fit_matrix,
        stop_matrix=stop_matrix,
        matrix_settings=settings,
    )


def _train_xgboost(est: Any, fold: PreparedFold) -> tuple[np.ndarray, int]:
    """What ``est.fit(X_fit, y_fit, eval_set=[(X_stop, y_stop)])`` and ``est.predict_proba(X_val)``
    give (``est`` an unfitted ``XGBClassifier`` of the tune stage), on the fold's prebuilt matrices:
    the positive class's probabilities and the number of trees early stopping kept."""
    import xgboost

    if (est.max_bin, est.n_jobs) != fold.matrix_settings:
        raise ValueError(
            f"the fold's matrices were built for (max_bin, threads) {fold.matrix_settings}, "
            f"the estimator has {(est.max_bin, est.n_jobs)}"
        )
    if not est.early_stopping_rounds:
        raise ValueError("the fold's matrices are for fits that stop early; the estimator has no early_stopping_rounds")
    booster = xgboost.train(
        est.get_xgb_params(),
        fold.fit_matrix,
        est.get_num_boosting_rounds(),
        evals=[(fold.stop_matrix, "validation_0")],
        early_stopping_rounds=est.early_stopping_rounds,
        verbose_eval=False,
    )
    n_trees = booster.best_iteration + 1
    return booster.inplace_predict(fold.val, iteration_range=(0, n_trees), missing=est.missing), n_trees


def fit_predict_prepared(
    model: str, params: dict[str, Any], fold: PreparedFold, *, seed: int, n_jobs: int = 1, max_trees: int = MAX_TREES
) -> tuple[np.ndarray, int | None]:
    """What :func:`fit_fold` fits, on an already preprocessed fold, and its validation
    probabilities (same estimator, same result).

    Thread limits are the caller's business (they are process-wide).
    """
    est = make_estimator(
        model,
        seed=seed,
        n_jobs=n_jobs if model == "xgboost" else 1,
        params=trial_model_params(model, params, max_trees=max_trees),
    )
    if model == "xgboost":
        return _train_xgboost(est, fold)
    n_trees = _fit_estimator(model, est, fold.fit, fold.y_fit, None)
    return est.predict_proba(fold.val)[:, 1], n_trees


@dataclass
class TuneTask:
    """Everything a process needs to run trials of one study."""

    model: str
    schema: Schema
    X: pd.DataFrame
    y: np.ndarray
    folds: pd.DataFrame
    metric: str
    seed: int
    n_jobs: int = 1
    max_trees: int = MAX_TREES
    #: The preprocessed folds, filled by the first trial and reused by the others (see
    #: :func:`prepare_fold`): preprocessing does not depend on the hyperparameters, and on large
    #: data it costs as much as a model fit. Keyed by (model, seed, fold, threads per fit): a task
    #: copied with ``dataclasses.replace`` shares the dict but never another model's folds.
    prepared: dict[tuple[str, int, int, int], PreparedFold] = field(default_factory=dict, repr=False, compare=False)


def fold_slots(n_folds: int, n_jobs: int) -> tuple[int, int]:
    """How a trial's folds share ``n_jobs`` threads: ``(fits at a time, threads per fit)``.

    Independent single-threaded fits use the cores better than one multi-threaded fit (no
    synchronisation between threads, no stall when another process takes a core); with fewer
    folds than threads, each fit gets the spare threads.
    """
    width = max(1, min(n_jobs, n_folds))
    return width, max(1, n_jobs // width)


#: How far ahead of the next fold to report a trial may start fits, in multiples of the fits
#: at a time: enough to keep every core busy when one fold is slower than the next ones, and
#: a bound on the fits wasted when the trial is pruned.
LOOKAHEAD = 2


def in_order(submit: Callable[[int], Future], n: int, *, width: int) -> Iterator[Any]:
    """The results of ``submit(0)`` ... ``submit(n - 1)``, yielded in that order, with up to
    ``width`` of them running at a time: the next one starts as soon as one ends, at most
    ``LOOKAHEAD * width`` positions ahead of the next to yield. Nothing more starts once the
    caller stops taking results."""
    started: dict[int, Future] = {}  # position -> its future, until yielded
    for position in range(n):
        while not (position in started and started[position].done()):
            running = sum(not f.done() for f in started.values())
            if position + len(started) < n and len(started) < LOOKAHEAD * width and running < width:
                started[position + len(started)] = submit(position + len(started))
            else:
                wait([f for f in started.values() if not f.done()], return_when=FIRST_COMPLETED)
        yield started.pop(position).result()


@contextlib.contextmanager
def local_fits(
    task: TuneTask, params: dict[str, Any], order: list[int], *, width: int, threads: int
) -> Iterator[Iterator[tuple[np.ndarray, int | None]]]:
    """The fits of a trial with ``params`` on the folds ``order``, here: an iterator of their
    (validation probabilities, trees kept), in that order, used inside the block.

    ``width`` fits at a time, each with ``threads`` threads, in a thread pool (:func:`in_order`);
    each fold prepared once for the whole study (:attr:`TuneTask.prepared`). When the block ends
    (a pruned trial), no more fits start and those running end before it returns."""
    splits = list(iter_splits(task.folds))

    def prepared(step: int) -> PreparedFold:
        """The fold's preprocessed parts: once per fold for the whole study, in this thread, under
        the fits' thread limit (a process-wide setting: changing it would change running fits')."""
        key = (task.model, task.seed, step, threads)
        if key not in task.prepared:
            _, _, train, val = splits[step]
            task.prepared[key] = prepare_fold(
                task.model, task.schema, task.X, task.y, train, val, seed=task.seed, n_jobs=threads
            )
        return task.prepared[key]

    def fit(fold: PreparedFold) -> tuple[np.ndarray, int | None]:
        return fit_predict_prepared(task.model, params, fold, seed=task.seed, n_jobs=threads, max_trees=task.max_trees)

    with threadpool_limits(limits=threads), ThreadPoolExecutor(max_workers=width) as pool:
        results = in_order(lambda position: pool.submit(fit, prepared(order[position])), len(order), width=width)
        try:
            yield results
        finally:
            results.close()


def fold_fits(
    task: TuneTask, params: dict[str, Any], order: list[int], *, width: int, threads: int
) -> contextlib.AbstractContextManager[Iterator[tuple[np.ndarray, int | None]]]:
    """A trial's fits, in the order of ``order``: here (:func:`local_fits`), or on the Dask
    cluster named by ``$IMBALANCE_LAB_DASK_SCHEDULER`` (:func:`imbalance_lab.tuning.cluster.cluster_fits`:
    the same fits with the same threads each, so the same results; dask is imported only then)."""
    if scheduler_address() is None:
        return local_fits(task, params, order, width=width, threads=threads)
    from .cluster import cluster_fits

    return cluster_fits(task, params, order, width=width, threads=threads)


def fold_order(n_folds: int, *, seed: int, slot: int, shuffle: bool) -> list[int]:
    """The order in which a trial evaluates the folds: the stored order, or a permutation drawn
    from (seed, the trial's slot), so the same study gives the same orders on every run and
    worker, and a trial replacing a failed one gets the failed one's order."""
    if not shuffle:
        return list(range(n_folds))
    return [int(i) for i in np.random.default_rng([seed, slot]).permutation(n_folds)]


def run_trial(task: TuneTask, trial: optuna.Trial, *, heartbeat: Callable[[], None] | None = None) -> float:
    """Evaluate one trial on the stored folds, reporting an intermediate value after each fold.

    The value is the running mean, in the stored fold order, or, when the study's pruner pairs
    folds (:func:`imbalance_lab.tuning.pruners.pairs_folds`), the fold's own score with the fold index as the step, in the
    trial's own order (:func:`fold_order`).

    Up to ``task.n_jobs`` folds are fitted at a time (see :func:`fold_slots`) from a queue
    (:func:`in_order`): a fit starts as soon as another ends, so no core waits for the slowest
    fit of a batch. The folds are still reported one by one in the trial's order, so the
    intermediate values, the pruning decisions and the result are the same as fitting them one
    after the other. A fit starts at most ``LOOKAHEAD`` times the fits at a time ahead of the
    next fold to report; none starts
    once the trial is pruned (those already running finish and are discarded). On a Dask
    cluster (:func:`fold_fits`) the fits run there, with the threads each they get here; the
    trial, the sampler and the pruner stay in this process. The pruner is
    not asked after the last fold: a trial with every fold scored is complete, with its mean
    (pruning it then would save nothing and hide its value from the sampler).

    Raises
    ------
    optuna.TrialPruned
        When the pruner says so.
    ClusterError
        The fits' Dask cluster failed them (:func:`imbalance_lab.tuning.cluster.cluster_fits`).
    """
    params = suggest_params(trial, task.model)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    splits = list(iter_splits(task.folds))
    paired = pairs_folds(trial.study)
    order = fold_order(len(splits), seed=task.seed, slot=trial_slot(trial), shuffle=paired)
    width, threads = fold_slots(len(splits), task.n_jobs)

    scores, trees = [], []
    with fold_fits(task, params, order, width=width, threads=threads) as results:
        for step, (proba, n_trees) in zip(order, results):
            val = splits[step][3]
            s = score_metric(task.y[val], proba, metric=task.metric)
            scores.append(s)
            if n_trees is not None:
                trees.append(n_trees)
            if heartbeat:
                heartbeat()
            if paired:
                trial.report(float(s), step)
            else:
                trial.report(float(np.mean(scores)), len(scores) - 1)
            if len(scores) < len(order) and trial.should_prune():
                raise optuna.TrialPruned()
    if trees:
        trial.set_user_attr("n_trees", round(float(np.mean(trees))))
    return float(np.mean(scores))
