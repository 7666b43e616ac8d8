"""Figures of an Optuna study, made readable: hyperparameter importances and the parallel
coordinate plot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def param_importances(study: Any, *, seed: int) -> Figure | None:
    """Optuna's hyperparameter-importance figure (fANOVA, seeded), or None when the complete
    trials' values do not vary: fANOVA then has no variance to attribute and fails ("zero total
    variance in all trees"), as it did when every trial of a leaking column scored 1.0.

    Parameters
    ----------
    study : optuna.Study
        With at least two parameters.
    seed : int
        fANOVA's random forest seed.
    """
    import optuna

    values = {t.value for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))}
    if len(values) < 2:
        return None
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    return figure_of(optuna.visualization.matplotlib.plot_param_importances(study, evaluator=evaluator))


def tidy_parallel_coordinate(ax: Any, *, integer_params: Sequence[str] = ()) -> Figure:
    """The figure of :func:`optuna.visualization.matplotlib.plot_parallel_coordinate`, made
    readable: optuna draws an axis per parameter into a fixed 6.4-inch figure, each with the
    style's grid and, on log axes, labelled minor ticks, so labels of neighbouring axes overlap.

    The figure gets 1.1 inches per axis; each parameter's axis gets at most about five labels in
    small type (whole numbers for ``integer_params``; 1, 2, 5 per decade on a log axis spanning
    two decades or less, powers of ten on a wider one) and no grid of its own. Categorical axes
    keep optuna's ticks.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The Axes optuna returns.
    integer_params : sequence of str
        Names of the parameters that take whole numbers.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    fig = ax.figure
    names = [t.get_text() for t in ax.get_xticklabels()][1:]  # the first axis is the objective's
    params = [a for a in ax.get_shared_x_axes().get_siblings(ax) if a is not ax]
    # optuna moves each parameter's spine to its place along x: sort the axes by it
    params.sort(key=lambda a: a.spines["right"].get_position()[1])
    fig.set_size_inches(max(6.4, 1.5 + 1.1 * (len(params) + 1)), 4.8)
    for name, a in zip(names, params):
        a.grid(False)
        if a.get_yscale() == "log":
            low, high = a.get_ylim()
            a.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if np.log10(high / low) <= 2 else (1.0,)))
            a.yaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
            a.yaxis.set_minor_formatter(NullFormatter())
        elif not isinstance(a.yaxis.get_major_locator(), FixedLocator):  # categories keep optuna's ticks
            a.yaxis.set_major_locator(MaxNLocator(5, integer=name in integer_params))
        a.tick_params(axis="y", which="both", labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.tick_params(axis="x", labelsize=8)
    fig.subplots_adjust(bottom=0.22)
    return fig


def figure_of(axes: Any) -> Figure:
    """The figure of an Axes or an array of Axes (as returned by optuna's matplotlib plots)."""
    first = np.asarray(axes, dtype=object).ravel()[0]
    return first.figure
