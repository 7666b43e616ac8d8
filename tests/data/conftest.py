"""Fixtures of the data tests: writing a small source file, a small labelled frame and
validate_and_clean with test defaults; each fixture is the helper function of that name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data
from imbalance_lab.errors import DataError


def _write(tmp_path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return name


def _data_error(func, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        func(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg, msg
    return msg


def _frame(n: int = 24) -> pd.DataFrame:
    return pd.DataFrame(
        {"num": np.arange(n, dtype=float), "cat": ["a", "b", "c"] * (n // 3), "y": [1, 0, 0] * (n // 3)}
    )


def _clean(df: pd.DataFrame, **kw):
    args = {
        "source": "src.csv",
        "target": "y",
        "positive_label": 1,
        "categorical": [],
        "drop_columns": [],
        "hash_columns": [],
        "hash_salt": None,
        "drop_duplicates": False,
        "n_splits": 2,
        "test_size": 0.25,
    }
    args.update(kw)
    return data.validate_and_clean(df, **args)


def _clean_error(df: pd.DataFrame, **kw) -> str:
    return _data_error(_clean, df, **kw)


@pytest.fixture(scope="session")
def write():
    """``write(directory, name, text) -> name``: a text file in ``directory``."""
    return _write


@pytest.fixture(scope="session")
def data_error():
    """``data_error(func, *args, **kwargs) -> str``: the message of the DataError the call raises
    (asserted to be one line)."""
    return _data_error


@pytest.fixture(scope="session")
def frame():
    """``frame(n=24) -> DataFrame``: n rows, a numeric and a text feature, target y with every third
    row positive."""
    return _frame


@pytest.fixture(scope="session")
def clean():
    """``clean(df, **overrides) -> (cleaned, schema, report)``:
    :func:`imbalance_lab.data.validate_and_clean` of ``df`` as source "src.csv", target y, positive
    label 1, two folds, a test share of 0.25 and nothing declared, dropped or hashed."""
    return _clean


@pytest.fixture(scope="session")
def clean_error():
    """``clean_error(df, **overrides) -> str``: the one-line DataError message of ``clean``."""
    return _clean_error
