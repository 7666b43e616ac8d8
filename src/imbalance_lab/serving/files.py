"""New data's files: CSV or Parquet read in chunks of the columns a model needs, and scores
written to a temporary file that replaces the output only when it is complete."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.schema import Schema
from ..errors import ScoringError
from .inputs import check_input, short_list

#: The compressions pandas reads by suffix, and those of them CSV output is written in.
_COMPRESSED = (".zip", ".zst", ".bz2", ".gz", ".xz")


def file_format(path: str | Path, *, role: str) -> str:
    """``"csv"`` or ``"parquet"`` from the file name; :class:`ScoringError` otherwise.

    The last suffix decides, after one compression suffix (``scores.csv.gz`` is CSV,
    ``scores.parquet.csv`` is CSV, ``scores.csv.parquet`` is Parquet)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if len(suffixes) > 1 and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".csv", ".tsv", ".txt"):
        return "csv"
    raise ScoringError(f"{path}: cannot tell the {role} format from the file name; name it *.csv or *.parquet")


_CSV_COMPRESSION = (".gz", ".bz2", ".xz")


def output_format(path: Path, *, input_path: Path) -> str:
    """The output's format (``"csv"`` or ``"parquet"``), checked before any work: not a
    directory, not the input file, and a compression suffix only where it is written."""
    fmt = file_format(path, role="output")
    suffix = path.suffix.lower()
    if suffix in _COMPRESSED and (fmt == "parquet" or suffix not in _CSV_COMPRESSION):
        raise ScoringError(
            f"{path}: cannot write {fmt.upper()} compressed as {suffix}; name it *.csv, "
            "*.csv.gz, *.csv.bz2, *.csv.xz or *.parquet (Parquet is compressed already)"
        )
    check_output(path, input_path=input_path, hint="a file name ending in .csv or .parquet")
    return fmt


def check_output(path: Path, *, input_path: Path, hint: str) -> None:
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
    raise ScoringError(
        f"{path}: a row has more or fewer fields than the header ({found.group(0).lower()}); fix or remove it"
    )


def _read_error(path: Path, fmt: str, exc: BaseException) -> ScoringError:
    if isinstance(exc, PermissionError):
        return ScoringError(f"{path}: cannot read (permission denied); check the file's permissions")
    if isinstance(exc, UnicodeDecodeError):
        return ScoringError(f"{path}: not UTF-8 text; save the CSV as UTF-8")
    if isinstance(exc, pd.errors.EmptyDataError):
        return ScoringError(f"{path}: the file is empty; a CSV with a header row is needed")
    msg = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    other = "parquet" if fmt == "csv" else "csv"
    return ScoringError(
        f"{path}: cannot read as {fmt.upper()} ({msg}); check the file, or name it *.{other} if it is {other.upper()}"
    )


class InputFile:
    """A CSV or Parquet file read in chunks of the columns the model needs."""

    def __init__(
        self, path: str | Path, schema: Schema, *, chunksize: int, id_columns: Sequence[str] | None = None
    ) -> None:
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
            self.id_columns = [c for c in schema.id_columns if c in self.columns]
        else:
            absent = [c for c in id_columns if c not in self.columns]
            if absent:
                raise ScoringError(
                    f"{self.path}: the id column {absent[0]!r} is not in the input (its columns: "
                    f"{short_list(self.columns)}); check the name given to --id-column"
                )
            self.id_columns = list(dict.fromkeys(id_columns))
        used = {*schema.features, *self.id_columns, *([schema.time_column] if schema.time_column else [])}
        self.extra_columns = [c for c in self.columns if c not in used]
        self.needed = [c for c in self.columns if c in used]

    def chunks(self) -> Iterator[pd.DataFrame]:
        """Yield the needed columns chunk by chunk (extra columns are not read)."""
        try:
            if self.format == "parquet":
                for batch in self._parquet.iter_batches(batch_size=self.chunksize, columns=self.needed):
                    yield batch.to_pandas()
            else:
                text = [
                    c
                    for c in self.needed
                    if c in self.schema.categorical or (c in self.id_columns and self.ids_as_text)
                ]
                reader = pd.read_csv(
                    self.path,
                    sep=self._sep,
                    usecols=lambda c: str(c).strip() in self.needed,
                    dtype=dict.fromkeys(text, str),
                    chunksize=self.chunksize,
                )
                with reader:
                    for chunk in reader:
                        chunk.columns = [str(c).strip() for c in chunk.columns]
                        yield chunk
        except (ScoringError, GeneratorExit):
            raise
        except Exception as exc:
            raise _read_error(self.path, self.format, exc) from None


class OutputFile:
    """Writes scored chunks as CSV or Parquet to an open temporary file."""

    def __init__(self, path: Path, fmt: str, *, suffix: str = "") -> None:
        self.path, self.format, self.suffix = path, fmt, suffix.lower()
        self._fh: Any = None
        self._raw: Any = None
        self._writer: Any = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append a chunk of scores (the first one writes the header or the Parquet schema)."""
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
        """Flush and close what is open."""
        if self._fh is not None:
            self._fh.close()
        if self._raw is not None:
            self._raw.close()
        if self._writer is not None:
            self._writer.close()
