"""Unit tests of imbalance_lab.plots: dvclive curve formats, deterministic PNGs and figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from imbalance_lab import plots


@pytest.fixture(scope="module")
def predictions():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.15).astype(int)
    y[:2] = [0, 1]
    s = np.clip(rng.beta(2, 6, size=200) + 0.35 * y, 0.0, 1.0)
    return y, s


# --------------------------------------------------------------------------------------------
# DVC plot data
# --------------------------------------------------------------------------------------------


def test_curve_data_precision_recall(predictions):
    y, s = predictions
    data = plots.curve_data("precision_recall", y, s)
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
    data = plots.curve_data("roc", y, s)
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
    data = plots.curve_data("calibration", y, s, n_bins=5)
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
    roc = plots.curve_data("roc", y, s)["roc"]
    assert [(q["fpr"], q["tpr"]) for q in roc] == [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
    pr = plots.curve_data("precision_recall", y, s)["precision_recall"]
    # thresholds ascending: 0.1 -> P 2/4 R 1; 0.35 -> P 2/3 R 1; 0.4 -> P 1/2 R 1/2; 0.8 -> P 1 R 1/2
    assert [q["threshold"] for q in pr] == [0.1, 0.35, 0.4, 0.8]
    np.testing.assert_allclose([q["precision"] for q in pr], [0.5, 2 / 3, 0.5, 1.0])
    np.testing.assert_allclose([q["recall"] for q in pr], [1.0, 1.0, 0.5, 0.5])


def test_curve_data_unknown_kind():
    with pytest.raises(ValueError, match="unknown curve kind"):
        plots.curve_data("lift", [0, 1], [0.2, 0.8])


def test_write_curves(tmp_path, predictions):
    y, s = predictions
    out = tmp_path / "plots" / "cv"
    plots.write_curves(out, y, s)
    assert sorted(p.name for p in out.iterdir()) == ["calibration.json", "precision_recall.json", "roc.json"]
    for kind in ("precision_recall", "roc", "calibration"):
        written = json.loads((out / f"{kind}.json").read_text())
        expected = plots.curve_data(kind, y, s)
        assert list(written) == [kind]
        assert len(written[kind]) == len(expected[kind])
        for w, e in zip(written[kind], expected[kind]):
            assert set(w) == set(e)
            for key in e:
                assert w[key] == pytest.approx(float(e[key]), abs=1e-6)
    # written again: the same bytes
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    plots.write_curves(out, y, s)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# --------------------------------------------------------------------------------------------
# save_figure
# --------------------------------------------------------------------------------------------


def _small_figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 3, 2], label="line")
    ax.set_title("test")
    ax.legend()
    return fig


def test_save_figure_png_and_deterministic(tmp_path):
    fig = _small_figure()
    first = plots.save_figure(fig, tmp_path / "a" / "fig.png")
    assert first == tmp_path / "a" / "fig.png"
    data = first.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Matplotlib" not in data  # no volatile "Software" metadata
    second = plots.save_figure(fig, tmp_path / "b.png").read_bytes()
    assert second == data
    # an identical, separately built figure gives the same bytes too
    assert plots.save_figure(_small_figure(), tmp_path / "c.png").read_bytes() == data
    # and a different figure does not
    other = _small_figure()
    other.axes[0].set_title("other")
    assert plots.save_figure(other, tmp_path / "d.png").read_bytes() != data
    assert not [p for p in tmp_path.rglob("*.tmp")]


# --------------------------------------------------------------------------------------------
# pareto_front
# --------------------------------------------------------------------------------------------


def test_pareto_front_hand_made():
    cost = [1.0, 2.0, 3.0, 2.0, 4.0, 5.0]
    score = [0.5, 0.7, 0.7, 0.6, 0.9, 0.9]
    # 0: cheapest -> front; 1: (2, .7) -> front; 2: (3, .7) beaten by 1; 3: (2, .6) beaten by 1
    # (same cost, higher score); 4: best score at cost 4 -> front; 5: (5, .9) beaten by 4
    expected = [True, True, False, False, True, False]
    assert plots.pareto_front(cost, score).tolist() == expected


def test_pareto_front_duplicates_and_single():
    assert plots.pareto_front([1.0, 1.0, 2.0], [0.5, 0.5, 0.4]).tolist() == [True, True, False]
    assert plots.pareto_front([3.0], [0.1]).tolist() == [True]
    # a strictly better point dominates everything else
    assert plots.pareto_front([2.0, 1.0, 3.0], [0.5, 0.9, 0.1]).tolist() == [False, True, False]


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _frame(n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(2)
    y = np.zeros(n, int)
    y[::5] = 1
    num = rng.normal(size=n) + y
    num[::7] = np.nan
    df = pd.DataFrame({
        "num": num,
        "int_col": rng.integers(0, 3, size=n),
        "cat_category": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
        "cat_object": pd.Series(rng.choice(["x", "y", None], size=n), dtype=object),
        "cat_str": pd.Series(rng.choice(["p", "q"], size=n)).astype("str"),
        "constant": np.ones(n),
        "all_missing": np.full(n, np.nan),
    })
    return df, y


def test_class_balance():
    fig = plots.class_balance([0, 0, 0, 1, 0, 1], labels=("no", "yes"))
    assert isinstance(fig, Figure)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [4, 2]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["4 (66.7%)", "2 (33.3%)"]


def test_missingness():
    df, _ = _frame()
    fig = plots.missingness(df, top=3)
    assert isinstance(fig, Figure)
    bars = fig.axes[0].patches
    widths = sorted((p.get_width() for p in bars), reverse=True)
    expected = df.isna().mean().sort_values(ascending=False).head(3).to_numpy()
    np.testing.assert_allclose(widths, expected)
    fig = plots.missingness(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no missing values"]


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # the all-missing column
def test_feature_distributions_numeric_and_categorical():
    df, y = _frame()
    columns = ["num", "int_col", "cat_category", "cat_object", "cat_str", "constant", "all_missing"]
    fig = plots.feature_distributions(df, y, columns, ncols=3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 9  # 3 rows x 3 columns; two unused ones switched off
    assert [ax.get_title() for ax in fig.axes[: len(columns)]] == columns
    assert sum(ax.axison for ax in fig.axes) == len(columns)
    # a categorical panel shows per-class shares: each class's bars sum to one
    for idx, col in ((2, "cat_category"), (3, "cat_object"), (4, "cat_str")):
        heights = np.array([p.get_height() for p in fig.axes[idx].patches])
        n_cat = df[col].astype(str).nunique()
        assert len(heights) == 2 * n_cat, col
        np.testing.assert_allclose([heights[:n_cat].sum(), heights[n_cat:].sum()], [1.0, 1.0])


def test_feature_distributions_series_target_and_single_column():
    df, y = _frame()
    fig = plots.feature_distributions(df.set_index(np.arange(100, 160)), pd.Series(y), ["cat_object"], ncols=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    heights = np.array([p.get_height() for p in fig.axes[0].patches])
    assert heights.sum() == pytest.approx(2.0)


@pytest.fixture(scope="module")
def curves(predictions):
    y, s = predictions
    rng = np.random.default_rng(5)
    return {"good": (y, s), "random": (y, rng.random(len(y)))}


def test_pr_roc_calibration_figures(curves):
    fig = plots.pr_curves(curves, prevalence=0.15)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("good (AP ") and labels[-1] == "prevalence 0.150"
    fig = plots.roc_curves(curves)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_legend().get_texts()[0].get_text().startswith("good (AUC ")
    fig = plots.calibration_curves(curves, n_bins=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].lines) == 3  # two models and the diagonal


def test_score_intervals():
    summary = pd.DataFrame(
        {"ap_mean": [0.3, 0.5, 0.4], "ap_ci_low": [0.2, 0.45, np.nan], "ap_ci_high": [0.4, 0.55, np.nan]},
        index=pd.Index(["x", "y", "z"], name="model"),
    )
    fig = plots.score_intervals(summary, metric="ap")
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["x", "z", "y"]  # sorted by mean


def test_cost_performance_and_learning_curve():
    fig = plots.cost_performance(["a", "b", "c"], [0.1, 1.0, 10.0], [0.3, 0.5, 0.4], metric="ap",
                                 as_good=[False, True, True])
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xscale() == "log"
    assert [t.get_text() for t in fig.axes[0].texts] == ["a", "b", "c"]
    fig = plots.cost_performance(["a", "b"], [0.1, 1.0], [0.3, 0.5], metric="ap")
    assert isinstance(fig, Figure)
    sizes = np.array([10, 20, 40])
    train = np.array([[0.9, 0.8], [0.85, 0.8], [0.8, 0.8]])
    val = np.array([[0.5, 0.6], [0.6, 0.6], [0.7, 0.65]])
    fig = plots.learning_curve(sizes, train, val, metric="ap", name="lr")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), train.mean(axis=1))
    np.testing.assert_allclose(ax.lines[1].get_ydata(), val.mean(axis=1))
    assert ax.get_title() == "Learning curve: lr"
