"""Unit tests of imbalance_lab.tuning.cluster: a trial's fold fits on a Dask cluster (worker
processes on this machine) give the local trials; the folds prepared and kept on the workers; a
worker killed mid-trial; a fake cluster for the resubmissions."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import optuna
import pytest

from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.errors import ClusterError
from imbalance_lab.evaluation import parallel
from imbalance_lab.tuning import cluster, objective, worker
from tests.support import ROOT, local_dask_cluster

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


@pytest.fixture(scope="module")
def workers():
    """A Dask cluster of two one-thread worker processes, each under a nanny (as ``dask worker``
    starts them: one BLAS and OpenMP thread by default; a killed worker is restarted); its address."""
    with local_dask_cluster(processes=True) as address:
        yield address
    cluster._SENT.clear()


def _task(make_dataset, model: str, n_jobs: int, *, n: int = 400) -> objective.TuneTask:
    """``model`` tuned for log loss on ``n`` rows of the shared synthetic data (text in ``cat``), a
    quarter positive, one repeat of 3 folds (what the journal studies of conftest's ``open_study``
    expect)."""
    X, y, schema = make_dataset(n, positives=n // 4, seed=3)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    return objective.TuneTask(
        model=model, schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=n_jobs, max_trees=300
    )


def _trials(study) -> list[tuple]:
    """What a study's trials hold that a run must reproduce (not the process that ran them)."""
    return [
        (t.number, t.state, t.params, t.value, t.intermediate_values, t.user_attrs.get("n_trees")) for t in study.trials
    ]


def _run(open_study, path, task, *, pruner: str, n_trials: int = 6) -> list[tuple]:
    storage, study = open_study(path, pruner=pruner)
    worker.work(study, storage, task, n_trials=n_trials, progress=False)
    return _trials(study)


def _executed(client) -> int:
    return sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())


@pytest.mark.parametrize(
    "model, n_jobs, pruner",
    [
        ("xgboost", 2, "median"),  # one thread a fit
        ("xgboost", 6, "wilcoxon"),  # three folds at a time, two threads each: the matrices built with two
        ("logistic_regression", 6, "median"),  # two BLAS threads a fit
        ("hist_gradient_boosting", 2, "wilcoxon"),
    ],
)
def test_trials_on_a_cluster_equal_local_ones(
    model, n_jobs, pruner, workers, make_dataset, open_study, tmp_path, monkeypatch
):
    """The same trials (parameters, reported values, pruning, values, trees kept) with the fits on
    worker processes as in this process; the data sent once for all trials; nothing prepared here;
    the workers' caches emptied when the study is over."""
    import distributed

    task = _task(make_dataset, model, n_jobs)
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    local = _run(open_study, tmp_path / "local.journal", task, pruner=pruner)
    assert {t[1] for t in local} <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}

    monkeypatch.setenv(parallel.SCHEDULER_ENV, workers)
    parallel._SCATTERED.clear()  # as in a new stage process
    remote_task = dataclasses.replace(task, prepared={})
    scatters = []
    scatter = distributed.Client.scatter
    monkeypatch.setattr(
        distributed.Client, "scatter", lambda self, data, **kw: scatters.append(1) or scatter(self, data, **kw)
    )
    threads = []
    submit = distributed.Client.submit
    monkeypatch.setattr(
        distributed.Client,
        "submit",
        lambda self, func, *args, **kw: (
            threads.extend(a.threads for a in args if isinstance(a, cluster.FoldFit)) or submit(self, func, *args, **kw)
        ),
    )
    client = parallel.cluster_client(workers)
    before = _executed(client)
    remote = _run(open_study, tmp_path / "remote.journal", remote_task, pruner=pruner)
    assert remote == local
    assert threads and set(threads) == {objective.fold_slots(3, n_jobs)[1]}  # a local fit's threads
    assert remote_task.prepared == {}  # the folds were prepared on the workers, not here
    reported = sum(len(t[4]) for t in remote)
    assert _executed(client) - before >= reported
    assert len(scatters) == 3  # X, y and the folds, once for all the trials' fits
    kept = client.run(lambda: (len(cluster._DATA), len(cluster._FOLDS)))
    assert set(kept.values()) == {(0, 0)}, kept  # released at the end of the study


def test_a_worker_killed_mid_trial_changes_nothing(workers, make_dataset, open_study, tmp_path, monkeypatch):
    """SIGKILL of a worker process while it fits: its fits rerun on the other worker, its nanny
    starts a new one with empty caches, which gets the data when it needs it; same trials."""
    task = _task(make_dataset, "xgboost", 2, n=3000)
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    local = _run(open_study, tmp_path / "local.journal", task, pruner="none", n_trials=3)

    monkeypatch.setenv(parallel.SCHEDULER_ENV, workers)
    client = parallel.cluster_client(workers)
    killed: list[int] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = [w for w, tasks in client.processing().items() if any("fit_on_worker" in str(k) for k in tasks)]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    remote = _run(
        open_study, tmp_path / "remote.journal", dataclasses.replace(task, prepared={}), pruner="none", n_trials=3
    )
    killer.join(timeout=5)
    assert killed, "no worker was busy fitting: nothing was killed"
    assert remote == local
    client.wait_for_workers(2, timeout=60)  # the nanny's new worker, for the next tests


def test_another_process_of_the_study_sends_nothing_to_workers_holding_the_data(workers, make_dataset, monkeypatch):
    """A tune-worker sharing the stage's cluster: the workers already keep the data (same digest),
    so its process sends nothing; when the stage's study is over, the workers drop it."""
    import distributed

    monkeypatch.setenv(parallel.SCHEDULER_ENV, workers)
    task = _task(make_dataset, "logistic_regression", 2, n=300)
    client = parallel.cluster_client(workers)
    names = list(client.nthreads())
    scatters = []
    scatter = distributed.Client.scatter
    monkeypatch.setattr(
        distributed.Client, "scatter", lambda self, data, **kw: scatters.append(1) or scatter(self, data, **kw)
    )
    parallel._SCATTERED.clear()
    first = cluster._sent(workers, task)
    cluster._warm(client, names, first, task)
    assert len(scatters) == 3 and first.warm == set(names)
    assert set(client.run(cluster.holds_data, first.key).values()) == {True}
    cluster._warm(client, names, first, task)  # the next trial: nothing to do
    assert len(scatters) == 3

    parallel._SCATTERED.clear()  # another process: nothing sent yet, nothing known of the workers
    other = cluster._Sent(sources=first.sources, X=first.X, key=first.key)
    cluster._warm(client, names, other, task)
    assert len(scatters) == 3 and other.warm == set(names)

    cluster.release(task)
    assert set(client.run(cluster.holds_data, first.key).values()) == {False} and not first.warm


def test_a_fold_is_prepared_once_per_worker_process_and_the_cache_is_bounded(make_dataset, monkeypatch):
    """In a worker process (here: this one): the first fit of a fold prepares it from the kept
    data, the next ones reuse it; beyond WORKER_FOLDS_SIZE the least recently used is dropped;
    forget() drops a study's data and folds; without the fold or the data, NeedsData."""
    task = _task(make_dataset, "xgboost", 1)
    monkeypatch.setattr(cluster, "_DATA", type(cluster._DATA)())
    monkeypatch.setattr(cluster, "_FOLDS", type(cluster._FOLDS)())
    monkeypatch.setattr(cluster, "WORKER_FOLDS_SIZE", 2)
    monkeypatch.setattr(cluster, "_worker_address", lambda: "tcp://this-worker:1")
    prepared = []
    prepare = objective.prepare_fold
    monkeypatch.setattr(objective, "prepare_fold", lambda *a, **kw: prepared.append(a[4:]) or prepare(*a, **kw))
    params = {"learning_rate": 0.3, "max_depth": 3, "min_child_weight": 1.0, "subsample": 0.8}
    params |= {"colsample_bytree": 0.7, "reg_lambda": 1.0, "reg_alpha": 0.01, "gamma": 0.1}

    def spec(step: int, key: str = "data-1") -> cluster.FoldFit:
        return cluster.FoldFit(
            data_key=key, model="xgboost", schema=task.schema, seed=5, step=step, threads=1, params=params, max_trees=50
        )

    with pytest.raises(cluster.NeedsData) as need:
        cluster.fit_on_worker(spec(0))
    assert need.value.worker == "tcp://this-worker:1"
    first = cluster.fit_on_worker(spec(0), task.X, task.y, task.folds)
    splits = list(iter_splits(task.folds))
    expected = objective.fit_predict_prepared(
        "xgboost",
        params,
        prepare(task.model, task.schema, task.X, task.y, *splits[0][2:], seed=5),
        seed=5,
        max_trees=50,
    )
    assert np.array_equal(first[0], expected[0]) and first[1] == expected[1]
    again = cluster.fit_on_worker(spec(0))  # the kept fold: no data needed, not prepared again
    assert np.array_equal(again[0], first[0]) and len(prepared) == 1
    cluster.fit_on_worker(spec(1))
    cluster.fit_on_worker(spec(0))  # fold 0 used last: fold 1 is the one dropped next
    cluster.fit_on_worker(spec(2))
    assert [k[3] for k in cluster._FOLDS] == [0, 2] and len(prepared) == 3
    cluster.fit_on_worker(spec(1))
    assert len(prepared) == 4
    # another study's data replaces this one's (WORKER_DATA_SIZE 1); its folds stay until dropped
    cluster.keep_data("data-2", task.X, task.y, task.folds)
    assert list(cluster._DATA) == ["data-2"] and cluster.holds_data("data-2") and not cluster.holds_data("data-1")
    assert cluster.forget("data-1") == 2 and not cluster._FOLDS and cluster.forget("data-2") == 0
    assert not cluster._DATA


def test_fits_with_the_same_blas_threads_run_together_and_another_count_waits(monkeypatch):
    """Each fit on a worker runs with the BLAS threads it asks for (set in its task thread; the
    equality tests above run them on worker processes, with two threads a fit); two asking for
    the same count run together, one asking for another waits until they end."""
    counts = []
    monkeypatch.setattr(cluster, "_set_blas_threads", counts.append)
    gate = cluster._BlasThreads()
    inside = []
    entered = {name: threading.Event() for name in range(3)}
    release = {name: threading.Event() for name in range(3)}

    def fit(threads: int, name: int) -> None:
        with gate(threads):
            inside.append((name, threads, list(counts)))
            entered[name].set()
            release[name].wait(10)

    running = []
    try:
        for threads, name in ((3, 0), (3, 1), (1, 2)):
            running.append(threading.Thread(target=fit, args=(threads, name)))
            running[-1].start()
            assert entered[name].wait(10 if name < 2 else 0.3) == (name < 2)
        release[1].set()
        assert not entered[2].wait(0.3)  # fit 0 still runs with 3
        release[0].set()
        assert entered[2].wait(10)
        assert inside == [(0, 3, [3]), (1, 3, [3]), (2, 1, [3, 1])]
    finally:
        for event in release.values():
            event.set()
        for thread in running:
            thread.join(10)


def test_blas_threads_set_from_a_task_thread_are_taken(tmp_path):
    """In a fresh process whose main thread set no count (a Dask worker's), a task thread's count
    is taken, however the threads follow each other."""
    script = textwrap.dedent(
        """
        import threading
        import numpy, scipy.linalg
        from threadpoolctl import threadpool_info
        from imbalance_lab.tuning.cluster import _blas_threads

        seen = []
        def fit(threads):
            with _blas_threads(threads):
                seen.append((threads, {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}))
        for threads in [3, 1, 2, 2, 1, 3] * 5:
            t = threading.Thread(target=fit, args=(threads,))
            t.start()
            t.join()
        print(all(s == {t} for t, s in seen), len(seen))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "30"], out.stderr


# --------------------------------------------------------------------------------------------
# A fake cluster: which fits are submitted again, and how
# --------------------------------------------------------------------------------------------


class _Future:
    def __init__(self, outcome):
        self.outcome, self.cancelled = outcome, False

    def result(self, timeout=None):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def done(self):
        return True


class _Client:
    """Answers each submitted fit with the next planned outcome for its fold (a result or an
    exception); records the submissions."""

    def __init__(self, plan: dict[int, list]):
        self.plan, self.submitted = plan, []
        self.scheduler = type("S", (), {"address": "tcp://fake:1"})()

    def submit(self, func, spec, *data, **kwargs):
        self.submitted.append((spec.step, len(data), kwargs.get("workers")))
        outcomes = self.plan[spec.step]
        return _Future(outcomes.pop(0) if len(outcomes) > 1 else outcomes[0])

    def cancel(self, futures):
        for f in futures:
            f.cancelled = True

    def nthreads(self):
        return {"tcp://a:1": 1, "tcp://b:1": 1}


def _specs(steps):
    return [
        cluster.FoldFit(data_key="k", model="m", schema=None, seed=0, step=s, threads=1, params={}, max_trees=1)
        for s in steps
    ]


def test_in_order_resubmits_a_fit_with_the_data_to_a_worker_without_it(monkeypatch):
    client = _Client({0: [(0, 1)], 1: [cluster.NeedsData("tcp://b:1"), (1, 1)], 2: [(2, None)]})
    results = list(cluster._in_order(client, _specs([0, 1, 2]), ahead=2, data=lambda: ("X", "y", "folds")))
    assert results == [(0, 1), (1, 1), (2, None)]
    # two submitted ahead; 1 again with its data (3 futures), to the worker that lacked it
    assert client.submitted == [(0, 0, None), (1, 0, None), (2, 0, None), (1, 3, ["tcp://b:1"])]


def test_in_order_resubmits_after_lost_data_then_stops_with_one_line(monkeypatch):
    from distributed.client import FutureCancelledError

    lost = []
    monkeypatch.setattr(cluster, "lost_data", lambda times, exc: lost.append(times))
    client = _Client({0: [(0, 1)], 1: [FutureCancelledError("k", reason="lost dependencies"), (1, 1)]})
    assert list(cluster._in_order(client, _specs([0, 1]), ahead=2, data=lambda: ())) == [(0, 1), (1, 1)]
    assert lost == [1] and [s for s, _, _ in client.submitted] == [0, 1, 1]

    monkeypatch.undo()
    monkeypatch.setattr(parallel, "LOST_DATA_RETRIES", 1)
    client = _Client({0: [FutureCancelledError("k", reason="lost dependencies")]})
    with pytest.raises(ClusterError) as err:
        list(cluster._in_order(client, _specs([0]), ahead=2, data=lambda: ()))
    assert "\n" not in str(err.value) and "lost the stage's data 2 times" in str(err.value)


def test_in_order_cancels_what_it_submitted_when_the_caller_stops():
    client = _Client({s: [(s, None)] for s in range(6)})
    futures = []
    submit = client.submit
    client.submit = lambda *a, **kw: futures.append(submit(*a, **kw)) or futures[-1]
    results = cluster._in_order(client, _specs(range(6)), ahead=3, data=lambda: ())
    assert next(results) == (0, None)
    results.close()  # a pruned trial
    assert len(futures) == 3 and [f.cancelled for f in futures] == [False, True, True]
