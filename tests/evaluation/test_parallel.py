"""Unit tests of imbalance_lab.evaluation.parallel: local workers that end with their parent, and
the fold fits on a Dask cluster (an in-process one here; tests/e2e/test_cluster.py starts real
`dask scheduler` and `dask worker` processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.errors import ClusterError
from imbalance_lab.evaluation import parallel
from imbalance_lab.modeling import make_pipeline
from tests.support import ROOT, free_port, local_dask_cluster


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_local_path_does_not_import_dask(tmp_path):
    """Without $IMBALANCE_LAB_DASK_SCHEDULER, cross-validation and a learning curve on worker
    processes import neither dask nor distributed."""
    script = textwrap.dedent(
        """
        import sys
        from tests.conftest import synthetic_dataset
        from imbalance_lab import evaluation as ev
        from imbalance_lab.data import make_folds
        from imbalance_lab.modeling import make_pipeline
        X, y, schema = synthetic_dataset(120, seed=3)
        folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
        pipe = make_pipeline("logistic_regression", schema, seed=0)
        ev.cross_validate_models({"lr": pipe}, X, y, folds, n_jobs=2)
        ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 1.0], n_jobs=2)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != parallel.SCHEDULER_ENV}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_local_workers_end_with_their_parent(tmp_path):
    """SIGKILL of a process whose loky workers are busy sending large results: the workers end
    within seconds (without the watchdog they block on the result pipe forever)."""
    pids = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import os, time
        import numpy as np
        from joblib import delayed
        from imbalance_lab.evaluation.parallel import fold_parallel

        def work(i):
            with open({str(pids)!r}, "a") as fh:
                fh.write(f"{{os.getpid()}}\\n")
            time.sleep(0.5)
            return np.zeros(300_000)  # larger than a pipe's buffer

        with fold_parallel(n_jobs=2) as par:
            for _ in par(delayed(work)(i) for i in range(1000)):
                time.sleep(1000)  # the parent stops reading: the workers' results pile up
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(set(pids.read_text().split()) if pids.exists() else ()) < 2:
            time.sleep(0.2)
        time.sleep(2)  # the workers are now blocked writing their results
        workers = {int(p) for p in pids.read_text().split()}
        assert len(workers) == 2 and all(_alive(p) for p in workers)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "a worker outlived its parent by 10 s"


def test_an_unreachable_scheduler_is_one_line_naming_the_variable_and_address(monkeypatch):
    address = f"tcp://127.0.0.1:{free_port()}"
    monkeypatch.setenv(parallel.SCHEDULER_ENV, address)
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 2.0)
    t0 = time.monotonic()
    with pytest.raises(ClusterError) as err, parallel.fold_parallel(n_jobs=2):
        pass
    assert time.monotonic() - t0 < 15
    message = str(err.value)
    assert "\n" not in message and parallel.SCHEDULER_ENV in message and address in message


@pytest.fixture(scope="module")
def cluster():
    """An in-process Dask cluster of two one-thread workers; its address."""
    with local_dask_cluster(processes=False) as address:
        yield address


def test_fold_fits_on_a_cluster_equal_the_local_ones(cluster, dataset, fresh_caches, monkeypatch):
    """Cross-validation and the learning curve on a cluster: the same scores and predictions as
    here, with the training data sent once for both calls."""
    ev = fresh_caches
    X, y, schema, folds = dataset
    pipes = {m: make_pipeline(m, schema, seed=0) for m in ("dummy", "logistic_regression")}
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    local = ev.cross_validate_models(pipes, X, y, folds, n_jobs=2)
    local_curve = ev.learning_curve(pipes["logistic_regression"], X, y, folds, sizes=[0.5, 1.0], n_jobs=2)

    monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster)
    for name in ("_PREPROCESS_CACHE", "_MODEL_CACHE"):
        getattr(ev.caches, name).clear()
    import distributed

    scatters = []
    scatter = distributed.Client.scatter
    monkeypatch.setattr(
        distributed.Client, "scatter", lambda self, data, **kw: scatters.append(1) or scatter(self, data, **kw)
    )
    remote = ev.cross_validate_models(pipes, X, y, folds, n_jobs=2)
    remote_curve = ev.learning_curve(pipes["logistic_regression"], X, y, folds, sizes=[0.5, 1.0], n_jobs=2)
    pd.testing.assert_frame_equal(remote.scores, local.scores)
    pd.testing.assert_frame_equal(remote.oof, local.oof)
    for a, b in zip(remote_curve, local_curve):
        np.testing.assert_array_equal(a, b)
    assert 2 <= len(scatters) <= 3  # X (and its worker form) and y, once each for both calls


def test_on_workers_sends_the_same_content_once(cluster, monkeypatch):
    monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster)
    data = pd.DataFrame({"a": np.arange(1000.0)})
    first = parallel.on_workers(data)
    assert parallel.on_workers(data.copy()) is first
    assert parallel.on_workers(data.assign(a=data["a"] + 1)) is not first
    client = parallel.cluster_client(cluster)
    assert set(client.who_has([first])[first.key]) == set(client.scheduler_info()["workers"])


def test_without_the_variable_the_data_stays_here(monkeypatch):
    monkeypatch.delenv(parallel.SCHEDULER_ENV, raising=False)
    data = np.arange(10)
    assert parallel.on_workers(data) is data
    assert parallel.scheduler_address() is None
    monkeypatch.setenv(parallel.SCHEDULER_ENV, "  ")
    assert parallel.scheduler_address() is None


def test_exit_with_parent_ends_at_once_when_the_parent_is_already_gone():
    code = "from imbalance_lab.evaluation.parallel import exit_with_parent; exit_with_parent(-5); print('alive')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=Path(ROOT))
    assert out.returncode == 1 and "alive" not in out.stdout


def test_a_call_whose_data_the_cluster_lost_is_rerun(cluster, monkeypatch):
    """A worker that dies with the only copy of the data: the fits that needed it are cancelled,
    the call is rerun (data sent again); past the retries, a one-line error."""
    from distributed.client import FutureCancelledError

    monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster)
    calls = []

    def work(par):
        calls.append(par)
        if len(calls) == 1:
            raise FutureCancelledError("batch-1", reason="already forgotten")
        return "done"

    assert parallel.run_parallel(work, n_jobs=2) == "done" and len(calls) == 2
    monkeypatch.setattr(parallel, "LOST_DATA_RETRIES", 0)
    calls.clear()
    with pytest.raises(ClusterError) as err:
        parallel.run_parallel(work, n_jobs=2)
    assert "\n" not in str(err.value) and parallel.SCHEDULER_ENV in str(err.value)


def test_workers_running_other_code_are_a_one_line_error(cluster, monkeypatch):
    monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster)
    client = parallel.cluster_client(cluster)
    assert client.run(parallel.code_identity) == dict.fromkeys(
        client.scheduler_info()["workers"], parallel.code_identity()
    )
    monkeypatch.setattr(client, "run", lambda func: {"tcp://a:1": "other", "tcp://b:1": "other"})
    with pytest.raises(ClusterError) as err:
        parallel._check_workers(client, cluster)
    assert "\n" not in str(err.value) and "2 worker(s)" in str(err.value)


def _slow_square(i: int) -> int:
    time.sleep(0.01 * (i % 3))
    return i * i


def _fails(i: int) -> int:
    if i == 5:
        raise ValueError("fold 5 cannot be fitted")
    return i


def test_cluster_parallel_yields_in_order_and_raises_the_fit_s_own_error(cluster, monkeypatch):
    from joblib import delayed

    monkeypatch.setenv(parallel.SCHEDULER_ENV, cluster)
    monkeypatch.setattr(parallel, "JOBS_PER_THREAD", 2)  # 4 jobs in flight for 40
    with parallel.fold_parallel(n_jobs=2) as par:
        assert isinstance(par, parallel.ClusterParallel)
        assert list(par(delayed(_slow_square)(i) for i in range(40))) == [i * i for i in range(40)]
        with pytest.raises(ValueError, match="fold 5 cannot be fitted"):
            list(par(delayed(_fails)(i) for i in range(10)))


def test_machine_events_go_to_the_process_stderr_not_the_notebook():
    logger = parallel.machine_log()
    assert parallel.machine_log() is logger and not logger.propagate
    assert [h.stream for h in logger.handlers if getattr(h, "machine_log", False)] == [sys.__stderr__]


def test_a_cluster_without_workers_is_one_line_not_a_wait_forever(monkeypatch):
    """The scheduler keeps a job waiting for a worker forever: when every worker died, the stage
    stops with one line instead."""
    import distributed
    from joblib import delayed

    from imbalance_lab.errors import ClusterError

    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 1.0)
    monkeypatch.setattr(parallel, "RESULT_POLL", 0.2)
    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        t0 = time.monotonic()
        with pytest.raises(ClusterError) as err:
            list(parallel.ClusterParallel(client)(delayed(_slow_square)(i) for i in range(3)))
        assert time.monotonic() - t0 < 10
    message = str(err.value)
    assert "\n" not in message and "has had no worker for 1 s" in message and parallel.SCHEDULER_ENV in message


def test_a_fit_whose_workers_all_died_is_one_line():
    """A fit running on workers that died as often as the scheduler allows (KilledWorker: e.g. a
    fit that runs its worker out of memory): one line, not Dask's paragraph."""
    from types import SimpleNamespace

    from distributed import KilledWorker

    class Killed:
        def result(self, timeout=None):
            raise KilledWorker("fit-1", SimpleNamespace(address="tcp://w:1"), 3)

    client = SimpleNamespace(scheduler=SimpleNamespace(address="tcp://s:1"))
    with pytest.raises(ClusterError) as err:
        parallel.await_result(client, Killed())
    message = str(err.value)
    assert "\n" not in message and "tcp://s:1" in message and "workers that died" in message
