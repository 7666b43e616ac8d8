"""Unit tests of imbalance_lab.tuning.results: the trials table, a study's first trials, durations and bounds."""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from imbalance_lab.tuning import pruners, results, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_first_trials_are_what_a_run_of_that_many_trials_gives(
    task, tmp_path, finished, killed_and_resumed, open_study
):
    twelve_storage, twelve = open_study(tmp_path / "twelve.journal", pruner="wilcoxon")
    worker.work(twelve, twelve_storage, task, n_trials=12, progress=False)
    # killed with a trial running after 3 trials, resumed to 5: the failed trial is left out
    five = killed_and_resumed(tmp_path / "five.journal", task, killed_after=3, n_trials=5)

    first = results.first_trials(twelve, 5)
    assert finished(first) == finished(five) == finished(twelve)[:5]
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


def test_trials_table_keeps_durations_apart(task, tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="none", n_folds=3, metric="log_loss")
    worker.work(study, storage, task, n_trials=2, progress=False)
    table = results.trials_table(study)
    assert list(table["number"]) == [0, 1] and "C" in table and "duration_seconds" in table
    assert not [c for c in table.columns if "datetime" in c]
    assert list(table["folds_scored"]) == [3, 3]


@pytest.mark.parametrize("pruner", ["wilcoxon", "median"])
def test_trials_table_gives_a_pruned_trial_the_mean_of_the_folds_it_reached(
    pruner, task, tmp_path, fold_scores, six_fold_task
):
    six = six_fold_task(task)
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner=pruner, n_folds=6, metric="log_loss")
    for c in [10.0] * 5 + [1e-3]:
        study.enqueue_trial({"C": c})
    worker.work(study, storage, six, n_trials=6, progress=False)
    bad = study.trials[-1]
    assert bad.state == TrialState.PRUNED
    scores = fold_scores(six, {"C": 1e-3})
    reached = list(bad.intermediate_values)
    if pruner == "median":
        reached = list(range(len(reached)))  # steps are positions in the stored fold order
    row = results.trials_table(study).iloc[-1]
    assert row["state"] == "PRUNED" and row["folds_scored"] == len(reached) < 6
    assert row["value"] == pytest.approx(np.mean([scores[k] for k in reached]), abs=1e-12)
    assert (results.trials_table(study)["folds_scored"].iloc[:5] == 6).all()


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
