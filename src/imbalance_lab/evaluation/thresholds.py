"""Decision thresholds: where to cut the scores into positive and negative predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ThresholdError

#: How :func:`choose_threshold` can choose (``evaluate.threshold_objective``).
THRESHOLD_OBJECTIVES = ("f1", "cost", "recall", "precision")


def _cumulative_counts(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Thresholds (distinct scores, descending) and TP / FP when predicting ``score >= t``."""
    order = np.argsort(-y_score, kind="mergesort")
    s, y = y_score[order], y_true[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = (last + 1) - tp
    return s[last], tp.astype(float), fp.astype(float), int(y.sum()), int(len(y) - y.sum())


def choose_threshold(
    y_true: Sequence[int],
    y_score: Sequence[float],
    *,
    objective: str = "f1",
    cost_fp: float = 1.0,
    cost_fn: float = 1.0,
    target: float | None = None,
) -> float:
    """Choose a decision threshold (predict positive when ``score >= threshold``).

    Parameters
    ----------
    y_true, y_score : array-like
        Labels (0/1) and scores, typically out-of-fold.
    objective : {"f1", "cost", "recall", "precision"}
        ``f1``: maximise F1. ``cost``: minimise ``cost_fp * FP + cost_fn * FN``. ``recall``:
        the highest threshold whose recall reaches ``target``. ``precision``: the lowest
        threshold whose precision reaches ``target`` (most recall at that precision).
    cost_fp, cost_fn : float
        Costs of a false positive and a false negative (objective "cost").
    target : float, optional
        The recall or precision to reach.

    Returns
    -------
    float
        The chosen threshold. Ties go to the higher threshold.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    thresholds, tp, fp, pos, _ = _cumulative_counts(y_true, y_score)
    fn = pos - tp
    if objective == "f1":
        values = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
        return float(thresholds[int(np.argmax(values))])
    if objective == "cost":
        cost = cost_fp * fp + cost_fn * fn
        # predicting no positive at all is also a candidate: cost_fn * pos; it is the highest
        # threshold, so it wins ties
        best = int(np.argmin(cost))
        if cost_fn * pos <= cost[best]:
            return float(np.nextafter(thresholds[0], np.inf))
        return float(thresholds[best])
    if target is None or not 0 < target <= 1:
        raise ValueError(f"objective {objective!r} needs a target in (0, 1], got {target!r}")
    if objective == "recall":
        if pos == 0:
            raise ValueError("no positives: a recall target cannot be reached")
        reached = np.flatnonzero(tp / max(pos, 1) >= target - 1e-12)
        return float(thresholds[reached[0]])
    if objective == "precision":
        precision = tp / (tp + fp)
        reached = np.flatnonzero(precision >= target - 1e-12)
        if reached.size == 0:
            raise ThresholdError(
                f"no threshold reaches precision {target} on the out-of-fold predictions (the highest "
                f"is {np.nanmax(precision):.4g}); lower evaluate.target or use another "
                "evaluate.threshold_objective"
            )
        return float(thresholds[reached[-1]])
    raise ValueError(f"unknown threshold objective {objective!r}")
