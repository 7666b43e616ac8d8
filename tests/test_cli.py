"""The ``imbalance-lab`` command: the input errors of the tune worker (its real runs against
PostgreSQL are in ``tests/e2e/test_tune.py``) and of the check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from imbalance_lab import cli

ROOT = Path(__file__).parents[1]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A directory with the project's params.yaml and dvc.yaml and no prepared data."""
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_tune_worker_without_a_database_says_what_to_export(project, monkeypatch, capsys):
    monkeypatch.delenv("IMBALANCE_LAB_OPTUNA_STORAGE", raising=False)
    assert cli.main(["tune-worker"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: tune-worker needs a shared database: export IMBALANCE_LAB_OPTUNA_STORAGE="
                   "postgresql://user:password@host/db (the same value as for the tune stage)"]


def test_tune_worker_without_the_prepared_data_says_how_to_get_it(project, monkeypatch, capsys):
    monkeypatch.setenv("IMBALANCE_LAB_OPTUNA_STORAGE", "postgresql://user:secret@127.0.0.1:1/db")
    assert cli.main(["tune-worker"]) == cli.EXIT_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: data/") and "not found; run `dvc pull` or `dvc repro prepare`" in line
    assert "secret" not in line
    assert sorted(p.name for p in project.iterdir()) == ["dvc.yaml", "params.yaml"]  # nothing written


def test_tune_worker_without_dvc_yaml_is_one_line(project, monkeypatch, capsys):
    monkeypatch.setenv("IMBALANCE_LAB_OPTUNA_STORAGE", "postgresql://user:secret@127.0.0.1:1/db")
    (project / "dvc.yaml").unlink()
    assert cli.main(["tune-worker"]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: dvc.yaml: file not found; run from the project root or pass --dvc-file"]


@pytest.mark.parametrize("params_text, dvc_text, message", [
    (None, "stages: {}\n", "error: params.yaml: file not found; run `imbalance-lab check` from the project root"),
    ("seed: 42\n", None, "error: dvc.yaml: file not found; run `imbalance-lab check` from the project root"),
    ("seed: [42\n", "stages: {}\n", "error: params.yaml: line 2 is not valid YAML (expected ',' or ']', but got "
                                   "'<stream end>'); fix the syntax"),
    ("seed: 42\n", "- a\n- b\n", "error: dvc.yaml: is not a mapping of sections; fix the file"),
])
def test_check_outside_a_project_or_with_broken_files_is_one_line_with_status_2(tmp_path, monkeypatch, capsys,
                                                                               params_text, dvc_text, message):
    """Status 2 is an error that stopped the check; 1 means it ran and found problems."""
    for name, text in (("params.yaml", params_text), ("dvc.yaml", dvc_text)):
        if text is not None:
            (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "--no-kernel"]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip().splitlines() == [message]
