"""Shared fixtures: the one synthetic data set factory, and the helpers of :mod:`tests.support`
(a copy of the project and its commands)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.data import Schema
from tests import support

# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------


def synthetic_dataset(
    n: int = 300,
    *,
    positives: int | None = None,
    seed: int = 0,
    shift: float = 0.0,
    categories: str = "abc",
    category_p: tuple[float, ...] | None = None,
    ids: bool = False,
) -> tuple[pd.DataFrame, np.ndarray, Schema]:
    """Features as :func:`imbalance_lab.data.split_xy` returns them, their 0/1 target and schema.

    ``num1`` carries the signal (1.5 sd higher for positives), ``num2`` is noise with 10 % missing
    values, ``cat`` leans towards its last category for positives and has 5 % missing values. The
    log-odds are linear in ``num1`` and in the category, so a logistic regression is well
    specified (its probabilities are calibrated at the prevalence it is trained at).

    Parameters
    ----------
    n : int
        Rows.
    positives : int, optional
        Exactly this many positives (default: 10 % of the rows).
    seed : int
    shift : float
        Added to ``num1`` (new data that drifted).
    categories : str
        The categories of ``cat``, one letter each.
    category_p : tuple of float, optional
        The categories' shares among the negatives (new data whose mix of categories drifted);
        positives keep theirs.
    ids : bool
        Add an ``id`` column first (``r<seed>-<row>``), listed in the schema's ``id_columns``.
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, size=n // 10 if positives is None else positives, replace=False)] = 1
    num1 = rng.normal(size=n) + 1.5 * y + shift
    num2 = rng.normal(loc=3.0, scale=2.0, size=n)
    num2[rng.random(n) < 0.1] = np.nan
    levels = list(categories)
    rest = len(levels) - 1
    negative_p = list(category_p) if category_p is not None else [0.9 / rest] * rest + [0.1]
    positive_p = [0.4 / rest] * rest + [0.6]
    cat = np.where(y == 1, rng.choice(levels, size=n, p=positive_p), rng.choice(levels, size=n, p=negative_p)).astype(
        object
    )
    cat[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame({"num1": num1, "num2": num2, "cat": pd.Series(cat, dtype=object)})
    if ids:
        X.insert(0, "id", [f"r{seed}-{i:04d}" for i in range(n)])
    schema = Schema(
        target="y",
        numeric=["num1", "num2"],
        categorical={"cat": levels},
        features=["num1", "num2", "cat"],
        id_columns=["id"] if ids else [],
    )
    return X, y, schema


@pytest.fixture(scope="session")
def make_dataset() -> Callable[..., tuple[pd.DataFrame, np.ndarray, Schema]]:
    """The synthetic data set factory (:func:`synthetic_dataset`)."""
    return synthetic_dataset


# --------------------------------------------------------------------------------------------
# The project and its commands (tests/support.py, as fixtures)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The project's own directory."""
    return support.ROOT


@pytest.fixture(scope="session")
def small_params() -> dict[str, Any]:
    """The params changes that make the pipeline fast enough for a test (:data:`tests.support.SMALL`)."""
    return support.SMALL


@pytest.fixture(scope="session")
def copy_project() -> Callable[..., Path]:
    """:func:`tests.support.copy_project`."""
    return support.copy_project


@pytest.fixture(scope="session")
def run() -> Callable[..., subprocess.CompletedProcess]:
    """:func:`tests.support.run`."""
    return support.run


@pytest.fixture(scope="session")
def env() -> Callable[[], dict[str, str]]:
    """:func:`tests.support.env`."""
    return support.env


@pytest.fixture(scope="session")
def update_params() -> Callable[[Path, dict[str, Any]], None]:
    """:func:`tests.support.update_params`."""
    return support.update_params
