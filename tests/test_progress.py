"""Unit tests of imbalance_lab.progress: text bars in a stage (the runner reads them)."""

from __future__ import annotations

import io

from imbalance_lab import progress
from imbalance_lab.pipeline.console import parse_progress
from imbalance_lab.pipeline.kernel import kernel_environment


def test_a_stage_kernel_gets_text_bars_the_runner_can_read(monkeypatch):
    monkeypatch.setenv(progress.STAGE_ENV, "cross_validate")
    out = io.StringIO()
    bar = progress.progress_bar(range(10), total=10, desc="folds", file=out, mininterval=0)
    assert type(bar).__module__ == "tqdm.std"
    for _ in bar:
        pass
    assert parse_progress(out.getvalue()).n == 10
    assert bar.leave is False


def test_kernel_environment_names_the_stage(tmp_path):
    env = kernel_environment(tmp_path, {"PATH": "/bin"}, stage="tune")
    assert env[progress.STAGE_ENV] == "tune" and env["PATH"] == "/bin"
    assert progress.STAGE_ENV not in kernel_environment(tmp_path, {"PATH": "/bin"})
