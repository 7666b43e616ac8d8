"""The tune stage for real: resume after SIGKILL, and workers sharing a PostgreSQL study."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from imbalance_lab.tuning import SLOT_ATTR
from tests import support
from tests.support import Server, copy_project, env, require_server, run

PASSWORD = Server.PASSWORD

pytestmark = pytest.mark.slow
TUNE = {"model": "logistic_regression", "metric": "log_loss", "pruner": "median"}
#: One core per process (the test runs several at once).
ONE_CORE = {"IMBALANCE_LAB_N_JOBS": "1"}


def _prepared(tmp_path: Path, tune: dict) -> Path:
    root = copy_project(tmp_path / "proj", params={"prepare": {"n_splits": 3, "n_repeats": 1}, "tune": tune})
    run(["imbalance-lab", "run", "prepare"], root)
    return root


def _study(root: Path, storage) -> optuna.Study:
    summaries = optuna.get_all_study_summaries(storage)
    assert len(summaries) == 1, [s.study_name for s in summaries]
    return optuna.load_study(study_name=summaries[0].study_name, storage=storage)


def test_tune_resumes_after_sigkill_without_losing_completed_trials(tmp_path):
    root = _prepared(tmp_path, {**TUNE, "n_trials": 40, "pruner": "none"})
    journal = root / "data" / "tuning" / "optuna.journal"
    proc = subprocess.Popen(
        ["imbalance-lab", "run", "tune"],
        cwd=root,
        env={**env(), **ONE_CORE},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    storage = None
    deadline = time.monotonic() + 300
    completed_before: list = []
    while time.monotonic() < deadline:
        time.sleep(1)
        if journal.exists():
            storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
            if optuna.get_all_study_summaries(storage):
                done = _study(root, storage).get_trials(states=(TrialState.COMPLETE,))
                if len(done) >= 5:
                    break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    study = _study(root, storage)
    completed_before = [(t.number, t.params, t.value) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    assert 5 <= len(completed_before) < 40, "the kill must land mid-study"
    assert not (root / "metrics" / "tune.json").exists()

    run(["imbalance-lab", "run", "tune"], root, extra_env=ONE_CORE)
    study = _study(root, storage)
    complete = {t.number: (t.number, t.params, t.value) for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert all(complete[n] == c for n, c, _ in [(c[0], c, None) for c in completed_before]), (
        "a completed trial was lost"
    )
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == 40
    # the resumed run did not draw the first trials' settings again (see tests/tuning/test_sampler.py for the
    # resumed study being the one an uninterrupted run gives)
    assert len({json.dumps(t.params, sort_keys=True) for t in finished}) == 40
    trials = pd.read_csv(root / "data" / "tuning" / "trials.csv")
    assert trials["state"].isin(["COMPLETE", "PRUNED"]).sum() == 40


@pytest.mark.parametrize("required", ["1", None])
def test_a_missing_postgres_server_skips_unless_required(monkeypatch, required):
    monkeypatch.setattr(support.glob, "glob", lambda pattern: [])  # no server installed
    if required:
        monkeypatch.setenv(support.REQUIRE_POSTGRES_ENV, required)
    else:
        monkeypatch.delenv(support.REQUIRE_POSTGRES_ENV, raising=False)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome, match=r"PostgreSQL server binaries not found \(apt-get install postgresql"):
        require_server()


@pytest.fixture(scope="module")
def postgres():
    require_server()
    base = Path(tempfile.mkdtemp(prefix="imbalance-lab-pg-"))
    os.chmod(base, 0o755)
    server = Server(base)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.postgres
def test_stage_and_two_workers_share_one_postgres_study(tmp_path, postgres):
    n_trials = 16
    root = _prepared(tmp_path, {**TUNE, "n_trials": n_trials})
    e = {**env(), **ONE_CORE, "IMBALANCE_LAB_OPTUNA_STORAGE": postgres.url}
    workers = [
        subprocess.Popen(
            ["imbalance-lab", "tune-worker"],
            cwd=root,
            env=e,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    stage = subprocess.run(
        ["imbalance-lab", "run", "tune"], cwd=root, env=e, capture_output=True, text=True, timeout=900
    )
    outs = [w.communicate(timeout=600)[0] for w in workers]
    assert stage.returncode == 0, stage.stderr[-3000:]
    assert all(w.returncode == 0 for w in workers), outs

    storage = optuna.storages.RDBStorage(postgres.url.replace("postgresql://", "postgresql+psycopg2://"))
    study = _study(root, storage)
    trials = study.get_trials()
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == n_trials and len(trials) == n_trials, [t.state for t in trials]
    assert len({t.number for t in trials}) == len(trials), "duplicate trial numbers"
    # every process drew its trials' settings from the trial's own slot, not from a process-wide seed
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == len(trials), "a setting was drawn twice"
    assert sorted(t.system_attrs[SLOT_ATTR] for t in trials) == list(range(n_trials))
    assert len({t.user_attrs["worker"] for t in finished}) >= 2, "the workers must have run trials too"

    best = json.loads((root / "models" / "best_params.json").read_text())
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    assert best["value"] == min(t.value for t in complete) and best["trial"] == study.best_trial.number
    assert best["params"] == study.best_trial.params
    states = pd.read_csv(root / "data" / "tuning" / "trials.csv")["state"]
    assert (states == "COMPLETE").sum() == len(complete) and (states == "PRUNED").sum() == n_trials - len(complete)

    leaked = [str(p) for p in root.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert leaked == [], f"the database password leaked into {leaked}"
    assert PASSWORD not in (root / "params.yaml").read_text()
