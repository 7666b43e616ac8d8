"""Reading the raw sources: CSV files, Parquet files and SQL queries, stacked into one frame.

This is the one place that touches the raw data. Every problem raises
:class:`~imbalance_lab.errors.DataError` with one line naming the file and the fix.
"""

from __future__ import annotations

import codecs
import csv
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from .values import truth_values

CSV_OPTIONS = {"sep", "quotechar", "encoding", "decimal", "thousands", "na_values", "comment", "escapechar"}


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
        raise DataError(
            f"{path}: cannot detect the column separator; set options: {{sep: ','}} for this source"
        ) from None


def _multi_char(sep: str) -> bool:
    r"""A separator of several characters or a regex, which only pandas' python engine reads
    (``\s+`` excepted: the C engine reads it as runs of whitespace)."""
    return len(sep) != 1 and sep != r"\s+"


def _header(path: Path, opts: dict[str, Any], encoding: str) -> list[str]:
    sep = opts["sep"]
    if len(sep) != 1:  # a regex or multi-character separator: pandas splits the header row as data,
        # so duplicate names are not mangled to 'a.1'
        first = pd.read_csv(
            path,
            header=None,
            nrows=1,
            dtype=str,
            keep_default_na=False,
            **({"engine": "python"} if _multi_char(sep) else {}),
            **opts,
        )
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
        raise DataError(
            f"{path}: the file is empty; point prepare.sources at a CSV with a header row and data"
        ) from None
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
    if fmt == "parquet" and source.get("options"):
        raise DataError(
            f"{name}: options ({', '.join(sorted(source['options']))}) apply to CSV sources only; "
            "remove them from this Parquet source in prepare.sources"
        )
    if fmt == "parquet":
        try:
            df = pd.read_parquet(path)
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
                "give every source the same columns"
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
