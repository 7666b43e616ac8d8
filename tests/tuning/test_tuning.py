"""Tuning: search spaces, pruning, study identity, exactly n_trials, secrets."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import subprocess
import sys

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from imbalance_lab.data import Schema, iter_splits, make_folds
from imbalance_lab.errors import TuneError
from imbalance_lab.evaluation import score_predictions
from imbalance_lab.modeling import make_estimator
from imbalance_lab.tuning import objective, pruners, results, sampler, space, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies

optuna.logging.set_verbosity(optuna.logging.WARNING)


def fit_predict_fold(model, params, schema, X, y, train, val, *, seed, n_jobs=1, **options):
    """A trial's pipeline fitted on a training fold (objective.fit_fold) and its validation
    probabilities, with the number of trees early stopping kept."""
    from threadpoolctl import threadpool_limits

    pipe, n_trees = objective.fit_fold(model, params, schema, X, y, train, seed=seed, n_jobs=n_jobs, **options)
    with threadpool_limits(limits=n_jobs):
        return pipe.predict_proba(X.iloc[val])[:, 1], n_trees


SCHEMA = Schema(target="y", numeric=["a", "b", "c"], categorical={"g": ["x", "y", "z"]}, features=["a", "b", "c", "g"])


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.normal(size=n),
            "g": rng.choice(["x", "y", "z"], size=n).astype(object),
        }
    )
    logit = -2.8 + 2.0 * df["a"] - 1.0 * df["b"] + (df["g"] == "x") * 0.8
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=0)
    return objective.TuneTask(
        model="logistic_regression", schema=SCHEMA, X=df, y=y, folds=folds, metric="log_loss", seed=0
    )


@pytest.mark.parametrize("model", space.TUNABLE_MODELS)
def test_search_spaces_sample_valid_params_that_fit(model, task):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(3):
        trial = study.ask()
        params = space.suggest_params(trial, model)
        dists = trial.distributions
        assert set(params) == set(dists)
        for name, value in params.items():
            assert dists[name]._contains(dists[name].to_internal_repr(value))
    _, _, train, val = next(iter_splits(task.folds))
    proba, trees = fit_predict_fold(model, params, task.schema, task.X, task.y, train, val, seed=0)
    assert proba.shape == (len(val),) and ((proba >= 0) & (proba <= 1)).all()
    assert (trees is None) == (space.trees_param(model) is None)
    if trees is not None:
        assert 1 <= trees < 2000


def test_unknown_model_is_a_one_line_error():
    with pytest.raises(TuneError, match=r"tune\.model 'dummy' cannot be tuned"):
        space.suggest_params(optuna.create_study().ask(), "dummy")


def test_median_pruner_prunes_a_hopeless_trial(task, tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="median", n_folds=3, metric="log_loss")
    for _ in range(5):
        study.enqueue_trial({"C": 10.0})
    study.enqueue_trial({"C": 1e-3})  # heavy regularisation: probabilities near the prior, bad log loss
    worker.work(study, storage, task, n_trials=6, progress=False)
    last = study.trials[-1]
    assert last.params == {"C": 1e-3}
    assert last.state == TrialState.PRUNED
    assert max(last.intermediate_values) < 2, "pruned before the last fold"
    assert all(t.state == TrialState.COMPLETE for t in study.trials[:5])


def _six_fold_task(task: objective.TuneTask) -> objective.TuneTask:
    """``task`` with six folds (two repeats of three): enough for a paired test to prune."""
    return dataclasses.replace(task, folds=make_folds(task.y, n_splits=3, n_repeats=2, seed=0), prepared={})


def _fold_scores(task: objective.TuneTask, params: dict) -> list[float]:
    """Each fold's score for ``params``, fitted one fold at a time without run_trial."""
    scores = []
    for _, _, train, val in iter_splits(task.folds):
        proba, _ = fit_predict_fold(task.model, params, task.schema, task.X, task.y, train, val, seed=task.seed)
        scores.append(score_predictions(task.y[val], proba, threshold=0.5, top_k_fraction=0.1)[task.metric])
    return scores


def test_wilcoxon_pruner_prunes_a_trial_worse_on_every_fold_after_four_folds(task, tmp_path):
    six = _six_fold_task(task)
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="wilcoxon", n_folds=6, metric="log_loss")
    assert pruners.pairs_folds(study)
    study.enqueue_trial({"C": 10.0})
    study.enqueue_trial({"C": 1e-3})  # probabilities near the prior: a worse log loss on every fold
    worker.work(study, storage, six, n_trials=2, progress=False)
    best, bad = study.trials
    good_scores, bad_scores = _fold_scores(six, {"C": 10.0}), _fold_scores(six, {"C": 1e-3})
    assert all(b > g for b, g in zip(bad_scores, good_scores))
    # each fold's own score is reported, under the fold's index, in the trial's own order
    assert best.state == TrialState.COMPLETE
    assert list(best.intermediate_values) == objective.fold_order(6, seed=0, slot=0, shuffle=True)
    assert best.intermediate_values == pytest.approx(dict(enumerate(good_scores)), abs=1e-12)
    assert best.value == pytest.approx(np.mean(good_scores), abs=1e-12)
    # one-sided exact test on n pairs all worse: p = 2**-n, below 0.1 first at n = 4
    assert bad.state == TrialState.PRUNED
    order = objective.fold_order(6, seed=0, slot=1, shuffle=True)
    assert list(bad.intermediate_values) == order[:4]
    assert bad.intermediate_values == pytest.approx({k: bad_scores[k] for k in order[:4]}, abs=1e-12)


def test_a_trial_with_every_fold_scored_completes_even_if_the_pruner_would_stop_it(task, tmp_path):
    # with four folds, the paired test first gives p < 0.1 after the fourth: the last fold
    four = dataclasses.replace(task, folds=make_folds(task.y, n_splits=4, n_repeats=1, seed=0), prepared={})
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="wilcoxon", n_folds=4, metric="log_loss")
    study.enqueue_trial({"C": 10.0})
    study.enqueue_trial({"C": 1e-3})
    worker.work(study, storage, four, n_trials=2, progress=False)
    best, bad = study.trials
    bad_scores = _fold_scores(four, {"C": 1e-3})
    assert all(b > g for b, g in zip(bad_scores, _fold_scores(four, {"C": 10.0})))
    assert study.pruner.prune(study, bad)  # what the pruner says once all four folds are in
    assert bad.state == TrialState.COMPLETE and len(bad.intermediate_values) == 4
    assert bad.value == pytest.approx(np.mean(bad_scores), abs=1e-12)
    assert study.best_trial.number == best.number


def test_wilcoxon_pruner_keeps_a_trial_as_good_as_the_best(task, tmp_path):
    six = _six_fold_task(task)
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="wilcoxon", n_folds=6, metric="log_loss")
    for c in [10.0, 10.0, 3.0]:
        study.enqueue_trial({"C": c})
    worker.work(study, storage, six, n_trials=3, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert study.trials[1].value == pytest.approx(study.trials[0].value, abs=1e-12)  # shuffled order, same mean


def test_fold_order_is_the_stored_order_or_a_permutation_fixed_by_seed_and_slot():
    assert objective.fold_order(10, seed=4, slot=7, shuffle=False) == list(range(10))
    orders = [tuple(objective.fold_order(10, seed=4, slot=n, shuffle=True)) for n in range(5)]
    assert all(sorted(o) == list(range(10)) for o in orders)
    assert len(set(orders)) == 5  # trials start from different folds
    assert objective.fold_order(10, seed=4, slot=3, shuffle=True) == list(orders[3])  # on every run and worker
    assert objective.fold_order(10, seed=5, slot=3, shuffle=True) != list(orders[3])


def test_no_pruner_never_prunes(task, tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="none", n_folds=3, metric="log_loss")
    for c in [10.0] * 5 + [1e-3]:
        study.enqueue_trial({"C": c})
    worker.work(study, storage, task, n_trials=6, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6


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


def _open(path, *, pruner="median", seed=3):
    """A process's view of the journal study "s": its own storage object and sampler."""
    storage = storages.open_storage(journal_path=path, storage_env="UNSET_ENV_FOR_TEST")
    return storage, studies.load_study(storage, name="s", seed=seed, pruner=pruner, n_folds=3, metric="log_loss")


def _finished(study):
    return [
        (t.state, t.params, t.value, list(t.intermediate_values.items()))
        for t in study.trials
        if t.state in results.FINISHED
    ]


def _killed_and_resumed(path, task, *, killed_after, n_trials):
    """A run killed after ``killed_after`` trials with one more running, resumed to ``n_trials``
    by a new process with a new sampler (the Wilcoxon pruner); the resumed process's study."""
    storage, first = _open(path, pruner="wilcoxon")
    worker.work(first, storage, task, n_trials=killed_after, progress=False)
    storage, again = _open(path, pruner="wilcoxon")
    again.ask()
    worker.work(again, storage, task, n_trials=n_trials, progress=False)
    assert [t.state for t in again.trials].count(TrialState.FAIL) == 1
    return again


def test_a_resumed_study_and_processes_sharing_one_draw_what_one_uninterrupted_run_draws(task, tmp_path):
    # the Wilcoxon pruner shuffles each trial's folds: the order is part of what must match
    storage, one = _open(tmp_path / "one.journal", pruner="wilcoxon")
    worker.work(one, storage, task, n_trials=12, progress=False)  # 10 start-up trials, then TPE
    reference = _finished(one)
    assert len(reference) == 12 and len({json.dumps(p, sort_keys=True) for _, p, _, _ in reference}) == 12
    assert [t.system_attrs[sampler.SLOT_ATTR] for t in one.trials] == list(range(12))
    # killed after 5 trials with a sixth running; resumed by a new process with a new sampler
    again = _killed_and_resumed(tmp_path / "resumed.journal", task, killed_after=5, n_trials=12)
    assert _finished(again) == reference
    # the stage and two workers taking turns, each with its own sampler
    path = tmp_path / "shared.journal"
    processes = [_open(path, pruner="wilcoxon") for _ in range(3)]
    for n in range(1, 13):
        storage, study = processes[n % 3]
        worker.work(study, storage, task, n_trials=n, progress=False)
    assert _finished(processes[0][1]) == reference


def test_first_trials_are_what_a_run_of_that_many_trials_gives(task, tmp_path):
    twelve_storage, twelve = _open(tmp_path / "twelve.journal", pruner="wilcoxon")
    worker.work(twelve, twelve_storage, task, n_trials=12, progress=False)
    # killed with a trial running after 3 trials, resumed to 5: the failed trial is left out
    five = _killed_and_resumed(tmp_path / "five.journal", task, killed_after=3, n_trials=5)

    first = results.first_trials(twelve, 5)
    assert _finished(first) == _finished(five) == _finished(twelve)[:5]
    assert [t.number for t in first.trials] == list(range(5))
    assert first.study_name == twelve.study_name and first.direction == twelve.direction
    assert pruners.pairs_folds(first)  # the trials table reads a pruned trial's folds as the pruner paired them
    # the view is reported like the study: the table of a 5-trial run, but for measured durations
    reported, direct = results.trials_table(first), results.trials_table(results.first_trials(five, 5))
    pd.testing.assert_frame_equal(
        reported.drop(columns=["duration_seconds", "worker"]), direct.drop(columns=["duration_seconds", "worker"])
    )
    assert results.first_trials(twelve, 5).best_params == results.first_trials(five, 99).best_params
    assert len(results.first_trials(five, 99).trials) == 5  # fewer finished than asked for: all of them
    # a lower n_trials on the stored study runs no trial
    c = worker.work(twelve, twelve_storage, task, n_trials=5, progress=False)
    assert c["complete"] + c["pruned"] == 12 and len(twelve.trials) == 12


def test_a_timeout_ends_the_study_with_a_warning_or_an_error_when_no_trial_is_complete(task, tmp_path, caplog):
    storage, study = _open(tmp_path / "j.journal")
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


def test_a_second_run_on_the_journal_stops_with_a_one_line_error_and_fails_no_trial(task, tmp_path):
    storage, study = _open(tmp_path / "j.journal")
    with storages.journal_owner(storage):  # a first run, still going
        study.ask()  # its running trial
        with pytest.raises(TuneError) as err:
            worker.work(study, storage, task, n_trials=3, progress=False)
        assert str(err.value) == (
            f"journal file {tmp_path / 'j.journal'} is in use by another run of the tune stage; "
            "wait for it to end or stop it, or give this run a database storage (tune.storage_env)"
        )
        assert results.counts(study)["running"] == 1  # the first run's trial was left alone
    c = worker.work(study, storage, task, n_trials=3, progress=False)  # once it has ended
    assert c["complete"] + c["pruned"] == 3 and c["fail"] == 1


def test_with_a_database_the_journal_file_is_created_or_left_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_TEST_OPTUNA_URL", f"sqlite:///{tmp_path / 'optuna.sqlite'}")
    journal = tmp_path / "tuning" / "optuna.journal"  # a DVC output of the stage: it must exist
    assert storages.open_storage(journal_path=journal, storage_env="LAB_TEST_OPTUNA_URL").kind == "sqlite"
    assert journal.read_bytes() == b""
    journal.write_bytes(b'{"op_code": 0}\n')
    storages.open_storage(journal_path=journal, storage_env="LAB_TEST_OPTUNA_URL")
    assert journal.read_bytes() == b'{"op_code": 0}\n'


@pytest.mark.parametrize("n_folds", [3, 4, 5, 10])
def test_every_hyperband_bracket_is_checked_before_the_last_fold(n_folds):
    pruner = pruners.make_pruner("hyperband", n_folds=n_folds)
    pruner._try_initialization(optuna.create_study())
    # bracket b first checks a trial at step min_resource * reduction_factor**b; steps are 0, 1,
    # ... and the pruner is asked up to step n_folds - 2 (not after the last fold)
    first_checks = [1 * 3**b for b in range(pruner._n_brackets)]
    assert first_checks and max(first_checks) <= n_folds - 2, first_checks


def test_a_worker_waits_for_the_stage_to_create_the_study(tmp_path, caplog):
    import logging
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


def test_fail_stale_fails_the_journals_running_trials_only_when_told_they_are_dead(tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=3, pruner="none", n_folds=3, metric="log_loss")
    study.ask()
    assert worker.fail_stale(study, storage) == 0
    assert worker.fail_stale(study, storage, assume_dead=True) == 1
    assert results.counts(study)["running"] == 0


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


def test_same_seed_gives_same_best_params(task, tmp_path):
    def best(tag):
        storage = storages.open_storage(journal_path=tmp_path / f"{tag}.journal", storage_env="UNSET_ENV_FOR_TEST")
        study = studies.load_study(storage, name="s", seed=11, pruner="median", n_folds=3, metric="log_loss")
        worker.work(study, storage, task, n_trials=12, progress=False)
        return results.best_params(study, model="logistic_regression"), study.best_value

    assert best("a") == best("b")


def test_study_name_tracks_what_changes_the_trials():
    base = {
        "model": "xgboost",
        "metric": "average_precision",
        "n_trials": 40,
        "timeout": None,
        "pruner": "median",
        "max_trees": 2000,
        "storage_env": "X",
        "n_jobs": 1,
    }

    def name(tune=base, seed=1, data="d", code="c", n_folds=5):
        return studies.study_name(tune=tune, seed=seed, data_fingerprint=data, code=code, n_folds=n_folds)

    assert name() == name(tune={**base, "timeout": 60, "storage_env": "Y"})
    # n_jobs counts as the threads each fit gets: 1 to 5 fits at a time on five folds, one thread each
    assert name() == name(tune={**base, "n_jobs": 2}) == name(tune={**base, "n_jobs": 5})
    assert name() != name(tune={**base, "n_jobs": 10})  # two threads a fit
    assert name(tune={**base, "n_jobs": 6}) == name(tune={**base, "n_jobs": 3}, n_folds=3)
    # a larger n_trials goes on with the same study, a smaller one reports its first trials
    assert name() == name(tune={**base, "n_trials": 41}) == name(tune={**base, "n_trials": 1})
    assert name() != name(seed=2)
    assert name() != name(data="e")
    assert name() != name(code="c2")


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


def test_bad_database_url_error_does_not_leak_the_password(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_TEST_DB", "postgresql://user:TopSecret123@127.0.0.1:1/db")
    with pytest.raises(TuneError) as err:
        storages.open_storage(journal_path=tmp_path / "j", storage_env="LAB_TEST_DB")
    assert "TopSecret123" not in str(err.value) and "LAB_TEST_DB" in str(err.value)


def test_trials_table_keeps_durations_apart(task, tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="none", n_folds=3, metric="log_loss")
    worker.work(study, storage, task, n_trials=2, progress=False)
    table = results.trials_table(study)
    assert list(table["number"]) == [0, 1] and "C" in table and "duration_seconds" in table
    assert not [c for c in table.columns if "datetime" in c]
    assert list(table["folds_scored"]) == [3, 3]


@pytest.mark.parametrize("pruner", ["wilcoxon", "median"])
def test_trials_table_gives_a_pruned_trial_the_mean_of_the_folds_it_reached(pruner, task, tmp_path):
    six = _six_fold_task(task)
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner=pruner, n_folds=6, metric="log_loss")
    for c in [10.0] * 5 + [1e-3]:
        study.enqueue_trial({"C": c})
    worker.work(study, storage, six, n_trials=6, progress=False)
    bad = study.trials[-1]
    assert bad.state == TrialState.PRUNED
    scores = _fold_scores(six, {"C": 1e-3})
    reached = list(bad.intermediate_values)
    if pruner == "median":
        reached = list(range(len(reached)))  # steps are positions in the stored fold order
    row = results.trials_table(study).iloc[-1]
    assert row["state"] == "PRUNED" and row["folds_scored"] == len(reached) < 6
    assert row["value"] == pytest.approx(np.mean([scores[k] for k in reached]), abs=1e-12)
    assert (results.trials_table(study)["folds_scored"].iloc[:5] == 6).all()


# --------------------------------------------------------------------------------------------
# Folds fitted from a queue, preprocessing prepared once: the same numbers as one fold at a time
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_folds, n_jobs, expected",
    [
        (3, 1, (1, 1)),
        (3, 2, (2, 1)),
        (3, 3, (3, 1)),
        (10, 2, (2, 1)),
        (10, 4, (4, 1)),
        (3, 8, (3, 2)),
        (1, 4, (1, 4)),
    ],
)
def test_fold_slots(n_folds, n_jobs, expected):
    width, threads = objective.fold_slots(n_folds, n_jobs)
    assert (width, threads) == expected
    assert width <= n_folds and width * threads <= max(n_jobs, 1)


@pytest.mark.parametrize("width", [1, 2, 3])
def test_in_order_yields_in_order_and_starts_nothing_once_the_caller_stops(width):
    from concurrent.futures import ThreadPoolExecutor

    submitted = []
    with ThreadPoolExecutor(max_workers=width) as pool:

        def submit(position):
            submitted.append(position)
            return pool.submit(lambda: position * 10)

        assert list(objective.in_order(submit, 7, width=width)) == [0, 10, 20, 30, 40, 50, 60]
        assert submitted == list(range(7))  # each once, in order
        submitted.clear()
        results = objective.in_order(submit, 7, width=width)
        assert next(results) == 0
        results.close()  # the caller stops (a pruned trial)
    assert submitted == list(range(len(submitted))) and len(submitted) <= objective.LOOKAHEAD * width


MISSING_SCHEMA = SCHEMA

#: Fixed hyperparameters (what a trial suggests), small and fast.
TRIAL_PARAMS = {
    "logistic_regression": {"C": 0.5},
    "xgboost": {
        "learning_rate": 0.3,
        "max_depth": 3,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.7,
        "reg_lambda": 1.0,
        "reg_alpha": 0.01,
        "gamma": 0.1,
    },
    "hist_gradient_boosting": {
        "learning_rate": 0.3,
        "max_leaf_nodes": 8,
        "min_samples_leaf": 10,
        "l2_regularization": 1.0,
        "max_features": 0.8,
    },
}


def _missing_data(n: int = 240, n_splits: int = 4):
    """Numeric and text columns with missing values; ``n_splits`` folds of one repeat."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.normal(size=n),
            "g": rng.choice(["x", "y", "z"], size=n).astype(object),
        }
    )
    df.loc[rng.random(n) < 0.1, "b"] = np.nan
    df.loc[rng.random(n) < 0.1, "g"] = np.nan
    logit = -1.5 + 2.0 * df["a"] - 1.0 * df["b"].fillna(0) + (df["g"] == "x") * 0.8
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return df, y, make_folds(y, n_splits=n_splits, n_repeats=1, seed=1)


@pytest.mark.parametrize("model", ["logistic_regression", "xgboost", "hist_gradient_boosting"])
def test_prepared_fold_predicts_like_fit_predict_fold(model):
    from threadpoolctl import threadpool_limits

    X, y, folds = _missing_data()
    params = TRIAL_PARAMS[model]
    with threadpool_limits(limits=1):
        for _, _, train, val in list(iter_splits(folds))[:2]:
            expected, expected_trees = fit_predict_fold(model, params, MISSING_SCHEMA, X, y, train, val, seed=5)
            fold = objective.prepare_fold(model, MISSING_SCHEMA, X, y, train, val, seed=5)
            got, trees = objective.fit_predict_prepared(model, params, fold, seed=5)
            assert np.array_equal(got, expected)
            assert trees == expected_trees
            assert len(fold.val) == len(val)
            if model == "xgboost":  # early stopping on a stratified part of the training fold
                assert fold.fit is None and fold.val.dtype == np.float32
                assert fold.fit_matrix.num_row() + fold.stop_matrix.num_row() == len(train)
                assert fold.matrix_settings == (None, 1)
                assert trees is not None and 1 <= trees < 2000
                # the matrices are reused: a second fit on them gives the same again
                again, again_trees = objective.fit_predict_prepared(model, params, fold, seed=5)
                assert np.array_equal(again, expected) and again_trees == trees
            else:
                assert fold.fit_matrix is None and len(fold.fit) == len(train)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_prepared_xgboost_matrices_fit_like_the_pipeline_over_the_search_space(n_jobs):
    """The fold's prebuilt matrices, reused trial after trial, give exactly what the pipeline
    (``XGBClassifier.fit`` on the preprocessed rows) gives, for settings drawn from the search
    space: row and column sampling below 1 (a seed other than XGBoost's default 0, so a lost
    ``random_state`` would show) and more distinct values per column than XGBoost's 256 bins
    (its quantile sketch is then an approximation, built once here and in every fit there)."""
    from threadpoolctl import threadpool_limits

    X, y, folds = _missing_data(n=1200, n_splits=3)
    _, _, train, val = next(iter_splits(folds))
    assert X["a"].iloc[train].nunique() > 256
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    param_sets = [space.suggest_params(sampler.ask(), "xgboost") for _ in range(6)]
    assert all(p["subsample"] < 1 and p["colsample_bytree"] < 1 for p in param_sets)
    with threadpool_limits(limits=n_jobs):
        fold = objective.prepare_fold("xgboost", MISSING_SCHEMA, X, y, train, val, seed=11, n_jobs=n_jobs)
        assert fold.matrix_settings == (None, n_jobs)
        for params in param_sets:
            expected, expected_trees = fit_predict_fold(
                "xgboost", params, MISSING_SCHEMA, X, y, train, val, seed=11, n_jobs=n_jobs, max_trees=300
            )
            got, trees = objective.fit_predict_prepared("xgboost", params, fold, seed=11, n_jobs=n_jobs, max_trees=300)
            assert np.array_equal(got, expected) and trees == expected_trees


def test_prepared_xgboost_matrices_refuse_an_estimator_with_other_threads():
    X, y, folds = _missing_data()
    _, _, train, val = next(iter_splits(folds))
    fold = objective.prepare_fold("xgboost", MISSING_SCHEMA, X, y, train, val, seed=1, n_jobs=1)
    with pytest.raises(ValueError, match="built for"):
        objective.fit_predict_prepared("xgboost", TRIAL_PARAMS["xgboost"], fold, seed=1, n_jobs=2)


def test_prepared_xgboost_matrices_refuse_a_fit_without_early_stopping():
    """The fast path keeps the trees early stopping chose; an estimator without it is refused
    rather than fitted differently from XGBClassifier.fit."""
    X, y, folds = _missing_data()
    _, _, train, val = next(iter_splits(folds))
    fold = objective.prepare_fold("xgboost", MISSING_SCHEMA, X, y, train, val, seed=1, n_jobs=1)
    params = {
        **space.trial_model_params("xgboost", TRIAL_PARAMS["xgboost"], max_trees=50),
        "early_stopping_rounds": None,
    }
    est = make_estimator("xgboost", seed=1, n_jobs=1, params=params)
    with pytest.raises(ValueError, match="no early_stopping_rounds"):
        objective._train_xgboost(est, fold)
    est.set_params(early_stopping_rounds=5)
    scores, trees = objective._train_xgboost(est, fold)
    assert len(scores) == len(val) and 1 <= trees <= 50


@pytest.mark.parametrize("part", ["training", "early-stopping"])
def test_prepared_xgboost_matrices_refuse_labels_other_than_0_and_1(part):
    """XGBClassifier.fit refuses such labels; the prebuilt matrices must too, not train on them."""
    rng = np.random.default_rng(0)
    X_fit, X_stop = rng.random((40, 3), dtype=np.float32), rng.random((10, 3), dtype=np.float32)
    y_fit, y_stop = np.tile([0, 1], 20), np.tile([0, 1], 5)
    fit_matrix, stop_matrix, settings = objective._quantile_matrices(X_fit, y_fit, X_stop, y_stop, n_jobs=1)
    assert fit_matrix.num_row() == 40 and stop_matrix.num_row() == 10 and settings == (None, 1)
    bad = {"training": (np.where(y_fit == 1, 2, 0), y_stop), "early-stopping": (y_fit, np.where(y_stop == 0, -1, 1))}[
        part
    ]
    with pytest.raises(ValueError, match=rf"the {part} labels must be 0 or 1, got \[(0, 2|-1, 1)\]$"):
        objective._quantile_matrices(X_fit, bad[0], X_stop, bad[1], n_jobs=1)


def _run_trials(task: objective.TuneTask, param_sets: list[dict], pruner=None) -> list:
    """Run enqueued trials with ``run_trial`` in an in-memory study; the finished trials."""
    study = optuna.create_study(direction="minimize", pruner=pruner or optuna.pruners.NopPruner())
    for params in param_sets:
        study.enqueue_trial(params)
        trial = study.ask()
        try:
            value = objective.run_trial(task, trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study.trials


@pytest.mark.parametrize("model, n_jobs", [("logistic_regression", 2), ("logistic_regression", 3), ("xgboost", 2)])
def test_run_trial_from_a_queue_reports_like_one_fold_at_a_time(model, n_jobs):
    X, y, folds = _missing_data()
    splits = list(iter_splits(folds))
    second = dict(TRIAL_PARAMS[model], **({"C": 5.0} if model == "logistic_regression" else {"max_depth": 2}))
    param_sets = [TRIAL_PARAMS[model], second]  # the second trial uses the folds the first prepared

    def task(jobs):
        return objective.TuneTask(
            model=model, schema=MISSING_SCHEMA, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=jobs
        )

    sequential, queued = _run_trials(task(1), param_sets), _run_trials(task(n_jobs), param_sets)
    for params, one, many in zip(param_sets, sequential, queued):
        assert one.state == many.state == TrialState.COMPLETE
        assert many.intermediate_values == one.intermediate_values
        assert many.value == one.value
        assert many.user_attrs.get("n_trees") == one.user_attrs.get("n_trees")
        # the straightforward reference: fit_predict_fold on each fold, running mean reported
        scores, trees = [], []
        for _, _, train, val in splits:
            proba, n_trees = fit_predict_fold(model, params, MISSING_SCHEMA, X, y, train, val, seed=5)
            scores.append(score_predictions(y[val], proba, threshold=0.5, top_k_fraction=0.1)["log_loss"])
            trees += [n_trees] if n_trees is not None else []
        assert many.intermediate_values == {k: float(np.mean(scores[: k + 1])) for k in range(len(splits))}
        assert many.value == float(np.mean(scores))
        if trees:
            assert many.user_attrs["n_trees"] == round(float(np.mean(trees)))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("n_jobs", [2, 3])
def test_run_trial_from_a_queue_with_a_paired_pruner_reports_like_one_fold_at_a_time(n_jobs):
    X, y, folds = _missing_data()
    model = "logistic_regression"
    param_sets = [TRIAL_PARAMS[model], dict(TRIAL_PARAMS[model], C=5.0)]

    def task(jobs):
        return objective.TuneTask(
            model=model, schema=MISSING_SCHEMA, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=jobs
        )

    never = optuna.pruners.WilcoxonPruner(p_threshold=0.0)  # pairs folds, never prunes
    sequential, queued = (
        _run_trials(task(1), param_sets, pruner=never),
        _run_trials(task(n_jobs), param_sets, pruner=never),
    )
    for number, (one, many) in enumerate(zip(sequential, queued)):
        assert one.state == many.state == TrialState.COMPLETE
        assert (
            list(many.intermediate_values)
            == list(one.intermediate_values)
            == objective.fold_order(len(list(iter_splits(folds))), seed=5, slot=number, shuffle=True)
        )
        assert many.intermediate_values == one.intermediate_values
        assert many.value == one.value


class _PruneAfterFirstReport(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return len(trial.intermediate_values) >= 1


class _GatedFits:
    """Stands in for ``objective.fit_predict_prepared`` (the real fit, then a record): the fit of
    stored fold 0 is held until ``release_after`` other fits have started (at most 30 s), so the
    test sees what the trial does while one fold is slow. Records the order fits start and end in
    and the most fits running at once."""

    def __init__(self, task, *, release_after):
        import threading

        self.task, self.release_after = task, release_after
        self.lock, self.released = threading.Lock(), threading.Event()
        self.events, self.running, self.most_running, self.held_in_vain = [], 0, 0, False
        self.real = objective.fit_predict_prepared

    def __call__(self, model, params, fold, **kwargs):
        step = next(k[2] for k, v in self.task.prepared.items() if v is fold)
        with self.lock:
            self.events.append(("start", step))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            if sum(e == "start" for e, k in self.events if k != 0) >= self.release_after:
                self.released.set()
        try:
            if step == 0:
                self.held_in_vain = not self.released.wait(30)
            return self.real(model, params, fold, **kwargs)
        finally:
            with self.lock:
                self.running -= 1
                self.events.append(("end", step))

    def started(self):
        return [k for e, k in self.events if e == "start"]


def test_run_trial_keeps_every_core_busy_while_one_fold_is_slow(monkeypatch):
    X, y, folds = _missing_data(n_splits=8)
    task = objective.TuneTask(
        model="logistic_regression", schema=MISSING_SCHEMA, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=2
    )
    gate = _GatedFits(task, release_after=3)  # fold 0 ends only after folds 1, 2 and 3 have started
    monkeypatch.setattr(objective, "fit_predict_prepared", gate)
    (trial,) = _run_trials(task, [TRIAL_PARAMS["logistic_regression"]])
    monkeypatch.undo()
    # in rounds of two, fold 2 would wait for fold 0: the hold would time out
    assert not gate.held_in_vain
    assert gate.most_running == 2  # never more fits than n_jobs at once
    assert sorted(gate.started()) == list(range(8))
    # at most LOOKAHEAD * n_jobs folds ahead of the one to report: fold 4 waits for fold 0's report
    assert gate.events.index(("start", 4)) > gate.events.index(("end", 0))
    (reference,) = _run_trials(dataclasses.replace(task, n_jobs=1, prepared={}), [TRIAL_PARAMS["logistic_regression"]])
    assert trial.state == reference.state == TrialState.COMPLETE
    assert trial.intermediate_values == reference.intermediate_values  # reported in order, same numbers
    assert trial.value == reference.value


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_run_trial_pruned_reports_only_up_to_the_pruning_and_starts_no_more_fits(monkeypatch, n_jobs):
    X, y, folds = _missing_data(n_splits=8)
    task = objective.TuneTask(
        model="logistic_regression",
        schema=MISSING_SCHEMA,
        X=X,
        y=y,
        folds=folds,
        metric="log_loss",
        seed=5,
        n_jobs=n_jobs,
    )
    gate = _GatedFits(task, release_after=3 if n_jobs == 2 else 0)
    monkeypatch.setattr(objective, "fit_predict_prepared", gate)
    (trial,) = _run_trials(task, [TRIAL_PARAMS["logistic_regression"]], pruner=_PruneAfterFirstReport())
    monkeypatch.undo()
    assert trial.state == TrialState.PRUNED and not gate.held_in_vain
    assert list(trial.intermediate_values) == [0]  # folds fitted meanwhile are not reported
    # one at a time: nothing beyond fold 0; two at a time: the lookahead (4 folds), no fold after the pruning
    expected = [0] if n_jobs == 1 else [0, 1, 2, 3]
    assert sorted(gate.started()) == expected
    assert {step for _, _, step, _ in task.prepared} == set(expected)
    assert gate.running == 0  # the fits still running when it was pruned ended before run_trial returned


def test_trials_seconds_sums_the_finished_trials_of_every_run():
    import datetime

    study = optuna.create_study(direction="maximize")
    start = datetime.datetime(2026, 1, 1, 12, 0, 0)
    for seconds, state in [(2.5, TrialState.COMPLETE), (1.0, TrialState.PRUNED), (4.0, TrialState.FAIL)]:
        study.add_trial(
            optuna.trial.FrozenTrial(
                number=0,
                trial_id=0,
                state=state,
                value=0.5 if state == TrialState.COMPLETE else None,
                datetime_start=start,
                datetime_complete=start + datetime.timedelta(seconds=seconds),
                params={},
                distributions={},
                user_attrs={},
                system_attrs={},
                intermediate_values={},
            )
        )
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]
    assert results.trials_seconds(study) == pytest.approx(3.5)  # the failed trial does not count


@pytest.mark.parametrize("model", ["xgboost", "hist_gradient_boosting"])
def test_max_trees_caps_what_early_stopping_may_grow(model):
    X, y, folds = _missing_data()
    _, _, train, val = next(iter_splits(folds))
    params = dict(TRIAL_PARAMS[model], learning_rate=0.01)  # a slow learner: early stopping lets it grow long
    _, free = fit_predict_fold(model, params, MISSING_SCHEMA, X, y, train, val, seed=5)
    _, capped = fit_predict_fold(model, params, MISSING_SCHEMA, X, y, train, val, seed=5, max_trees=4)
    assert free > 4 and capped <= 4
    # the stage's path (folds preprocessed once, fitted from a queue) honours it too
    task = objective.TuneTask(
        model=model, schema=MISSING_SCHEMA, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=2, max_trees=4
    )
    (trial,) = _run_trials(task, [params])
    assert trial.state == TrialState.COMPLETE and trial.user_attrs["n_trees"] <= 4


def test_max_trees_is_part_of_the_study_name():
    base = {
        "model": "xgboost",
        "metric": "average_precision",
        "n_trials": 40,
        "timeout": None,
        "pruner": "median",
        "max_trees": 2000,
        "storage_env": "X",
        "n_jobs": 1,
    }
    name = studies.study_name(tune=base, seed=1, data_fingerprint="d", code="c", n_folds=5)
    assert name != studies.study_name(
        tune={**base, "max_trees": 300}, seed=1, data_fingerprint="d", code="c", n_folds=5
    )


def test_at_search_bounds_names_parameters_at_an_end_of_their_range():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
    from optuna.trial import create_trial

    from imbalance_lab.tuning import at_search_bounds

    trial = create_trial(
        params={
            "max_depth": 8,
            "depth_low": 2,
            "depth_mid": 5,
            "mcw": 18.86,
            "lr": 0.0102,
            "mid": 0.5,
            "lin": 4.95,
            "kind": "a",
        },
        distributions={
            "max_depth": IntDistribution(2, 8),
            "depth_low": IntDistribution(2, 8),
            "depth_mid": IntDistribution(2, 8),
            "mcw": FloatDistribution(0.5, 20.0, log=True),
            "lr": FloatDistribution(0.01, 0.3, log=True),
            "mid": FloatDistribution(0.0, 1.0),
            "lin": FloatDistribution(0.0, 5.0),
            "kind": CategoricalDistribution(["a", "b"]),
        },
        value=0.18,
    )
    # 18.86 on [0.5, 20] log: 98.4 % of the way up; 0.0102 on [0.01, 0.3] log: 0.6 %; 4.95 of 5: 99 %
    assert at_search_bounds(trial) == {
        "max_depth": "upper",
        "depth_low": "lower",
        "mcw": "upper",
        "lr": "lower",
        "lin": "upper",
    }
    assert at_search_bounds(trial, margin=0.001) == {"max_depth": "upper", "depth_low": "lower"}
