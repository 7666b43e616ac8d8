"""Unit tests of imbalance_lab.serving.drift_reference: the cells and statistics kept for drift checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.serving.drift_reference import (
    MAX_DISCRETE_VALUES,
    REFERENCE_VERSION,
    cell_counts,
    n_cells,
    reference_stats,
    score_reference,
    validate_reference,
)


@pytest.fixture(scope="module")
def reference(drift_model):
    return drift_model["reference"]


def test_a_feature_with_many_values_gets_quantile_bins_and_range_cells(reference, drift_model):
    amount = reference["numeric"]["amount"]
    X = drift_model["X"]
    assert amount["binning"] == "quantiles" and len(amount["edges"]) == 9
    assert amount["min"] == X["amount"].min() and amount["max"] == X["amount"].max()
    shares = amount["shares"]
    assert len(shares) == n_cells(amount) == 12  # below, ten bins, above
    assert shares[0] == shares[-1] == 0.0  # nothing outside its own range
    assert sum(shares) + amount["missing_share"] == pytest.approx(1.0)
    assert amount["missing_share"] == pytest.approx(X["amount"].isna().mean())
    assert amount["std"] == pytest.approx(X["amount"].std())


def test_a_low_cardinality_feature_gets_one_cell_per_value(reference):
    """MAANTHUI (1 in 90 % of rows) had one quantile edge and two bins: a shift hid in the majority bin."""
    flag = reference["numeric"]["flag"]
    assert flag["binning"] == "values" and flag["values"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(flag["shares"]) == 8  # below, five values, other values in range, above
    assert flag["shares"][1] == pytest.approx(0.9, abs=0.02)
    assert reference["numeric"]["visits"]["values"] == [float(v) for v in range(9)]  # binomial(9, 0.4): 9 is rare


def test_cell_counts_put_every_value_in_its_cell():
    values_spec = {"binning": "values", "values": [1.0, 2.0, 5.0], "min": 1.0, "max": 5.0}
    counts = cell_counts(np.array([0.0, 1.0, 1.0, 2.0, 3.5, 5.0, 6.0, np.nan, 11.0]), values_spec)
    # below, 1, 2, 5, other in range, above, missing
    assert counts.tolist() == [1, 2, 1, 1, 1, 2, 1]
    bins_spec = {"binning": "quantiles", "edges": [2.0, 4.0], "min": 1.0, "max": 5.0}
    counts = cell_counts(np.array([0.5, 1.0, 2.0, 3.9, 4.0, 5.0, 5.1, np.nan]), bins_spec)
    # below, [1, 2), [2, 4), [4, 5], above, missing
    assert counts.tolist() == [1, 1, 2, 2, 1, 1]


def test_the_switch_from_values_to_quantiles_is_at_max_discrete_values(drift_schema):
    rng = np.random.default_rng(0)
    for distinct, binning in ((MAX_DISCRETE_VALUES, "values"), (MAX_DISCRETE_VALUES + 1, "quantiles")):
        X = pd.DataFrame(
            {
                "amount": rng.integers(0, distinct, 3000).astype(float),
                "age": 1.0,
                "visits": 1.0,
                "flag": 1.0,
                "kind": "k0",
            }
        )
        X.loc[: distinct - 1, "amount"] = np.arange(distinct)  # every value present
        assert reference_stats(X, drift_schema)["numeric"]["amount"]["binning"] == binning


def test_a_feature_without_values_counts_every_new_value_as_other(drift_schema):
    X = pd.DataFrame({"amount": [np.nan] * 10, "age": 1.0, "visits": 1.0, "flag": 1.0, "kind": "k0"})
    spec = reference_stats(X, drift_schema)["numeric"]["amount"]
    assert spec["min"] is None and spec["missing_share"] == 1.0
    assert cell_counts(np.array([1.0, np.nan]), spec).tolist() == [0, 1, 0, 1]


def test_reference_sample_is_capped_and_deterministic(drift_data, drift_schema):
    X, _ = drift_data(12_000, 3)
    a, b = reference_stats(X, drift_schema), reference_stats(X, drift_schema)
    assert a == b
    assert sum(a["numeric"]["age"]["sample"]["counts"]) == 5000
    assert len(a["numeric"]["visits"]["sample"]["values"]) <= 10  # discrete stays compact
    assert a != reference_stats(X, drift_schema, seed=1)
    json.dumps(a, allow_nan=False)


def test_score_reference_keeps_the_threshold_share_and_precision():
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    y = np.array([0, 0, 1, 0, 1, 1])
    ref = score_reference(scores, y_true=y, threshold=0.5)
    assert ref["flagged_share"] == 0.5 and ref["precision"] == pytest.approx(2 / 3)
    assert ref["recall"] == pytest.approx(2 / 3) and ref["positive_share"] == 0.5 and ref["rows"] == 6
    assert ref["binning"] == "values"  # six distinct scores
    with pytest.raises(ValueError, match="one length"):
        score_reference(scores, y_true=y[:3], threshold=0.5)


def test_categorical_shares(reference, drift_model):
    shares = reference["categorical"]["kind"]["shares"]
    assert set(shares) == {f"k{i}" for i in range(8)} | {"__missing__"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["k0"] == pytest.approx((drift_model["X"]["kind"] == "k0").mean())


def test_validate_reference(reference):
    validate_reference(reference)
    assert reference["version"] == REFERENCE_VERSION == 2
    with pytest.raises(ValueError, match=r"version 1, expected 2 \(saved by an older imbalance-lab"):
        validate_reference({**reference, "version": 1})
    broken = json.loads(json.dumps(reference))
    broken["numeric"]["visits"]["shares"] = broken["numeric"]["visits"]["shares"][:-1]
    with pytest.raises(ValueError, match="'visits'"):
        validate_reference(broken)
    broken = json.loads(json.dumps(reference))
    del broken["prediction"]["threshold"]
    with pytest.raises(ValueError, match="prediction: the threshold is missing"):
        validate_reference(broken)
