"""Unit tests of imbalance_lab.tuning.sampler: resumed runs and processes sharing a study draw the same trials."""

from __future__ import annotations

import json

import optuna

from imbalance_lab.tuning import results, sampler, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_a_resumed_study_and_processes_sharing_one_draw_what_one_uninterrupted_run_draws(
    task, tmp_path, finished, killed_and_resumed, open_study
):
    # the Wilcoxon pruner shuffles each trial's folds: the order is part of what must match
    storage, one = open_study(tmp_path / "one.journal", pruner="wilcoxon")
    worker.work(one, storage, task, n_trials=12, progress=False)  # 10 start-up trials, then TPE
    reference = finished(one)
    assert len(reference) == 12 and len({json.dumps(p, sort_keys=True) for _, p, _, _ in reference}) == 12
    assert [t.system_attrs[sampler.SLOT_ATTR] for t in one.trials] == list(range(12))
    # killed after 5 trials with a sixth running; resumed by a new process with a new sampler
    again = killed_and_resumed(tmp_path / "resumed.journal", task, killed_after=5, n_trials=12)
    assert finished(again) == reference
    # the stage and two workers taking turns, each with its own sampler
    path = tmp_path / "shared.journal"
    processes = [open_study(path, pruner="wilcoxon") for _ in range(3)]
    for n in range(1, 13):
        storage, study = processes[n % 3]
        worker.work(study, storage, task, n_trials=n, progress=False)
    assert finished(processes[0][1]) == reference


def test_same_seed_gives_same_best_params(task, tmp_path):
    def best(tag):
        storage = storages.open_storage(journal_path=tmp_path / f"{tag}.journal", storage_env="UNSET_ENV_FOR_TEST")
        study = studies.load_study(storage, name="s", seed=11, pruner="median", n_folds=3, metric="log_loss")
        worker.work(study, storage, task, n_trials=12, progress=False)
        return results.best_params(study, model="logistic_regression"), study.best_value

    assert best("a") == best("b")
