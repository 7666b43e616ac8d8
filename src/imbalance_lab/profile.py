"""A data profile: per-feature summary by class, for the prepare stage's report."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .plots import class_shares


def _distinct(values: np.ndarray) -> int:
    """Distinct non-missing values of a float array (as ``Series.nunique``), by sorting."""
    v = np.sort(values[~np.isnan(values)])
    return int(v.size and 1 + np.count_nonzero(v[1:] != v[:-1]))


def feature_profile(df: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    """One row per feature: kind, missing share, distinct values and how it separates the classes.

    ``separation`` is the absolute standardised mean difference between positives and negatives
    for numeric features, and the total variation distance between the class-conditional
    category shares for categorical ones; rows are sorted by it, most separating first.
    """
    y = df[schema["target"]].to_numpy().astype(int)
    rows = []
    for col in schema["features"]:
        s = df[col]
        if col in schema["categorical"]:
            shares = class_shares(s, y)
            sep = 0.5 * float(np.abs(shares[1] - shares[0]).sum())
            kind = "categorical"
            pos_mean = neg_mean = np.nan
            distinct = int(s.nunique())
        else:
            v = s.to_numpy(dtype=float)
            pos_mean, neg_mean = np.nanmean(v[y == 1]), np.nanmean(v[y == 0])
            sd = np.nanstd(v)
            sep = float(abs(pos_mean - neg_mean) / sd) if sd > 0 else 0.0
            kind = "numeric"
            distinct = _distinct(v) if pd.api.types.is_float_dtype(s) else int(s.nunique())
        rows.append({
            "feature": col, "kind": kind, "missing_share": float(s.isna().mean()), "distinct": distinct,
            "mean_positive": pos_mean, "mean_negative": neg_mean, "separation": sep,
        })
    return pd.DataFrame(rows).sort_values(["separation", "feature"], ascending=[False, True]).reset_index(drop=True)
