"""Score new data with a saved model, and check new data for drift.

Both read CSV or Parquet in chunks (bounded memory), check every chunk against the model's
schema (:func:`check_input`) and stop with a one-line :class:`ScoringError` naming the file
and column (or line) when the data does not fit. Outputs are written to temporary files next to
their targets and renamed at the end, so a failed run leaves no partial output and an existing
file as it was.

Command line (:mod:`imbalance_lab.cli` names the commands; :func:`add_predict_arguments` and
:func:`add_drift_arguments` give their options)::

    imbalance-lab predict --model DIR --input FILE --output FILE [--chunksize N]
    imbalance-lab drift --model DIR --input FILE [--report FILE] [--figure FILE] [--psi-threshold X]

``drift`` exits with status 0 when no feature drifted and :data:`DRIFT_EXIT` (3) when at least
one did; errors exit with status 2 like every other command.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from .artifact import LoadedModel, load_model
from .data import TRUTH_TEXT
from .errors import ImbalanceLabError
from .files import json_bytes

log = logging.getLogger(__name__)

#: Exit status of ``imbalance-lab drift`` when at least one feature drifted.
DRIFT_EXIT = 3
DEFAULT_CHUNKSIZE = 100_000
#: PSI above which a feature drifts, for a model saved without `evaluate.psi_threshold`.
DEFAULT_PSI_THRESHOLD = 0.2
#: Environment variable holding the salt of ``prepare.hash_columns`` (params.yaml's default
#: ``prepare.hash_salt_env``); ``predict --salt-env`` names another.
DEFAULT_SALT_ENV = "IMBALANCE_LAB_SALT"
_NA_TEXT = {"", "nan", "na", "n/a", "null", "none"}


class ScoringError(ImbalanceLabError):
    """New data that cannot be read or does not fit the model's schema."""


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


# --------------------------------------------------------------------------------------------
# Checking and scoring values
# --------------------------------------------------------------------------------------------


def _number_key(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _short(columns: list[str], limit: int = 10) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _numeric_column(values: pd.Series, *, col: str, source: str, row_offset: int) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        out = values.astype("float64")
    elif pd.api.types.is_numeric_dtype(values):
        out = values.astype("float64")
    else:
        obj = values.astype(object)
        text = obj.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA
                       else str(v).strip())
        # the map may hand back a str-dtype column with NaN for None (pandas 3): test for text
        blank = text.map(lambda t: not isinstance(t, str) or t.lower() in _NA_TEXT).astype(bool)
        truth = text.str.lower().map(TRUTH_TEXT)
        parsed = pd.to_numeric(text.where(~blank & truth.isna(), None), errors="coerce")
        parsed = parsed.where(truth.isna(), truth.astype("float64"))  # True/False as written by a CSV of booleans
        bad = parsed.isna() & ~blank
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            first = str(text.iloc[pos])
            fix = ("write numbers with a '.' for decimals and no thousands separator (convert the file, e.g. read "
                   "it with decimal=',' or thousands=',' and write it again)" if re.fullmatch(r"[-+]?[\d.]*\d,\d+", first)
                   else "fix or blank those values")
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
    df: pd.DataFrame, schema: dict[str, Any], *, source: str, row_offset: int = 0, warn: bool = True
) -> CheckedInput:
    """Check new data against the model's schema and convert it for the pipeline.

    Parameters
    ----------
    df : DataFrame
        New rows (a whole file or one chunk of it).
    schema : dict
        The model's schema (``features``, ``numeric``, ``categorical``, ``id_columns``).
    source : str
        The file name, for messages.
    row_offset : int
        Rows before this chunk in the file (for row numbers in messages).
    warn : bool
        Log a warning about extra columns.

    Returns
    -------
    CheckedInput

    Raises
    ------
    ScoringError
        A feature column is missing, or a numeric feature holds text or infinite values.
    """
    features = list(schema["features"])
    missing = [c for c in features if c not in df.columns]
    if missing:
        lower = {str(c).lower(): c for c in df.columns}
        close = [f"'{lower[m.lower()]}'" for m in missing if m.lower() in lower]
        hint = f" (found {', '.join(close)}: names are case-sensitive)" if close else ""
        what = f"column '{missing[0]}' is missing" if len(missing) == 1 else f"columns {_short(missing)} are missing"
        raise ScoringError(
            f"{source}: {what}{hint}; the model expects the columns {_short(features)}: "
            f"add {'it' if len(missing) == 1 else 'them'} to the input file"
        )
    id_columns = [c for c in schema.get("id_columns", []) if c in df.columns]
    extra = [str(c) for c in df.columns if c not in features and c not in id_columns]
    if extra and warn:
        log.warning("%s: ignoring %d column(s) the model does not use: %s", source, len(extra), _short(extra))
    X = {}
    unseen: dict[str, int] = {}
    for col in features:
        if col in schema["categorical"]:
            X[col], unseen[col] = _categorical_column(df[col], schema["categorical"][col])
        else:
            X[col] = _numeric_column(df[col], col=col, source=source, row_offset=row_offset)
    frame = pd.DataFrame(X, index=df.index)[features].reset_index(drop=True)
    ids = df[id_columns].reset_index(drop=True)
    return CheckedInput(X=frame, ids=ids, extra_columns=extra, unseen=unseen)


def _positive_column(pipeline: Any) -> int:
    classes = [int(c) if isinstance(c, (int, np.integer)) else c for c in pipeline.classes_]
    if 1 not in classes:
        raise ScoringError(f"the model's classes are {classes}, without the positive class 1; re-train the model")
    return classes.index(1)


def _score_checked(model: LoadedModel, checked: CheckedInput) -> pd.DataFrame:
    out = checked.ids.copy()
    if len(checked.X):
        score = model.pipeline.predict_proba(checked.X)[:, _positive_column(model.pipeline)].astype("float64")
    else:
        score = np.empty(0, dtype="float64")
    out["score"] = score
    out["label"] = (score >= model.threshold).astype("int8")
    return out


def score_frame(model: LoadedModel, df: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
    """Score new rows.

    Parameters
    ----------
    model : LoadedModel
        From :func:`imbalance_lab.artifact.load_model`.
    df : DataFrame
        New rows with the schema's feature columns (extra columns are ignored).
    source : str
        Name of the data, for messages.

    Returns
    -------
    DataFrame
        The schema's id columns present in ``df``, ``score`` (probability of the positive
        class) and ``label`` (1 when ``score >= model.threshold``, else 0).
    """
    return _score_checked(model, check_input(df, model.schema, source=source))


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def file_format(path: str | Path, *, role: str) -> str:
    """``"csv"`` or ``"parquet"`` from the file name; :class:`ScoringError` otherwise."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if any(s in (".csv", ".tsv", ".txt") for s in suffixes):
        return "csv"
    raise ScoringError(f"{path}: cannot tell the {role} format from the file name; name it *.csv or *.parquet")


#: The compressions pandas reads by suffix, and those of them CSV output is written in.
_COMPRESSED = (".zip", ".zst", ".bz2", ".gz", ".xz")
_CSV_COMPRESSION = (".gz", ".bz2", ".xz")


def _output_format(path: Path, *, input_path: Path) -> str:
    """The output's format (``"csv"`` or ``"parquet"``), checked before any work: not a
    directory, not the input file, and a compression suffix only where it is written."""
    fmt = file_format(path, role="output")
    suffix = path.suffix.lower()
    if suffix in _COMPRESSED and (fmt == "parquet" or suffix not in _CSV_COMPRESSION):
        raise ScoringError(f"{path}: cannot write {fmt.upper()} compressed as {suffix}; name it *.csv, "
                           "*.csv.gz, *.csv.bz2, *.csv.xz or *.parquet (Parquet is compressed already)")
    _check_output(path, input_path=input_path, hint="a file name ending in .csv or .parquet")
    return fmt


def _check_output(path: Path, *, input_path: Path, hint: str) -> None:
    """Refuse an output path that is a directory or the input file itself."""
    if path.is_dir():
        raise ScoringError(f"{path}: is a directory; give {hint}")
    if path.exists() and input_path.exists() and os.path.samefile(path, input_path):
        raise ScoringError(f"{path}: is the input file; choose another output path")


def _open_binary(path: Path) -> Any:
    """``path`` opened for reading bytes, decompressed as pandas would (gzip, bz2, xz; the first
    member of a zip file)."""
    import bz2
    import gzip
    import lzma
    import zipfile

    suffix = path.suffix.lower()
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = archive.namelist()
        return archive.open(names[0]) if names else io.BytesIO()
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(suffix, open)
    return opener(path, "rb")


def _text_start(path: Path, *, size: int = 65536) -> str | None:
    """The first ``size`` bytes of a CSV file as text, decompressed as pandas would (gzip, bz2,
    xz, zip); None for a compression the standard library cannot read (zstd)."""
    if path.suffix.lower() == ".zst":
        return None
    with _open_binary(path) as fh:
        raw = fh.read(size)
    return raw.decode("utf-8", errors="replace")


def _csv_sep(path: Path) -> str:
    """The separator of a CSV file: tab for *.tsv, else sniffed from its first line (also in a
    compressed file), "," when that fails."""
    suffixes = [s.lower() for s in path.suffixes]
    if ".tsv" in suffixes:
        return "\t"
    sample = _text_start(path)
    if sample is None:
        return ","
    first = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(first or sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _check_fields(path: Path, *, sep: str, n_fields: int) -> None:
    """Stop when a data row of a CSV file has more or fewer fields than its header.

    pandas reads such rows without a word when only some columns are read (a stray separator
    shifts the values into the wrong columns; a truncated last row is padded with missing
    values), so they would be scored wrongly. pyarrow's CSV reader checks every row's field
    count fast; only when one is wrong is the file read again with :mod:`csv` to name its line.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path.suffix.lower() == ".zst":
        return  # pyarrow reads it, but the csv module could not name the line; pandas reads it as it is
    names = [f"c{i}" for i in range(n_fields)]
    try:
        with _open_binary(path) as raw:
            reader = pacsv.open_csv(
                raw,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 22),
                parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(include_columns=names[:1], column_types={names[0]: pa.binary()}),
            )
            for _batch in reader:
                pass
        return
    except pa.ArrowInvalid as exc:
        found = re.search(r"Expected \d+ columns, got \d+", str(exc))
        if found is None:
            return  # not a field count: let pandas read it and name what it finds
    except (OSError, ValueError, RuntimeError):
        return
    with io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", errors="replace", newline="") as fh:
        rows = csv.reader(fh, delimiter=sep)
        next(rows, None)
        for row in rows:
            if row and len(row) != n_fields:
                raise ScoringError(
                    f"{path}: line {rows.line_num} has {len(row)} fields, the header {n_fields}; fix or remove "
                    "that row (a separator inside an unquoted value, or a truncated file)"
                )
    raise ScoringError(f"{path}: a row has more or fewer fields than the header ({found.group(0).lower()}); "
                       "fix or remove it")


def _read_error(path: Path, fmt: str, exc: BaseException) -> ScoringError:
    if isinstance(exc, PermissionError):
        return ScoringError(f"{path}: cannot read (permission denied); check the file's permissions")
    if isinstance(exc, UnicodeDecodeError):
        return ScoringError(f"{path}: not UTF-8 text; save the CSV as UTF-8")
    if isinstance(exc, pd.errors.EmptyDataError):
        return ScoringError(f"{path}: the file is empty; a CSV with a header row is needed")
    msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    other = "parquet" if fmt == "csv" else "csv"
    return ScoringError(f"{path}: cannot read as {fmt.upper()} ({msg}); check the file, or name it *.{other} if it is {other.upper()}")


class _Input:
    """A CSV or Parquet file read in chunks of the columns the model needs."""

    def __init__(self, path: str | Path, schema: dict[str, Any], *, chunksize: int,
                 id_columns: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        self.schema = schema
        self.chunksize = int(chunksize)
        self.format = file_format(self.path, role="input")
        if not self.path.exists():
            raise ScoringError(f"{self.path}: input file not found; check the path")
        if self.path.is_dir():
            raise ScoringError(f"{self.path}: is a directory; give the path of a CSV or Parquet file")
        self.total: int | None = None
        #: read id columns as text (kept as they are) or as pandas infers them (to be hashed
        #: like prepare hashed the raw data it read)
        self.ids_as_text = True
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                self._parquet = pq.ParquetFile(self.path)
                self.columns = list(self._parquet.schema_arrow.names)
                self.total = int(self._parquet.metadata.num_rows)
            else:
                self._sep = _csv_sep(self.path)
                self.columns = [str(c).strip() for c in pd.read_csv(self.path, sep=self._sep, nrows=0).columns]
                _check_fields(self.path, sep=self._sep, n_fields=len(self.columns))
        except ScoringError:
            raise
        except Exception as exc:  # pyarrow and pandas raise many types
            raise _read_error(self.path, self.format, exc) from None
        # fail before any work when a feature is missing
        check_input(pd.DataFrame(columns=self.columns), schema, source=str(self.path), warn=False)
        if id_columns is None:
            self.id_columns = [c for c in schema.get("id_columns", []) if c in self.columns]
        else:
            absent = [c for c in id_columns if c not in self.columns]
            if absent:
                raise ScoringError(
                    f"{self.path}: the id column {absent[0]!r} is not in the input (its columns: "
                    f"{_short(self.columns)}); check the name given to --id-column"
                )
            self.id_columns = list(dict.fromkeys(id_columns))
        self.extra_columns = [c for c in self.columns if c not in schema["features"] and c not in self.id_columns]
        self.needed = [c for c in self.columns if c in schema["features"] or c in self.id_columns]

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the needed columns chunk by chunk (extra columns are not read)."""
        try:
            if self.format == "parquet":
                for batch in self._parquet.iter_batches(batch_size=self.chunksize, columns=self.needed):
                    yield batch.to_pandas()
            else:
                text = [c for c in self.needed
                        if c in self.schema["categorical"] or (c in self.id_columns and self.ids_as_text)]
                reader = pd.read_csv(
                    self.path, sep=self._sep, usecols=lambda c: str(c).strip() in self.needed,
                    dtype={c: str for c in text}, chunksize=self.chunksize,
                )
                with reader:
                    for chunk in reader:
                        chunk.columns = [str(c).strip() for c in chunk.columns]
                        yield chunk
        except (ScoringError, GeneratorExit):
            raise
        except Exception as exc:
            raise _read_error(self.path, self.format, exc) from None


@contextlib.contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path next to ``path`` that replaces it when the block succeeds."""
    if path.is_dir():
        raise ScoringError(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ScoringError(f"{path}: cannot write ({exc.strerror or type(exc).__name__}); check the directory") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class _Output:
    """Writes scored chunks as CSV or Parquet to an open temporary file."""

    def __init__(self, path: Path, fmt: str, *, suffix: str = "") -> None:
        self.path, self.format, self.suffix = path, fmt, suffix.lower()
        self._fh: Any = None
        self._raw: Any = None
        self._writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        if self.format == "csv":
            if self._fh is None:
                self._fh = io.TextIOWrapper(self._compressed(), encoding="utf-8", newline="")
                frame.to_csv(self._fh, index=False, lineterminator="\n")
            else:
                frame.to_csv(self._fh, index=False, header=False, lineterminator="\n")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        elif not table.schema.equals(self._writer.schema):
            table = table.cast(self._writer.schema)
        self._writer.write_table(table)

    def _compressed(self) -> Any:
        """The temporary file opened for bytes, through the compressor its final name asks for."""
        import bz2
        import gzip
        import lzma

        if self.suffix == ".gz":  # no file name or time in the header: the same scores give the same bytes
            self._raw = open(self.path, "wb")
            return gzip.GzipFile(filename="", fileobj=self._raw, mode="wb", mtime=0)
        return {".bz2": bz2.open, ".xz": lzma.open}.get(self.suffix, open)(self.path, "wb")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._raw is not None:
            self._raw.close()
        if self._writer is not None:
            self._writer.close()


def _progress(total: int | None, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="rows", unit_scale=True, desc=desc, disable=None, leave=False)


def _scan(
    model: LoadedModel, source: _Input, visit: Callable[[CheckedInput, pd.DataFrame], None], *, desc: str
) -> dict[str, Any]:
    """Check every chunk of ``source`` and pass it to ``visit``; returns counts."""
    if source.extra_columns:
        log.warning("%s: ignoring %d column(s) the model does not use: %s", source.path,
                    len(source.extra_columns), _short(source.extra_columns))
    rows = 0
    unseen = dict.fromkeys(model.schema["categorical"], 0)
    with _progress(source.total, desc) as bar:
        for chunk in source.chunks():
            checked = check_input(chunk, {**model.schema, "id_columns": source.id_columns}, source=str(source.path),
                                  row_offset=rows, warn=False)
            visit(checked, chunk)
            rows += len(chunk)
            for col, n in checked.unseen.items():
                unseen[col] += n
            bar.update(len(chunk))
    if any(unseen.values()):
        log.warning("%s: values of categories not seen in training: %s", source.path,
                    ", ".join(f"{c} {n}" for c, n in unseen.items() if n))
    return {"rows": rows, "unseen_categories": unseen, "extra_columns": source.extra_columns}


def _id_salt(model: LoadedModel, source: "_Input", *, salt_env: str, keep_ids: bool) -> str | None:
    """The salt for the input's id columns, or None when they are written as they are."""
    method = model.schema.get("id_hash")
    if keep_ids or not method or not source.id_columns:
        return None
    from .data import ID_HASH

    if method != ID_HASH:
        raise ScoringError(
            f"{model.directory}: the model's id columns were hashed as {method!r}, which this imbalance-lab "
            f"cannot reproduce ({ID_HASH!r}); upgrade imbalance-lab or pass --keep-ids"
        )
    salt = os.environ.get(salt_env)
    if not salt:
        raise ScoringError(
            f"{source.path}: the model keeps the id column(s) {_short(source.id_columns)} as a salted hash but "
            f"${salt_env} is unset or empty; export it with the salt prepare used (or name the variable with "
            "--salt-env), or pass --keep-ids to write the ids as they are"
        )
    return salt


def predict_file(
    model_dir: str | Path, input_path: str | Path, output_path: str | Path, *, chunksize: int = DEFAULT_CHUNKSIZE,
    salt_env: str = DEFAULT_SALT_ENV, keep_ids: bool = False, id_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Score a CSV or Parquet file in chunks and write the scores.

    Parameters
    ----------
    model_dir : str or Path
        A model artifact directory (:func:`imbalance_lab.artifact.save_model`).
    input_path : str or Path
        ``*.csv`` (separator detected; ``*.tsv`` and compressed CSV too) or ``*.parquet``.
    output_path : str or Path
        ``*.csv`` (``*.csv.gz``, ``*.csv.bz2``, ``*.csv.xz`` compressed) or ``*.parquet``, not
        the input file: the id columns of the input (schema ``id_columns``),
        ``score`` and ``label``, one row per input row in input order. Written to a temporary
        file and renamed at the end: on error nothing is left behind.
    chunksize : int
        Rows read, checked and scored at a time.
    salt_env : str
        When the model's schema says its id columns are salted hashes (``prepare.hash_columns``),
        they are hashed the same way with the salt in this environment variable, so the output
        holds the hashes the prepared data holds and never the raw ids.
    keep_ids : bool
        Write the id columns as they are in the input (e.g. prepared data, already hashed).
    id_columns : sequence of str, optional
        The input's columns to write as ids, instead of the schema's ``id_columns`` (for
        new data whose id column has another name). Hashed like the schema's when the model
        keeps its ids hashed, unless ``keep_ids``.

    Returns
    -------
    dict
        ``rows``, ``positives`` (rows labelled 1), ``threshold``, ``unseen_categories``
        (column -> count), ``extra_columns``, ``input``, ``output``.
    """
    if chunksize < 1:
        raise ValueError(f"chunksize must be positive, got {chunksize}")
    input_path, output_path = Path(input_path), Path(output_path)
    out_format = _output_format(output_path, input_path=input_path)
    model = load_model(model_dir)
    source = _Input(input_path, model.schema, chunksize=chunksize, id_columns=id_columns)
    if id_columns is None:
        lost = [c for c in model.schema.get("id_columns", []) if c not in source.id_columns]
        if lost:
            log.warning("%s: the model's id column(s) %s are not in the input, so the output has no %s (its rows "
                        "are in input order); pass --id-column NAME to write another column as the id",
                        input_path, _short(lost), "ids" if len(lost) == len(model.schema["id_columns"])
                        else "column(s) " + _short(lost))
    salt = _id_salt(model, source, salt_env=salt_env, keep_ids=keep_ids)
    if salt is not None:
        source.ids_as_text = False  # read them as prepare read the raw data
    positives = 0
    columns = [*source.id_columns, "score", "label"]
    with _atomic_path(output_path) as tmp:
        out = _Output(tmp, out_format, suffix=output_path.suffix)
        try:
            def visit(checked: CheckedInput, _chunk: pd.DataFrame) -> None:
                nonlocal positives
                scored = _score_checked(model, checked)
                if salt is not None:
                    from .data import hash_ids

                    for col in source.id_columns:
                        scored[col] = hash_ids(scored[col], salt)
                positives += int(scored["label"].sum())
                out.write(scored)

            counts = _scan(model, source, visit, desc=f"scoring {input_path.name}")
            if counts["rows"] == 0:
                out.write(pd.DataFrame({c: pd.Series(dtype="float64" if c == "score" else "int8" if c == "label"
                                                     else "object") for c in columns}))
        finally:
            out.close()
    summary = {"input": str(input_path), "output": str(output_path), "threshold": model.threshold,
               "positives": positives, **counts}
    log.info("%s: scored %d row(s), %d labelled positive (threshold %.4g); wrote %s",
             input_path, counts["rows"], positives, model.threshold, output_path)
    return summary


def drift_file(
    model_dir: str | Path,
    input_path: str | Path,
    *,
    report_path: str | Path | None = None,
    figure_path: str | Path | None = None,
    psi_threshold: float | None = None,
    p_threshold: float = 0.01,
    chunksize: int = DEFAULT_CHUNKSIZE,
) -> tuple[pd.DataFrame, bool]:
    """Compare a CSV or Parquet file with the model's training data.

    Parameters
    ----------
    model_dir : str or Path
        A model artifact directory.
    input_path : str or Path
        New data (``*.csv`` or ``*.parquet``), read in chunks.
    report_path : str or Path, optional
        Where to write the JSON report (thresholds, rows, drifted features, the table).
    figure_path : str or Path, optional
        Where to write the PSI bar chart (``*.png``, ``*.svg`` or ``*.pdf``). The report and the
        figure are checked before the input is read, and replace existing files only when both
        are written.
    psi_threshold : float, optional
        A feature drifts when its PSI exceeds this. Default: the threshold the model was trained
        with (``evaluate.psi_threshold``, kept in the model's params), else 0.2.
    p_threshold : float
        See :func:`imbalance_lab.drift.drift_table`.
    chunksize : int
        Rows read at a time.

    Returns
    -------
    (DataFrame, bool)
        The drift table and whether any feature drifted.
    """
    from .drift import DriftAccumulator, drift_figure

    input_path = Path(input_path)
    report_path = None if report_path is None else Path(report_path)
    figure_path = None if figure_path is None else Path(figure_path)
    if report_path is not None:
        _check_output(report_path, input_path=input_path, hint="a file name for the JSON report")
    figure_format = None
    if figure_path is not None:
        _check_output(figure_path, input_path=input_path, hint="a file name ending in .png, .svg or .pdf")
        figure_format = figure_path.suffix.lower().lstrip(".")
        if figure_format not in ("png", "svg", "pdf"):
            raise ScoringError(f"{figure_path}: cannot tell the figure format from the file name; "
                               "name it *.png, *.svg or *.pdf")
        if report_path is not None and (report_path.resolve() == figure_path.resolve()):
            raise ScoringError(f"{figure_path}: is also the report's path; give the report and the figure two names")
    model = load_model(model_dir)
    if psi_threshold is None:
        psi_threshold = float((model.meta.get("params") or {}).get("psi_threshold", DEFAULT_PSI_THRESHOLD))
    if not psi_threshold > 0:
        raise ScoringError(f"--psi-threshold must be positive, got {psi_threshold}")
    try:
        acc = DriftAccumulator(model.reference)
    except ValueError as exc:
        raise ScoringError(
            f"{model.directory / 'reference.json'}: not valid training statistics ({exc}); re-train the model"
        ) from None
    if not model.reference["numeric"] and not model.reference["categorical"]:
        raise ScoringError(f"{model.directory / 'reference.json'}: holds no training statistics; re-train the model")
    source = _Input(input_path, model.schema, chunksize=chunksize)
    # both outputs go to temporary files made before the scan (so an unwritable directory stops
    # it before any work) and replace their targets only when both are written
    with contextlib.ExitStack() as stack:
        report_tmp = stack.enter_context(_atomic_path(report_path)) if report_path is not None else None
        figure_tmp = stack.enter_context(_atomic_path(figure_path)) if figure_path is not None else None
        counts = _scan(model, source, lambda checked, _chunk: acc.update(checked.X), desc=f"drift {input_path.name}")
        if counts["rows"] == 0:
            raise ScoringError(f"{input_path}: no data rows; drift needs rows to compare")
        table = acc.table(psi_threshold=psi_threshold, p_threshold=p_threshold)
        drifted = bool(table["drifted"].any())
        if report_tmp is not None:
            report = {
                "input": str(input_path), "model": str(model.directory), "rows": counts["rows"],
                "psi_threshold": psi_threshold, "p_threshold": p_threshold, "drifted": drifted,
                "drifted_features": table.loc[table["drifted"], "feature"].tolist(),
                "unseen_categories": counts["unseen_categories"],
                "features": table.to_dict(orient="records"),
            }
            report_tmp.write_bytes(json_bytes(report))
        if figure_tmp is not None:
            # no software version or date in the file: the same table gives the same bytes
            metadata = {"png": {"Software": None}, "svg": {"Date": None},
                        "pdf": {"Creator": None, "Producer": None, "CreationDate": None}}[figure_format]
            import matplotlib

            with matplotlib.rc_context({"svg.hashsalt": "imbalance-lab"}):  # SVG ids from a fixed salt
                drift_figure(table, psi_threshold=psi_threshold).savefig(figure_tmp, format=figure_format, dpi=120,
                                                                         metadata=metadata)
    return table, drifted


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _cmd_predict(args: argparse.Namespace) -> int:
    summary = predict_file(args.model, args.input, args.output, chunksize=args.chunksize, salt_env=args.salt_env,
                           keep_ids=args.keep_ids, id_columns=args.id_column)
    unseen = {c: n for c, n in summary["unseen_categories"].items() if n}
    log.info("predict: %d row(s), %d positive; unseen categories: %s", summary["rows"], summary["positives"],
             unseen or "none")
    return 0


def _cmd_drift(args: argparse.Namespace) -> int:
    table, drifted = drift_file(args.model, args.input, report_path=args.report, figure_path=args.figure,
                                psi_threshold=args.psi_threshold)
    threshold = table.attrs["psi_threshold"]
    for row in table.itertuples(index=False):
        if row.drifted:
            log.warning("drift: %s (%s) PSI %.3f > %g, %s p=%.2g", row.feature, row.kind, row.psi,
                        threshold, row.test, row.p_value)
    if drifted:
        log.warning("drift: %d of %d feature(s) drifted (exit status %d)", int(table["drifted"].sum()), len(table),
                    DRIFT_EXIT)
        return DRIFT_EXIT
    log.info("drift: no feature drifted (largest PSI %.3f, threshold %g)",
             float(table["psi"].max()) if len(table) else 0.0, threshold)
    return 0


def add_predict_arguments(predict: argparse.ArgumentParser) -> None:
    """Give the ``predict`` subcommand's parser its description, options and handler (``func``,
    ``handler(args) -> int``, the exit status; user errors are raised as
    :class:`~imbalance_lab.errors.ImbalanceLabError` subclasses)."""
    predict.description = "Score a CSV or Parquet file with a saved model; writes the id columns, score and label."
    predict.add_argument("--model", required=True, metavar="DIR", help="model artifact directory")
    predict.add_argument("--input", required=True, metavar="FILE", help="*.csv or *.parquet")
    predict.add_argument("--output", required=True, metavar="FILE", help="*.csv (.csv.gz, .csv.bz2, .csv.xz) or *.parquet")
    predict.add_argument("--chunksize", type=_positive_int, default=DEFAULT_CHUNKSIZE, metavar="N",
                         help=f"rows per chunk (default {DEFAULT_CHUNKSIZE})")
    predict.add_argument("--salt-env", default=DEFAULT_SALT_ENV, metavar="NAME",
                         help="environment variable with the salt of prepare.hash_columns: id columns the model "
                              f"keeps hashed are written hashed (default {DEFAULT_SALT_ENV})")
    predict.add_argument("--keep-ids", action="store_true",
                         help="write the id columns as they are in the input (e.g. prepared data, already hashed)")
    predict.add_argument("--id-column", action="append", metavar="NAME",
                         help="an input column to write as the id, instead of the model's id columns (repeat for "
                              "several); hashed like them unless --keep-ids")
    predict.set_defaults(func=_cmd_predict)


def add_drift_arguments(drift: argparse.ArgumentParser) -> None:
    """Give the ``drift`` subcommand's parser its description, options and handler (as
    :func:`add_predict_arguments`)."""
    drift.description = (f"Compare new data with the model's training data; exit status 0 when stable, "
                         f"{DRIFT_EXIT} when a feature drifted, 2 on errors.")
    drift.add_argument("--model", required=True, metavar="DIR", help="model artifact directory")
    drift.add_argument("--input", required=True, metavar="FILE", help="*.csv or *.parquet")
    drift.add_argument("--report", metavar="FILE", help="write a JSON report here")
    drift.add_argument("--figure", metavar="FILE", help="write a chart of the PSI per feature here (.png, .svg or .pdf)")
    drift.add_argument("--psi-threshold", type=_positive_float, default=None, metavar="X",
                       help="a feature drifts when its PSI exceeds this (default: the model's evaluate.psi_threshold)")
    drift.set_defaults(func=_cmd_drift)
