"""Unit tests of imbalance_lab.tuning.objective: a trial's folds, fitted from a queue, score as one at a time."""

from __future__ import annotations

import dataclasses

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from imbalance_lab.data import iter_splits, make_folds
from imbalance_lab.evaluation import score_predictions
from imbalance_lab.modeling import make_estimator
from imbalance_lab.tuning import objective, space, worker
from imbalance_lab.tuning import storage as storages
from imbalance_lab.tuning import study as studies

optuna.logging.set_verbosity(optuna.logging.WARNING)


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


@pytest.fixture(scope="module")
def missing_data(make_dataset):
    """``missing_data(n=240, n_splits=4) -> (X, y, schema, folds)``: the shared synthetic data set
    (missing values in a numeric and in the categorical column), a quarter of the rows positive,
    one repeat of ``n_splits`` folds."""

    def make(n: int = 240, n_splits: int = 4):
        X, y, schema = make_dataset(n, positives=n // 4, seed=3)
        return X, y, schema, make_folds(y, n_splits=n_splits, n_repeats=1, seed=1)

    return make


def test_a_trial_with_every_fold_scored_completes_even_if_the_pruner_would_stop_it(task, tmp_path, fold_scores):
    # with four folds, the paired test first gives p < 0.1 after the fourth: the last fold
    four = dataclasses.replace(task, folds=make_folds(task.y, n_splits=4, n_repeats=1, seed=0), prepared={})
    storage = storages.open_storage(journal_path=tmp_path / "j.journal", storage_env="UNSET_ENV_FOR_TEST")
    study = studies.load_study(storage, name="s", seed=0, pruner="wilcoxon", n_folds=4, metric="log_loss")
    study.enqueue_trial({"C": 10.0})
    study.enqueue_trial({"C": 1e-3})
    worker.work(study, storage, four, n_trials=2, progress=False)
    best, bad = study.trials
    bad_scores = fold_scores(four, {"C": 1e-3})
    assert all(b > g for b, g in zip(bad_scores, fold_scores(four, {"C": 10.0})))
    assert study.pruner.prune(study, bad)  # what the pruner says once all four folds are in
    assert bad.state == TrialState.COMPLETE and len(bad.intermediate_values) == 4
    assert bad.value == pytest.approx(np.mean(bad_scores), abs=1e-12)
    assert study.best_trial.number == best.number


def test_fold_order_is_the_stored_order_or_a_permutation_fixed_by_seed_and_slot():
    assert objective.fold_order(10, seed=4, slot=7, shuffle=False) == list(range(10))
    orders = [tuple(objective.fold_order(10, seed=4, slot=n, shuffle=True)) for n in range(5)]
    assert all(sorted(o) == list(range(10)) for o in orders)
    assert len(set(orders)) == 5  # trials start from different folds
    assert objective.fold_order(10, seed=4, slot=3, shuffle=True) == list(orders[3])  # on every run and worker
    assert objective.fold_order(10, seed=5, slot=3, shuffle=True) != list(orders[3])


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


@pytest.mark.parametrize("model", ["logistic_regression", "xgboost", "hist_gradient_boosting"])
def test_prepared_fold_predicts_like_fit_predict_fold(model, fit_predict_fold, missing_data):
    from threadpoolctl import threadpool_limits

    X, y, schema, folds = missing_data()
    params = TRIAL_PARAMS[model]
    with threadpool_limits(limits=1):
        for _, _, train, val in list(iter_splits(folds))[:2]:
            expected, expected_trees = fit_predict_fold(model, params, schema, X, y, train, val, seed=5)
            fold = objective.prepare_fold(model, schema, X, y, train, val, seed=5)
            got, trees = objective.fit_predict_prepared(model, params, fold, seed=5)
            assert np.array_equal(got, expected)
            assert trees == expected_trees
            assert fold.val.shape[0] == len(val)
            if model == "xgboost":  # early stopping on a stratified part of the training fold
                assert fold.fit is None and fold.val.dtype == np.float32
                assert fold.fit_matrix.num_row() + fold.stop_matrix.num_row() == len(train)
                assert fold.matrix_settings == (None, 1)
                assert trees is not None and 1 <= trees < 2000
                # the matrices are reused: a second fit on them gives the same again
                again, again_trees = objective.fit_predict_prepared(model, params, fold, seed=5)
                assert np.array_equal(again, expected) and again_trees == trees
            else:
                assert fold.fit_matrix is None and fold.fit.shape[0] == len(train)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_prepared_xgboost_matrices_fit_like_the_pipeline_over_the_search_space(n_jobs, fit_predict_fold, missing_data):
    """The fold's prebuilt matrices, reused trial after trial, give exactly what the pipeline
    (``XGBClassifier.fit`` on the preprocessed rows) gives, for settings drawn from the search
    space: row and column sampling below 1 (a seed other than XGBoost's default 0, so a lost
    ``random_state`` would show) and more distinct values per column than XGBoost's 256 bins
    (its quantile sketch is then an approximation, built once here and in every fit there)."""
    from threadpoolctl import threadpool_limits

    X, y, schema, folds = missing_data(n=1200, n_splits=3)
    _, _, train, val = next(iter_splits(folds))
    assert X["num1"].iloc[train].nunique() > 256
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    param_sets = [space.suggest_params(sampler.ask(), "xgboost") for _ in range(6)]
    assert all(p["subsample"] < 1 and p["colsample_bytree"] < 1 for p in param_sets)
    with threadpool_limits(limits=n_jobs):
        fold = objective.prepare_fold("xgboost", schema, X, y, train, val, seed=11, n_jobs=n_jobs)
        assert fold.matrix_settings == (None, n_jobs)
        for params in param_sets:
            expected, expected_trees = fit_predict_fold(
                "xgboost", params, schema, X, y, train, val, seed=11, n_jobs=n_jobs, max_trees=300
            )
            got, trees = objective.fit_predict_prepared("xgboost", params, fold, seed=11, n_jobs=n_jobs, max_trees=300)
            assert np.array_equal(got, expected) and trees == expected_trees


def test_prepared_xgboost_matrices_refuse_an_estimator_with_other_threads(missing_data):
    X, y, schema, folds = missing_data()
    _, _, train, val = next(iter_splits(folds))
    fold = objective.prepare_fold("xgboost", schema, X, y, train, val, seed=1, n_jobs=1)
    with pytest.raises(ValueError, match="built for"):
        objective.fit_predict_prepared("xgboost", TRIAL_PARAMS["xgboost"], fold, seed=1, n_jobs=2)


def test_prepared_xgboost_matrices_refuse_a_fit_without_early_stopping(missing_data):
    """The fast path keeps the trees early stopping chose; an estimator without it is refused
    rather than fitted differently from XGBClassifier.fit."""
    X, y, schema, folds = missing_data()
    _, _, train, val = next(iter_splits(folds))
    fold = objective.prepare_fold("xgboost", schema, X, y, train, val, seed=1, n_jobs=1)
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
def test_run_trial_from_a_queue_reports_like_one_fold_at_a_time(model, n_jobs, fit_predict_fold, missing_data):
    X, y, schema, folds = missing_data()
    splits = list(iter_splits(folds))
    second = dict(TRIAL_PARAMS[model], **({"C": 5.0} if model == "logistic_regression" else {"max_depth": 2}))
    param_sets = [TRIAL_PARAMS[model], second]  # the second trial uses the folds the first prepared

    def task(jobs):
        return objective.TuneTask(
            model=model, schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=jobs
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
            proba, n_trees = fit_predict_fold(model, params, schema, X, y, train, val, seed=5)
            scores.append(score_predictions(y[val], proba, threshold=0.5, top_k_fraction=0.1)["log_loss"])
            trees += [n_trees] if n_trees is not None else []
        assert many.intermediate_values == {k: float(np.mean(scores[: k + 1])) for k in range(len(splits))}
        assert many.value == float(np.mean(scores))
        if trees:
            assert many.user_attrs["n_trees"] == round(float(np.mean(trees)))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("n_jobs", [2, 3])
def test_run_trial_from_a_queue_with_a_paired_pruner_reports_like_one_fold_at_a_time(n_jobs, missing_data):
    X, y, schema, folds = missing_data()
    model = "logistic_regression"
    param_sets = [TRIAL_PARAMS[model], dict(TRIAL_PARAMS[model], C=5.0)]

    def task(jobs):
        return objective.TuneTask(
            model=model, schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=jobs
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


def test_run_trial_keeps_every_core_busy_while_one_fold_is_slow(monkeypatch, missing_data):
    X, y, schema, folds = missing_data(n_splits=8)
    task = objective.TuneTask(
        model="logistic_regression", schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=2
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
def test_run_trial_pruned_reports_only_up_to_the_pruning_and_starts_no_more_fits(monkeypatch, n_jobs, missing_data):
    X, y, schema, folds = missing_data(n_splits=8)
    task = objective.TuneTask(
        model="logistic_regression",
        schema=schema,
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


@pytest.mark.parametrize("model", ["xgboost", "hist_gradient_boosting"])
def test_max_trees_caps_what_early_stopping_may_grow(model, fit_predict_fold, missing_data):
    X, y, schema, folds = missing_data()
    _, _, train, val = next(iter_splits(folds))
    params = dict(TRIAL_PARAMS[model], learning_rate=0.01)  # a slow learner: early stopping lets it grow long
    _, free = fit_predict_fold(model, params, schema, X, y, train, val, seed=5)
    _, capped = fit_predict_fold(model, params, schema, X, y, train, val, seed=5, max_trees=4)
    assert free > 4 and capped <= 4
    # the stage's path (folds preprocessed once, fitted from a queue) honours it too
    task = objective.TuneTask(
        model=model, schema=schema, X=X, y=y, folds=folds, metric="log_loss", seed=5, n_jobs=2, max_trees=4
    )
    (trial,) = _run_trials(task, [params])
    assert trial.state == TrialState.COMPLETE and trial.user_attrs["n_trees"] <= 4
