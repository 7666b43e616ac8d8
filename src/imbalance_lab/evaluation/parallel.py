"""Where the fold fits run: this machine's worker processes, or a Dask cluster.

* By default, joblib's loky processes on this machine, each with a watchdog that ends it as soon
  as its parent process is gone (:func:`exit_with_parent`): a stage killed with ``kill -9`` leaves
  no worker holding memory.
* When ``$IMBALANCE_LAB_DASK_SCHEDULER`` (:data:`SCHEDULER_ENV`) holds a scheduler address
  (``tcp://host:8786``), the fits run on that Dask cluster (:class:`ClusterParallel`), and the
  training data is sent to every worker once per process (a stage), not once per fit
  (:func:`on_workers`). The same functions run on the same folds with the same seeds, one BLAS
  thread each, and come back in the same order: the results are the same as on this machine.
  The address is a setting of the machine, like ``$IMBALANCE_LAB_N_JOBS``: it never goes into
  params.yaml or an output, and dask is imported only when the variable is set. The tune stage's
  trials send their fits through the same connection, data sending and waiting
  (:func:`cluster_client`, :func:`on_workers`, :func:`await_result`, :func:`lost_data`; see
  :mod:`imbalance_lab.tuning.cluster`).

A worker that dies mid-stage is survived: the scheduler reruns its fits on the other workers.
Data sent from here has no recipe to compute it again, and the scheduler keeps only the copies
tasks need (its active memory manager drops the others), so a dying worker may take the only copy
with it: the scheduler then cancels the fits that needed it, and :func:`run_parallel` sends the
data again and reruns the call (the fits are deterministic: the same results). A cluster left
without workers while fits wait, or a fit whose workers keep dying, stops the stage with one line
(:func:`await_result`).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from joblib import Parallel, parallel_config

from ..errors import ClusterError

#: The environment variable that may name a Dask scheduler (``tcp://host:8786``) for the fold fits.
SCHEDULER_ENV = "IMBALANCE_LAB_DASK_SCHEDULER"
#: Seconds to wait for the scheduler to answer, and then for its first worker.
CONNECT_TIMEOUT = 10.0
#: Seconds between checks that the cluster still has a worker while a fit's result is awaited.
RESULT_POLL = 1.0
#: Seconds between two checks of a local worker's parent.
WATCHDOG_SECONDS = 0.5

#: Jobs a cluster call keeps submitted per worker thread (as joblib's ``pre_dispatch``, wider).
JOBS_PER_THREAD = 4
#: Times a call is rerun after the cluster lost data it sent there (workers that died).
LOST_DATA_RETRIES = 3

T = TypeVar("T")

#: Connected clients, by scheduler address (one per process: a stage connects once).
_CLIENTS: dict[str, Any] = {}
#: Data sent to the workers: (address, content digest) -> future of the copy on every worker.
_SCATTERED: dict[tuple[str, str], Any] = {}


def machine_log() -> logging.Logger:
    """A logger for events of the machine, not of the research (a worker that died): it writes to
    the process's own stderr (a stage's log file), not to the notebook, so that the report is the
    same as a run without the event."""
    logger = logging.getLogger(f"{__name__}.machine")
    if not any(getattr(h, "machine_log", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.__stderr__)
        handler.machine_log = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def scheduler_address() -> str | None:
    """The Dask scheduler named by ``$IMBALANCE_LAB_DASK_SCHEDULER``, or None (fits run here)."""
    return os.environ.get(SCHEDULER_ENV, "").strip() or None


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)  # the parent is gone: nobody reads this worker's results


def exit_with_parent(parent: int) -> None:
    """Initializer of a local worker process: end the process when ``parent`` is no longer its
    parent (within :data:`WATCHDOG_SECONDS`).

    Loky workers outlive a killed parent: they start in the kernel's session (Jupyter starts the
    kernel with a session of its own, so killing the stage's process group does not reach them),
    and each holds both ends of its result pipe, so the parent's death brings no end-of-file; a
    worker sending a result larger than the pipe's buffer (a fold's predictions) then blocks
    forever, and the others wait for the pipe's lock. A thread polling ``os.getppid()`` is used
    rather than ``prctl(PR_SET_PDEATHSIG)``: that signal fires when the *thread* that started the
    worker ends, and loky starts replacement workers from a helper thread; polling is also not
    Linux-only. It runs in its own thread, so a worker busy in a fit that releases the GIL
    (scikit-learn, XGBoost, BLAS) still ends within the interval.
    """
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="exit-with-parent", daemon=True).start()


def cluster_client(address: str) -> Any:
    """A connected ``distributed.Client`` for ``address`` with at least one worker (one per
    process).

    Raises
    ------
    ClusterError
        The scheduler did not answer, or has no worker, within :data:`CONNECT_TIMEOUT` seconds.
    """
    client = _CLIENTS.get(address)
    if client is not None and client.status == "running":
        return client
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:
        raise ClusterError(
            f"${SCHEDULER_ENV} names the Dask scheduler {address}, which did not answer within "
            f"{CONNECT_TIMEOUT:g} s ({type(exc).__name__}); start it (dask scheduler) or unset the variable"
        ) from None
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except Exception:
        client.close()
        raise ClusterError(
            f"the Dask scheduler {address} (${SCHEDULER_ENV}) has no worker after {CONNECT_TIMEOUT:g} s; "
            f"start some (dask worker {address}) or unset the variable"
        ) from None
    try:
        _check_workers(client, address)
    except BaseException:
        client.close()
        raise
    _CLIENTS[address] = client
    return client


#: Libraries whose version changes what a fit computes: a worker must have the same as the stage.
FIT_LIBRARIES = ("numpy", "scipy", "pandas", "scikit-learn", "imbalanced-learn", "xgboost-cpu", "joblib")


def code_identity() -> str:
    """A digest of this package's source and of :data:`FIT_LIBRARIES`' versions: what a fit's
    result depends on besides its arguments."""
    import hashlib
    from importlib import metadata
    from pathlib import Path

    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    for name in FIT_LIBRARIES:
        try:
            h.update(f"{name}=={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name} missing".encode())
    return h.hexdigest()


def _check_workers(client: Any, address: str) -> None:
    """Every worker runs this package's code with the same fitting libraries, or a ClusterError."""
    mine = code_identity()
    theirs = client.run(code_identity)
    other = sorted(worker for worker, identity in theirs.items() if identity != mine)
    if other:
        raise ClusterError(
            f"{len(other)} worker(s) of the Dask scheduler {address} (${SCHEDULER_ENV}), e.g. {other[0]}, run "
            "another version of imbalance_lab or of its fitting libraries; start them from this commit's "
            "environment (make env), or their results would differ"
        )


def _content_key(obj: Any) -> str:
    import pandas as pd

    from .caches import digest, frame_digest

    if isinstance(obj, pd.DataFrame):
        return "frame:" + frame_digest(obj)
    return "array:" + digest(obj)


def on_workers(obj: Any) -> Any:
    """``obj`` as a fit's argument: itself when the fits run here; on a cluster, a future of its
    copy on every worker, sent once per process for the same content (a stage sends its training
    data once, whatever the number of calls and fits).

    Parameters
    ----------
    obj : DataFrame or array
        Data every fit reads (the training rows, the labels); not modified by the fits.
    """
    address = scheduler_address()
    if address is None:
        return obj
    client = cluster_client(address)
    key = (address, _content_key(obj))
    future = _SCATTERED.get(key)
    if future is None or future.status != "finished":
        # to every worker at once: with one copy, the scheduler would queue the first fits on its
        # holder rather than pay the (estimated) transfer to the others
        [future] = client.scatter([obj], broadcast=True, hash=False)
        _SCATTERED[key] = future
    return future


class ClusterParallel:
    """``joblib.Parallel(return_as="generator")`` on a Dask cluster: called with ``delayed`` jobs,
    it submits them all (the scheduler queues them for its workers) and yields their results in
    the jobs' order. Futures among the arguments (:func:`on_workers`) are read on the workers.

    Not joblib's dask backend: that one runs the jobs in this process, futures unresolved, when the
    cluster has a single worker thread (joblib runs ``n_jobs == 1`` sequentially), e.g. after the
    other workers died; and it batches jobs, so a dying worker takes several fits with it.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, jobs: Any) -> Iterator[Any]:
        """The results of ``jobs`` (``delayed`` calls), in their order; at most
        :data:`JOBS_PER_THREAD` jobs per worker thread are submitted ahead of the next result
        taken (finished results wait on the workers: a bounded number)."""
        window = max(2, JOBS_PER_THREAD * sum(self.client.nthreads().values()))
        pending: collections.deque = collections.deque()
        try:
            for func, args, kwargs in jobs:
                pending.append(self.client.submit(func, *args, pure=False, **kwargs))
                if len(pending) >= window:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        finally:
            self.client.cancel(list(pending))

    def _result(self, future: Any) -> Any:
        return await_result(self.client, future)


def await_result(client: Any, future: Any) -> Any:
    """The result of a cluster future (a fit's own exception is raised as it is).

    Raises
    ------
    ClusterError
        The cluster has had no worker for :data:`CONNECT_TIMEOUT` seconds meanwhile (the scheduler
        would keep the job waiting for one forever: every worker died), or the job was running on
        workers that died, as many times as the scheduler allows (``KilledWorker``: a fit that
        brings its worker down, e.g. out of memory).
    """
    from distributed import KilledWorker

    without_workers = None
    while True:
        try:
            return future.result(timeout=RESULT_POLL)
        except KilledWorker:
            raise ClusterError(
                f"a fit on the Dask scheduler {client.scheduler.address} (${SCHEDULER_ENV}) was running on "
                "workers that died, as often as the scheduler allows; check their logs (out of memory?) "
                "and rerun, or unset the variable"
            ) from None
        except TimeoutError:
            if future.done():  # the fit's own TimeoutError
                return future.result()
            if client.nthreads():
                without_workers = None
                continue
            now = time.monotonic()
            without_workers = without_workers or now
            if now - without_workers >= CONNECT_TIMEOUT:
                address = client.scheduler.address
                raise ClusterError(
                    f"the Dask scheduler {address} (${SCHEDULER_ENV}) has had no worker for "
                    f"{CONNECT_TIMEOUT:g} s while fits were waiting; start workers (dask worker {address}) "
                    "and run the stage again, or unset the variable"
                ) from None


@contextlib.contextmanager
def local_workers() -> Iterator[None]:
    """Joblib's worker processes started inside the block (loky) end with this process
    (:func:`exit_with_parent`), for joblib calls made by other libraries."""
    with parallel_config(backend="loky", initializer=exit_with_parent, initargs=(os.getpid(),)):
        yield


@contextlib.contextmanager
def fold_parallel(*, n_jobs: int) -> Iterator[Any]:
    """A callable like ``joblib.Parallel(return_as="generator")`` (results in order) for the fold
    fits, to be used inside the block.

    Here: a ``Parallel`` of ``n_jobs`` loky processes that end with their parent
    (:func:`exit_with_parent`). On the cluster of ``$IMBALANCE_LAB_DASK_SCHEDULER``: a
    :class:`ClusterParallel` on all its workers (``n_jobs`` counts this machine's cores).

    Raises
    ------
    ClusterError
        The scheduler named by the variable cannot be reached or has no worker.
    """
    address = scheduler_address()
    if address is None:
        with local_workers():
            yield Parallel(n_jobs=n_jobs, return_as="generator")
        return
    yield ClusterParallel(cluster_client(address))


@contextlib.contextmanager
def fit_backend(*, n_jobs: int) -> Iterator[None]:
    """The backend for code that makes its own ``Parallel`` (e.g. scikit-learn's
    ``learning_curve`` with ``n_jobs``): local processes that end with their parent, or joblib's
    dask backend on the cluster (which sends large arguments once per call)."""
    address = scheduler_address()
    if address is None:
        with parallel_config(backend="loky", initializer=exit_with_parent, initargs=(os.getpid(),)):
            yield
        return
    with parallel_config(backend="dask", client=cluster_client(address), wait_for_workers_timeout=CONNECT_TIMEOUT):
        yield


def lost_data(times: int, exc: BaseException) -> None:
    """After the cluster lost data sent from here for the ``times``-th time in a call (fits
    cancelled with ``exc``): forget what was sent, so that :func:`on_workers` sends it again, and
    log it to the stage's log; past :data:`LOST_DATA_RETRIES` times, a :class:`ClusterError`."""
    if times > LOST_DATA_RETRIES:
        raise ClusterError(
            f"the Dask cluster (${SCHEDULER_ENV}) lost the stage's data {times} times "
            f"(workers died: {type(exc).__name__}); check its workers and rerun"
        ) from None
    machine_log().warning("the Dask cluster lost data (a worker died?); sending it again and rerunning")
    # this client may not know yet which of its data were lost: send them all again
    for key in [k for k in _SCATTERED if k[0] == scheduler_address()]:
        del _SCATTERED[key]


def run_parallel(work: Callable[[Any], T], *, n_jobs: int) -> T:
    """``work(parallel)`` with the ``Parallel`` of :func:`fold_parallel`. On a cluster, a call
    whose fits were cancelled because the data they read was lost with a dying worker is rerun,
    the data sent again, up to :data:`LOST_DATA_RETRIES` times (the fits are deterministic and
    results already kept in the caches stay valid).

    Raises
    ------
    ClusterError
        The cluster lost the data more often than that.
    """
    if scheduler_address() is None:
        with fold_parallel(n_jobs=n_jobs) as parallel:
            return work(parallel)
    from distributed.client import FutureCancelledError

    for attempt in range(LOST_DATA_RETRIES + 1):
        try:
            with fold_parallel(n_jobs=n_jobs) as parallel:
                return work(parallel)
        except FutureCancelledError as exc:
            lost_data(attempt + 1, exc)
    raise AssertionError("unreachable")  # pragma: no cover
