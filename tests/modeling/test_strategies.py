"""Unit tests of imbalance_lab.modeling.strategies: the strategy registry, its options and prior correction."""

from __future__ import annotations

import numpy as np
import pytest

from imbalance_lab import evaluation as ev
from imbalance_lab import modeling
from imbalance_lab.errors import StrategyError
from imbalance_lab.modeling import strategies

REQUIRED = {
    "none",
    "class_weight",
    "random_over",
    "random_under",
    "smote",
    "borderline_smote",
    "adasyn",
    "smote_tomek",
    "smote_enn",
    "balanced_random_forest",
    "easy_ensemble",
    "threshold_moving",
}


def test_registry_names_kinds_descriptions_and_simplicity():
    assert set(modeling.STRATEGIES) >= REQUIRED
    for name, spec in modeling.STRATEGIES.items():
        assert spec.kind in strategies.KINDS, name
        assert spec.description and "\n" not in spec.description and len(spec.description) <= 90, name
        assert (spec.sampler is not None) == (spec.kind == "resampling"), name
    assert set(modeling.SIMPLICITY) == set(modeling.STRATEGIES) and len(modeling.SIMPLICITY) == len(modeling.STRATEGIES)
    assert modeling.STRATEGIES["threshold_moving"].kind == "threshold"
    assert (
        not modeling.STRATEGIES["balanced_random_forest"].uses_model
        and not modeling.STRATEGIES["easy_ensemble"].uses_model
    )
    table = modeling.describe_strategies()
    assert list(table.index) == list(modeling.STRATEGIES) and list(table.columns) == ["kind", "description"]


def test_invalid_options_are_rejected_when_building(strategy_data):
    _, _, schema, _ = strategy_data
    with pytest.raises(StrategyError, match=r"sampling_strategy=1.5 is not in \(0, 1\].*imbalance.sampling_strategy"):
        modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, sampling_strategy=1.5)
    with pytest.raises(StrategyError, match=r"sampling_strategy='balanced' is unknown"):
        modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, sampling_strategy="balanced")
    with pytest.raises(StrategyError, match=r"k_neighbors=0 is not a positive integer.*imbalance.k_neighbors"):
        modeling.make_strategy_pipeline("smote", "logistic_regression", schema, seed=0, k_neighbors=0)


def test_sampled_prevalence():
    y = np.r_[np.ones(10, int), np.zeros(90, int)]
    assert modeling.sampled_prevalence("none", y) == pytest.approx(0.1)
    assert modeling.sampled_prevalence("threshold_moving", y, 0.5) == pytest.approx(0.1)
    assert modeling.sampled_prevalence("class_weight", y) == 0.5
    assert modeling.sampled_prevalence("smote", y, "auto") == 0.5
    assert modeling.sampled_prevalence("random_under", y, 0.25) == pytest.approx(0.2)
    assert modeling.sampled_prevalence("random_under", 1 - y, 0.25) == pytest.approx(0.8)  # positives are the majority


def test_prior_correction_hand_computed():
    # pi = 0.1, pi_s = 0.5: r1 = 0.2, r0 = 1.8
    # p = 0.5 -> 0.1 / (0.1 + 0.9) = 0.1; p = 0.8 -> 0.16 / (0.16 + 0.36) = 4/13
    out = modeling.prior_correction([0.5, 0.8, 0.0, 1.0], train_prevalence=0.1, sampled_prevalence=0.5)
    np.testing.assert_allclose(out, [0.1, 4 / 13, 0.0, 1.0])
    same = modeling.prior_correction([0.2, 0.7], train_prevalence=0.3, sampled_prevalence=0.3)
    np.testing.assert_allclose(same, [0.2, 0.7])
    with pytest.raises(ValueError):
        modeling.prior_correction([0.5], train_prevalence=0.0, sampled_prevalence=0.5)


def test_prior_correction_restores_the_prevalence_after_resampling(make_dataset):
    X, y, schema = make_dataset(2000, positives=160, seed=1)
    X_new, y_new, _ = make_dataset(2000, positives=160, seed=2)
    pipe = modeling.make_strategy_pipeline("random_over", "logistic_regression", schema, seed=0).fit(X, y)
    raw = pipe.predict_proba(X_new)[:, 1]
    pi_s = modeling.sampled_prevalence("random_over", y, "auto")
    assert pi_s == 0.5
    corrected = modeling.prior_correction(raw, train_prevalence=y.mean(), sampled_prevalence=pi_s)
    assert raw.mean() > 0.2  # trained at 50 %, far above the 8 % prevalence
    assert abs(corrected.mean() - y_new.mean()) < 0.015, (corrected.mean(), y_new.mean())
    assert ev.expected_calibration_error(y_new, corrected) < ev.expected_calibration_error(y_new, raw) / 3
    # the ranking is unchanged
    assert np.array_equal(np.argsort(raw, kind="mergesort"), np.argsort(corrected, kind="mergesort"))
