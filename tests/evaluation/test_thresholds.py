"""Unit tests of imbalance_lab.evaluation.thresholds on small hand-made scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imbalance_lab import evaluation as ev
from imbalance_lab.errors import ImbalanceLabError


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
