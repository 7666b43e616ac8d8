"""A column that dates the rows: parsed once, turned into calendar features, and summarised as the
class balance over time (the out-of-time split itself is in :mod:`imbalance_lab.data.split`).

The time column is never a feature: a model that sees the date learns the period, which a new
period does not repeat. Derived calendar features (``date_features``) are: month, weekday ...
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np
import pandas as pd

from ..errors import DataError

#: How the test rows are chosen: ``stratified`` (random, per class; the default) or ``time`` (the
#: latest rows by ``prepare.time_column``).
SPLITS = ("stratified", "time")
#: The calendar features ``prepare.date_features`` may name; each becomes a numeric column
#: ``<time_column>_<name>``.
DATE_FEATURES = ("year", "quarter", "month", "week", "day", "weekday", "dayofyear", "hour", "minute")
#: The periods :func:`class_balance_over_time` tries, finest first, with pandas' names.
PERIODS = (("day", "D"), ("week", "W"), ("month", "M"), ("quarter", "Q"), ("year", "Y"))


def parse_times(values: pd.Series, *, column: str, source: str, time_format: str | None = None) -> pd.Series:
    """The time column as datetime64 (or as float64 when it holds numbers, e.g. years).

    Text is parsed with ``time_format`` (a strftime format such as ``%d/%m/%Y``:
    ``prepare.time_format``) or, without one, the format pandas infers from the first value
    (month first for ``01/02/2024``; ISO 8601 dates with and without a time of day mix); every
    other value must follow it.

    Raises
    ------
    DataError
        A missing value, or a value that is not a date (in the inferred format), with the first
        such value and its data row.
    """
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"{source}: time column '{column}' is empty in {int(missing.sum())} row(s) (first at data row {row + 1}); "
            "fill in their dates or remove those rows, since every row needs a time for prepare.split: time"
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        return _naive(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        infinite = ~np.isfinite(numbers.to_numpy())
        if infinite.any():
            row = int(np.flatnonzero(infinite)[0])
            raise DataError(
                f"{source}: time column '{column}' holds {int(infinite.sum())} infinite value(s) (first at data "
                f"row {row + 1}); give those rows their real time or remove them"
            )
        return numbers
    typed = values.map(lambda v: isinstance(v, (datetime.date, np.datetime64))).to_numpy(dtype=bool)
    text = values.astype(str).str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if typed.any():  # e.g. an Excel source's dates beside a CSV source's text
        parsed[typed] = _naive(pd.to_datetime(pd.Series(list(values[typed]), index=values.index[typed]), utc=True))
    if not typed.all():
        parsed[~typed] = _naive(_parse_text(text[~typed], time_format=time_format))
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{source}: time column '{column}' has {int(bad.sum())} value(s) that are not dates like "
            f"{text.iloc[np.flatnonzero(~bad)[0]]!r} (first {text.iloc[row]!r} at data row {row + 1}); set "
            "prepare.time_format to the dates' format (e.g. '%d/%m/%Y' for day first) or write every date in one format"
            if not bad.all()
            else f"{source}: time column '{column}' holds no dates (first value {text.iloc[0]!r}); set "
            "prepare.time_column to a column of dates (e.g. 2024-01-31) or of numbers that order the rows"
        )
    return _naive(parsed)


def _parse_text(text: pd.Series, *, time_format: str | None = None) -> pd.Series:
    with warnings.catch_warnings():  # "could not infer format": the values that fail are reported
        warnings.simplefilter("ignore", UserWarning)
        if time_format is not None:
            return pd.to_datetime(text, format=time_format, errors="coerce")
        try:
            parsed = pd.to_datetime(text, errors="coerce")
        except (ValueError, TypeError):  # e.g. offsets that differ between rows
            parsed = pd.to_datetime(text, errors="coerce", utc=True)
        if parsed.isna().any():  # e.g. 2024-01-01 beside 2024-01-02 10:00: ISO 8601 both
            iso = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
            if iso.notna().all():
                return iso
        return parsed


def _naive(times: pd.Series) -> pd.Series:
    """Times with a time zone as UTC without it (calendar features and comparisons need one kind)."""
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return times.astype("datetime64[ns]")


def date_features(times: pd.Series, *, column: str, features: list[str], source: str) -> pd.DataFrame:
    """Calendar features of parsed times: one float64 column ``<column>_<name>`` per name.

    Parameters
    ----------
    times : Series
        :func:`parse_times` of the time column.
    column : str
        The time column (the prefix of the new columns).
    features : list of str
        Names from :data:`DATE_FEATURES`.
    source : str
        Name of the sources, for messages.
    """
    if features and not pd.api.types.is_datetime64_any_dtype(times):
        raise DataError(
            f"{source}: time column '{column}' holds numbers, not dates; prepare.date_features need dates: "
            "remove date_features or point time_column at a column of dates"
        )
    unknown = [f for f in features if f not in DATE_FEATURES]
    if unknown:
        raise DataError(f"{source}: unknown date feature(s) {unknown}; use some of {list(DATE_FEATURES)}")
    parts = {
        "year": lambda t: t.dt.year,
        "quarter": lambda t: t.dt.quarter,
        "month": lambda t: t.dt.month,
        "week": lambda t: t.dt.isocalendar().week,
        "day": lambda t: t.dt.day,
        "weekday": lambda t: t.dt.day_of_week,
        "dayofyear": lambda t: t.dt.day_of_year,
        "hour": lambda t: t.dt.hour,
        "minute": lambda t: t.dt.minute,
    }
    return pd.DataFrame(
        {f"{column}_{name}": parts[name](times).astype("float64") for name in features}, index=times.index
    )


def time_text(value: object) -> str:
    """A time as text for reports: ISO date (with the time of day when it is not midnight), or the
    number."""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def class_balance_over_time(times: pd.Series, y: pd.Series, *, max_periods: int = 30) -> pd.DataFrame:
    """Rows, positives and the positive share per period of time.

    The period is the finest of day, week, month, quarter and year whose periods from the first
    time to the last are at most ``max_periods`` (years when none is) (for numeric times: ``max_periods`` equal-width bins).

    Returns
    -------
    DataFrame
        Columns ``period`` (text), ``start`` (the period's first time), ``rows``, ``positives`` and
        ``share``, in time order; periods without rows are left out.
    """
    y = pd.Series(np.asarray(y).astype(int), index=times.index)
    if pd.api.types.is_datetime64_any_dtype(times):
        for _, freq in PERIODS:  # the finest period whose span of periods fits
            if len(pd.period_range(times.min(), times.max(), freq=freq)) <= max_periods:
                break
        periods = times.dt.to_period(freq)
        keys, labels = periods, periods.astype(str)
        starts = periods.dt.start_time
    else:
        edges = np.linspace(float(times.min()), float(times.max()), max_periods + 1)
        keys = pd.Series(
            np.clip(np.searchsorted(edges, times, side="right") - 1, 0, max_periods - 1), index=times.index
        )
        starts = pd.Series(edges[keys.to_numpy()], index=times.index)
        labels = starts.map(time_text)
    table = pd.DataFrame({"key": keys, "period": labels, "start": starts, "y": y})
    out = (
        table.groupby("key", sort=True)
        .agg(period=("period", "first"), start=("start", "first"), rows=("y", "size"), positives=("y", "sum"))
        .reset_index(drop=True)
    )
    out["share"] = out["positives"] / out["rows"]
    return out


def add_date_features(
    df: pd.DataFrame, *, time_column: str | None, features: list[str], source: str, time_format: str | None = None
) -> pd.DataFrame:
    """``df`` with the calendar features among ``features`` (a schema's features) derived from
    ``time_column`` when ``df`` lacks them: new data in the raw format, scored by a model trained
    with ``prepare.date_features``. Unchanged without a time column or when nothing is missing.

    Parameters
    ----------
    df : DataFrame
        Raw rows.
    time_column : str or None
        The schema's time column.
    features : list of str
        The schema's features (those named ``<time_column>_<date feature>`` are derived).
    source : str
        The input's name, for messages.
    time_format : str, optional
        The schema's time format (``prepare.time_format``).
    """
    if time_column is None or time_column not in df.columns:
        return df
    wanted = [f for f in DATE_FEATURES if f"{time_column}_{f}" in features and f"{time_column}_{f}" not in df.columns]
    if not wanted:
        return df
    times = parse_times(df[time_column], column=time_column, source=source, time_format=time_format)
    return pd.concat([df, date_features(times, column=time_column, features=wanted, source=source)], axis=1)
