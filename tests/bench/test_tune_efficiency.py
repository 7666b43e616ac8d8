"""bench/tune_efficiency.py compares like with like: the random search scores a hyperparameter set
exactly as a tune trial does, and samples the tune stage's search space."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState
from sklearn.model_selection import cross_val_score

from imbalance_lab import tuning
from imbalance_lab.data import iter_splits, make_folds

optuna.logging.set_verbosity(optuna.logging.WARNING)

_spec = importlib.util.spec_from_file_location(
    "tune_efficiency", Path(__file__).parents[2] / "bench" / "tune_efficiency.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def data(make_dataset):
    """``data(n=300, n_splits=3) -> (X, y, schema, folds)``: the shared synthetic data set (a fifth of
    the rows positive), one repeat of ``n_splits`` folds."""

    def make(n: int = 300, n_splits: int = 3):
        X, y, schema = make_dataset(n, positives=n // 5, seed=7)
        return X, y, schema, make_folds(y, n_splits=n_splits, n_repeats=1, seed=2)

    return make


def test_space_is_the_tune_stage_space():
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    tuning.suggest_params(trial, "xgboost")
    assert set(bench.SPACE) == set(trial.distributions)
    for name, dist in trial.distributions.items():
        frozen = bench.SPACE[name]
        if isinstance(dist, IntDistribution):  # scipy's randint(a, b) draws a..b-1
            assert tuple(frozen.support()) == (dist.low, dist.high)
            assert not dist.log and frozen.dist.name == "randint"
        else:
            assert isinstance(dist, FloatDistribution)
            assert np.allclose(frozen.support(), (dist.low, dist.high))
            assert dist.log == (frozen.dist.name == "loguniform")


@pytest.mark.parametrize("seed", [0, 1])
def test_random_search_candidate_scores_like_a_tune_trial(data, seed):
    X, y, schema, folds = data()
    splits = [(tr, va) for _, _, tr, va in iter_splits(folds)]
    params = {name: dist.rvs(random_state=seed + i) for i, (name, dist) in enumerate(bench.SPACE.items())}
    params["max_depth"] = int(params["max_depth"])
    model = bench.EarlyStoppedXGBoost(schema=schema, seed=3, **params)
    sklearn_scores = cross_val_score(model, X, y, cv=splits, scoring="average_precision")

    task = tuning.TuneTask(model="xgboost", schema=schema, X=X, y=y, folds=folds, metric="average_precision", seed=3)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(params)
    trial = study.ask()
    value = tuning.run_trial(task, trial)
    study.tell(trial, value)
    assert study.trials[0].state == TrialState.COMPLETE
    assert value == pytest.approx(float(np.mean(sklearn_scores)), abs=1e-12)
    # the fold-by-fold values too (the trial reports running means)
    running = np.cumsum(sklearn_scores) / np.arange(1, len(splits) + 1)
    assert list(study.trials[0].intermediate_values.values()) == pytest.approx(list(running), abs=1e-12)


def test_random_search_scores_its_candidates_like_the_tune_stage(data):
    """What the bench runs: RandomizedSearchCV over SPACE (numpy integers and all), against
    trials of the same parameters run by the tune stage's code with two fits at a time."""
    X, y, schema, folds = data(n=240, n_splits=4)
    splits = [(tr, va) for _, _, tr, va in iter_splits(folds)]
    found, seconds = bench.random_search(X, y, splits, schema, candidates=2, cores=1, seed=4)
    assert len(found) == 2 and seconds > 0
    assert (found["done_seconds"] > 0).all() and (found["done_seconds"] <= seconds).all()
    assert found["done_seconds"].is_monotonic_increasing  # one worker: candidates end in order

    task = tuning.TuneTask(
        model="xgboost", schema=schema, X=X, y=y, folds=folds, metric="average_precision", seed=4, n_jobs=2
    )
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    for params in found["params"]:
        study.enqueue_trial(dict(params))
        trial = study.ask()
        study.tell(trial, tuning.run_trial(task, trial))
    assert [t.params for t in study.trials] == [dict(p) for p in found["params"]]
    assert [t.value for t in study.trials] == pytest.approx(list(found["mean_score"]), abs=1e-12)


def test_compare_runs_both_sides_and_its_figures_agree(data):
    df, y, schema, folds = data()
    lines: list[str] = []
    runs = bench.compare(
        df, y, folds, schema, candidates=3, cores=1, seed=0, pruners=["wilcoxon", "median"], echo=lines.append
    )
    assert [r["pruner"] for r in runs] == ["wilcoxon", "median"]
    assert f"best mean AP {runs[0]['random_best']:.4f}" in lines[0]
    for r in runs:  # both against the same random search
        assert (r["random_best"], r["random_reach"], r["random_seconds"]) == (
            runs[0]["random_best"],
            runs[0]["random_reach"],
            runs[0]["random_seconds"],
        )
        assert 0 < r["random_reach"] <= r["random_seconds"]
        assert any(line.startswith(f"optuna TPE + {r['pruner']} pruner: ") for line in lines)
        n = sum(r["trials"].values())
        assert r["trials_within_target"] == pytest.approx(bench.TARGET * r["random_reach"] / (r["optuna_seconds"] / n))
        assert any(
            f"is the time of {r['trials_within_target']:.1f} of these trials" in line
            and f"the first {tuning.N_STARTUP_TRIALS} of which are TPE's random start-up draws" in line
            for line in lines
        )
        if r["optuna_reach"] is None:  # Optuna ran out of the random search's time
            assert r["ratio"] is None and r["optuna_best"] < r["random_best"]
            assert r["optuna_seconds"] >= r["random_seconds"]
        else:
            assert r["optuna_best"] >= r["random_best"]
            assert r["ratio"] == pytest.approx(r["optuna_reach"] / r["random_reach"])
            assert any(f"optuna ({r['pruner']}) / random search: {r['ratio']:.3f}" in line for line in lines)
        assert sum(r["trials"].values()) >= 1


def test_summary_has_a_line_per_pruner_and_counts_a_run_that_never_got_there_as_a_miss():
    runs = [
        {"seed": 42, "pruner": "wilcoxon", "ratio": 1.4, "random_seconds": 225.0, "random_reach": 145.0},
        {"seed": 42, "pruner": "median", "ratio": 0.3, "random_seconds": 225.0, "random_reach": 145.0},
        {"seed": 1, "pruner": "wilcoxon", "ratio": None, "random_seconds": 200.0, "random_reach": 50.0},
        {"seed": 1, "pruner": "median", "ratio": 0.1, "random_seconds": 200.0, "random_reach": 50.0},
        {"seed": 2, "pruner": "wilcoxon", "ratio": 0.2, "random_seconds": 220.0, "random_reach": 150.0},
        {"seed": 2, "pruner": "median", "ratio": 2.0, "random_seconds": 220.0, "random_reach": 150.0},
    ]
    wilcoxon, median = bench.summary(runs)
    assert wilcoxon.startswith("wilcoxon pruner, ratios over 3 seeds: seed 42: 1.400; seed 1: > 4.000; seed 2: 0.200")
    assert "median 1.400" in wilcoxon and "met in 1 of 3" in wilcoxon  # 200 s of random search, its best after 50 s
    assert median.startswith("median pruner, ratios over 3 seeds: seed 42: 0.300; seed 1: 0.100; seed 2: 2.000")
    assert "median 0.300" in median and "met in 2 of 3" in median
    # when Optuna never got there in half the runs, no median ratio is shown
    (line,) = bench.summary(
        [
            {"seed": 1, "pruner": "wilcoxon", "ratio": None, "random_seconds": 200.0, "random_reach": 50.0},
            {"seed": 2, "pruner": "wilcoxon", "ratio": 0.2, "random_seconds": 220.0, "random_reach": 150.0},
        ]
    )
    assert "no median (Optuna never got there in half the runs or more)" in line and "met in 1 of 2" in line


def test_rescore_scores_each_sides_picks_with_other_model_seeds(data):
    df, y, schema, folds = data()
    lines: list[str] = []
    (run,) = bench.compare(
        df, y, folds, schema, candidates=3, cores=1, seed=0, pruners=["wilcoxon"], rescore_seeds=2, echo=lines.append
    )
    rescored = run["rescored"]
    assert list(rescored) == ["random best", "optuna best at target time", "optuna best"]
    splits = [(tr, va) for _, _, tr, va in iter_splits(folds)]
    # the random search's best, scored as a trial would be with model seeds 1000 and 1001
    found, _ = bench.random_search(df, y, splits, schema, candidates=3, cores=1, seed=0)
    best = dict(found.loc[found["mean_score"].idxmax(), "params"])
    expected = []
    for s in (1000, 1001):
        task = tuning.TuneTask(
            model="xgboost", schema=schema, X=df, y=y, folds=folds, metric="average_precision", seed=s
        )
        study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
        study.enqueue_trial(best)
        trial = study.ask()
        expected.append(tuning.run_trial(task, trial))
    assert rescored["random best"] == pytest.approx(expected, abs=1e-12)
    assert len(rescored["optuna best"]) == 2
    shown = [line for line in lines if "re-scored with 2 other model seeds" in line]
    assert len(shown) == 3 and f"random best: mean AP {np.mean(expected):.4f}" in shown[0]


def test_best_complete_by_takes_only_trials_ended_by_then():
    import datetime

    study = optuna.create_study(direction="maximize")
    start = datetime.datetime(2026, 1, 1, 12, 0, 0)
    for end, value, state in [
        (1.0, 0.2, TrialState.COMPLETE),
        (2.0, 0.9, TrialState.PRUNED),
        (3.0, 0.5, TrialState.COMPLETE),
        (9.0, 0.8, TrialState.COMPLETE),
    ]:
        study.add_trial(
            optuna.trial.FrozenTrial(
                number=0,
                trial_id=0,
                state=state,
                value=value if state == TrialState.COMPLETE else None,
                datetime_start=start,
                datetime_complete=start + datetime.timedelta(seconds=end),
                params={},
                distributions={},
                user_attrs={},
                system_attrs={},
                intermediate_values={0: value} if state == TrialState.PRUNED else {},
            )
        )
    assert bench.best_complete_by(study, 0.5) is None
    assert bench.best_complete_by(study, 2.5).value == 0.2  # the pruned trial does not count
    assert bench.best_complete_by(study, 5.0).value == 0.5
    assert bench.best_complete_by(study, 10.0).value == 0.8
