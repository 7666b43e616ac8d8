"""Unit tests of bench/scale.py's memory measurement (the benchmark itself runs by hand)."""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT

_spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)

HOLD = "import sys, time; b = bytearray(int(sys.argv[1]) * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.5)"


def test_tree_monitor_keeps_each_process_share_at_the_peak():
    """A parent holding 100 MB and its child holding 250 MB: at the peak, two parts in that order."""
    parent = (
        "import subprocess, sys, time; b = bytearray(100 * 2**20); b[::4096] = b'x' * len(b[::4096]); "
        f"subprocess.run([sys.executable, '-c', {HOLD!r}, '250'])"
    )
    proc = subprocess.Popen([sys.executable, "-c", parent])
    monitor = scale.TreeMonitor(proc.pid)
    monitor.start()
    proc.wait(timeout=30)
    monitor.stop()
    parts = monitor.peak_parts
    assert len(parts) == 2, parts
    (first_role, first), (second_role, second) = parts
    assert first_role == second_role == scale.Path(sys.executable).name
    assert 250 * 2**20 <= first < 300 * 2**20 and 100 * 2**20 <= second < 150 * 2**20
    assert monitor.peak_pss >= first + second
    assert "python" in scale.breakdown({"peak_pss_by_process": [{"role": r, "pss": b} for r, b in parts]})


def test_role_names_the_processes_of_a_stage():
    assert scale.role(2**22 + 12345) == "gone"  # no such process
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)", "ipykernel_launcher"])
    try:
        deadline = time.monotonic() + 10
        while scale.role(sleeper.pid) == "?" and time.monotonic() < deadline:  # not yet exec'd: no command line
            time.sleep(0.05)
        assert scale.role(sleeper.pid) == "kernel"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stage_command_is_the_command_dvc_runs():
    assert scale.stage_command("prepare")[1:] == ["run", "prepare"]
    assert scale.stage_command("report")[1:] == ["report"]
    assert all(Path(scale.stage_command(s)[0]).exists() for s in scale.stages_in_order())


def test_set_changes_one_param_of_the_profile_and_rejects_a_malformed_one():
    """``--set imbalance.override=smote`` replaces that key alone; the value is read as YAML."""
    overrides = [scale.parse_override("imbalance.override=smote"), scale.parse_override("tune.n_trials=1")]
    assert overrides == [("imbalance", "override", "smote"), ("tune", "n_trials", 1)]
    meta = {"target": "is_positive", "categorical": ["cat_0"]}
    plain = scale.profile_changes(meta, "synthetic.parquet")
    changed = scale.profile_changes(meta, "synthetic.parquet", overrides)
    assert changed["imbalance"] == {**plain["imbalance"], "override": "smote"}
    assert changed["tune"] == {**plain["tune"], "n_trials": 1}
    assert {k: v for k, v in changed.items() if k not in ("imbalance", "tune")} == {
        k: v for k, v in plain.items() if k not in ("imbalance", "tune")
    }
    for bad in ("imbalance", "override=smote", "imbalance.=x", "a.b.c=1"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"SECTION\.KEY=VALUE"):
            scale.parse_override(bad)


def _measured(stage: str, returncode: int = 0, started: str = "2026-12-07T04:00:00+00:00") -> dict:
    return {
        "stage": stage,
        "started": started,
        "seconds": 10.0,
        "peak_tree_rss": 2**30,
        "peak_tree_pss": 2**29,
        "max_process_rss": 2**29,
        "processes": 2,
        "peak_pss_by_process": [{"role": "kernel", "pss": 2**29}],
        "returncode": returncode,
        "timed_out": False,
    }


@pytest.fixture
def kept_copy(tmp_path, monkeypatch):
    """A kept 1000-row copy whose prepare was measured and whose cross_validate failed; the
    stages run afterwards are recorded in ``ran`` (``fail`` names those that fail) and making a
    new copy is an error."""
    log_dir = tmp_path / "rows_1000" / "bench-logs"
    log_dir.mkdir(parents=True)
    record = {
        "rows": 1000,
        "positives": 10,
        "parquet_bytes": 12345,
        "project": str(log_dir.parent),
        "made": "2026-12-06T04:00:00+00:00",
        "parts": 1,
        "commit": "abc1234",
        "seed": 0,
        "code": None,
        "overrides": [],
        "load_start": 0.1,
        "load_end": 0.2,
        "stages": [
            _measured("prepare", started="2026-12-06T04:00:00+00:00"),
            _measured("cross_validate", 1, started="2026-12-06T04:01:00+00:00"),
        ],
    }
    scale.save_record(log_dir, record)
    ran: list[str] = []
    fail: set[str] = set()

    def run_stage(stage, cwd, log_dir, *, timeout):
        assert cwd == log_dir.parent
        ran.append(stage)
        return _measured(stage, int(stage in fail))

    def no_new_copy(*args, **kwargs):
        raise AssertionError("--resume made a new copy")

    monkeypatch.setattr(scale, "run_stage", run_stage)
    monkeypatch.setattr(scale, "copy_project", no_new_copy)
    monkeypatch.setattr(scale, "generate", no_new_copy)
    return tmp_path, log_dir, ran, fail


def test_resume_runs_only_the_stages_not_measured_to_a_successful_end(kept_copy):
    work, log_dir, ran, _ = kept_copy
    res = scale.run_size(1000, work, seed=0, timeout=60, stages=["prepare", "cross_validate", "tune"], resume=True)
    assert ran == ["cross_validate", "tune"]
    assert [(s["stage"], s["returncode"], s["started"][:10]) for s in res["stages"]] == [
        ("prepare", 0, "2026-12-06"),
        ("cross_validate", 0, "2026-12-07"),
        ("tune", 0, "2026-12-07"),
    ]
    assert res["parts"] == 2 and res["made"].startswith("2026-12-06") and res["commit"] == "abc1234"
    assert scale.load_record(log_dir) == res  # saved in the copy
    assert not (log_dir / (scale.RECORD + ".tmp")).exists()


def test_resume_saves_a_failure_and_stops_there(kept_copy):
    work, log_dir, ran, fail = kept_copy
    fail.add("tune")
    res = scale.run_size(1000, work, seed=0, timeout=60, stages=["tune", "imbalance", "evaluate"], resume=True)
    assert ran == ["tune"]
    assert [(s["stage"], s["returncode"]) for s in scale.load_record(log_dir)["stages"]] == [
        ("prepare", 0),
        ("cross_validate", 1),
        ("tune", 1),
    ]
    assert scale.record_done(res) == ["prepare"]


def test_resume_refuses_a_copy_made_for_other_rows_or_settings(kept_copy):
    work, log_dir, ran, _ = kept_copy
    (work / "rows_2000").mkdir()
    shutil.copytree(log_dir, work / "rows_2000" / "bench-logs")
    with pytest.raises(SystemExit, match=r"results\.json: made for 1,000 rows, not 2,000; use another --workdir"):
        scale.run_size(2000, work, seed=0, timeout=60, stages=["tune"], resume=True)
    with pytest.raises(SystemExit, match=r"results\.json: made with seed 0, not 1; resume with the same"):
        scale.run_size(1000, work, seed=1, timeout=60, stages=["tune"], resume=True)
    with pytest.raises(SystemExit, match=r"made with overrides \[\], not \['tune\.n_trials=1'\]"):
        scale.run_size(
            1000, work, seed=0, timeout=60, stages=["tune"], resume=True, overrides=[("tune", "n_trials", 1)]
        )
    assert ran == [] and len(scale.load_record(log_dir)["stages"]) == 2  # nothing ran, nothing changed


def test_table_of_a_run_in_parts_shows_when_each_stage_started(kept_copy, capsys):
    work, log_dir, _, _ = kept_copy
    record = scale.load_record(log_dir)
    scale.print_table(record)
    assert "started" not in capsys.readouterr().out  # one part: no start times
    record["parts"] = 2
    scale.print_table(record)
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split()[0] == "prepare" and lines[3].endswith("started 2026-12-06T04:00")
    assert lines[4].split()[0] == "cross_validate" and "FAILED" in lines[4]
    assert lines[5].startswith("  total / peak") and lines[5].split()[3] == "20.0"
