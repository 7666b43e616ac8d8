"""End to end on a real Dask cluster: `dask scheduler` and two `dask worker` processes on localhost
(as on separate machines), the cross_validate and imbalance stages run through it
($IMBALANCE_LAB_DASK_SCHEDULER) and give the same outputs as a local run, byte for byte but the
measured durations; a worker killed during the imbalance stage changes nothing either.

The stages that do not use the cluster (prepare, tune) run once, locally; the cluster runs
rerun cross_validate and imbalance in copies of that project (`dvc repro --force --single-item`).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import yaml

from imbalance_lab.evaluation.parallel import SCHEDULER_ENV
from tests.support import SMALL, DaskCluster, copy_project, run

pytestmark = pytest.mark.slow
STAGES = ["cross_validate", "imbalance"]
#: Outputs that hold measured durations (or draw them): not compared.
MEASURED = {"data/cross_validation/timings_seconds.csv", "plots/cross_validate/cost_performance.png"}


def _outputs(root: Path, stage: str) -> list[str]:
    """The files a stage writes (its outs, ``${paths.*}`` resolved, directories expanded)."""
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    paths = next(v["paths"] for v in dvc["vars"] if isinstance(v, dict) and "paths" in v)
    files = []
    for entry in dvc["stages"][stage]["outs"]:
        name = entry if isinstance(entry, str) else next(iter(entry))
        for key, value in paths.items():
            name = name.replace(f"${{paths.{key}}}", str(value))
        target = root / name
        found = sorted(target.rglob("*")) if target.is_dir() else [target]
        files += [str(p.relative_to(root)) for p in found if p.is_file()]
    return files


def _unmeasured_cells(path: Path) -> list:
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if "measured" not in c["metadata"].get("tags", [])]


def _assert_same_outputs(local: Path, other: Path, address: str, stages: list[str]) -> None:
    for stage in stages:
        files = _outputs(local, stage)
        assert files and files == _outputs(other, stage), stage
        for rel in files:
            if rel in MEASURED or rel.endswith(".html"):  # the HTML report shows the measured cells
                continue
            if rel.endswith(".ipynb"):
                assert _unmeasured_cells(other / rel) == _unmeasured_cells(local / rel), rel
            else:
                assert (other / rel).read_bytes() == (local / rel).read_bytes(), rel
            assert address.encode() not in (other / rel).read_bytes(), f"{rel} holds the scheduler's address"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The small project after a local `dvc repro cross_validate imbalance` (and prepare, tune)."""
    root = copy_project(tmp_path_factory.mktemp("cluster-local"), git=True, params=SMALL)
    run(["dvc", "repro", *STAGES], root, extra_env={SCHEDULER_ENV: ""})
    return root


@pytest.fixture
def cluster(tmp_path):
    with DaskCluster(tmp_path / "dask", n_workers=2) as c:
        yield c


def _rerun_on(cluster: DaskCluster, local: Path, dest: Path, stages: list[str]) -> Path:
    """A copy of the local project with ``stages`` rerun on the cluster."""
    shutil.copytree(local, dest, symlinks=True)
    for stage in stages:
        run(["dvc", "repro", "--force", "--single-item", stage], dest, extra_env={SCHEDULER_ENV: cluster.address})
    return dest


def test_cross_validate_and_imbalance_on_a_cluster_equal_a_local_run(local, cluster, tmp_path):
    other = _rerun_on(cluster, local, tmp_path / "on-cluster", STAGES)
    _assert_same_outputs(local, other, cluster.address, STAGES)
    with cluster.client() as client:  # the fits did run there: every worker ran some
        done = client.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(done) == 2 and all(n > 0 for n in done.values()), done


def test_a_worker_killed_during_imbalance_changes_nothing(local, cluster, tmp_path):
    """One of the two workers dies (SIGKILL of its nanny and worker) while it runs imbalance's fits:
    the scheduler reruns them on the other, the stage succeeds with the local run's outputs."""
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        with cluster.client() as client:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:  # only the imbalance stage uses the cluster here
                    name = client.scheduler_info()["workers"][busy[0]]["name"]
                    cluster.kill(name)
                    killed.append(name)
                time.sleep(0.05)

    other = tmp_path / "worker-killed"
    shutil.copytree(local, other, symlinks=True)
    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    run(["dvc", "repro", "--force", "--single-item", "imbalance"], other, extra_env={SCHEDULER_ENV: cluster.address})
    killer.join(timeout=5)
    assert killed, "no worker was busy during the imbalance stage: nothing was killed"
    with cluster.client() as client:
        assert len(client.scheduler_info()["workers"]) == 1
    _assert_same_outputs(local, other, cluster.address, ["imbalance"])
