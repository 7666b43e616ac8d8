"""Unit tests of imbalance_lab.tuning.storage: the journal file or a database, and its lock."""

from __future__ import annotations

import signal
import subprocess
import sys

import optuna
import pytest

from imbalance_lab.errors import TuneError
from imbalance_lab.tuning import storage as storages

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_with_a_database_the_journal_file_is_created_or_left_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_TEST_OPTUNA_URL", f"sqlite:///{tmp_path / 'optuna.sqlite'}")
    journal = tmp_path / "tuning" / "optuna.journal"  # a DVC output of the stage: it must exist
    assert storages.open_storage(journal_path=journal, storage_env="LAB_TEST_OPTUNA_URL").kind == "sqlite"
    assert journal.read_bytes() == b""
    journal.write_bytes(b'{"op_code": 0}\n')
    storages.open_storage(journal_path=journal, storage_env="LAB_TEST_OPTUNA_URL")
    assert journal.read_bytes() == b'{"op_code": 0}\n'


def test_bad_database_url_error_does_not_leak_the_password(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_TEST_DB", "postgresql://user:TopSecret123@127.0.0.1:1/db")
    with pytest.raises(TuneError) as err:
        storages.open_storage(journal_path=tmp_path / "j", storage_env="LAB_TEST_DB")
    assert "TopSecret123" not in str(err.value) and "LAB_TEST_DB" in str(err.value)


KILLED_WRITER = """
import os, signal
from imbalance_lab.tuning import storage as storages, study as studies
storage = storages.open_storage(journal_path="data/tuning/optuna.journal", storage_env="UNSET_ENV_FOR_TEST")
study = studies.load_study(storage, name="s", seed=3, pruner="none", n_folds=3, metric="log_loss")
# die the way a SIGKILL during a trial can: inside the journal's append, holding its lock
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
study.ask()
"""


NEXT_RUN = """
from imbalance_lab.tuning import storage as storages, study as studies
storage = storages.open_storage(journal_path="data/tuning/optuna.journal", storage_env="UNSET_ENV_FOR_TEST")
study = studies.load_study(storage, name="s", seed=3, pruner="none", n_folds=3, metric="log_loss")
study.tell(study.ask(), 1.0)
print(len(study.trials))
"""


def test_a_run_killed_while_writing_the_journal_does_not_block_the_next_run(tmp_path):
    """SIGKILL while appending to the journal (holding its lock): the next run, with the journal
    path relative as the stage gives it, proceeds at once. With Optuna's default symlink lock it
    waited forever."""
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    try:
        nxt = subprocess.run([sys.executable, "-c", NEXT_RUN], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError("the next run waited more than 60 s for the journal lock of a killed run") from None
    assert nxt.returncode == 0, nxt.stderr
    assert nxt.stdout.split()[-1] == "2"  # the killed run's trial (written before the kill) and this one
