"""Unit tests of imbalance_lab.reporting.model_card."""

from __future__ import annotations

import pytest

from imbalance_lab.reporting import model_card


@pytest.fixture(scope="module")
def schema(make_dataset):
    """The schema of the serving tests' data: an id column and a categorical column of four categories."""
    return make_dataset(10, positives=2, categories="abcd", ids=True)[2]


def test_model_card_renders_values(schema):
    card = model_card(
        name="xgb",
        schema=schema,
        threshold=0.125,
        metrics={"ap": 0.5, "nested": {"auc": float("nan")}},
        params={"n_estimators": 10},
        limitations=["Only tested on 2024 data."],
    )
    assert card.startswith("# Model card: xgb\n")
    assert "at least **0.125**" in card
    assert "| nested.auc | n/a |" in card
    assert "- Only tested on 2024 data." in card
    assert '"n_estimators": 10' in card
    assert "`cat` (4)" in card and "`id`" in card


@pytest.mark.parametrize(
    "top_k, rows, said",
    [(0.2, 233, "the top 20% of rows by score (233 rows)"), (50, 50, "the top 50 rows by score (50 rows)")],
)
def test_model_card_says_how_its_metrics_were_measured(top_k, rows, said, schema):
    """Without it a reader could not tell a test-set figure from a cross-validated one, what the
    intervals are, what k the top-k metrics use, or what the threshold optimises."""
    card = model_card(
        name="xgb",
        schema=schema,
        threshold=0.125,
        metrics={"average_precision": 0.2},
        params={},
        evaluation={
            "test_rows": 1165,
            "test_positives": 70,
            "n_bootstrap": 1000,
            "confidence": 0.95,
            "top_k": top_k,
            "top_k_rows": rows,
            "threshold_objective": "f1",
        },
    )
    assert "- Measured once, on the held-out test set: 1165 rows, 70 positives (prevalence 6.0%)" in card
    assert "95% stratified bootstrap interval, bias-corrected and accelerated (BCa) (1000 resamples" in card
    assert f"the share of all positives in {said}" in card
    assert "The threshold was chosen to optimise `f1` on the out-of-fold predictions of the training rows" in card
    assert card.index("Measured once") < card.index("## Decision threshold")
    plain = model_card(name="xgb", schema=schema, threshold=0.125, metrics={}, params={})
    assert "Measured once" not in plain and "The threshold was chosen on training data" in plain


def test_model_card_says_when_the_test_set_is_out_of_time(schema):
    card = model_card(name="m", schema=schema, threshold=0.5, metrics={}, params={})
    assert "out of time" not in card
    dated = schema.replace(time_column="signup", test_from="2024-05-01")
    card = model_card(name="m", schema=dated, threshold=0.5, metrics={}, params={})
    assert "**The test set is out of time**: the rows with `signup` from 2024-05-01 on" in card
    assert card.index("out of time") < card.index("## Decision threshold")
