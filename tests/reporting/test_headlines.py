"""Unit tests of imbalance_lab.reporting.headlines."""

from __future__ import annotations

import pandas as pd
import pytest

from imbalance_lab import reporting


def _summary_of_every_metric() -> pd.DataFrame:
    metrics = ["average_precision", "roc_auc", "brier", "log_loss", "f1", "capture_at_k", "mcc"]
    columns = {
        f"{m}_{part}": [0.1 * i + 0.01 * j + k for i in range(2)]
        for j, m in enumerate(metrics)
        for k, part in ((0.0, "mean"), (-0.001, "ci_low"), (0.001, "ci_high"))
    }
    return pd.DataFrame(columns, index=pd.Index(["a", "b"], name="model"))


def test_headline_holds_the_fixed_metrics_and_average_precisions_interval():
    headline = reporting.headline(_summary_of_every_metric(), best="b", selection_metric="average_precision")
    assert list(headline) == [
        "best_model",
        "selection_metric",
        *reporting.HEADLINE_METRICS,
        "average_precision_ci_low",
        "average_precision_ci_high",
    ]
    assert headline["best_model"] == "b" and headline["average_precision"] == pytest.approx(0.1)
    assert headline["average_precision_ci_low"] == pytest.approx(0.099)


@pytest.mark.parametrize("metric", ["log_loss", "mcc", "brier"])
def test_headline_holds_the_selection_metric_and_its_interval(metric):
    """With log_loss (or mcc ...) the file held log_loss's interval but not log_loss itself."""
    summary = _summary_of_every_metric()
    headline = reporting.headline(summary, best="b", selection_metric=metric)
    assert headline[metric] == summary.loc["b", f"{metric}_mean"]
    assert headline[f"{metric}_ci_low"] == summary.loc["b", f"{metric}_ci_low"]
    assert headline[f"{metric}_ci_high"] == summary.loc["b", f"{metric}_ci_high"]
    assert "average_precision_ci_low" in headline  # the same columns in every experiment, plus these
    assert len(headline) == 2 + len(set(reporting.HEADLINE_METRICS) | {metric}) + 2 * len({"average_precision", metric})
