"""Unit tests of imbalance_lab.data.profile on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.data import Schema, class_shares, feature_profile
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


def _crosstab_shares(values: pd.Series, y) -> pd.DataFrame:
    """The documented reference: crosstab of the values as text, missing values left out."""
    y = np.asarray(y)
    present = values.notna().to_numpy()
    table = pd.crosstab(values[present].astype(str).to_numpy(), y[present], normalize="columns")
    return table.reindex(columns=[0, 1], fill_value=0.0)


SHARE_Y = np.array([0, 0, 0, 1, 1, 0, 1, 0, 0, 1])
SHARE_VALUES = {
    # "only0" is seen in class 0 only, "c" in class 1 only; None and NaN are missing
    "object": pd.Series(["a", "b", None, "c", "a", np.nan, "a", "b", "only0", "c"], dtype=object),
    "str": pd.Series(["a", "b", None, "c", "a", "b", "a", "b", "b", "c"], dtype="str"),
    "category": pd.Series(
        pd.Categorical(["a", "b", None, "c", "a", "b", "a", "b", "b", "c"], categories=["a", "b", "c", "never_seen"])
    ),
    "float": pd.Series([1.0, 2.0, np.nan, 3.0, 1.0, 2.0, 1.0, 2.0, 2.5, 3.0]),
    "int": pd.Series([1, 2, 10, 3, 1, 2, 1, 2, 2, 3]),  # "10" sorts before "2" as text
    "bool": pd.Series([True, False, True, True, False, False, True, False, True, True]),
    "nullable": pd.Series([1, 2, None, 3, 1, 2, 1, 2, 2, 3], dtype="Int64"),
    "text_order": pd.Series(["b", "B", "a ", "a", "10", "9", "b", "é", "Z", "_"], dtype=object),
    "class_1_all_missing": pd.Series(["a", "a", "b", None, np.nan, "b", None, "a", "a", np.nan], dtype=object),
}


@pytest.mark.parametrize("kind", list(SHARE_VALUES))
def test_class_shares_match_crosstab(kind):
    values = SHARE_VALUES[kind]
    got = class_shares(values, SHARE_Y)
    expected = _crosstab_shares(values, SHARE_Y)
    assert list(got.columns) == [0, 1]
    assert list(got.index) == list(expected.index)
    assert np.array_equal(got.to_numpy(), expected.to_numpy())
    assert "nan" not in got.index and "None" not in got.index


def test_class_shares_hand_made_and_one_class():
    values = pd.Series(["a", "b", np.nan, "a", "c", None], dtype=object)
    y = np.array([0, 1, 1, 0, 1, 0])
    got = class_shares(values, y)
    # class 0: a, a (None left out); class 1: b, c (NaN left out)
    assert list(got.index) == ["a", "b", "c"]
    assert got.to_dict("list") == {0: [1.0, 0.0, 0.0], 1: [0.0, 0.5, 0.5]}
    only_negatives = class_shares(values, np.zeros(6, dtype=int))
    assert only_negatives.to_dict("list") == {0: [0.5, 0.25, 0.25], 1: [0.0, 0.0, 0.0]}
    empty = class_shares(pd.Series([np.nan, None], dtype=object), np.array([0, 1]))
    assert empty.shape == (0, 2) and list(empty.columns) == [0, 1]


def test_class_shares_mixed_numbers_in_an_object_column():
    values = pd.Series([1, "1", 1.0, "x", 2, np.nan, "x", 1, "1", 2], dtype=object)
    got = class_shares(values, SHARE_Y)
    expected = _crosstab_shares(values, SHARE_Y)
    assert list(got.index) == list(expected.index)  # ['1', '1.0', '2', 'x']
    assert np.array_equal(got.to_numpy(), expected.to_numpy())
