"""SIGKILL during each stage, then `dvc repro`: it completes, the outputs agree with dvc.lock, the
stages that had finished are not rerun, and no completed Optuna trial is lost.

A kill is the harshest fault: no handler runs, the kernel dies with the runner and DVC leaves
its lock files behind. The runner moves a stage's old outputs aside before it runs and the next
run puts them back (or replaces them), so what a killed stage half-wrote never survives.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from tests.support import SMALL, copy_project, env, run, update_params

pytestmark = pytest.mark.slow
STAGES = ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]
#: Seconds a kill waits, once the stage's notebook has started, for one of its outputs to appear
#: (then it lands while the stage is writing), before it kills anyway.
WAIT_FOR_OUTPUT = 8.0


def _outputs(root: Path, stage: str) -> list[Path]:
    """The paths a stage declares as outs, metrics and plots (``${paths.*}`` resolved)."""
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    declared = {
        k: v for block in dvc.get("vars", []) if isinstance(block, dict) for k, v in block.get("paths", {}).items()
    }
    spec = dvc["stages"][stage]
    found = []
    for kind in ("outs", "metrics", "plots"):
        for entry in spec.get(kind, []) or []:
            name = entry if isinstance(entry, str) else next(iter(entry))
            for key, value in declared.items():
                name = name.replace(f"${{paths.{key}}}", str(value))
            found.append(root / name)
    return found


def _locked_stages(root: Path) -> dict:
    lock = root / "dvc.lock"
    return yaml.safe_load(lock.read_text())["stages"] if lock.exists() else {}


def _completed_trials(root: Path) -> dict[int, tuple]:
    journal = root / "data" / "tuning" / "optuna.journal"
    if not journal.exists():
        return {}
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    trials = {}
    for summary in optuna.get_all_study_summaries(storage):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        for t in study.get_trials(states=(TrialState.COMPLETE,)):
            trials[(summary.study_name, t.number)] = (t.params, t.value)
    return trials


def _repro_killed_during(root: Path, stage: str) -> None:
    """Start `dvc repro` and SIGKILL it (DVC, the runner and the kernel: the whole process group)
    while ``stage`` runs: once its notebook has started and, if that happens within
    WAIT_FOR_OUTPUT seconds, one of its outputs has appeared."""
    started = root / ".imbalance-lab" / "running"  # the runner executes the notebook there
    before = set(started.glob(f"{stage}.*.ipynb")) if started.exists() else set()
    outputs = _outputs(root, stage)
    mtimes = {p: p.stat().st_mtime_ns for p in outputs if p.exists()}
    proc = subprocess.Popen(
        ["dvc", "repro"],
        cwd=root,
        env=env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        running_since = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"dvc repro ended ({proc.returncode}) before '{stage}' could be killed"
            if running_since is None and started.exists() and set(started.glob(f"{stage}.*.ipynb")) - before:
                running_since = time.monotonic()
            if running_since is not None:
                written = any(p.exists() and p.stat().st_mtime_ns != mtimes.get(p) for p in outputs)
                if written or time.monotonic() - running_since > WAIT_FOR_OUTPUT:
                    break
            time.sleep(0.2)
        else:
            raise AssertionError(f"'{stage}' did not start within 600 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _assert_consistent(root: Path) -> None:
    """`dvc status` finds every output as dvc.lock records it."""
    status = run(["dvc", "status", "--json"], root).stdout.strip()
    assert status in ("{}", ""), status


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("faults"), git=True, params=SMALL)


def test_sigkill_during_each_stage_of_a_first_run_then_repro_completes(project):
    root = project
    trials_seen: dict = {}
    for i, stage in enumerate(STAGES):
        locked_before = _locked_stages(root)
        _repro_killed_during(root, stage)
        locked = _locked_stages(root)
        assert set(locked) == set(STAGES[:i]), f"killed in '{stage}': dvc.lock has {sorted(locked)}"
        # the stages finished by earlier runs were not rerun (the one before `stage` finished in this run)
        assert all(locked[s] == locked_before[s] for s in STAGES[:i] if s in locked_before), (
            "a finished stage was rerun"
        )
        trials_seen.update(_completed_trials(root))

    out = run(["dvc", "repro"], root).stdout
    # only the stage killed last (and nothing before it) had to run again
    assert [s for s in STAGES if f"Running stage '{s}'" in out] == ["evaluate"], out
    _assert_consistent(root)
    after = _completed_trials(root)
    assert trials_seen and all(after.get(k) == v for k, v in trials_seen.items()), "a completed Optuna trial was lost"


def test_sigkill_while_a_stage_replaces_its_outputs_then_repro_completes(project):
    """A rerun moves the old outputs aside: killed halfway, then rerun, the stage completes and
    everything agrees with dvc.lock again; meanwhile the earlier stages are untouched."""
    root = project
    _assert_consistent(root)
    update_params(root, {"cross_validate": {"top_k_fraction": 0.2}})
    prepare_lock = _locked_stages(root)["prepare"]
    _repro_killed_during(root, "cross_validate")
    assert _locked_stages(root)["prepare"] == prepare_lock
    assert (root / ".imbalance-lab" / "backup" / "cross_validate").exists(), "the kill should land mid-stage"

    out = run(["dvc", "repro"], root).stdout
    assert "Running stage 'cross_validate'" in out and "Running stage 'prepare'" not in out, out
    _assert_consistent(root)
    assert not (root / ".imbalance-lab" / "backup" / "cross_validate").exists()
    assert all(p.exists() for p in _outputs(root, "cross_validate"))


def _children() -> dict[int, list[int]]:
    """Parent pid -> pids of its live (not zombie) children, from /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def _descendants(pid: int) -> dict[int, str]:
    """The live descendants of ``pid``, with their command lines."""
    tree, found, todo = _children(), {}, [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            try:
                found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_of_a_running_imbalance_stage_leaves_no_process_behind(project):
    """kill -9 of the process group of `dvc repro` while the imbalance stage's worker processes
    run: the kernel (in a session of its own) and its loky workers end too, within 10 s."""
    root = project
    run(["dvc", "repro", "tune"], root)
    proc = subprocess.Popen(
        ["dvc", "repro", "--force", "--single-item", "imbalance"],
        cwd=root,
        env={**env(), "IMBALANCE_LAB_N_JOBS": "2"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stage: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            stage.update(_descendants(proc.pid))
            if sum("loky" in cmd and "resource_tracker" not in cmd for cmd in stage.values()) >= 2:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the imbalance stage started no two worker processes: {sorted(stage.values())}")
        stage.update(_descendants(proc.pid))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in stage):
        time.sleep(0.2)
    left = {p: cmd for p, cmd in stage.items() if _alive(p)}
    for pid in left:  # do not leave them to the next tests
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed stage still alive 10 s later: {left}"
