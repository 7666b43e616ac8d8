"""Unit tests of imbalance_lab.data.validation: validate_and_clean on small hand-made frames."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data
from imbalance_lab.data.validation import duplicated_rows


def test_target_missing(clean_error, frame):
    msg = clean_error(frame(), target="Y")
    assert "src.csv" in msg and "'Y'" in msg and "prepare.target" in msg and "did you mean 'y'" in msg


def test_too_few_positives_for_n_splits(clean_error, frame):
    msg = clean_error(frame(), n_splits=7)  # 8 positives, 6 in training
    assert "src.csv" in msg and "8 positive" in msg and "prepare.n_splits" in msg


def test_too_few_negatives_for_n_splits(clean_error, frame):
    df = frame().assign(y=[1] * 21 + [0] * 3)
    msg = clean_error(df, n_splits=5, test_size=0.2)
    assert "3 negative" in msg and "prepare.n_splits" in msg


def test_enough_positives_passes(clean, frame):
    _, _, report = clean(frame(), n_splits=6)  # 8 positives, 6 in training
    assert report["positives"] == 8


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, np.array([0.5, 1.5])])
def test_a_column_of_lists_or_mappings_is_one_line(value, clean_error, frame):
    """A Parquet list column failed in the notebook with 'The truth value of an array ...'."""
    df = frame().assign(tags=[None, value] + [value] * 22)
    msg = clean_error(df)
    assert msg.startswith(f"src.csv: column 'tags' holds {type(value).__name__} values (first at data row 2)")
    assert "prepare.drop_columns" in msg


def test_a_parquet_list_column_end_to_end(tmp_path, clean_error, frame):
    frame().assign(tags=[[i, i + 1] for i in range(24)]).to_parquet(tmp_path / "d.parquet")
    name, df = data.read_source({"path": "d.parquet"}, base_dir=tmp_path)
    assert "holds ndarray values (first at data row 1)" in clean_error(df, source=name)


def test_all_empty_column(clean_error, frame):
    msg = clean_error(frame().assign(blank=np.nan))
    assert "'blank'" in msg and "prepare.drop_columns" in msg


def test_numeric_column_holding_some_text(clean_error, frame):
    df = frame().assign(num=[str(i) for i in range(23)] + ["n/a?"])
    msg = clean_error(df)
    assert "'num'" in msg and "'n/a?'" in msg and "prepare.categorical" in msg


def test_numbers_with_a_placeholder_for_missing_name_the_na_values_option(clean_error, frame):
    """10 % '?' in a measurement: it became a categorical with a level per number."""
    values = [f"{i * 0.37:.2f}" for i in range(90)] + ["?"] * 10
    df = pd.DataFrame({"x": values, "y": [1, 0, 0, 0] * 25})
    msg = clean_error(df)
    assert msg.startswith("src.csv: column 'x' is numeric but holds text '?' in 10 row(s) (first at data row 91)")
    assert "na_values: ['?']" in msg and "prepare.categorical" in msg
    # so does a single stray value among numbers, with the fix for it
    msg = clean_error(frame().assign(num=[str(i) for i in range(23)] + ["-"]))
    assert "na_values: ['-']" in msg


def test_true_false_text_with_blanks_is_numeric_like_booleans(clean, frame):
    """A boolean column written to CSV with blanks is read back as text: it was categorical, the
    same column without blanks numeric (and two such sources clashed)."""
    with_blanks, _, _ = clean(frame().assign(flag=["True", "false", None, " TRUE"] * 6))
    assert with_blanks["flag"].dtype == np.float64
    assert with_blanks["flag"].tolist()[:4][:2] == [1.0, 0.0] and np.isnan(with_blanks["flag"].iloc[2])
    without, schema, _ = clean(frame().assign(flag=[True, False, True, True] * 6))
    assert "flag" in schema.numeric
    assert with_blanks["flag"].fillna(1.0).tolist() == without["flag"].tolist()


def test_mostly_text_column_is_categorical_not_an_error(clean, frame):
    df = frame().assign(code=[str(i % 4) for i in range(20)] + ["x", "y", "x", "y"])
    out, schema, _ = clean(df)
    assert "code" in schema.categorical


def test_infinite_values(clean_error, frame):
    df = frame().assign(num=[np.inf] + list(range(22)) + [-np.inf])
    msg = clean_error(df)
    assert "'num'" in msg and "infinite" in msg and "2 row" in msg


def test_categorical_identifier_column(clean_error, frame):
    df = frame(27).assign(ref=[f"R{i:03d}" for i in range(27)])
    msg = clean_error(df)
    assert "'ref'" in msg and "prepare.drop_columns" in msg and "prepare.hash_columns" in msg


def test_small_distinct_text_column_is_not_an_identifier(clean, frame):
    df = frame(12).assign(ref=[f"R{i:03d}" for i in range(12)])
    _, schema, _ = clean(df, n_splits=2, test_size=0.25)
    assert "ref" in schema.categorical


def test_sparse_text_column_with_one_value_is_not_an_identifier(clean, frame):
    df = frame().assign(note=["seen"] + [None] * 23)
    _, schema, _ = clean(df)
    assert schema.categorical["note"] == ["seen"]


@pytest.mark.parametrize(
    "values, option",
    [
        (["5,5", "12,25", "7", None], '{decimal: ","}'),  # some plain integers parse already
        (["5,5", "12,25", "7,0", "0,125"], '{decimal: ","}'),  # none parse as they are
        (["1,234,567", "2,000,000", "300", None], '{thousands: ","}'),
        (["1.234,5", "2.000,25", "3,5", None], '{decimal: ",", thousands: "."}'),
    ],
)
def test_numbers_with_commas(tmp_path, values, option, clean_error, write):
    rows = "".join(f"{'' if v is None else v};{i % 3 == 0:d}\n" for i, v in enumerate(values * 6))
    source, df = data.read_sources(
        [{"path": write(tmp_path, "comma.csv", "amount;y\n" + rows), "options": {"sep": ";"}}], base_dir=tmp_path
    )
    msg = clean_error(df, source=source)
    assert "comma.csv" in msg and "'amount'" in msg and f"options: {option}" in msg and "prepare.categorical" in msg


@pytest.mark.parametrize("values", [["A-7", "B-2", "C-9"], ["yes", "no", "maybe"], ["red, blue", "red", "1,5"]])
def test_text_columns_are_not_numbers_with_commas(values, clean, frame):
    _, schema, _ = clean(frame().assign(code=values * 8))
    assert "code" in schema.categorical


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(pd.date_range("2024-01-01", periods=3, freq="D")),
        pd.Series(pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Oslo")),
        pd.Series(pd.to_timedelta([1, 2, 3], unit="D")),
        pd.Series([pd.Timestamp("2024-01-01").date(), None, pd.Timestamp("2024-03-01").date()], dtype=object),
    ],
)
def test_date_and_time_columns(values, clean_error, frame):
    df = frame().assign(when=pd.concat([values] * 8, ignore_index=True))
    msg = clean_error(df)
    assert "'when'" in msg and "prepare.drop_columns" in msg and "numeric features" in msg


@pytest.mark.parametrize(
    "text",
    [
        ["2024-01-05", "2024-02-11", None],
        ["05/01/2024", "11/02/2024", "01/03/2024"],
        ["2024-01-05 08:30", "2024-01-05T17:45:10Z", "2024-02-11"],
        ["08:30", "17:45", "23:59:59"],
    ],
)
def test_dates_and_times_written_as_text_are_date_columns(text, clean, clean_error, frame):
    """A CSV's dates arrive as text: without this check they became a categorical of dates (or,
    all different, an 'identifier')."""
    df = frame().assign(when=pd.Series(text * 8, dtype="string"))
    msg = clean_error(df)
    assert f"column 'when' holds dates or times (text such as '{text[0]}')" in msg
    assert "prepare.drop_columns" in msg and "prepare.categorical" in msg
    _, schema, _ = clean(df, categorical=["when"])
    assert "when" in schema.categorical


@pytest.mark.parametrize(
    "text",
    [
        ["25-34", "35-44", "45-54"],
        ["3/5", "1/2", "2/3"],
        ["v1.2.10", "v1.3.0", "v2.0.1"],
        ["2024-01-05", "2024-02-11", "unknown"],
    ],
)
def test_text_that_only_partly_looks_like_dates_stays_categorical(text, clean, frame):
    _, schema, _ = clean(frame().assign(band=pd.Series(text * 8, dtype=object)))
    assert sorted(schema.categorical["band"]) == sorted(text)


def test_date_column_declared_categorical_is_a_category(clean, frame):
    when = pd.Series(pd.date_range("2024-01-01", periods=3, freq="MS"))
    _, schema, _ = clean(frame().assign(when=pd.concat([when] * 8, ignore_index=True)), categorical=["when"])
    assert schema.categorical["when"] == ["2024-01-01 00:00:00", "2024-02-01 00:00:00", "2024-03-01 00:00:00"]


def test_pandas_categorical_with_numeric_categories_is_categorical(clean, frame):
    out, schema, _ = clean(frame().assign(code=pd.Categorical([3, 1, 2] * 8)))
    assert schema.categorical["code"] == ["1", "2", "3"] and "code" not in schema.numeric
    assert isinstance(out["code"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("key", ["categorical", "drop_columns", "hash_columns"])
def test_declared_column_missing(key, clean_error, frame):
    msg = clean_error(frame(), **{key: ["nope"]}, hash_salt="salt")
    assert "'nope'" in msg and f"prepare.{key}" in msg


def test_target_declared_as_feature(clean_error, frame):
    msg = clean_error(frame(), categorical=["y"])
    assert "'y'" in msg and "prepare.categorical" in msg


def test_hash_columns_without_salt(clean_error, frame):
    df = frame().assign(cust=[f"C{i}" for i in range(24)])
    msg = clean_error(df, hash_columns=["cust"], hash_salt=None)
    assert "prepare.hash_columns" in msg and "$IMBALANCE_LAB_SALT" in msg


def test_column_both_dropped_and_hashed(clean_error, frame):
    df = frame().assign(cust=[f"C{i}" for i in range(24)])
    msg = clean_error(df, hash_columns=["cust"], drop_columns=["cust"], hash_salt="s")
    assert "'cust'" in msg and "prepare.drop_columns" in msg and "prepare.hash_columns" in msg


def test_clean_output_and_schema(clean, frame):
    out, schema, report = clean(frame())
    assert list(out.columns) == ["num", "cat", "y"]
    assert schema.numeric == ["num"] and schema.features == ["num", "cat"]
    assert report["rows_read"] == 24 and report["rows"] == 24 and report["positives"] == 8


@pytest.mark.parametrize(
    "name, values, why",
    [
        ("Unnamed: 0", list(range(24)), "pandas gives an unnamed column"),
        ("customer_no", [1000 + (i * 7) % 24 for i in range(24)], "numbers the rows"),  # shuffled, no gaps
        ("account", [float(5 + i) if i != 3 else np.nan for i in range(24)], None),  # a gap where one is missing
        ("tenure", [i // 2 for i in range(24)], None),  # repeats
        ("amount", [i * 1.5 for i in range(24)], None),  # not whole numbers
    ],
)
def test_columns_that_number_the_rows_are_reported(caplog, name, values, why, clean, frame):
    """A row index written by to_csv, on data sorted by the target, gave AP = 1.0 without a word."""
    with caplog.at_level("WARNING", logger="imbalance_lab.data"):
        out, schema, report = clean(frame().assign(num=np.arange(24) * 0.5, **{name: values}))
    assert name in schema.numeric  # still a feature: it may be one
    if why:
        assert report["suspected_identifiers"] == [name]
        assert why in caplog.text and f"'{name}'" in caplog.text and "prepare.drop_columns" in caplog.text
    else:
        assert report["suspected_identifiers"] == [] and not caplog.text


def test_constant_columns_dropped_and_reported(clean, frame):
    out, schema, report = clean(frame().assign(k=5.0, t="same"))
    assert "k" not in out.columns and "t" not in out.columns
    assert report["constant_columns_dropped"] == ["k", "t"]
    assert {"k", "t"} <= set(schema.dropped_columns)


def test_text_column_with_one_value_and_blanks_is_kept(clean, frame):
    df = frame().assign(flag=["on", None, None] * 8)
    out, schema, _ = clean(df)
    assert schema.categorical["flag"] == ["on"] and out["flag"].isna().sum() == 16


@pytest.mark.parametrize("drop", [False, True])
def test_duplicates_counted_and_dropped_only_when_asked(drop, clean, frame):
    df = pd.concat([frame(), frame().iloc[[0, 1, 4]]], ignore_index=True)
    out, _, report = clean(df, drop_duplicates=drop)
    assert report["duplicate_rows"] == 3
    assert report["duplicate_rows_dropped"] == (3 if drop else 0)
    assert len(out) == (24 if drop else 27) == report["rows"]
    assert out.duplicated().sum() == (0 if drop else 3)
    assert out.index.tolist() == list(range(len(out)))


def test_rows_with_missing_target_dropped_and_counted(clean, frame):
    df = frame().astype({"y": float})
    df.loc[[1, 5], "y"] = np.nan
    out, _, report = clean(df)
    assert report["rows_missing_target"] == 2 and report["rows_read"] == 24
    assert len(out) == 22 and 1.0 not in out["num"].tolist() and 5.0 not in out["num"].tolist()
    assert out["y"].sum() == 8


def test_drop_columns_never_in_output(clean, frame):
    df = frame().assign(email=[f"user{i}@example.org" for i in range(24)])
    out, schema, _ = clean(df, drop_columns=["email"])
    assert "email" not in out.columns and "email" not in schema.features
    assert "email" in schema.dropped_columns
    assert not out.astype(str).apply(lambda c: c.str.contains("@example.org")).any().any()


def test_text_columns_become_sorted_categoricals(clean, frame):
    df = frame().assign(fruit=["pear", " apple", "fig", None] * 6)
    out, schema, _ = clean(df)
    assert isinstance(out["fruit"].dtype, pd.CategoricalDtype)
    assert list(out["fruit"].cat.categories) == ["apple", "fig", "pear"]
    assert schema.categorical["fruit"] == ["apple", "fig", "pear"]
    assert out["fruit"].isna().sum() == 6 and out["fruit"].iloc[1] == "apple"


def test_declared_numeric_column_becomes_categorical(clean, frame):
    out, schema, _ = clean(frame().assign(code=[3, 1, 2, 10] * 6), categorical=["code"])
    assert isinstance(out["code"].dtype, pd.CategoricalDtype)
    assert schema.categorical["code"] == ["1", "10", "2", "3"]
    assert "code" not in schema.numeric


def test_numeric_strings_become_float(clean, frame):
    df = frame().assign(score=[" 1.5", "2", None, "-3e2"] * 6)
    out, schema, _ = clean(df)
    assert out["score"].dtype == np.float64
    first = out["score"].tolist()[:4]
    assert first[0] == 1.5 and first[1] == 2.0 and np.isnan(first[2]) and first[3] == -300.0
    assert "score" in schema.numeric


def test_boolean_column_becomes_float(clean, frame):
    out, _, _ = clean(frame().assign(flag=[True, False] * 12))
    assert out["flag"].dtype == np.float64 and out["flag"].tolist()[:2] == [1.0, 0.0]


# --- a time column -----------------------------------------------------------------------------


def test_the_time_column_is_kept_beside_the_features_with_its_calendar_features(clean, frame):
    df = frame().assign(signup=[f"2024-0{1 + i % 3}-1{i % 7}" for i in range(24)])
    out, schema, _ = clean(df, time_column="signup", date_features=["month", "weekday"])
    assert schema.time_column == "signup" and "signup" not in schema.features
    assert schema.features == ["num", "cat", "signup_month", "signup_weekday"]
    assert list(out.columns) == ["num", "cat", "signup_month", "signup_weekday", "signup", "y"]
    assert out["signup"].dtype == "datetime64[ns]" and out["signup_month"].tolist()[:4] == [1.0, 2.0, 3.0, 1.0]
    assert schema.to_dict()["time_column"] == "signup" and "test_from" not in schema.to_dict()


def test_no_time_column_changes_nothing(clean, frame):
    out, schema, _ = clean(frame())
    assert list(out.columns) == ["num", "cat", "y"] and "time_column" not in schema.to_dict()


def test_duplicates_are_counted_without_the_time_column(clean, frame):
    df = frame(6).assign(num=[1.0, 2.0] * 3, cat="a", y=[1, 0] * 3, when=[f"2024-01-0{i + 1}" for i in range(6)])
    _, _, report = clean(df, time_column="when", n_splits=1, test_size=0.5)
    assert report["duplicate_rows"] == 4


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"time_column": "when"}, "time column 'when' not found; set prepare.time_column to one of"),
        ({"time_column": "cat", "categorical": ["cat"]}, "the time column 'cat' is listed in prepare.categorical"),
        ({"time_column": "d", "drop_columns": ["d"]}, "the time column 'd' is listed in prepare.drop_columns"),
        (
            {"time_column": "e", "date_features": ["month"]},
            "date feature column(s) ['e_month'] exist in the data already",
        ),
        ({"time_column": "d"}, "time column 'd' has 1 value(s) that are not dates"),
    ],
)
def test_bad_time_columns_are_one_line(clean_error, frame, overrides, expected):
    days = [f"2024-01-{1 + i:02d}" for i in range(24)]
    days[5] = "someday"
    df = frame().assign(d=days, e=[f"2024-01-{1 + i:02d}" for i in range(24)], e_month=1.0)
    assert expected in clean_error(df, **overrides)


def _mixed_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Few distinct values per column (many repeated rows), with the values pandas treats specially."""
    floats = rng.choice(np.array([0.0, -0.0, 1.5, np.nan]), n)
    text = rng.choice(np.array(["a", "b", None], dtype=object), n)
    return pd.DataFrame(
        {
            "f": floats,
            "i": rng.integers(0, 3, n),
            "t": text,
            "c": pd.Categorical(rng.choice(np.array(["x", "y", None], dtype=object), n), categories=["y", "x", "z"]),
            "b": rng.integers(0, 2, n).astype(bool),
            "s": pd.array(rng.choice(np.array(["p", "q", None], dtype=object), n), dtype="string"),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_duplicated_rows_is_pandas_duplicated(seed):
    df = _mixed_frame(np.random.default_rng(seed), 400)
    expected = df.duplicated(keep="first").to_numpy()
    assert 0 < expected.sum() < len(df)  # both kinds of rows are there
    np.testing.assert_array_equal(duplicated_rows(df), expected)
    subset = ["t", "c", "f"]
    np.testing.assert_array_equal(
        duplicated_rows(df, subset=subset), df.duplicated(subset=subset, keep="first").to_numpy()
    )


def test_duplicated_rows_of_no_rows_one_row_and_distinct_rows():
    for df in (pd.DataFrame({"a": []}), pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [3, 1, 2], "b": [1, 1, 1]})):
        np.testing.assert_array_equal(duplicated_rows(df), df.duplicated().to_numpy())
    assert duplicated_rows(pd.DataFrame({"a": [1, 1, 2, 1]})).tolist() == [False, True, False, True]


def _peak_bytes(func, *args, **kwargs) -> int:
    tracemalloc.start()
    try:
        func(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_duplicated_rows_holds_a_few_columns_not_a_code_per_cell():
    """pandas' duplicated keeps one int64 code per cell (as much as a float64 frame); duplicated_rows
    a few arrays of the frame's length, whatever the number of columns."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({f"x{j}": rng.integers(0, 3, 50_000).astype(float) for j in range(40)})
    frame_bytes = int(df.memory_usage(index=False).sum())
    assert _peak_bytes(df.duplicated) > frame_bytes  # what the function avoids
    assert _peak_bytes(duplicated_rows, df) < frame_bytes / 4


def test_validate_and_clean_does_not_copy_the_numeric_columns(clean):
    """The clean frame reuses the converted columns, and counting duplicates holds no code per cell:
    besides its input, validate_and_clean needs well under the numeric data's size."""
    rng = np.random.default_rng(0)
    n = 50_000
    df = pd.DataFrame({f"x{j}": rng.integers(0, 3, n).astype(float) for j in range(40)})
    df["y"] = (np.arange(n) % 10 == 0).astype(int)
    numeric_bytes = 40 * n * 8
    assert _peak_bytes(clean, df) < numeric_bytes / 2
