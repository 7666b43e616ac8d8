"""The metric registry and the metrics of one set of predictions.

:data:`METRICS` names every metric the pipeline computes, with its direction and what it needs:

* ``score`` metrics are computed from the scores alone (average precision, ROC AUC, Brier
  score, log loss);
* ``top_k`` metrics from the scores and a number of rows (``capture_at_k``);
* ``threshold`` metrics from 0/1 predictions at a decision threshold (precision, recall, F1,
  balanced accuracy, MCC, geometric mean).

Params validation, the evaluation code, the reports and the notebooks read the registry;
which metrics each stage offers is declared once here (:data:`CROSS_VALIDATE_METRICS`,
:data:`TUNE_METRICS`, :data:`IMBALANCE_METRICS`).

scikit-learn's metric functions are imported when first used: params validation reads this
registry in the stage runner, where importing ``sklearn.metrics`` costs about 1.2 s per stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-15


@dataclass(frozen=True)
class Metric:
    """One metric.

    Attributes
    ----------
    name : str
    kind : {"score", "top_k", "threshold"}
        What it is computed from: the scores, the scores and a number of top rows, or 0/1
        predictions at a decision threshold.
    label : str
        How a sentence names it ("AP", "ROC AUC").
    short : str
        Its short form in metric names (``test_ap``, ``cv_ap``), the columns of ``dvc exp show``.
    lower_is_better : bool
        True for losses (Brier score, log loss).
    scorer : str or None
        scikit-learn's scorer name, for the metrics a learning curve can show.
    """

    name: str
    kind: str
    label: str
    short: str
    lower_is_better: bool = False
    scorer: str | None = None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("average_precision", "score", "AP", "ap", scorer="average_precision"),
        Metric("roc_auc", "score", "ROC AUC", "roc_auc", scorer="roc_auc"),
        Metric("brier", "score", "Brier score", "brier", lower_is_better=True, scorer="neg_brier_score"),
        Metric("log_loss", "score", "log loss", "log_loss", lower_is_better=True, scorer="neg_log_loss"),
        Metric("capture_at_k", "top_k", "capture at k", "capture"),
        Metric("precision", "threshold", "precision", "precision"),
        Metric("recall", "threshold", "recall", "recall"),
        Metric("f1", "threshold", "F1", "f1"),
        Metric("balanced_accuracy", "threshold", "balanced accuracy", "bal_acc"),
        Metric("mcc", "threshold", "MCC", "mcc"),
        Metric("geometric_mean", "threshold", "geometric mean", "gmean"),
    )
}

#: Metrics where lower is better.
LOWER_IS_BETTER = frozenset(name for name, m in METRICS.items() if m.lower_is_better)
#: Metrics of the scores themselves, without a threshold.
SCORE_METRICS = tuple(name for name, m in METRICS.items() if m.kind == "score")
#: Metrics of 0/1 predictions at a decision threshold, in :func:`threshold_metrics`' order.
THRESHOLD_METRICS = tuple(name for name, m in METRICS.items() if m.kind == "threshold")
#: Threshold-free metrics a learning curve can show, with their scikit-learn scorer names.
CURVE_METRICS = {name: m.scorer for name, m in METRICS.items() if m.scorer is not None}

#: What the cross_validate stage summarises per model, and can choose a family by
#: (``cross_validate.selection_metric``).
CROSS_VALIDATE_METRICS = (*SCORE_METRICS, "capture_at_k", "precision", "recall", "f1", "balanced_accuracy", "mcc")
#: What the tune stage can optimise (``tune.metric``): a trial scores each fold by the scores alone.
TUNE_METRICS = SCORE_METRICS
#: What the imbalance stage can compare and choose strategies by (``imbalance.metric``).
IMBALANCE_METRICS = (*SCORE_METRICS, "f1", "balanced_accuracy", "geometric_mean", "mcc")


def direction(metric: str) -> str:
    """Optuna's name for the metric's direction: ``"minimize"`` or ``"maximize"``."""
    return "minimize" if METRICS[metric].lower_is_better else "maximize"


def _top_rows(n: int, k: float) -> int:
    """The number of rows in the top ``k`` (a fraction of ``n`` below 1, a count from 1), at
    least one and at most ``n``."""
    return min(max(round(k * n) if k < 1 else int(k), 1), n)


def _positives_in_top(y_true: np.ndarray, y_score: np.ndarray, n_top: int) -> float:
    """Positives among the ``n_top`` highest scores. Rows tied with the last one taken share its
    remaining places: each counts in proportion (the mean over every order of the tied rows),
    so the result does not depend on row order."""
    order = np.argsort(-y_score, kind="mergesort")
    cut = y_score[order[n_top - 1]]
    above = y_score > cut
    tied = y_score == cut
    places = n_top - int(above.sum())
    return float(y_true[above].sum() + places * y_true[tied].sum() / tied.sum())


def capture_at_k(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> float:
    """Share of all positives found among the top ``k`` scored rows.

    ``k`` below 1 is a fraction of the rows, ``k`` of 1 or more a count. Rows tied at the cut
    share the places left (see :func:`top_k`): a constant score captures ``k`` of the
    positives, not the share that happens to come first in the file.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    positives = y_true.sum()
    if not positives:
        return float("nan")
    return _positives_in_top(y_true, y_score, _top_rows(len(y_true), k)) / float(positives)


def threshold_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Precision, recall, F1, balanced accuracy, MCC and geometric mean of 0/1 predictions."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    tp = float(np.sum((y_pred == 1) & (y_true == 1)))
    fp = float(np.sum((y_pred == 1) & (y_true == 0)))
    fn = float(np.sum((y_pred == 0) & (y_true == 1)))
    tn = float(np.sum((y_pred == 0) & (y_true == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / denom if denom else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "balanced_accuracy": (recall + specificity) / 2,
        "mcc": float(mcc),
        "geometric_mean": float(np.sqrt(recall * specificity)),
    }


def _score_metric(y_true: np.ndarray, y_score: np.ndarray, metric: str) -> float:
    """One of :data:`SCORE_METRICS` of 0/1 labels and scores clipped to [0, 1]; the ranking
    metrics are NaN when the labels hold one class only."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    if metric in ("average_precision", "roc_auc") and len(np.unique(y_true)) < 2:
        return float("nan")
    if metric == "average_precision":
        return float(average_precision_score(y_true, y_score))
    if metric == "roc_auc":
        return float(roc_auc_score(y_true, y_score))
    if metric == "brier":
        return float(brier_score_loss(y_true, y_score))
    if metric == "log_loss":
        return float(log_loss(y_true, np.clip(y_score, EPS, 1 - EPS), labels=[0, 1]))
    raise ValueError(f"unknown score metric {metric!r}; use one of {', '.join(SCORE_METRICS)}")


def score_metric(y_true: Sequence[int], y_score: Sequence[float], *, metric: str) -> float:
    """One of :data:`SCORE_METRICS` of a set of predictions, the same value as
    :func:`score_predictions` gives for it, without computing the others (a tune trial needs
    one metric per fold)."""
    return _score_metric(np.asarray(y_true).astype(int), np.clip(np.asarray(y_score, dtype=float), 0.0, 1.0), metric)


def score_predictions(
    y_true: Sequence[int], y_score: Sequence[float], *, threshold: float, top_k_fraction: float | None = None
) -> dict[str, float]:
    """All metrics of one set of predictions.

    Parameters
    ----------
    threshold : float
        Predictions with ``score >= threshold`` are positive.
    top_k_fraction : float, optional
        The k of ``capture_at_k``, a fraction of rows; without it, ``capture_at_k`` is left out.

    Returns
    -------
    dict
        ``average_precision``, ``roc_auc``, ``brier``, ``log_loss``, ``capture_at_k`` (share
        of positives in the top ``top_k_fraction`` of scores, with ``top_k_fraction``),
        ``threshold`` and the threshold metrics of :func:`threshold_metrics` at
        ``score >= threshold``.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.clip(np.asarray(y_score, dtype=float), 0.0, 1.0)
    out = {metric: _score_metric(y_true, y_score, metric) for metric in SCORE_METRICS}
    if top_k_fraction is not None:
        out["capture_at_k"] = capture_at_k(y_true, y_score, k=top_k_fraction)
    out["threshold"] = float(threshold)
    out.update(threshold_metrics(y_true, (y_score >= threshold).astype(int)))
    return out


def top_k(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> dict[str, float]:
    """Capture (share of all positives) and lift (precision over prevalence) in the top ``k``.

    ``k`` below 1 is a fraction of the rows, 1 or more a count. When rows with the same score
    straddle the cut, they share the places left and each counts in proportion: ``positives``
    is then the expected number over every order of the tied rows (not a whole number), and
    nothing depends on the order of the rows.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    n_top = _top_rows(len(y_true), k)
    found = _positives_in_top(y_true, y_score, n_top)
    precision = found / n_top
    prevalence = float(y_true.mean())
    positives = int(found) if float(found).is_integer() else found
    return {
        "rows": n_top,
        "positives": positives,
        "capture": found / float(y_true.sum()) if y_true.sum() else float("nan"),
        "precision": precision,
        "lift": precision / prevalence if prevalence else float("nan"),
    }


def expected_calibration_error(y_true: Sequence[int], y_score: Sequence[float], *, n_bins: int = 10) -> float:
    """Expected calibration error of predicted positive-class probabilities.

    The scores are put in ``n_bins`` equal-width bins of [0, 1] (the last bin includes 1.0);
    the ECE is the mean over bins, weighted by the share of rows in each bin, of
    ``|observed positive rate - mean predicted probability|``.

    Parameters
    ----------
    y_true : array-like
        0/1 labels.
    y_score : array-like
        Predicted probabilities of the positive class, in [0, 1].
    n_bins : int
        Number of bins.

    Returns
    -------
    float
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_score, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("y_true and y_score must be non-empty 1-d arrays of the same length")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("y_score must be probabilities in [0, 1]")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    used = counts > 0
    gaps = np.abs(sum_y[used] - sum_p[used]) / counts[used]
    return float(np.sum(counts[used] * gaps) / len(y))
