"""End to end on a real Dask cluster: `dask scheduler` and two `dask worker` processes on localhost
(as on separate machines), the cross_validate, tune and imbalance stages run through it
($IMBALANCE_LAB_DASK_SCHEDULER) and give the same outputs as a local run, byte for byte but the
measured durations (and, for tune, the study's timestamps and the process that ran each trial); a
worker killed during the imbalance stage changes nothing either; every worker killed while the tune
stage's fits wait stops it with one line and leaves its outputs as they were.

prepare runs once, locally; the cluster runs rerun the other stages in copies of that project
(`dvc repro --force --single-item`).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from imbalance_lab.evaluation.parallel import SCHEDULER_ENV
from tests.support import SMALL, DaskCluster, copy_project, run, update_params

pytestmark = pytest.mark.slow
STAGES = ["cross_validate", "imbalance"]
#: The stages that use the cluster, in the order they run.
CLUSTER_STAGES = ["cross_validate", "tune", "imbalance"]
#: Outputs that hold measured durations (or draw them): not compared.
MEASURED = {
    "data/cross_validation/timings_seconds.csv",
    "plots/cross_validate/cost_performance.png",
    "data/tuning/timings_seconds.json",
}
JOURNAL = "data/tuning/optuna.journal"
#: The trials table's columns that vary between runs (the measured duration, the process).
TRIALS, TRIALS_MEASURED = "data/tuning/trials.csv", ["duration_seconds", "worker"]


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


def _trials(journal: Path) -> list[tuple]:
    """The journal's study: its name and each trial's number, state, parameters, values, reported
    values and attributes (not its timestamps, nor the process that ran it)."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    return [summary.study_name] + [
        (t.number, t.state, t.params, t.values, t.intermediate_values, t.system_attrs)
        + ({k: v for k, v in t.user_attrs.items() if k != "worker"},)
        for t in study.trials
    ]


def _assert_same_outputs(local: Path, other: Path, address: str, stages: list[str]) -> None:
    for stage in stages:
        files = _outputs(local, stage)
        assert files and files == _outputs(other, stage), stage
        for rel in files:
            if rel in MEASURED or rel.endswith(".html"):  # the HTML report shows the measured cells
                continue
            if rel.endswith(".ipynb"):
                assert _unmeasured_cells(other / rel) == _unmeasured_cells(local / rel), rel
            elif rel == JOURNAL:
                assert _trials(other / rel) == _trials(local / rel)
            elif rel == TRIALS:
                pd.testing.assert_frame_equal(
                    pd.read_csv(other / rel).drop(columns=TRIALS_MEASURED),
                    pd.read_csv(local / rel).drop(columns=TRIALS_MEASURED),
                )
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


def _executed(cluster: DaskCluster) -> dict[str, int]:
    """Tasks each worker has run."""
    with cluster.client() as client:
        return client.run(lambda dask_worker: dask_worker.state.executed_count)


def _rerun_on(cluster: DaskCluster, local: Path, dest: Path, stages: list[str]) -> dict[str, int]:
    """Copy the local project to ``dest`` and rerun ``stages`` there on the cluster (tune without
    its study, which it would resume, complete, running no trial); the tasks the cluster ran for
    each stage."""
    shutil.copytree(local, dest, symlinks=True)
    ran = {}
    for stage in stages:
        if stage == "tune":
            (dest / JOURNAL).unlink()
        before = sum(_executed(cluster).values())
        run(["dvc", "repro", "--force", "--single-item", stage], dest, extra_env={SCHEDULER_ENV: cluster.address})
        ran[stage] = sum(_executed(cluster).values()) - before
    return ran


def test_cross_validate_tune_and_imbalance_on_a_cluster_equal_a_local_run(local, cluster, tmp_path):
    other = tmp_path / "on-cluster"
    ran = _rerun_on(cluster, local, other, CLUSTER_STAGES)
    _assert_same_outputs(local, other, cluster.address, CLUSTER_STAGES)
    done = _executed(cluster)  # the fits did run there: every worker ran some
    assert len(done) == 2 and all(n > 0 for n in done.values()), done
    # every fold score the tune stage reported was fitted there
    reported = sum(len(trial[4]) for trial in _trials(local / JOURNAL)[1:])
    assert reported and ran["tune"] >= reported, (ran, reported)


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


def test_every_worker_killed_while_tune_fits_wait_stops_it_with_one_line(local, cluster, tmp_path):
    """Both workers die (SIGKILL of their nannies and workers) while the tune stage's fits wait:
    after 10 s without a worker the stage stops with one line naming the variable, and leaves its
    outputs as they were (the study's journal, kept in place so that a run resumes it, gains only
    the failed run's trials)."""
    other = tmp_path / "workers-killed"
    shutil.copytree(local, other, symlinks=True)
    update_params(other, {"tune": {"n_trials": SMALL["tune"]["n_trials"] + 4}})  # four more trials to run
    before = {rel: (other / rel).read_bytes() for rel in _outputs(other, "tune")}
    killed: list[str] = []

    def kill_every_worker_once_fits_wait() -> None:
        with cluster.client() as client:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                if any("fit_on_worker" in str(key) for keys in client.processing().values() for key in keys):
                    for name in cluster.workers:
                        cluster.kill(name)
                        killed.append(name)
                time.sleep(0.05)

    killer = threading.Thread(target=kill_every_worker_once_fits_wait, daemon=True)
    killer.start()
    t0 = time.monotonic()
    proc = run(
        ["dvc", "repro", "--force", "--single-item", "tune"],
        other,
        check=False,
        extra_env={SCHEDULER_ENV: cluster.address},
    )
    killer.join(timeout=5)
    assert killed == ["w0", "w1"], "no fit was waiting on the cluster: nothing was killed"
    output = proc.stdout + proc.stderr
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0 and "Traceback" not in output and len(errors) == 1, output[-3000:]
    assert f"{SCHEDULER_ENV}) has had no worker for 10 s" in errors[0] and cluster.address in errors[0]
    assert time.monotonic() - t0 < 120
    for rel, content in before.items():
        if rel == JOURNAL:
            assert (other / rel).read_bytes().startswith(content), "the study lost records"
        else:
            assert (other / rel).read_bytes() == content, f"{rel} changed"
