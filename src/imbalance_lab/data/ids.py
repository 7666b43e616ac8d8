"""Identifiers kept as salted hashes: prepare hashes ``prepare.hash_columns`` and ``imbalance-lab
predict`` hashes the same columns of new data the same way, so a customer gets the same hash in
both and the raw ids are never written."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

#: The environment variable that holds the salt of ``prepare.hash_columns`` (never a file of the
#: project: whoever has the salt can test guesses of an id against its hash).
SALT_ENV = "IMBALANCE_LAB_SALT"

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
