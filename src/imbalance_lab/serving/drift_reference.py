"""Reference statistics of the training data, saved in a model artifact for drift checks.

Every numeric feature is counted in cells that cannot hide a shift:

* a *below the training minimum* and an *above the training maximum* cell, whose training share
  is zero, so values outside the training range are always seen as their own share;
* between them, one cell per distinct training value when there are at most
  :data:`MAX_DISCRETE_VALUES` of them (codes, counts, bands, flags: quantile bins of such a
  feature collapse when one value dominates), plus an *other value* cell for values inside the
  range that training never had; otherwise quantile bins of the training values;
* the missing values (a share of their own, after the cells).

Categorical features keep the share of every training category, missing values and (when
training had categories outside the schema) unseen ones. The model's scores on the training
rows' out-of-fold predictions are kept the same way as a numeric feature (:func:`score_reference`),
with the share at or above the deployed threshold and the precision there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data.schema import Schema
from ..modeling.features import MISSING

#: Version of the reference statistics (2: range cells, per-value cells, prediction reference).
REFERENCE_VERSION = 2

#: A numeric feature with at most this many distinct training values gets one cell per value.
MAX_DISCRETE_VALUES = 20

#: Cell of values not seen in training (categorical features).
UNSEEN = "__unseen__"


def as_numbers(values: pd.Series | np.ndarray) -> np.ndarray:
    """Values as float64 (text and missing as NaN)."""
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def as_categories(values: pd.Series) -> pd.Series:
    """Values as text, missing as NaN (the form categoricals are compared in)."""
    return values.astype(object).map(lambda v: np.nan if pd.isna(v) else str(v))


def _cells(present: np.ndarray, *, n_bins: int) -> dict[str, Any]:
    """The cell layout of a numeric feature from its non-missing training values."""
    if not len(present):
        return {"binning": "values", "values": [], "min": None, "max": None}
    distinct = np.unique(present)
    low, high = float(distinct[0]), float(distinct[-1])
    if len(distinct) <= MAX_DISCRETE_VALUES:
        return {"binning": "values", "values": distinct.tolist(), "min": low, "max": high}
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
    return {"binning": "quantiles", "edges": edges[edges > low].tolist(), "min": low, "max": high}


def n_cells(spec: dict[str, Any]) -> int:
    """Cells of a numeric feature, the missing one excluded: below, inner cells, above."""
    inner = len(spec["values"]) + 1 if spec["binning"] == "values" else len(spec["edges"]) + 1
    return inner + 2


def cell_counts(values: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Counts of ``values`` per cell of ``spec`` (:func:`n_cells` of them) and then missing.

    Cells: below the training minimum, the inner cells (one per training value and one for
    other values inside the range, or the quantile bins, left-closed), above the maximum.
    """
    present = values[~np.isnan(values)]
    size = n_cells(spec)
    if spec["min"] is None:  # no training value at all: every value is "other"
        cell = np.full(len(present), size - 2)
    else:
        below, above = present < spec["min"], present > spec["max"]
        cell = np.empty(len(present), dtype="int64")
        cell[below], cell[above] = 0, size - 1
        inside = ~below & ~above
        x = present[inside]
        if spec["binning"] == "values":
            known = np.asarray(spec["values"], dtype="float64")
            idx = np.minimum(np.searchsorted(known, x), len(known) - 1)
            cell[inside] = np.where(known[idx] == x, 1 + idx, size - 2)
        else:
            cell[inside] = 1 + np.searchsorted(np.asarray(spec["edges"], dtype="float64"), x, side="right")
    counts = np.bincount(cell, minlength=size).astype("int64")
    return np.append(counts, len(values) - len(present))


def _numeric_entry(values: np.ndarray, *, n_bins: int, sample_size: int, rng: np.random.Generator) -> dict[str, Any]:
    present = values[~np.isnan(values)]
    spec = _cells(present, n_bins=n_bins)
    counts = cell_counts(values, spec)
    sample = rng.choice(present, size=sample_size, replace=False) if len(present) > sample_size else present
    sample_values, sample_counts = np.unique(sample, return_counts=True)  # compact for discrete data
    n = len(values)
    return {
        **spec,
        "shares": (counts[:-1] / n).tolist(),
        "missing_share": float(counts[-1] / n),
        "sample": {"values": sample_values.tolist(), "counts": sample_counts.tolist()},
        "mean": float(present.mean()) if len(present) else None,
        "std": float(present.std(ddof=1)) if len(present) > 1 else None,
    }


def reference_stats(
    X: pd.DataFrame,
    schema: Schema,
    *,
    prediction: dict[str, Any] | None = None,
    n_bins: int = 10,
    sample_size: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Reference statistics of the training features for later drift checks.

    Parameters
    ----------
    X : DataFrame
        Training features (as :func:`imbalance_lab.data.split_xy` returns them).
    schema : Schema
        The prepared data's schema (its ``numeric`` and ``categorical`` columns).
    prediction : dict, optional
        The scores' reference from :func:`score_reference` (for prediction drift).
    n_bins : int
        Quantile bins per numeric feature with many distinct values (fewer when values repeat).
    sample_size : int
        At most this many non-missing values per numeric feature are kept (for the KS test and
        the Wasserstein distance).
    seed : int
        Seed of that sample (the same data gives the same sample).

    Returns
    -------
    dict
        JSON-serialisable: ``{"version", "rows", "n_bins", "numeric": {col: {"binning"
        ("values" or "quantiles"), "values" or "edges", "min", "max", "shares" (per cell, see
        :func:`cell_counts`), "missing_share", "sample": {"values", "counts"}, "mean", "std"}},
        "categorical": {col: {"shares": {category: share, "__missing__": share}}},
        "prediction": dict or None}``.
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    if len(X) == 0:
        raise ValueError("cannot compute reference statistics of an empty frame")
    rng = np.random.default_rng(seed)
    numeric = {
        col: _numeric_entry(as_numbers(X[col]), n_bins=n_bins, sample_size=sample_size, rng=rng)
        for col in schema.numeric
    }
    categorical: dict[str, Any] = {}
    n = len(X)
    for col, categories in schema.categorical.items():
        values = as_categories(X[col])
        counts = values.value_counts(dropna=True)
        shares = {str(c): float(counts.get(str(c), 0) / n) for c in categories}
        shares[MISSING] = float(values.isna().sum() / n)
        other = int(counts.drop(labels=[str(c) for c in categories], errors="ignore").sum())
        if other:
            shares[UNSEEN] = float(other / n)
        categorical[col] = {"shares": shares}
    return {
        "version": REFERENCE_VERSION,
        "rows": int(n),
        "n_bins": int(n_bins),
        "numeric": numeric,
        "categorical": categorical,
        "prediction": prediction,
    }


def score_reference(
    scores: np.ndarray | pd.Series,
    *,
    y_true: np.ndarray | pd.Series,
    threshold: float,
    n_bins: int = 10,
    sample_size: int = 5000,
    seed: int = 0,
) -> dict[str, Any]:
    """Reference of the model's scores for prediction drift.

    Parameters
    ----------
    scores : array-like
        Out-of-fold scores of the training rows (one per row).
    y_true : array-like
        Their labels (0/1).
    threshold : float
        The deployed decision threshold (a score at or above it is flagged positive).
    n_bins, sample_size, seed
        As for :func:`reference_stats`.

    Returns
    -------
    dict
        The cells, shares, sample, mean and std of the scores as for a numeric feature, plus
        ``threshold``, ``flagged_share`` (share at or above it), ``precision`` and ``recall`` there,
        ``positive_share`` and ``rows``.
    """
    s = np.asarray(scores, dtype="float64")
    y = np.asarray(y_true).astype(int)
    if len(s) == 0 or len(s) != len(y):
        raise ValueError(f"scores and y_true must be non-empty and of one length, got {len(s)} and {len(y)}")
    flagged = s >= threshold
    entry = _numeric_entry(s, n_bins=n_bins, sample_size=sample_size, rng=np.random.default_rng(seed))
    return {
        **entry,
        "threshold": float(threshold),
        "flagged_share": float(flagged.mean()),
        "precision": float(y[flagged].mean()) if flagged.any() else None,
        "recall": float(flagged[y == 1].mean()) if (y == 1).any() else None,
        "positive_share": float(y.mean()),
        "rows": len(s),
    }


def _check_numeric(col: str, ref: Any) -> None:
    try:
        ok = (
            ref["binning"] in ("values", "quantiles")
            and len(ref["shares"]) == n_cells(ref)
            and isinstance(ref["missing_share"], (int, float))
            and len(ref["sample"]["values"]) == len(ref["sample"]["counts"])
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise ValueError(f"numeric feature {col!r}: binning, cells, shares, missing_share or sample are malformed")


def validate_reference(reference: Any) -> None:
    """Raise ``ValueError`` naming the first problem if ``reference`` is not from :func:`reference_stats`."""
    version = reference.get("version") if isinstance(reference, dict) else None
    if version != REFERENCE_VERSION:
        older = isinstance(version, int) and version < REFERENCE_VERSION
        raise ValueError(
            f"reference statistics version {version!r}, expected {REFERENCE_VERSION}"
            + (" (saved by an older imbalance-lab, without range cells and scores)" if older else "")
        )
    numeric, categorical = reference.get("numeric"), reference.get("categorical")
    if not isinstance(numeric, dict) or not isinstance(categorical, dict):
        raise ValueError("'numeric' and 'categorical' must be mappings")
    for col, ref in numeric.items():
        _check_numeric(col, ref)
    for col, ref in categorical.items():
        if not isinstance(ref, dict) or not isinstance(ref.get("shares"), dict):
            raise ValueError(f"categorical feature {col!r}: shares are malformed")
    prediction = reference.get("prediction")
    if prediction is not None:
        _check_numeric("prediction", prediction)
        if not isinstance(prediction.get("threshold"), (int, float)):
            raise ValueError("prediction: the threshold is missing")
