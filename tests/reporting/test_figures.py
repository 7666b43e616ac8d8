"""Unit tests of imbalance_lab.reporting: dvclive curve formats, deterministic PNGs and figures."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

from imbalance_lab import reporting
from imbalance_lab.data import class_shares
from imbalance_lab.io import save_figure
from imbalance_lab.reporting.plot_data import pr_points, roc_points


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


# --------------------------------------------------------------------------------------------
# pareto_front
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def parallel_study():
    """A study with the tuned XGBoost's eight kinds of parameter (integers, narrow and wide
    log-scaled floats, linear floats) and a categorical one."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        value = trial.suggest_int("max_depth", 2, 8) * trial.suggest_float("learning_rate", 0.01, 0.3, log=True)
        value += trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True) * trial.suggest_float("subsample", 0.5, 1.0)
        value += trial.suggest_float("min_child_weight", 0.5, 20.0, log=True) / trial.suggest_int("n_bins", 16, 256)
        value += trial.suggest_float("gamma", 0.0, 5.0) + trial.suggest_float("colsample_bytree", 0.3, 1.0)
        return value + (trial.suggest_categorical("booster", ["gbtree", "dart"]) == "dart")

    study.optimize(objective, n_trials=25)
    return study


def test_param_importances_without_variance_is_none_instead_of_failing(parallel_study):
    """Every trial of a leaking column scoring 1.0 made fANOVA fail the tune stage."""
    import optuna

    flat = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    flat.optimize(lambda t: 1.0 + 0 * t.suggest_int("max_depth", 2, 8) * t.suggest_float("gamma", 0.0, 5.0), n_trials=8)
    with pytest.raises(RuntimeError, match="zero total variance"):  # what the stage ran into
        optuna.importance.get_param_importances(flat, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    assert reporting.param_importances(flat, seed=0) is None
    fig = reporting.param_importances(parallel_study, seed=0)
    assert isinstance(fig, Figure) and fig.axes[0].get_xlabel() == "Hyperparameter Importance"


def _axis_labels(fig):
    """Each parameter's axis (in x order) and its visible y tick labels inside its range."""
    ax = fig.axes[0]
    params = sorted(
        (a for a in ax.get_shared_x_axes().get_siblings(ax) if a is not ax),
        key=lambda a: a.spines["right"].get_position()[1],
    )
    out = []
    for a in params:
        low, high = sorted(a.get_ylim())
        ticks = [
            t
            for t in a.yaxis.get_major_ticks() + a.yaxis.get_minor_ticks()
            if t.label2.get_visible() and t.label2.get_text() and low <= t.get_loc() <= high
        ]
        out.append((a, ticks))
    return out


def test_parallel_coordinate_labels_do_not_run_into_the_next_axis(parallel_study):
    import matplotlib.style
    import optuna

    # optuna's other plots switch the global style to ggplot (the tune notebook draws the
    # importances first): its grid ran across the neighbouring axes
    with matplotlib.style.context("ggplot"), pytest.warns(optuna.exceptions.ExperimentalWarning):
        ax = optuna.visualization.matplotlib.plot_parallel_coordinate(parallel_study)
        fig = reporting.tidy_parallel_coordinate(ax, integer_params=["max_depth", "n_bins"])
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    names = [t.get_text() for t in ax.get_xticklabels()][1:]
    assert len(names) == 9 and names[0] == "booster"
    axes = _axis_labels(fig)
    for (a, ticks), (following, _) in itertools.pairwise(axes):
        next_spine = following.spines["right"].get_window_extent(renderer).x0
        assert ticks and max(t.label2.get_window_extent(renderer).x1 for t in ticks) < next_spine
        assert not any(g.get_visible() for g in a.get_ygridlines())
    labels = {name: [t.label2.get_text() for t in ticks] for name, (_, ticks) in zip(names, axes)}
    assert sorted(labels["booster"]) == ["dart", "gbtree"]  # optuna's categories kept
    for name in ("max_depth", "n_bins"):
        assert labels[name] and all(float(t.replace("\N{MINUS SIGN}", "-")).is_integer() for t in labels[name])
    assert len(labels["learning_rate"]) >= 3  # 0.02, 0.05, 0.1, 0.2: 1-2-5 steps on a narrow log axis
    assert set(labels["reg_alpha"]) <= {"0.001", "0.01", "0.1", "1", "10"}  # decades on a wide one
    assert all(len(ticks) <= 6 for _, ticks in axes)


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


# --------------------------------------------------------------------------------------------
# Large-data shortcuts: the same tables, curves and files as the straightforward computation
# --------------------------------------------------------------------------------------------


def _crosstab_shares(values: pd.Series, y) -> pd.DataFrame:
    """The documented reference: crosstab of the values as text, missing values left out."""
    y = np.asarray(y)
    present = values.notna().to_numpy()
    table = pd.crosstab(values[present].astype(str).to_numpy(), y[present], normalize="columns")
    return table.reindex(columns=[0, 1], fill_value=0.0)


SHARE_Y = np.array([0, 0, 0, 1, 1, 0, 1, 0, 0, 1])
SHARE_VALUES = {
    # "only0" is seen in class 0 only, "c" in class 1 only; None and NaN are missing
    "object": pd.Series(["a", "b", None, "c", "a", np.nan, "a", "b", "only0", "c"], dtype=object),
    "str": pd.Series(["a", "b", None, "c", "a", "b", "a", "b", "b", "c"], dtype="str"),
    "category": pd.Series(
        pd.Categorical(["a", "b", None, "c", "a", "b", "a", "b", "b", "c"], categories=["a", "b", "c", "never_seen"])
    ),
    "float": pd.Series([1.0, 2.0, np.nan, 3.0, 1.0, 2.0, 1.0, 2.0, 2.5, 3.0]),
    "int": pd.Series([1, 2, 10, 3, 1, 2, 1, 2, 2, 3]),  # "10" sorts before "2" as text
    "bool": pd.Series([True, False, True, True, False, False, True, False, True, True]),
    "nullable": pd.Series([1, 2, None, 3, 1, 2, 1, 2, 2, 3], dtype="Int64"),
    "text_order": pd.Series(["b", "B", "a ", "a", "10", "9", "b", "é", "Z", "_"], dtype=object),
    "class_1_all_missing": pd.Series(["a", "a", "b", None, np.nan, "b", None, "a", "a", np.nan], dtype=object),
}


@pytest.mark.parametrize("kind", list(SHARE_VALUES))
def test_class_shares_match_crosstab(kind):
    values = SHARE_VALUES[kind]
    got = class_shares(values, SHARE_Y)
    expected = _crosstab_shares(values, SHARE_Y)
    assert list(got.columns) == [0, 1]
    assert list(got.index) == list(expected.index)
    assert np.array_equal(got.to_numpy(), expected.to_numpy())
    assert "nan" not in got.index and "None" not in got.index


def test_class_shares_hand_made_and_one_class():
    values = pd.Series(["a", "b", np.nan, "a", "c", None], dtype=object)
    y = np.array([0, 1, 1, 0, 1, 0])
    got = class_shares(values, y)
    # class 0: a, a (None left out); class 1: b, c (NaN left out)
    assert list(got.index) == ["a", "b", "c"]
    assert got.to_dict("list") == {0: [1.0, 0.0, 0.0], 1: [0.0, 0.5, 0.5]}
    only_negatives = class_shares(values, np.zeros(6, dtype=int))
    assert only_negatives.to_dict("list") == {0: [0.5, 0.25, 0.25], 1: [0.0, 0.0, 0.0]}
    empty = class_shares(pd.Series([np.nan, None], dtype=object), np.array([0, 1]))
    assert empty.shape == (0, 2) and list(empty.columns) == [0, 1]


def test_class_shares_mixed_numbers_in_an_object_column():
    values = pd.Series([1, "1", 1.0, "x", 2, np.nan, "x", 1, "1", 2], dtype=object)
    got = class_shares(values, SHARE_Y)
    expected = _crosstab_shares(values, SHARE_Y)
    assert list(got.index) == list(expected.index)  # ['1', '1.0', '2', 'x']
    assert np.array_equal(got.to_numpy(), expected.to_numpy())


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
