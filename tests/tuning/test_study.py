"""Unit tests of imbalance_lab.tuning.study: the study's name and creating or resuming it."""

from __future__ import annotations

import logging
import sys

import optuna
import pandas as pd

from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: A tune params section.
TUNE = {
    "model": "xgboost",
    "metric": "average_precision",
    "n_trials": 40,
    "timeout": None,
    "pruner": "median",
    "max_trees": 2000,
}


def test_study_name_tracks_what_changes_the_trials():
    base = TUNE

    def name(tune=base, seed=1, data="d", code="c", n_folds=5, n_jobs=1):
        return studies.study_name(
            tune=tune, seed=seed, data_fingerprint=data, code=code, n_folds=n_folds, n_jobs=n_jobs
        )

    assert name() == name(tune={**base, "timeout": 60})
    # n_jobs counts as the threads each fit gets: 1 to 5 fits at a time on five folds, one thread each
    assert name() == name(n_jobs=2) == name(n_jobs=5)
    assert name() != name(n_jobs=10)  # two threads a fit
    assert name(n_jobs=6) == name(n_jobs=3, n_folds=3)
    # a larger n_trials goes on with the same study, a smaller one reports its first trials
    assert name() == name(tune={**base, "n_trials": 41}) == name(tune={**base, "n_trials": 1})
    assert name() != name(seed=2)
    assert name() != name(data="e")
    assert name() != name(code="c2")


def test_max_trees_is_part_of_the_study_name():
    base = TUNE
    name = studies.study_name(tune=base, seed=1, data_fingerprint="d", code="c", n_folds=5, n_jobs=1)
    assert name != studies.study_name(
        tune={**base, "max_trees": 300}, seed=1, data_fingerprint="d", code="c", n_folds=5, n_jobs=1
    )


def test_trial_code_names_the_trial_code_version_python_and_the_libraries():
    import xgboost

    code = studies.trial_code()
    assert code.startswith(f"v{studies.TRIAL_CODE_VERSION};")
    assert f"xgboost={xgboost.__version__}" in code and f"optuna={optuna.__version__}" in code
    assert f"python={sys.version_info.major}.{sys.version_info.minor}," in code


def test_fingerprint_changes_with_data():
    a = pd.DataFrame({"x": [1, 2, 3]})
    assert studies.fingerprint(a) == studies.fingerprint(a.copy())
    assert studies.fingerprint(a) != studies.fingerprint(pd.DataFrame({"x": [1, 2, 4]}))


def test_resuming_a_study_does_not_write_to_the_journal(tmp_path):
    path = tmp_path / "j.journal"
    storage = storages.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=3, pruner="none", n_folds=3, metric="log_loss")
    study.tell(study.ask(), 0.5)
    before = path.read_bytes()
    again = studies.load_study(
        storages.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST"),
        name="s",
        seed=3,
        pruner="none",
        n_folds=3,
        metric="log_loss",
    )
    assert [t.value for t in again.trials] == [0.5] and again.direction == study.direction
    assert path.read_bytes() == before


def test_a_worker_waits_for_the_stage_to_create_the_study(tmp_path, caplog):
    import threading
    import time

    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    joined = {}

    def worker():
        joined["study"] = studies.load_study(
            storage,
            name="s",
            seed=3,
            pruner="none",
            n_folds=3,
            metric="log_loss",
            create=False,
            poll_seconds=0.02,
            warn_after=0.2,
        )

    def logged(text, level):
        return [r for r in caplog.records if text in r.getMessage() and r.levelno == level]

    thread = threading.Thread(target=worker, daemon=True)
    with caplog.at_level(logging.INFO, logger="imbalance_lab.tuning"):
        thread.start()
        deadline = time.monotonic() + 10
        while not logged("still waiting for study s", logging.WARNING) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(logged("waiting for the tune stage to create study s", logging.INFO)) == 1
        (warning,) = logged("still waiting for study s", logging.WARNING)
        assert "code or library versions differ" in warning.getMessage()
        assert thread.is_alive() and optuna.get_all_study_names(storage.storage) == []  # it created nothing
        studies.load_study(storage, name="s", seed=3, pruner="none", n_folds=3, metric="log_loss")  # the stage
        thread.join(10)
    assert not thread.is_alive() and joined["study"].study_name == "s"
    assert len(logged("still waiting", logging.WARNING)) == 1  # one warning, not one per poll
    assert optuna.get_all_study_names(storage.storage) == ["s"]
