"""Fixtures of the serving tests: fitted models and saved artifacts of the shared synthetic data
set (with an id column and four categories), new rows to score and helpers for their files."""

from __future__ import annotations

import json
import shutil
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
from imbalance_lab.serving import load_model, reference_stats, save_model

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
            "reference": None,
            "params": {"model": "test", "seed": 0},
            "data_hashes": {"data/prepared/train.parquet": "md5:0123"},
            "metrics": {"cv": {"average_precision": 0.41}, "test": {"roc_auc": 0.77}},
            "card_markdown": None,
        }
        kwargs.update(overrides)
        if kwargs["reference"] is None:
            kwargs["reference"] = reference_stats(X, kwargs["schema"])
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


# --------------------------------------------------------------------------------------------
# Fitted and saved models (artifact and serialization tests)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(serving_data):
    """``(X, y)``: 300 rows of :func:`serving_data`."""
    return serving_data()


@pytest.fixture(scope="module")
def fitted(data, fit_model):
    """Logistic regression, histogram gradient boosting and XGBoost fitted on :func:`data`, by name."""
    X, y = data
    return {name: fit_model(name, X, y) for name in ("logistic_regression", "hist_gradient_boosting", "xgboost")}


@pytest.fixture(scope="module")
def saved(tmp_path_factory, fitted, data, save_artifact):
    """A saved logistic-regression artifact (copy it before modifying)."""
    return save_artifact(tmp_path_factory.mktemp("art") / "model", fitted["logistic_regression"], data[0])


@pytest.fixture
def art(tmp_path, saved):
    """A copy of :func:`saved` for one test to modify."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


# --------------------------------------------------------------------------------------------
# A saved model, new rows and their files (scoring, inputs and files tests)
# --------------------------------------------------------------------------------------------


#: The decision threshold of :func:`model_dir`'s model.
THRESHOLD = 0.3


@pytest.fixture(scope="session")
def model_threshold() -> float:
    """:data:`THRESHOLD`, the decision threshold of :func:`model_dir`'s model."""
    return THRESHOLD


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, fit_model, save_artifact, serving_data):
    """A saved logistic-regression model (threshold :data:`THRESHOLD`); test_drift.py has its own."""
    X, y = serving_data()
    pipe = fit_model("logistic_regression", X, y)
    return save_artifact(tmp_path_factory.mktemp("scoring") / "model", pipe, X, threshold=THRESHOLD)


@pytest.fixture(scope="module")
def model(model_dir):
    """:func:`model_dir`'s model, loaded."""
    return load_model(model_dir)


@pytest.fixture(scope="module")
def new_data(serving_data):
    """Rows to score: an id, an extra column, two unseen categories, missing values."""
    X, _ = serving_data(n=230, seed=7)
    X["notes"] = "free text"
    X.loc[[5, 17], "cat"] = "zzz"
    return X


def _expected_scores(model, df: pd.DataFrame) -> np.ndarray:
    X = df[model.schema.features].copy()
    X["cat"] = X["cat"].astype(object).where(X["cat"].notna(), np.nan)
    return model.pipeline.predict_proba(X)[:, 1]


def _write_input(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def _read_output(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"id": str})


@pytest.fixture(scope="session")
def expected_scores() -> Callable[[Any, pd.DataFrame], np.ndarray]:
    """``expected_scores(model, df)``: the loaded model's pipeline's probabilities of ``df``'s rows,
    computed directly."""
    return _expected_scores


@pytest.fixture(scope="session")
def write_input() -> Callable[[pd.DataFrame, Path], Path]:
    """``write_input(df, path) -> path``: ``df`` written as CSV or Parquet (by the suffix), without
    its index."""
    return _write_input


@pytest.fixture(scope="session")
def read_output() -> Callable[[Path], pd.DataFrame]:
    """``read_output(path)``: a scores file read back (ids as text)."""
    return _read_output


# --------------------------------------------------------------------------------------------
# Drift: a dataset with every kind of feature, its reference and a model (drift tests)
# --------------------------------------------------------------------------------------------

#: The drift dataset's categories (``kind``) and their training shares.
KINDS = {"k0": 0.3, "k1": 0.25, "k2": 0.15, "k3": 0.11, "k4": 0.09, "k5": 0.06, "k6": 0.03, "k7": 0.01}


@pytest.fixture(scope="session")
def drift_schema() -> Schema:
    """The schema of :func:`drift_data`: continuous ``amount`` and ``age``, ``visits`` (codes
    0-9), ``flag`` (90 % ones, like CoIL's MAANTHUI), ``kind`` (eight categories)."""
    return Schema(
        target="y",
        numeric=["amount", "age", "visits", "flag"],
        categorical={"kind": list(KINDS)},
        features=["amount", "age", "visits", "flag", "kind"],
    )


@pytest.fixture(scope="session")
def drift_data() -> Callable[..., tuple[pd.DataFrame, np.ndarray]]:
    """``drift_data(n, seed, *, other=False) -> (X, y)``: rows of :func:`drift_schema`, about
    8 % positives (more likely with a high amount, many visits and kind k5); ``amount`` has 5 %
    missing values. ``other=True`` draws another population (older, fewer visits, other kinds)."""

    def make(n: int, seed: int, *, other: bool = False) -> tuple[pd.DataFrame, np.ndarray]:
        rng = np.random.default_rng(seed)
        amount = rng.lognormal(3.0, 0.6, n)
        amount[rng.random(n) < 0.05] = np.nan
        age = rng.normal(55 if other else 42, 12, n).round(1)
        visits = rng.binomial(9, 0.25 if other else 0.4, n).astype(float)
        flag = np.where(rng.random(n) < 0.9, 1.0, rng.integers(2, 6, n))
        p = np.array(list(KINDS.values()))
        kind = rng.choice(list(KINDS), n, p=p[::-1] / p.sum() if other else p)
        logit = -3.4 + 0.02 * np.nan_to_num(amount, nan=20.0) + 0.35 * (visits - 3.6) + 1.2 * (kind == "k5")
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        X = pd.DataFrame({"amount": amount, "age": age, "visits": visits, "flag": flag})
        X["kind"] = pd.Series(kind, dtype=object)
        return X, y

    return make


@pytest.fixture(scope="session")
def drift_model(drift_data, drift_schema) -> dict[str, Any]:
    """``{"pipeline", "reference", "X", "y"}``: a logistic regression fitted on 5000 rows of
    :func:`drift_data`, and the reference with its out-of-fold scores (threshold 0.15)."""
    from sklearn.model_selection import cross_val_predict

    from imbalance_lab.serving import score_reference

    X, y = drift_data(5000, 0)
    pipeline = make_pipeline("logistic_regression", drift_schema, seed=0).fit(X, y)
    oof = cross_val_predict(
        make_pipeline("logistic_regression", drift_schema, seed=0), X, y, cv=5, method="predict_proba"
    )[:, 1]
    prediction = score_reference(oof, y_true=y, threshold=0.15)
    return {
        "pipeline": pipeline,
        "reference": reference_stats(X, drift_schema, prediction=prediction),
        "X": X,
        "y": y,
    }
