"""Headline numbers: the few values of a stage that its metrics file holds (the columns of
``dvc exp show``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: The metrics of the best model that ``metrics/cross_validate.json`` always holds (the columns
#: of ``dvc exp show``), with average precision's corrected interval.
HEADLINE_METRICS = ("average_precision", "roc_auc", "brier", "f1", "capture_at_k")


def headline(summary: pd.DataFrame, *, best: str, selection_metric: str) -> dict[str, Any]:
    """The cross-validation headline: the best model, the metric it was chosen by, its mean
    :data:`HEADLINE_METRICS`, average precision's corrected CI, and the selection metric's mean
    and CI when it is another metric (so the file always holds the number the choice was made by).

    Parameters
    ----------
    summary : DataFrame
        :func:`imbalance_lab.evaluation.summarize` output, indexed by model, with ``{metric}_mean/_ci_low/_ci_high``.
    best : str
        The chosen model (a row of ``summary``).
    selection_metric : str
        The metric it was chosen by.
    """
    out: dict[str, Any] = {"best_model": best, "selection_metric": selection_metric}
    for metric in dict.fromkeys((*HEADLINE_METRICS, selection_metric)):
        out[metric] = summary.loc[best, f"{metric}_mean"]
    for metric in dict.fromkeys(("average_precision", selection_metric)):
        out[f"{metric}_ci_low"] = summary.loc[best, f"{metric}_ci_low"]
        out[f"{metric}_ci_high"] = summary.loc[best, f"{metric}_ci_high"]
    return out
