"""Hyperparameter tuning with Optuna on the stored folds: seeded, pruned, resumable, distributable.

* **Objective**: the mean of the selection metric over the stored folds. After each fold an
  intermediate value is reported, so a pruner stops hopeless trials early: the running mean, in
  the stored fold order, for the median and hyperband pruners; each fold's own score, in an order
  shuffled per trial, for the Wilcoxon pruner (a paired test against the best trial, fold by
  fold). XGBoost and
  histogram gradient boosting stop adding trees early on an inner split of the training fold;
  the number of trees they reached is kept with the trial.
* **Storage**: an embedded journal file by default (declared once in dvc.yaml, kept across runs),
  or a database whose URL is read from an environment variable (never from params.yaml).
* **Study name**: derived from the prepared data, the folds, the seed, the tune params but
  ``n_trials`` and ``timeout``, and the code the trials run (:func:`trial_code`), so a killed run
  resumed by ``dvc repro`` continues the same study, a larger ``n_trials`` adds trials to it, and
  changed params or code start a new one. The stage reports the first ``n_trials`` trials
  (:func:`first_trials`).
* **Exactly n_trials**: trials are created under a lock (a PostgreSQL advisory lock, or a file
  lock for the journal and SQLite), only while fewer than ``n_trials`` are finished or running;
  the stage and any number of ``imbalance-lab tune-worker`` processes share that rule, and the
  stage waits until ``n_trials`` are finished. Trials of a dead worker are failed by heartbeat
  (database storage) and replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import socket
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .data import iter_splits
from .errors import ImbalanceLabError, TuneError
from .evaluation import LOWER_IS_BETTER, score_metric
from .features import make_preprocessor
from .models import MODELS, make_estimator, make_pipeline
from .package import code_fingerprint, package_sources
from .params import TUNE_MODELS

log = logging.getLogger(__name__)
#: The package's sources when this module was imported (see :func:`trial_code`).
_SOURCES_AT_IMPORT = package_sources()

TUNABLE = TUNE_MODELS
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 60
#: Share of a training fold held out for early stopping (boosting models).
EARLY_STOPPING_SHARE = 0.15
EARLY_STOPPING_ROUNDS = 30
#: The default most trees a boosting fit may grow before early stopping ends it (``tune.max_trees``).
MAX_TREES = 2000
#: PostgreSQL advisory lock key serialising the creation of Optuna's tables.
SCHEMA_LOCK_KEY = 0x1B_A1A7CE




# --------------------------------------------------------------------------------------------
# Search spaces
# --------------------------------------------------------------------------------------------


def suggest_params(trial: optuna.Trial, model: str) -> dict[str, Any]:
    """Sample one hyperparameter set of ``model`` from its search space.

    XGBoost and histogram gradient boosting may grow up to ``max_trees`` trees and stop early on
    an inner split (see :func:`fit_fold`); the number of trees is not searched.
    """
    if model == "xgboost":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 8),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
            "gamma": trial.suggest_float("gamma", 0.0, 5.0),
        }
    if model == "hist_gradient_boosting":
        return {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 64, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 5, 200, log=True),
            "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 10.0, log=True),
            "max_features": trial.suggest_float("max_features", 0.3, 1.0),
        }
    if model == "logistic_regression":
        return {"C": trial.suggest_float("C", 1e-3, 100.0, log=True)}
    raise TuneError(f"tune.model '{model}' cannot be tuned; use one of {', '.join(TUNABLE)}")


def trial_model_params(model: str, params: dict[str, Any], *, max_trees: int = MAX_TREES) -> dict[str, Any]:
    """The estimator parameters of a trial: its hyperparameters plus, for the boosting models,
    early stopping after at most ``max_trees`` trees (XGBoost stops on the split given by
    :func:`early_stopping_split`, histogram gradient boosting on its own ``validation_fraction``)."""
    if model == "xgboost":
        return {**params, "n_estimators": max_trees, "early_stopping_rounds": EARLY_STOPPING_ROUNDS}
    if model == "hist_gradient_boosting":
        return {**params, "max_iter": max_trees, "early_stopping": True, "validation_fraction": EARLY_STOPPING_SHARE,
                "n_iter_no_change": EARLY_STOPPING_ROUNDS, "scoring": "loss"}
    return dict(params)


def early_stopping_split(train: np.ndarray, y: np.ndarray, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """XGBoost's rows to fit on and rows to stop on: a stratified ``EARLY_STOPPING_SHARE`` of the
    training fold is held out."""
    fit_idx, stop_idx = train_test_split(train, test_size=EARLY_STOPPING_SHARE, stratify=y[train], random_state=seed)
    return fit_idx, stop_idx


def _preprocess_training(model: str, pre: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, *, seed: int,
                         dtype: Any = None) -> tuple[Any, np.ndarray, tuple[Any, np.ndarray] | None]:
    """Fit a trial's preprocessing ``pre`` on a training fold: the model's input, its labels and,
    for XGBoost, the early-stopping rows ``(X_stop, y_stop)`` (preprocessing fitted without them)."""
    cast = (lambda a: np.asarray(a, dtype=dtype)) if dtype is not None else (lambda a: a)  # noqa: E731
    if model == "xgboost":
        fit_idx, stop_idx = early_stopping_split(train, y, seed=seed)
        pre.fit(X.iloc[fit_idx], y[fit_idx])
        return cast(pre.transform(X.iloc[fit_idx])), y[fit_idx], (cast(pre.transform(X.iloc[stop_idx])), y[stop_idx])
    return cast(pre.fit_transform(X.iloc[train], y[train])), y[train], None  # what Pipeline.fit gives the model


def _fit_estimator(model: str, est: Any, X_fit: Any, y_fit: np.ndarray, stop: tuple[Any, np.ndarray] | None) -> int | None:
    """Fit a trial's (preprocessed-input) estimator; the number of trees it kept, if a boosting model."""
    if model == "xgboost":
        est.fit(X_fit, y_fit, eval_set=[stop], verbose=False)
        return int(est.best_iteration) + 1
    est.fit(X_fit, y_fit)
    return int(est.n_iter_) if model == "hist_gradient_boosting" else None


def fit_fold(model: str, params: dict[str, Any], schema: dict[str, Any], X: pd.DataFrame, y: np.ndarray,
             train: np.ndarray, *, seed: int, n_jobs: int = 1, max_trees: int = MAX_TREES) -> tuple[Any, int | None]:
    """Fit one trial's pipeline on a training fold, as a trial does.

    Boosting models hold out a stratified ``EARLY_STOPPING_SHARE`` of the training fold and stop
    adding trees when its log loss has not improved for ``EARLY_STOPPING_ROUNDS`` rounds, or at
    ``max_trees`` trees (:func:`trial_model_params`).

    Returns
    -------
    (pipeline, n_trees)
        The fitted pipeline (preprocessing and model) and the number of trees used (None for
        other models).
    """
    with threadpool_limits(limits=n_jobs):
        pipe = make_pipeline(model, schema, seed=seed, n_jobs=n_jobs if model == "xgboost" else 1,
                             params=trial_model_params(model, params, max_trees=max_trees))
        X_fit, y_fit, stop = _preprocess_training(model, pipe.named_steps["preprocess"], X, y, train, seed=seed)
        return pipe, _fit_estimator(model, pipe.named_steps["model"], X_fit, y_fit, stop)


def fit_predict_fold(model: str, params: dict[str, Any], schema: dict[str, Any], X: pd.DataFrame, y: np.ndarray,
                     train: np.ndarray, val: np.ndarray, *, seed: int, n_jobs: int = 1,
                     max_trees: int = MAX_TREES) -> tuple[np.ndarray, int | None]:
    """Fit one trial's pipeline on a training fold (:func:`fit_fold`) and predict its validation fold.

    Returns
    -------
    (proba, n_trees)
        Validation probabilities and the number of trees used (None for other models).
    """
    pipe, n_trees = fit_fold(model, params, schema, X, y, train, seed=seed, n_jobs=n_jobs, max_trees=max_trees)
    with threadpool_limits(limits=n_jobs):
        return pipe.predict_proba(X.iloc[val])[:, 1], n_trees


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


def _quantile_matrices(X_fit: np.ndarray, y_fit: np.ndarray, X_stop: np.ndarray, y_stop: np.ndarray, *,
                       n_jobs: int) -> tuple[Any, Any, tuple[Any, int]]:
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


def prepare_fold(model: str, schema: dict[str, Any], X: pd.DataFrame, y: np.ndarray, train: np.ndarray,
                 val: np.ndarray, *, seed: int, n_jobs: int = 1) -> PreparedFold:
    """Fit the preprocessing of ``model`` on a training fold and transform the fold's parts.

    The same rows, split and preprocessing as :func:`fit_fold`. For XGBoost, the training and
    early-stopping rows become the matrices XGBoost fits on (built with ``n_jobs`` threads, the
    threads of the fits that use them) and the validation rows are kept as float32, which XGBoost
    converts its input to anyway: the fitted trees and the predictions are identical to
    :func:`fit_predict_fold`'s.
    """
    spec = MODELS[model]
    pre = make_preprocessor(schema, encoding=spec.encoding, scale=spec.scale)
    if model != "xgboost":
        X_fit, y_fit, _ = _preprocess_training(model, pre, X, y, train, seed=seed)
        return PreparedFold(val=pre.transform(X.iloc[val]), fit=X_fit, y_fit=y_fit)
    X_fit, y_fit, (X_stop, y_stop) = _preprocess_training(model, pre, X, y, train, seed=seed, dtype=np.float32)
    fit_matrix, stop_matrix, settings = _quantile_matrices(X_fit, y_fit, X_stop, y_stop, n_jobs=n_jobs)
    return PreparedFold(val=np.asarray(pre.transform(X.iloc[val]), dtype=np.float32), fit_matrix=fit_matrix,
                        stop_matrix=stop_matrix, matrix_settings=settings)


def _train_xgboost(est: Any, fold: PreparedFold) -> tuple[np.ndarray, int]:
    """What ``est.fit(X_fit, y_fit, eval_set=[(X_stop, y_stop)])`` and ``est.predict_proba(X_val)``
    give (``est`` an unfitted ``XGBClassifier`` of the tune stage), on the fold's prebuilt matrices:
    the positive class's probabilities and the number of trees early stopping kept."""
    import xgboost

    if (est.max_bin, est.n_jobs) != fold.matrix_settings:
        raise ValueError(f"the fold's matrices were built for (max_bin, threads) {fold.matrix_settings}, "
                         f"the estimator has {(est.max_bin, est.n_jobs)}")
    if not est.early_stopping_rounds:
        raise ValueError("the fold's matrices are for fits that stop early; the estimator has no early_stopping_rounds")
    booster = xgboost.train(est.get_xgb_params(), fold.fit_matrix, est.get_num_boosting_rounds(),
                            evals=[(fold.stop_matrix, "validation_0")], early_stopping_rounds=est.early_stopping_rounds,
                            verbose_eval=False)
    n_trees = booster.best_iteration + 1
    return booster.inplace_predict(fold.val, iteration_range=(0, n_trees), missing=est.missing), n_trees


def fit_predict_prepared(model: str, params: dict[str, Any], fold: PreparedFold, *, seed: int,
                         n_jobs: int = 1, max_trees: int = MAX_TREES) -> tuple[np.ndarray, int | None]:
    """:func:`fit_predict_fold` on an already preprocessed fold (same estimator, same result).

    Thread limits are the caller's business (they are process-wide).
    """
    est = make_estimator(model, seed=seed, n_jobs=n_jobs if model == "xgboost" else 1,
                         params=trial_model_params(model, params, max_trees=max_trees))
    if model == "xgboost":
        return _train_xgboost(est, fold)
    n_trees = _fit_estimator(model, est, fold.fit, fold.y_fit, None)
    return est.predict_proba(fold.val)[:, 1], n_trees


def trees_param(model: str) -> str | None:
    """The estimator parameter that early stopping chose, if any."""
    return {"xgboost": "n_estimators", "hist_gradient_boosting": "max_iter"}.get(model)


# --------------------------------------------------------------------------------------------
# Study identity and storage
# --------------------------------------------------------------------------------------------


def study_name(*, model: str, tune_params: dict[str, Any], seed: int, data_fingerprint: str, code: str,
               n_folds: int) -> str:
    """A name that changes with anything that changes what the trials compute.

    ``timeout``, ``n_trials`` and the storage settings are left out: they change when the study
    stops or where it lives, not the trials. Seeded per slot (:class:`SlotSeededTPESampler`), a
    60-trial study begins with the 40-trial study's trials, so raising ``n_trials`` goes on with
    the same study (only the new trials run) and lowering it runs nothing: the stage describes
    the study's first ``n_trials`` trials (:func:`first_trials`).
    ``n_jobs`` counts as the threads each fit gets (:func:`fold_slots` over ``n_folds`` folds): a
    fit's floating-point sums may depend on its thread count, while the number of folds fitted
    at a time changes no trial (:func:`run_trial`), so ``n_jobs`` 1 to 5 on five folds name the
    same study.
    ``code`` (:func:`trial_code`) names the code the trials run and the Python and library
    versions: after a change to any of them, the stage runs a new study rather than resuming one
    that the current code would not have given.
    """
    relevant = {k: v for k, v in tune_params.items() if k not in ("timeout", "n_trials", "storage_env", "n_jobs")}
    relevant["threads_per_fit"] = fold_slots(n_folds, tune_params["n_jobs"])[1]
    blob = json.dumps({"params": relevant, "seed": seed, "data": data_fingerprint, "code": code}, sort_keys=True)
    return f"tune-{model}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


#: Libraries whose versions are part of :func:`trial_code` (the trials call them).
TRIAL_LIBRARIES = ("numpy", "optuna", "pandas", "scipy", "sklearn", "threadpoolctl", "xgboost")


def trial_code(sources: dict[str, str] | None = None) -> str:
    """What identifies the code a trial runs: a fingerprint of this module and of the package
    modules it imports (:func:`imbalance_lab.package.code_fingerprint`: comments, docstrings
    and formatting left out; messages count), the Python version (major.minor: syntax trees
    differ between them) and the versions of :data:`TRIAL_LIBRARIES`.

    Parameters
    ----------
    sources : dict, optional
        Module name to source. Default: the package's sources as they were when this module was
        imported, so a process whose files were edited afterwards (a JupyterLab kernel not
        restarted) still names the code it runs.
    """
    import importlib
    import sys

    sources = _SOURCES_AT_IMPORT if sources is None else sources
    versions = ",".join(f"{lib}={importlib.import_module(lib).__version__}" for lib in TRIAL_LIBRARIES)
    python = "{}.{}".format(*sys.version_info[:2])
    return f"{code_fingerprint(['tuning'], sources=sources)};python={python},{versions}"


def fingerprint(*frames: pd.DataFrame) -> str:
    """A content hash of data frames (values and column names)."""
    h = hashlib.sha256()
    for df in frames:
        h.update(json.dumps(list(map(str, df.columns))).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class Storage:
    """Where a study lives.

    Attributes
    ----------
    storage : optuna storage
    kind : str
        "journal" (embedded file) or the database dialect ("postgresql", "sqlite", ...).
    lock_key : str
        Path of the lock file (file storages) or the URL (databases); never written to outputs.
    description : str
        A secret-free description for reports, e.g. "env:IMBALANCE_LAB_OPTUNA_STORAGE (postgresql)".
    """

    storage: Any
    kind: str
    lock_key: str
    description: str


class JournalFlock:
    """The journal file's write lock: an ``fcntl.flock`` on ``path``, which the operating system
    releases when its holder dies.

    Optuna's default journal lock is a symlink ``<journal>.lock`` that a SIGKILLed writer leaves
    behind. Its grace period cannot break it when the journal path is relative (``stat`` follows
    the link relative to its own directory, fails, and the waiter retries forever): a run killed
    while appending to the study would make every later run hang. A flock has no stale state.
    Local file systems only; for several machines use database storage.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._held = threading.local()

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._held.fd = fd
        return True

    def release(self) -> None:
        fd = getattr(self._held, "fd", None)
        if fd is None:
            raise RuntimeError(f"{self.path}: lock released but not held")
        self._held.fd = None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def open_storage(*, journal_path: str | Path, storage_env: str) -> Storage:
    """The study storage: a database if ``$storage_env`` holds a URL, else the journal file."""
    url = os.environ.get(storage_env, "").strip()
    if not url:
        path = Path(journal_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        backend = JournalFileBackend(str(path), lock_obj=JournalFlock(str(path) + ".flock"))
        return Storage(JournalStorage(backend), "journal", str(path) + ".create-lock", f"journal file {path}")
    import sqlalchemy

    # the journal file is a DVC output of the stage: it must exist with a database too (as it
    # is: the embedded store keeps its own studies)
    Path(journal_path).parent.mkdir(parents=True, exist_ok=True)
    Path(journal_path).touch(exist_ok=True)
    try:
        dialect = sqlalchemy.engine.make_url(url).get_backend_name()
    except Exception:
        raise TuneError(f"${storage_env} does not hold a valid database URL (e.g. postgresql://user:pw@host/db); fix it") from None
    if dialect == "postgresql" and "+" not in url.split("://", 1)[0]:
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    for attempt in range(6):
        try:
            with _schema_lock(url, dialect):
                storage = optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                                                     engine_kwargs={"pool_pre_ping": True})
            break
        except Exception as exc:
            kind = type(getattr(exc, "orig", None) or exc).__name__
            # processes starting together race to create Optuna's tables: retry those collisions
            if kind in ("UniqueViolation", "IntegrityError", "DuplicateTable", "DuplicateObject") and attempt < 5:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise TuneError(f"the Optuna storage from ${storage_env} ({dialect}) cannot be opened ({kind}); "
                            "check that the server is reachable and the URL is right") from None
    return Storage(storage, dialect, url, f"env:{storage_env} ({dialect})")


@contextlib.contextmanager
def _advisory_lock(url: str, key: int) -> Iterator[None]:
    """Hold the PostgreSQL session-level advisory lock ``key`` on a connection of its own."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        engine.dispose()


@contextlib.contextmanager
def _schema_lock(url: str, dialect: str) -> Iterator[None]:
    """Processes that open a new PostgreSQL storage at once race to create Optuna's tables:
    serialise that with an advisory lock (other databases: retries only)."""
    if dialect != "postgresql":
        yield
        return
    with _advisory_lock(url, SCHEMA_LOCK_KEY):
        yield


@contextlib.contextmanager
def creation_lock(storage: Storage, name: str) -> Iterator[None]:
    """Serialise trial creation among all processes of a study."""
    if storage.kind == "postgresql":
        with _advisory_lock(storage.lock_key, int(hashlib.sha256(name.encode()).hexdigest()[:15], 16)):
            yield
        return
    if storage.kind == "sqlite":
        lock_path = sqlalchemy_path(storage.lock_key) + ".create-lock"
    elif storage.kind == "journal":
        lock_path = storage.lock_key
    else:  # other databases: no cross-process lock; at most a few extra trials under races
        yield
        return
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def journal_owner(storage: Storage) -> Iterator[None]:
    """Hold the journal study's ownership for a run of the stage: an exclusive, non-blocking
    ``flock`` (released by the operating system when its holder dies), so a second run (the
    notebook open in JupyterLab while ``dvc repro`` runs the stage) stops with a one-line error
    instead of failing the first run's trials as a killed run's. Databases need none."""
    if storage.kind != "journal":
        yield
        return
    path = storage.lock_key.removesuffix(".create-lock") + ".owner-lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TuneError(f"{storage.description} is in use by another run of the tune stage; wait for it "
                            "to end or stop it, or give this run a database storage (tune.storage_env)") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sqlalchemy_path(url: str) -> str:
    """The file of a SQLite URL."""
    import sqlalchemy

    return sqlalchemy.engine.make_url(url).database or "optuna.sqlite"


def make_pruner(name: str, *, n_folds: int) -> optuna.pruners.BasePruner:
    """The pruner named in params ("wilcoxon", "median", "hyperband" or "none"); steps are folds.

    ``wilcoxon`` (:class:`optuna.pruners.WilcoxonPruner`) stops a trial once a one-sided Wilcoxon
    signed-rank test of its fold scores against the best trial's scores on the same folds gives
    p < 0.1: folds differ much more from one another (easy and hard folds) than settings do, and
    a paired test looks only at the differences. It cannot stop a trial before four folds (the
    smallest p of the exact test on n pairs is 2**-n). ``median`` compares the running mean with
    the median of earlier trials' running means at the same fold.
    """
    if name == "wilcoxon":
        with warnings.catch_warnings():  # experimental in Optuna: a warning, once per study load
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        # steps are 0, 1, ... (folds scored minus one) and the pruner is not asked after the last
        # fold: the largest step it is asked at is n_folds - 2, so every bracket's first check
        # comes before the last fold
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, n_folds - 2), reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise TuneError(f"tune.pruner '{name}' is unknown; use wilcoxon, median, hyperband or none")


def pairs_folds(study: optuna.Study) -> bool:
    """Whether the study's pruner compares trials fold by fold (the Wilcoxon pruner): then a trial
    reports each fold's own score, with the fold's index as the step, in an order shuffled per
    trial (as Optuna's documentation recommends, so that pruning does not always judge the same
    first folds); otherwise it reports running means in the stored fold order."""
    return isinstance(study.pruner, optuna.pruners.WilcoxonPruner)


def fold_order(n_folds: int, *, seed: int, slot: int, shuffle: bool) -> list[int]:
    """The order in which a trial evaluates the folds: the stored order, or a permutation drawn
    from (seed, the trial's slot), so the same study gives the same orders on every run and
    worker, and a trial replacing a failed one gets the failed one's order."""
    if not shuffle:
        return list(range(n_folds))
    return [int(i) for i in np.random.default_rng([seed, slot]).permutation(n_folds)]


#: Trial system attribute: the trial's place in the study (:class:`SlotSeededTPESampler`).
SLOT_ATTR = "imbalance_lab:slot"
#: The states of the trials that hold a place in the study (a failed trial's place is taken again).
HOLDING = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


class SlotSeededTPESampler(optuna.samplers.TPESampler):
    """Optuna's TPE sampler with every trial's random draws seeded from ``(seed, slot)``.

    A trial's slot is the number of other trials holding a place in the study (complete, pruned
    or running) when it is created, under the creation lock (:func:`work`): 0, 1, 2, ... in a
    run, and a trial replacing a failed one (a killed run's, a dead worker's) takes its slot
    again. :class:`optuna.samplers.TPESampler` draws from one random state per process, seeded
    once: a resumed run would replay the first trials' random draws, and the stage and every
    worker would propose the same start-up settings. Seeded per slot, every process draws
    different settings for different slots, and a run killed and resumed gives the same trials
    as one never interrupted (the history a trial is sampled from is the same, and so is its
    seed). The slot is kept with the trial (system attribute :data:`SLOT_ATTR`, see
    :func:`trial_slot`); it also fixes the trial's fold order (:func:`fold_order`).
    """

    def __init__(self, *, seed: int, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._slot_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        # the whole study: under the hyperband pruner, ``study`` holds the trial's bracket only
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False, states=HOLDING)
        slot = sum(1 for t in trials if t._trial_id != trial._trial_id)
        study._storage.set_trial_system_attr(trial._trial_id, SLOT_ATTR, slot)
        tpe, startup = np.random.SeedSequence([self._slot_seed, slot]).generate_state(2)
        self._rng.rng.seed(int(tpe))
        self._random_sampler._rng.rng.seed(int(startup))
        super().before_trial(study, trial)


#: The tune stage's TPE sampler draws this many trials at random before it models the results.
N_STARTUP_TRIALS = 10


def make_sampler(seed: int) -> SlotSeededTPESampler:
    """The tune stage's sampler: multivariate TPE after :data:`N_STARTUP_TRIALS` random trials,
    seeded per slot."""
    return SlotSeededTPESampler(seed=seed, n_startup_trials=N_STARTUP_TRIALS, multivariate=True)


def trial_slot(trial: optuna.Trial) -> int:
    """The trial's slot, set when it was created (:class:`SlotSeededTPESampler`); the trial's
    number in a study whose sampler sets none."""
    return int(trial.storage.get_trial_system_attrs(trial._trial_id).get(SLOT_ATTR, trial.number))


def first_trials(study: optuna.Study, n_trials: int) -> optuna.Study:
    """The study as a run of ``n_trials`` trials leaves it: its first ``n_trials`` finished
    trials in the order they were created, numbered 0, 1, ..., in an in-memory copy (same name,
    direction, sampler and pruner) that the reports are made of.

    A trial depends only on the trials created before it (seeded by its slot, the number of
    those still holding a place: :class:`SlotSeededTPESampler`), so these are the trials a study
    of ``n_trials`` gives: after a run with a larger ``n_trials`` (an experiment), a smaller one
    runs no trial and reports what a run of that size reports. A killed and resumed run is
    reported like an uninterrupted one: the failed trial is left out and its replacement takes
    its number. Fewer trials when fewer are finished (a timeout).
    """
    finished = study.get_trials(deepcopy=False, states=FINISHED)[:n_trials]
    view = optuna.create_study(study_name=study.study_name, directions=study.directions, sampler=study.sampler,
                               pruner=study.pruner)
    view.add_trials(finished)
    return view


def load_study(storage: Storage, *, name: str, seed: int, pruner: str, n_folds: int, metric: str,
               create: bool = True, poll_seconds: float = 1.0, warn_after: float = GRACE_SECONDS) -> optuna.Study:
    """Create the study or load it if it exists (resume).

    An existing study is loaded without writing: ``create_study(load_if_exists=True)`` appends a
    creation record to the journal file on every call, so a resumed, already complete study
    would change the journal.

    Without ``create`` (a worker), wait until the study exists, checking every ``poll_seconds``:
    only the tune stage creates it. After ``warn_after`` seconds a warning says that if the
    stage is running, this process's params, data, code or library versions differ from the
    stage's (its study has another name), rather than starting a study of its own."""
    direction = "minimize" if metric in LOWER_IS_BETTER else "maximize"
    sampler = make_sampler(seed)
    pruned_by = make_pruner(pruner, n_folds=n_folds)
    since, warned = None, False
    while True:
        try:
            return optuna.load_study(study_name=name, storage=storage.storage, sampler=sampler, pruner=pruned_by)
        except KeyError:  # not there yet; another process may be creating it at the same moment
            if create:
                return optuna.create_study(study_name=name, storage=storage.storage, load_if_exists=True,
                                           direction=direction, sampler=sampler, pruner=pruned_by)
        if since is None:
            since = time.monotonic()
            log.info("waiting for the tune stage to create study %s in %s", name, storage.description)
        elif not warned and time.monotonic() - since >= warn_after:
            log.warning("still waiting for study %s after %.0f s: if the tune stage is running, its report names "
                        "another study, so this worker's params, data, code or library versions differ from the "
                        "stage's", name, time.monotonic() - since)
            warned = True
        time.sleep(poll_seconds)


# --------------------------------------------------------------------------------------------
# Running trials
# --------------------------------------------------------------------------------------------


@dataclass
class TuneTask:
    """Everything a process needs to run trials of one study."""

    model: str
    schema: dict[str, Any]
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


def run_trial(task: TuneTask, trial: optuna.Trial, *, heartbeat: Callable[[], None] | None = None) -> float:
    """Evaluate one trial on the stored folds, reporting an intermediate value after each fold.

    The value is the running mean, in the stored fold order, or, when the study's pruner pairs
    folds (:func:`pairs_folds`), the fold's own score with the fold index as the step, in the
    trial's own order (:func:`fold_order`).

    Up to ``task.n_jobs`` folds are fitted at a time (see :func:`fold_slots`) from a queue
    (:func:`in_order`): a fit starts as soon as another ends, so no core waits for the slowest
    fit of a batch. The folds are still reported one by one in the trial's order, so the
    intermediate values, the pruning decisions and the result are the same as fitting them one
    after the other. A fit starts at most ``LOOKAHEAD`` times the fits at a time ahead of the
    next fold to report; none starts
    once the trial is pruned (those already running finish and are discarded). The pruner is
    not asked after the last fold: a trial with every fold scored is complete, with its mean
    (pruning it then would save nothing and hide its value from the sampler).

    Raises
    ------
    optuna.TrialPruned
        When the pruner says so.
    """
    params = suggest_params(trial, task.model)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    splits = list(iter_splits(task.folds))
    paired = pairs_folds(trial.study)
    order = fold_order(len(splits), seed=task.seed, slot=trial_slot(trial), shuffle=paired)
    width, threads = fold_slots(len(splits), task.n_jobs)

    def prepared(step: int) -> PreparedFold:
        """The fold's preprocessed parts: once per fold for the whole study, in this thread, under
        the fits' thread limit (a process-wide setting: changing it would change running fits')."""
        key = (task.model, task.seed, step, threads)
        if key not in task.prepared:
            _, _, train, val = splits[step]
            task.prepared[key] = prepare_fold(task.model, task.schema, task.X, task.y, train, val, seed=task.seed,
                                              n_jobs=threads)
        return task.prepared[key]

    def fit(fold: PreparedFold) -> tuple[np.ndarray, int | None]:
        return fit_predict_prepared(task.model, params, fold, seed=task.seed, n_jobs=threads, max_trees=task.max_trees)

    scores, trees = [], []
    with threadpool_limits(limits=threads), ThreadPoolExecutor(max_workers=width) as pool:
        results = in_order(lambda position: pool.submit(fit, prepared(order[position])), len(order), width=width)
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
        trial.set_user_attr("n_trees", int(round(float(np.mean(trees)))))
    return float(np.mean(scores))


@contextlib.contextmanager
def heartbeat_thread(heartbeat: Callable[[], None] | None, *, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Record a trial's heartbeat every ``every`` seconds while it runs.

    A fold of a large data set can take longer than the grace period; heartbeats recorded only
    between folds would let other processes fail a live trial as stale.
    """
    if heartbeat is None:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            try:
                heartbeat()
            except Exception as exc:  # the next beat (or the trial's own report) retries
                log.warning("heartbeat failed (%s)", type(exc).__name__)

    thread = threading.Thread(target=beat, name="trial-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials per state (complete, pruned, running, fail, waiting)."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {s.name.lower(): sum(1 for x in states if x == s) for s in TrialState}


def trials_seconds(study: optuna.Study) -> float:
    """Seconds spent in the study's finished trials (complete or pruned), summed over every run
    and worker that contributed: what the study cost, where a resumed run's own wall time only
    counts the trials it added."""
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return float(sum((t.datetime_complete - t.datetime_start).total_seconds() for t in finished
                     if t.datetime_start is not None and t.datetime_complete is not None))


def fail_stale(study: optuna.Study, storage: Storage, *, assume_dead: bool = False) -> int:
    """Fail trials of processes that died: by heartbeat for databases; for the journal file
    (one machine, one study owner) every RUNNING trial when ``assume_dead``."""
    if storage.kind == "journal":
        if not assume_dead:
            return 0
        stale = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        for t in stale:
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        return len(stale)
    before = counts(study)["fail"]
    optuna.storages.fail_stale_trials(study)
    return counts(study)["fail"] - before


def work(study: optuna.Study, storage: Storage, task: TuneTask, *, n_trials: int, timeout: float | None = None,
         wait: bool = True, poll_seconds: float = 2.0, progress: bool = True) -> dict[str, int]:
    """Run trials until the study has ``n_trials`` finished (complete or pruned) trials.

    A trial is created only under the creation lock and only while fewer than ``n_trials``
    trials are finished or running, so concurrent processes never create more than needed.
    With ``wait`` (the stage), the process then waits for other processes' running trials to
    finish (and replaces those of dead processes: by heartbeat for a database; with the journal
    file, which has one owner at a time (:func:`journal_owner`), every running trial it finds
    between its own trials); without it (a worker), it returns when nothing is left to create.

    ``timeout`` seconds after the start no trial is started. The stage then warns that the
    results describe fewer than ``n_trials`` trials, and stops with a one-line error if no
    trial is complete (there is nothing to report).

    Returns
    -------
    dict
        Trial counts per state at the end.
    """
    with journal_owner(storage) if wait else contextlib.nullcontext():
        timed_out = _work(study, storage, task, n_trials=n_trials, timeout=timeout, wait=wait,
                          poll_seconds=poll_seconds, progress=progress)
    c = counts(study)
    if timed_out and wait:
        finished = c["complete"] + c["pruned"]
        if not c["complete"]:
            raise TuneError(f"tune.timeout ({timeout:g} s) passed before any trial of study {study.study_name} was "
                            "complete; raise tune.timeout or set it to null")
        if finished < n_trials:
            log.warning("tune.timeout (%g s) passed after %d of the %d trials (tune.n_trials): the results describe "
                        "those; raise tune.timeout or set it to null and run the stage again to finish the same study",
                        timeout, finished, n_trials)
    return c


def _work(study: optuna.Study, storage: Storage, task: TuneTask, *, n_trials: int, timeout: float | None,
          wait: bool, poll_seconds: float, progress: bool) -> bool:
    """The trials of :func:`work`; whether the timeout ended them."""
    start = time.monotonic()
    bar = tqdm(total=n_trials, desc=f"tune {task.model}", disable=not progress, mininterval=1.0)
    bar.update(min(n_trials, sum(counts(study)[s.name.lower()] for s in FINISHED)))
    is_db = isinstance(storage.storage, optuna.storages.RDBStorage)
    timed_out = False
    while True:
        if timeout is not None and time.monotonic() - start > timeout:
            log.info("timeout of %s s reached", timeout)
            timed_out = True
            break
        if is_db:
            fail_stale(study, storage)
        with creation_lock(storage, study.study_name):
            if storage.kind == "journal" and wait:
                # the journal has one owner, the stage: between its own trials, a RUNNING trial is
                # one a killed run left behind (waiting for it would never end)
                stale = fail_stale(study, storage, assume_dead=True)
                if stale:
                    log.warning("%d trial(s) left running by a killed run marked failed; they are replaced", stale)
            c = counts(study)
            finished = c["complete"] + c["pruned"]
            trial = study.ask() if finished + c["running"] < n_trials else None
        if trial is None:
            if finished >= n_trials or not wait:
                break
            time.sleep(poll_seconds)
            bar.n = min(n_trials, finished)
            bar.refresh()
            continue
        heartbeat = (lambda tid=trial._trial_id: storage.storage.record_heartbeat(tid)) if is_db else None
        if heartbeat:
            heartbeat()
        try:
            with heartbeat_thread(heartbeat):
                value = run_trial(task, trial, heartbeat=heartbeat)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except Exception:
            study.tell(trial, state=TrialState.FAIL)
            raise
        else:
            study.tell(trial, value)
        bar.update(1)
    bar.close()
    return timed_out


def at_search_bounds(trial: optuna.trial.FrozenTrial, *, margin: float = 0.02) -> dict[str, str]:
    """The trial's parameters at an end of their search range: name -> ``"lower"`` or ``"upper"``.

    A float counts when it lies within ``margin`` of the range from an end (on the log scale for a
    log-uniform range); an integer when it is the end itself. The best trial at a bound suggests
    the optimum may lie outside the range.
    """
    import math

    found = {}
    for name, dist in trial.distributions.items():
        value = trial.params.get(name)
        if not isinstance(dist, (optuna.distributions.FloatDistribution, optuna.distributions.IntDistribution)):
            continue
        if isinstance(dist, optuna.distributions.IntDistribution):
            side = "lower" if value <= dist.low else "upper" if value >= dist.high else None
        else:
            scale = math.log if dist.log else float
            where = (scale(value) - scale(dist.low)) / (scale(dist.high) - scale(dist.low))
            side = "lower" if where <= margin else "upper" if where >= 1 - margin else None
        if side:
            found[name] = side
    return found


def best_params(study: optuna.Study, *, model: str) -> dict[str, Any]:
    """The best trial's hyperparameters, with the number of trees early stopping chose."""
    best = study.best_trial
    params = dict(best.params)
    name = trees_param(model)
    if name and "n_trees" in best.user_attrs:
        params[name] = int(best.user_attrs["n_trees"])
        if model == "hist_gradient_boosting":
            params["early_stopping"] = False
    return params


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """Finished trials with their value, state, ``folds_scored`` and parameters; the measured
    duration is in ``duration_seconds`` (it varies between runs; everything else does not).

    A pruned trial's ``value`` is the mean over the folds it reached (Optuna keeps the last
    reported value, which under the Wilcoxon pruner is one fold's score)."""
    df = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    df = df[df["state"].isin(["COMPLETE", "PRUNED"])].copy()
    reported = {t.number: list(t.intermediate_values.values()) for t in study.get_trials(deepcopy=False)}
    df.insert(3, "folds_scored", [len(reported[n]) for n in df["number"]])
    if pairs_folds(study):  # otherwise the last reported value is already the running mean
        pruned = df["state"] == "PRUNED"
        df.loc[pruned, "value"] = [float(np.mean(reported[n])) for n in df.loc[pruned, "number"]]
    df["duration_seconds"] = df.pop("duration").dt.total_seconds()
    df.columns = [c.replace("params_", "").replace("user_attrs_", "") for c in df.columns]
    return df.sort_values("number").reset_index(drop=True)


def setup_study(*, tune: dict[str, Any], seed: int, train: pd.DataFrame, folds: pd.DataFrame, schema: dict[str, Any],
                journal_path: str | Path, create: bool = True) -> tuple[optuna.Study, Storage, TuneTask]:
    """Open (or create) the study of these params and data, and the task its trials run.

    Parameters
    ----------
    tune : dict
        The ``tune`` params section.
    seed : int
    train, folds, schema
        The prepared training rows, the stored folds and the schema.
    journal_path : str or Path
        The embedded storage, used when ``$<tune.storage_env>`` is not set.
    create : bool
        Create the study if it does not exist (the stage); otherwise wait for it (a worker,
        see :func:`load_study`).
    """
    from .data import split_xy

    if tune["model"] not in TUNABLE:
        raise TuneError(f"tune.model '{tune['model']}' cannot be tuned; use one of {', '.join(TUNABLE)}")
    X, y = split_xy(train, schema)
    n_folds = folds.shape[1] * (int(folds.iloc[:, 0].max()) + 1)
    name = study_name(model=tune["model"], tune_params=tune, seed=seed, data_fingerprint=fingerprint(train, folds),
                      code=trial_code(), n_folds=n_folds)
    storage = open_storage(journal_path=journal_path, storage_env=tune["storage_env"])
    study = load_study(storage, name=name, seed=seed, pruner=tune["pruner"], n_folds=n_folds, metric=tune["metric"],
                       create=create)
    task = TuneTask(model=tune["model"], schema=schema, X=X, y=y, folds=folds, metric=tune["metric"], seed=seed, n_jobs=tune["n_jobs"],
                    max_trees=tune["max_trees"])
    return study, storage, task
