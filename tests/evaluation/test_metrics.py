"""Unit tests of imbalance_lab.evaluation.metrics on small hand-made and random scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from imbalance_lab import evaluation as ev
from imbalance_lab.evaluation import TUNE_METRICS, metrics


def test_capture_at_k_hand_made():
    y = [0, 1, 0, 1, 1, 0, 0, 0, 0, 0]  # 3 positives
    s = [0.1, 0.9, 0.8, 0.7, 0.2, 0.6, 0.5, 0.4, 0.3, 0.05]
    # ranking: 1(+) 2(-) 3(+) 5(-) 6(-) 7(-) 8(-) 4(+) 0(-) 9(-)
    assert ev.capture_at_k(y, s, k=1) == pytest.approx(1 / 3)
    assert ev.capture_at_k(y, s, k=0.1) == pytest.approx(1 / 3)  # 10 % of 10 rows = 1 row
    assert ev.capture_at_k(y, s, k=2) == pytest.approx(1 / 3)
    assert ev.capture_at_k(y, s, k=3) == pytest.approx(2 / 3)
    assert ev.capture_at_k(y, s, k=0.3) == pytest.approx(2 / 3)
    assert ev.capture_at_k(y, s, k=7) == pytest.approx(2 / 3)
    assert ev.capture_at_k(y, s, k=8) == pytest.approx(1.0)
    assert ev.capture_at_k(y, s, k=0.8) == pytest.approx(1.0)
    assert ev.capture_at_k(y, s, k=50) == pytest.approx(1.0)  # more than the rows: all rows


def test_capture_at_k_ties_share_the_places_at_the_cut_and_no_positives():
    """Ties were broken by row order: the dummy model's capture was the share of positives that
    came first in the file."""
    assert ev.capture_at_k([0, 1, 0], [0.5, 0.5, 0.5], k=1) == pytest.approx(1 / 3)
    assert ev.capture_at_k([0, 1, 0], [0.5, 0.5, 0.5], k=2) == pytest.approx(2 / 3)
    assert ev.capture_at_k([1, 0, 0], [0.5, 0.5, 0.5], k=1) == pytest.approx(1 / 3)  # order does not matter
    # a clear top row, then three tied rows (one positive) for the two places left
    y, s = [1, 0, 1, 0, 1], [0.9, 0.5, 0.5, 0.5, 0.1]
    assert ev.capture_at_k(y, s, k=3) == pytest.approx((1 + 2 / 3) / 3)
    assert math.isnan(ev.capture_at_k([0, 0, 0], [0.1, 0.2, 0.3], k=1))


@pytest.mark.parametrize("seed", range(3))
def test_capture_and_top_k_with_ties_are_the_mean_over_orders_of_the_tied_rows(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(40) < 0.3).astype(int)
    y[0] = 1
    s = rng.integers(0, 4, 40) / 4  # four scores: many ties
    k = 0.25
    rows = metrics._top_rows(40, k)
    # the mean over many random orders of the rows, ties broken by that order
    captured = []
    for _ in range(4000):
        perm = rng.permutation(40)
        top = perm[np.argsort(-s[perm], kind="mergesort")[:rows]]
        captured.append(y[top].sum())
    expected = np.mean(captured)
    assert ev.capture_at_k(y, s, k=k) * y.sum() == pytest.approx(expected, abs=0.08)
    got = ev.top_k(y, s, k=k)
    assert got["positives"] == pytest.approx(expected, abs=0.08) and got["rows"] == rows
    assert got["capture"] == pytest.approx(ev.capture_at_k(y, s, k=k))
    assert got["lift"] == pytest.approx(got["positives"] / rows / y.mean())


def test_top_k_capture_and_lift_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    got = ev.top_k(y, s, k=0.3)  # top 3 rows: 1, 0, 1
    assert got["rows"] == 3 and got["positives"] == 2
    assert got["capture"] == pytest.approx(2 / 3)
    assert got["precision"] == pytest.approx(2 / 3) and got["lift"] == pytest.approx((2 / 3) / 0.3)
    assert ev.top_k(y, s, k=3) == got


def _sklearn_metrics(y, s, threshold):
    pred = (np.asarray(s) >= threshold).astype(int)
    return {
        "average_precision": average_precision_score(y, s),
        "roc_auc": roc_auc_score(y, s),
        "brier": brier_score_loss(y, s),
        "log_loss": log_loss(y, s),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "mcc": matthews_corrcoef(y, pred),
    }


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_score_predictions_match_sklearn_random(seed, threshold):
    rng = np.random.default_rng(seed)
    y = (rng.random(200) < 0.1).astype(int)
    y[:2] = [0, 1]
    s = np.clip(rng.beta(2, 5, size=200) + 0.3 * y, 0.001, 0.999)
    got = ev.score_predictions(y, s, threshold=threshold, top_k_fraction=0.1)
    for name, value in _sklearn_metrics(y, s, threshold).items():
        assert got[name] == pytest.approx(value, rel=1e-10, abs=1e-12), name
    assert got["threshold"] == threshold
    assert got["capture_at_k"] == pytest.approx(ev.capture_at_k(y, s, k=0.1))


def test_score_predictions_without_k_leaves_capture_out():
    """evaluate and imbalance passed a k of 0.1 they never used (evaluate's top k is 20 %)."""
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    without = ev.score_predictions(y, s, threshold=0.65)
    with_k = ev.score_predictions(y, s, threshold=0.65, top_k_fraction=0.2)
    assert "capture_at_k" not in without and with_k["capture_at_k"] == 0.5
    assert without == {k: v for k, v in with_k.items() if k != "capture_at_k"}


def test_score_predictions_hand_made_and_geometric_mean():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.85, 0.6, 0.3, 0.2, 0.1, 0.05])
    got = ev.score_predictions(y, s, threshold=0.6, top_k_fraction=0.2)
    # at 0.6: TP 3 (0.9, 0.8, 0.7), FN 1, FP 2 (0.85, 0.6), TN 4
    recall, specificity = 3 / 4, 4 / 6
    assert got["precision"] == pytest.approx(3 / 5)
    assert got["recall"] == pytest.approx(recall)
    assert got["f1"] == pytest.approx(6 / 9)
    assert got["balanced_accuracy"] == pytest.approx((recall + specificity) / 2)
    assert got["geometric_mean"] == pytest.approx(math.sqrt(recall * specificity))
    assert got["geometric_mean"] == pytest.approx(math.sqrt(0.5))
    mcc = (3 * 4 - 2 * 1) / math.sqrt(5 * 4 * 6 * 5)
    assert got["mcc"] == pytest.approx(mcc)
    # top 20 % = 2 rows: 0.9 (+) and 0.85 (-)
    assert got["capture_at_k"] == pytest.approx(1 / 4)
    assert got["brier"] == pytest.approx(np.mean((s - y) ** 2))
    for name, value in _sklearn_metrics(y, s, 0.6).items():
        assert got[name] == pytest.approx(value), name


@pytest.mark.parametrize("seed", range(3))
def test_score_metric_gives_what_score_predictions_gives(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.08).astype(int)
    y[:2] = [0, 1]
    s = rng.beta(2, 5, size=300) + 0.2 * y - 0.05  # some scores outside [0, 1]: both clip them
    s[3] = 0.0
    clipped = np.clip(s, 0.0, 1.0)
    expected = {
        "average_precision": average_precision_score(y, clipped),
        "roc_auc": roc_auc_score(y, clipped),
        "brier": brier_score_loss(y, clipped),
        "log_loss": log_loss(y, np.clip(clipped, 1e-15, 1 - 1e-15)),
    }
    every = ev.score_predictions(y, s, threshold=0.5, top_k_fraction=0.1)
    assert set(ev.SCORE_METRICS) == set(expected) == set(TUNE_METRICS)  # what tune.metric may name
    for metric in ev.SCORE_METRICS:
        assert ev.score_metric(y, s, metric=metric) == pytest.approx(expected[metric], rel=1e-12), metric
        assert ev.score_metric(y, s, metric=metric) == every[metric], metric
    for y_one in ([0, 0, 0], [1, 1, 1]):
        assert math.isnan(ev.score_metric(y_one, [0.1, 0.2, 0.3], metric="average_precision"))
        assert math.isnan(ev.score_metric(y_one, [0.1, 0.2, 0.3], metric="roc_auc"))
    with pytest.raises(ValueError, match="unknown score metric 'f1'"):
        ev.score_metric(y, s, metric="f1")


def test_threshold_metrics_degenerate_predictions():
    # nothing predicted positive: precision/F1/MCC are 0 (sklearn with zero_division=0)
    y = [1, 0, 0, 1]
    m = ev.threshold_metrics(y, [0, 0, 0, 0])
    assert m == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "balanced_accuracy": 0.5,
        "mcc": 0.0,
        "geometric_mean": 0.0,
    }
    assert m["mcc"] == matthews_corrcoef(y, [0, 0, 0, 0])
    m = ev.threshold_metrics(y, [1, 0, 0, 1])
    assert m["mcc"] == 1.0 and m["f1"] == 1.0 and m["geometric_mean"] == 1.0


def test_score_predictions_one_class_gives_nan_ranking_metrics():
    got = ev.score_predictions([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.5, top_k_fraction=0.5)
    assert math.isnan(got["average_precision"]) and math.isnan(got["roc_auc"])
    assert got["brier"] == pytest.approx((0.01 + 0.04 + 0.09) / 3)


def test_expected_calibration_error_hand_made():
    # 2 bins: [0, .5) holds 0.1, 0.3 (labels 0, 0): |0 - 0.2| = 0.2
    #         [.5, 1] holds 0.5, 0.6, 1.0 (labels 1, 0, 1): |2/3 - 0.7| = 1/30
    # ECE = 2/5 * 0.2 + 3/5 * 1/30 = 0.08 + 0.02 = 0.1
    y = [0, 0, 1, 0, 1]
    p = [0.1, 0.3, 0.5, 0.6, 1.0]
    assert ev.expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.1)
    # 10 bins: 0.1 -> bin 1, 0.3 -> 3, 0.5 -> 5, 0.6 -> 6, 1.0 -> 9: every row is its own bin
    expected = np.mean(np.abs(np.array(y) - np.array(p)))
    assert ev.expected_calibration_error(y, p) == pytest.approx(expected)
    # perfectly calibrated bins
    assert ev.expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.0
    with pytest.raises(ValueError):
        ev.expected_calibration_error([0, 1], [0.2, 1.2])
