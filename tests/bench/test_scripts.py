"""Every benchmark script starts and prints its usage (a script broken by a move fails here, not
in the middle of a long measurement)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import ROOT, env


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_the_benchmark_prints_its_usage(script):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout.lower(), proc.stdout[:500]
