"""Curve data for DVC plots, in dvclive's formats (``precision_recall``, ``roc``,
``calibration``, confusion pairs), so ``dvc plots show`` / ``dvc plots diff`` overlay runs and
experiments. (The ``dvclive`` package itself costs ~3.4 s of import per notebook, so the few
lines of its format are written here.)

Precision-recall and ROC curves are thinned above :data:`MAX_CURVE_POINTS` points, for figures
and plot files alike (:func:`pr_points`, :func:`roc_points`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from ..io import write_bytes, write_json

#: Precision-recall and ROC curves have a point per distinct score: hundreds of thousands on large
#: data (a 70 MB DVC plot file at a million rows, seconds to draw). Above this many points they
#: are thinned, for figures and plot files alike: first to the points where the curve turns
#: (scikit-learn's ``drop_intermediate``), then to this many points evenly spaced along the curve,
#: always keeping both ends. Smaller curves are kept whole.
MAX_CURVE_POINTS = 2000


def _spread(n: int, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most ``limit`` indices of ``range(n)``, evenly spaced, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def pr_points(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``precision_recall_curve``, thinned above :data:`MAX_CURVE_POINTS` thresholds."""
    p, r, t = precision_recall_curve(y_true, y_score)
    if len(t) <= MAX_CURVE_POINTS:
        return p, r, t
    p, r, t = precision_recall_curve(y_true, y_score, drop_intermediate=True)
    keep = _spread(len(t))  # the final (precision 1, recall 0) point has no threshold: kept apart
    return np.r_[p[keep], p[-1]], np.r_[r[keep], r[-1]], t[keep]


def roc_points(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``roc_curve`` (intermediate points dropped), thinned above :data:`MAX_CURVE_POINTS` points."""
    fpr, tpr, t = roc_curve(y_true, y_score, drop_intermediate=True)
    keep = _spread(len(t))
    return fpr[keep], tpr[keep], t[keep]


def curve_data(kind: str, y_true: Sequence[int], y_score: Sequence[float], *, n_bins: int = 10) -> dict[str, Any]:
    """Curve points in dvclive's JSON format (thinned above :data:`MAX_CURVE_POINTS` points).

    Parameters
    ----------
    kind : {"precision_recall", "roc", "calibration"}
    y_true, y_score : array-like
    n_bins : int
        Bins of the calibration curve (quantile strategy).
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=float)
    if kind == "precision_recall":
        p, r, t = pr_points(y_true, y_score)
        return {kind: [{"precision": a, "recall": b, "threshold": c} for a, b, c in zip(p, r, t)]}
    if kind == "roc":
        fpr, tpr, t = roc_points(y_true, y_score)
        t = np.where(np.isinf(t), 1.0, t)
        return {kind: [{"fpr": a, "tpr": b, "threshold": c} for a, b, c in zip(fpr, tpr, t)]}
    if kind == "calibration":
        prob_true, prob_pred = calibration_curve(y_true, y_score, n_bins=n_bins, strategy="quantile")
        return {kind: [{"prob_true": a, "prob_pred": b} for a, b in zip(prob_true, prob_pred)]}
    raise ValueError(f"unknown curve kind {kind!r}")


def write_curves(directory: str | Path, y_true: Sequence[int], y_score: Sequence[float]) -> None:
    """Write ``precision_recall.json``, ``roc.json`` and ``calibration.json`` to a directory."""
    for kind in ("precision_recall", "roc", "calibration"):
        write_json(Path(directory) / f"{kind}.json", curve_data(kind, y_true, y_score), digits=6)


def write_confusion(path: str | Path, y_true: Sequence[int], y_pred: Sequence[int]) -> Path:
    """Actual/predicted pairs in dvclive's confusion-matrix format (``template: confusion``)."""
    pairs = np.column_stack([np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)]).astype(str)
    rows = [{"actual": a, "predicted": p} for a, p in pairs.tolist()]
    # the bytes of write_json(path, rows) (text only: nothing to round), without its per-value walk
    return write_bytes(path, (json.dumps(rows, indent=2, sort_keys=True) + "\n").encode())
