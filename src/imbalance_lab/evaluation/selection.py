"""Choosing among models and strategies on their paired fold scores.

* :func:`cheapest_as_good`: the cheapest model family statistically as good as the best;
* :func:`primary_scores` and :func:`selection_column`: the fold scores each imbalance strategy is
  judged by (threshold metrics at the tuned threshold each strategy is deployed with);
* :func:`choose_strategy`: the simplest strategy not significantly worse than the best;
* :func:`ratio_grid` and :func:`ratio_sweep`: a resampler's fold scores across sampling ratios.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from ..data.schema import Schema
from ..errors import StrategyError
from ..modeling.pipelines import make_strategy_pipeline
from ..modeling.strategies import SIMPLICITY, STRATEGIES
from .cross_validation import cross_validate_models, scores_at_threshold
from .metrics import THRESHOLD_METRICS
from .statistics import best_model

log = logging.getLogger(__name__)

#: The columns of :func:`primary_scores` the imbalance stage summarises and can select by.
SUMMARY_METRICS = (
    "average_precision",
    "roc_auc",
    "brier",
    "log_loss",
    "balanced_accuracy",
    "geometric_mean",
    "mcc",
    "precision",
    "recall",
    "f1",
    "f1_at_half",
    "f1_tuned",
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


def selection_column(metric: str) -> str:
    """The column of :func:`primary_scores` that strategies are compared and chosen by on
    ``metric``: a threshold metric at the threshold tuned on the other folds' predictions
    (``<metric>_tuned``) for every strategy, since the evaluate stage deploys each strategy with
    a tuned threshold; a threshold-free metric as it is.

    Judged at 0.5, as :func:`primary_scores`' ``<metric>`` column judges all but
    ``threshold_moving``, a strategy that only moves the 0.5 cut towards a tuned one (most
    resamplers do) looks better than it does once deployed: on MCC, ``easy_ensemble`` was chosen
    at 0.5 and scored below ``none`` at the tuned threshold it is deployed with.
    """
    return f"{metric}_tuned" if metric in THRESHOLD_METRICS else metric


def primary_scores(tuned: pd.DataFrame, at_half: pd.DataFrame) -> pd.DataFrame:
    """The fold scores each strategy is judged by.

    Threshold-free metrics come from ``tuned`` (they do not depend on a threshold). Threshold
    metrics are taken at 0.5 (``at_half``) for every strategy except ``threshold_moving``,
    whose whole point is the threshold tuned on the other folds' predictions (``tuned``).

    Parameters
    ----------
    tuned : DataFrame
        :attr:`evaluation.CVResult.scores` (cross-fitted F1 threshold), with a ``model`` column
        holding strategy names.
    at_half : DataFrame
        :func:`evaluation.scores_at_threshold` at 0.5 for the same strategies and folds.
    """
    keys = ["model", "repeat", "fold"]
    merged = tuned.merge(at_half, on=keys, suffixes=("_tuned", "_at_half"), validate="one_to_one")
    out = merged[
        keys + [c for c in tuned.columns if c not in keys and c not in THRESHOLD_METRICS and c != "threshold"]
    ].copy()
    moving = merged["model"] == "threshold_moving"
    for m in THRESHOLD_METRICS:
        out[m] = np.where(moving, merged[f"{m}_tuned"], merged[f"{m}_at_half"])
        out[f"{m}_at_half"] = merged[f"{m}_at_half"]
        out[f"{m}_tuned"] = merged[f"{m}_tuned"]
    return out


def ratio_grid(natural_ratio: float, *, n: int = 5) -> list[float]:
    """Increasing ``sampling_strategy`` ratios for a sweep, from above the natural ratio to 1.0.

    The ``n`` values are evenly spaced on a log scale between ``natural_ratio`` (excluded) and
    1.0 (included), so the first one is clearly above the natural minority/majority ratio and
    stays reachable in every training fold, whose ratio varies a little around it.

    Parameters
    ----------
    natural_ratio : float
        The data's minority/majority ratio, in (0, 1).
    n : int
        Number of values.

    Returns
    -------
    list of float
    """
    if not 0 < natural_ratio < 1:
        raise ValueError(f"natural_ratio must be in (0, 1) (minority/majority), got {natural_ratio}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    grid = np.geomspace(natural_ratio, 1.0, n + 1)[1:]
    grid[-1] = 1.0
    return [float(v) for v in grid]


def ratio_sweep(
    strategy: str,
    model: str,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    grid: Sequence[float],
    seed: int,
    model_params: dict[str, Any] | None = None,
    sampling_strategy: float | str = "auto",
    k_neighbors: int = 5,
    compared: pd.DataFrame | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Fold scores of a resampling strategy at each ``sampling_strategy`` ratio of ``grid``, as
    the strategy comparison scores them (:func:`primary_scores`: threshold metrics at 0.5 and,
    in the ``_tuned`` columns the comparison chooses by (:func:`selection_column`), at the tuned
    threshold), so that the sweep's points and the comparison's baseline are on the same footing.

    A ratio equal to the one the strategy comparison used (``sampling_strategy``; "auto"
    balances the two classes, i.e. 1.0) is not fitted again: its rows are taken from
    ``compared`` (the comparison's fold scores, with a ``model`` column), which hold exactly what
    refitting would give (same pipeline, same folds, same seed). On large data that saves one
    resampled fit per fold.

    Parameters
    ----------
    strategy, model, schema, seed, model_params, k_neighbors
        As for :func:`make_strategy_pipeline`.
    X, y, folds
        The training rows and the stored folds.
    grid : sequence of float
        The ratios (see :func:`ratio_grid`).
    sampling_strategy : float or str
        What the comparison used.
    compared : DataFrame, optional
        The comparison's fold scores as judged (:func:`primary_scores` of its
        ``cross_validate_models`` result).
    n_jobs : int
        Folds fitted in parallel.

    Returns
    -------
    DataFrame
        The fold scores, ``model`` holding the ratio as ``f"{ratio:.6g}"``, in grid order.

    Raises
    ------
    StrategyError
        ``strategy`` is not a resampling strategy (the others ignore ``sampling_strategy``).
    """
    if strategy not in STRATEGIES or STRATEGIES[strategy].kind != "resampling":
        raise StrategyError(
            f"ratio_sweep: {strategy!r} is not a resampling strategy; sweep one of "
            f"{', '.join(n for n, s in STRATEGIES.items() if s.kind == 'resampling')}"
        )
    # "auto" balances the two classes (1.0); other names are refitted, never assumed equal to a ratio
    used = (
        1.0
        if sampling_strategy == "auto"
        else (float(sampling_strategy) if isinstance(sampling_strategy, Real) else None)
    )
    known = compared[compared["model"] == strategy] if compared is not None else pd.DataFrame()
    label = {r: f"{r:.6g}" for r in grid}
    if len(set(label.values())) < len(grid):
        raise ValueError(f"ratio_sweep: the grid has ratios equal to 6 significant digits: {list(grid)}")
    to_fit = {
        label[r]: make_strategy_pipeline(
            strategy, model, schema, seed=seed, model_params=model_params, sampling_strategy=r, k_neighbors=k_neighbors
        )
        for r in grid
        if not (len(known) and used is not None and abs(r - used) < 1e-12)
    }
    fitted = None
    if to_fit:
        cv = cross_validate_models(to_fit, X, y, folds, n_jobs=n_jobs)
        fitted = primary_scores(cv.scores, scores_at_threshold(cv.oof, threshold=0.5))
    parts = [fitted[fitted["model"] == label[r]] if label[r] in to_fit else known.assign(model=label[r]) for r in grid]
    return pd.concat(parts, ignore_index=True)


def choose_strategy(comparison_table: pd.DataFrame, summary: pd.DataFrame, *, metric: str, alpha: float) -> str:
    """The simplest strategy that is not significantly worse than the best.

    The best strategy is the one with the best mean of ``metric`` in ``summary``
    (:func:`imbalance_lab.evaluation.best_model`). A strategy is significantly worse when its
    corrected resampled t-test against the best, after Holm's adjustment, has ``p_holm <
    alpha`` and a negative difference. Among the best and the strategies not significantly
    worse, the simplest in :data:`SIMPLICITY` wins (none < threshold_moving < class_weight <
    random_under < random_over < smote < borderline_smote < adasyn < smote_tomek < smote_enn <
    balanced_random_forest < easy_ensemble): a more complex strategy has to earn its place by a
    significant gain.

    Parameters
    ----------
    comparison_table : DataFrame
        :func:`imbalance_lab.evaluation.compare_with` of the strategies' fold scores with
        ``reference`` = the best strategy (index: strategy; ``difference``, ``p_holm``).
    summary : DataFrame
        :func:`imbalance_lab.evaluation.summarize` of the same scores (index: strategy).
    metric : str
        The selection metric.
    alpha : float
        Significance level.

    Returns
    -------
    str
    """
    names = [str(m) for m in summary.index]
    unknown = [m for m in names if m not in SIMPLICITY]
    if unknown:
        raise ValueError(
            f"choose_strategy: {unknown} are not registered strategies; index the summary by strategy name"
        )
    best = best_model(summary, metric=metric)
    if best in comparison_table.index:
        raise ValueError(
            f"choose_strategy: the comparison must be against the best strategy {best!r} "
            "(evaluation.compare_with(..., reference=best))"
        )
    missing = [m for m in names if m != best and m not in comparison_table.index]
    if missing:
        raise ValueError(f"choose_strategy: strategies {missing} are missing from the comparison table")
    table = comparison_table.loc[[m for m in names if m != best]]
    worse = (table["p_holm"] < alpha) & (table["difference"] < 0)
    candidates = [best] + list(table.index[~worse])
    chosen = min(candidates, key=SIMPLICITY.index)
    log.info(
        "best strategy on %s: %s; not significantly worse (alpha=%g, Holm): %s; chosen (simplest): %s",
        metric,
        best,
        alpha,
        ", ".join(candidates[1:]) or "none",
        chosen,
    )
    return chosen
