"""The model registry: a name gives an estimator and the preprocessing it needs.

Each family's estimator class is imported when one is built, not with this module: params
validation reads the registry's names in the stage runner, before the stage's kernel starts,
and importing scikit-learn's estimators there would cost about 1.4 s per stage.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ParamsError

#: Estimator parameters the pipeline sets itself (the seed from params.yaml's ``seed``, threads
#: from the stage's ``n_jobs``, one per fit): ``cross_validate.model_params`` may not set them.
RESERVED_MODEL_PARAMS = ("random_state", "seed", "random_seed", "n_jobs", "nthread")


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model family.

    Attributes
    ----------
    factory : callable
        ``factory(seed=..., n_jobs=..., **params) -> estimator``.
    encoding : str
        Categorical encoding its preprocessing uses ("onehot" or "ordinal").
    scale : bool
        Whether numeric columns are standardised.
    class_weight_param : str or None
        The estimator's parameter for weighting the positive class (used by imbalance
        strategies), ``None`` if it has none.
    """

    factory: Callable[..., Any]
    encoding: str
    scale: bool
    class_weight_param: str | None = None


def _dummy(*, seed: int, n_jobs: int, **params: Any) -> Any:
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(**{"strategy": "prior", **params}, random_state=seed)


def _logistic_regression(*, seed: int, n_jobs: int, **params: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"C": 1.0, "max_iter": 2000, **params}, random_state=seed)


def _random_forest(*, seed: int, n_jobs: int, **params: Any) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    defaults = {"n_estimators": 300, "min_samples_leaf": 5, "max_features": "sqrt"}
    return RandomForestClassifier(**{**defaults, **params}, random_state=seed, n_jobs=n_jobs)


def _hist_gradient_boosting(*, seed: int, n_jobs: int, **params: Any) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    defaults = {
        "learning_rate": 0.05,
        "max_iter": 200,
        "max_leaf_nodes": 15,
        "l2_regularization": 1.0,
        "early_stopping": False,
    }
    return HistGradientBoostingClassifier(**{**defaults, **params}, random_state=seed)


def _xgboost(*, seed: int, n_jobs: int, **params: Any) -> Any:
    from xgboost import XGBClassifier

    defaults = {
        "n_estimators": 300,
        "learning_rate": 0.05,
        "max_depth": 4,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
        "tree_method": "hist",
        "eval_metric": "logloss",
    }
    return XGBClassifier(**{**defaults, **params}, random_state=seed, n_jobs=n_jobs)


MODELS: dict[str, ModelSpec] = {
    "dummy": ModelSpec(_dummy, encoding="ordinal", scale=False),
    "logistic_regression": ModelSpec(
        _logistic_regression, encoding="onehot", scale=True, class_weight_param="class_weight"
    ),
    "random_forest": ModelSpec(_random_forest, encoding="ordinal", scale=False, class_weight_param="class_weight"),
    "hist_gradient_boosting": ModelSpec(
        _hist_gradient_boosting, encoding="ordinal", scale=False, class_weight_param="class_weight"
    ),
    "xgboost": ModelSpec(_xgboost, encoding="ordinal", scale=False, class_weight_param="scale_pos_weight"),
}


@functools.cache
def _parameters(name: str) -> tuple[str, tuple[str, ...]]:
    """The estimator class name of a registered family and the parameters it takes (from a
    default instance, built once per process)."""
    default = MODELS[name].factory(seed=0, n_jobs=1)
    return type(default).__name__, tuple(default.get_params())


def make_estimator(name: str, *, seed: int, n_jobs: int = 1, params: dict[str, Any] | None = None) -> Any:
    """Build the bare estimator of a registered family with optional hyperparameter overrides."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(MODELS)}")
    params = params or {}
    reserved = [k for k in params if k in RESERVED_MODEL_PARAMS]
    if reserved:
        raise ParamsError(
            f"cross_validate.model_params.{name}.{reserved[0]} is set by the pipeline (seeds from "
            "'seed', threads from the stage's n_jobs), not here; remove it"
        )
    estimator_name, known = _parameters(name)
    unknown = sorted(set(params) - set(known))
    if unknown:  # XGBoost would take any name and only warn at fit time; scikit-learn raises a TypeError
        lower = {k.lower(): k for k in known}
        hints = [
            f"'{u}' -> '{lower[m[0]]}'"
            for u in unknown
            if (m := difflib.get_close_matches(u.lower(), list(lower), n=1))
        ]
        raise ParamsError(
            f"cross_validate.model_params.{name}: {estimator_name} has no parameter "
            f"{', '.join(map(repr, unknown))}; remove or rename it"
            + (f" (did you mean {', '.join(hints)}?)" if hints else "")
        )
    return MODELS[name].factory(seed=seed, n_jobs=n_jobs, **params)
