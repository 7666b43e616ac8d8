"""Unit tests of imbalance_lab.reporting.study_figures: the figures of an Optuna study."""

from __future__ import annotations

import itertools

import pytest
from matplotlib.figure import Figure

from imbalance_lab import reporting


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
