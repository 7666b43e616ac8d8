"""Unit tests of bench/scale.py's memory measurement (the benchmark itself runs by hand)."""

from __future__ import annotations

import argparse
import importlib.util
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
