"""Running trials: the tune stage and ``imbalance-lab tune-worker`` processes share one loop.

A trial is created only under the creation lock and only while fewer than ``n_trials`` trials
are finished or running, so any number of processes never create more than needed; the stage
then waits until ``n_trials`` are finished. Trials of a dead worker are failed by heartbeat
(database storage) and replaced.

Each process runs its trials one after the other; their fold fits run in its threads or, when its
environment names a Dask scheduler (``$IMBALANCE_LAB_DASK_SCHEDULER``), on that cluster
(:mod:`imbalance_lab.tuning.cluster`): the stage and any ``tune-worker`` whose environment names the
same scheduler share its workers (and the folds prepared there), while the study's database shares
the trials between them. When the stage's study is over, the workers drop its data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import optuna
from optuna.trial import TrialState

from ..data.prepared import PreparedData
from ..errors import TuneError
from ..evaluation.parallel import scheduler_address
from ..progress import progress_bar
from .objective import TuneTask, run_trial
from .results import FINISHED, counts
from .storage import HEARTBEAT_SECONDS, STORAGE_ENV, Storage, creation_lock, journal_owner
from .study import setup_study

log = logging.getLogger(__name__)


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


def fail_stale(study: optuna.Study, storage: Storage, *, assume_dead: bool = False) -> int:
    """Fail trials of processes that died: by heartbeat for databases; for the journal file
    (one machine, one study owner) every RUNNING trial when ``assume_dead``."""
    if storage.kind == "journal":
        if not assume_dead:
            return 0
        stale = list(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        for t in stale:
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        return len(stale)
    before = counts(study)["fail"]
    optuna.storages.fail_stale_trials(study)
    return counts(study)["fail"] - before


def work(
    study: optuna.Study,
    storage: Storage,
    task: TuneTask,
    *,
    n_trials: int,
    timeout: float | None = None,
    wait: bool = True,
    poll_seconds: float = 2.0,
    progress: bool = True,
) -> dict[str, int]:
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
        timed_out = _work(
            study,
            storage,
            task,
            n_trials=n_trials,
            timeout=timeout,
            wait=wait,
            poll_seconds=poll_seconds,
            progress=progress,
        )
    if wait and scheduler_address() is not None:  # the study is over: the Dask workers may drop its data
        from .cluster import release

        release(task)
    c = counts(study)
    if timed_out and wait:
        finished = c["complete"] + c["pruned"]
        if not c["complete"]:
            raise TuneError(
                f"tune.timeout ({timeout:g} s) passed before any trial of study {study.study_name} was "
                "complete; raise tune.timeout or set it to null"
            )
        if finished < n_trials:
            log.warning(
                "tune.timeout (%g s) passed after %d of the %d trials (tune.n_trials): the results describe "
                "those; raise tune.timeout or set it to null and run the stage again to finish the same study",
                timeout,
                finished,
                n_trials,
            )
    return c


def _work(
    study: optuna.Study,
    storage: Storage,
    task: TuneTask,
    *,
    n_trials: int,
    timeout: float | None,
    wait: bool,
    poll_seconds: float,
    progress: bool,
) -> bool:
    """The trials of :func:`work`; whether the timeout ended them."""
    start = time.monotonic()
    bar = progress_bar(total=n_trials, desc=f"tune {task.model}", disable=not progress, leave=True)
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


def require_database_storage(storage_env: str = STORAGE_ENV) -> None:
    """Stop with a one-line :class:`~imbalance_lab.errors.TuneError` unless ``$storage_env`` names
    a database: workers on other machines share a study only through one."""
    if not os.environ.get(storage_env, "").strip():
        raise TuneError(
            f"tune-worker needs a shared database: export {storage_env}=postgresql://user:password@host/db "
            "(the same value as for the tune stage)"
        )


def run_worker(
    *,
    tune: dict[str, Any],
    seed: int,
    prepared: PreparedData,
    journal_path: str,
    n_jobs: int,
    storage_env: str = STORAGE_ENV,
) -> dict[str, int]:
    """Join the study of these params, data and code (once the tune stage has created it) and run
    trials until none is left to create. Needs database storage (``$storage_env``).

    Parameters
    ----------
    tune : dict
        The ``tune`` params section (the same values as the stage's).
    seed : int
    prepared : PreparedData
        The prepared data (the same as the stage's).
    journal_path : str
        The stage's journal path (the study's name does not depend on it).
    n_jobs : int
        Cores this worker uses.
    storage_env : str
        The environment variable holding the database URL (:data:`STORAGE_ENV`).

    Returns
    -------
    dict
        Trial counts per state at the end.
    """
    require_database_storage(storage_env)
    study, storage, task = setup_study(
        tune=tune,
        seed=seed,
        prepared=prepared,
        journal_path=journal_path,
        n_jobs=n_jobs,
        storage_env=storage_env,
        create=False,
    )
    log.info("worker joined study %s (%s)", study.study_name, storage.description)
    return work(study, storage, task, n_trials=tune["n_trials"], timeout=tune["timeout"], wait=False)
