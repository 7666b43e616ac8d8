"""What a raw column's values are: numbers, booleans written as text, dates, identifiers, or
numbers with placeholders and decimal commas that need a reading option.

Functions here look at one column (a Series) and either convert it or describe what is wrong
with it; :mod:`imbalance_lab.data.validation` turns their findings into one-line errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError

#: A column whose values parse as numbers in at least this share of non-missing rows is
#: numeric; the rest of its values are reported as text in a numeric column.
NUMERIC_SHARE = 0.95


#: A column whose values parse as numbers in at least this share of non-missing rows, with at
#: least :data:`PLACEHOLDER_NUMBERS` distinct numbers (a measurement, not a few codes), and whose
#: other values are at most :data:`PLACEHOLDER_KINDS` distinct texts ("?", "-", "unknown"), is
#: numbers with placeholders for missing values: reported, with the ``na_values`` option to fix
#: it (it used to become a categorical with a level per number).
PLACEHOLDER_SHARE = 0.5


PLACEHOLDER_NUMBERS = 10


PLACEHOLDER_KINDS = 3


#: Text of booleans, as pandas writes them to CSV (a column of them with blanks is read back as
#: text): 1 and 0, as pandas reads the same column without blanks.
TRUTH_TEXT = {"true": 1.0, "false": 0.0}


def map_distinct(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``values.map(func)`` with missing values kept missing, calling ``func`` once per distinct
    value instead of once per row (a million-row column has a few dozen distinct values)."""
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True).startswith("mixed"):
        # values of several types: factorize would take 1, 1.0 and True for one value
        return pd.Series([None if pd.isna(v) else func(v) for v in values], index=values.index, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.asarray([func(v) for v in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)  # code -1 (missing) -> None


def strip_text(value: Any) -> str:
    """A value as text without surrounding whitespace."""
    return str(value).strip()


def comma_option(texts: pd.Series, share: float) -> str | None:
    """The CSV option under which text values with commas (``"5,5"``, ``"1,234,567"``) would be
    numbers (in at least :data:`NUMERIC_SHARE` of the values and more than as they are), or None."""
    if not texts.str.contains(",", regex=False).any():
        return None
    readings = {  # a thousands separator is one followed by three digits
        '{decimal: ","}': texts.str.replace(",", ".", regex=False),
        '{thousands: ","}': texts.str.replace(r"(?<=\d),(?=\d{3}(?!\d))", "", regex=True),
        '{decimal: ",", thousands: "."}': texts.str.replace(r"(?<=\d)\.(?=\d{3}(?!\d))", "", regex=True).str.replace(
            ",", ".", regex=False
        ),
    }
    shares = {option: pd.to_numeric(v, errors="coerce").notna().mean() for option, v in readings.items()}
    best = max(shares, key=shares.get)  # ties: the first, a decimal comma
    return best if shares[best] >= NUMERIC_SHARE and shares[best] > share else None


#: A numeric column counts as a row number when it has at least this many values.
ROW_NUMBER_MIN_ROWS = 20


def row_number_like(col: str, values: pd.Series) -> str | None:
    """Why a numeric column looks like an identifier or a row index, or None: a name pandas gives
    a written index (``Unnamed: 0``), or a different whole number in every row, with no gaps."""
    if re.fullmatch(r"Unnamed: \d+", col):
        return "has the name pandas gives an unnamed column (a row index written with to_csv?)"
    present = values.dropna().to_numpy()
    if len(present) < max(ROW_NUMBER_MIN_ROWS, len(values) // 2) or not np.all(present == np.round(present)):
        return None
    low, high = present.min(), present.max()
    if high - low + 1 == len(present) and len(np.unique(present)) == len(present):
        return f"numbers the rows (every value a different whole number, {low:.0f} to {high:.0f})"
    return None


def truth_values(s: pd.Series) -> pd.Series | None:
    """A text or object column of only True/False (text in any case, or Python booleans; blanks
    allowed) as 1.0/0.0 (NaN where blank), as pandas reads the same column without blanks; None
    for any other column."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return None

    def truth(v: Any) -> float | None:  # pandas reads "True" next to a blank as the bool True
        if isinstance(v, (bool, np.bool_)):
            return float(v)
        return TRUTH_TEXT.get(v.strip().lower()) if isinstance(v, str) else None

    try:
        distinct = pd.unique(s.dropna())
    except TypeError:  # unhashable values (lists, arrays): validate_and_clean names them
        return None
    if not 0 < len(distinct) <= 16:  # True, false, " TRUE" ...: a few spellings at most
        return None
    mapping = {v: truth(v) for v in distinct}
    if any(t is None for t in mapping.values()):
        return None
    return s.map(mapping).astype("float64")


def coerce_numeric(df: pd.DataFrame, col: str, source: str) -> pd.Series | None:
    """Return the column as numbers if it is numeric, None if it is text; raise on a mix."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return s
    present = s.dropna()
    if present.empty:
        return s.astype("float64")
    truth = truth_values(s)
    if truth is not None:
        return truth
    texts = present.astype(str).str.strip()
    parsed = pd.to_numeric(texts, errors="coerce")
    bad = parsed.isna()
    share = 1.0 - bad.mean()
    if share == 1.0:
        return pd.to_numeric(map_distinct(s, strip_text), errors="coerce")
    option = comma_option(texts, share)
    if option:
        row = (bad & texts.str.contains(",", regex=False)).idxmax()
        raise DataError(
            f"{source}: column '{col}' holds numbers written with a comma ({str(present[row])[:40]!r}); "
            f"set options: {option} for this source in prepare.sources, or declare the column in "
            "prepare.categorical if it is nominal"
        )
    others = sorted(texts[bad].unique())
    placeholders = (
        share >= PLACEHOLDER_SHARE and len(others) <= PLACEHOLDER_KINDS and parsed.nunique() >= PLACEHOLDER_NUMBERS
    )
    if share >= NUMERIC_SHARE or placeholders:
        row = bad.idxmax()
        hint = (
            f"if they stand for missing values, add na_values: {others!r} to this source's options in "
            "prepare.sources (CSV) or blank them; otherwise fix them"
            if len(others) <= PLACEHOLDER_KINDS
            else "fix or blank those values"
        )
        raise DataError(
            f"{source}: column '{col}' is numeric but holds text {str(present[row])[:40]!r} "
            f"in {int(bad.sum())} row(s) (first at data row {int(row) + 1}); {hint}, "
            "or declare the column in prepare.categorical"
        )
    return None


#: ``pd.api.types.infer_dtype`` of object columns of dates or times (e.g. Parquet date32 or SQL)
TIME_TYPES = {"datetime", "datetime64", "date", "timedelta", "timedelta64", "time"}


#: Text that is a date (three parts, one of them a four-digit year: 2024-01-31, 31/01/2024,
#: 31.01.2024, 20240131 is not) or a time of day (12:30, 12:30:59), possibly both. Two-part text
#: such as an age band (25-34) or a ratio (3/5) is not.
DATE_TEXT = (
    r"^\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$"
    r"|^\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*$"
)


def date_text(s: pd.Series) -> str | None:
    """The first value when every value of a text column is written as a date or a time of day
    (a CSV file's dates arrive as text), else None."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return None
    present = s.dropna()
    head = present.iloc[:1000]
    if head.empty or not all(isinstance(v, str) for v in head):
        return None
    if not head.astype(str).str.fullmatch(DATE_TEXT).all():  # most text columns stop here, cheaply
        return None
    return str(head.iloc[0]) if bool(present.astype(str).str.fullmatch(DATE_TEXT).all()) else None
