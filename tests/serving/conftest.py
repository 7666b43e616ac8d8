"""Fixtures of the serving tests: fitted models and saved artifacts of the shared synthetic data
set (with an id column and four categories)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import cli
from imbalance_lab.data import Schema
from imbalance_lab.io import sha256_bytes
from imbalance_lab.modeling import make_pipeline
from imbalance_lab.serving import reference_stats, save_model

#: Small, fast versions of the registry models.
FAST = {
    "random_forest": {"n_estimators": 5},
    "hist_gradient_boosting": {"max_iter": 30},
    "xgboost": {"n_estimators": 30},
}


@pytest.fixture(scope="session")
def fast_params() -> dict[str, dict[str, Any]]:
    """:data:`FAST`."""
    return FAST


@pytest.fixture(scope="session")
def serving_schema(make_dataset) -> Schema:
    """The schema of :func:`serving_data`'s rows."""
    return make_dataset(10, positives=2, categories="abcd", ids=True)[2]


@pytest.fixture(scope="session")
def serving_data(make_dataset) -> Callable[..., tuple[pd.DataFrame, np.ndarray]]:
    """``serving_data(n=300, seed=0, *, shift=0.0, category_p=None) -> (X, y)``: rows with an id
    column and four categories, 20 % positives."""

    def make(n: int = 300, seed: int = 0, *, shift: float = 0.0, category_p: Any = None):
        X, y, _ = make_dataset(
            n, positives=n // 5, seed=seed, shift=shift, categories="abcd", category_p=category_p, ids=True
        )
        return X, y

    return make


@pytest.fixture(scope="session")
def fit_model(serving_schema) -> Callable[..., Any]:
    """``fit_model(name, X, y, *, sampler=None, schema=serving_schema)``: a registry pipeline
    (small and fast) fitted on the schema's features."""

    def fit(name: str, X: pd.DataFrame, y: np.ndarray, *, sampler: Any = None, schema: Schema = serving_schema) -> Any:
        return make_pipeline(name, schema, seed=0, params=FAST.get(name), sampler=sampler).fit(X[schema.features], y)

    return fit


@pytest.fixture(scope="session")
def save_artifact(serving_schema) -> Callable[..., Path]:
    """``save_artifact(directory, pipeline, X, *, threshold=0.3, **overrides)``: save_model with
    test values for everything but the pipeline."""

    def save(directory: Path, pipeline: Any, X: pd.DataFrame, *, threshold: float = 0.3, **overrides: Any) -> Path:
        kwargs = {
            "pipeline": pipeline,
            "threshold": threshold,
            "schema": serving_schema,
            "reference": reference_stats(X, serving_schema),
            "params": {"model": "test", "seed": 0},
            "data_hashes": {"data/prepared/train.parquet": "md5:0123"},
            "metrics": {"cv": {"average_precision": 0.41}, "test": {"roc_auc": 0.77}},
            "card_markdown": None,
        }
        kwargs.update(overrides)
        return save_model(directory, **kwargs)

    return save


@pytest.fixture(scope="session")
def rewrite_artifact() -> Callable[[Path, str, bytes], None]:
    """``rewrite_artifact(directory, name, data)``: replace a file of an artifact and make the
    manifest agree (a forged artifact)."""

    def rewrite(directory: Path, name: str, data: bytes) -> None:
        (directory / name).write_bytes(data)
        manifest = json.loads((directory / "manifest.json").read_text())
        manifest["files"][name] = {"sha256": sha256_bytes(data), "bytes": len(data)}
        (directory / "manifest.json").write_text(json.dumps(manifest))

    return rewrite


@pytest.fixture(scope="session")
def run_cli() -> Callable[[list[str]], int]:
    """Run a command through :func:`imbalance_lab.cli.main`; returns its exit status."""
    return cli.main
