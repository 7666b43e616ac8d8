"""New data checked against a model's schema and converted for its pipeline.

:func:`check_input` stops with a one-line :class:`~imbalance_lab.errors.ScoringError` naming the
file and column (or row) when the data does not fit: a feature missing, text or infinite values
in a numeric feature. Categories are spelled as in training (``7``, ``7.0`` and ``"07"`` are the
training category ``"7"``); values never seen in training are counted.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.schema import Schema
from ..data.times import add_date_features
from ..data.values import TRUTH_TEXT
from ..errors import ScoringError

log = logging.getLogger(__name__)

_NA_TEXT = {"", "nan", "na", "n/a", "null", "none"}


@dataclass(frozen=True)
class CheckedInput:
    """Input rows made ready for the model.

    Attributes
    ----------
    X : DataFrame
        The schema's features in its order: numeric as float64, categoricals as text (object,
        missing as NaN) spelled like the training categories.
    ids : DataFrame
        The schema's id columns that are present in the input.
    extra_columns : list of str
        Input columns the model does not use (ignored).
    unseen : dict
        Categorical column -> number of non-missing values not seen in training.
    """

    X: pd.DataFrame
    ids: pd.DataFrame
    extra_columns: list[str]
    unseen: dict[str, int]


def _number_key(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def short_list(columns: list[str], limit: int = 10) -> str:
    """At most ``limit`` names, quoted, and how many there are in all when there are more."""
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _numeric_column(values: pd.Series, *, col: str, source: str, row_offset: int) -> pd.Series:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        out = values.astype("float64")
    else:
        obj = values.astype(object)
        text = obj.map(
            lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else str(v).strip()
        )
        # the map may hand back a str-dtype column with NaN for None (pandas 3): test for text
        blank = text.map(lambda t: not isinstance(t, str) or t.lower() in _NA_TEXT).astype(bool)
        truth = text.str.lower().map(TRUTH_TEXT)
        parsed = pd.to_numeric(text.where(~blank & truth.isna(), None), errors="coerce")
        parsed = parsed.where(truth.isna(), truth.astype("float64"))  # True/False as written by a CSV of booleans
        bad = parsed.isna() & ~blank
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            first = str(text.iloc[pos])
            fix = (
                "write numbers with a '.' for decimals and no thousands separator (convert the file, e.g. read "
                "it with decimal=',' or thousands=',' and write it again)"
                if re.fullmatch(r"[-+]?[\d.]*\d,\d+", first)
                else "fix or blank those values"
            )
            raise ScoringError(
                f"{source}: column '{col}' is numeric in the model but holds text {first[:40]!r} "
                f"in {int(bad.sum())} row(s) of this part (first at data row {row_offset + pos + 1}); {fix}"
            )
        out = parsed.astype("float64")
    arr = out.to_numpy(dtype="float64", na_value=np.nan)
    inf = np.isinf(arr)
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise ScoringError(
            f"{source}: column '{col}' holds infinite values in {int(inf.sum())} row(s) (first at data row "
            f"{row_offset + pos + 1}); replace them with a finite number or leave them blank"
        )
    return pd.Series(arr, index=values.index, name=col)


def _categorical_column(values: pd.Series, categories: list[str]) -> tuple[pd.Series, int]:
    known = {str(c) for c in categories}
    by_number: dict[float, str] = {}
    for c in categories:
        key = _number_key(str(c))
        if key is not None:
            by_number.setdefault(key, str(c))

    def spell(value: Any) -> str:
        text = str(value).strip()
        if text in known:
            return text
        key = _number_key(text)  # 7, 7.0 and "07" are the training category "7"
        if key is not None and key in by_number:
            return by_number[key]
        return text

    obj = values.astype(object)
    present = obj.notna()
    mapping = {v: spell(v) for v in pd.unique(obj[present])}
    out = obj.map(mapping).where(present, np.nan).astype(object)
    unseen = int((present & ~out.isin(known)).sum())
    return out, unseen


def check_input(
    df: pd.DataFrame,
    schema: Schema,
    *,
    source: str,
    row_offset: int = 0,
    warn: bool = True,
    id_columns: list[str] | None = None,
) -> CheckedInput:
    """Check new data against the model's schema and convert it for the pipeline.

    Parameters
    ----------
    df : DataFrame
        New rows (a whole file or one chunk of it).
    schema : Schema
        The model's schema.
    source : str
        The file name, for messages.
    row_offset : int
        Rows before this chunk in the file (for row numbers in messages).
    warn : bool
        Log a warning about extra columns.
    id_columns : list of str, optional
        The input's id columns, kept beside the scores; default: the schema's.

    Returns
    -------
    CheckedInput

    Raises
    ------
    ScoringError
        A feature column is missing, or a numeric feature holds text or infinite values.
    """
    features = list(schema.features)
    # a model trained with prepare.date_features takes new data in the raw format: the calendar
    # features are derived from the time column as prepare derived them
    df = add_date_features(
        df, time_column=schema.time_column, features=features, source=source, time_format=schema.time_format
    )
    missing = [c for c in features if c not in df.columns]
    if missing:
        lower = {str(c).lower(): c for c in df.columns}
        close = [f"'{lower[m.lower()]}'" for m in missing if m.lower() in lower]
        hint = f" (found {', '.join(close)}: names are case-sensitive)" if close else ""
        what = (
            f"column '{missing[0]}' is missing" if len(missing) == 1 else f"columns {short_list(missing)} are missing"
        )
        raise ScoringError(
            f"{source}: {what}{hint}; the model expects the columns {short_list(features)}: "
            f"add {'it' if len(missing) == 1 else 'them'} to the input file"
        )
    id_columns = [c for c in (schema.id_columns if id_columns is None else id_columns) if c in df.columns]
    extra = [str(c) for c in df.columns if c not in features and c not in id_columns]
    if extra and warn:
        log.warning("%s: ignoring %d column(s) the model does not use: %s", source, len(extra), short_list(extra))
    X = {}
    unseen: dict[str, int] = {}
    for col in features:
        if col in schema.categorical:
            X[col], unseen[col] = _categorical_column(df[col], schema.categorical[col])
        else:
            X[col] = _numeric_column(df[col], col=col, source=source, row_offset=row_offset)
    frame = pd.DataFrame(X, index=df.index)[features].reset_index(drop=True)
    ids = df[id_columns].reset_index(drop=True)
    return CheckedInput(X=frame, ids=ids, extra_columns=extra, unseen=unseen)
