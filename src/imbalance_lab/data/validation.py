"""Validate the raw data and turn it into model-ready columns.

:func:`validate_and_clean` runs named checks in order, each raising
:class:`~imbalance_lab.errors.DataError` with one line naming the column and the fix:

1. :func:`check_columns`: the target and every column named in params exist, nothing is listed
   twice, the hashing salt is set;
2. the target is encoded as 0/1 (:func:`imbalance_lab.data.target.map_target`); a time column,
   when set, is parsed (:func:`imbalance_lab.data.times.parse_times`) and its calendar features
   derived;
3. :func:`convert_feature` per feature: not empty, one value per row, not dates, numbers (finite)
   or categories (not a different value in every row); constant columns are dropped;
4. :func:`check_class_counts`: both classes reach the test part and every validation fold.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .ids import ID_HASH, SALT_ENV, hash_ids
from .schema import Schema
from .sources import header_hint
from .target import map_target, norm_label
from .times import date_features as derive_date_features
from .times import parse_times
from .values import TIME_TYPES, coerce_numeric, date_text, map_distinct, row_number_like, strip_text

log = logging.getLogger(__name__)

#: A categorical column with a different value in every one of more than this many rows is an
#: identifier, not a feature.
IDENTIFIER_MIN_ROWS = 20


def check_columns(
    df: pd.DataFrame,
    *,
    source: str,
    target: str,
    categorical: list[str],
    drop_columns: list[str],
    hash_columns: list[str],
    hash_salt: str | None,
    time_column: str | None = None,
) -> None:
    """Check that the data has rows, the target and every column params names, that no column is
    both dropped and hashed, and that a salt is set when columns are hashed. When the target is
    missing and the header looks like data, the message says so and names the options that read a
    file without a header row."""
    if len(df) == 0:
        raise DataError(f"{source}: no data rows (header only?); add data rows")
    if target not in df.columns:
        close = [c for c in df.columns if c.lower() == target.lower()] or difflib.get_close_matches(
            target, [str(c) for c in df.columns], n=1
        )
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(
            f"{source}: target column '{target}' not found{hint}; set prepare.target to one of "
            f"{list(df.columns)[:8]}{'...' if df.shape[1] > 8 else ''}{header_hint(source, df)}"
        )
    if time_column is not None:
        if time_column not in df.columns:
            raise DataError(
                f"{source}: time column '{time_column}' not found; set prepare.time_column to one of "
                f"{list(df.columns)[:8]}{'...' if df.shape[1] > 8 else ''}"
            )
        for key, cols in (("categorical", categorical), ("drop_columns", drop_columns), ("hash_columns", hash_columns)):
            if time_column in cols:
                raise DataError(
                    f"{source}: the time column '{time_column}' is listed in prepare.{key}; remove it from there "
                    "(it is never a feature; prepare.date_features derive features from it)"
                )
    for key, cols in (("categorical", categorical), ("drop_columns", drop_columns), ("hash_columns", hash_columns)):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{source}: column(s) {missing} in prepare.{key} not found; fix prepare.{key}")
        if target in cols:
            raise DataError(f"{source}: the target '{target}' is listed in prepare.{key}; remove it from there")
    both = [c for c in hash_columns if c in drop_columns]
    if both:
        raise DataError(
            f"{source}: column(s) {both} are in both prepare.drop_columns and prepare.hash_columns; keep them in one"
        )
    if hash_columns and not hash_salt:
        raise DataError(
            f"prepare.hash_columns is set but ${SALT_ENV} (the salt) is unset or empty; export it with a secret value"
        )


def check_one_value_per_row(s: pd.Series, *, col: str, source: str) -> None:
    """Refuse a column that is empty in every row or holds lists, dicts or arrays."""
    if s.isna().all():
        raise DataError(f"{source}: column '{col}' is empty in every row; add it to prepare.drop_columns")
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True).startswith("mixed"):
        nested = s.map(lambda v: isinstance(v, (list, tuple, dict, set, np.ndarray)))
        if nested.any():
            row = int(np.flatnonzero(nested.to_numpy())[0])
            raise DataError(
                f"{source}: column '{col}' holds {type(s.iloc[row]).__name__} values (first at data row {row + 1}), "
                "not one value per row; add it to prepare.drop_columns or flatten it into columns before the pipeline"
            )


def check_not_dates(s: pd.Series, *, col: str, source: str) -> None:
    """Refuse a column of dates or times (typed, or text written as dates) that is not declared
    categorical."""
    text_date = date_text(s)
    if (
        pd.api.types.is_datetime64_any_dtype(s)
        or pd.api.types.is_timedelta64_dtype(s)
        or (s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in TIME_TYPES)
        or text_date is not None
    ):
        kind = f"text such as {text_date[:30]!r}" if text_date is not None else s.dtype
        raise DataError(
            f"{source}: column '{col}' holds dates or times ({kind}); drop it (prepare.drop_columns), "
            "derive numeric features from it before the pipeline, or list it in prepare.categorical to use "
            "its values as categories"
        )


@dataclass
class Converted:
    """One feature column after :func:`convert_feature`.

    Attributes
    ----------
    kind : {"numeric", "categorical", "constant"}
    values : Series or Categorical or None
        The converted values (float64, or a pandas Categorical of stripped text); None when constant.
    categories : list of str
        The sorted categories of a categorical column.
    identifier_like : str or None
        Why a numeric column looks like an identifier or row number (it is kept, with a warning).
    """

    kind: str
    values: Any = None
    categories: list[str] = field(default_factory=list)
    identifier_like: str | None = None


def convert_feature(df: pd.DataFrame, col: str, *, source: str, nominal: bool) -> Converted:
    """Check one feature column and convert it to numbers or categories.

    Parameters
    ----------
    df : DataFrame
        The raw data.
    col : str
        The column.
    source : str
        Name of the sources, for messages.
    nominal : bool
        Declared in ``prepare.categorical`` (its values are categories, whatever they look like).
    """
    s = df[col]
    check_one_value_per_row(s, col=col, source=source)
    if not nominal:
        check_not_dates(s, col=col, source=source)
    nominal = nominal or isinstance(s.dtype, pd.CategoricalDtype)  # e.g. Parquet categories 1, 2, 3
    values = None if nominal else coerce_numeric(df, col, source)
    if values is not None:
        values = values.astype("float64")
        if np.isinf(values).any():
            raise DataError(
                f"{source}: column '{col}' holds infinite values in {int(np.isinf(values).sum())} row(s); "
                "replace them with a finite number or leave them blank"
            )
        if values.nunique(dropna=False) <= 1:
            return Converted("constant")
        return Converted("numeric", values, identifier_like=row_number_like(col, values))
    text = map_distinct(s, strip_text)
    n_unique = text.nunique(dropna=True)
    if n_unique <= 1 and not text.isna().any():
        return Converted("constant")
    n_present = int(text.notna().sum())
    if n_unique == n_present and n_present > IDENTIFIER_MIN_ROWS:
        raise DataError(
            f"{source}: categorical column '{col}' has a different value in every row (an identifier?); "
            "add it to prepare.drop_columns or prepare.hash_columns"
        )
    categories = sorted(text.dropna().unique())
    return Converted("categorical", pd.Categorical(text, categories=categories), categories)


def check_class_counts(y: pd.Series, *, source: str, test_size: float, n_splits: int) -> None:
    """Both classes must reach the test part and have ``n_splits`` training rows (an estimate of
    the split: :func:`imbalance_lab.data.split_holdout` checks the split it makes)."""
    positives = int(y.sum())
    for kind, count in (("positive", positives), ("negative", len(y) - positives)):
        in_train = int(np.floor(count * (1.0 - test_size)))
        if in_train < n_splits or count - in_train < 1:
            raise DataError(
                f"{source}: only {count} {kind} row(s); with test_size={test_size} the training part "
                f"gets about {in_train}, fewer than prepare.n_splits={n_splits}; lower prepare.n_splits "
                f"or prepare.test_size, or add {kind} rows"
            )


def duplicated_rows(frame: pd.DataFrame, *, subset: list[str] | None = None) -> np.ndarray:
    """Which rows repeat an earlier row: ``frame.duplicated(subset, keep="first")``, in less memory.

    pandas factorizes every column before it combines them, holding one int64 code per cell
    (51 columns x 1e7 rows: 3.8 GiB). Here the columns are folded in one at a time: each
    column's codes are combined with the row groups found so far and renumbered, so a few int64
    arrays of the frame's length are alive at once, whatever the number of columns. Values are
    compared as pandas compares them (``pd.factorize``: NaN equals NaN, a categorical by its
    categories).

    Parameters
    ----------
    frame : DataFrame
        The rows.
    subset : list of str, optional
        The columns that make two rows equal (default: all).

    Returns
    -------
    ndarray of bool
        True for every row equal to an earlier one.
    """
    n = len(frame)
    groups = np.zeros(n, dtype=np.int64)
    n_groups = 1 if n else 0
    for col in frame.columns if subset is None else subset:
        if n_groups == n:  # every row already differs from every other
            break
        codes, uniques = pd.factorize(frame[col].values, use_na_sentinel=False)
        # group * k + code < n * n: no overflow below 3e9 rows
        groups, group_ids = pd.factorize(groups * len(uniques) + codes)
        n_groups = len(group_ids)
        del codes, uniques, group_ids
    # the groups are numbered in order of first appearance: a row starts a group when its number
    # exceeds every number before it
    first = np.ones(n, dtype=bool)
    if n > 1:
        first[1:] = groups[1:] > np.maximum.accumulate(groups)[:-1]
    return ~first


def validate_and_clean(
    df: pd.DataFrame,
    *,
    source: str,
    target: str,
    positive_label: Any,
    categorical: list[str],
    drop_columns: list[str],
    hash_columns: list[str],
    hash_salt: str | None,
    drop_duplicates: bool,
    n_splits: int,
    test_size: float,
    negative_label: Any = None,
    time_column: str | None = None,
    date_features: list[str] | tuple[str, ...] = (),
    time_format: str | None = None,
) -> tuple[pd.DataFrame, Schema, dict[str, Any]]:
    """Validate raw data and turn it into model-ready columns.

    Parameters
    ----------
    df : DataFrame
        The raw, unioned sources.
    source : str
        Name of the sources, for messages.
    target, positive_label : str, scalar
        The target column and the label that counts as positive.
    categorical : list of str
        Columns to treat as categorical (nominal). Text columns are categorical anyway.
    drop_columns : list of str
        Identifiers or personal data removed before anything is written.
    hash_columns : list of str
        Identifiers kept as a salted hash (not used as features).
    hash_salt : str or None
        The salt for ``hash_columns``; required when that list is not empty.
    drop_duplicates : bool
        Drop exact duplicate rows (they are counted either way).
    n_splits, test_size : int, float
        Used to check that every fold gets positives.
    negative_label : scalar, list, "rest" or None
        The negative label(s) (:func:`imbalance_lab.data.target.map_target`); None: the one other class.
    time_column : str, optional
        The column that dates the rows: parsed, kept beside the features (not one) for the time split.
    date_features : list of str
        Calendar features derived from ``time_column`` (:data:`imbalance_lab.data.times.DATE_FEATURES`).
    time_format : str, optional
        The strftime format of ``time_column``'s text (default: inferred from its first value).

    Returns
    -------
    (DataFrame, Schema, dict)
        The clean data (features, id columns, the time column, 0/1 target), its schema and a report
        of what was found and dropped; ``report["target"]`` is the
        :class:`~imbalance_lab.data.target.TargetMapping` (the labels on each side, with their rows).
    """
    check_columns(
        df,
        source=source,
        target=target,
        categorical=categorical,
        drop_columns=drop_columns,
        hash_columns=hash_columns,
        hash_salt=hash_salt,
        time_column=time_column,
    )
    report: dict[str, Any] = {"rows_read": len(df)}
    df = df.drop(columns=drop_columns)
    missing_target = df[target].isna()
    if missing_target.any():
        log.warning("dropping %d row(s) with a missing target", int(missing_target.sum()))
        df = df.loc[~missing_target]
    report["rows_missing_target"] = int(missing_target.sum())
    mapping = map_target(
        df[target], positive_label=positive_label, negative_label=negative_label, source=source, target=target
    )
    y = mapping.y
    ids = {c: hash_ids(df[c], hash_salt or "") for c in hash_columns}
    times, df = _time_columns(
        df, time_column=time_column, date_features=list(date_features), source=source, time_format=time_format
    )
    feature_cols = [c for c in df.columns if c not in (target, time_column) and c not in hash_columns]

    converted = {col: convert_feature(df, col, source=source, nominal=col in categorical) for col in feature_cols}
    _warn_identifiers(converted, source=source)
    kept = [col for col, c in converted.items() if c.kind != "constant"]
    if not kept:
        raise DataError(f"{source}: no usable feature columns left besides the target '{target}'; add feature columns")
    report["constant_columns_dropped"] = [col for col, c in converted.items() if c.kind == "constant"]
    report["suspected_identifiers"] = [col for col, c in converted.items() if c.identifier_like]

    # One constructor call without copy: by default pandas copies a dict's columns into one block
    # per dtype, a second copy of the numeric data (3.1 GiB at 1e7 rows of 42 float64 columns).
    # The id columns lead, in the reverse of their order in params (as before: each was put first).
    columns: dict[str, Any] = {c: ids[c].values for c in reversed(list(ids))}
    columns.update((col, converted[col].values) for col in kept)
    if times is not None:
        columns[time_column] = times.values
    columns[target] = y.values
    clean = pd.DataFrame(columns, index=df.index, copy=False)
    del columns
    dup_mask = duplicated_rows(clean, subset=[*kept, target])
    report["duplicate_rows"] = int(dup_mask.sum())
    if drop_duplicates and dup_mask.any():
        clean = clean.loc[~dup_mask]
    report["duplicate_rows_dropped"] = int(dup_mask.sum()) if drop_duplicates else 0
    clean = clean.reset_index(drop=True)

    check_class_counts(clean[target], source=source, test_size=test_size, n_splits=n_splits)
    schema = Schema(
        target=target,
        positive_label=", ".join(norm_label(v) for v in _as_list(positive_label)),
        numeric=[col for col in kept if converted[col].kind == "numeric"],
        categorical={col: converted[col].categories for col in kept if converted[col].kind == "categorical"},
        features=kept,
        id_columns=list(hash_columns),
        id_hash=ID_HASH if hash_columns else None,
        dropped_columns=sorted(set(drop_columns) | set(report["constant_columns_dropped"])),
        time_column=time_column,
        time_format=time_format if time_column is not None else None,
    )
    report.update(rows=len(clean), positives=int(clean[target].sum()), target=mapping)
    return clean, schema, report


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _warn_identifiers(converted: dict[str, Converted], *, source: str) -> None:
    """Warn of each numeric feature that looks like an identifier or a row number (it is kept)."""
    for col, c in converted.items():
        if c.identifier_like:
            log.warning(
                "%s: numeric column '%s' %s: an identifier or row index? It is used as a feature; if it "
                "is not one, add it to prepare.drop_columns or prepare.hash_columns",
                source,
                col,
                c.identifier_like,
            )


def _time_columns(
    df: pd.DataFrame, *, time_column: str | None, date_features: list[str], source: str, time_format: str | None
) -> tuple[pd.Series | None, pd.DataFrame]:
    """The parsed time column (None without one) and the data with its calendar features added."""
    if time_column is None:
        return None, df
    times = parse_times(df[time_column], column=time_column, source=source, time_format=time_format)
    derived = derive_date_features(times, column=time_column, features=date_features, source=source)
    clash = [c for c in derived.columns if c in df.columns]
    if clash:
        raise DataError(
            f"{source}: date feature column(s) {clash} exist in the data already; rename them or drop them "
            "(prepare.drop_columns), or remove those names from prepare.date_features"
        )
    return times, pd.concat([df, derived], axis=1)
