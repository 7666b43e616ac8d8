"""Unit tests of imbalance_lab.data.profile on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.data import Schema, feature_profile
from imbalance_lab.data.profile import _distinct


def _frame() -> tuple[pd.DataFrame, Schema]:
    y = np.array([0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0])
    df = pd.DataFrame(
        {
            "y": y,
            # repeated values, NaN, signed zeros (one value for nunique) and infinities
            "repeats": [1.5, 1.5, np.nan, 2.0, 2.0, 2.0, np.nan, -3.0, 1.5, 0.0, -0.0, 7.0],
            "extremes": [np.inf, -np.inf, np.inf, 0.0, 1e-300, 1e300, np.nan, 5.0, 5.0, 5.0, -1e-300, 0.0],
            "ints": [3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 3, 3],
            "one_value": [4.0, np.nan, 4.0, 4.0, np.nan, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0],
            "cat": pd.Series(["a", "b", None, "a", "c", "a", "c", np.nan, "b", "c", "a", "a"], dtype=object),
        }
    )
    schema = Schema(
        target="y",
        numeric=["repeats", "extremes", "ints", "one_value"],
        categorical={"cat": ["a", "b", "c"]},
        features=["repeats", "extremes", "ints", "one_value", "cat"],
    )
    return df, schema


def test_feature_profile_distinct_matches_nunique():
    df, schema = _frame()
    with np.errstate(invalid="ignore"):
        table = feature_profile(df, schema).set_index("feature")
    assert sorted(table.index) == sorted(schema.features)
    for col in schema.features:
        assert table.loc[col, "distinct"] == df[col].nunique(), col
        assert isinstance(table.loc[col, "distinct"], (int, np.integer))
    assert table.loc["repeats", "distinct"] == 5  # 1.5, 2, -3, 0 (= -0.0), 7
    assert table.loc["one_value", "distinct"] == 1


@pytest.mark.parametrize("seed", range(5))
def test_distinct_matches_nunique_random(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=200).round(1)  # many repeats
    v[rng.random(200) < 0.2] = np.nan
    assert _distinct(v) == pd.Series(v).nunique()
    assert _distinct(v[:0]) == 0 == pd.Series(v[:0]).nunique()
    assert _distinct(np.full(3, np.nan)) == 0 == pd.Series(np.full(3, np.nan)).nunique()


def test_feature_profile_categorical_separation_from_class_shares():
    df, schema = _frame()
    with np.errstate(invalid="ignore"):
        row = feature_profile(df, schema).set_index("feature").loc["cat"]
    present = df["cat"].notna()
    shares = pd.crosstab(df.loc[present, "cat"], df.loc[present, "y"], normalize="columns")
    assert row["separation"] == pytest.approx(0.5 * float((shares[1] - shares[0]).abs().sum()), abs=1e-15)
    assert row["kind"] == "categorical" and row["missing_share"] == pytest.approx(2 / 12)


def test_feature_profile_distinct_of_large_integers():
    df = pd.DataFrame({"y": [0, 1, 0], "big": pd.Series([2**53, 2**53 + 1, 2**53 + 2], dtype="int64")})
    schema = Schema(target="y", numeric=["big"], categorical={}, features=["big"])
    assert feature_profile(df, schema).loc[0, "distinct"] == df["big"].nunique()
