"""The schema: which columns the prepared data holds and how a model reads them.

Prepare derives it from the raw data and writes it as JSON (``schema.json``); every later stage,
the model artifact and ``imbalance-lab predict`` read it back. :class:`Schema` is that JSON with
names: :meth:`Schema.to_dict` and :meth:`Schema.from_dict` are exact inverses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io import read_json, write_json


@dataclass(frozen=True)
class Schema:
    """The prepared data's columns.

    Attributes
    ----------
    target : str
        The 0/1 target column.
    positive_label : str
        The raw label counted as positive, normalised to text (``1``, ``yes``, ``true``).
    numeric : list of str
        Numeric features (float; missing values are NaN).
    categorical : dict
        Categorical feature -> its categories seen in the data (sorted text).
    features : list of str
        Every feature, in the data's column order.
    id_columns : list of str
        Identifier columns kept beside the features (not features).
    dropped_columns : list of str
        Columns removed by prepare (``drop_columns`` and constant columns).
    id_hash : str or None
        How the id columns were hashed (:data:`imbalance_lab.data.ids.ID_HASH`), None when they
        are not hashed.
    n_splits, n_repeats : int or None
        The shape of the stored fold assignment, when prepare wrote one.
    time_column : str or None
        The column that dates the rows (kept beside the features, not one), when prepare.time_column is set.
    time_format : str or None
        The strftime format of the time column's text, when prepare.time_format is set.
    test_from : str or None
        With the out-of-time split (prepare.split: time): the time from which rows are test rows
        (the test set is the latest rows; the model never saw a row of that period).
    """

    target: str
    numeric: list[str]
    categorical: dict[str, list[str]]
    features: list[str]
    positive_label: str = "1"
    id_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    id_hash: str | None = None
    n_splits: int | None = None
    n_repeats: int | None = None
    time_column: str | None = None
    time_format: str | None = None
    test_from: str | None = None

    def __post_init__(self) -> None:
        unknown = [f for f in self.features if f not in self.numeric and f not in self.categorical]
        if unknown:
            raise ValueError(f"schema features {unknown} are neither numeric nor categorical")

    def to_dict(self) -> dict[str, Any]:
        """The schema as the JSON object prepare writes (optional fields only when set)."""
        out = dataclasses.asdict(self)
        for optional in ("id_hash", "n_splits", "n_repeats", "time_column", "time_format", "test_from"):
            if out[optional] is None:
                del out[optional]
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Schema:
        """The schema of a JSON object written by :meth:`to_dict`.

        Raises
        ------
        ValueError
            A required field is missing or a field is unknown.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown schema field(s) {unknown}")
        required = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        missing = [name for name in required if name not in values]
        if missing:
            raise ValueError(f"schema field(s) {missing} missing")
        return cls(**{k: _copy(v) for k, v in values.items()})

    def replace(self, **changes: Any) -> Schema:
        """A copy with ``changes`` applied (:func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def read(cls, path: str | Path) -> Schema:
        """Read a schema.json file."""
        return cls.from_dict(read_json(path))

    def write(self, path: str | Path) -> Path:
        """Write the schema as JSON (sorted keys), atomically."""
        return write_json(path, self.to_dict())


def _copy(value: Any) -> Any:
    """Lists and dicts copied, so that a schema never shares them with the mapping it was made of."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
