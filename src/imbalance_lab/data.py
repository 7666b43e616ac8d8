"""Read, validate and split the data: sources, schema, holdout split and the shared folds.

Everything here takes and returns values (DataFrames, dicts) except :func:`read_sources`,
which is the one place that touches the raw files. Every problem with the data raises
:class:`~imbalance_lab.errors.DataError` with one line naming the file or column and the fix.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from .errors import DataError

log = logging.getLogger(__name__)

CSV_OPTIONS = {"sep", "quotechar", "encoding", "decimal", "thousands", "na_values", "comment", "escapechar"}
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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _source_format(source: dict[str, Any], path: Path) -> str:
    fmt = source.get("format")
    if fmt:
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if any(s in (".csv", ".tsv", ".txt", ".dat") for s in suffixes):
        return "csv"
    raise DataError(f"{path}: cannot tell the format from the file name; set format: csv or parquet for this source")


def _sniff_sep(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        raise DataError(f"{path}: cannot detect the column separator; set options: {{sep: ','}} for this source") from None


def _multi_char(sep: str) -> bool:
    """A separator of several characters or a regex, which only pandas' python engine reads
    (``\\s+`` excepted: the C engine reads it as runs of whitespace)."""
    return len(sep) != 1 and sep != r"\s+"


def _header(path: Path, opts: dict[str, Any], encoding: str) -> list[str]:
    sep = opts["sep"]
    if len(sep) != 1:  # a regex or multi-character separator: pandas splits the header row as data,
        # so duplicate names are not mangled to 'a.1'
        first = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                            **({"engine": "python"} if _multi_char(sep) else {}), **opts)
        return [str(v) for v in first.iloc[0]] if len(first) else []
    with open(path, encoding=encoding, newline="") as fh:
        first = fh.readline()
    return next(csv.reader([first], delimiter=sep, quotechar=opts.get("quotechar", '"')), [])


def _decode_error(path: Path, encoding: str, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path}: the text is not valid {encoding} (byte {exc.object[exc.start]:#04x} at offset "
        f"{exc.start}); set options: {{encoding: latin-1}} (or the file's encoding, e.g. cp1252) for this source"
    )


def _read_csv(path: Path, options: dict[str, Any]) -> pd.DataFrame:
    unknown = set(options) - CSV_OPTIONS
    if unknown:
        raise DataError(f"{path}: unknown CSV option(s) {sorted(unknown)}; allowed: {sorted(CSV_OPTIONS)}")
    opts = dict(options)
    encoding = opts.get("encoding", "utf-8")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty; point prepare.sources at a CSV with a header row and data")
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise DataError(
            f"{path}: unknown encoding {encoding!r}; set options: {{encoding: utf-8}} (or latin-1, cp1252 ...) "
            "for this source"
        ) from None
    sep, quotechar = opts.get("sep", "auto"), opts.get("quotechar", '"')
    if not (isinstance(sep, str) and sep):
        raise DataError(f"{path}: the separator {sep!r} is not a non-empty text; set options: {{sep: auto}} "
                        "(or the right separator, e.g. ';') for this source")
    if not (isinstance(quotechar, str) and len(quotechar) == 1):
        raise DataError(f"{path}: the quote character {quotechar!r} is not one character; "
                        "set options: {quotechar: '\"'} (or the file's quote character) for this source")
    try:
        if sep == "auto":
            opts["sep"] = _sniff_sep(path, encoding)
        header = _header(path, opts, encoding)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding, exc) from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse as CSV ({msg}); check options sep, quotechar and encoding") from None
    seen, dupes = set(), []
    for name in (h.strip() for h in header):
        if name in seen:
            dupes.append(name)
        seen.add(name)
    if dupes:
        raise DataError(f"{path}: duplicate column name(s) {sorted(set(dupes))}; rename them so every column is unique")
    try:
        engine = {"engine": "python"} if _multi_char(opts["sep"]) else {"low_memory": False}
        df = pd.read_csv(path, **engine, **opts)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; point prepare.sources at a CSV with a header row and data") from None
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding, exc) from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse as CSV ({msg}); check options sep, quotechar and encoding") from None
    if df.shape[1] == 1 and len(header) == 1:
        raise DataError(
            f"{path}: only one column '{header[0][:60]}' was found with separator {opts['sep']!r}; "
            "set options: {sep: auto} (or the right separator) for this source in prepare.sources"
        )
    return df


def _read_sql(source: dict[str, Any]) -> pd.DataFrame:
    env = source["url_env"]
    url = os.environ.get(env)
    if not url:
        raise DataError(f"SQL source: environment variable {env} is not set; export it with the database URL")
    import importlib.util

    import sqlalchemy

    engine = None
    where = f"SQL source (URL from ${env})"
    stage = "url"
    try:
        parsed = sqlalchemy.engine.make_url(url)
        # SQLAlchemy >= 2.1 maps a bare postgresql:// to psycopg 3; the project installs psycopg2
        if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg") is None:
            parsed = parsed.set(drivername="postgresql+psycopg2")
        engine = sqlalchemy.create_engine(parsed)
        stage = "connect"
        with engine.connect() as conn:
            stage = "query"
            return pd.read_sql_query(sqlalchemy.text(source["query"]), conn)
    except ImportError as exc:
        driver = f" '{exc.name}'" if exc.name else ""
        raise DataError(
            f"{where}: the database driver{driver} is not installed; "
            "install it or name an installed driver in the URL (e.g. postgresql+psycopg2://)"
        ) from None
    except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError, ValueError) as exc:
        # never echo the URL or the driver's message: they may hold a password
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) and exc.__cause__ else exc
        kind = type(getattr(cause, "orig", None) or cause).__name__
        if stage == "url":
            fix = (f"the URL in ${env} is not a valid database URL ({kind}); "
                   "set it to dialect+driver://user:password@host:port/database")
        elif stage == "connect":
            fix = (f"cannot connect: the database refused the connection or is unreachable ({kind}); "
                   f"check that the server is running and reachable and that ${env} holds the right URL")
        else:
            fix = f"the database query failed ({kind}); check that the query in prepare.sources runs"
        raise DataError(f"{where}: {fix}") from None
    finally:
        if engine is not None:
            engine.dispose()


def read_source(source: dict[str, Any], *, base_dir: str | Path = ".") -> tuple[str, pd.DataFrame]:
    """Read one source described by a ``prepare.sources`` item.

    Parameters
    ----------
    source : dict
        ``{path, format?, options?}`` for a file or ``{query, url_env}`` for SQL.
    base_dir : str or Path
        Directory that relative paths are resolved against.

    Returns
    -------
    (str, DataFrame)
        A display name for messages and the data.
    """
    if "query" in source:
        name = f"SQL query (${source['url_env']})"
        return name, _strip_column_names(name, _read_sql(source))
    path = Path(base_dir) / source["path"]
    name = source["path"]
    relative = Path(os.path.normpath(name))
    if relative.is_absolute() or relative.parts[:1] == ("..",):  # DVC tracks base_dir only
        raise DataError(
            f"{name}: outside {Path(base_dir).as_posix()}/; copy the file into {Path(base_dir).as_posix()}/ "
            "and give its path relative to it"
        )
    if not path.exists():
        raise DataError(
            f"{name}: file not found in {Path(base_dir).as_posix()}/; fix the path in prepare.sources "
            f"(paths are relative to {Path(base_dir).as_posix()}/, where the raw data belongs)"
        )
    fmt = _source_format(source, path)
    if fmt == "parquet" and source.get("options"):
        raise DataError(f"{name}: options ({', '.join(sorted(source['options']))}) apply to CSV sources only; "
                        "remove them from this Parquet source in prepare.sources")
    if fmt == "parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise DataError(f"{name}: cannot read as Parquet ({type(exc).__name__}); check the file or set format: csv") from None
    else:
        df = _read_csv(path, source.get("options", {}))
    return name, _strip_column_names(name, df)


def _strip_column_names(name: str, df: pd.DataFrame) -> pd.DataFrame:
    df.columns = [str(c).strip() for c in df.columns]
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        raise DataError(f"{name}: duplicate column name(s) {dupes}; rename them so every column is unique")
    return df


def union_sources(frames: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Stack sources that share one schema (same columns, compatible types).

    Parameters
    ----------
    frames : list of (name, DataFrame)

    Returns
    -------
    DataFrame
        Rows of all sources, in order, with the first source's column order.
    """
    first_name, first = frames[0]
    columns = list(first.columns)
    for name, df in frames[1:]:
        missing = [c for c in columns if c not in df.columns]
        extra = [c for c in df.columns if c not in columns]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"lacks {missing[:5]}")
            if extra:
                parts.append(f"has extra {extra[:5]}")
            raise DataError(
                f"{name}: schema disagrees with {first_name}: it {' and '.join(parts)}; "
                "give every source the same columns"
            )
        for col in columns:
            # True/False text (a boolean column with blanks) compares as numeric; the values stay
            # as they are (a column declared categorical keeps them as text)
            a, b = (s if (t := _truth_values(s)) is None else t for s in (first[col], df[col]))
            if a.isna().all() or b.isna().all():
                continue  # an empty column takes the type of the other sources
            a_num = pd.api.types.is_numeric_dtype(a)
            b_num = pd.api.types.is_numeric_dtype(b)
            if a_num != b_num:
                raise DataError(
                    f"{name}: column '{col}' is {'numeric' if b_num else 'text'} here but "
                    f"{'numeric' if a_num else 'text'} in {first_name}; make the sources agree"
                )
    if len(frames) == 1:
        return first.reset_index(drop=True)
    return pd.concat([df[columns] for _, df in frames], ignore_index=True)


def read_sources(sources: list[dict[str, Any]], *, base_dir: str | Path = ".") -> tuple[str, pd.DataFrame]:
    """Read every source in ``prepare.sources`` and union them.

    Returns
    -------
    (str, DataFrame)
        A name for messages (the sources joined by '+') and the stacked data.
    """
    frames = [read_source(s, base_dir=base_dir) for s in sources]
    return " + ".join(n for n, _ in frames), union_sources(frames)


# --------------------------------------------------------------------------------------------
# Validation and cleaning
# --------------------------------------------------------------------------------------------


def _map_distinct(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``values.map(func)`` with missing values kept missing, calling ``func`` once per distinct
    value instead of once per row (a million-row column has a few dozen distinct values)."""
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True).startswith("mixed"):
        # values of several types: factorize would take 1, 1.0 and True for one value
        return pd.Series([None if pd.isna(v) else func(v) for v in values], index=values.index, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.asarray([func(v) for v in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)  # code -1 (missing) -> None


def _strip_text(value: Any) -> str:
    return str(value).strip()


def _norm_label(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    try:  # "1", "1.0" and 1 are the same label
        number = float(text)
    except ValueError:
        return text.lower() if text.lower() in ("true", "false") else text
    return str(int(number)) if number.is_integer() else repr(number)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def encode_target(values: pd.Series, *, positive_label: Any, source: str, target: str) -> pd.Series:
    """Map a target column to 0/1 with the declared positive label.

    Raises a :class:`DataError` when the label never occurs or there are not exactly two classes.
    """
    labels = _map_distinct(values, _norm_label)
    classes = sorted(labels.unique())
    positive = _norm_label(positive_label)
    if len(classes) == 1:  # before the label check: the fix is more rows, not another label
        raise DataError(
            f"{source}: target column '{target}' has only one class ({classes[0]!r}); a binary target "
            "needs rows of both classes: add rows of the other class, or check prepare.target"
        )
    if positive not in classes:
        hint = ""
        text_classes = not all(_is_number(c) or c in ("true", "false") for c in classes)
        if isinstance(positive_label, (bool, np.bool_)) and text_classes:  # YAML: unquoted yes/no are booleans
            words = ("yes", "y", "on") if positive_label else ("no", "n", "off")
            meant = next((c for c in classes if c.lower() in words), words[0])
            hint = f" (quote it in params.yaml: positive_label: \"{meant}\")"
        raise DataError(
            f"{source}: positive label {positive_label!r} never occurs in target column '{target}' "
            f"(values: {classes[:10]}); set prepare.positive_label to one of them{hint}"
        )
    if len(classes) != 2:
        raise DataError(
            f"{source}: target column '{target}' has {len(classes)} classes {classes[:10]}; a binary target "
            "with exactly two classes is needed: filter the rows or map the classes to two before the pipeline"
        )
    return (labels == positive).astype("int8")


#: How ``prepare.hash_columns`` are hashed, recorded in the schema (``id_hash``) so that
#: ``imbalance-lab predict`` hashes the ids of new data the same way.
ID_HASH = "sha256(salt + 0x1f + id)[:16]"


def _id_text(value: Any) -> str:
    """An id as text: 1001 and 1001.0 agree (a CSV reader makes floats of numeric ids when some
    are missing), and so do "A-7" and " A-7 "."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def hash_ids(values: pd.Series, salt: str) -> pd.Series:
    """Salted hashes of identifiers (16 hex characters; missing stays missing).

    Used by prepare for ``prepare.hash_columns`` and by ``imbalance-lab predict`` for the
    same columns of new data, so a customer gets the same hash in both.
    """

    def one(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v)):
            return None
        return hashlib.sha256((salt + "\x1f" + _id_text(v)).encode()).hexdigest()[:16]

    return values.astype(object).map(one)


def _comma_option(texts: pd.Series, share: float) -> str | None:
    """The CSV option under which text values with commas (``"5,5"``, ``"1,234,567"``) would be
    numbers (in at least :data:`NUMERIC_SHARE` of the values and more than as they are), or None."""
    if not texts.str.contains(",", regex=False).any():
        return None
    readings = {  # a thousands separator is one followed by three digits
        '{decimal: ","}': texts.str.replace(",", ".", regex=False),
        '{thousands: ","}': texts.str.replace(r"(?<=\d),(?=\d{3}(?!\d))", "", regex=True),
        '{decimal: ",", thousands: "."}': texts.str.replace(r"(?<=\d)\.(?=\d{3}(?!\d))", "", regex=True)
        .str.replace(",", ".", regex=False),
    }
    shares = {option: pd.to_numeric(v, errors="coerce").notna().mean() for option, v in readings.items()}
    best = max(shares, key=shares.get)  # ties: the first, a decimal comma
    return best if shares[best] >= NUMERIC_SHARE and shares[best] > share else None


#: A numeric column counts as a row number when it has at least this many values.
ROW_NUMBER_MIN_ROWS = 20


def _row_number_like(col: str, values: pd.Series) -> str | None:
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


def _truth_values(s: pd.Series) -> pd.Series | None:
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


def _coerce_numeric(df: pd.DataFrame, col: str, source: str) -> pd.Series | None:
    """Return the column as numbers if it is numeric, None if it is text; raise on a mix."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        return s
    present = s.dropna()
    if present.empty:
        return s.astype("float64")
    truth = _truth_values(s)
    if truth is not None:
        return truth
    texts = present.astype(str).str.strip()
    parsed = pd.to_numeric(texts, errors="coerce")
    bad = parsed.isna()
    share = 1.0 - bad.mean()
    if share == 1.0:
        return pd.to_numeric(_map_distinct(s, _strip_text), errors="coerce")
    option = _comma_option(texts, share)
    if option:
        row = (bad & texts.str.contains(",", regex=False)).idxmax()
        raise DataError(
            f"{source}: column '{col}' holds numbers written with a comma ({str(present[row])[:40]!r}); "
            f"set options: {option} for this source in prepare.sources, or declare the column in "
            "prepare.categorical if it is nominal"
        )
    others = sorted(texts[bad].unique())
    placeholders = (share >= PLACEHOLDER_SHARE and len(others) <= PLACEHOLDER_KINDS
                    and parsed.nunique() >= PLACEHOLDER_NUMBERS)
    if share >= NUMERIC_SHARE or placeholders:
        row = bad.idxmax()
        hint = (f"if they stand for missing values, add na_values: {others!r} to this source's options in "
                "prepare.sources (CSV) or blank them; otherwise fix them" if len(others) <= PLACEHOLDER_KINDS
                else "fix or blank those values")
        raise DataError(
            f"{source}: column '{col}' is numeric but holds text {str(present[row])[:40]!r} "
            f"in {int(bad.sum())} row(s) (first at data row {int(row) + 1}); {hint}, "
            "or declare the column in prepare.categorical"
        )
    return None


#: ``pd.api.types.infer_dtype`` of object columns of dates or times (e.g. Parquet date32 or SQL)
_TIME_TYPES = {"datetime", "datetime64", "date", "timedelta", "timedelta64", "time"}
#: Text that is a date (three parts, one of them a four-digit year: 2024-01-31, 31/01/2024,
#: 31.01.2024, 20240131 is not) or a time of day (12:30, 12:30:59), possibly both. Two-part text
#: such as an age band (25-34) or a ratio (3/5) is not.
_DATE_TEXT = (r"^\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})"
              r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\s*$"
              r"|^\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*$")


def _date_text(s: pd.Series) -> str | None:
    """The first value when every value of a text column is written as a date or a time of day
    (a CSV file's dates arrive as text), else None."""
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return None
    present = s.dropna()
    head = present.iloc[:1000]
    if head.empty or not all(isinstance(v, str) for v in head):
        return None
    if not head.astype(str).str.fullmatch(_DATE_TEXT).all():  # most text columns stop here, cheaply
        return None
    return str(head.iloc[0]) if bool(present.astype(str).str.fullmatch(_DATE_TEXT).all()) else None


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
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
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

    Returns
    -------
    (DataFrame, dict, dict)
        The clean data (features, id columns, 0/1 target), the schema and a report of what was
        found and dropped.
    """
    if len(df) == 0:
        raise DataError(f"{source}: no data rows (header only?); add data rows")
    if target not in df.columns:
        close = [c for c in df.columns if c.lower() == target.lower()] or difflib.get_close_matches(
            target, [str(c) for c in df.columns], n=1
        )
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(
            f"{source}: target column '{target}' not found{hint}; set prepare.target to one of "
            f"{list(df.columns)[:8]}{'...' if df.shape[1] > 8 else ''}"
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
            "prepare.hash_columns is set but the environment variable named by prepare.hash_salt_env (the salt) "
            "is unset or empty; export it with a secret value"
        )

    report: dict[str, Any] = {"rows_read": int(len(df))}
    df = df.drop(columns=drop_columns)
    missing_target = df[target].isna()
    if missing_target.any():
        log.warning("dropping %d row(s) with a missing target", int(missing_target.sum()))
        df = df.loc[~missing_target]
    report["rows_missing_target"] = int(missing_target.sum())
    y = encode_target(df[target], positive_label=positive_label, source=source, target=target)

    ids = {c: hash_ids(df[c], hash_salt or "") for c in hash_columns}
    feature_cols = [c for c in df.columns if c != target and c not in hash_columns]

    numeric: list[str] = []
    cats: dict[str, list[str]] = {}
    constant: list[str] = []
    suspects: list[str] = []
    out: dict[str, pd.Series] = {}
    for col in feature_cols:
        s = df[col]
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
        text_date = None if col in categorical else _date_text(s)
        if col not in categorical and (
                pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s)
                or s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in _TIME_TYPES
                or text_date is not None):
            kind = f"text such as {text_date[:30]!r}" if text_date is not None else s.dtype
            raise DataError(
                f"{source}: column '{col}' holds dates or times ({kind}); drop it (prepare.drop_columns), "
                "derive numeric features from it before the pipeline, or list it in prepare.categorical to use "
                "its values as categories"
            )
        nominal = col in categorical or isinstance(s.dtype, pd.CategoricalDtype)  # e.g. Parquet categories 1, 2, 3
        values = None if nominal else _coerce_numeric(df, col, source)
        if values is not None:
            values = values.astype("float64")
            if np.isinf(values).any():
                raise DataError(
                    f"{source}: column '{col}' holds infinite values in {int(np.isinf(values).sum())} row(s); "
                    "replace them with a finite number or leave them blank"
                )
            if values.nunique(dropna=False) <= 1:
                constant.append(col)
                continue
            why = _row_number_like(col, values)
            if why:
                suspects.append(col)
                log.warning("%s: numeric column '%s' %s: an identifier or row index? It is used as a feature; if it "
                            "is not one, add it to prepare.drop_columns or prepare.hash_columns", source, col, why)
            numeric.append(col)
            out[col] = values
        else:
            text = _map_distinct(s, _strip_text)
            n_unique = text.nunique(dropna=True)
            if n_unique <= 1 and not text.isna().any():
                constant.append(col)
                continue
            n_present = int(text.notna().sum())
            if n_unique == n_present and n_present > 20:
                raise DataError(
                    f"{source}: categorical column '{col}' has a different value in every row (an identifier?); "
                    "add it to prepare.drop_columns or prepare.hash_columns"
                )
            categories = sorted(text.dropna().unique())
            cats[col] = categories
            out[col] = pd.Categorical(text, categories=categories)
    if not numeric and not cats:
        raise DataError(f"{source}: no usable feature columns left besides the target '{target}'; add feature columns")
    report["constant_columns_dropped"] = constant
    report["suspected_identifiers"] = suspects

    clean = pd.DataFrame(out, index=df.index)[[c for c in feature_cols if c in out]]
    for c, v in ids.items():
        clean.insert(0, c, v.values)
    clean[target] = y.values
    dup_mask = clean.drop(columns=list(ids)).duplicated(keep="first")
    report["duplicate_rows"] = int(dup_mask.sum())
    if drop_duplicates and dup_mask.any():
        clean = clean.loc[~dup_mask]
    report["duplicate_rows_dropped"] = int(dup_mask.sum()) if drop_duplicates else 0
    clean = clean.reset_index(drop=True)

    positives = int(clean[target].sum())
    # both classes must reach the test part and every validation fold
    for kind, count in (("positive", positives), ("negative", len(clean) - positives)):
        in_train = int(np.floor(count * (1.0 - test_size)))
        if in_train < n_splits or count - in_train < 1:
            raise DataError(
                f"{source}: only {count} {kind} row(s); with test_size={test_size} the training part "
                f"gets about {in_train}, fewer than prepare.n_splits={n_splits}; lower prepare.n_splits "
                f"or prepare.test_size, or add {kind} rows"
            )
    schema = {
        "target": target,
        "positive_label": _norm_label(positive_label),
        "numeric": numeric,
        "categorical": cats,
        "features": [c for c in feature_cols if c in out],
        "id_columns": list(hash_columns),
        **({"id_hash": ID_HASH} if hash_columns else {}),
        "dropped_columns": sorted(set(drop_columns) | set(constant)),
    }
    report.update(rows=int(len(clean)), positives=positives)
    return clean, schema, report


# --------------------------------------------------------------------------------------------
# Split and folds
# --------------------------------------------------------------------------------------------


def split_holdout(
    df: pd.DataFrame, *, target: str, test_size: float, seed: int, n_splits: int, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified holdout split; both parts keep the order of the input rows.

    Parameters
    ----------
    df : DataFrame
        The clean data with the 0/1 target.
    target : str
        The target column.
    test_size : float
        Share of the rows in the test part.
    seed : int
        Seed of the split.
    n_splits : int
        Validation folds made of the training part later: each class needs that many training rows.
    source : str
        Name of the sources, for messages.

    Returns
    -------
    (DataFrame, DataFrame)
        The training and the test part.

    Raises
    ------
    DataError
        When a class gets no test row or fewer than ``n_splits`` training rows. (scikit-learn rounds
        the per-class counts differently from the estimate checked by :func:`validate_and_clean`.)
    """
    idx = np.arange(len(df))
    y = df[target].to_numpy()
    try:
        train_idx, test_idx = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    except ValueError as exc:  # e.g. a test part smaller than the number of classes
        msg = str(exc).strip().splitlines()[0]
        raise DataError(f"{source}: cannot split off a test part with test_size={test_size} ({msg}); "
                        "raise prepare.test_size or add rows") from None
    for kind, cls in (("positive", 1), ("negative", 0)):
        n_train, n_test = int((y[train_idx] == cls).sum()), int((y[test_idx] == cls).sum())
        if n_test < 1 or n_train < n_splits:
            fix = (f"raise prepare.test_size or add {kind} rows" if n_test < 1
                   else f"lower prepare.n_splits or prepare.test_size, or add {kind} rows")
            raise DataError(
                f"{source}: the holdout split with test_size={test_size} puts {n_test} of the {n_train + n_test} "
                f"{kind} row(s) in the test part and {n_train} in the training part; every class needs a test row "
                f"and prepare.n_splits={n_splits} training rows: {fix}"
            )
    return df.iloc[np.sort(train_idx)].reset_index(drop=True), df.iloc[np.sort(test_idx)].reset_index(drop=True)


def make_folds(y: np.ndarray | pd.Series, *, n_splits: int, n_repeats: int, seed: int) -> pd.DataFrame:
    """Assign every training row to a validation fold, once per repeat.

    Returns
    -------
    DataFrame
        One row per training row and one int8 column ``repeat_<r>`` per repeat holding the fold
        in which that row is validated.
    """
    y = np.asarray(y)
    rskf = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    folds = np.full((n_repeats, len(y)), -1, dtype=np.int8)
    for i, (_, val) in enumerate(rskf.split(np.zeros(len(y)), y)):
        folds[i // n_splits, val] = i % n_splits
    return pd.DataFrame({f"repeat_{r}": folds[r] for r in range(n_repeats)})


def iter_splits(folds: pd.DataFrame) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(repeat, fold, train_index, validation_index)`` from a fold assignment."""
    for r, col in enumerate(folds.columns):
        assignment = folds[col].to_numpy()
        for k in range(int(assignment.max()) + 1):
            yield r, k, np.flatnonzero(assignment != k), np.flatnonzero(assignment == k)


def split_xy(df: pd.DataFrame, schema: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (numeric as float, categoricals as object with NaN) and the 0/1 target."""
    X = df[schema["features"]].copy()
    for col in schema["categorical"]:
        X[col] = X[col].astype(object).where(X[col].notna(), np.nan)
    return X, df[schema["target"]].to_numpy().astype(int)
