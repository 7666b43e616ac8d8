"""Tuning: search spaces, pruning, study identity, exactly n_trials, secrets."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from imbalance_lab import tuning
from imbalance_lab.data import make_folds

optuna.logging.set_verbosity(optuna.logging.WARNING)

SCHEMA = {"target": "y", "positive_label": "1", "numeric": ["a", "b", "c"], "categorical": {"g": ["x", "y", "z"]},
          "features": ["a", "b", "c", "g"], "id_columns": [], "dropped_columns": []}


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                       "g": rng.choice(["x", "y", "z"], size=n).astype(object)})
    logit = -2.8 + 2.0 * df["a"] - 1.0 * df["b"] + (df["g"] == "x") * 0.8
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=0)
    return tuning.TuneTask(model="logistic_regression", schema=SCHEMA, X=df, y=y, folds=folds, metric="log_loss", seed=0)


@pytest.mark.parametrize("model", tuning.TUNABLE)
def test_search_spaces_sample_valid_params_that_fit(model, task):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(3):
        trial = study.ask()
        params = tuning.suggest_params(trial, model)
        dists = trial.distributions
        assert set(params) == set(dists)
        for name, value in params.items():
            assert dists[name]._contains(dists[name].to_internal_repr(value))
    _, _, train, val = next(tuning.iter_splits(task.folds))
    proba, trees = tuning.fit_predict_fold(model, params, task.schema, task.X, task.y, train, val, seed=0)
    assert proba.shape == (len(val),) and ((proba >= 0) & (proba <= 1)).all()
    assert (trees is None) == (tuning.trees_param(model) is None)
    if trees is not None:
        assert 1 <= trees < 2000


def test_unknown_model_is_a_one_line_error():
    with pytest.raises(tuning.TuneError, match="tune.model 'dummy' cannot be tuned"):
        tuning.suggest_params(optuna.create_study().ask(), "dummy")


def test_median_pruner_prunes_a_hopeless_trial(task, tmp_path):
    storage = tuning.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = tuning.load_study(storage, name="s", seed=0, pruner="median", n_folds=3, metric="log_loss")
    for _ in range(5):
        study.enqueue_trial({"C": 10.0})
    study.enqueue_trial({"C": 1e-3})  # heavy regularisation: probabilities near the prior, bad log loss
    tuning.work(study, storage, task, n_trials=6, progress=False)
    last = study.trials[-1]
    assert last.params == {"C": 1e-3}
    assert last.state == TrialState.PRUNED
    assert max(last.intermediate_values) < 2, "pruned before the last fold"
    assert all(t.state == TrialState.COMPLETE for t in study.trials[:5])


def test_no_pruner_never_prunes(task, tmp_path):
    storage = tuning.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = tuning.load_study(storage, name="s", seed=0, pruner="none", n_folds=3, metric="log_loss")
    for c in [10.0] * 5 + [1e-3]:
        study.enqueue_trial({"C": c})
    tuning.work(study, storage, task, n_trials=6, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6


def test_work_makes_exactly_n_trials_and_resumes(task, tmp_path):
    path = tmp_path / "j.journal"
    storage = tuning.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST")
    study = tuning.load_study(storage, name="s", seed=3, pruner="median", n_folds=3, metric="log_loss")
    tuning.work(study, storage, task, n_trials=4, progress=False)
    first = [(t.number, t.value) for t in study.trials]
    # a "killed" run left a running trial behind; a new process resumes the same study
    again = tuning.load_study(tuning.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST"),
                              name="s", seed=3, pruner="median", n_folds=3, metric="log_loss")
    again.ask()
    assert tuning.fail_stale(again, storage, assume_dead=True) == 1
    c = tuning.work(again, storage, task, n_trials=7, progress=False)
    assert c["complete"] + c["pruned"] == 7 and c["running"] == 0 and c["fail"] == 1
    assert [(t.number, t.value) for t in again.trials[:4]] == first


def test_same_seed_gives_same_best_params(task, tmp_path):
    def best(tag):
        storage = tuning.open_storage(journal_path=tmp_path / f"{tag}.journal", storage_env="UNSET_ENV_FOR_TEST")
        study = tuning.load_study(storage, name="s", seed=11, pruner="median", n_folds=3, metric="log_loss")
        tuning.work(study, storage, task, n_trials=12, progress=False)
        return tuning.best_params(study, model="logistic_regression"), study.best_value

    assert best("a") == best("b")


def test_study_name_tracks_what_changes_the_trials():
    base = {"model": "xgboost", "metric": "average_precision", "n_trials": 40, "timeout": None, "pruner": "median",
            "storage_env": "X", "n_jobs": 1}
    name = tuning.study_name(model="xgboost", tune_params=base, seed=1, data_fingerprint="d")
    assert name == tuning.study_name(model="xgboost", tune_params={**base, "timeout": 60, "storage_env": "Y"}, seed=1, data_fingerprint="d")
    assert name != tuning.study_name(model="xgboost", tune_params={**base, "n_trials": 41}, seed=1, data_fingerprint="d")
    assert name != tuning.study_name(model="xgboost", tune_params=base, seed=2, data_fingerprint="d")
    assert name != tuning.study_name(model="xgboost", tune_params=base, seed=1, data_fingerprint="e")


def test_fingerprint_changes_with_data():
    a = pd.DataFrame({"x": [1, 2, 3]})
    assert tuning.fingerprint(a) == tuning.fingerprint(a.copy())
    assert tuning.fingerprint(a) != tuning.fingerprint(pd.DataFrame({"x": [1, 2, 4]}))


def test_bad_database_url_error_does_not_leak_the_password(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_TEST_DB", "postgresql://user:TopSecret123@127.0.0.1:1/db")
    with pytest.raises(tuning.TuneError) as err:
        tuning.open_storage(journal_path=tmp_path / "j", storage_env="LAB_TEST_DB")
    assert "TopSecret123" not in str(err.value) and "LAB_TEST_DB" in str(err.value)


def test_trials_table_keeps_durations_apart(task, tmp_path):
    storage = tuning.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = tuning.load_study(storage, name="s", seed=0, pruner="none", n_folds=3, metric="log_loss")
    tuning.work(study, storage, task, n_trials=2, progress=False)
    table = tuning.trials_table(study)
    assert list(table["number"]) == [0, 1] and "C" in table and "duration_seconds" in table
    assert not [c for c in table.columns if "datetime" in c]
