"""Unit tests of imbalance_lab.evaluation on small hand-made fixtures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
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
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from imbalance_lab import evaluation as ev
from imbalance_lab import reporting
from imbalance_lab.data import Schema, iter_splits, make_folds
from imbalance_lab.errors import ImbalanceLabError
from imbalance_lab.evaluation import TUNE_METRICS, caches, cross_validation, metrics, statistics
from imbalance_lab.modeling import make_pipeline

# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataset(make_dataset):
    X, y, schema = make_dataset()
    folds = make_folds(y, n_splits=3, n_repeats=2, seed=7)
    return X, y, schema, folds


@pytest.fixture(scope="module")
def cv_logistic(dataset):
    X, y, schema, folds = dataset
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    return ev.cross_validate(pipe, X, y, folds, top_k_fraction=0.1)


# --------------------------------------------------------------------------------------------
# Brute force references
# --------------------------------------------------------------------------------------------


def _counts_at(y, s, t):
    pred = s >= t
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    return tp, fp, fn


def brute_force_threshold(y, s, objective, *, cost_fp=1.0, cost_fn=1.0, target=None):
    """Best threshold among every distinct score and +inf (predict nothing); ties -> higher."""
    y, s = np.asarray(y), np.asarray(s, float)
    candidates = sorted(set(s.tolist()) | {math.inf}, reverse=True)  # highest first
    best_t, best_v = None, None
    for t in candidates:
        tp, fp, fn = _counts_at(y, s, t)
        if objective == "f1":
            if t == math.inf:
                continue
            v = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0
            better = best_v is None or v > best_v
        elif objective == "cost":
            v = cost_fp * fp + cost_fn * fn
            better = best_v is None or v < best_v
        elif objective == "recall":
            # the highest threshold that reaches the target: the first hit going down
            if t != math.inf and tp / y.sum() >= target:
                return t
            continue
        elif objective == "precision":
            # the lowest threshold that reaches the target: keep the last hit going down
            if t != math.inf and tp / (tp + fp) >= target:
                best_t = t
            continue
        else:
            raise AssertionError(objective)
        if better:
            best_t, best_v = t, v
    return best_t


def same_predictions(s, t1, t2):
    s = np.asarray(s, float)
    return np.array_equal(s >= t1, s >= t2)


# hand-made: 4 positives among 10, with a tie at 0.6 between a positive and a negative.
# Going down the distinct scores, (TP, FP) when predicting score >= t:
#   0.9 (1, 0)  0.8 (1, 1)  0.6 (2, 2)  0.55 (3, 2)  0.4 (3, 3)  0.35 (4, 3)  0.3 (4, 4)  0.2 (4, 5)  0.1 (4, 6)
Y_HAND = np.array([1, 0, 1, 0, 1, 0, 1, 0, 0, 0])
S_HAND = np.array([0.9, 0.8, 0.6, 0.6, 0.55, 0.4, 0.35, 0.3, 0.2, 0.1])


# --------------------------------------------------------------------------------------------
# choose_threshold
# --------------------------------------------------------------------------------------------


def test_choose_threshold_f1_hand_made():
    # F1 = 2TP / (2TP + FP + FN): 0.9 -> 2/5, 0.8 -> 2/6, 0.6 -> 4/8, 0.55 -> 6/9, 0.4 -> 6/10,
    # 0.35 -> 8/11 = 0.727 (best), 0.3 -> 8/12, 0.2 -> 8/13, 0.1 -> 8/14
    assert brute_force_threshold(Y_HAND, S_HAND, "f1") == 0.35
    assert ev.choose_threshold(Y_HAND, S_HAND, objective="f1") == 0.35


def test_choose_threshold_f1_tie_goes_to_higher_threshold():
    # t=0.9 -> tp1 fn1 fp0: F1 2/3; t=0.7 -> tp2 fp2: F1 4/6=2/3 as well
    y = [1, 0, 0, 1, 0]
    s = [0.9, 0.8, 0.75, 0.7, 0.1]
    assert ev.choose_threshold(y, s, objective="f1") == 0.9


@pytest.mark.parametrize("seed", range(8))
def test_choose_threshold_f1_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(40) < 0.25).astype(int)
    y[0] = 1
    s = np.round(rng.random(40) * 0.6 + 0.3 * y, 2)  # rounding makes ties
    assert ev.choose_threshold(y, s, objective="f1") == brute_force_threshold(y, s, "f1")


@pytest.mark.parametrize(
    "cost_fp, cost_fn, expected",
    [
        # cost = cost_fp * FP + cost_fn * FN; FN = 4 - TP; predicting nothing costs 4 * cost_fn
        (1.0, 1.0, 0.9),  # 0.9 -> 3, 0.8 -> 4, 0.6 -> 4, 0.55 -> 3, 0.35 -> 3, nothing -> 4: tie to the highest
        (1.0, 2.0, 0.35),  # 0.9 -> 6, 0.55 -> 4, 0.35 -> 3, 0.3 -> 4
        (1.0, 10.0, 0.35),  # FN expensive: 0.35 -> 3, 0.55 -> 12, 0.3 -> 4
        (10.0, 1.0, 0.9),  # FP expensive: 0.9 -> 3, nothing -> 4, 0.8 -> 13
    ],
)
def test_choose_threshold_cost_hand_made(cost_fp, cost_fn, expected):
    assert brute_force_threshold(Y_HAND, S_HAND, "cost", cost_fp=cost_fp, cost_fn=cost_fn) == expected
    assert ev.choose_threshold(Y_HAND, S_HAND, objective="cost", cost_fp=cost_fp, cost_fn=cost_fn) == expected


def test_choose_threshold_cost_predicting_nothing_is_cheapest():
    y = [0, 1, 0, 0, 0]
    s = [0.9, 0.8, 0.7, 0.2, 0.1]
    # nothing: 1 FN -> cost 1; t=0.9: 5 + 1 = 6; t=0.8: 5; lower thresholds cost more
    t = ev.choose_threshold(y, s, objective="cost", cost_fp=5.0, cost_fn=1.0)
    assert t > 0.9
    assert not np.any(np.asarray(s) >= t)
    # and score_predictions at that threshold predicts no positive (even after clipping to [0, 1])
    m = ev.score_predictions(y, s, threshold=t, top_k_fraction=0.2)
    assert m["recall"] == 0.0 and m["precision"] == 0.0


def test_choose_threshold_cost_nothing_with_score_one():
    y = [0, 1, 0]
    s = [1.0, 0.5, 0.2]
    t = ev.choose_threshold(y, s, objective="cost", cost_fp=5.0, cost_fn=1.0)
    m = ev.score_predictions(y, s, threshold=t, top_k_fraction=0.5)
    assert t > 1.0 and m["recall"] == 0.0


def test_choose_threshold_cost_tie_with_nothing_goes_to_higher_threshold():
    # nothing: 1 FN -> 1; t=0.9: 1 FP + 1 FN = 2; t=0.8: 1 FP + 0 FN = 1 -> tie with nothing.
    # "Ties go to the higher threshold": predicting nothing is the highest threshold.
    y = [0, 1, 0, 0]
    s = [0.9, 0.8, 0.3, 0.1]
    t = ev.choose_threshold(y, s, objective="cost", cost_fp=1.0, cost_fn=1.0)
    assert same_predictions(s, t, brute_force_threshold(y, s, "cost"))
    assert t > 0.9


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("cost_fp, cost_fn", [(1.0, 1.0), (1.0, 7.0), (4.0, 1.0), (30.0, 1.0)])
def test_choose_threshold_cost_matches_brute_force(seed, cost_fp, cost_fn):
    rng = np.random.default_rng(seed)
    y = (rng.random(30) < 0.2).astype(int)
    y[0] = 1
    s = np.round(rng.random(30) * 0.7 + 0.2 * y, 2)
    ref = brute_force_threshold(y, s, "cost", cost_fp=cost_fp, cost_fn=cost_fn)
    got = ev.choose_threshold(y, s, objective="cost", cost_fp=cost_fp, cost_fn=cost_fn)
    assert same_predictions(s, got, ref)
    if ref != math.inf:
        assert got == ref


@pytest.mark.parametrize(
    "target, expected",
    [
        (0.25, 0.9),  # recall = TP / 4: 0.9 -> 1/4
        (0.5, 0.6),  # 0.8 -> 1/4, 0.6 -> 2/4
        (0.6, 0.55),  # 0.55 -> 3/4
        (0.75, 0.55),
        (1.0, 0.35),
    ],
)
def test_choose_threshold_recall_hand_made(target, expected):
    assert brute_force_threshold(Y_HAND, S_HAND, "recall", target=target) == expected
    assert ev.choose_threshold(Y_HAND, S_HAND, objective="recall", target=target) == expected


@pytest.mark.parametrize(
    "target, expected",
    [
        # precision = TP / (TP + FP): 0.9 -> 1, 0.8 -> .5, 0.6 -> .5, 0.55 -> .6, 0.4 -> .5,
        # 0.35 -> 4/7 = .571, 0.3 -> .5, 0.2 -> 4/9 = .444, 0.1 -> .4; the lowest reaching the target
        (1.0, 0.9),
        (0.6, 0.55),
        (0.55, 0.35),
        (0.5, 0.3),
        (0.45, 0.3),
        (0.4, 0.1),
    ],
)
def test_choose_threshold_precision_hand_made(target, expected):
    assert brute_force_threshold(Y_HAND, S_HAND, "precision", target=target) == expected
    assert ev.choose_threshold(Y_HAND, S_HAND, objective="precision", target=target) == expected


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "objective, target", [("recall", 0.5), ("recall", 0.8), ("precision", 0.4), ("precision", 0.6)]
)
def test_choose_threshold_targets_match_brute_force(seed, objective, target):
    rng = np.random.default_rng(100 + seed)
    y = (rng.random(40) < 0.3).astype(int)
    y[:2] = 1
    s = np.round(rng.random(40) * 0.5 + 0.5 * y, 2)
    s[0] = 1.0  # a positive with the top score: precision 1 is always reachable
    ref = brute_force_threshold(y, s, objective, target=target)
    assert ev.choose_threshold(y, s, objective=objective, target=target) == ref


def test_choose_threshold_bad_arguments():
    with pytest.raises(ValueError, match="target"):
        ev.choose_threshold(Y_HAND, S_HAND, objective="recall")
    with pytest.raises(ValueError, match="target"):
        ev.choose_threshold(Y_HAND, S_HAND, objective="precision", target=1.5)
    with pytest.raises(ValueError, match="unknown"):
        ev.choose_threshold(Y_HAND, S_HAND, objective="accuracy", target=0.5)
    with pytest.raises(ValueError, match="no threshold"):
        # the top score is a negative: precision never reaches 1
        ev.choose_threshold([0, 1, 1], [0.9, 0.5, 0.4], objective="precision", target=1.0)
    with pytest.raises(ImbalanceLabError) as err:  # a user error: the stage reports it in one line
        ev.choose_threshold([0, 1, 1], [0.9, 0.5, 0.4], objective="precision", target=1.0)
    assert "evaluate.target" in str(err.value) and "0.6667" in str(err.value)


# --------------------------------------------------------------------------------------------
# capture_at_k and metrics
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------

A_SCORES = [0.80, 0.82, 0.79, 0.85, 0.81, 0.83]
B_SCORES = [0.78, 0.80, 0.80, 0.81, 0.79, 0.80]


def test_corrected_ttest_hand_computed():
    # differences a - b: [0.02, 0.02, -0.01, 0.04, 0.02, 0.03]; mean 0.12 / 6 = 0.02
    # deviations: 0, 0, -0.03, 0.02, 0, 0.01 -> sum of squares 0.0014; variance (J-1=5) 0.00028
    # J = 6 (3 folds x 2 repeats), n_test/n_train = 1/2 -> factor 1/6 + 1/2 = 2/3
    # t = 0.02 / sqrt(2/3 * 0.00028) = 0.02 / 0.0136626... = 1.46385...
    t, p = ev.corrected_ttest(A_SCORES, B_SCORES, ratio=0.5)
    assert t == pytest.approx(0.02 / math.sqrt(2 / 3 * 0.00028), rel=1e-9)
    assert t == pytest.approx(1.4638501, rel=1e-7)
    assert p == pytest.approx(2 * stats.t.sf(1.4638501094228, 5), rel=1e-7)
    assert p == pytest.approx(0.2031107, rel=1e-6)
    # the naive paired t would be 0.02 / sqrt(0.00028 / 6) = 2.93: the correction matters
    naive = stats.ttest_rel(A_SCORES, B_SCORES)
    assert naive.statistic == pytest.approx(0.02 / math.sqrt(0.00028 / 6), rel=1e-7)
    assert p > naive.pvalue
    # antisymmetric
    t2, p2 = ev.corrected_ttest(B_SCORES, A_SCORES, ratio=0.5)
    assert t2 == pytest.approx(-t) and p2 == pytest.approx(p)


def test_corrected_ttest_zero_variance():
    assert ev.corrected_ttest([0.5, 0.25, 0.75], [0.5, 0.25, 0.75], ratio=0.25) == (0.0, 1.0)
    t, p = ev.corrected_ttest([0.75, 0.5, 1.0], [0.5, 0.25, 0.75], ratio=0.25)  # exactly +0.25 each
    assert t == math.inf and p == 0.0
    t, p = ev.corrected_ttest([0.5, 0.25, 0.75], [0.75, 0.5, 1.0], ratio=0.25)
    assert t == -math.inf and p == 0.0
    with pytest.raises(ValueError):
        ev.corrected_ttest([0.5], [0.4], ratio=0.25)


def test_corrected_ci_hand_computed():
    values = [0.70, 0.74, 0.72, 0.78, 0.76, 0.74]
    # mean 4.44 / 6 = 0.74; squares of deviations 16e-4 + 0 + 4e-4 + 16e-4 + 4e-4 + 0 = 40e-4;
    # variance 40e-4 / 5 = 8e-4; sd = 0.0282843; corrected se = sqrt((1/6 + 1/2) * 8e-4) = 0.0230940
    # t_{0.975, 5} = 2.5705818 -> half width 0.0593650
    mean, sd, low, high = ev.corrected_ci(values, ratio=0.5)
    assert mean == pytest.approx(0.74)
    assert sd == pytest.approx(math.sqrt(8e-4))
    assert low == pytest.approx(0.74 - 0.0593650446, abs=1e-9)
    assert high == pytest.approx(0.74 + 0.0593650446, abs=1e-9)
    # wider than the naive t interval mean +- t * sd / sqrt(J) (half width 0.0296825)
    naive_low, naive_high = stats.t.interval(0.95, 5, loc=0.74, scale=math.sqrt(8e-4) / math.sqrt(6))
    assert naive_high - naive_low == pytest.approx(2 * 0.0296825223, abs=1e-9)
    assert low < naive_low and high > naive_high
    # other confidence level
    _, _, low90, high90 = ev.corrected_ci(values, ratio=0.5, confidence=0.9)
    assert high90 - 0.74 == pytest.approx(stats.t.ppf(0.95, 5) * math.sqrt(2 / 3 * 8e-4))


def test_corrected_ci_ignores_nan_and_short_inputs():
    mean, sd, low, high = ev.corrected_ci([0.70, np.nan, 0.74, 0.72, 0.78, 0.76, 0.74], ratio=0.5)
    assert mean == pytest.approx(0.74) and high == pytest.approx(0.74 + 0.0593650446)
    mean, sd, low, high = ev.corrected_ci([0.3], ratio=0.5)
    assert mean == 0.3 and math.isnan(sd) and math.isnan(low) and math.isnan(high)
    assert math.isnan(ev.corrected_ci([], ratio=0.5)[0])


def test_fold_size_ratio():
    y = np.r_[np.ones(10, int), np.zeros(40, int)]
    assert ev.fold_size_ratio(make_folds(y, n_splits=5, n_repeats=2, seed=0)) == pytest.approx(1 / 4)
    assert ev.fold_size_ratio(make_folds(y, n_splits=2, n_repeats=1, seed=0)) == pytest.approx(1.0)


def test_holm_hand_computed():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    adjusted = ev.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_capped_and_monotone():
    p = np.array([0.2, 0.5, 0.01, 0.3, 0.02, 0.04])
    adjusted = ev.holm(p)
    assert np.all(adjusted <= 1.0) and np.all(adjusted >= p)
    # capped: 0.2 * 3 = 0.6, 0.3 * 2 = 0.6, 0.5 * 1 -> 0.6 (monotone), 0.01 * 6 = 0.06
    np.testing.assert_allclose(adjusted, [0.6, 0.6, 0.06, 0.6, 0.1, 0.16])
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)
    np.testing.assert_allclose(ev.holm([0.4, 0.9, 0.6]), [1.0, 1.0, 1.0])
    assert ev.holm([]).shape == (0,)


def _score_table(metric: str, per_model: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for model, values in per_model.items():
        for i, v in enumerate(values):
            rows.append({"model": model, "repeat": i // 3, "fold": i % 3, metric: v})
    return pd.DataFrame(rows)


def test_summarize_hand_made():
    scores = _score_table("average_precision", {"A": [0.70, 0.74, 0.72, 0.78, 0.76, 0.74], "B": A_SCORES})
    scores["brier"] = np.linspace(0.1, 0.2, len(scores))
    summary = ev.summarize(scores, metrics=["average_precision", "brier"], ratio=0.5)
    assert list(summary.index) == ["A", "B"]
    assert set(summary.columns) == {
        f"{m}_{s}" for m in ("average_precision", "brier") for s in ("mean", "sd", "ci_low", "ci_high")
    }
    assert summary.loc["A", "average_precision_mean"] == pytest.approx(0.74)
    assert summary.loc["A", "average_precision_ci_low"] == pytest.approx(0.74 - 0.0593650446)
    assert summary.loc["B", "average_precision_mean"] == pytest.approx(np.mean(A_SCORES))
    assert summary.loc["B", "brier_sd"] == pytest.approx(np.std(scores["brier"][6:], ddof=1))


def test_compare_with_higher_is_better_pairs_by_fold():
    c_scores = [a + d for a, d in zip(A_SCORES, [0.10, 0.11, 0.09, 0.10, 0.10, 0.11])]
    d_scores = [a - d for a, d in zip(A_SCORES, [0.20, 0.21, 0.19, 0.20, 0.22, 0.20])]
    scores = _score_table("average_precision", {"A": A_SCORES, "B": B_SCORES, "C": c_scores, "D": d_scores})
    scores = scores.sample(frac=1.0, random_state=3).reset_index(drop=True)  # pairing must use repeat/fold
    table = ev.compare_with(scores, reference="A", metric="average_precision", ratio=0.5)
    assert list(table.columns) == ["difference", "t", "p_value", "p_holm", "verdict"]
    assert set(table.index) == {"B", "C", "D"}
    assert table.loc["B", "difference"] == pytest.approx(-0.02)
    assert table.loc["B", "t"] == pytest.approx(-1.4638501, rel=1e-6)
    assert table.loc["B", "p_value"] == pytest.approx(0.2031107, rel=1e-6)
    np.testing.assert_allclose(table["p_holm"].to_numpy(), ev.holm(table["p_value"].to_numpy()))
    assert table.loc["B", "verdict"] == "indistinguishable"
    assert table.loc["C", "verdict"] == "better" and table.loc["C", "difference"] > 0
    assert table.loc["D", "verdict"] == "worse" and table.loc["D", "difference"] < 0


def test_compare_with_lower_is_better():
    ref = [0.10, 0.12, 0.11, 0.10, 0.13, 0.12]
    lower = [v - d for v, d in zip(ref, [0.03, 0.031, 0.029, 0.03, 0.032, 0.03])]
    higher = [v + d for v, d in zip(ref, [0.03, 0.031, 0.029, 0.03, 0.032, 0.03])]
    for metric in ("brier", "log_loss"):
        scores = _score_table(metric, {"ref": ref, "lower": lower, "higher": higher})
        table = ev.compare_with(scores, reference="ref", metric=metric, ratio=0.5)
        assert table.loc["lower", "difference"] == pytest.approx(0.0303333, rel=1e-4)  # losses flipped
        assert table.loc["lower", "t"] > 0
        assert table.loc["lower", "verdict"] == "better"
        assert table.loc["higher", "difference"] < 0 and table.loc["higher", "verdict"] == "worse"
    # the same numbers as a higher-is-better metric flip the verdicts
    scores = _score_table("roc_auc", {"ref": ref, "lower": lower, "higher": higher})
    table = ev.compare_with(scores, reference="ref", metric="roc_auc", ratio=0.5)
    assert table.loc["lower", "verdict"] == "worse" and table.loc["higher", "verdict"] == "better"


def test_compare_with_only_reference():
    table = ev.compare_with(_score_table("f1", {"A": A_SCORES}), reference="A", metric="f1", ratio=0.5)
    assert len(table) == 0


def test_best_model_direction():
    summary = pd.DataFrame(
        {"average_precision_mean": [0.3, 0.5, 0.5], "brier_mean": [0.08, 0.05, 0.09], "log_loss_mean": [0.3, 0.2, 0.1]},
        index=pd.Index(["x", "y", "z"], name="model"),
    )
    assert ev.best_model(summary, metric="average_precision") == "y"  # tie: first
    assert ev.best_model(summary, metric="brier") == "y"
    assert ev.best_model(summary, metric="log_loss") == "z"


def _summary_of_every_metric() -> pd.DataFrame:
    metrics = ["average_precision", "roc_auc", "brier", "log_loss", "f1", "capture_at_k", "mcc"]
    columns = {
        f"{m}_{part}": [0.1 * i + 0.01 * j + k for i in range(2)]
        for j, m in enumerate(metrics)
        for k, part in ((0.0, "mean"), (-0.001, "ci_low"), (0.001, "ci_high"))
    }
    return pd.DataFrame(columns, index=pd.Index(["a", "b"], name="model"))


def test_headline_holds_the_fixed_metrics_and_average_precisions_interval():
    headline = reporting.headline(_summary_of_every_metric(), best="b", selection_metric="average_precision")
    assert list(headline) == [
        "best_model",
        "selection_metric",
        *reporting.HEADLINE_METRICS,
        "average_precision_ci_low",
        "average_precision_ci_high",
    ]
    assert headline["best_model"] == "b" and headline["average_precision"] == pytest.approx(0.1)
    assert headline["average_precision_ci_low"] == pytest.approx(0.099)


@pytest.mark.parametrize("metric", ["log_loss", "mcc", "brier"])
def test_headline_holds_the_selection_metric_and_its_interval(metric):
    """With log_loss (or mcc ...) the file held log_loss's interval but not log_loss itself."""
    summary = _summary_of_every_metric()
    headline = reporting.headline(summary, best="b", selection_metric=metric)
    assert headline[metric] == summary.loc["b", f"{metric}_mean"]
    assert headline[f"{metric}_ci_low"] == summary.loc["b", f"{metric}_ci_low"]
    assert headline[f"{metric}_ci_high"] == summary.loc["b", f"{metric}_ci_high"]
    assert "average_precision_ci_low" in headline  # the same columns in every experiment, plus these
    assert len(headline) == 2 + len(set(reporting.HEADLINE_METRICS) | {metric}) + 2 * len({"average_precision", metric})


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


# --------------------------------------------------------------------------------------------
# cross_validate
# --------------------------------------------------------------------------------------------


def test_cross_validate_shapes(dataset, cv_logistic):
    X, y, _, folds = dataset
    res = cv_logistic
    assert len(res.scores) == 6 and len(res.timings) == 6
    assert list(res.scores[["repeat", "fold"]].itertuples(index=False, name=None)) == [
        (r, k) for r in range(2) for k in range(3)
    ]
    for col in (
        "average_precision",
        "roc_auc",
        "brier",
        "log_loss",
        "capture_at_k",
        "threshold",
        "precision",
        "recall",
        "f1",
        "balanced_accuracy",
        "mcc",
        "geometric_mean",
    ):
        assert col in res.scores.columns
        assert res.scores[col].notna().all()
    assert list(res.oof.columns) == ["row", "repeat", "fold", "y_true", "y_score"]
    assert len(res.oof) == 2 * len(X)
    assert set(res.timings.columns) == {"repeat", "fold", "fit_seconds", "predict_seconds"}
    assert (res.timings["fit_seconds"] > 0).all() and (res.timings["predict_seconds"] > 0).all()
    assert res.oof["y_score"].between(0, 1).all()
    # the model learns something on this data
    assert res.scores["roc_auc"].mean() > 0.7


def test_cross_validate_oof_rows_once_per_repeat(dataset, cv_logistic):
    X, y, _, folds = dataset
    oof = cv_logistic.oof
    for r, part in oof.groupby("repeat"):
        assert np.array_equal(np.sort(part["row"].to_numpy()), np.arange(len(X)))
        by_row = part.set_index("row").sort_index()
        assert np.array_equal(by_row["fold"].to_numpy(), folds[f"repeat_{r}"].to_numpy())
        assert np.array_equal(by_row["y_true"].to_numpy(), y)


def test_cross_validate_oof_scores_match_a_manual_fit(dataset, cv_logistic):
    X, y, schema, folds = dataset
    r, k, train, val = list(iter_splits(folds))[4]
    pipe = make_pipeline("logistic_regression", schema, seed=0).fit(X.iloc[train], y[train])
    expected = pipe.predict_proba(X.iloc[val])[:, 1]
    mine = cv_logistic.oof[(cv_logistic.oof["repeat"] == r) & (cv_logistic.oof["fold"] == k)]
    assert np.array_equal(mine["row"].to_numpy(), val)
    np.testing.assert_allclose(mine["y_score"].to_numpy(), expected, rtol=1e-9)


def test_cross_validate_threshold_cross_fitted(dataset, cv_logistic):
    oof, scores = cv_logistic.oof, cv_logistic.scores
    own_differs = 0
    for _, row in scores.iterrows():
        same = oof["repeat"] == row["repeat"]
        others = oof[same & (oof["fold"] != row["fold"])]
        mine = oof[same & (oof["fold"] == row["fold"])]
        expected = ev.choose_threshold(others["y_true"], others["y_score"], objective="f1")
        assert row["threshold"] == expected
        own = ev.choose_threshold(mine["y_true"], mine["y_score"], objective="f1")
        own_differs += own != expected
        metrics = ev.score_predictions(mine["y_true"], mine["y_score"], threshold=expected, top_k_fraction=0.1)
        for name, value in metrics.items():
            assert row[name] == pytest.approx(value, nan_ok=True), name
    assert own_differs > 0  # the check above distinguishes cross-fitted from own-fold thresholds


def test_cross_validate_cost_objective(dataset):
    X, y, schema, folds = dataset
    pipe = make_pipeline("dummy", schema, seed=0)
    res = ev.cross_validate(pipe, X, y, folds.iloc[:, :1], threshold_objective="cost")
    # the prior is ~0.1 for every row: predicting all positive costs ~270 FP, nothing costs ~30 FN
    assert (res.scores["recall"] == 0).all()
    assert (res.scores["threshold"] > res.oof["y_score"].max()).all()


def test_cross_validate_deterministic_and_parallel(dataset, cv_logistic):
    X, y, schema, folds = dataset
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    again = ev.cross_validate(pipe, X, y, folds)
    pd.testing.assert_frame_equal(again.scores, cv_logistic.scores)
    pd.testing.assert_frame_equal(again.oof, cv_logistic.oof)
    # processes (loky) with the first repeat only: its scores depend on that repeat alone
    parallel = ev.cross_validate(pipe, X, y, folds.iloc[:, :1], n_jobs=2)
    pd.testing.assert_frame_equal(parallel.scores, cv_logistic.scores.iloc[:3])
    pd.testing.assert_frame_equal(parallel.oof, cv_logistic.oof.iloc[: len(X)])


def test_cross_validate_models_stacks(dataset):
    X, y, schema, folds = dataset
    one_repeat = folds.iloc[:, :1]
    pipes = {
        "dummy": make_pipeline("dummy", schema, seed=0),
        "lr": make_pipeline("logistic_regression", schema, seed=0),
    }
    res = ev.cross_validate_models(pipes, X, y, one_repeat)
    assert list(res.scores.columns[:3]) == ["model", "repeat", "fold"]
    assert list(res.scores["model"]) == ["dummy"] * 3 + ["lr"] * 3
    assert len(res.oof) == 2 * len(X) and res.oof.columns[0] == "model"
    assert list(res.timings.columns[:3]) == ["model", "repeat", "fold"]
    # dummy has no skill: AUC 0.5 on every fold
    np.testing.assert_allclose(res.scores.loc[res.scores["model"] == "dummy", "roc_auc"], 0.5)


# --------------------------------------------------------------------------------------------
# Leakage: preprocessing is fitted inside each training fold
# --------------------------------------------------------------------------------------------


class ProbeClassifier(ClassifierMixin, BaseEstimator):
    """Returns, as the "probability", one column of the preprocessed input it is given.

    The out-of-fold scores then reveal exactly how each validation row was transformed, i.e.
    which imputation median and scaler mean / sd were fitted.
    """

    def __init__(self, column: int = 0):
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.n_fit_ = len(X)
        return self

    def predict_proba(self, X):
        v = np.asarray(X, dtype=float)[:, self.column]
        return np.column_stack([1 - v, v])


def test_preprocessing_fitted_inside_each_fold():
    n = 120
    rng = np.random.default_rng(1)
    y = np.zeros(n, int)
    y[::6] = 1
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=5)
    fold = folds["repeat_0"].to_numpy()
    # the statistics of this feature differ strongly between folds: fitting the imputer or
    # the scaler on all rows would give different transformed values
    x = rng.normal(size=n) + 50.0 * fold**2
    x[rng.random(n) < 0.15] = np.nan
    X = pd.DataFrame({"x": x, "z": rng.normal(size=n), "cat": rng.choice(["u", "v"], size=n).astype(object)})
    schema = Schema(target="y", numeric=["x", "z"], categorical={"cat": ["u", "v"]}, features=["x", "z", "cat"])

    pipe = make_pipeline("logistic_regression", schema, seed=0)  # imputer + indicator + scaler
    pipe.set_params(model=ProbeClassifier(column=0))
    res = ev.cross_validate(pipe, X, y, folds)

    names = list(pipe[:-1].fit(X, y).get_feature_names_out())
    assert names[0] == "x" and "missingindicator_x" in names

    for _, k, train, val in iter_splits(folds):
        xt = x[train]
        median = np.nanmedian(xt)
        imputed = np.where(np.isnan(xt), median, xt)
        mean, sd = imputed.mean(), imputed.std()
        expected = (np.where(np.isnan(x[val]), median, x[val]) - mean) / sd
        got = res.oof[res.oof["fold"] == k].sort_values("row")["y_score"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)

        # the statistics fitted on all rows are really different (so this test can fail)
        all_median = np.nanmedian(x)
        all_imputed = np.where(np.isnan(x), all_median, x)
        leaky = (np.where(np.isnan(x[val]), all_median, x[val]) - all_imputed.mean()) / all_imputed.std()
        assert not np.allclose(leaky, expected, atol=1e-3)


def test_fitted_pipeline_statistics_come_from_the_training_part(make_dataset):
    X, y, schema = make_dataset(n=150, seed=3)
    X.loc[X.index[:50], "num2"] += 100.0  # the first third looks very different
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    fitted = []

    def recording_fit_predict(estimator, X_, y_, train, val):
        proba, fit_s, pred_s = cross_validation.fit_and_predict(estimator, X_, y_, train, val)
        model = clone(estimator).fit(X_.iloc[train], y_[train])  # the same fit, kept to inspect it
        fitted.append((train, model))
        np.testing.assert_allclose(model.predict_proba(X_.iloc[val])[:, 1], proba)
        return proba, fit_s, pred_s

    pipe = make_pipeline("logistic_regression", schema, seed=0)
    ev.cross_validate(pipe, X, y, folds, fit_predict=recording_fit_predict)
    assert len(fitted) == 3
    for train, model in fitted:
        numeric = model.named_steps["preprocess"].named_transformers_["numeric"]
        medians = numeric.named_steps["impute"].statistics_
        np.testing.assert_allclose(medians, X.iloc[train][["num1", "num2"]].median().to_numpy())
        assert not np.allclose(medians[1], X["num2"].median())
        scaler = numeric.named_steps["scale"]
        imputed = X.iloc[train][["num1", "num2"]].fillna(X.iloc[train][["num1", "num2"]].median())
        np.testing.assert_allclose(scaler.mean_[:2], imputed.mean().to_numpy())


# --------------------------------------------------------------------------------------------
# learning_curve
# --------------------------------------------------------------------------------------------


def test_learning_curve_shapes(dataset):
    X, y, schema, folds = dataset
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    sizes, train_scores, val_scores = ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 1.0])
    n_train = len(next(iter_splits(folds))[2])
    assert list(sizes) == [n_train // 2, n_train]
    assert train_scores.shape == (2, 3) and val_scores.shape == (2, 3)  # first repeat only: 3 folds
    assert np.all((val_scores > 0) & (val_scores <= 1))
    sizes, train_scores, val_scores = ev.learning_curve(pipe, X, y, folds, sizes=[0.6, 0.8, 1.0], metric="brier")
    assert train_scores.shape == (3, 3) and val_scores.shape == (3, 3)
    assert np.all((val_scores >= 0) & (val_scores < 0.25))  # a loss, sign flipped back


def test_learning_curve_rejects_a_threshold_metric():
    with pytest.raises(ValueError, match="learning curves support"):
        ev.learning_curve(None, None, None, None, sizes=[1.0], metric="f1")


def test_bootstrap_ci_covers_the_estimate_and_narrows_with_data():
    rng = np.random.default_rng(3)

    def sample(n):
        y = (rng.random(n) < 0.1).astype(int)
        s = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
        return y, s

    y, s = sample(500)
    est, lo, hi = ev.bootstrap_ci(y, s, average_precision_score, n_boot=300, seed=1)
    assert est == pytest.approx(average_precision_score(y, s))
    assert lo < est < hi
    assert (lo, hi) == ev.bootstrap_ci(y, s, average_precision_score, n_boot=300, seed=1)[1:], "seeded: reproducible"
    y2, s2 = sample(5000)
    _, lo2, hi2 = ev.bootstrap_ci(y2, s2, average_precision_score, n_boot=300, seed=1)
    assert hi2 - lo2 < (hi - lo) * 0.7


def test_bootstrap_replicates_keep_the_prevalence():
    y = np.array([1] * 5 + [0] * 45)
    seen = []
    ev.bootstrap_ci(y, np.linspace(0, 1, 50), lambda t, _: seen.append(t.mean()) or 0.0, n_boot=20, seed=0)
    assert set(seen[:20]) == {0.1}  # the replicates (then the estimate and the jackknife)
    assert len(seen) == 20 + 1 + 50


def test_bca_interval_matches_scipy():
    """The stratified BCa interval against scipy.stats.bootstrap's (not stratified; with half the
    rows positive, stratifying hardly changes ROC AUC's replicates)."""
    from scipy import stats

    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.5).astype(int)
    s = np.clip(0.25 * y + rng.random(600) * 0.75, 0, 1)
    _, lo, hi = ev.bootstrap_ci(y, s, roc_auc_score, n_boot=3000, seed=1)
    ref = stats.bootstrap(
        (y, s), roc_auc_score, paired=True, vectorized=False, n_resamples=3000, method="BCa", random_state=2
    ).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.003) and hi == pytest.approx(ref.high, abs=0.003)


def test_bca_levels_by_hand():
    from scipy import stats

    # replicates symmetric about the estimate and a symmetric jackknife: the percentile levels
    assert ev.bca_levels([1, 2, 3, 4], 2.5, [1.0, 2.0, 3.0]) == pytest.approx((0.025, 0.975))
    # 3 of 4 replicates above the estimate: z0 = ppf(0.25) < 0, both levels move down
    low, high = ev.bca_levels([1, 2, 3, 4], 1.5, [1.0, 2.0, 3.0])
    z0 = stats.norm.ppf(0.25)
    assert low == pytest.approx(stats.norm.cdf(2 * z0 + stats.norm.ppf(0.025)))
    assert high == pytest.approx(stats.norm.cdf(2 * z0 + stats.norm.ppf(0.975)))
    assert ev.bca_levels([2, 3], 1.0, [1.0, 2.0]) == pytest.approx((0.025, 0.975))  # all above: percentile


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bca_moves_the_interval_against_the_replicates_bias(seed):
    """Average precision's replicates need not centre on the estimate (a resample repeats rows):
    on the stored test predictions 57.5 % lay above it and the percentile interval sat too high.
    BCa shifts the interval away from the side where most replicates lie."""
    rng = np.random.default_rng(seed)
    y = (rng.random(1200) < 0.06).astype(int)
    s = np.clip(0.6 * y + rng.random(1200), 0, 1)  # about as separable as the default data's test set
    replicates = []

    def recording(t, u):
        value = average_precision_score(t, u)
        replicates.append(value)
        return value

    est, lo, hi = ev.bootstrap_ci(y, s, recording, n_boot=1000, seed=3)
    above = np.mean(np.asarray(replicates[:1000]) > est)
    _, p_lo, p_hi = ev.bootstrap_ci(y, s, average_precision_score, n_boot=1000, seed=3, method="percentile")
    assert abs(above - 0.5) > 0.02  # the case this is about
    assert np.sign((lo + hi) - (p_lo + p_hi)) == -np.sign(above - 0.5)
    assert lo < est < hi
    with pytest.raises(ValueError, match="unknown bootstrap method"):
        ev.bootstrap_ci(y, s, average_precision_score, method="basic")


def test_grouped_jackknife_above_the_group_count(monkeypatch):
    monkeypatch.setattr(statistics, "JACKKNIFE_GROUPS", 10)
    y = np.array([1] * 20 + [0] * 80)
    calls = []
    values = statistics._jackknife(
        y, np.linspace(0, 1, 100), lambda t, _: calls.append((len(t), t.sum())) or 0.0, seed=0
    )
    assert len(values) == 10 and set(calls) == {(90, 18)}  # each group: 2 positives and 8 negatives


def test_top_k_capture_and_lift_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    got = ev.top_k(y, s, k=0.3)  # top 3 rows: 1, 0, 1
    assert got["rows"] == 3 and got["positives"] == 2
    assert got["capture"] == pytest.approx(2 / 3)
    assert got["precision"] == pytest.approx(2 / 3) and got["lift"] == pytest.approx((2 / 3) / 0.3)
    assert ev.top_k(y, s, k=3) == got


def test_scores_at_threshold_per_fold():
    oof = pd.DataFrame(
        {
            "model": ["m"] * 6,
            "repeat": [0] * 6,
            "fold": [0, 0, 0, 1, 1, 1],
            "y_true": [1, 0, 0, 1, 1, 0],
            "y_score": [0.6, 0.7, 0.2, 0.4, 0.9, 0.1],
        }
    )
    got = ev.scores_at_threshold(oof, threshold=0.5).set_index("fold")
    assert got.loc[0, "precision"] == pytest.approx(0.5) and got.loc[0, "recall"] == pytest.approx(1.0)
    assert got.loc[1, "precision"] == pytest.approx(1.0) and got.loc[1, "recall"] == pytest.approx(0.5)


# --------------------------------------------------------------------------------------------
# Large-data optimisations: shared preprocessing, kept models, learning curve, permutation
# importance. Each must give exactly the numbers of the straightforward computation.
# --------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_caches(monkeypatch):
    """Empty preprocessing and model caches for this test only (they are process-wide)."""
    from collections import OrderedDict

    monkeypatch.setattr(caches, "_PREPROCESS_CACHE", OrderedDict())
    monkeypatch.setattr(caches, "_MODEL_CACHE", OrderedDict())
    return ev


@pytest.fixture(scope="module")
def small_data(make_dataset):
    """120 rows: numeric columns (one with NaN), a text column with NaN; one repeat of 3 folds."""
    X, y, schema = make_dataset(n=120, seed=4)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=2)
    return X, y, schema, folds


def _plain_fit_predict(estimator, X, y, train, val):
    """The straightforward path: not ``cross_validation.fit_and_predict`` itself, so no cache is used."""
    return cross_validation.fit_and_predict(estimator, X, y, train, val)


def _shared_pipelines(schema):
    from imblearn.over_sampling import RandomOverSampler

    return {
        # dummy and hist_gradient_boosting share the ordinal preprocessing
        "dummy": make_pipeline("dummy", schema, seed=0),
        "hgb": make_pipeline("hist_gradient_boosting", schema, seed=0, params={"max_iter": 5}),
        # the three below share the one-hot + scaling preprocessing; "lr_again" is "lr" under
        # another name (the kept-model path), "over" adds a sampler after the shared step
        "lr": make_pipeline("logistic_regression", schema, seed=0),
        "lr_again": make_pipeline("logistic_regression", schema, seed=0),
        "over": make_pipeline("logistic_regression", schema, seed=0, sampler=RandomOverSampler(random_state=0)),
    }


def test_cross_validate_models_shared_caches_match_plain_fits(small_data, fresh_caches):
    X, y, schema, folds = small_data
    pipes = _shared_pipelines(schema)
    res = ev.cross_validate_models(pipes, X, y, folds)

    # the fast paths really ran: one preprocessing per (preprocessing, fold), one kept model
    # per distinct (pipeline, fold) -- lr and lr_again share theirs
    assert len(caches._PREPROCESS_CACHE) == 2 * 3
    assert len(caches._MODEL_CACHE) == 4 * 3
    for name, pipe in pipes.items():
        for r, k, train, val in iter_splits(folds):
            with threadpool_limits(limits=1):  # as in cross-validation (and fast on a busy machine)
                expected = clone(pipe).fit(X.iloc[train], y[train]).predict_proba(X.iloc[val])[:, 1]
            mine = res.oof[(res.oof["model"] == name) & (res.oof["repeat"] == r) & (res.oof["fold"] == k)]
            assert np.array_equal(mine["row"].to_numpy(), val)
            assert np.array_equal(mine["y_score"].to_numpy(), expected), (name, r, k)
        plain = ev.cross_validate(pipe, X, y, folds, fit_predict=_plain_fit_predict)
        pd.testing.assert_frame_equal(
            res.scores[res.scores["model"] == name].drop(columns="model").reset_index(drop=True),
            plain.scores,
            check_exact=True,
        )
        pd.testing.assert_frame_equal(
            res.oof[res.oof["model"] == name].drop(columns="model").reset_index(drop=True), plain.oof, check_exact=True
        )
    t = res.timings
    assert list(t.columns) == ["model", "repeat", "fold", "fit_seconds", "predict_seconds"]
    assert len(t) == len(pipes) * 3 and (t["fit_seconds"] > 0).all() and (t["predict_seconds"] > 0).all()
    # the duplicate was not refitted: it reports the measured fit of the first
    assert np.array_equal(
        t.loc[t["model"] == "lr_again", "fit_seconds"].to_numpy(), t.loc[t["model"] == "lr", "fit_seconds"].to_numpy()
    )


def test_cross_validate_models_second_call_hits_the_caches(small_data, fresh_caches):
    X, y, schema, folds = small_data
    pipes = {n: p for n, p in _shared_pipelines(schema).items() if n in ("dummy", "lr", "lr_again")}
    first = ev.cross_validate_models(pipes, X, y, folds)
    kept = dict(caches._MODEL_CACHE)
    second = ev.cross_validate_models(pipes, X, y, folds)
    assert dict(caches._MODEL_CACHE).keys() == kept.keys()  # nothing refitted
    pd.testing.assert_frame_equal(second.scores, first.scores, check_exact=True)
    pd.testing.assert_frame_equal(second.oof, first.oof, check_exact=True)
    # a kept model reports the fit time measured when it was fitted
    pd.testing.assert_series_equal(second.timings["fit_seconds"], first.timings["fit_seconds"], check_exact=True)
    # the same frame again through cross_validate (one pipeline, same caches)
    single = ev.cross_validate(pipes["lr"], X, y, folds)
    pd.testing.assert_frame_equal(
        single.oof, first.oof[first.oof["model"] == "lr"].drop(columns="model").reset_index(drop=True), check_exact=True
    )


def test_cross_validate_models_concurrent_workers_match_sequential(small_data, fresh_caches):
    # threads instead of processes (fast to start); scheduling with jobs dispatched ahead of
    # their results (the duplicate waits for its first) is the same as with processes. Processes
    # are covered by test_cross_validate_deterministic_and_parallel.
    import joblib

    X, y, schema, folds = small_data
    pipes = {n: p for n, p in _shared_pipelines(schema).items() if n in ("dummy", "lr", "lr_again")}
    with joblib.parallel_config(backend="threading"):
        parallel = ev.cross_validate_models(pipes, X, y, folds, n_jobs=2)
    caches._PREPROCESS_CACHE.clear()
    caches._MODEL_CACHE.clear()
    sequential = ev.cross_validate_models(pipes, X, y, folds, n_jobs=1)
    pd.testing.assert_frame_equal(parallel.scores, sequential.scores, check_exact=True)
    pd.testing.assert_frame_equal(parallel.oof, sequential.oof, check_exact=True)


def test_cross_validate_models_kept_model_evicted_while_its_job_runs(small_data, fresh_caches, monkeypatch):
    import joblib

    X, y, schema, folds = small_data
    pipes = {
        "dummy": make_pipeline("dummy", schema, seed=0),
        "lr": make_pipeline("logistic_regression", schema, seed=0),
    }
    monkeypatch.setattr(caches, "MODEL_CACHE_SIZE", 1)  # stands for: more new fits than the cache holds
    with joblib.parallel_config(backend="threading"):
        first = ev.cross_validate_models(pipes, X, y, folds, n_jobs=2)  # keeps lr's last fold only
        # lr fold 2 is dispatched as a cache hit before lr folds 0 and 1, kept on collection, evict it
        again = ev.cross_validate_models({"lr": pipes["lr"], "dummy": pipes["dummy"]}, X, y, folds, n_jobs=2)
    pd.testing.assert_frame_equal(
        again.oof.sort_values(["model", "fold", "row"]).reset_index(drop=True),
        first.oof.sort_values(["model", "fold", "row"]).reset_index(drop=True),
    )


def test_cross_validate_object_column_of_numbers_like_plain_fits(fresh_caches):
    rng = np.random.default_rng(0)
    n = 60
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame({"num": rng.normal(size=n), "code": pd.Series(rng.choice([1, 2, 3], size=n), dtype=object)})
    schema = Schema(target="y", numeric=["num"], categorical={"code": ["1", "2", "3"]}, features=["num", "code"])
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=0)
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    plain = ev.cross_validate(pipe, X, y, folds, fit_predict=_plain_fit_predict)
    shared = ev.cross_validate(pipe, X, y, folds)
    pd.testing.assert_frame_equal(shared.oof, plain.oof, check_exact=True)


def _sklearn_curve(pipe, X, y, folds, sizes, metric):
    from sklearn.model_selection import learning_curve as sk_learning_curve

    splits = [(tr, va) for r, _, tr, va in iter_splits(folds) if r == 0]
    scoring = ev.CURVE_METRICS[metric]
    sizes_abs, train, val = sk_learning_curve(pipe, X, y, cv=splits, train_sizes=sizes, scoring=scoring, shuffle=False)
    if scoring.startswith("neg_"):
        train, val = -train, -val
    return sizes_abs, train, val


import sklearn.model_selection  # noqa: E402  (patched below: evaluation imports it when called)


def _no_sklearn_curve(*args, **kwargs):
    raise AssertionError("the shared-preprocessing path of learning_curve was not taken")


@pytest.mark.parametrize("metric", ["average_precision", "brier"])
def test_learning_curve_equals_sklearn(small_data, fresh_caches, monkeypatch, metric):
    X, y, schema, _ = small_data
    folds = make_folds(y, n_splits=3, n_repeats=2, seed=2)  # the curve uses the first repeat only
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    expected = _sklearn_curve(pipe, X, y, folds, [0.5, 0.75, 1.0], metric)
    assert np.isfinite(expected[1]).all() and np.isfinite(expected[2]).all()
    monkeypatch.setattr(sklearn.model_selection, "learning_curve", _no_sklearn_curve)
    got = ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 0.75, 1.0], metric=metric)
    for g, e in zip(got, expected):
        assert np.array_equal(g, e)


def test_learning_curve_reuses_the_cross_validation_fit(small_data, fresh_caches, monkeypatch):
    X, y, schema, folds = small_data
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    expected = _sklearn_curve(pipe, X, y, folds, [0.5, 1.0], "average_precision")
    ev.cross_validate(pipe, X, y, folds)  # keeps the full-size fits and their preprocessing
    kept = set(caches._MODEL_CACHE)
    monkeypatch.setattr(sklearn.model_selection, "learning_curve", _no_sklearn_curve)
    got = ev.learning_curve(pipe, X, y, folds, sizes=[0.5, 1.0])
    assert set(caches._MODEL_CACHE) == kept  # the full-size points were not refitted
    for g, e in zip(got, expected):
        assert np.array_equal(g, e)


def _negatives_first(make_dataset, n=90):
    """The training folds start with negatives only: a small learning-curve size has one class."""
    X, y, schema = make_dataset(n=n, seed=2)
    order = np.argsort(y, kind="stable")
    return X.iloc[order].reset_index(drop=True), y[order], schema


def test_learning_curve_failed_fit_scores_nan_like_sklearn(fresh_caches, make_dataset):
    from sklearn.exceptions import FitFailedWarning

    X, y, schema = _negatives_first(make_dataset)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    pipe = make_pipeline("logistic_regression", schema, seed=0)  # cannot fit a single class
    with pytest.warns(FitFailedWarning):
        expected = _sklearn_curve(pipe, X, y, folds, [0.2, 1.0], "average_precision")
    with pytest.warns(FitFailedWarning):
        got = ev.learning_curve(pipe, X, y, folds, sizes=[0.2, 1.0])
    assert np.isnan(expected[1][0]).all() and np.isfinite(expected[1][1]).all()
    for g, e in zip(got, expected):
        assert np.array_equal(g, e, equal_nan=True)


def test_learning_curve_failed_scoring_scores_nan_like_sklearn(fresh_caches, make_dataset):
    X, y, schema = _negatives_first(make_dataset)
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    pipe = make_pipeline("dummy", schema, seed=0)  # fits one class, then cannot be scored
    with pytest.warns(UserWarning):
        expected = _sklearn_curve(pipe, X, y, folds, [0.2, 1.0], "average_precision")
    assert np.isnan(expected[1][0]).all()
    got = ev.learning_curve(pipe, X, y, folds, sizes=[0.2, 1.0])
    for g, e in zip(got, expected):
        assert np.array_equal(g, e, equal_nan=True)


def _importance_data():
    """Numeric with missing values, a numeric column missing in every fit row (the imputer drops
    it, its indicator stays), text with NaN/None, a rare (infrequent) and an unseen category, a
    pandas ``str`` column and a column the pipeline does not use."""
    rng = np.random.default_rng(5)
    n = 160
    y = (rng.random(n) < 0.25).astype(int)
    y[:4] = [0, 1, 0, 1]
    num = rng.normal(size=n) + y
    num[rng.random(n) < 0.15] = np.nan
    late = rng.normal(size=n) - 0.5 * y
    late[:100] = np.nan
    cat = np.where(
        y == 1,
        rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.2, 0.2]),
        rng.choice(["a", "b", "c"], size=n, p=[0.2, 0.4, 0.4]),
    ).astype(object)
    cat[rng.random(n) < 0.1] = None
    cat[rng.random(n) < 0.05] = np.nan
    cat[[5, 17, 40]] = "rare"
    cat[130] = "unseen"
    X = pd.DataFrame(
        {
            "num": num,
            "late": late,
            "cat": pd.Series(cat, dtype=object),
            "unused": rng.normal(size=n),
            "txt": pd.Series(rng.choice(["p", "q"], size=n), dtype="str"),
        }
    )
    schema = Schema(
        target="y",
        numeric=["num", "late"],
        categorical={"cat": ["a", "b", "c"], "txt": ["p", "q"]},
        features=["num", "late", "cat", "txt"],
    )
    return X, y, schema


@pytest.fixture
def sklearn_importance(monkeypatch):
    """scikit-learn's permutation_importance, and a list of the calls evaluation makes to it."""
    import sklearn.inspection

    original = sklearn.inspection.permutation_importance
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(sklearn.inspection, "permutation_importance", spy)
    return original, calls


def _assert_same_importances(got, expected):
    for key in ("importances", "importances_mean", "importances_std"):
        assert got[key].shape == expected[key].shape
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize(
    "model, sampler", [("logistic_regression", False), ("logistic_regression", True), ("xgboost", False)]
)
@pytest.mark.parametrize("scoring, seed", [("average_precision", 0), ("neg_log_loss", 3)])
def test_permutation_importance_fast_path_equals_sklearn(sklearn_importance, model, sampler, scoring, seed):
    from imblearn.over_sampling import RandomOverSampler

    original, calls = sklearn_importance
    X, y, schema = _importance_data()
    pipe = make_pipeline(
        model,
        schema,
        seed=0,
        sampler=RandomOverSampler(random_state=0) if sampler else None,
        params={"n_estimators": 10} if model == "xgboost" else None,
    )
    pipe.fit(X.iloc[:100], y[:100])
    X_test, y_test = X.iloc[100:], y[100:]
    got = ev.permutation_importance(pipe, X_test, y_test, scoring=scoring, n_repeats=3, random_state=seed)
    assert not calls, "the fast path was not taken"
    expected = original(pipe, X_test, y_test, scoring=scoring, n_repeats=3, random_state=seed)
    _assert_same_importances(got, expected)
    assert np.all(got["importances"][list(X.columns).index("unused")] == 0)
    assert np.any(got["importances"] != 0)


class _MixingScaler(StandardScaler):
    """A scaler whose outputs mix input columns (the fast path must notice and not assume)."""

    def transform(self, X, copy=None):
        Xt = super().transform(X, copy=copy)
        return Xt + 0.5 * Xt[:, ::-1]


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("replacement", ["pca", "mixing_scaler"])
def test_permutation_importance_falls_back_to_sklearn(sklearn_importance, replacement):
    from sklearn.decomposition import PCA

    original, calls = sklearn_importance
    X, y, schema = _importance_data()
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    # pca: a step the fast path does not know; mixing_scaler: a known class that mixes columns
    # anyway, caught by the check on a sample
    pipe.set_params(
        preprocess__numeric__scale=PCA(n_components=3, random_state=0) if replacement == "pca" else _MixingScaler()
    )
    pipe.fit(X.iloc[:100], y[:100])
    X_test, y_test = X.iloc[100:], y[100:]
    got = ev.permutation_importance(pipe, X_test, y_test, n_repeats=3, random_state=0)
    assert len(calls) == 1, "scikit-learn's function was not used"
    expected = original(pipe, X_test, y_test, scoring="average_precision", n_repeats=3, random_state=0)
    _assert_same_importances(got, expected)
