"""The prepared data: the one directory the prepare stage writes and every later stage reads.

It holds the training and test rows, the shared fold assignment of the training rows, the
:class:`~imbalance_lab.data.schema.Schema` and a summary of what prepare found. It is written as a
whole (a reader never sees the training rows of one run beside the folds of another) and is one
DVC output, so a stage that reads it lists one dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import atomic_directory, read_json, read_parquet, write_json, write_parquet
from .schema import Schema

#: The files of the prepared-data directory, by part.
PREPARED_FILES = {
    "train": "train.parquet",
    "test": "test.parquet",
    "folds": "folds.parquet",
    "schema": "schema.json",
    "summary": "summary.json",
}


@dataclass(frozen=True)
class PreparedData:
    """What prepare wrote.

    Attributes
    ----------
    train : DataFrame
        The training rows (features, target and id columns).
    folds : DataFrame
        The fold of each training row, one column per repeat.
    schema : Schema
        The columns and how a model reads them.
    test : DataFrame or None
        The test rows, when they were read (only the evaluate stage touches them).
    """

    train: pd.DataFrame
    folds: pd.DataFrame
    schema: Schema
    test: pd.DataFrame | None = None


def prepared_file(directory: str | Path, part: str) -> Path:
    """The path of one part (a key of :data:`PREPARED_FILES`) of the prepared-data directory."""
    if part not in PREPARED_FILES:
        raise ValueError(f"unknown part {part!r} of the prepared data; one of {sorted(PREPARED_FILES)}")
    return Path(directory) / PREPARED_FILES[part]


def read_prepared(directory: str | Path, *, test: bool = False) -> PreparedData:
    """Read the prepared data.

    Parameters
    ----------
    directory : str or Path
        The directory prepare wrote.
    test : bool
        Read the test rows too (the evaluate stage); other stages never touch them.
    """
    return PreparedData(
        train=read_parquet(prepared_file(directory, "train")),
        folds=read_parquet(prepared_file(directory, "folds")),
        schema=Schema.read(prepared_file(directory, "schema")),
        test=read_parquet(prepared_file(directory, "test")) if test else None,
    )


def read_prepared_summary(directory: str | Path) -> dict[str, Any]:
    """The summary prepare wrote (counts of rows, positives, features and dropped rows)."""
    return read_json(prepared_file(directory, "summary"))


def write_prepared(directory: str | Path, prepared: PreparedData, *, summary: dict[str, Any]) -> Path:
    """Write the prepared-data directory as a whole, replacing the one there (if any) atomically.

    Parameters
    ----------
    directory : str or Path
        Where to write it.
    prepared : PreparedData
        The data, with its test rows.
    summary : dict
        What prepare found (written as ``summary.json``).
    """
    if prepared.test is None:
        raise ValueError("the prepared data to write needs its test rows")
    with atomic_directory(directory) as tmp:
        write_parquet(prepared_file(tmp, "train"), prepared.train)
        write_parquet(prepared_file(tmp, "test"), prepared.test)
        write_parquet(prepared_file(tmp, "folds"), prepared.folds)
        prepared.schema.write(prepared_file(tmp, "schema"))
        write_json(prepared_file(tmp, "summary"), summary)
    return Path(directory)
