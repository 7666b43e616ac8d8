"""What a study found: trial counts, the best trial's parameters, the trials as a table, and the
study as a run of ``n_trials`` trials leaves it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from .pruners import pairs_folds
from .space import trees_param

#: The states of the trials a run has finished.
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials per state (complete, pruned, running, fail, waiting)."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return {s.name.lower(): sum(1 for x in states if x == s) for s in TrialState}


def trials_seconds(study: optuna.Study) -> float:
    """Seconds spent in the study's finished trials (complete or pruned), summed over every run
    and worker that contributed: what the study cost, where a resumed run's own wall time only
    counts the trials it added."""
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return float(
        sum(
            (t.datetime_complete - t.datetime_start).total_seconds()
            for t in finished
            if t.datetime_start is not None and t.datetime_complete is not None
        )
    )


def at_search_bounds(trial: optuna.trial.FrozenTrial, *, margin: float = 0.02) -> dict[str, str]:
    """The trial's parameters at an end of their search range: name -> ``"lower"`` or ``"upper"``.

    A float counts when it lies within ``margin`` of the range from an end (on the log scale for a
    log-uniform range); an integer when it is the end itself. The best trial at a bound suggests
    the optimum may lie outside the range.
    """
    found = {}
    for name, dist in trial.distributions.items():
        value = trial.params.get(name)
        if not isinstance(dist, (optuna.distributions.FloatDistribution, optuna.distributions.IntDistribution)):
            continue
        if isinstance(dist, optuna.distributions.IntDistribution):
            side = "lower" if value <= dist.low else "upper" if value >= dist.high else None
        else:
            scale = math.log if dist.log else float
            where = (scale(value) - scale(dist.low)) / (scale(dist.high) - scale(dist.low))
            side = "lower" if where <= margin else "upper" if where >= 1 - margin else None
        if side:
            found[name] = side
    return found


def best_params(study: optuna.Study, *, model: str) -> dict[str, Any]:
    """The best trial's hyperparameters, with the number of trees early stopping chose."""
    best = study.best_trial
    params = dict(best.params)
    name = trees_param(model)
    if name and "n_trees" in best.user_attrs:
        params[name] = int(best.user_attrs["n_trees"])
        if model == "hist_gradient_boosting":
            params["early_stopping"] = False
    return params


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """Finished trials with their value, state, ``folds_scored`` and parameters; the measured
    duration is in ``duration_seconds`` (it varies between runs; everything else does not).

    A pruned trial's ``value`` is the mean over the folds it reached (Optuna keeps the last
    reported value, which under the Wilcoxon pruner is one fold's score)."""
    df = study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration"))
    df = df[df["state"].isin(["COMPLETE", "PRUNED"])].copy()
    reported = {t.number: list(t.intermediate_values.values()) for t in study.get_trials(deepcopy=False)}
    df.insert(3, "folds_scored", [len(reported[n]) for n in df["number"]])
    if pairs_folds(study):  # otherwise the last reported value is already the running mean
        pruned = df["state"] == "PRUNED"
        df.loc[pruned, "value"] = [float(np.mean(reported[n])) for n in df.loc[pruned, "number"]]
    df["duration_seconds"] = df.pop("duration").dt.total_seconds()
    df.columns = [c.replace("params_", "").replace("user_attrs_", "") for c in df.columns]
    return df.sort_values("number").reset_index(drop=True)


def first_trials(study: optuna.Study, n_trials: int) -> optuna.Study:
    """The study as a run of ``n_trials`` trials leaves it: its first ``n_trials`` finished
    trials in the order they were created, numbered 0, 1, ..., in an in-memory copy (same name,
    direction, sampler and pruner) that the reports are made of.

    A trial depends only on the trials created before it (seeded by its slot, the number of
    those still holding a place: :class:`SlotSeededTPESampler`), so these are the trials a study
    of ``n_trials`` gives: after a run with a larger ``n_trials`` (an experiment), a smaller one
    runs no trial and reports what a run of that size reports. A killed and resumed run is
    reported like an uninterrupted one: the failed trial is left out and its replacement takes
    its number. Fewer trials when fewer are finished (a timeout).
    """
    finished = study.get_trials(deepcopy=False, states=FINISHED)[:n_trials]
    view = optuna.create_study(
        study_name=study.study_name, directions=study.directions, sampler=study.sampler, pruner=study.pruner
    )
    view.add_trials(finished)
    return view
