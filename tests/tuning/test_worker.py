"""Unit tests of imbalance_lab.tuning.worker: exactly n_trials, resuming, timeouts, one run per journal,
and no dask without $IMBALANCE_LAB_DASK_SCHEDULER."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import optuna
import pytest

from imbalance_lab.errors import TuneError
from imbalance_lab.evaluation.parallel import SCHEDULER_ENV
from imbalance_lab.tuning import results, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies
from tests.support import ROOT

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_work_makes_exactly_n_trials_and_resumes(task, tmp_path):
    path = tmp_path / "j.journal"
    storage = storages.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=3, pruner="median", n_folds=3, metric="log_loss")
    worker.work(study, storage, task, n_trials=4, progress=False)
    first = [(t.number, t.value) for t in study.trials]
    # a "killed" run left a running trial behind; a new process resumes the same study
    again = studies.load_study(
        storages.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST"),
        name="s",
        seed=3,
        pruner="median",
        n_folds=3,
        metric="log_loss",
    )
    again.ask()
    # work() itself fails the stale trial: the journal has one owner, so waiting for it would never end
    c = worker.work(again, storage, task, n_trials=7, progress=False)
    assert c["complete"] + c["pruned"] == 7 and c["running"] == 0 and c["fail"] == 1
    assert [(t.number, t.value) for t in again.trials[:4]] == first


def test_a_timeout_ends_the_study_with_a_warning_or_an_error_when_no_trial_is_complete(
    task, tmp_path, caplog, open_study
):
    storage, study = open_study(tmp_path / "j.journal")
    with pytest.raises(TuneError) as err:
        worker.work(study, storage, task, n_trials=5, timeout=1e-9, progress=False)
    assert str(err.value) == (
        "tune.timeout (1e-09 s) passed before any trial of study s was complete; raise tune.timeout or set it to null"
    )
    worker.work(study, storage, task, n_trials=2, progress=False)
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.tuning"):
        c = worker.work(study, storage, task, n_trials=5, timeout=1e-9, progress=False)
        assert c["complete"] + c["pruned"] == 2
        assert "tune.timeout (1e-09 s) passed after 2 of the 5 trials (tune.n_trials)" in caplog.text
        caplog.clear()
        worker.work(study, storage, task, n_trials=3, timeout=3600, progress=False)  # done in time: no warning
        assert caplog.text == ""
    assert results.counts(study)["complete"] + results.counts(study)["pruned"] == 3


def test_a_second_run_on_the_journal_stops_with_a_one_line_error_and_fails_no_trial(task, tmp_path, open_study):
    storage, study = open_study(tmp_path / "j.journal")
    with storages.journal_owner(storage):  # a first run, still going
        study.ask()  # its running trial
        with pytest.raises(TuneError) as err:
            worker.work(study, storage, task, n_trials=3, progress=False)
        assert str(err.value) == (
            f"journal file {tmp_path / 'j.journal'} is in use by another run of the tune stage; "
            "wait for it to end or stop it, or give this run a database storage ($IMBALANCE_LAB_OPTUNA_STORAGE)"
        )
        assert results.counts(study)["running"] == 1  # the first run's trial was left alone
    c = worker.work(study, storage, task, n_trials=3, progress=False)  # once it has ended
    assert c["complete"] + c["pruned"] == 3 and c["fail"] == 1


def test_fail_stale_fails_the_journals_running_trials_only_when_told_they_are_dead(tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=3, pruner="none", n_folds=3, metric="log_loss")
    study.ask()
    assert worker.fail_stale(study, storage) == 0
    assert worker.fail_stale(study, storage, assume_dead=True) == 1
    assert results.counts(study)["running"] == 0


def test_without_the_dask_variable_trials_fit_here_and_do_not_import_dask(tmp_path):
    """Without $IMBALANCE_LAB_DASK_SCHEDULER, the stage's loop fits its trials' folds in this process
    (prepared here) and imports neither dask nor distributed."""
    script = textwrap.dedent(
        """
        import sys
        from tests.conftest import synthetic_dataset
        from imbalance_lab.data import make_folds
        from imbalance_lab.tuning import TuneTask, open_storage, work
        from imbalance_lab.tuning.study import load_study
        X, y, schema = synthetic_dataset(200, seed=3)
        folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
        for model in ("xgboost", "logistic_regression"):
            task = TuneTask(model=model, schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=0, n_jobs=2)
            storage = open_storage(journal_path=sys.argv[1] + model, storage_env="UNSET_ENV_FOR_TEST")
            study = load_study(storage, name="s", seed=3, pruner="median", n_folds=3, metric="log_loss")
            work(study, storage, task, n_trials=2, progress=False)
            assert len(task.prepared) == 3, task.prepared
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != SCHEDULER_ENV}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "j")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
