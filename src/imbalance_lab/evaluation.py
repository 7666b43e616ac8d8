"""Cross-validation on the stored folds, imbalance-aware metrics, thresholds and paired tests.

The decision threshold used for the threshold metrics of a validation fold is chosen on the
out-of-fold predictions of the *other* folds of the same repeat (cross-fitted), so no fold is
scored at a threshold tuned on its own labels.

Confidence intervals and paired comparisons use the corrected resampled t statistic of
Nadeau and Bengio (2003): the variance of the J = n_splits x n_repeats fold scores is inflated
by ``1/J + n_test/n_train`` because the training sets overlap.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .data import iter_splits

log = logging.getLogger(__name__)

#: Threshold-free metrics a learning curve can show, with their scikit-learn scorer names.
CURVE_METRICS = {"average_precision": "average_precision", "roc_auc": "roc_auc", "brier": "neg_brier_score",
                 "log_loss": "neg_log_loss"}
#: Metrics where lower is better.
LOWER_IS_BETTER = frozenset({"brier", "log_loss"})
EPS = 1e-15


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


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
    thresholds, tp, fp, pos, neg = _cumulative_counts(y_true, y_score)
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
            raise ValueError(f"no threshold reaches precision {target}; lower the target")
        return float(thresholds[reached[-1]])
    raise ValueError(f"unknown threshold objective {objective!r}")


def capture_at_k(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> float:
    """Share of all positives found among the top ``k`` scored rows.

    ``k`` below 1 is a fraction of the rows, ``k`` of 1 or more a count. Ties at the cut are
    broken by row order (stable sort), so the count is exact.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    n_top = int(round(k * len(y_true))) if k < 1 else int(k)
    n_top = min(max(n_top, 1), len(y_true))
    top = np.argsort(-y_score, kind="mergesort")[:n_top]
    positives = y_true.sum()
    return float(y_true[top].sum() / positives) if positives else float("nan")


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


def score_predictions(
    y_true: Sequence[int], y_score: Sequence[float], *, threshold: float, top_k_fraction: float
) -> dict[str, float]:
    """All metrics of one set of predictions.

    Returns
    -------
    dict
        ``average_precision``, ``roc_auc``, ``brier``, ``log_loss``, ``capture_at_k`` (share
        of positives in the top ``top_k_fraction`` of scores), ``threshold`` and the threshold
        metrics of :func:`threshold_metrics` at ``score >= threshold``.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.clip(np.asarray(y_score, dtype=float), 0.0, 1.0)
    both = len(np.unique(y_true)) == 2
    out = {
        "average_precision": float(average_precision_score(y_true, y_score)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(y_true, y_score)) if both else float("nan"),
        "brier": float(brier_score_loss(y_true, y_score)),
        "log_loss": float(log_loss(y_true, np.clip(y_score, EPS, 1 - EPS), labels=[0, 1])),
        "capture_at_k": capture_at_k(y_true, y_score, k=top_k_fraction),
        "threshold": float(threshold),
    }
    out.update(threshold_metrics(y_true, (y_score >= threshold).astype(int)))
    return out


# --------------------------------------------------------------------------------------------
# Cross-validation
# --------------------------------------------------------------------------------------------


@dataclass
class CVResult:
    """What :func:`cross_validate` returns.

    Attributes
    ----------
    scores : DataFrame
        One row per (repeat, fold): every metric. Deterministic for given params and seed.
    oof : DataFrame
        Out-of-fold scores: columns ``row``, ``repeat``, ``fold``, ``y_true``, ``y_score``.
    timings : DataFrame
        Measured durations per (repeat, fold): ``fit_seconds``, ``predict_seconds``.
    """

    scores: pd.DataFrame
    oof: pd.DataFrame
    timings: pd.DataFrame


def _fit_predict(estimator: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, val: np.ndarray) -> tuple[np.ndarray, float, float]:
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        model = clone(estimator).fit(X.iloc[train], y[train])
        t1 = time.perf_counter()
        proba = model.predict_proba(X.iloc[val])[:, 1]
        t2 = time.perf_counter()
    return proba, t1 - t0, t2 - t1


def cross_validate(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    threshold_objective: str = "f1",
    top_k_fraction: float = 0.1,
    n_jobs: int = 1,
    desc: str | None = None,
    fit_predict: Callable[..., tuple[np.ndarray, float, float]] = _fit_predict,
) -> CVResult:
    """Fit and score an estimator on every stored fold.

    Parameters
    ----------
    estimator : estimator
        Unfitted (imblearn or sklearn) pipeline; cloned for each fold, so preprocessing and
        resampling are fitted on the training part only.
    X, y : DataFrame, array
        Training rows, aligned with ``folds``.
    folds : DataFrame
        The fold assignment from :func:`imbalance_lab.data.make_folds`.
    threshold_objective : str
        Objective of :func:`choose_threshold`, applied to the other folds' predictions.
    top_k_fraction : float
        The k of ``capture_at_k``.
    n_jobs : int
        Folds fitted in parallel (processes); each fit runs with one BLAS/OpenMP thread.
    desc : str, optional
        Label of the progress bar.
    fit_predict : callable
        ``fit_predict(estimator, X, y, train, val) -> (proba, fit_seconds, predict_seconds)``;
        replaceable for special fitting (early stopping, pruning).
    """
    splits = list(iter_splits(folds))
    jobs = (delayed(fit_predict)(estimator, X, y, train, val) for _, _, train, val in splits)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    results = list(tqdm(parallel(jobs), total=len(splits), desc=desc or "folds", leave=False, mininterval=1.0))

    oof_rows, timing_rows = [], []
    for (r, k, _, val), (proba, fit_s, pred_s) in zip(splits, results):
        oof_rows.append(pd.DataFrame({"row": val, "repeat": r, "fold": k, "y_true": y[val], "y_score": proba}))
        timing_rows.append({"repeat": r, "fold": k, "fit_seconds": fit_s, "predict_seconds": pred_s})
    oof = pd.concat(oof_rows, ignore_index=True)

    score_rows = []
    for (r, k, _, _) in splits:
        same_repeat = oof["repeat"] == r
        others = oof[same_repeat & (oof["fold"] != k)]
        mine = oof[same_repeat & (oof["fold"] == k)]
        threshold = choose_threshold(others["y_true"], others["y_score"], objective=threshold_objective)
        metrics = score_predictions(mine["y_true"], mine["y_score"], threshold=threshold, top_k_fraction=top_k_fraction)
        score_rows.append({"repeat": r, "fold": k, **metrics})
    return CVResult(scores=pd.DataFrame(score_rows), oof=oof, timings=pd.DataFrame(timing_rows))


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def fold_size_ratio(folds: pd.DataFrame) -> float:
    """``n_test / n_train`` of one fold of the assignment (for the corrected variance)."""
    n_splits = int(folds.iloc[:, 0].max()) + 1
    return 1.0 / (n_splits - 1)


def corrected_ci(values: Sequence[float], *, ratio: float, confidence: float = 0.95) -> tuple[float, float, float, float]:
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


# --------------------------------------------------------------------------------------------
# Several models
# --------------------------------------------------------------------------------------------


def cross_validate_models(
    pipelines: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    threshold_objective: str = "f1",
    top_k_fraction: float = 0.1,
    n_jobs: int = 1,
) -> CVResult:
    """Run :func:`cross_validate` for every named pipeline; results get a ``model`` column."""
    parts = {}
    for name, pipe in pipelines.items():
        log.info("cross-validating %s", name)
        parts[name] = cross_validate(
            pipe, X, y, folds, threshold_objective=threshold_objective, top_k_fraction=top_k_fraction, n_jobs=n_jobs, desc=name
        )

    def stack(attr: str) -> pd.DataFrame:
        return pd.concat([getattr(r, attr).assign(model=n) for n, r in parts.items()], ignore_index=True)

    scores, oof, timings = stack("scores"), stack("oof"), stack("timings")
    first = ["model", "repeat", "fold"]
    return CVResult(
        scores=scores[first + [c for c in scores.columns if c not in first]],
        oof=oof[["model"] + [c for c in oof.columns if c != "model"]],
        timings=timings[first + [c for c in timings.columns if c not in first]],
    )


def cheapest_as_good(comparison: pd.DataFrame, timings: pd.DataFrame, *, best: str) -> str:
    """The model with the lowest mean fit time among the best and those indistinguishable from it.

    Parameters
    ----------
    comparison : DataFrame
        :func:`compare_with` against ``best``.
    timings : DataFrame
        Measured ``fit_seconds`` per model and fold.
    """
    candidates = [best] + list(comparison.index[comparison["verdict"] == "indistinguishable"])
    fit = timings.groupby("model")["fit_seconds"].mean()
    return str(fit.loc[candidates].idxmin())


def learning_curve(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    sizes: Sequence[float],
    metric: str = "average_precision",
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training and validation scores by training size on the first repeat's folds.

    Returns
    -------
    (train_sizes, train_scores, validation_scores)
        Sizes in rows; scores with one column per fold.
    """
    from sklearn.model_selection import learning_curve as sk_learning_curve

    if metric not in CURVE_METRICS:
        raise ValueError(f"learning curves support {sorted(CURVE_METRICS)}, not {metric!r}")
    splits = [(tr, va) for r, _, tr, va in iter_splits(folds) if r == 0]
    scoring = CURVE_METRICS[metric]
    with threadpool_limits(limits=1):
        sizes_abs, train_scores, val_scores = sk_learning_curve(
            estimator, X, y, cv=splits, train_sizes=list(sizes), scoring=scoring, n_jobs=n_jobs, shuffle=False
        )
    if scoring.startswith("neg_"):
        train_scores, val_scores = -train_scores, -val_scores
    return sizes_abs, train_scores, val_scores


def scores_at_threshold(oof: pd.DataFrame, *, threshold: float) -> pd.DataFrame:
    """Threshold metrics of out-of-fold predictions at a fixed threshold, per model and fold.

    Parameters
    ----------
    oof : DataFrame
        ``model``, ``repeat``, ``fold``, ``y_true``, ``y_score`` (as in :class:`CVResult`).
    threshold : float
        Predict positive when ``score >= threshold``.

    Returns
    -------
    DataFrame
        ``model``, ``repeat``, ``fold`` and the metrics of :func:`threshold_metrics`.
    """
    rows = []
    for (model, r, k), g in oof.groupby(["model", "repeat", "fold"], sort=False):
        pred = (g["y_score"].to_numpy() >= threshold).astype(int)
        rows.append({"model": model, "repeat": r, "fold": k, **threshold_metrics(g["y_true"].to_numpy(), pred)})
    return pd.DataFrame(rows)


def bootstrap_ci(
    y_true: Sequence[int],
    y_score: Sequence[float],
    metric: Callable[[np.ndarray, np.ndarray], float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Point estimate and stratified percentile bootstrap interval of a metric.

    Positives and negatives are resampled separately (with replacement), so every replicate
    keeps the observed prevalence and has both classes.

    Returns
    -------
    (estimate, low, high)
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    pos, neg = np.flatnonzero(y_true == 1), np.flatnonzero(y_true == 0)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        values[b] = metric(y_true[idx], y_score[idx])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(metric(y_true, y_score)), float(low), float(high)


def top_k(y_true: Sequence[int], y_score: Sequence[float], *, k: float) -> dict[str, float]:
    """Capture (share of all positives) and lift (precision over prevalence) in the top ``k``.

    ``k`` below 1 is a fraction of the rows, 1 or more a count.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    n_top = int(round(k * len(y_true))) if k < 1 else int(k)
    n_top = min(max(n_top, 1), len(y_true))
    top = np.argsort(-y_score, kind="mergesort")[:n_top]
    precision = float(y_true[top].mean())
    prevalence = float(y_true.mean())
    return {"rows": n_top, "positives": int(y_true[top].sum()), "capture": capture_at_k(y_true, y_score, k=k),
            "precision": precision, "lift": precision / prevalence if prevalence else float("nan")}
