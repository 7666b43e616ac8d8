"""Headlines: what each stage found, in a few numbers and one line.

The numbers are the stage's metrics file, the columns of ``dvc exp show``: twelve in all, named
so that they read without their file (``cv_ap``, ``test_ap``). The line is what a person reads
first: the stage's last line on the terminal and the top of its report. Everything else a stage
measures is in its plain outputs (summaries, per-fold scores, timings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..evaluation.metrics import METRICS


@dataclass(frozen=True)
class Headline:
    """A stage's headline.

    Attributes
    ----------
    line : str
        One line of plain text.
    metrics : dict
        The stage's metrics file (empty when the stage has none).
    """

    line: str
    metrics: dict[str, Any] = field(default_factory=dict)


def _label(metric: str) -> str:
    return METRICS[metric].label if metric in METRICS else metric


def _short(metric: str) -> str:
    return METRICS[metric].short if metric in METRICS else metric


def _interval(low: float, high: float) -> str:
    return f"[{low:.3f}, {high:.3f}]"


def prepare_headline(summary: dict[str, Any]) -> Headline:
    """The data: rows, positives, features and the split (the summary prepare writes)."""
    return Headline(
        f"{summary['rows']} rows, {summary['positives']} positives ({summary['prevalence']:.1%}), "
        f"{summary['features']} features; {summary['train_rows']} to train, {summary['test_rows']} to test"
        + (f" (out of time: from {summary['test_from']} on)" if summary.get("test_from") else "")
    )


def cross_validate_headline(summary: pd.DataFrame, *, best: str, metric: str) -> Headline:
    """The best family on the selection metric, with its corrected interval.

    Parameters
    ----------
    summary : DataFrame
        :func:`imbalance_lab.evaluation.summarize`, indexed by model.
    best : str
        The best model.
    metric : str
        The selection metric.
    """
    row = summary.loc[best]
    mean, low, high = row[f"{metric}_mean"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    return Headline(
        f"best {best}, {_label(metric)} {mean:.3f} {_interval(low, high)}",
        {"best_model": best, f"cv_{_short(metric)}": mean},
    )


def tune_headline(*, model: str, metric: str, best_value: float, complete: int, pruned: int) -> Headline:
    """The best trial's cross-validated value and how many trials ran."""
    return Headline(
        f"{model}: best {_label(metric)} {best_value:.3f} in {complete + pruned} trials ({pruned} pruned)",
        {f"tune_{_short(metric)}": best_value},
    )


def imbalance_headline(summary: pd.DataFrame, *, chosen: str, metric: str, column: str, p_value: float) -> Headline:
    """The chosen strategy's score against the baseline ``none``.

    Parameters
    ----------
    summary : DataFrame
        :func:`imbalance_lab.evaluation.summarize` of the strategies' fold scores.
    chosen : str
        The chosen strategy.
    metric : str
        ``imbalance.metric``.
    column : str
        The column strategies were compared by (:func:`imbalance_lab.evaluation.selection_column`).
    p_value : float
        Holm-corrected p-value of the chosen strategy against ``none`` (1 for ``none`` itself).
    """
    score, baseline = summary.loc[chosen, f"{column}_mean"], summary.loc["none", f"{column}_mean"]
    versus = "" if chosen == "none" else f" against {baseline:.3f} for none (p = {p_value:.2g})"
    return Headline(
        f"chosen {chosen}, {_label(metric)} {score:.3f}{versus}",
        {"strategy": chosen, f"strategy_{_short(metric)}": score},
    )


#: The test-set numbers of ``metrics/evaluate.json``, in the order of the columns of ``dvc exp
#: show`` (the first two stay visible in a 160-column terminal), with the key of each in the
#: evaluate stage's test metrics.
TEST_METRICS = {
    "test_ap": "average_precision",
    "test_roc_auc": "roc_auc",
    "test_ap_low": "average_precision_ci_low",
    "test_ap_high": "average_precision_ci_high",
    "test_precision": "precision",
    "test_recall": "recall",
    "threshold": "threshold",
}


def evaluate_headline(test: dict[str, Any]) -> Headline:
    """The test set, touched once: average precision with its interval, ROC AUC, and precision and
    recall at the chosen threshold.

    Parameters
    ----------
    test : dict
        The evaluate stage's test metrics (``average_precision`` and its ``_ci_low``/``_ci_high``,
        ``roc_auc``, ``precision``, ``recall``, ``threshold``).
    """
    metrics = {name: test[key] for name, key in TEST_METRICS.items()}
    at = (
        "no row is labelled positive"
        if test["threshold"] > 1
        else f"at threshold {test['threshold']:.3g}: precision {test['precision']:.3f}, recall {test['recall']:.3f}"
    )
    return Headline(
        f"test AP {test['average_precision']:.3f} "
        f"{_interval(test['average_precision_ci_low'], test['average_precision_ci_high'])}, "
        f"ROC AUC {test['roc_auc']:.3f}; {at}",
        metrics,
    )
