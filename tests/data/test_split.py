"""Unit tests of imbalance_lab.data.split: the holdout split, the folds and split_xy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data
from imbalance_lab.errors import DataError


def labelled(n: int = 200, positives: int = 20) -> pd.DataFrame:
    y = np.zeros(n, dtype="int8")
    y[np.linspace(0, n - 1, positives).astype(int)] = 1
    return pd.DataFrame({"row": np.arange(n), "y": y})


@pytest.mark.parametrize("seed", range(8))
def test_split_holdout_is_stratified_disjoint_and_covering(seed):
    df = labelled()
    train, test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=seed)
    assert len(test) == 50 and len(train) == 150
    assert abs(int(test["y"].sum()) - 5) <= 1 and abs(int(train["y"].sum()) - 15) <= 1
    assert not set(train["row"]) & set(test["row"])
    assert sorted([*train["row"], *test["row"]]) == list(range(200))
    assert train["row"].is_monotonic_increasing and test["row"].is_monotonic_increasing
    assert train.index.tolist() == list(range(150))


def test_split_holdout_depends_on_seed_only():
    df = labelled()
    a_train, a_test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=7)
    b_train, b_test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=7)
    _, c_test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=8)
    pd.testing.assert_frame_equal(a_train, b_train)
    pd.testing.assert_frame_equal(a_test, b_test)
    assert set(a_test["row"]) != set(c_test["row"])


def test_split_holdout_class_without_a_test_row(clean, data_error):
    """validate_and_clean's estimate gives the 7 positives a test row; scikit-learn's rounding does not."""
    df = pd.DataFrame({"x": np.arange(1000.0), "y": [1] * 7 + [0] * 993})
    out, _, _ = clean(df, n_splits=5, test_size=0.05)  # the early check passes
    msg = data_error(data.split_holdout, out, target="y", test_size=0.05, seed=42, n_splits=5, source="src.csv")
    assert "src.csv" in msg and "0 of the 7 positive" in msg and "test_size=0.05" in msg
    assert "raise prepare.test_size" in msg and "add positive rows" in msg


def test_split_holdout_class_with_too_few_training_rows(data_error):
    msg = data_error(data.split_holdout, labelled(), target="y", test_size=0.25, seed=0, n_splits=16, source="src.csv")
    assert "src.csv" in msg and "positive" in msg and "prepare.n_splits=16" in msg and "lower prepare.n_splits" in msg


def test_split_holdout_test_part_smaller_than_the_classes(data_error):
    df = labelled(30, 10)
    msg = data_error(data.split_holdout, df, target="y", test_size=0.02, seed=0, n_splits=2, source="src.csv")
    assert "src.csv" in msg and "test_size=0.02" in msg and "raise prepare.test_size" in msg


def test_make_folds_assigns_each_row_once_per_repeat():
    y = labelled(100, 23)["y"]
    folds = data.make_folds(y, n_splits=5, n_repeats=3, seed=0)
    assert list(folds.columns) == ["repeat_0", "repeat_1", "repeat_2"] and len(folds) == 100
    for col in folds.columns:
        assert sorted(folds[col].unique()) == [0, 1, 2, 3, 4]
        assert folds[col].value_counts().tolist() == [20] * 5
        per_fold = y.groupby(folds[col].to_numpy()).sum()
        assert per_fold.max() - per_fold.min() <= 1 and per_fold.sum() == 23


def test_make_folds_deterministic_and_repeats_differ():
    y = labelled(100, 23)["y"]
    a = data.make_folds(y, n_splits=5, n_repeats=3, seed=0)
    pd.testing.assert_frame_equal(a, data.make_folds(y.to_numpy(), n_splits=5, n_repeats=3, seed=0))
    assert not a.equals(data.make_folds(y, n_splits=5, n_repeats=3, seed=1))
    assert not (a["repeat_0"] == a["repeat_1"]).all()
    assert not (a["repeat_1"] == a["repeat_2"]).all()


def test_iter_splits_train_and_validation_partition_rows():
    y = labelled(60, 12)["y"]
    folds = data.make_folds(y, n_splits=3, n_repeats=2, seed=3)
    splits = list(data.iter_splits(folds))
    assert [(r, k) for r, k, _, _ in splits] == [(r, k) for r in range(2) for k in range(3)]
    for r, k, train, val in splits:
        assert not set(train) & set(val)
        assert sorted([*train, *val]) == list(range(60))
        assert (folds[f"repeat_{r}"].to_numpy()[val] == k).all()


def test_split_xy_categoricals_become_object_with_nan(clean, frame):
    out, schema, _ = clean(frame().assign(fruit=["pear", None, "fig"] * 8))
    X, y = data.split_xy(out, schema)
    assert list(X.columns) == schema.features and "y" not in X.columns
    assert X["fruit"].dtype == object and X["cat"].dtype == object
    assert X["fruit"].iloc[0] == "pear"
    missing = X["fruit"].iloc[1]
    assert isinstance(missing, float) and np.isnan(missing)
    assert X["num"].dtype == np.float64
    assert y.tolist() == [1, 0, 0] * 8 and np.issubdtype(y.dtype, np.integer)


# --- out of time ---------------------------------------------------------------------------


def dated(n: int = 100, positives: int = 20) -> pd.DataFrame:
    df = labelled(n, positives)
    days = np.random.default_rng(0).permutation(n) // 2  # two rows per day, in no order
    return df.assign(when=pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"))


def test_time_split_takes_the_latest_rows_as_the_test_part():
    df = dated()
    train, test = data.split_holdout(
        df, target="y", test_size=0.2, n_splits=2, source="s", seed=0, split="time", time_column="when"
    )
    assert len(test) == 20 and train["when"].max() < test["when"].min() == pd.Timestamp("2024-02-10")
    assert train["row"].is_monotonic_increasing and test["row"].is_monotonic_increasing
    for seed in (1, 2):  # no randomness
        again = data.split_holdout(
            df, target="y", test_size=0.2, n_splits=2, source="s", seed=seed, split="time", time_column="when"
        )
        assert again[1].equals(test)


def test_time_cutoff_keeps_rows_of_one_time_together():
    times = pd.Series([1.0, 2.0, 3.0, 3.0, 3.0, 4.0])
    assert data.time_cutoff(times, test_size=0.3) == 3.0  # the 2 latest rows would split time 3
    assert data.time_cutoff(times, test_size=0.1) == 4.0
    assert data.time_cutoff(pd.Series(pd.to_datetime(["2024-01-02", "2024-01-01"])), test_size=0.5) == pd.Timestamp(
        "2024-01-02"
    )


def test_time_split_without_a_test_positive_says_which_rows_are_tested(data_error):
    df = dated().assign(y=lambda d: (d["when"] < pd.Timestamp("2024-02-01")).astype("int8") * (d["row"] % 2))
    msg = data_error(
        data.split_holdout,
        df,
        target="y",
        test_size=0.2,
        n_splits=2,
        source="s",
        seed=0,
        split="time",
        time_column="when",
    )
    assert "the out-of-time split (test rows: 'when' from 2024-02-10 on) puts 0 of the" in msg
    assert "positive row(s) in the test part" in msg and "raise prepare.test_size" in msg


def test_time_split_of_a_single_time_leaves_no_training_rows(data_error):
    df = labelled(20, 4).assign(when=5.0)
    msg = data_error(
        data.split_holdout,
        df,
        target="y",
        test_size=0.2,
        n_splits=2,
        source="s",
        seed=0,
        split="time",
        time_column="when",
    )
    assert "leaves no training rows" in msg and "split: stratified" in msg


def test_split_summary_records_the_time_split_only():
    test = pd.DataFrame({"when": pd.to_datetime(["2024-03-02", "2024-03-01"])})
    assert data.split_summary(test, split="stratified", time_column=None) == {}
    assert data.split_summary(test, split="time", time_column="when") == {
        "split": "time",
        "time_column": "when",
        "test_from": "2024-03-01",
    }


def test_a_tie_at_the_cut_off_time_is_said_and_named_in_the_fix(caplog):
    """Rows at the cut-off time all go to the test part: with a coarse time column the test part
    can hold far more than test_size, which the log says (and a failing split's fix names)."""
    df = pd.DataFrame({"year": [2020] * 30 + [2021] * 70, "y": [0, 1] * 50})
    with caplog.at_level("WARNING", logger="imbalance_lab.data.split"):
        train, test = data.split_holdout(
            df, target="y", test_size=0.2, seed=0, n_splits=5, source="t.csv", split="time", time_column="year"
        )
    assert (len(train), len(test)) == (30, 70)
    assert "holds 70% of the rows, not test_size=0.2: 70 row(s) share the cut-off time" in caplog.text
    df = pd.DataFrame({"year": [2020] * 6 + [2021] * 94, "y": [0, 1] * 50})
    with pytest.raises(DataError, match=r"the test part holds 94% of the rows: those at its first time too"):
        data.split_holdout(
            df, target="y", test_size=0.2, seed=0, n_splits=5, source="t.csv", split="time", time_column="year"
        )


def test_split_xy_copies_no_numeric_column_and_shares_category_values():
    from imbalance_lab.data import Schema

    n = 1000
    df = pd.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "c": pd.array(["level_a", "level_b", None, "level_c"] * (n // 4), dtype="str"),
            "y": [0, 1] * (n // 2),
        }
    )
    schema = Schema(
        target="y", numeric=["x"], categorical={"c": ["level_a", "level_b", "level_c"]}, features=["x", "c"]
    )
    X, y = data.split_xy(df, schema)
    assert np.shares_memory(X["x"].to_numpy(), df["x"].to_numpy())
    X.loc[0, "x"] = -1.0  # copy on write: the caller's frame keeps its value
    assert df.loc[0, "x"] == 0.0
    cells = X["c"].tolist()
    assert X["c"].dtype == object and cells[:4] == ["level_a", "level_b", cells[2], "level_c"] and np.isnan(cells[2])
    assert len({id(v) for v in cells if isinstance(v, str)}) == 3  # one object per value, not per cell
    assert y.tolist() == df["y"].tolist()
