"""Unit tests of imbalance_lab.evaluation.selection: choosing models and imbalance strategies."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import evaluation as ev
from imbalance_lab import modeling
from imbalance_lab.data import make_folds
from imbalance_lab.errors import StrategyError
from imbalance_lab.evaluation import selection

SAMPLERS = [n for n, s in modeling.STRATEGIES.items() if s.kind == "resampling"]


@pytest.fixture(scope="module")
def strategy_data(make_dataset):
    """400 rows of the shared synthetic data set, 32 positives, one repeat of 3 folds:
    ``(X, y, schema, folds)`` (as in tests/modeling)."""
    X, y, schema = make_dataset(400, positives=32)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=3)
    return X, y, schema, folds


def test_cheapest_as_good():
    comparison = pd.DataFrame(
        {"verdict": ["indistinguishable", "worse", "indistinguishable"]}, index=pd.Index(["B", "C", "D"], name="model")
    )
    timings = pd.DataFrame(
        {
            "model": ["A", "A", "B", "B", "C", "C", "D", "D"],
            "fit_seconds": [5.0, 7.0, 2.0, 4.0, 0.1, 0.1, 3.5, 2.0],
        }
    )
    assert ev.cheapest_as_good(comparison, timings, best="A") == "D"  # means A 6, B 3, D 2.75; C is worse
    timings.loc[timings["model"] == "A", "fit_seconds"] = 1.0
    assert ev.cheapest_as_good(comparison, timings, best="A") == "A"
    only_worse = comparison.assign(verdict="worse")
    assert ev.cheapest_as_good(only_worse, timings.assign(fit_seconds=[9, 9, 1, 1, 1, 1, 1, 1]), best="A") == "A"


def test_primary_scores_use_half_except_for_threshold_moving():
    import pandas as pd

    from imbalance_lab.evaluation import THRESHOLD_METRICS, primary_scores

    keys = {"repeat": [0, 0], "fold": [0, 0]}
    tuned = pd.DataFrame(
        {
            "model": ["none", "threshold_moving"],
            **keys,
            "average_precision": [0.3, 0.3],
            "threshold": [0.2, 0.2],
            **{m: [0.7, 0.7] for m in THRESHOLD_METRICS},
        }
    )
    half = pd.DataFrame({"model": ["none", "threshold_moving"], **keys, **{m: [0.1, 0.1] for m in THRESHOLD_METRICS}})
    got = primary_scores(tuned, half).set_index("model")
    assert got.loc["none", "f1"] == 0.1 and got.loc["threshold_moving", "f1"] == 0.7
    assert got.loc["none", "f1_tuned"] == 0.7 and got.loc["threshold_moving", "f1_at_half"] == 0.1
    assert "threshold" not in got and got.loc["none", "average_precision"] == 0.3


def test_every_selectable_metric_is_summarised(strategy_data):
    """Each imbalance.metric params accepts is a summary column the stage can rank and choose by."""
    from imbalance_lab.evaluation import IMBALANCE_METRICS

    X, y, schema, folds = strategy_data
    cv = ev.cross_validate_models(
        {
            name: modeling.make_strategy_pipeline(name, "logistic_regression", schema, seed=1)
            for name in ("none", "random_over", "threshold_moving")
        },
        X,
        y,
        folds,
    )
    scores = ev.primary_scores(cv.scores, ev.scores_at_threshold(cv.oof, threshold=0.5))
    summary = ev.summarize(scores, metrics=list(ev.SUMMARY_METRICS), ratio=ev.fold_size_ratio(folds))
    assert set(IMBALANCE_METRICS) <= set(ev.SUMMARY_METRICS)
    selections = {ev.selection_column(m) for m in IMBALANCE_METRICS}
    summary = ev.summarize(
        scores, metrics=list(dict.fromkeys([*ev.SUMMARY_METRICS, *selections])), ratio=ev.fold_size_ratio(folds)
    )
    for metric in [*IMBALANCE_METRICS, *sorted(selections)]:
        assert summary[f"{metric}_mean"].notna().all(), metric
        assert ev.best_model(summary, metric=metric) in summary.index


def test_strategies_are_chosen_on_threshold_metrics_at_the_tuned_threshold_they_are_deployed_with():
    """At 0.5 a resampler, whose scores sit higher, beat 'none' on MCC; deployed with a tuned
    threshold (as evaluate does) it is worse."""
    import pandas as pd

    keys = {"repeat": [0, 0, 0, 0], "fold": [0, 1, 0, 1]}
    models = ["none", "none", "easy_ensemble", "easy_ensemble"]
    tuned = pd.DataFrame(
        {
            "model": models,
            **keys,
            "average_precision": [0.3] * 4,
            "threshold": [0.1] * 4,
            **{m: [0.185, 0.186, 0.181, 0.183] for m in ev.THRESHOLD_METRICS},
        }
    )
    half = pd.DataFrame({"model": models, **keys, **{m: [0.02, 0.03, 0.194, 0.195] for m in ev.THRESHOLD_METRICS}})
    scores = ev.primary_scores(tuned, half)
    assert ev.selection_column("mcc") == "mcc_tuned" and ev.selection_column("average_precision") == "average_precision"
    summary = ev.summarize(scores, metrics=["mcc", "mcc_tuned"], ratio=0.5)
    assert ev.best_model(summary, metric="mcc") == "easy_ensemble"  # the old rule
    assert ev.best_model(summary, metric=ev.selection_column("mcc")) == "none"


@pytest.mark.parametrize("natural", [0.01, 0.087, 0.5, 0.95])
def test_ratio_grid(natural):
    grid = ev.ratio_grid(natural, n=5)
    assert len(grid) == 5
    assert grid[-1] == 1.0
    assert grid[0] > natural
    assert all(a < b for a, b in itertools.pairwise(grid))
    assert ev.ratio_grid(natural, n=1) == [1.0]
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError):
            ev.ratio_grid(bad)


def test_ratio_grid_values_are_reachable_in_every_fold(strategy_data):
    X, y, schema, folds = strategy_data
    first = ev.ratio_grid(y.sum() / (len(y) - y.sum()), n=4)[0]
    pipe = modeling.make_strategy_pipeline(
        "random_over", "logistic_regression", schema, seed=0, sampling_strategy=first
    )
    ev.cross_validate(pipe, X, y, folds)  # no StrategyError


@pytest.mark.parametrize("strategy", SAMPLERS)
def test_ratio_sweep_takes_the_comparisons_ratio_from_its_scores(strategy_data, strategy, monkeypatch):
    X, y, schema, folds = strategy_data
    grid = ev.ratio_grid(float(y.sum() / (len(y) - y.sum())), n=2)
    kwargs = {"grid": grid, "seed": 1, "k_neighbors": 3}
    cv = ev.cross_validate_models(
        {
            name: modeling.make_strategy_pipeline(name, "logistic_regression", schema, seed=1, k_neighbors=3)
            for name in ("none", strategy)
        },
        X,
        y,
        folds,
    )
    compared = ev.primary_scores(cv.scores, ev.scores_at_threshold(cv.oof, threshold=0.5))
    refitted = ev.ratio_sweep(strategy, "logistic_regression", schema, X, y, folds, **kwargs)
    # threshold metrics are judged at 0.5, as in the comparison (not at the F1-tuned threshold)
    at_one = refitted[refitted["model"] == "1"].drop(columns="model").reset_index(drop=True)
    judged = compared[compared["model"] == strategy].drop(columns="model").reset_index(drop=True)
    pd.testing.assert_frame_equal(at_one, judged)
    assert (at_one["f1"] == at_one["f1_at_half"]).all() and not (at_one["f1"] == at_one["f1_tuned"]).all()
    fitted_names = []
    real = ev.cross_validate_models
    monkeypatch.setattr(
        selection, "cross_validate_models", lambda pipes, *a, **k: fitted_names.extend(pipes) or real(pipes, *a, **k)
    )
    for used in ("auto", 1.0):  # the comparison's setting, as a name or as the ratio
        fitted_names.clear()
        reused = ev.ratio_sweep(
            strategy, "logistic_regression", schema, X, y, folds, compared=compared, sampling_strategy=used, **kwargs
        )
        assert fitted_names == [f"{grid[0]:.6g}"]  # 1.0 was not fitted again ...
        assert list(reused["model"].unique()) == [f"{r:.6g}" for r in grid]
        pd.testing.assert_frame_equal(reused, refitted)  # ... and its scores are what a refit gives
    # a comparison at another ratio, or one without this strategy, is not reused
    for other in (
        {"sampling_strategy": 0.5, "compared": compared},
        {"sampling_strategy": "auto", "compared": compared[compared["model"] == "none"]},
    ):
        fitted_names.clear()
        ev.ratio_sweep(strategy, "logistic_regression", schema, X, y, folds, **other, **kwargs)
        assert fitted_names == [f"{r:.6g}" for r in grid]


@pytest.mark.parametrize("strategy", ["none", "class_weight", "threshold_moving", "balanced_random_forest"])
def test_ratio_sweep_refuses_strategies_that_do_not_resample(strategy_data, strategy):
    X, y, schema, folds = strategy_data
    with pytest.raises(StrategyError, match=f"{strategy!r} is not a resampling strategy"):
        ev.ratio_sweep(strategy, "logistic_regression", schema, X, y, folds, grid=[0.5, 1.0], seed=1)


def _hand_tables(p_none: float, p_cw: float):
    summary = pd.DataFrame(
        {"average_precision_mean": [0.37, 0.38, 0.40, 0.20]},
        index=pd.Index(["none", "class_weight", "smote", "easy_ensemble"], name="model"),
    )
    comparison = pd.DataFrame(
        {"difference": [-0.03, -0.02, -0.20], "p_holm": [p_none, p_cw, 0.001]},
        index=pd.Index(["none", "class_weight", "easy_ensemble"], name="model"),
    )
    return comparison, summary


def test_choose_strategy_hand_made():
    comparison, summary = _hand_tables(p_none=0.30, p_cw=0.40)
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.05) == "none"
    comparison, summary = _hand_tables(p_none=0.01, p_cw=0.40)
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.05) == "class_weight"
    comparison, summary = _hand_tables(p_none=0.01, p_cw=0.02)
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.05) == "smote"
    # a stricter alpha lets more through
    assert ev.choose_strategy(comparison, summary, metric="average_precision", alpha=0.005) == "none"
    with pytest.raises(ValueError, match="against the best strategy 'smote'"):
        ev.choose_strategy(comparison.rename(index={"none": "smote"}), summary, metric="average_precision", alpha=0.05)


def test_choose_strategy_with_compare_with_on_fold_scores():
    base = np.random.default_rng(0).normal(0.30, 0.02, size=10)  # 2 repeats x 5 folds: fold difficulty
    wiggle = np.array([1.0, -1.0] * 5)  # mean-zero fold-to-fold noise of the difference
    # mean brier difference to smote (lower is better): none +0.004 with sd ~0.01 (t ~ 0.64),
    # random_under +0.05 with sd ~0.002, balanced_random_forest +0.001 with sd ~0.001
    scores = pd.DataFrame(
        [
            {"model": m, "repeat": j // 5, "fold": j % 5, "brier": b}
            for m, shift, noise in [
                ("smote", 0.0, 0.0),
                ("none", 0.004, 0.01),
                ("random_under", 0.05, 0.002),
                ("balanced_random_forest", 0.001, 0.001),
            ]
            for j, b in enumerate(base + shift + noise * wiggle)
        ]
    )
    summary = ev.summarize(scores, metrics=["brier"], ratio=0.25)
    best = ev.best_model(summary, metric="brier")
    assert best == "smote"  # brier: lower is better
    comparison = ev.compare_with(scores, reference=best, metric="brier", ratio=0.25, alpha=0.05)
    assert comparison.loc["random_under", "verdict"] == "worse"
    assert comparison.loc["none", "verdict"] == "indistinguishable"
    assert ev.choose_strategy(comparison, summary, metric="brier", alpha=0.05) == "none"
    # without 'none', random_under is simpler than smote but significantly worse
    keep = scores["model"] != "none"
    summary2 = ev.summarize(scores[keep], metrics=["brier"], ratio=0.25)
    comparison2 = ev.compare_with(scores[keep], reference="smote", metric="brier", ratio=0.25, alpha=0.05)
    assert ev.choose_strategy(comparison2, summary2, metric="brier", alpha=0.05) == "smote"


def test_choose_strategy_rejects_unknown_names():
    summary = pd.DataFrame({"f1_mean": [0.5, 0.4]}, index=pd.Index(["smote", "mystery"], name="model"))
    comparison = pd.DataFrame({"difference": [-0.1], "p_holm": [0.5]}, index=pd.Index(["mystery"], name="model"))
    with pytest.raises(ValueError, match=re.escape("['mystery'] are not registered strategies")):
        ev.choose_strategy(comparison, summary, metric="f1", alpha=0.05)
