"""Search spaces: the hyperparameters a trial samples, declared as data.

:data:`SEARCH_SPACES` holds each tunable family's Optuna distributions. Being data, a space is
part of the study's identity as it is (:func:`imbalance_lab.tuning.study.study_name`): widening
a range starts a new study, while moving or rewording code does not.

Boosting models do not search their number of trees: they may grow up to ``tune.max_trees``
trees and stop early on an inner split of each training fold (:func:`trial_model_params`).
"""

from __future__ import annotations

from typing import Any

from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution

from ..errors import TuneError

#: The default most trees a boosting fit may grow before early stopping ends it (``tune.max_trees``).
MAX_TREES = 2000
#: Share of a training fold held out for early stopping (boosting models).
EARLY_STOPPING_SHARE = 0.15
#: Boosting stops when the held-out log loss has not improved for this many trees.
EARLY_STOPPING_ROUNDS = 30

SEARCH_SPACES: dict[str, dict[str, BaseDistribution]] = {
    "xgboost": {
        "learning_rate": FloatDistribution(0.01, 0.3, log=True),
        "max_depth": IntDistribution(2, 8),
        "min_child_weight": FloatDistribution(0.5, 20.0, log=True),
        "subsample": FloatDistribution(0.5, 1.0),
        "colsample_bytree": FloatDistribution(0.3, 1.0),
        "reg_lambda": FloatDistribution(1e-3, 10.0, log=True),
        "reg_alpha": FloatDistribution(1e-3, 10.0, log=True),
        "gamma": FloatDistribution(0.0, 5.0),
    },
    "logistic_regression": {
        "C": FloatDistribution(1e-3, 100.0, log=True),
    },
    "hist_gradient_boosting": {
        "learning_rate": FloatDistribution(0.01, 0.3, log=True),
        "max_leaf_nodes": IntDistribution(4, 64, log=True),
        "min_samples_leaf": IntDistribution(5, 200, log=True),
        "l2_regularization": FloatDistribution(1e-3, 10.0, log=True),
        "max_features": FloatDistribution(0.3, 1.0),
    },
}

#: Model families the tune stage can tune (``tune.model``).
TUNABLE_MODELS = tuple(SEARCH_SPACES)


def search_space(model: str) -> dict[str, BaseDistribution]:
    """The search space of ``model``.

    Raises
    ------
    TuneError
        ``model`` has no search space.
    """
    if model not in SEARCH_SPACES:
        raise TuneError(f"tune.model '{model}' cannot be tuned; use one of {', '.join(TUNABLE_MODELS)}")
    return SEARCH_SPACES[model]


def suggest_params(trial: Any, model: str) -> dict[str, Any]:
    """Sample one hyperparameter set of ``model`` from its search space, in the space's order."""
    params = {}
    for name, dist in search_space(model).items():
        if isinstance(dist, IntDistribution):
            params[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            params[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return params


def trial_model_params(model: str, params: dict[str, Any], *, max_trees: int = MAX_TREES) -> dict[str, Any]:
    """The estimator parameters of a trial: its hyperparameters plus, for the boosting models,
    early stopping after at most ``max_trees`` trees (XGBoost stops on the split given by
    :func:`imbalance_lab.tuning.objective.early_stopping_split`, histogram gradient boosting on its
    own ``validation_fraction``)."""
    if model == "xgboost":
        return {**params, "n_estimators": max_trees, "early_stopping_rounds": EARLY_STOPPING_ROUNDS}
    if model == "hist_gradient_boosting":
        return {
            **params,
            "max_iter": max_trees,
            "early_stopping": True,
            "validation_fraction": EARLY_STOPPING_SHARE,
            "n_iter_no_change": EARLY_STOPPING_ROUNDS,
            "scoring": "loss",
        }
    return dict(params)


def trees_param(model: str) -> str | None:
    """The estimator parameter that early stopping chose, if any."""
    return {"xgboost": "n_estimators", "hist_gradient_boosting": "max_iter"}.get(model)
