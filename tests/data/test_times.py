"""Unit tests of imbalance_lab.data.times: the time column, calendar features, class balance by period."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data
from imbalance_lab.data.times import time_text
from imbalance_lab.errors import DataError


def test_parse_times_reads_text_in_one_format():
    times = data.parse_times(pd.Series(["2024-01-31", " 2024-02-01 ", "2023-12-24"]), column="d", source="s.csv")
    assert times.dtype == "datetime64[ns]"
    assert times.tolist() == [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-01"), pd.Timestamp("2023-12-24")]


def test_parse_times_takes_typed_dates_beside_text():
    """An Excel source's dates (datetime objects) beside a CSV source's text, in one object column."""
    values = pd.Series(["2023-01-15", pd.Timestamp("2024-06-01"), datetime.datetime(2024, 1, 3, 12)], dtype=object)
    times = data.parse_times(values, column="d", source="s")
    assert times.tolist() == [pd.Timestamp("2023-01-15"), pd.Timestamp("2024-06-01"), pd.Timestamp("2024-01-03 12:00")]


def test_parse_times_keeps_typed_datetimes_and_drops_time_zones():
    aware = pd.Series(pd.to_datetime(["2024-01-01 01:00"]).tz_localize("Europe/Berlin"))
    assert data.parse_times(aware, column="d", source="s").tolist() == [pd.Timestamp("2024-01-01 00:00")]
    offsets = pd.Series(["2023-01-01T00:00:00+01:00", "2023-01-01T00:00:00+02:00"])
    assert data.parse_times(offsets, column="d", source="s").tolist() == [
        pd.Timestamp("2022-12-31 23:00"),
        pd.Timestamp("2022-12-31 22:00"),
    ]


def test_parse_times_takes_numbers_that_order_the_rows():
    times = data.parse_times(pd.Series([2021, 2020, 2022]), column="year", source="s")
    assert times.dtype == "float64" and times.tolist() == [2021.0, 2020.0, 2022.0]


def test_a_value_that_is_not_a_date_is_named_with_its_row(data_error):
    values = pd.Series(["2024-01-01", "2024-01-02", "soon", "2024-01-04", "later"])
    msg = data_error(data.parse_times, values, column="signup", source="s.csv")
    assert msg.startswith("s.csv: time column 'signup' has 2 value(s) that are not dates like '2024-01-01'")
    assert "(first 'soon' at data row 3)" in msg and "one format" in msg


def test_a_column_of_no_dates_says_so(data_error):
    msg = data_error(data.parse_times, pd.Series(["red", "blue"]), column="colour", source="s.csv")
    assert "time column 'colour' holds no dates (first value 'red')" in msg and "prepare.time_column" in msg


def test_a_missing_time_is_refused(data_error):
    msg = data_error(data.parse_times, pd.Series(["2024-01-01", None, None]), column="d", source="s.csv")
    assert "time column 'd' is empty in 2 row(s) (first at data row 2)" in msg and "fill in their dates" in msg


def test_date_features_are_numeric_columns_named_after_the_time_column():
    times = pd.Series(pd.to_datetime(["2024-01-31 13:45", "2024-12-30 00:00"]))
    out = data.date_features(times, column="signup", features=list(data.DATE_FEATURES), source="s")
    assert list(out.columns) == [f"signup_{f}" for f in data.DATE_FEATURES]
    assert (out.dtypes == "float64").all()
    assert out.iloc[0].tolist() == [2024, 1, 1, 5, 31, 2, 31, 13, 45]
    assert out.iloc[1][["signup_week", "signup_weekday", "signup_dayofyear"]].tolist() == [1, 0, 365]


def test_date_features_need_dates(data_error):
    msg = data_error(data.date_features, pd.Series([2020.0]), column="year", features=["month"], source="s")
    assert "time column 'year' holds numbers, not dates" in msg and "date_features" in msg
    assert data.date_features(pd.Series([2020.0]), column="year", features=[], source="s").shape == (1, 0)


def test_class_balance_over_time_by_month():
    times = pd.Series(pd.to_datetime(["2023-01-15", "2023-01-20", "2023-03-01", "2024-06-01"]))
    table = data.class_balance_over_time(times, pd.Series([0, 1, 1, 0]))
    assert table["period"].tolist() == ["2023-01", "2023-03", "2024-06"]  # empty months left out
    assert table["rows"].tolist() == [2, 1, 1] and table["positives"].tolist() == [1, 1, 0]
    assert table["share"].tolist() == [0.5, 1.0, 0.0]
    assert table["start"].iloc[0] == pd.Timestamp("2023-01-01")


def test_class_balance_over_time_picks_the_finest_period_that_fits():
    days = pd.Series(pd.date_range("2024-01-01", periods=20, freq="D"))
    assert data.class_balance_over_time(days, np.zeros(20))["period"].iloc[0] == "2024-01-01"
    years = pd.Series(pd.to_datetime(["1990-01-01", "2024-01-01"]))
    assert data.class_balance_over_time(years, np.zeros(2))["period"].tolist() == ["1990", "2024"]


def test_class_balance_over_time_of_numbers_uses_equal_bins():
    table = data.class_balance_over_time(pd.Series(np.arange(100.0)), np.arange(100) % 2, max_periods=4)
    assert table["rows"].tolist() == [25, 25, 25, 25] and table["period"].tolist() == ["0", "24.75", "49.5", "74.25"]


@pytest.mark.parametrize(
    "value, text",
    [
        (pd.Timestamp("2024-01-31"), "2024-01-31"),
        (pd.Timestamp("2024-01-31 12:30"), "2024-01-31T12:30:00"),
        (2020.0, "2020"),
        (2.5, "2.5"),
    ],
)
def test_time_text(value, text):
    assert time_text(value) == text


def test_add_date_features_derives_what_new_raw_rows_lack():
    raw = pd.DataFrame({"signup": ["2024-03-04", "2024-12-25"], "age": [30, 40]})
    features = ["age", "signup_month", "signup_weekday"]
    out = data.add_date_features(raw, time_column="signup", features=features, source="new.csv")
    assert out["signup_month"].tolist() == [3.0, 12.0] and out["signup_weekday"].tolist() == [0.0, 2.0]
    assert data.add_date_features(out, time_column="signup", features=features, source="new.csv") is out
    assert data.add_date_features(raw, time_column=None, features=features, source="new.csv") is raw
    assert data.add_date_features(
        raw.drop(columns="signup"), time_column="signup", features=features, source="n"
    ).shape == (2, 1)


def test_infinite_numeric_times_are_one_line_error():
    with pytest.raises(DataError) as exc:
        data.parse_times(pd.Series([1.0, np.inf, 3.0]), column="t", source="s.csv")
    assert str(exc.value) == (
        "s.csv: time column 't' holds 1 infinite value(s) (first at data row 2); give those rows their real "
        "time or remove them"
    )


def test_day_first_dates_need_time_format_and_are_read_with_it():
    """01/05/2024 reads as January 5th (month first) unless prepare.time_format says otherwise."""
    text = pd.Series(["01/05/2024", "01/06/2024", "15/06/2024"])
    with pytest.raises(DataError, match=r"set prepare\.time_format to the dates' format \(e\.g\. '%d/%m/%Y'"):
        data.parse_times(text, column="snap", source="s.csv")
    times = data.parse_times(text, column="snap", source="s.csv", time_format="%d/%m/%Y")
    assert times.dt.month.tolist() == [5, 6, 6] and times.dt.day.tolist() == [1, 1, 15]


def test_iso_dates_with_and_without_a_time_of_day_mix():
    times = data.parse_times(pd.Series(["2024-01-01", "2024-01-02 10:00"]), column="t", source="s.csv")
    assert times.tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02 10:00")]
