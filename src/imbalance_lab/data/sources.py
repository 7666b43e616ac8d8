"""Reading the raw sources: CSV files, Excel workbooks, Parquet files and SQL queries, stacked into one frame.

This is the one place that touches the raw data. Every problem raises
:class:`~imbalance_lab.errors.DataError` with one line naming the file and the fix.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from ..io import read_parquet
from .values import truth_values

#: Where the header and the data are, in a CSV file or an Excel sheet: ``header`` (the header's row
#: number after ``skiprows``, 0 by default; null: no header row, ``names`` gives them), ``names``
#: (one per column; alone it means no header row, as in pandas), ``skiprows`` (lines before it all).
LAYOUT_OPTIONS = {"header", "names", "skiprows"}
CSV_OPTIONS = {
    "sep",
    "quotechar",
    "encoding",
    "decimal",
    "thousands",
    "na_values",
    "comment",
    "escapechar",
    "skipinitialspace",
    *LAYOUT_OPTIONS,
}
EXCEL_OPTIONS = {"sheet", "na_values", *LAYOUT_OPTIONS}
#: File name endings of Excel workbooks (the old binary .xls is not read: save it as .xlsx).
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def _source_format(source: dict[str, Any], path: Path) -> str:
    fmt = source.get("format")
    if fmt:
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if any(s in (".csv", ".tsv", ".txt", ".dat") for s in suffixes):
        return "csv"
    if suffixes and suffixes[-1] in EXCEL_SUFFIXES:
        return "excel"
    if suffixes and suffixes[-1] == ".xls":
        raise DataError(
            f"{path}: an Excel 97-2003 workbook (.xls) is not read; save it as .xlsx (or CSV) and point prepare.sources at that"
        )
    raise DataError(
        f"{path}: cannot tell the format from the file name; set format: csv, excel or parquet for this source"
    )


def _sniff_sep(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(65536)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        raise DataError(
            f"{path}: cannot detect the column separator; set options: {{sep: ','}} for this source"
        ) from None


def _multi_char(sep: str) -> bool:
    r"""A separator of several characters or a regex, which only pandas' python engine reads
    (``\s+`` excepted: the C engine reads it as runs of whitespace)."""
    return len(sep) != 1 and sep != r"\s+"


def _row_at(path: Path, opts: dict[str, Any], encoding: str, skiprows: int, row: int) -> list[str]:
    """The fields of row ``row`` (blank lines not counted, as pandas does) after ``skiprows`` lines:
    the header row, or the first data row."""
    sep = opts["sep"]
    if len(sep) != 1:  # a regex or multi-character separator: pandas splits the header row as data,
        # so duplicate names are not mangled to 'a.1'
        first = pd.read_csv(
            path,
            header=None,
            nrows=row + 1,
            skiprows=skiprows,
            dtype=str,
            keep_default_na=False,
            **({"engine": "python"} if _multi_char(sep) else {}),
            **{k: v for k, v in opts.items() if k not in LAYOUT_OPTIONS},
        )
        return [str(v) for v in first.iloc[row]] if len(first) > row else []
    with open(path, encoding=encoding, newline="") as fh:
        for _ in range(skiprows):
            fh.readline()
        reader = csv.reader(
            fh,
            delimiter=sep,
            quotechar=opts.get("quotechar", '"'),
            skipinitialspace=opts.get("skipinitialspace", False),
        )
        comment = opts.get("comment")
        # as pandas reads it: blank lines and (with the comment option) commented lines are no rows
        records = (r for r in reader if r and not (comment and r[0].lstrip().startswith(comment)))
        return next(itertools.islice(records, row, None), [])


def layout_options(name: str, options: dict[str, Any]) -> tuple[int | None, list[str] | None, int]:
    """Check the options that say where the header and the data are.

    Parameters
    ----------
    name : str
        The source, for messages.
    options : dict
        The source's options (``header``, ``names``, ``skiprows``, ``skipinitialspace`` are checked).

    Returns
    -------
    (int or None, list of str or None, int)
        The header's row number (None: no header row), the column names given, the lines skipped.
    """
    names = options.get("names")
    if names is not None:
        if not (isinstance(names, list) and names and all(isinstance(n, str) and n.strip() for n in names)):
            raise DataError(
                f"{name}: option names must be a list of column names (text), got {names!r}; "
                "fix it in prepare.sources (one name per column)"
            )
        stripped = [n.strip() for n in names]
        dupes = sorted({n for n in stripped if stripped.count(n) > 1})
        if dupes:
            raise DataError(f"{name}: option names lists {dupes} more than once; give every column its own name")
    header = options.get("header", None if names is not None else 0)
    if header is not None and (isinstance(header, bool) or not isinstance(header, int) or header < 0):
        raise DataError(
            f"{name}: option header must be the header's row number (0: the first row) or null for a file "
            f"without a header row, got {header!r}; fix it in prepare.sources"
        )
    if header is None and names is None:
        raise DataError(
            f"{name}: header: null (no header row) needs the column names; set options: "
            "{header: null, names: [...]} for this source, one name per column"
        )
    skiprows = options.get("skiprows", 0)
    if isinstance(skiprows, bool) or not isinstance(skiprows, int) or skiprows < 0:
        raise DataError(
            f"{name}: option skiprows must be a number of lines to skip before the header (0 or more), "
            f"got {skiprows!r}; fix it in prepare.sources"
        )
    if not isinstance(options.get("skipinitialspace", False), bool):
        raise DataError(
            f"{name}: option skipinitialspace must be true or false, got {options['skipinitialspace']!r}; "
            "fix it in prepare.sources"
        )
    return header, names, skiprows


def check_first_row(name: str, fields: list[str], *, header: int | None, names: list[str] | None) -> None:
    """The header row has unique names, and ``names`` has one name per column of the first row
    (pandas would make the extra columns the index, or add empty ones)."""
    if not fields:
        raise DataError(
            f"{name}: no row at the header position; lower options skiprows or header for this source, "
            "or point prepare.sources at a file with data"
        )
    if names is not None and len(names) != len(fields):
        where = "the header row" if header is not None else "the first row"
        raise DataError(
            f"{name}: option names lists {len(names)} name(s) but {where} has {len(fields)} columns; "
            "give exactly one name per column"
        )
    if names is None:
        seen, dupes = set(), []
        for field in (h.strip() for h in fields):
            if field in seen:
                dupes.append(field)
            seen.add(field)
        if dupes:
            numbers = [f.strip() for f in fields if _is_number(f.strip())]
            hint = (
                f"; or, if the file has no header row (its first row looks like data: {len(numbers)} of its "
                f"{len(fields)} names are numbers), set options: {{header: null, names: [...]}} for it in "
                f"prepare.sources, one name per column ({len(fields)})"
                if numbers and (len(numbers) >= len(fields) / 2 or any(_is_number(d) for d in dupes))
                else ""
            )
            raise DataError(
                f"{name}: duplicate column name(s) {sorted(set(dupes))}; rename them so every column is unique{hint}"
            )


def header_like_data(df: pd.DataFrame, *, rows: int = 1000) -> str | None:
    """Why the column names look like a row of data (a file without a header row read with one):
    half of them or more are numbers, or a name occurs as a value of its own column; else None."""
    names = [str(c).strip() for c in df.columns]
    numeric = [n for n in names if _is_number(n)]
    head = df.head(rows)
    inside = []
    for col, label in zip(df.columns, names):
        values = head[col].dropna()
        if label in {str(v).strip() for v in values} or (label in numeric and _number_in(float(label), values)):
            inside.append(label)
    if not inside and len(numeric) < max(1, len(names) / 2):
        return None
    reasons = []
    if numeric:
        reasons.append(
            f"{', '.join(repr(n) for n in numeric[:3])} {'is a number' if len(numeric) == 1 else 'are numbers'}"
        )
    if inside:
        reasons.append(f"{', '.join(repr(n) for n in inside[:3])} also occur(s) as values below")
    return "; ".join(reasons)


def header_hint(name: str, df: pd.DataFrame) -> str:
    """A clause for a message when ``df``'s header looks like data (:func:`header_like_data`), else ''."""
    why = header_like_data(df)
    if why is None:
        return ""
    return (
        f"; the header row of {name} looks like data (column names {why}): if the file has no header row, set "
        f"options: {{header: null, names: [...]}} for it in prepare.sources, one name per column ({df.shape[1]})"
    )


def _number_in(number: float, values: pd.Series) -> bool:
    try:
        return bool((pd.to_numeric(values.astype(object), errors="coerce") == number).any())
    except (TypeError, ValueError):
        return False


def _is_number(text: str) -> bool:
    """Whether ``text`` is a finite number (a header's "nan" or "inf" is a name, not data)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


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
    header, names, skiprows = layout_options(str(path), opts)
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
        raise DataError(
            f"{path}: the separator {sep!r} is not a non-empty text; set options: {{sep: auto}} "
            "(or the right separator, e.g. ';') for this source"
        )
    if not (isinstance(quotechar, str) and len(quotechar) == 1):
        raise DataError(
            f"{path}: the quote character {quotechar!r} is not one character; "
            "set options: {quotechar: '\"'} (or the file's quote character) for this source"
        )
    try:
        if sep == "auto":
            opts["sep"] = _sniff_sep(path, encoding)
        first = _row_at(path, opts, encoding, skiprows, header or 0)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding, exc) from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse as CSV ({msg}); check options sep, quotechar and encoding") from None
    check_first_row(str(path), first, header=header, names=names)
    try:
        engine = {"engine": "python"} if _multi_char(opts["sep"]) else {"low_memory": False}
        df = pd.read_csv(path, **engine, **opts)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the file is empty; point prepare.sources at a CSV with a header row and data"
        ) from None
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding, exc) from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: cannot parse as CSV ({msg}); check options sep, quotechar and encoding") from None
    if df.shape[1] == 1 and len(first) == 1:
        raise DataError(
            f"{path}: only one column '{first[0][:60]}' was found with separator {opts['sep']!r}; "
            "set options: {sep: auto} (or the right separator) for this source in prepare.sources"
        )
    return df


def _read_excel(path: Path, name: str, options: dict[str, Any]) -> pd.DataFrame:
    """One sheet of an Excel workbook (openpyxl), with the CSV sources' header options and checks."""
    unknown = set(options) - EXCEL_OPTIONS
    if unknown:
        raise DataError(f"{name}: unknown Excel option(s) {sorted(unknown)}; allowed: {sorted(EXCEL_OPTIONS)}")
    header, names, skiprows = layout_options(name, options)
    sheet = options.get("sheet", 0)
    if isinstance(sheet, bool) or not isinstance(sheet, (str, int)) or (isinstance(sheet, int) and sheet < 0):
        raise DataError(
            f"{name}: option sheet must be a sheet's name or its position (0: the first), got {sheet!r}; "
            "fix it in prepare.sources"
        )
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except ImportError:
        raise DataError(f"{name}: reading Excel needs openpyxl, which is not installed; run make env") from None
    except Exception as exc:  # zipfile, openpyxl and XML errors of a file that is not a workbook
        raise DataError(
            f"{name}: cannot read as an Excel workbook ({type(exc).__name__}); check the file, save it as .xlsx, "
            "or set format: csv for this source"
        ) from None
    with book:
        sheets = list(book.sheet_names)
        if (isinstance(sheet, str) and sheet not in sheets) or (isinstance(sheet, int) and sheet >= len(sheets)):
            raise DataError(
                f"{name}: no sheet {sheet!r} in the workbook (sheets: {sheets[:10]}); set options: "
                f"{{sheet: {sheets[0]!r}}} (a name or a position from 0) for this source"
            )
        where = f"{name} (sheet {(sheets[sheet] if isinstance(sheet, int) else sheet)!r})"
        first = pd.read_excel(book, sheet_name=sheet, header=None, nrows=(header or 0) + 1, skiprows=skiprows)
        row = header or 0
        fields = [] if len(first) <= row else ["" if pd.isna(v) else str(v) for v in first.iloc[row]]
        check_first_row(where, fields, header=header, names=names)
        extra = {"na_values": options["na_values"]} if "na_values" in options else {}
        try:
            df = pd.read_excel(book, sheet_name=sheet, header=header, names=names, skiprows=skiprows, **extra)
        except (ValueError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"{where}: cannot read the sheet ({msg}); check options header, names and skiprows"
            ) from None
    if df.empty and df.shape[1] == 0:
        raise DataError(f"{where}: the sheet is empty; point prepare.sources at a sheet with a header row and data")
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
            fix = (
                f"the URL in ${env} is not a valid database URL ({kind}); "
                "set it to dialect+driver://user:password@host:port/database"
            )
        elif stage == "connect":
            fix = (
                f"cannot connect: the database refused the connection or is unreachable ({kind}); "
                f"check that the server is running and reachable and that ${env} holds the right URL"
            )
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
    if fmt == "excel":
        return name, _strip_column_names(name, _read_excel(path, name, source.get("options") or {}))
    if fmt == "parquet" and source.get("options"):
        raise DataError(
            f"{name}: options ({', '.join(sorted(source['options']))}) apply to CSV and Excel sources only; "
            "remove them from this Parquet source in prepare.sources"
        )
    if fmt == "parquet":
        try:
            df = read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise DataError(
                f"{name}: cannot read as Parquet ({type(exc).__name__}); check the file or set format: csv"
            ) from None
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
                f"give every source the same columns{header_hint(name, df) or header_hint(first_name, first)}"
            )
        for col in columns:
            # True/False text (a boolean column with blanks) compares as numeric; the values stay
            # as they are (a column declared categorical keeps them as text)
            a, b = (s if (t := truth_values(s)) is None else t for s in (first[col], df[col]))
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
