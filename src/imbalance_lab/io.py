"""Files written atomically and deterministically: a reader never sees a half-written output, and
the same content gives the same bytes.

* :func:`atomic_path` / :func:`write_bytes`: a temporary file next to the target, renamed over it
  at the end; :func:`atomic_directory` does the same for a whole directory.
* :func:`json_bytes` / :func:`write_json`: sorted keys, rounded floats, NaN as null.
* :func:`write_parquet`, :func:`write_csv`: tables with reproducible bytes; :func:`read_parquet`
  reads one and gives pyarrow's freed memory back (:func:`release_arrow_memory`).
* :func:`figure_bytes` / :func:`save_figure`: figures without the software version or date that
  matplotlib writes into PNG, SVG and PDF files.
* :func:`read_yaml`, :func:`read_json`: reading, with one-line errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from .errors import ImbalanceLabError


def _read_umask() -> int:
    """The process's umask, read once. Linux shows it in /proc/self/status; elsewhere it is read
    by setting it and restoring it, which this module does once, at import, rather than around
    every write (another thread creating a file in between would get mode 0o666)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The umask when the package was imported: new files get ``0o666 & ~UMASK``, directories
#: ``0o777 & ~UMASK``, as ``open`` and ``mkdir`` would give them.
UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path, *, error: type[Exception] = ImbalanceLabError) -> Iterator[Path]:
    """A temporary file next to ``path`` that replaces ``path`` when the block succeeds.

    On any exception the temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        The target file. Its directory is created if needed.
    error : exception class
        Raised (one line) when ``path`` is a directory or its directory cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise error(f"{path}: cannot write ({exc.strerror or type(exc).__name__}); check the directory") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


@contextlib.contextmanager
def atomic_directory(directory: str | Path, *, error: type[Exception] = ImbalanceLabError) -> Iterator[Path]:
    """A temporary directory that replaces ``directory`` as a whole when the block succeeds.

    The old directory (if any) is moved aside, the new one renamed into place and the old one
    removed: a reader sees the old content or the new one, never a mix. A symbolic link at
    ``directory`` is replaced, never what it points to.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise error(f"{directory}: exists and is not a directory; remove it or choose another path")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~UMASK)
        old = None
        if directory.is_symlink():
            directory.unlink()
        elif directory.exists():
            old = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".old"))
            os.rmdir(old)
            os.replace(directory, old)
        try:
            os.replace(tmp, directory)
        except BaseException:
            if old is not None:
                os.replace(old, directory)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# JSON and YAML
# --------------------------------------------------------------------------------------------


def _clean(obj: Any, digits: int | None) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, digits) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()  # numpy scalar
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return None
        return round(obj, digits) if digits is not None else obj
    return obj


def json_bytes(obj: Any, *, digits: int | None = 6, sort_keys: bool = True) -> bytes:
    """``obj`` as JSON with sorted keys (or in its own order: a metrics file, whose order is that
    of the columns of ``dvc exp show``), floats rounded to ``digits`` (``None``: full precision),
    NaN and infinities as null, numpy scalars as numbers."""
    return (json.dumps(_clean(obj, digits), indent=2, sort_keys=sort_keys, allow_nan=False) + "\n").encode()


def write_json(path: str | Path, obj: Any, *, digits: int | None = 6, sort_keys: bool = True) -> Path:
    """Write :func:`json_bytes` of ``obj`` atomically."""
    return write_bytes(path, json_bytes(obj, digits=digits, sort_keys=sort_keys))


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading floats as YAML 1.2 does (and DVC, through ruamel.yaml):
    ``5e-2`` and ``1e3`` are numbers, not the strings YAML 1.1 makes of them."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_yaml(
    path: str | Path, *, error: type[Exception] = ImbalanceLabError, hint: str = "run from the project root"
) -> Any:
    """Read a YAML file; a missing file, non-UTF-8 text or a syntax error is one line.

    Parameters
    ----------
    path : str or Path
        The file.
    error : exception class
        What to raise.
    hint : str
        The fix named when the file is not found.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found; {hint}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except UnicodeDecodeError:
        raise error(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise error(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None


# --------------------------------------------------------------------------------------------
# Tables, hashes and figures
# --------------------------------------------------------------------------------------------


def release_arrow_memory() -> None:
    """Give the memory pyarrow's pool has freed but kept back to the system.

    pyarrow allocates from its own pool (mimalloc here), which keeps freed memory for later
    allocations. Reading a Parquet file into pandas frees the file's Arrow table once the frame
    is built, and writing one frees the table built from the frame; a stage does little with
    Arrow afterwards, so the memory stayed with the process: reading the 1e6-row prepared data
    (0.26 GiB as a frame) left 0.75 GiB of RSS, 0.41 after this call (measured). At 4e6 rows
    nothing was kept (1.22 GiB either way): the pool gives blocks that large back by itself.
    """
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def read_parquet(path: str | Path, **options: Any) -> Any:
    """``pandas.read_parquet``, then :func:`release_arrow_memory`."""
    import pandas as pd

    try:
        return pd.read_parquet(path, **options)
    finally:
        release_arrow_memory()


def write_parquet(path: str | Path, df: Any) -> Path:
    """Write a DataFrame as Parquet (zstd, no index); the same frame gives the same bytes."""
    buf = io.BytesIO()
    try:
        df.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    finally:
        release_arrow_memory()
    return write_bytes(path, buf.getvalue())


def write_csv(path: str | Path, df: Any, *, digits: int = 6) -> Path:
    """Write a DataFrame as CSV with floats rounded to ``digits``."""
    return write_bytes(path, df.round(digits).to_csv(index=False, lineterminator="\n").encode())


def sha256_bytes(data: bytes) -> str:
    """SHA-256 of ``data`` (hex)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: What :func:`figure_bytes` writes for each format instead of the software version and date.
_FIGURE_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
}


#: The attribute where :func:`figure_bytes` keeps a figure's last rendering: (format, dpi, bytes).
_RENDERED = "_imbalance_lab_rendered"


def figure_bytes(fig: Any, *, format: str = "png", dpi: int = 150) -> bytes:
    """A matplotlib figure as PNG, SVG or PDF without volatile metadata (same figure, same bytes):
    the files :func:`save_figure` writes and the images a stage notebook shows.

    Rendering is the costly part (0.05 to 0.15 s a figure). The last rendering of a figure built
    with the object API (the package's figures) is kept on it and returned again while the figure
    is unchanged (matplotlib marks a figure stale when any of its artists changes), so a figure a
    stage saves and then shows is rendered once. A pyplot figure (optuna's plots) is rendered each
    time, as before: the second rendering of optuna's optimization history differs from the first
    by a few bytes, and the reports stay byte for byte what they were.
    """
    if format not in _FIGURE_METADATA:
        raise ValueError(f"figures are written as {', '.join(_FIGURE_METADATA)}, not {format!r}")
    keep = getattr(getattr(fig, "canvas", None), "manager", None) is None  # not pyplot's
    kept = getattr(fig, _RENDERED, None)
    if keep and kept is not None and kept[:2] == (format, dpi) and not fig.stale:
        return kept[2]
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "imbalance-lab"}):  # SVG element ids from a fixed salt
        fig.savefig(buf, format=format, dpi=dpi, bbox_inches="tight", metadata=_FIGURE_METADATA[format])
    data = buf.getvalue()
    if keep:
        setattr(fig, _RENDERED, (format, dpi, data))
        fig.stale = False  # as rendered: savefig(bbox_inches="tight") marks it stale when it restores its size
    return data


def save_figure(fig: Any, path: str | Path, *, dpi: int = 150) -> Path:
    """Write :func:`figure_bytes` of ``fig`` atomically, in the format of the file's suffix
    (``.png``, ``.svg`` or ``.pdf``)."""
    return write_bytes(path, figure_bytes(fig, format=Path(path).suffix.lower().lstrip("."), dpi=dpi))
