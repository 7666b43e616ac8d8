"""Atomic, deterministic writes: a reader never sees a half-written output."""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .errors import ImbalanceLabError

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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


def json_bytes(obj: Any, *, digits: int | None = 6) -> bytes:
    """``obj`` as JSON with sorted keys, floats rounded to ``digits`` and NaN as null."""
    return (json.dumps(_clean(obj, digits), indent=2, sort_keys=True) + "\n").encode()


def write_json(path: str | Path, obj: Any, *, digits: int | None = 6) -> Path:
    """Write JSON with sorted keys, floats rounded to ``digits`` and NaN as null (atomically)."""
    return write_bytes(path, json_bytes(obj, digits=digits))


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, reading floats as YAML 1.2 does (and DVC, through ruamel.yaml):
    ``5e-2`` and ``1e3`` are numbers, not the strings YAML 1.1 makes of them."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def read_yaml(path: str | Path, *, error: type[Exception] | None = None,
              hint: str = "run from the project root") -> Any:
    """Read a YAML file; a missing file, non-UTF-8 text or a syntax error is one line.

    Parameters
    ----------
    path : str or Path
        The file.
    error : exception class, optional
        What to raise (default :class:`imbalance_lab.errors.ImbalanceLabError`).
    hint : str
        The fix named when the file is not found.
    """
    error = error or ImbalanceLabError
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found; {hint}")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (a safe loader)
    except UnicodeDecodeError:
        raise error(f"{path}: is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise error(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def write_parquet(path: str | Path, df: pd.DataFrame) -> Path:
    """Write a frame as Parquet (zstd, no index); the same frame gives the same bytes."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    return write_bytes(path, buf.getvalue())


def write_csv(path: str | Path, df: pd.DataFrame, *, digits: int = 6) -> Path:
    """Write a frame as CSV with floats rounded to ``digits``."""
    return write_bytes(path, df.round(digits).to_csv(index=False, lineterminator="\n").encode())


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
