"""A trial's fold fits on the Dask cluster named by ``$IMBALANCE_LAB_DASK_SCHEDULER``.

Only the fits go there (:func:`cluster_fits`). The trials stay in the process that runs them (the
tune stage, or an ``imbalance-lab tune-worker`` whose environment names the scheduler too), one
after the other as without the cluster: the sampler, the pruner and the study's storage are there,
and each trial's folds are scored and reported in its order. Each fit gets the threads a local fit
gets (:func:`~imbalance_lab.tuning.objective.fold_slots` of this machine's ``n_jobs``: the study's
name counts them, and XGBoost's quantile sketch and BLAS's sums may depend on them), as XGBoost's
threads and as the worker's BLAS threads (:class:`_BlasThreads`), so the trials, their values, the
pruning and the tuned model are those of a local run. Processes of one study (the stage and its
tune-workers) share what the workers keep: it is keyed by the data's digest.

What a worker process keeps, bounded (its memory outlives a stage; the stage that created the
study drops it at the end, :func:`release`):

* the training data (:data:`WORKER_DATA_SIZE` data sets). The process that runs trials sends it
  once (:func:`~imbalance_lab.evaluation.parallel.on_workers`), and each worker takes it once
  (:func:`_warm`) when first seen; a fit carries only the digest of its data, so the data does not
  move with every fit, and the scheduler places fits by load, not by where the data lies;
* the prepared folds (:class:`~imbalance_lab.tuning.objective.PreparedFold`: XGBoost's
  ``QuantileDMatrix`` objects cannot be pickled, so they are built where they are used), keyed by
  (data digest, model, seed, fold, threads), at most :data:`WORKER_FOLDS_SIZE`: a fold is prepared
  once per worker, not once per trial.

A worker that does not hold the data (it joined during a trial, or another study's data replaced
it) says so (:class:`NeedsData`) and gets the fit again with the data. A worker that dies while
fitting: the scheduler reruns the fit elsewhere. Data lost with it: the fits that needed it are
cancelled, the data is sent again and they are resubmitted
(:func:`~imbalance_lab.evaluation.parallel.lost_data`). A cluster left without workers, or a fit
that kills its workers: a one-line :class:`~imbalance_lab.errors.ClusterError`
(:func:`~imbalance_lab.evaluation.parallel.await_result`). Dask is imported only on this path.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..data.schema import Schema
from ..data.split import iter_splits
from ..errors import ClusterError
from ..evaluation.caches import digest, frame_digest, frame_for_workers
from ..evaluation.parallel import (
    SCHEDULER_ENV,
    await_result,
    cluster_client,
    lost_data,
    machine_log,
    on_workers,
    scheduler_address,
)
from . import objective

#: Data sets a worker process keeps (a study's training rows, labels and folds; a second study
#: sharing the worker replaces them).
WORKER_DATA_SIZE = 1
#: Prepared folds a worker process keeps, least recently used dropped first: two studies of the
#: default 10 folds.
WORKER_FOLDS_SIZE = 20


@dataclass(frozen=True)
class FoldFit:
    """One fit of a trial, as sent to a worker: which fold of which data, and the trial's model."""

    data_key: str
    model: str
    schema: Schema
    seed: int
    step: int
    threads: int
    params: dict[str, Any]
    max_trees: int

    @property
    def fold_key(self) -> tuple[str, str, int, int, int]:
        """The prepared fold's key in a worker's cache."""
        return (self.data_key, self.model, self.seed, self.step, self.threads)


class NeedsData(Exception):
    """Raised on a worker that holds neither the fold a fit needs nor the data to prepare it."""

    def __init__(self, worker: str) -> None:
        super().__init__(worker)
        self.worker = worker


# --------------------------------------------------------------------------------------------
# On a worker
# --------------------------------------------------------------------------------------------

#: data digest -> (X, y, folds), in a worker process.
_DATA: OrderedDict[str, tuple[pd.DataFrame, np.ndarray, pd.DataFrame]] = OrderedDict()
#: :attr:`FoldFit.fold_key` -> prepared fold, in a worker process.
_FOLDS: OrderedDict[tuple[str, str, int, int, int], objective.PreparedFold] = OrderedDict()
#: One lock per fold being prepared: two threads of a worker never prepare the same fold.
_PREPARING: dict[tuple[str, str, int, int, int], threading.Lock] = {}
#: Guards the three above.
_LOCK = threading.Lock()


#: Times a BLAS thread count is set before giving up (it is checked after each).
BLAS_ATTEMPTS = 50


def _set_blas_threads(threads: int) -> None:
    """Give the BLAS libraries ``threads`` threads each, if they have another count.

    OpenBLAS sometimes ignores a count set from a thread just after another thread set one (3
    times in 40 here); it takes it the next time, so the count is read back and set again. (It
    ignores every count set from another thread once the process's main thread has set one; a
    Dask worker's main thread runs its event loop and sets none.)

    Raises
    ------
    ClusterError
        The count was not taken after :data:`BLAS_ATTEMPTS` attempts.
    """
    from threadpoolctl import ThreadpoolController

    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    for _ in range(BLAS_ATTEMPTS):
        if all(lib.get_num_threads() == threads for lib in libs):
            return
        for lib in libs:
            lib.set_num_threads(threads)
        time.sleep(0.001)
    raise ClusterError(
        f"a Dask worker's BLAS library ignored {BLAS_ATTEMPTS} requests for {threads} threads (the threads a fit "
        "gets on the pipeline's machine; its result may depend on them): OpenBLAS takes no count from a task "
        "thread once the worker's main thread set one; start the workers with plain `dask worker`"
    )


class _BlasThreads:
    """The process-wide BLAS thread count for the fits running on a worker (in its task threads):
    each fit runs with the BLAS threads it gets locally (the stage's ``threadpool_limits``: a
    fit's floating-point sums may depend on them). Fits asking for the same count run together; one
    asking for another waits until they end. The count is left as set (restoring it from
    concurrent threads would race with the next fit's)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users, self._threads = 0, 0

    @contextlib.contextmanager
    def __call__(self, threads: int) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: self._users == 0 or self._threads == threads)
            if self._users == 0:
                _set_blas_threads(threads)
                self._threads = threads
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()


_blas_threads = _BlasThreads()


def _worker_address() -> str:
    from distributed import get_worker

    return get_worker().address


def keep_data(data_key: str, X: pd.DataFrame, y: np.ndarray, folds: pd.DataFrame) -> None:
    """On a worker: keep the data of ``data_key`` (the objects the worker holds, not a copy)."""
    with _LOCK:
        _DATA[data_key] = (X, y, folds)
        _DATA.move_to_end(data_key)
        while len(_DATA) > WORKER_DATA_SIZE:
            _DATA.popitem(last=False)


def holds_data(data_key: str) -> bool:
    """On a worker: whether it keeps the data of ``data_key``."""
    return data_key in _DATA


def _prepared(spec: FoldFit) -> objective.PreparedFold:
    """The fold of ``spec`` prepared on this worker: kept, or prepared from the kept data."""
    key = spec.fold_key
    with _LOCK:
        gate = _PREPARING.setdefault(key, threading.Lock())
    with gate:
        with _LOCK:
            fold = _FOLDS.get(key)
            if fold is not None:
                _FOLDS.move_to_end(key)
                return fold
            data = _DATA.get(spec.data_key)
        if data is None:
            raise NeedsData(_worker_address())
        X, y, folds = data
        _, _, train, val = next(s for i, s in enumerate(iter_splits(folds)) if i == spec.step)
        fold = objective.prepare_fold(spec.model, spec.schema, X, y, train, val, seed=spec.seed, n_jobs=spec.threads)
        with _LOCK:
            _FOLDS[key] = fold
            while len(_FOLDS) > WORKER_FOLDS_SIZE:
                _PREPARING.pop(_FOLDS.popitem(last=False)[0], None)
    return fold


def fit_on_worker(spec: FoldFit, *data: Any) -> tuple[np.ndarray, int | None]:
    """On a worker: the fit of ``spec`` and its validation probabilities, as
    :func:`~imbalance_lab.tuning.objective.run_trial` computes them locally (the fold prepared and
    fitted under the same BLAS limit, with the same threads). ``data`` (X, y, folds), when given,
    is kept first (:func:`keep_data`).

    Raises
    ------
    NeedsData
        The worker holds neither the prepared fold nor its data (and ``data`` was not given).
    """
    if data:
        keep_data(spec.data_key, *data)
    with _blas_threads(spec.threads):
        fold = _prepared(spec)
        return objective.fit_predict_prepared(
            spec.model, spec.params, fold, seed=spec.seed, n_jobs=spec.threads, max_trees=spec.max_trees
        )


def forget(data_key: str) -> int:
    """On a worker: drop the data of ``data_key`` and the folds prepared from it; how many folds."""
    with _LOCK:
        _DATA.pop(data_key, None)
        dropped = [k for k in _FOLDS if k[0] == data_key]
        for k in dropped:
            del _FOLDS[k]
            _PREPARING.pop(k, None)
    return len(dropped)


# --------------------------------------------------------------------------------------------
# In the process that runs the trials
# --------------------------------------------------------------------------------------------


@dataclass
class _Sent:
    """A task's data as the workers get it, its digest, and the workers known to hold it."""

    sources: tuple[Any, ...]  # the task's X, y and folds: kept, so their ids stay theirs
    X: pd.DataFrame
    key: str
    warm: set[str] = field(default_factory=set)


#: (scheduler, ids of a task's X, y and folds) -> what was sent: a task's digest is computed once.
_SENT: dict[tuple[str, int, int, int], _Sent] = {}
_SENT_SIZE = 4


def _sent(address: str, task: objective.TuneTask) -> _Sent:
    ident = (address, id(task.X), id(task.y), id(task.folds))
    hit = _SENT.get(ident)
    if hit is None:
        X = frame_for_workers(task.X)  # text as categoricals: cheaper to send, same fits
        key = hashlib.sha256(f"{frame_digest(X)}{digest(task.y)}{frame_digest(task.folds)}".encode()).hexdigest()
        hit = _SENT[ident] = _Sent(sources=(task.X, task.y, task.folds), X=X, key=key[:32])
        while len(_SENT) > _SENT_SIZE:
            del _SENT[next(iter(_SENT))]
    return hit


def _data_futures(sent: _Sent, task: objective.TuneTask) -> tuple[Any, Any, Any]:
    return on_workers(sent.X), on_workers(task.y), on_workers(task.folds)


def _warm(client: Any, workers: list[str], sent: _Sent, task: objective.TuneTask) -> None:
    """Every one of ``workers`` not seen yet keeps the data (sent from here once per process; a
    worker that already keeps it, e.g. from another process of the study, gets nothing)."""
    new = sorted(set(workers) - sent.warm)
    if not new:
        return
    holds = client.run(holds_data, sent.key, workers=new, on_error="return")
    missing = [w for w in new if holds.get(w) is not True]
    losses = 0
    while missing:
        try:
            data = _data_futures(sent, task)
            jobs = [
                client.submit(keep_data, sent.key, *data, workers=[w], allow_other_workers=True, pure=False)
                for w in missing
            ]
            for job in jobs:
                await_result(client, job)
            break
        except _cancelled() as exc:  # the data was lost with a worker before every one kept it
            losses += 1
            lost_data(losses, exc)
    sent.warm.update(new)


def _cancelled() -> type[BaseException]:
    from distributed.client import FutureCancelledError

    return FutureCancelledError


def _in_order(
    client: Any, specs: list[FoldFit], *, ahead: int, data: Callable[[], tuple[Any, Any, Any]]
) -> Iterator[tuple[np.ndarray, int | None]]:
    """The results of the fits ``specs``, in that order, with at most ``ahead`` of them submitted
    (the scheduler places them by load); nothing left queued once the caller stops."""
    cancelled = _cancelled()
    pending: dict[int, Any] = {}
    losses, position = 0, 0
    try:
        while position < len(specs):
            for p in range(position, min(len(specs), position + ahead)):
                if p not in pending:
                    pending[p] = client.submit(fit_on_worker, specs[p], pure=False)
            try:
                result = await_result(client, pending[position])
            except NeedsData as need:  # the worker's data was replaced, or it joined during the trial
                pending[position] = client.submit(
                    fit_on_worker, specs[position], *data(), workers=[need.worker], allow_other_workers=True, pure=False
                )
                continue
            except cancelled as exc:  # the data it was sent with was lost with a worker
                losses += 1
                lost_data(losses, exc)
                client.cancel(list(pending.values()))
                pending.clear()
                continue
            del pending[position]
            position += 1
            yield result
    finally:
        client.cancel(list(pending.values()))


@contextlib.contextmanager
def cluster_fits(
    task: objective.TuneTask, params: dict[str, Any], order: list[int], *, threads: int, width: int
) -> Iterator[Iterator[tuple[np.ndarray, int | None]]]:
    """The fits of a trial with ``params`` on the folds ``order``, on the cluster: an iterator of
    their (validation probabilities, trees kept), in that order, used inside the block.

    Up to :data:`~imbalance_lab.tuning.objective.LOOKAHEAD` times the cluster's threads (or
    ``width``, this machine's fits at a time, if more) are submitted ahead of the next result
    taken; those still queued when the block ends (a pruned trial) are cancelled, one already
    running finishes on its worker and is discarded.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached or has no worker, its workers died, or it lost the data
        more often than :data:`~imbalance_lab.evaluation.parallel.LOST_DATA_RETRIES`.
    """
    address = scheduler_address()
    if address is None:
        raise RuntimeError(f"cluster_fits needs ${SCHEDULER_ENV}")
    client = cluster_client(address)
    sent = _sent(address, task)
    nthreads = client.nthreads()
    _warm(client, list(nthreads), sent, task)
    specs = [
        FoldFit(
            data_key=sent.key,
            model=task.model,
            schema=task.schema,
            seed=task.seed,
            step=step,
            threads=threads,
            params=params,
            max_trees=task.max_trees,
        )
        for step in order
    ]
    ahead = objective.LOOKAHEAD * max(width, sum(nthreads.values()))
    results = _in_order(client, specs, ahead=ahead, data=lambda: _data_futures(sent, task))
    try:
        yield results
    finally:
        results.close()


def release(task: objective.TuneTask) -> None:
    """Drop the task's data and prepared folds from the cluster's workers (the study is over); a
    no-op without ``$IMBALANCE_LAB_DASK_SCHEDULER`` or before any fit there. A failure is logged to
    the stage's log, not raised: the workers' caches are bounded anyway."""
    address = scheduler_address()
    if address is None:
        return
    sent = _SENT.get((address, id(task.X), id(task.y), id(task.folds)))
    if sent is None:
        return
    try:
        cluster_client(address).run(forget, sent.key, on_error="return")
    except Exception as exc:
        machine_log().warning("could not drop the study's data from the Dask workers (%s)", type(exc).__name__)
    sent.warm.clear()
