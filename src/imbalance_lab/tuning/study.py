"""The study: its identity, and opening it for the tune stage or a worker.

A study's name (:func:`study_name`) is a hash of everything that decides what its trials compute
and nothing else, so that a killed run resumed by ``dvc repro`` continues the same study, a
larger ``n_trials`` adds trials to it, and a real change starts a new one:

* the tune params that reach the trials (all but ``n_trials`` and ``timeout``), the threads each
  fit gets (of the machine's ``n_jobs``), ``seed`` and a content hash of the prepared data and
  folds;
* the model's search space, as data (:data:`imbalance_lab.tuning.space.SEARCH_SPACES`);
* :data:`TRIAL_CODE_VERSION`, the version of the code the trials run, and the versions of Python
  and the libraries it calls.

Why a version number and not a fingerprint of the source: the source's spelling is not what a
trial computes. A fingerprint of the syntax trees started a new study whenever code moved
between modules or a message was reworded (13 commits of this project did), while a fingerprint
of the results on a probe data set would differ between machines whose CPUs round differently,
and then workers would wait for a study the stage never creates. The number changes only when a
trial's results do; ``tests/tuning/test_study_identity.py`` runs a small probe study and fails
when its trials change and the number does not.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.distributions import distribution_to_json

from ..data.prepared import PreparedData
from ..data.split import split_xy
from ..evaluation.metrics import direction
from .objective import TuneTask, fold_slots
from .pruners import make_pruner
from .sampler import make_sampler
from .space import search_space
from .storage import GRACE_SECONDS, STORAGE_ENV, Storage, open_storage

log = logging.getLogger(__name__)

#: The version of what a trial computes from its params, data and search space: the fold fits
#: (preprocessing, the early-stopping split, the estimator's parameters), the scoring, the fold
#: order, what is reported to the pruner and the sampler's seeding. Raise it with any change to
#: those (the probe test says when).
TRIAL_CODE_VERSION = 1
#: Libraries whose versions are part of :func:`trial_code` (the trials call them).
TRIAL_LIBRARIES = ("numpy", "optuna", "pandas", "scipy", "sklearn", "threadpoolctl", "xgboost")


def trial_code() -> str:
    """What identifies the code a trial runs: :data:`TRIAL_CODE_VERSION`, the Python version
    (major.minor) and the versions of :data:`TRIAL_LIBRARIES`."""
    versions = ",".join(f"{lib}={importlib.import_module(lib).__version__}" for lib in TRIAL_LIBRARIES)
    python = "{}.{}".format(*sys.version_info[:2])
    return f"v{TRIAL_CODE_VERSION};python={python},{versions}"


def study_name(*, tune: dict[str, Any], seed: int, data_fingerprint: str, code: str, n_folds: int, n_jobs: int) -> str:
    """A name that changes with anything that changes what the trials compute.

    ``timeout``, ``n_trials`` and the storage settings are left out: they change when the study
    stops or where it lives, not the trials. Seeded per slot
    (:class:`~imbalance_lab.tuning.sampler.SlotSeededTPESampler`), a 60-trial study begins with
    the 40-trial study's trials, so raising ``n_trials`` goes on with the same study (only the new
    trials run) and lowering it runs nothing: the stage describes the study's first ``n_trials``
    trials (:func:`imbalance_lab.tuning.results.first_trials`). ``n_jobs`` counts as the threads
    each fit gets (:func:`~imbalance_lab.tuning.objective.fold_slots` over ``n_folds`` folds): a
    fit's floating-point sums may depend on its thread count, while the number of folds fitted at
    a time changes no trial, so ``n_jobs`` 1 to 5 on five folds name the same study.

    Parameters
    ----------
    tune : dict
        The ``tune`` params section.
    seed : int
    data_fingerprint : str
        :func:`fingerprint` of the training rows and the folds.
    code : str
        :func:`trial_code`.
    n_folds : int
        Folds a trial fits.
    n_jobs : int
        Cores the study uses (a setting of the machine, not a param).
    """
    model = tune["model"]
    space = {name: json.loads(distribution_to_json(dist)) for name, dist in search_space(model).items()}
    relevant = {k: v for k, v in tune.items() if k not in ("timeout", "n_trials")}
    relevant["threads_per_fit"] = fold_slots(n_folds, n_jobs)[1]
    blob = json.dumps(
        {"params": relevant, "seed": seed, "data": data_fingerprint, "space": space, "code": code}, sort_keys=True
    )
    return f"tune-{model}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def fingerprint(*frames: pd.DataFrame) -> str:
    """A content hash of data frames (values and column names)."""
    h = hashlib.sha256()
    for df in frames:
        h.update(json.dumps(list(map(str, df.columns))).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def load_study(
    storage: Storage,
    *,
    name: str,
    seed: int,
    pruner: str,
    n_folds: int,
    metric: str,
    create: bool = True,
    poll_seconds: float = 1.0,
    warn_after: float = GRACE_SECONDS,
) -> optuna.Study:
    """Create the study or load it if it exists (resume).

    An existing study is loaded without writing: ``create_study(load_if_exists=True)`` appends a
    creation record to the journal file on every call, so a resumed, already complete study
    would change the journal.

    Without ``create`` (a worker), wait until the study exists, checking every ``poll_seconds``:
    only the tune stage creates it. After ``warn_after`` seconds a warning says that if the
    stage is running, this process's params, data, code or library versions differ from the
    stage's (its study has another name), rather than starting a study of its own."""
    sampler = make_sampler(seed)
    pruned_by = make_pruner(pruner, n_folds=n_folds)
    since, warned = None, False
    while True:
        try:
            return optuna.load_study(study_name=name, storage=storage.storage, sampler=sampler, pruner=pruned_by)
        except KeyError:  # not there yet; another process may be creating it at the same moment
            if create:
                return optuna.create_study(
                    study_name=name,
                    storage=storage.storage,
                    load_if_exists=True,
                    direction=direction(metric),
                    sampler=sampler,
                    pruner=pruned_by,
                )
        if since is None:
            since = time.monotonic()
            log.info("waiting for the tune stage to create study %s in %s", name, storage.description)
        elif not warned and time.monotonic() - since >= warn_after:
            log.warning(
                "still waiting for study %s after %.0f s: if the tune stage is running, its report names "
                "another study, so this worker's params, data, code or library versions differ from the "
                "stage's",
                name,
                time.monotonic() - since,
            )
            warned = True
        time.sleep(poll_seconds)


def setup_study(
    *,
    tune: dict[str, Any],
    seed: int,
    prepared: PreparedData,
    journal_path: str | Path,
    n_jobs: int,
    storage_env: str = STORAGE_ENV,
    create: bool = True,
) -> tuple[optuna.Study, Storage, TuneTask]:
    """Open (or create) the study of these params and data, and the task its trials run.

    Parameters
    ----------
    tune : dict
        The ``tune`` params section.
    seed : int
    prepared : PreparedData
        The prepared data (its training rows, stored folds and schema).
    journal_path : str or Path
        The embedded storage, used when ``$storage_env`` is not set.
    n_jobs : int
        Cores the study uses.
    storage_env : str
        The environment variable that may hold a database URL (:data:`STORAGE_ENV`).
    create : bool
        Create the study if it does not exist (the stage); otherwise wait for it (a worker,
        see :func:`load_study`).
    """
    search_space(tune["model"])  # a model without a search space: one line, before any work
    train, folds, schema = prepared.train, prepared.folds, prepared.schema
    X, y = split_xy(train, schema)
    n_folds = folds.shape[1] * (int(folds.iloc[:, 0].max()) + 1)
    name = study_name(
        tune=tune,
        seed=seed,
        data_fingerprint=fingerprint(train, folds),
        code=trial_code(),
        n_folds=n_folds,
        n_jobs=n_jobs,
    )
    storage = open_storage(journal_path=journal_path, storage_env=storage_env)
    study = load_study(
        storage, name=name, seed=seed, pruner=tune["pruner"], n_folds=n_folds, metric=tune["metric"], create=create
    )
    task = TuneTask(
        model=tune["model"],
        schema=schema,
        X=X,
        y=y,
        folds=folds,
        metric=tune["metric"],
        seed=seed,
        n_jobs=n_jobs,
        max_trees=tune["max_trees"],
    )
    return study, storage, task
