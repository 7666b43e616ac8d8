"""Unit tests of imbalance_lab.tuning.pruners: which trials each pruner stops, and when."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from imbalance_lab.tuning import objective, pruners, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies

optuna.logging.set_verbosity(optuna.logging.WARNING)


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


def test_wilcoxon_pruner_prunes_a_trial_worse_on_every_fold_after_four_folds(
    task, tmp_path, fold_scores, six_fold_task
):
    six = six_fold_task(task)
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="wilcoxon", n_folds=6, metric="log_loss")
    assert pruners.pairs_folds(study)
    study.enqueue_trial({"C": 10.0})
    study.enqueue_trial({"C": 1e-3})  # probabilities near the prior: a worse log loss on every fold
    worker.work(study, storage, six, n_trials=2, progress=False)
    best, bad = study.trials
    good_scores, bad_scores = fold_scores(six, {"C": 10.0}), fold_scores(six, {"C": 1e-3})
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


def test_wilcoxon_pruner_keeps_a_trial_as_good_as_the_best(task, tmp_path, six_fold_task):
    six = six_fold_task(task)
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="wilcoxon", n_folds=6, metric="log_loss")
    for c in [10.0, 10.0, 3.0]:
        study.enqueue_trial({"C": c})
    worker.work(study, storage, six, n_trials=3, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert study.trials[1].value == pytest.approx(study.trials[0].value, abs=1e-12)  # shuffled order, same mean


def test_no_pruner_never_prunes(task, tmp_path):
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="none", n_folds=3, metric="log_loss")
    for c in [10.0] * 5 + [1e-3]:
        study.enqueue_trial({"C": c})
    worker.work(study, storage, task, n_trials=6, progress=False)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6


@pytest.mark.parametrize("n_folds", [3, 4, 5, 10])
def test_every_hyperband_bracket_is_checked_before_the_last_fold(n_folds):
    pruner = pruners.make_pruner("hyperband", n_folds=n_folds)
    pruner._try_initialization(optuna.create_study())
    # bracket b first checks a trial at step min_resource * reduction_factor**b; steps are 0, 1,
    # ... and the pruner is asked up to step n_folds - 2 (not after the last fold)
    first_checks = [1 * 3**b for b in range(pruner._n_brackets)]
    assert first_checks and max(first_checks) <= n_folds - 2, first_checks
