"""Unit tests of imbalance_lab.reporting.figures (and of imbalance_lab.io.save_figure, which writes them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score

from imbalance_lab import reporting
from imbalance_lab.io import save_figure


def _small_figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [1, 3, 2], label="line")
    ax.set_title("test")
    ax.legend()
    return fig


def test_save_figure_png_and_deterministic(tmp_path):
    fig = _small_figure()
    first = save_figure(fig, tmp_path / "a" / "fig.png")
    assert first == tmp_path / "a" / "fig.png"
    data = first.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Matplotlib" not in data  # no volatile "Software" metadata
    second = save_figure(fig, tmp_path / "b.png").read_bytes()
    assert second == data
    # an identical, separately built figure gives the same bytes too
    assert save_figure(_small_figure(), tmp_path / "c.png").read_bytes() == data
    # and a different figure does not
    other = _small_figure()
    other.axes[0].set_title("other")
    assert save_figure(other, tmp_path / "d.png").read_bytes() != data
    assert not list(tmp_path.rglob("*.tmp"))


def test_pareto_front_hand_made():
    cost = [1.0, 2.0, 3.0, 2.0, 4.0, 5.0]
    score = [0.5, 0.7, 0.7, 0.6, 0.9, 0.9]
    # 0: cheapest -> front; 1: (2, .7) -> front; 2: (3, .7) beaten by 1; 3: (2, .6) beaten by 1
    # (same cost, higher score); 4: best score at cost 4 -> front; 5: (5, .9) beaten by 4
    expected = [True, True, False, False, True, False]
    assert reporting.pareto_front(cost, score).tolist() == expected


def test_pareto_front_for_a_metric_where_lower_is_better():
    """A log loss of 0.05 in 1 s beats 0.06 in 10 s (the front was computed as if higher were better)."""
    assert reporting.pareto_front([1.0, 10.0], [0.05, 0.06], lower_is_better=True).tolist() == [True, False]
    assert reporting.pareto_front([1.0, 10.0], [0.06, 0.05], lower_is_better=True).tolist() == [True, True]
    assert reporting.pareto_front([1.0, 10.0], [0.05, 0.06]).tolist() == [True, True]


def test_cost_performance_draws_the_front_the_metric_calls_better():
    fig = reporting.cost_performance(["fast", "slow", "bad"], [1.0, 10.0, 5.0], [0.20, 0.21, 0.30], metric="log_loss")
    front = next(line for line in fig.axes[0].get_lines() if line.get_label() == "Pareto front")
    assert front.get_xdata().tolist() == [1.0]  # 'fast' dominates both: lower log loss and less time
    fig = reporting.cost_performance(["fast", "slow", "bad"], [1.0, 10.0, 5.0], [0.20, 0.21, 0.30], metric="roc_auc")
    front = next(line for line in fig.axes[0].get_lines() if line.get_label() == "Pareto front")
    assert front.get_xdata().tolist() == [1.0, 5.0]


def test_pareto_front_duplicates_and_single():
    assert reporting.pareto_front([1.0, 1.0, 2.0], [0.5, 0.5, 0.4]).tolist() == [True, True, False]
    assert reporting.pareto_front([3.0], [0.1]).tolist() == [True]
    # a strictly better point dominates everything else
    assert reporting.pareto_front([2.0, 1.0, 3.0], [0.5, 0.9, 0.1]).tolist() == [False, True, False]


def _frame(n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(2)
    y = np.zeros(n, int)
    y[::5] = 1
    num = rng.normal(size=n) + y
    num[::7] = np.nan
    df = pd.DataFrame(
        {
            "num": num,
            "int_col": rng.integers(0, 3, size=n),
            "cat_category": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
            "cat_object": pd.Series(rng.choice(["x", "y", None], size=n), dtype=object),
            "cat_str": pd.Series(rng.choice(["p", "q"], size=n)).astype("str"),
            "constant": np.ones(n),
            "all_missing": np.full(n, np.nan),
        }
    )
    return df, y


def test_class_balance():
    fig = reporting.class_balance([0, 0, 0, 1, 0, 1], labels=("no", "yes"))
    assert isinstance(fig, Figure)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [4, 2]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["4 (66.7%)", "2 (33.3%)"]


def test_missingness():
    df, _ = _frame()
    fig = reporting.missingness(df, top=3)
    assert isinstance(fig, Figure)
    bars = fig.axes[0].patches
    widths = sorted((p.get_width() for p in bars), reverse=True)
    expected = df.isna().mean().sort_values(ascending=False).head(3).to_numpy()
    np.testing.assert_allclose(widths, expected)
    fig = reporting.missingness(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no missing values"]


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # the all-missing column
def test_feature_distributions_numeric_and_categorical():
    df, y = _frame()
    columns = ["num", "int_col", "cat_category", "cat_object", "cat_str", "constant", "all_missing"]
    fig = reporting.feature_distributions(df, y, columns, ncols=3)
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
    fig = reporting.feature_distributions(df.set_index(np.arange(100, 160)), pd.Series(y), ["cat_object"], ncols=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    heights = np.array([p.get_height() for p in fig.axes[0].patches])
    assert heights.sum() == pytest.approx(2.0)


@pytest.mark.parametrize(
    "values", [pd.Categorical([None] * 6, categories=["a", "b"]), pd.Series([None] * 6, dtype=object)]
)
def test_feature_distributions_categorical_without_values(values):
    df = pd.DataFrame({"cat": values, "num": np.arange(6.0)})
    fig = reporting.feature_distributions(df, [0, 1, 0, 1, 0, 1], ["cat", "num"], ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["cat", "num"]
    assert [t.get_text() for t in fig.axes[0].texts] == ["no values"] and not fig.axes[0].patches


@pytest.fixture(scope="module")
def curves(predictions):
    y, s = predictions
    rng = np.random.default_rng(5)
    return {"good": (y, s), "random": (y, rng.random(len(y)))}


def test_pr_roc_calibration_figures(curves):
    fig = reporting.pr_curves(curves, prevalence=0.15)
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("good (pooled AP ") and labels[-1] == "prevalence 0.150"
    labels = [t.get_text() for t in reporting.pr_curves(curves, pooled=False).axes[0].get_legend().get_texts()]
    assert labels[0].startswith("good (AP ")
    fig = reporting.roc_curves(curves)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_legend().get_texts()[0].get_text().startswith("good (pooled AUC ")
    assert (
        reporting.roc_curves(curves, pooled=False)
        .axes[0]
        .get_legend()
        .get_texts()[0]
        .get_text()
        .startswith("good (AUC ")
    )
    fig = reporting.calibration_curves(curves, n_bins=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].lines) == 3  # two models and the diagonal


def _drawn(line):
    """The vertices a Line2D draws, its drawstyle (steps) applied."""
    from matplotlib.cbook import STEP_LOOKUP_MAP

    return np.asarray(STEP_LOOKUP_MAP[line.get_drawstyle()](*line.get_data()))


def test_a_constant_score_draws_a_flat_precision_recall_line_at_the_prevalence():
    """A constant score has one threshold: recall 1 at precision = prevalence (AP = prevalence).
    A straight line to the (recall 0, precision 1) end point drew a slope no threshold reaches."""
    y = np.array([0] * 15 + [1] * 5)
    fig = reporting.pr_curves({"dummy": (y, np.full(20, 0.3))})
    x, p = _drawn(fig.axes[0].lines[0])
    assert np.all(p[x > 0] == 0.25) and p.max() == 1.0  # flat, then up to precision 1 at recall 0 only
    assert np.interp(0.5, x[::-1], p[::-1]) == 0.25  # half way, where a straight line drew 0.625
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "dummy (pooled AP 0.250)"


def test_precision_recall_steps_enclose_the_average_precision(curves):
    y, s = curves["good"]
    x, p = _drawn(reporting.pr_curves({"good": (y, s)}).axes[0].lines[0])
    assert np.all((np.diff(x) == 0) | (np.diff(p) == 0))  # every segment horizontal or vertical
    area = -np.trapezoid(p, x)  # the area under the drawn line (recall falls along it)
    assert area == pytest.approx(average_precision_score(y, s), abs=1e-12)


@pytest.mark.parametrize("make", [reporting.pr_curves, reporting.roc_curves, reporting.calibration_curves])
def test_twelve_curves_have_twelve_looks(curves, make):
    """The default colour cycle repeats after ten: 'none' and 'easy_ensemble' were both blue."""
    many = {f"strategy {i}": curves["good"] for i in range(12)}
    lines = [ln for ln in make(many).axes[0].get_lines() if ln.get_label().startswith("strategy")]
    assert len(lines) == 12
    assert (
        len(
            {
                (
                    tuple(np.round(ln.get_color(), 4)) if not isinstance(ln.get_color(), str) else ln.get_color(),
                    ln.get_linestyle(),
                )
                for ln in lines
            }
        )
        == 12
    )


def test_discrete_features_get_one_bar_per_level():
    """Levels 5 and 6 of a 0-8 code fell into one bin [4.8, 6.4): the main signal was hidden."""
    df = pd.DataFrame({"code": [0] * 10 + [5] * 10 + [6] * 10 + [8] * 10, "x": np.linspace(0, 1, 40)})
    y = [0] * 10 + [0] * 9 + [1] + [1] * 5 + [0] * 5 + [0] * 10
    fig = reporting.feature_distributions(df, y, ["code", "x"], ncols=2)
    code, x = fig.axes[:2]
    negatives = code.patches[: len(code.patches) // 2]
    edges = sorted({round(p.get_x() + p.get_width() / 2, 6) for p in code.patches if p.get_height() > 0})
    assert set(edges) <= {0.0, 5.0, 6.0, 8.0} and {5.0, 6.0} <= set(edges)  # bars centred on the levels
    assert sum(p.get_height() for p in negatives) == pytest.approx(1.0)  # the shares of a class add up to one
    assert code.get_ylabel() == "share of class" and x.get_ylabel() == "density"


def test_score_intervals():
    summary = pd.DataFrame(
        {"ap_mean": [0.3, 0.5, 0.4], "ap_ci_low": [0.2, 0.45, np.nan], "ap_ci_high": [0.4, 0.55, np.nan]},
        index=pd.Index(["x", "y", "z"], name="model"),
    )
    fig = reporting.score_intervals(summary, metric="ap")
    assert isinstance(fig, Figure)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["x", "z", "y"]  # sorted by mean


def test_cost_performance_and_learning_curve():
    fig = reporting.cost_performance(
        ["a", "b", "c"], [0.1, 1.0, 10.0], [0.3, 0.5, 0.4], metric="ap", as_good=[False, True, True]
    )
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xscale() == "log"
    assert [t.get_text() for t in fig.axes[0].texts] == ["a", "b", "c"]
    fig = reporting.cost_performance(["a", "b"], [0.1, 1.0], [0.3, 0.5], metric="ap")
    assert isinstance(fig, Figure)
    sizes = np.array([10, 20, 40])
    train = np.array([[0.9, 0.8], [0.85, 0.8], [0.8, 0.8]])
    val = np.array([[0.5, 0.6], [0.6, 0.6], [0.7, 0.65]])
    fig = reporting.learning_curve(sizes, train, val, metric="ap", name="lr")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), train.mean(axis=1))
    np.testing.assert_allclose(ax.lines[1].get_ydata(), val.mean(axis=1))
    assert ax.get_title() == "Learning curve: lr"
