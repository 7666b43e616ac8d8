"""The ``imbalance-lab`` command: the tune worker's input errors (its real runs against PostgreSQL
are in ``tests/e2e/test_tune.py``)."""

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
