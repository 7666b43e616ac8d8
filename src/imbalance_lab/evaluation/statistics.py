"""Paired statistics of fold scores and bootstrap intervals of test-set metrics.

Confidence intervals and paired comparisons use the corrected resampled t statistic of
Nadeau and Bengio (2003): the variance of the J = n_splits x n_repeats fold scores is inflated
by ``1/J + n_test/n_train`` because the training sets overlap. Several comparisons are
adjusted with Holm's step-down method. Test-set intervals are stratified BCa bootstrap
intervals; average precision and ROC AUC are computed on each resample from how often it holds
each row (:class:`CountedMetric`), the same values as scikit-learn's on the resampled rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from scipy.integrate import trapezoid
from sklearn.metrics import average_precision_score, roc_auc_score

from .metrics import LOWER_IS_BETTER


def fold_size_ratio(folds: pd.DataFrame) -> float:
    """``n_test / n_train`` of one fold of the assignment (for the corrected variance)."""
    n_splits = int(folds.iloc[:, 0].max()) + 1
    return 1.0 / (n_splits - 1)


def corrected_ci(
    values: Sequence[float], *, ratio: float, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """Mean, sd and corrected t confidence interval of fold scores.

    Parameters
    ----------
    values : array-like
        The J fold scores.
    ratio : float
        ``n_test / n_train`` (see :func:`fold_size_ratio`).
    confidence : float
        Confidence level.

    Returns
    -------
    (mean, sd, low, high)
    """
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    j = len(v)
    mean = float(v.mean()) if j else float("nan")
    if j < 2:
        return mean, float("nan"), float("nan"), float("nan")
    sd = float(v.std(ddof=1))
    half = stats.t.ppf(0.5 + confidence / 2, j - 1) * np.sqrt((1.0 / j + ratio) * sd**2)
    return mean, sd, float(mean - half), float(mean + half)


def corrected_ttest(a: Sequence[float], b: Sequence[float], *, ratio: float) -> tuple[float, float]:
    """Corrected resampled paired t-test (Nadeau and Bengio, 2003) of ``a - b``.

    Parameters
    ----------
    a, b : array-like
        Paired fold scores (same folds, same order).
    ratio : float
        ``n_test / n_train``.

    Returns
    -------
    (t, p)
        The statistic and the two-sided p-value with J - 1 degrees of freedom.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    j = len(d)
    if j < 2:
        raise ValueError("the corrected t-test needs at least two paired scores")
    mean, var = d.mean(), d.var(ddof=1)
    if var == 0:
        return (0.0, 1.0) if mean == 0 else (float(np.sign(mean) * np.inf), 0.0)
    t = mean / np.sqrt((1.0 / j + ratio) * var)
    p = 2 * stats.t.sf(abs(t), j - 1)
    return float(t), float(p)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of p-values (family-wise error control).

    Returns
    -------
    ndarray
        Adjusted p-values in the input order.
    """
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def summarize(scores: pd.DataFrame, *, metrics: Sequence[str], ratio: float, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, sd and corrected CI of each metric, per model.

    Parameters
    ----------
    scores : DataFrame
        Fold scores with a ``model`` column (or any grouping column named ``model``).
    metrics : list of str
        Metric columns to summarise.

    Returns
    -------
    DataFrame
        Index ``model``; columns ``<metric>_mean``, ``_sd``, ``_ci_low``, ``_ci_high``.
    """
    rows = []
    for model, group in scores.groupby("model", sort=False):
        row: dict[str, Any] = {"model": model}
        for m in metrics:
            mean, sd, lo, hi = corrected_ci(group[m], ratio=ratio, confidence=confidence)
            row.update({f"{m}_mean": mean, f"{m}_sd": sd, f"{m}_ci_low": lo, f"{m}_ci_high": hi})
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def compare_with(
    scores: pd.DataFrame, *, reference: str, metric: str, ratio: float, alpha: float = 0.05
) -> pd.DataFrame:
    """Compare every model with a reference model on paired fold scores.

    Returns
    -------
    DataFrame
        Index ``model``: ``difference`` (model minus reference, in the metric's direction
        "higher is better" after sign flip for losses), ``t``, ``p_value``, ``p_holm`` and
        ``verdict`` ("better", "worse" or "indistinguishable" at ``alpha`` after Holm).
    """
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ref = scores[scores["model"] == reference].sort_values(["repeat", "fold"])[metric].to_numpy()
    rows = []
    for model, group in scores.groupby("model", sort=False):
        if model == reference:
            continue
        mine = group.sort_values(["repeat", "fold"])[metric].to_numpy()
        t, p = corrected_ttest(sign * mine, sign * ref, ratio=ratio)
        rows.append({"model": model, "difference": float(sign * (mine - ref).mean()), "t": t, "p_value": p})
    table = pd.DataFrame(rows, columns=["model", "difference", "t", "p_value"])
    table["p_holm"] = holm(table["p_value"]) if len(table) else []
    table["verdict"] = np.where(
        table["p_holm"] >= alpha, "indistinguishable", np.where(table["difference"] > 0, "better", "worse")
    )
    return table.set_index("model")


def best_model(summary: pd.DataFrame, *, metric: str) -> str:
    """The model with the best mean of ``metric`` (ties: first in order)."""
    col = summary[f"{metric}_mean"]
    return str(col.idxmin() if metric in LOWER_IS_BETTER else col.idxmax())


class CountedMetric:
    """Average precision or ROC AUC of multisets of some scored rows (bootstrap replicates,
    jackknife samples), each given by how many times it holds each row.

    The rows are sorted by score once; a multiset's true and false positives above each distinct
    score are then sums and running sums of its counts, in time linear in the rows. They are
    whole numbers, so they equal scikit-learn's (which sorts the multiset's rows each time), and
    so do the metric's values, bit for bit, computed from them as scikit-learn 1.9 computes them.
    Measured here: on the default data's 1165 test rows, 1000 replicates and the jackknife took
    3.3 s (average precision) and 6.4 s (ROC AUC) with scikit-learn's functions, 0.14 and 0.17 s
    with this; on 2 million rows (evaluate at 1e7) a replicate takes 0.09 s against 0.7 and 0.95 s.

    Build it with :meth:`of`; call it with the counts (an int array, one count per row).
    """

    #: The metrics computed from counts: scikit-learn's function -> the curve it integrates.
    METRICS: ClassVar[dict[Callable[..., float], str]] = {
        average_precision_score: "precision_recall",
        roc_auc_score: "roc",
    }

    def __init__(self, metric: Callable[..., float], y_true: np.ndarray, y_score: np.ndarray) -> None:
        order = np.argsort(y_score, kind="stable")[::-1]
        self._order = order
        self._starts = np.r_[0, np.flatnonzero(np.diff(y_score[order])) + 1]
        self._positive = y_true[order] == 1
        self._metric, self._area = metric, self.METRICS[metric]
        self._y_true, self._y_score = y_true, y_score

    @classmethod
    def of(cls, metric: Callable[..., float], y_true: np.ndarray, y_score: np.ndarray) -> CountedMetric | None:
        """The counted form of ``metric`` on these rows, or None when there is none: another
        metric, labels other than 0 and 1, or a class without rows.

        Parameters
        ----------
        metric : callable
            scikit-learn's ``average_precision_score`` or ``roc_auc_score`` (the functions
            themselves; a wrapper of them is called on the rows).
        y_true : ndarray of int
        y_score : ndarray of float
            Finite scores (scikit-learn checks them when it computes the estimate).
        """
        if metric not in cls.METRICS or not np.all(np.isfinite(y_score)):
            return None
        labels = np.unique(y_true)
        if labels.size != 2 or labels[0] != 0 or labels[1] != 1:
            return None
        return cls(metric, y_true, y_score)

    def curve(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """False and true positives above each distinct score the multiset holds, highest score
        first (scikit-learn's ``confusion_matrix_at_thresholds``' ``fps`` and ``tps``)."""
        c = counts[self._order]
        rows = np.add.reduceat(c, self._starts)
        positives = np.add.reduceat(np.where(self._positive, c, 0), self._starts)
        held = rows > 0
        tps = np.cumsum(positives)[held].astype(np.float64)
        fps = np.cumsum(rows - positives)[held].astype(np.float64)
        return fps, tps

    def __call__(self, counts: np.ndarray) -> float:
        """The metric of the multiset that holds row ``i`` ``counts[i]`` times."""
        fps, tps = self.curve(counts)
        if tps.size == 0 or tps[-1] == 0 or fps[-1] == 0:  # a class without rows: scikit-learn's answer
            idx = np.repeat(np.arange(counts.size), counts)
            return float(self._metric(self._y_true[idx], self._y_score[idx]))
        if self._area == "precision_recall":  # precision_recall_curve, then the step integral
            precision = np.concatenate((np.flip(tps / (tps + fps)), [1.0]))
            recall = np.concatenate((np.flip(tps / tps[-1]), [0.0]))
            return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
        if fps.size > 2:  # roc_curve's drop_intermediate, then the trapezoids
            corners = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
            fps, tps = fps[corners], tps[corners]
        fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
        return float(trapezoid(tps / tps[-1], fps / fps[-1]))  # auc(fpr, tpr): fpr never decreases


#: Above this many rows the BCa acceleration comes from a grouped jackknife (this many groups,
#: each leaving out an equal share of the positives and of the negatives), not one per row.
JACKKNIFE_GROUPS = 500


def _jackknife(
    y_true: np.ndarray, y_score: np.ndarray, metric: Callable[[np.ndarray, np.ndarray], float], *, seed: int
) -> np.ndarray:
    """The metric with each row (or, above :data:`JACKKNIFE_GROUPS` rows, each group of rows) left out."""
    n = len(y_true)
    if n <= JACKKNIFE_GROUPS:
        groups = np.arange(n)
    else:  # positives and negatives dealt to the groups in turn, in a seeded order
        rng = np.random.default_rng([seed, 1])
        groups = np.empty(n, dtype=int)
        offset = 0
        for idx in (np.flatnonzero(y_true == 1), np.flatnonzero(y_true == 0)):
            groups[rng.permutation(idx)] = (np.arange(len(idx)) + offset) % JACKKNIFE_GROUPS
            offset += len(idx)
    counted = CountedMetric.of(metric, y_true, y_score)
    if counted is not None:
        return np.array([counted((groups != g).astype(np.int64)) for g in np.unique(groups)])
    return np.array([metric(y_true[groups != g], y_score[groups != g]) for g in np.unique(groups)])


def bca_levels(
    replicates: Sequence[float], estimate: float, jackknife: Sequence[float], *, confidence: float = 0.95
) -> tuple[float, float]:
    """The quantile levels of the bootstrap replicates that bound a bias-corrected and
    accelerated (BCa) interval (Efron, 1987), as :func:`scipy.stats.bootstrap` computes them.

    The bias correction ``z0`` is the normal quantile of the share of replicates below the
    estimate (ties count half); the acceleration ``a`` comes from the jackknife values. When every
    replicate lies on one side of the estimate the percentile levels are returned.

    Returns
    -------
    (float, float)
        Lower and upper level, in (0, 1).
    """
    values = np.asarray(replicates, dtype=float)
    alpha = (1 - confidence) / 2
    share = (np.sum(values < estimate) + 0.5 * np.sum(values == estimate)) / len(values)
    if not 0 < share < 1:
        return alpha, 1 - alpha
    z0 = stats.norm.ppf(share)
    d = np.mean(jackknife) - np.asarray(jackknife, dtype=float)
    spread = 6.0 * np.sum(d**2) ** 1.5
    a = float(np.sum(d**3) / spread) if spread > 0 else 0.0
    z = z0 + stats.norm.ppf([alpha, 1 - alpha])
    low, high = stats.norm.cdf(z0 + z / (1 - a * z))
    return float(low), float(high)


def bootstrap_ci(
    y_true: Sequence[int],
    y_score: Sequence[float],
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "bca",
) -> tuple[float, float, float]:
    """Point estimate and stratified bootstrap interval of a metric.

    Positives and negatives are resampled separately (with replacement), so every replicate
    keeps the observed prevalence and has both classes. scikit-learn's
    ``average_precision_score`` and ``roc_auc_score`` are computed from how many times each row is
    in a replicate (:class:`CountedMetric`), without sorting it: the same values, 5 to 40 times
    faster (measured on 1165 to 2 million rows); any other ``metric`` is called on the
    replicate's rows.

    Parameters
    ----------
    method : {"bca", "percentile"}
        ``bca`` (default): bias-corrected and accelerated (:func:`bca_levels`, acceleration from
        a jackknife). Average precision's replicates sit mostly above the estimate (a resample
        repeats rows, which flatters it): the percentile interval, centred on them, was shifted
        upwards. ``percentile``: the quantiles of the replicates.

    Returns
    -------
    (estimate, low, high)
    """
    if method not in ("bca", "percentile"):
        raise ValueError(f"unknown bootstrap method {method!r}; use 'bca' or 'percentile'")
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    pos, neg = np.flatnonzero(y_true == 1), np.flatnonzero(y_true == 0)
    rng = np.random.default_rng(seed)
    counted = CountedMetric.of(metric, y_true, y_score)
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        if counted is None:
            values[b] = metric(y_true[idx], y_score[idx])
        else:
            values[b] = counted(np.bincount(idx, minlength=len(y_true)))
    estimate = float(metric(y_true, y_score))
    alpha = (1 - confidence) / 2
    levels = (
        (alpha, 1 - alpha)
        if method == "percentile"
        else bca_levels(values, estimate, _jackknife(y_true, y_score, metric, seed=seed), confidence=confidence)
    )
    low, high = np.quantile(values, levels)
    return estimate, float(low), float(high)
