"""Matplotlib figures of the stages' reports, built with the object API (no global pyplot state).

Figures are returned, so a notebook shows them and a stage saves them with
:func:`imbalance_lab.io.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, roc_auc_score

from ..data.profile import class_shares
from ..evaluation.metrics import LOWER_IS_BETTER
from .plot_data import pr_points, roc_points

Curves = Mapping[str, tuple[Sequence[int], Sequence[float]]]


# --------------------------------------------------------------------------------------------
# Data profile
# --------------------------------------------------------------------------------------------


def class_balance(y: Sequence[int], *, labels: tuple[str, str] = ("negative", "positive")) -> Figure:
    """Bar chart of the class counts with their shares."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    bars = ax.bar(labels, counts, color=["#9aa5b1", "#d1495b"])
    for bar, c in zip(bars, counts):
        ax.annotate(f"{c} ({c / counts.sum():.1%})", (bar.get_x() + bar.get_width() / 2, c), ha="center", va="bottom")
    ax.set_ylabel("rows")
    ax.set_title("Class balance")
    ax.margins(y=0.15)
    return fig


def missingness(df: pd.DataFrame, *, top: int = 20) -> Figure:
    """Share of missing values of the columns with the most missing values."""
    share = df.isna().mean().sort_values(ascending=False).head(top)
    fig = Figure(figsize=(6, max(2.0, 0.25 * len(share) + 1)))
    ax = fig.subplots()
    if share.max() == 0:
        ax.text(0.5, 0.5, "no missing values", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        ax.barh(share.index[::-1], share.values[::-1], color="#5c80bc")
        ax.set_xlabel("share missing")
    ax.set_title("Missing values")
    return fig


#: A numeric feature of whole numbers with at most this many levels is drawn with one bar per level.
DISCRETE_LEVELS = 20


def feature_distributions(df: pd.DataFrame, y: Sequence[int], columns: Sequence[str], *, ncols: int = 4) -> Figure:
    """Per-feature distributions by class: category shares, one bar per level for whole numbers
    with at most :data:`DISCRETE_LEVELS` levels (the share of each class's rows), else density
    histograms."""
    y = np.asarray(y).astype(int)
    nrows = int(np.ceil(len(columns) / ncols)) or 1
    fig = Figure(figsize=(3.2 * ncols, 2.4 * nrows + 0.3), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, col in zip(axes, columns):
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s):  # object or str
            shares = class_shares(s, y)
            if shares.empty:  # every value missing in these rows (pandas' bar plot fails on no bars)
                ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                top = shares.max(axis=1).sort_values(ascending=False).index[:10]
                shares.loc[top].plot.bar(ax=ax, color=["#9aa5b1", "#d1495b"], legend=False, width=0.8)
                ax.tick_params(axis="x", labelsize=6)
        else:
            values = s.to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            levels = np.unique(finite)
            # whole numbers with few levels (counts, codes, ratings): one bar per level, so that
            # neighbouring levels with different positive rates are not merged into one bin
            discrete = (
                0 < len(levels) <= DISCRETE_LEVELS
                and bool(np.all(levels == np.round(levels)))
                and levels[-1] - levels[0] <= 3 * DISCRETE_LEVELS
            )
            bins = (
                np.arange(levels[0] - 0.5, levels[-1] + 1.0)
                if discrete  # unit bins centred on the whole numbers
                else np.histogram_bin_edges(finite, bins=min(20, max(2, len(levels))))
            )
            for cls, color in ((0, "#9aa5b1"), (1, "#d1495b")):
                v = values[(y == cls) & np.isfinite(values)]
                ax.hist(v, bins=bins, density=True, alpha=0.6, color=color, rwidth=0.9 if discrete else None)
            ax.set_ylabel("share of class" if discrete else "density", fontsize=6)
        ax.set_title(col, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes[len(columns) :]:
        ax.set_axis_off()
    fig.legend(["negative", "positive"], loc="outside upper right", ncols=2, fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------
# Model comparison
# --------------------------------------------------------------------------------------------


def _styles(n: int) -> list[dict[str, Any]]:
    """Line colours (and, beyond 20 lines, dash patterns) that tell ``n`` curves apart: the default
    cycle repeats after ten, so 12 strategies shared colours."""
    if n <= 10:
        return [{"color": f"C{i}"} for i in range(n)]
    from matplotlib import colormaps

    colors = colormaps["tab20"].colors
    return [{"color": colors[i % 20], "ls": ("-", "--", ":")[i // 20 % 3]} for i in range(n)]


def pr_curves(curves: Curves, *, prevalence: float | None = None, pooled: bool = True) -> Figure:
    """Precision-recall curves of several models; the legend shows each curve's average precision.

    With ``pooled`` (out-of-fold predictions of several folds and repeats, pooled into one curve)
    the legend says "pooled AP": it is not the mean of the per-fold APs the tables compare and
    choose by, and it can rank models differently.
    """
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    label = "pooled AP" if pooled else "AP"
    for (name, (y, s)), style in zip(curves.items(), _styles(len(curves))):
        p, r, _ = pr_points(np.asarray(y), np.asarray(s))
        # steps: precision holds from one threshold's recall to the next, as average precision sums
        # it (a straight line would draw, for a constant score, a slope from precision 1 at recall
        # 0 that no threshold reaches)
        ax.plot(
            r, p, label=f"{name} ({label} {average_precision_score(y, s):.3f})", lw=1.2, drawstyle="steps-post", **style
        )
    if prevalence is not None:
        ax.axhline(prevalence, color="grey", ls=":", lw=1, label=f"prevalence {prevalence:.3f}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1), title="Precision-recall (out-of-fold)")
    ax.legend(fontsize=7)
    return fig


def roc_curves(curves: Curves, *, pooled: bool = True) -> Figure:
    """ROC curves of several models; the legend shows ROC AUC ("pooled AUC" with ``pooled``, see
    :func:`pr_curves`)."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    label = "pooled AUC" if pooled else "AUC"
    for (name, (y, s)), style in zip(curves.items(), _styles(len(curves))):
        fpr, tpr, _ = roc_points(np.asarray(y), np.asarray(s))
        ax.plot(fpr, tpr, label=f"{name} ({label} {roc_auc_score(y, s):.3f})", lw=1.2, **style)
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (out-of-fold)")
    ax.legend(fontsize=7)
    return fig


def calibration_curves(curves: Curves, *, n_bins: int = 10) -> Figure:
    """Reliability diagrams (quantile bins) of several models."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    top = 0.0
    for (name, (y, s)), style in zip(curves.items(), _styles(len(curves))):
        prob_true, prob_pred = calibration_curve(y, s, n_bins=n_bins, strategy="quantile")
        ax.plot(prob_pred, prob_true, marker="o", ms=3, lw=1.2, label=name, **style)
        top = max(top, float(np.max(prob_pred)), float(np.max(prob_true)))
    top = min(1.0, top * 1.05 + 0.01)
    ax.plot([0, top], [0, top], color="grey", ls=":", lw=1)
    ax.set(xlabel="mean predicted probability", ylabel="fraction of positives", title="Calibration (out-of-fold)")
    ax.legend(fontsize=7)
    return fig


def score_intervals(summary: pd.DataFrame, *, metric: str) -> Figure:
    """Mean and corrected 95 % CI of a metric per model (rows of :func:`imbalance_lab.evaluation.summarize`)."""
    s = summary.sort_values(f"{metric}_mean")
    fig = Figure(figsize=(5, 0.45 * len(s) + 1.2))
    ax = fig.subplots()
    mean = s[f"{metric}_mean"].to_numpy()
    err = np.vstack([mean - s[f"{metric}_ci_low"].to_numpy(), s[f"{metric}_ci_high"].to_numpy() - mean])
    ax.errorbar(mean, np.arange(len(s)), xerr=np.nan_to_num(err), fmt="o", capsize=3, color="#30638e")
    ax.set_yticks(np.arange(len(s)), s.index)
    ax.set(xlabel=f"{metric} (mean, corrected 95 % CI)", title=f"{metric} by model")
    return fig


def pareto_front(cost: Sequence[float], score: Sequence[float], *, lower_is_better: bool = False) -> np.ndarray:
    """Boolean mask of the points no other point beats on both lower cost and a better score
    (higher, or lower with ``lower_is_better``: Brier score, log loss)."""
    cost, score = np.asarray(cost, float), np.asarray(score, float)
    if lower_is_better:
        score = -score
    mask = np.ones(len(cost), bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (score >= score[i]) & ((cost < cost[i]) | (score > score[i]))
        mask[i] = not dominated.any()
    return mask


def cost_performance(
    names: Sequence[str],
    seconds: Sequence[float],
    score: Sequence[float],
    *,
    metric: str,
    as_good: Sequence[bool] | None = None,
) -> Figure:
    """Score against fit time (log scale) with the Pareto front (for a metric in
    :data:`imbalance_lab.evaluation.LOWER_IS_BETTER`, lower scores are better); ``as_good``
    rings the models statistically indistinguishable from the best."""
    seconds, score = np.asarray(seconds, float), np.asarray(score, float)
    front = pareto_front(seconds, score, lower_is_better=metric in LOWER_IS_BETTER)
    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    ax.scatter(seconds, score, color=np.where(front, "#d1495b", "#9aa5b1"), zorder=3)
    order = np.argsort(seconds[front])
    ax.plot(seconds[front][order], score[front][order], color="#d1495b", lw=1, ls="--", label="Pareto front")
    if as_good is not None:
        good = np.asarray(as_good, bool)
        ax.scatter(
            seconds[good], score[good], s=160, facecolors="none", edgecolors="#30638e", label="as good as the best"
        )
    for n, x, yv in zip(names, seconds, score):
        ax.annotate(n, (x, yv), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set(xlabel="fit seconds per fold (measured)", ylabel=f"{metric} (mean)", title="Cost and performance")
    ax.legend(fontsize=7)
    return fig


def learning_curve(
    train_sizes: Sequence[int], train_scores: np.ndarray, val_scores: np.ndarray, *, metric: str, name: str
) -> Figure:
    """Training and validation score by training size (mean and sd band over folds)."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    for scores, label, color in ((train_scores, "training", "#30638e"), (val_scores, "validation", "#d1495b")):
        m, sd = scores.mean(axis=1), scores.std(axis=1)
        ax.plot(train_sizes, m, marker="o", color=color, label=label)
        ax.fill_between(train_sizes, m - sd, m + sd, color=color, alpha=0.2)
    ax.set(xlabel="training rows", ylabel=metric, title=f"Learning curve: {name}")
    ax.legend()
    return fig


def ratio_sweep(sweep: pd.DataFrame, *, metric: str, name: str, baseline: float | None = None) -> Figure:
    """Mean and corrected CI of a metric against the resampling ratio (index of ``sweep``)."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    x = np.asarray(sweep.index, dtype=float)
    ax.plot(x, sweep[f"{metric}_mean"], marker="o", color="#30638e", label=name)
    ax.fill_between(x, sweep[f"{metric}_ci_low"], sweep[f"{metric}_ci_high"], color="#30638e", alpha=0.2)
    if baseline is not None:
        ax.axhline(baseline, color="grey", ls=":", label="no resampling")
    ax.set_xscale("log")
    ax.set(xlabel="sampling_strategy (minority/majority after resampling)", ylabel=metric, title=f"Ratio sweep: {name}")
    ax.legend(fontsize=7)
    return fig


def importances(table: pd.DataFrame, *, top: int = 20) -> Figure:
    """Horizontal bars of the ``top`` features by ``mean`` importance with ``sd`` error bars."""
    t = table.sort_values("mean", ascending=False).head(top).iloc[::-1]
    fig = Figure(figsize=(6, 0.3 * len(t) + 1.2))
    ax = fig.subplots()
    ax.barh(t["feature"], t["mean"], xerr=t["sd"], color="#30638e")
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="drop in average precision when shuffled", title="Permutation importance (test set)")
    ax.tick_params(axis="y", labelsize=7)
    return fig


# --------------------------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------------------------


def drift_figure(table: pd.DataFrame, *, max_features: int = 30) -> Figure:
    """The PSI and the distance per feature (and of the model's scores) with their thresholds.

    Parameters
    ----------
    table : DataFrame
        From :func:`imbalance_lab.serving.drift.drift_table` (drifted rows first, then by how far
        past a threshold they are); its ``attrs`` hold the thresholds.
    max_features : int
        Only the first rows of the table are shown when there are more.

    Returns
    -------
    matplotlib.figure.Figure
    """
    psi_threshold = float(table.attrs.get("psi_threshold", 0.2))
    distance_threshold = float(table.attrs.get("distance_threshold", 0.1))
    shown = table.head(max_features).iloc[::-1]
    fig = Figure(figsize=(10.0, 1.4 + 0.28 * max(len(shown), 1)), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(shown))
    colors = ["#c0392b" if d else "#4c72b0" for d in shown["drifted"]]
    labels = [f"{f} ({'W' if d == 'wasserstein' else 'JS'})" for f, d in zip(shown["feature"], shown["distance_name"])]
    panels = (
        ("psi", psi_threshold, "population stability index (PSI)", axes[0]),
        ("distance", distance_threshold, "distance: Wasserstein (W, in sd) or Jensen-Shannon (JS)", axes[1]),
    )
    for column, threshold, xlabel, ax in panels:
        values = shown[column].fillna(0.0).to_numpy(dtype="float64")
        noise = shown[f"{column}_noise"].to_numpy(dtype="float64")
        ax.barh(y, values, color=colors)
        ax.scatter(noise, y, marker="|", color="black", s=60, label="noise allowance", zorder=3)
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
        ax.set_xscale("symlog", linthresh=threshold)
        ax.set_xlabel(xlabel)
        ax.legend(loc="lower right", fontsize="small")
    axes[0].set_yticks(y, labels)
    n_drifted = int(table["drifted"].sum())
    more = f" (first {len(shown)} of {len(table)})" if len(table) > len(shown) else ""
    fig.suptitle(f"Drift per feature{more}: {n_drifted} drifted (red); a row drifts past a threshold and its allowance")
    return fig
