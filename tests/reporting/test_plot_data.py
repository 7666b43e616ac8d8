"""Unit tests of imbalance_lab.reporting.plot_data: the curves and confusion rows DVC plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from imbalance_lab import reporting
from imbalance_lab.reporting.plot_data import pr_points, roc_points


def test_curve_data_precision_recall(predictions):
    y, s = predictions
    data = reporting.curve_data("precision_recall", y, s)
    assert list(data) == ["precision_recall"]
    points = data["precision_recall"]
    assert all(set(p) == {"precision", "recall", "threshold"} for p in points)
    p, r, t = precision_recall_curve(y, s)
    # dvclive zips (precision, recall, thresholds): one point per threshold
    assert len(points) == len(t)
    np.testing.assert_allclose([q["precision"] for q in points], p[:-1])
    np.testing.assert_allclose([q["recall"] for q in points], r[:-1])
    np.testing.assert_allclose([q["threshold"] for q in points], t)


def test_curve_data_roc(predictions):
    y, s = predictions
    data = reporting.curve_data("roc", y, s)
    assert list(data) == ["roc"]
    points = data["roc"]
    assert all(set(p) == {"fpr", "tpr", "threshold"} for p in points)
    fpr, tpr, t = roc_curve(y, s, drop_intermediate=True)
    assert len(points) == len(fpr)
    np.testing.assert_allclose([q["fpr"] for q in points], fpr)
    np.testing.assert_allclose([q["tpr"] for q in points], tpr)
    thresholds = np.array([q["threshold"] for q in points])
    assert np.all(np.isfinite(thresholds))  # JSON has no infinity
    assert thresholds[0] == 1.0 and np.isinf(t[0])
    np.testing.assert_allclose(thresholds[1:], t[1:])


def test_curve_data_calibration(predictions):
    y, s = predictions
    data = reporting.curve_data("calibration", y, s, n_bins=5)
    points = data["calibration"]
    assert all(set(p) == {"prob_true", "prob_pred"} for p in points)
    prob_true, prob_pred = calibration_curve(y, s, n_bins=5, strategy="quantile")
    assert len(points) == 5
    np.testing.assert_allclose([q["prob_true"] for q in points], prob_true)
    np.testing.assert_allclose([q["prob_pred"] for q in points], prob_pred)
    # quantile bins hold (about) the same number of rows; mean predicted probabilities increase
    assert np.all(np.diff([q["prob_pred"] for q in points]) > 0)


def test_curve_data_hand_made():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    roc = reporting.curve_data("roc", y, s)["roc"]
    assert [(q["fpr"], q["tpr"]) for q in roc] == [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
    pr = reporting.curve_data("precision_recall", y, s)["precision_recall"]
    # thresholds ascending: 0.1 -> P 2/4 R 1; 0.35 -> P 2/3 R 1; 0.4 -> P 1/2 R 1/2; 0.8 -> P 1 R 1/2
    assert [q["threshold"] for q in pr] == [0.1, 0.35, 0.4, 0.8]
    np.testing.assert_allclose([q["precision"] for q in pr], [0.5, 2 / 3, 0.5, 1.0])
    np.testing.assert_allclose([q["recall"] for q in pr], [1.0, 1.0, 0.5, 0.5])


def test_curve_data_unknown_kind():
    with pytest.raises(ValueError, match="unknown curve kind"):
        reporting.curve_data("lift", [0, 1], [0.2, 0.8])


def test_write_curves(tmp_path, predictions):
    y, s = predictions
    out = tmp_path / "plots" / "cv"
    reporting.write_curves(out, y, s)
    assert sorted(p.name for p in out.iterdir()) == ["calibration.json", "precision_recall.json", "roc.json"]
    for kind in ("precision_recall", "roc", "calibration"):
        written = json.loads((out / f"{kind}.json").read_text())
        expected = reporting.curve_data(kind, y, s)
        assert list(written) == [kind]
        assert len(written[kind]) == len(expected[kind])
        for w, e in zip(written[kind], expected[kind]):
            assert set(w) == set(e)
            for key in e:
                assert w[key] == pytest.approx(float(e[key]), abs=1e-6)
    # written again: the same bytes
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    reporting.write_curves(out, y, s)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _staircase(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n distinct scores with alternating labels: every ROC point is a corner (none dropped)."""
    return np.arange(n) % 2, np.arange(n) / n


def test_curves_up_to_the_limit_are_kept_whole():
    limit = reporting.MAX_CURVE_POINTS
    y, s = _staircase(limit)  # exactly `limit` thresholds
    for got, expected in zip(pr_points(y, s), precision_recall_curve(y, s)):
        assert len(expected) >= limit and np.array_equal(got, expected)
    y, s = _staircase(limit - 1)  # `limit` ROC points with the (0, 0) start
    expected = roc_curve(y, s, drop_intermediate=True)
    assert len(expected[0]) == limit
    for got, exp in zip(roc_points(y, s), expected):
        assert np.array_equal(got, exp)
    # small curves: the plain scikit-learn curves (the PR curve without dropping points)
    rng = np.random.default_rng(1)
    y, s = (rng.random(300) < 0.2).astype(int), rng.random(300).round(2)
    for got, exp in zip(pr_points(y, s), precision_recall_curve(y, s)):
        assert np.array_equal(got, exp)
    for got, exp in zip(roc_points(y, s), roc_curve(y, s, drop_intermediate=True)):
        assert np.array_equal(got, exp)


def _assert_points_of(full: tuple[np.ndarray, ...], thinned: tuple[np.ndarray, ...], thresholds: np.ndarray) -> None:
    """Every thinned point (matched by threshold) is a point of the full curve, in order."""
    order = np.argsort(full[-1])
    where = order[np.searchsorted(full[-1], thresholds, sorter=order)]
    assert np.array_equal(full[-1][where], thresholds)
    for f, t in zip(full[:-1], thinned[:-1]):
        assert np.array_equal(f[where], t[: len(where)])


@pytest.mark.parametrize("extra", [1, 7, 3000])
def test_large_curves_are_thinned_keeping_both_ends(extra):
    limit = reporting.MAX_CURVE_POINTS
    rng = np.random.default_rng(extra)
    n = limit + extra
    y = (rng.random(n) < 0.3).astype(int)
    y[:2] = [0, 1]
    s = rng.random(n)  # distinct scores: a threshold per row
    p, r, t = pr_points(y, s)
    P, R, T = precision_recall_curve(y, s)
    assert len(T) > limit and 2 <= len(t) <= limit and len(p) == len(r) == len(t) + 1
    assert np.all(np.diff(t) > 0)
    assert (p[0], r[0], t[0]) == (P[0], R[0], T[0]) and t[-1] == T[-1]  # lowest and highest threshold
    assert (p[-1], r[-1]) == (1.0, 0.0)  # the end point without a threshold
    _assert_points_of((P[:-1], R[:-1], T), (p, r, t), t)

    fpr, tpr, rt = roc_points(y, s)
    F, Tp, RT = roc_curve(y, s, drop_intermediate=True)
    assert len(fpr) == len(tpr) == len(rt) <= limit
    if len(RT) > limit:
        assert len(rt) == limit
    assert (fpr[0], tpr[0], rt[0]) == (F[0], Tp[0], RT[0]) and np.isinf(rt[0])
    assert (fpr[-1], tpr[-1], rt[-1]) == (F[-1], Tp[-1], RT[-1]) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    _assert_points_of((F[1:], Tp[1:], RT[1:]), (fpr[1:], tpr[1:], rt[1:]), rt[1:])

    pr = reporting.curve_data("precision_recall", y, s)["precision_recall"]
    assert len(pr) == len(t) and pr[0]["threshold"] == t[0] and pr[-1]["threshold"] == t[-1]
    roc = reporting.curve_data("roc", y, s)["roc"]
    assert (
        len(roc) == len(rt) <= limit and roc[0]["threshold"] == 1.0 and (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    )


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        (np.array([0, 1, 1, 0, 1]), np.array([0, 1, 0, 0, 1])),
        ([1, 0, 0], [True, False, True]),
        (np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0])),
        (pd.Series([1, 0, 1], index=[7, 3, 5]), pd.Series([0, 0, 1], index=[2, 1, 0], dtype="int8")),
        (np.array([], dtype=int), np.array([], dtype=int)),
    ],
)
def test_write_confusion_writes_the_bytes_of_write_json(tmp_path, y_true, y_pred):
    from imbalance_lab.io import write_json

    rows = [{"actual": str(int(a)), "predicted": str(int(p))} for a, p in zip(y_true, y_pred)]
    expected = write_json(tmp_path / "expected.json", rows).read_bytes()
    got = reporting.write_confusion(tmp_path / "sub" / "confusion.json", y_true, y_pred)
    assert got == tmp_path / "sub" / "confusion.json"
    assert got.read_bytes() == expected
    assert json.loads(expected) == rows
