"""Fixtures of the tuning tests: a small tune task on the shared synthetic data set, fitting a
trial's folds one at a time, and journal studies opened, run and resumed as separate processes
would."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.evaluation import score_predictions
from imbalance_lab.tuning import objective, results, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies


@pytest.fixture(scope="module")
def task(make_dataset) -> objective.TuneTask:
    """Logistic regression tuned for log loss on 400 rows of the shared synthetic data set (40
    positives), one repeat of 3 folds."""
    X, y, schema = make_dataset(400)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=0)
    return objective.TuneTask(
        model="logistic_regression", schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=0
    )


def _fit_predict_fold(model, params, schema, X, y, train, val, *, seed, n_jobs=1, **options):
    """A trial's pipeline fitted on a training fold (objective.fit_fold) and its validation
    probabilities, with the number of trees early stopping kept."""
    pipe, n_trees = objective.fit_fold(model, params, schema, X, y, train, seed=seed, n_jobs=n_jobs, **options)
    with threadpool_limits(limits=n_jobs):
        return pipe.predict_proba(X.iloc[val])[:, 1], n_trees


def _six_fold_task(task: objective.TuneTask) -> objective.TuneTask:
    """``task`` with six folds (two repeats of three): enough for a paired test to prune."""
    return dataclasses.replace(task, folds=make_folds(task.y, n_splits=3, n_repeats=2, seed=0), prepared={})


def _fold_scores(task: objective.TuneTask, params: dict) -> list[float]:
    """Each fold's score for ``params``, fitted one fold at a time without run_trial."""
    scores = []
    for _, _, train, val in iter_splits(task.folds):
        proba, _ = _fit_predict_fold(task.model, params, task.schema, task.X, task.y, train, val, seed=task.seed)
        scores.append(score_predictions(task.y[val], proba, threshold=0.5, top_k_fraction=0.1)[task.metric])
    return scores


def _open(path: Path, *, pruner="median", seed=3):
    """A process's view of the journal study "s": its own storage object and sampler."""
    storage = storages.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST")
    return storage, studies.load_study(storage, name="s", seed=seed, pruner=pruner, n_folds=3, metric="log_loss")


def _finished(study):
    """Each finished trial's state, parameters, value and intermediate values."""
    return [
        (t.state, t.params, t.value, list(t.intermediate_values.items()))
        for t in study.trials
        if t.state in results.FINISHED
    ]


def _killed_and_resumed(path, task, *, killed_after, n_trials):
    """A run killed after ``killed_after`` trials with one more running, resumed to ``n_trials``
    by a new process with a new sampler (the Wilcoxon pruner); the resumed process's study."""
    storage, first = _open(path, pruner="wilcoxon")
    worker.work(first, storage, task, n_trials=killed_after, progress=False)
    storage, again = _open(path, pruner="wilcoxon")
    again.ask()
    worker.work(again, storage, task, n_trials=n_trials, progress=False)
    assert [t.state for t in again.trials].count(TrialState.FAIL) == 1
    return again


@pytest.fixture(scope="session")
def fit_predict_fold() -> Callable[..., tuple[np.ndarray, int | None]]:
    """:func:`_fit_predict_fold`: a trial's pipeline fitted on one training fold, without run_trial."""
    return _fit_predict_fold


@pytest.fixture(scope="session")
def six_fold_task() -> Callable[[objective.TuneTask], objective.TuneTask]:
    """:func:`_six_fold_task`."""
    return _six_fold_task


@pytest.fixture(scope="session")
def fold_scores() -> Callable[[objective.TuneTask, dict], list[float]]:
    """:func:`_fold_scores`."""
    return _fold_scores


@pytest.fixture(scope="session")
def open_study() -> Callable[..., tuple[storages.Storage, optuna.Study]]:
    """:func:`_open`: a process's view of a journal study."""
    return _open


@pytest.fixture(scope="session")
def finished() -> Callable[[optuna.Study], list[tuple[Any, ...]]]:
    """:func:`_finished`: what a study's finished trials hold."""
    return _finished


@pytest.fixture(scope="session")
def killed_and_resumed() -> Callable[..., optuna.Study]:
    """:func:`_killed_and_resumed`: a run killed with a trial running, resumed by a new process."""
    return _killed_and_resumed
