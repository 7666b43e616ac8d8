"""Figures of a decision on the test set: where the threshold cuts, what the top of the ranking
holds, how the scores of the two classes overlap, and what the decision gets right and wrong."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..evaluation.metrics import threshold_metrics

NEGATIVE, POSITIVE = "#9aa5b1", "#d1495b"


def _arrays(y_true: Sequence[int], y_score: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(y_true).astype(int), np.asarray(y_score, dtype=float)


def threshold_curve(
    y_true: Sequence[int],
    y_score: Sequence[float],
    *,
    threshold: float,
    cost_fp: float = 1.0,
    cost_fn: float = 1.0,
    points: int = 201,
) -> Figure:
    """Precision, recall and F1 against the decision threshold, with the cost of the errors
    (``cost_fp * FP + cost_fn * FN``, relative to predicting no positive) on a second axis and the
    chosen threshold marked.

    Parameters
    ----------
    y_true, y_score : array-like
        Labels and scores.
    threshold : float
        The chosen threshold (above 1: no row is labelled positive).
    cost_fp, cost_fn : float
        The costs of a false positive and a false negative.
    points : int
        Thresholds drawn, evenly spaced over the range of the scores.
    """
    y, s = _arrays(y_true, y_score)
    grid = np.linspace(float(s.min()), float(s.max()), points)
    order = np.argsort(-s, kind="mergesort")
    ranked, tp_at = s[order], np.r_[0, np.cumsum(y[order])]
    predicted = np.searchsorted(-ranked, -grid, side="right")  # rows with score >= t (scores descending)
    tp = tp_at[predicted].astype(float)
    fp, fn = predicted - tp, y.sum() - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        curves = {
            "precision": np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0),
            "recall": tp / max(int(y.sum()), 1),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0),
        }
    cost = cost_fp * fp + cost_fn * fn
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for key, color in (("precision", "#30638e"), ("recall", POSITIVE), ("f1", "#edae49")):
        ax.plot(grid, curves[key], label=key, color=color, lw=1.5)
    ax.set(xlabel="decision threshold (predict positive when score >= threshold)", ylabel="share", ylim=(0, 1.02))
    costs = ax.twinx()
    costs.plot(grid, cost / max(cost_fn * y.sum(), 1e-12), color="grey", ls="--", lw=1.2, label="cost")
    costs.set_ylabel(f"cost relative to no positive ({cost_fp:g} x FP + {cost_fn:g} x FN)")
    if threshold <= 1:
        ax.axvline(threshold, color="black", lw=1, ls=":")
        chosen = threshold_metrics(y, (s >= threshold).astype(int))
        ax.annotate(
            f"chosen {threshold:.3g}\nprecision {chosen['precision']:.2f}, recall {chosen['recall']:.2f}",
            (threshold, 0.95),
            xytext=(6, 0),
            textcoords="offset points",
            va="top",
            fontsize=8,
        )
    lines = ax.get_legend_handles_labels()[0] + costs.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    ax.set_title("Precision, recall, F1 and cost by threshold (test set)")
    return fig


def gains_chart(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> Figure:
    """Cumulative gains (the share of all positives found in the top share of rows by score) and
    lift (that share over the share of rows), with the top ``k`` marked.

    Parameters
    ----------
    y_true, y_score : array-like
    k : float
        The top share of rows marked (a fraction), or a number of rows.
    """
    y, s = _arrays(y_true, y_score)
    order = np.argsort(-s, kind="mergesort")
    found = np.r_[0, np.cumsum(y[order])] / max(int(y.sum()), 1)
    share = np.arange(len(y) + 1) / len(y)
    top = k if k < 1 else k / len(y)
    at = int(np.clip(round(top * len(y)), 1, len(y)))
    fig = Figure(figsize=(10, 4.2))
    gains, lift = fig.subplots(1, 2)
    gains.plot(share, found, color="#30638e", lw=1.5, label="model")
    gains.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="random")
    prevalence = y.mean()
    gains.plot([0, prevalence, 1], [0, 1, 1], color="grey", ls="--", lw=1, label="perfect")
    gains.scatter([share[at]], [found[at]], color=POSITIVE, zorder=3)
    gains.annotate(
        f"top {share[at]:.0%}: {found[at]:.0%} of positives",
        (share[at], found[at]),
        xytext=(8, -12),
        textcoords="offset points",
        fontsize=8,
    )
    gains.set(
        xlabel="share of rows, highest scores first",
        ylabel="share of positives found",
        title="Cumulative gains (test set)",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    gains.legend(fontsize=8, loc="lower right")
    shown = share[1:] >= 0.01  # the first rows' lift is noise
    lift.plot(share[1:][shown], (found[1:] / share[1:])[shown], color="#30638e", lw=1.5)
    lift.axhline(1, color="grey", ls=":", lw=1)
    lift.scatter([share[at]], [found[at] / share[at]], color=POSITIVE, zorder=3)
    lift.set(
        xlabel="share of rows, highest scores first",
        ylabel="lift (precision / prevalence)",
        title="Lift (test set)",
        xlim=(0, 1),
    )
    return fig


def score_distributions(y_true: Sequence[int], y_score: Sequence[float], *, threshold: float, bins: int = 40) -> Figure:
    """Histograms of the scores of each class (each class's own share of rows per bin), with the
    threshold."""
    y, s = _arrays(y_true, y_score)
    edges = np.linspace(0.0, max(1e-12, float(s.max())), bins + 1)
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for cls, color, name in ((0, NEGATIVE, "negative"), (1, POSITIVE, "positive")):
        values = s[y == cls]
        weights = np.full(len(values), 1 / max(len(values), 1))
        ax.hist(values, bins=edges, weights=weights, alpha=0.6, color=color, label=f"{name} ({len(values)})")
    if threshold <= 1:
        ax.axvline(threshold, color="black", lw=1, ls=":", label=f"threshold {threshold:.3g}")
    ax.set(xlabel="score", ylabel="share of the class's rows", title="Scores by class (test set)")
    ax.legend(fontsize=8)
    return fig


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int]) -> Figure:
    """The 2 x 2 confusion matrix with counts and the share of each actual class."""
    y, p = _arrays(y_true, y_pred)
    counts = np.array([[np.sum((y == a) & (p == b)) for b in (0, 1)] for a in (0, 1)])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(4.8, 4))
    ax = fig.subplots()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for a in (0, 1):
        for b in (0, 1):
            color = "white" if shares[a, b] > 0.6 else "black"
            ax.text(b, a, f"{counts[a, b]}\n{shares[a, b]:.1%}", ha="center", va="center", color=color, fontsize=11)
    ax.set_xticks([0, 1], ["negative", "positive"])
    ax.set_yticks([0, 1], ["negative", "positive"])
    ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix (test set)")
    return fig
