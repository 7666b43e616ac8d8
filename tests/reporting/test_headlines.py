"""Unit tests of imbalance_lab.reporting.headlines."""

from __future__ import annotations

import pandas as pd
import pytest

from imbalance_lab import reporting
from imbalance_lab.evaluation.metrics import METRICS

MODELS = ["a", "b"]


def _summary_of_every_metric() -> pd.DataFrame:
    columns = {
        f"{m}_{part}": [0.1 * i + 0.01 * j + k for i in range(len(MODELS))]
        for j, m in enumerate(METRICS)
        for k, part in ((0.0, "mean"), (-0.001, "ci_low"), (0.001, "ci_high"))
    }
    return pd.DataFrame(columns, index=pd.Index(MODELS, name="model"))


TEST = {
    "average_precision": 0.2162,
    "average_precision_ci_low": 0.1643,
    "average_precision_ci_high": 0.2899,
    "roc_auc": 0.8113,
    "precision": 0.246,
    "recall": 0.4429,
    "threshold": 0.1211,
    "f1": 0.3163,  # more test metrics than the headline holds
}


def test_prepare_headline_counts_rows_positives_and_features_and_has_no_metrics():
    summary = {
        "rows": 5822,
        "positives": 348,
        "prevalence": 348 / 5822,
        "features": 85,
        "train_rows": 4657,
        "test_rows": 1165,
    }
    headline = reporting.prepare_headline(summary)
    assert headline.line == "5822 rows, 348 positives (6.0%), 85 features; 4657 to train, 1165 to test"
    assert headline.metrics == {}
    timed = reporting.prepare_headline({**summary, "split": "time", "test_from": "2024-05-01"})
    assert timed.line.endswith("1165 to test (out of time: from 2024-05-01 on)")


@pytest.mark.parametrize("metric", list(METRICS))
def test_cross_validate_headline_gives_the_best_model_and_its_interval_on_the_selection_metric(metric):
    summary = _summary_of_every_metric()
    headline = reporting.cross_validate_headline(summary, best="b", metric=metric)
    mean = summary.loc["b", f"{metric}_mean"]
    low, high = summary.loc["b", f"{metric}_ci_low"], summary.loc["b", f"{metric}_ci_high"]
    assert headline.line == f"best b, {METRICS[metric].label} {mean:.3f} [{low:.3f}, {high:.3f}]"
    assert headline.metrics == {"best_model": "b", f"cv_{METRICS[metric].short}": mean}


def test_tune_headline_counts_every_finished_trial():
    headline = reporting.tune_headline(model="xgboost", metric="log_loss", best_value=0.2, complete=30, pruned=10)
    assert headline.line == "xgboost: best log loss 0.200 in 40 trials (10 pruned)"
    assert headline.metrics == {"tune_log_loss": 0.2}


def test_imbalance_headline_compares_the_chosen_strategy_with_none():
    summary = _summary_of_every_metric().rename(index={"a": "none", "b": "smote"})
    headline = reporting.imbalance_headline(
        summary, chosen="smote", metric="average_precision", column="average_precision", p_value=0.0123
    )
    assert headline.line == "chosen smote, AP 0.100 against 0.000 for none (p = 0.012)"
    assert headline.metrics == {"strategy": "smote", "strategy_ap": pytest.approx(0.1)}
    kept = reporting.imbalance_headline(
        summary, chosen="none", metric="average_precision", column="average_precision", p_value=1
    )
    assert kept.line == "chosen none, AP 0.000"


def test_evaluate_headline_leads_with_average_precision_and_roc_auc():
    headline = reporting.evaluate_headline(TEST)
    assert headline.line == (
        "test AP 0.216 [0.164, 0.290], ROC AUC 0.811; at threshold 0.121: precision 0.246, recall 0.443"
    )
    # the order of the columns of dvc exp show: the two that stay visible first
    assert list(headline.metrics) == [
        "test_ap",
        "test_roc_auc",
        "test_ap_low",
        "test_ap_high",
        "test_precision",
        "test_recall",
        "threshold",
    ]
    assert (
        headline.metrics["test_roc_auc"] == TEST["roc_auc"]
        and headline.metrics["test_ap_low"] == TEST["average_precision_ci_low"]
    )


def test_evaluate_headline_says_when_no_row_is_labelled_positive():
    headline = reporting.evaluate_headline({**TEST, "threshold": 1.5, "precision": 0.0, "recall": 0.0})
    assert headline.line.endswith("ROC AUC 0.811; no row is labelled positive")


def test_the_stages_headlines_hold_twelve_numbers_in_all():
    summary = _summary_of_every_metric().rename(index={"a": "none"})
    metrics = {
        **reporting.cross_validate_headline(summary, best="b", metric="average_precision").metrics,
        **reporting.tune_headline(
            model="xgboost", metric="average_precision", best_value=0.2, complete=1, pruned=0
        ).metrics,
        **reporting.imbalance_headline(
            summary, chosen="b", metric="average_precision", column="average_precision", p_value=0.5
        ).metrics,
        **reporting.evaluate_headline(TEST).metrics,
    }
    assert len(metrics) == 12
