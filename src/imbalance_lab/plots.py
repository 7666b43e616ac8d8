"""Matplotlib figures (object API, no global pyplot state) and DVC plot data files.

Figures are returned, so a notebook shows them and a stage saves them with :func:`save_figure`.
Curve data is written in dvclive's formats (``precision_recall``, ``roc``, ``calibration``)
so ``dvc plots show`` / ``dvc plots diff`` overlay runs and experiments. (The ``dvclive``
package itself costs ~3.4 s of import per notebook, so the few lines of its format are
written here.)
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from .files import write_bytes, write_json
from .params import LOWER_IS_BETTER

Curves = Mapping[str, tuple[Sequence[int], Sequence[float]]]

#: Precision-recall and ROC curves have a point per distinct score: hundreds of thousands on large
#: data (a 70 MB DVC plot file at a million rows, seconds to draw). Above this many points they
#: are thinned, for figures and plot files alike: first to the points where the curve turns
#: (scikit-learn's ``drop_intermediate``), then to this many points evenly spaced along the curve,
#: always keeping both ends. Smaller curves are kept whole.
MAX_CURVE_POINTS = 2000


def _spread(n: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most ``limit`` indices of ``range(n)``, evenly spaced, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _pr_points(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``precision_recall_curve``, thinned above :data:`MAX_CURVE_POINTS` thresholds."""
    p, r, t = precision_recall_curve(y_true, y_score)
    if len(t) <= MAX_CURVE_POINTS:
        return p, r, t
    p, r, t = precision_recall_curve(y_true, y_score, drop_intermediate=True)
    keep = _spread(len(t))  # the final (precision 1, recall 0) point has no threshold: kept apart
    return np.r_[p[keep], p[-1]], np.r_[r[keep], r[-1]], t[keep]


def _roc_points(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``roc_curve`` (intermediate points dropped), thinned above :data:`MAX_CURVE_POINTS` points."""
    fpr, tpr, t = roc_curve(y_true, y_score, drop_intermediate=True)
    keep = _spread(len(t))
    return fpr[keep], tpr[keep], t[keep]


def figure_png(fig: Figure) -> bytes:
    """A figure as PNG without volatile metadata (same figure, same bytes): the files
    :func:`save_figure` writes and the images a notebook shows."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Save a figure as PNG without volatile metadata (same figure, same bytes)."""
    return write_bytes(path, figure_png(fig))


# --------------------------------------------------------------------------------------------
# DVC plot data (dvclive formats)
# --------------------------------------------------------------------------------------------


def curve_data(kind: str, y_true: Sequence[int], y_score: Sequence[float], *, n_bins: int = 10) -> dict[str, Any]:
    """Curve points in dvclive's JSON format (thinned above :data:`MAX_CURVE_POINTS` points).

    Parameters
    ----------
    kind : {"precision_recall", "roc", "calibration"}
    y_true, y_score : array-like
    n_bins : int
        Bins of the calibration curve (quantile strategy).
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    if kind == "precision_recall":
        p, r, t = _pr_points(y_true, y_score)
        return {kind: [{"precision": a, "recall": b, "threshold": c} for a, b, c in zip(p, r, t)]}
    if kind == "roc":
        fpr, tpr, t = _roc_points(y_true, y_score)
        t = np.where(np.isinf(t), 1.0, t)
        return {kind: [{"fpr": a, "tpr": b, "threshold": c} for a, b, c in zip(fpr, tpr, t)]}
    if kind == "calibration":
        prob_true, prob_pred = calibration_curve(y_true, y_score, n_bins=n_bins, strategy="quantile")
        return {kind: [{"prob_true": a, "prob_pred": b} for a, b in zip(prob_true, prob_pred)]}
    raise ValueError(f"unknown curve kind {kind!r}")


def write_curves(directory: str | Path, y_true: Sequence[int], y_score: Sequence[float]) -> None:
    """Write ``precision_recall.json``, ``roc.json`` and ``calibration.json`` to a directory."""
    for kind in ("precision_recall", "roc", "calibration"):
        write_json(Path(directory) / f"{kind}.json", curve_data(kind, y_true, y_score), digits=6)


# --------------------------------------------------------------------------------------------
# Data profile
# --------------------------------------------------------------------------------------------


def class_shares(values: pd.Series, y: np.ndarray) -> pd.DataFrame:
    """Share of each category among the non-missing values of each class.

    The same table as ``pd.crosstab(values.astype(str), y, normalize="columns")`` with columns
    0 and 1 (rows: the values as text, sorted; missing values left out), computed on the distinct
    values instead of converting every cell to text: a second instead of a minute for the
    categorical columns of a million rows.
    """
    y = np.asarray(y).astype(int)
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True).startswith("mixed"):
        # values of several types: factorize would take 1, 1.0 and True for one value
        present = values.notna().to_numpy()
        return (pd.crosstab(values[present].astype(str).to_numpy(), y[present], normalize="columns")
                .reindex(columns=[0, 1], fill_value=0.0).rename_axis(index=None, columns=None))
    codes, uniques = pd.factorize(values, sort=False)
    texts = pd.Index(np.asarray(uniques, dtype=object)).astype(str)
    labels, names = pd.factorize(np.asarray(texts, dtype=object), sort=True)  # values spelled alike are one row
    present = codes >= 0
    rows = labels[codes[present]] if len(labels) else np.empty(0, dtype=int)
    counts = np.bincount(rows * 2 + y[present], minlength=2 * len(names)).reshape(len(names), 2)
    totals = counts.sum(axis=0)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    return pd.DataFrame(shares, index=pd.Index(np.asarray(names, dtype=object)), columns=[0, 1])


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
            discrete = (0 < len(levels) <= DISCRETE_LEVELS and bool(np.all(levels == np.round(levels)))
                        and levels[-1] - levels[0] <= 3 * DISCRETE_LEVELS)
            bins = (np.arange(levels[0] - 0.5, levels[-1] + 1.0) if discrete  # unit bins centred on the whole numbers
                    else np.histogram_bin_edges(finite, bins=min(20, max(2, len(levels)))))
            for cls, color in ((0, "#9aa5b1"), (1, "#d1495b")):
                v = values[(y == cls) & np.isfinite(values)]
                ax.hist(v, bins=bins, density=True, alpha=0.6, color=color, rwidth=0.9 if discrete else None)
            ax.set_ylabel("share of class" if discrete else "density", fontsize=6)
        ax.set_title(col, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes[len(columns):]:
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
        p, r, _ = _pr_points(np.asarray(y), np.asarray(s))
        # steps: precision holds from one threshold's recall to the next, as average precision sums
        # it (a straight line would draw, for a constant score, a slope from precision 1 at recall
        # 0 that no threshold reaches)
        ax.plot(r, p, label=f"{name} ({label} {average_precision_score(y, s):.3f})", lw=1.2,
                drawstyle="steps-post", **style)
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
        fpr, tpr, _ = _roc_points(np.asarray(y), np.asarray(s))
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
    """Mean and corrected 95 % CI of a metric per model (rows of :func:`evaluation.summarize`)."""
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


def cost_performance(names: Sequence[str], seconds: Sequence[float], score: Sequence[float], *, metric: str,
                     as_good: Sequence[bool] | None = None) -> Figure:
    """Score against fit time (log scale) with the Pareto front (for a metric in
    :data:`imbalance_lab.params.LOWER_IS_BETTER`, lower scores are better); ``as_good``
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
        ax.scatter(seconds[good], score[good], s=160, facecolors="none", edgecolors="#30638e", label="as good as the best")
    for n, x, yv in zip(names, seconds, score):
        ax.annotate(n, (x, yv), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set(xlabel="fit seconds per fold (measured)", ylabel=f"{metric} (mean)", title="Cost and performance")
    ax.legend(fontsize=7)
    return fig


def learning_curve(train_sizes: Sequence[int], train_scores: np.ndarray, val_scores: np.ndarray, *, metric: str, name: str) -> Figure:
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


def param_importances(study: Any, *, seed: int) -> Figure | None:
    """Optuna's hyperparameter-importance figure (fANOVA, seeded), or None when the complete
    trials' values do not vary: fANOVA then has no variance to attribute and fails ("zero total
    variance in all trees"), as it did when every trial of a leaking column scored 1.0.

    Parameters
    ----------
    study : optuna.Study
        With at least two parameters.
    seed : int
        fANOVA's random forest seed.
    """
    import optuna

    values = {t.value for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))}
    if len(values) < 2:
        return None
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return figure_of(optuna.visualization.matplotlib.plot_param_importances(study, evaluator=evaluator))


def tidy_parallel_coordinate(ax: Any, *, integer_params: Sequence[str] = ()) -> Figure:
    """The figure of :func:`optuna.visualization.matplotlib.plot_parallel_coordinate`, made
    readable: optuna draws an axis per parameter into a fixed 6.4-inch figure, each with the
    style's grid and, on log axes, labelled minor ticks, so labels of neighbouring axes overlap.

    The figure gets 1.1 inches per axis; each parameter's axis gets at most about five labels in
    small type (whole numbers for ``integer_params``; 1, 2, 5 per decade on a log axis spanning
    two decades or less, powers of ten on a wider one) and no grid of its own. Categorical axes
    keep optuna's ticks.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The Axes optuna returns.
    integer_params : sequence of str
        Names of the parameters that take whole numbers.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    fig = ax.figure
    names = [t.get_text() for t in ax.get_xticklabels()][1:]  # the first axis is the objective's
    params = [a for a in ax.get_shared_x_axes().get_siblings(ax) if a is not ax]
    # optuna moves each parameter's spine to its place along x: sort the axes by it
    params.sort(key=lambda a: a.spines["right"].get_position()[1])
    fig.set_size_inches(max(6.4, 1.5 + 1.1 * (len(params) + 1)), 4.8)
    for name, a in zip(names, params):
        a.grid(False)
        if a.get_yscale() == "log":
            low, high = a.get_ylim()
            a.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if np.log10(high / low) <= 2 else (1.0,)))
            a.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
            a.yaxis.set_minor_formatter(NullFormatter())
        elif not isinstance(a.yaxis.get_major_locator(), FixedLocator):  # categories keep optuna's ticks
            a.yaxis.set_major_locator(MaxNLocator(5, integer=name in integer_params))
        a.tick_params(axis="y", which="both", labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.tick_params(axis="x", labelsize=8)
    fig.subplots_adjust(bottom=0.22)
    return fig


def figure_of(axes: Any) -> Figure:
    """The figure of an Axes or an array of Axes (as returned by optuna's matplotlib plots)."""
    first = np.asarray(axes, dtype=object).ravel()[0]
    return first.figure


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


def write_confusion(path: str | Path, y_true: Sequence[int], y_pred: Sequence[int]) -> Path:
    """Actual/predicted pairs in dvclive's confusion-matrix format (``template: confusion``)."""
    pairs = np.column_stack([np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)]).astype(str)
    rows = [{"actual": a, "predicted": p} for a, p in pairs.tolist()]
    # the bytes of write_json(path, rows) (text only: nothing to round), without its per-value walk
    return write_bytes(path, (json.dumps(rows, indent=2, sort_keys=True) + "\n").encode())


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
