"""End to end: four experiments queued with `dvc exp run --queue` and run two at a time by
`dvc queue start -j 2`.

DVC runs a queued experiment in a temporary copy of the committed tree (.dvc/tmp/exps/tmp*):
files git does not track are missing there, and the stage commands come from PATH (the
environment of `dvc queue start`). Each experiment must succeed, tune its Optuna study in its own
journal, and show up in `dvc exp show` with its params and headline metrics.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import dvc.api
import optuna
import pytest
from optuna.trial import TrialState

from tests.support import SMALL, copy_project, env, run

pytestmark = pytest.mark.slow

STAGES = ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]
#: name -> `-S` overrides; each changes the tune params or the seed. n_trials is not part of a
#: study's name, so trials3 and trials5-cost tune the same study, each in its own journal.
EXPERIMENTS = {
    "trials3": ["tune.n_trials=3"],
    "trials5-cost": ["tune.n_trials=5", "evaluate.threshold_objective=cost"],
    "nopruner-k3": ["tune.pruner=none", "imbalance.k_neighbors=3"],
    "seed7": ["seed=7"],
}
#: The values `dvc exp show` must report for each experiment (section -> key -> value).
EXPECTED = {
    "trials3": {"tune": {"n_trials": 3}},
    "trials5-cost": {"tune": {"n_trials": 5}, "evaluate": {"threshold_objective": "cost"}},
    "nopruner-k3": {"tune": {"pruner": "none", "n_trials": SMALL["tune"]["n_trials"]}, "imbalance": {"k_neighbors": 3}},
    "seed7": {"seed": 7},
}
HEADLINE = {  # metrics file -> keys every experiment must report
    "metrics/cross_validate.json": ["best_model", "cv_ap"],
    "metrics/tune.json": ["tune_ap"],
    "metrics/imbalance.json": ["strategy", "strategy_ap"],
    "metrics/evaluate.json": ["test_ap", "test_roc_auc", "test_ap_low", "threshold"],
}
TIMEOUT = 1800  # seconds for the whole queue (about 6 minutes on 2 idle cores)
STUCK = 90  # seconds with queued tasks and no worker: the workers could not start


def queue_status(root) -> tuple[dict[str, str], int, int]:
    """Task name -> status (Queued, Running, Success, Failed ...), and the numbers of active and idle workers."""
    out = _queue_status_output(root)
    tasks = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] in EXPERIMENTS:
            tasks[parts[1]] = parts[-1]
    workers = re.search(r"Worker status: (\d+) active, (\d+) idle", out)
    return tasks, *(map(int, workers.groups()) if workers else (0, 0))


#: DVC's own JSON errors from `dvc queue status` that a retry clears: it reads the task files of
#: the filesystem queue while a worker writes them (treeverse/dvc#8014 shows the same family).
TRANSIENT_QUEUE_ERRORS = ("Expecting value", "Extra data", "Unterminated string")


def _queue_status_output(root, *, attempts: int = 5) -> str:
    """`dvc queue status`'s output, retried (at most ``attempts`` times, 2 s apart) when DVC fails
    reading a task file mid-write; any other failure fails the test at once."""
    for _ in range(attempts - 1):
        proc = run(["dvc", "queue", "status"], root, check=False)
        if proc.returncode == 0:
            return proc.stdout
        if "unexpected error" not in proc.stderr or not any(e in proc.stderr for e in TRANSIENT_QUEUE_ERRORS):
            break
        time.sleep(2)
    return run(["dvc", "queue", "status"], root).stdout


def start_queue(root, log) -> None:
    """`dvc queue start -j 2`, its output to a file: the workers it spawns inherit its stdout and
    stderr, so with pipes (capture_output) the call would not return before the last worker exits."""
    with open(log, "w") as fh:
        proc = subprocess.run(
            ["dvc", "queue", "start", "-j", "2"],
            cwd=root,
            env=env(),
            stdout=fh,
            stderr=fh,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
    assert proc.returncode == 0, log.read_text()


def wait_for_queue(root) -> dict[str, str]:
    """Poll `dvc queue status` until no task is queued or running; fail on a timeout or stuck queue."""
    start = time.monotonic()
    idle_since = None
    while True:
        tasks, active, _ = queue_status(root)
        pending = [n for n, s in tasks.items() if s in ("Queued", "Running")]
        if not pending and len(tasks) == len(EXPERIMENTS):
            return tasks
        if active == 0 and not any(s == "Running" for s in tasks.values()):
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > STUCK:
                pytest.fail(
                    f"queued experiments but no worker runs them (stage commands or `dvc` not on PATH?): {tasks}"
                )
        else:
            idle_since = None
        if time.monotonic() - start > TIMEOUT:
            pytest.fail(f"queue not done after {TIMEOUT} s: {tasks}")
        time.sleep(10)


def stop_queue(root) -> None:
    """Kill the experiments still running (after a failure) and stop the workers, which may
    otherwise stay idle (with -j 2, the second worker does not always exit when the queue is empty)."""
    tasks, _, _ = queue_status(root)
    running = [n for n, s in tasks.items() if s == "Running"]
    if running:
        run(["dvc", "queue", "kill", *running], root, check=False)
    run(["dvc", "queue", "stop"], root, check=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sum(queue_status(root)[1:]):
        time.sleep(3)
    if not sum(queue_status(root)[1:]):
        return
    for pidfile in (root / ".dvc" / "tmp" / "exps" / "celery").glob("dvc-exp-worker-*.pid"):
        # a worker that ignored the stop: ours if it is a queue worker running in this project
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"queue-worker" in cmdline and Path(f"/proc/{pid}/cwd").resolve() == Path(root).resolve():
                os.kill(pid, signal.SIGTERM)


def journal_studies(rev: str, root, tmp_path) -> dict[str, int]:
    """Study name -> finished trials in the Optuna journal stored by the experiment ``rev``."""
    local = tmp_path / f"{rev}.journal"
    local.write_bytes(dvc.api.read("data/tuning/optuna.journal", repo=str(root), rev=rev, mode="rb"))
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(local)))
    return {
        s.study_name: len(
            optuna.load_study(study_name=s.study_name, storage=storage).get_trials(
                deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
            )
        )
        for s in optuna.get_all_study_summaries(storage)
    }


def test_queued_experiments_run_in_parallel_each_with_its_own_journal(tmp_path):
    # The shared upstream stages are run and committed first, as the README says. Without that,
    # two queued experiments compute the same outputs and commit the same objects to the one DVC
    # cache at the same moment; once here DVC then failed one of them ("unable to remove ...
    # without a confirmation"), most likely because dvc_data's cache check hashed the object the
    # other experiment was still writing.
    root = copy_project(tmp_path / "proj", git=True, params=SMALL)
    run(["dvc", "repro", "prepare", "cross_validate"], root)
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "upstream results"], root)
    for name, overrides in EXPERIMENTS.items():
        cmd = ["dvc", "exp", "run", "--queue", "-n", name]
        for o in overrides:
            cmd += ["-S", o]
        run(cmd, root)
    try:
        start_queue(root, tmp_path / "queue_start.log")
        tasks = wait_for_queue(root)
    finally:
        stop_queue(root)
    logs = {name: run(["dvc", "queue", "logs", name], root, check=False).stdout for name in EXPERIMENTS}
    failed = {n: logs[n][-3000:] for n, s in tasks.items() if s != "Success"}
    assert not failed, f"experiments failed: {failed}"
    for name, log in logs.items():
        for stage in STAGES:
            reran = f"Running stage '{stage}'" in log
            # only what changed reruns: the committed upstream results are reused (checked out from the cache)
            assert reran == (name == "seed7" or stage not in ("prepare", "cross_validate")), (name, stage, log[-2000:])

    # Params and metrics of every experiment, as `dvc exp show` reports them.
    shown = json.loads(run(["dvc", "exp", "show", "--json"], root).stdout)
    exps = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                if rev.get("name") in EXPERIMENTS:
                    exps[rev["name"]] = rev
    assert set(exps) == set(EXPERIMENTS), sorted(exps)
    for name, rev in exps.items():
        data = rev["data"]
        params = data["params"]["params.yaml"]["data"]
        for section, values in EXPECTED[name].items():
            if isinstance(values, dict):
                assert {k: params[section][k] for k in values} == values, (name, section, params[section])
            else:
                assert params[section] == values, (name, section)
        for path, keys in HEADLINE.items():
            metrics = data["metrics"][path]["data"]
            assert all(metrics.get(k) is not None for k in keys), (name, path, metrics)

    # Each experiment tuned one study, alone in its own journal, with exactly n_trials trials.
    studies = {}
    for name, rev in exps.items():
        n_trials = EXPECTED[name].get("tune", {}).get("n_trials", SMALL["tune"]["n_trials"])
        ((studies[name], finished),) = journal_studies(rev["rev"], root, tmp_path).items()
        assert finished == n_trials, name
    assert studies["trials3"] == studies["trials5-cost"], studies  # only n_trials differs
    assert len({studies[n] for n in ("trials3", "nopruner-k3", "seed7")}) == 3, studies

    # The table people read: one row per experiment, params and headline metrics as columns.
    rows = list(csv.DictReader(io.StringIO(run(["dvc", "exp", "show", "--csv"], root).stdout)))
    by_name = {r["Experiment"]: r for r in rows if r["Experiment"]}
    assert set(EXPERIMENTS) <= set(by_name), sorted(by_name)
    assert by_name["trials5-cost"]["tune.n_trials"] == "5"
    assert by_name["trials5-cost"]["evaluate.threshold_objective"] == "cost"
    assert by_name["seed7"]["seed"] == "7"
    assert all(by_name[n]["State"] == "Success" for n in EXPERIMENTS)
    assert {"best_model", "tune_ap", "strategy", "test_roc_auc"} <= set(rows[0])
