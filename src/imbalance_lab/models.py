"""The model registry: a name gives an estimator and the preprocessing it needs.

:func:`make_pipeline` assembles preprocessing, an optional resampler and the estimator into one
imbalanced-learn ``Pipeline``, so everything that is fitted (imputer, encoder, scaler, sampler,
model) is fitted on the training fold only.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from .errors import ParamsError
from .features import OneHotLastColumns, make_preprocessor
from .params import RESERVED_MODEL_PARAMS


def _xgboost(*, seed: int, n_jobs: int, **params: Any) -> BaseEstimator:
    from xgboost import XGBClassifier

    defaults = dict(
        n_estimators=300, learning_rate=0.05, max_depth=4, subsample=0.8, colsample_bytree=0.8,
        min_child_weight=1.0, reg_lambda=1.0, tree_method="hist", eval_metric="logloss",
    )
    return XGBClassifier(**{**defaults, **params}, random_state=seed, n_jobs=n_jobs)


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
    defaults : dict
        Default hyperparameters (overridable from params).
    """

    factory: Callable[..., BaseEstimator]
    encoding: str
    scale: bool
    class_weight_param: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)


MODELS: dict[str, ModelSpec] = {
    "dummy": ModelSpec(
        lambda *, seed, n_jobs, **p: DummyClassifier(**{"strategy": "prior", **p}, random_state=seed),
        encoding="ordinal", scale=False,
    ),
    "logistic_regression": ModelSpec(
        lambda *, seed, n_jobs, **p: LogisticRegression(**{"C": 1.0, "max_iter": 2000, **p}, random_state=seed),
        encoding="onehot", scale=True, class_weight_param="class_weight",
    ),
    "random_forest": ModelSpec(
        lambda *, seed, n_jobs, **p: RandomForestClassifier(
            **{"n_estimators": 300, "min_samples_leaf": 5, "max_features": "sqrt", **p}, random_state=seed, n_jobs=n_jobs
        ),
        encoding="ordinal", scale=False, class_weight_param="class_weight",
    ),
    "hist_gradient_boosting": ModelSpec(
        lambda *, seed, n_jobs, **p: HistGradientBoostingClassifier(
            **{"learning_rate": 0.05, "max_iter": 200, "max_leaf_nodes": 15, "l2_regularization": 1.0,
               "early_stopping": False, **p},
            random_state=seed,
        ),
        encoding="ordinal", scale=False, class_weight_param="class_weight",
    ),
    "xgboost": ModelSpec(_xgboost, encoding="ordinal", scale=False, class_weight_param="scale_pos_weight"),
}


@functools.lru_cache(maxsize=None)
def _parameters(name: str) -> tuple[str, tuple[str, ...]]:
    """The estimator class name of a registered family and the parameters it takes (from a
    default instance, built once per process)."""
    default = MODELS[name].factory(seed=0, n_jobs=1)
    return type(default).__name__, tuple(default.get_params())


def make_estimator(name: str, *, seed: int, n_jobs: int = 1, params: dict[str, Any] | None = None) -> BaseEstimator:
    """Build the bare estimator of a registered family with optional hyperparameter overrides."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(MODELS)}")
    params = params or {}
    reserved = [k for k in params if k in RESERVED_MODEL_PARAMS]
    if reserved:
        raise ParamsError(f"cross_validate.model_params.{name}.{reserved[0]} is set by the pipeline (seeds from "
                          "'seed', threads from the stage's n_jobs), not here; remove it")
    estimator_name, known = _parameters(name)
    unknown = sorted(set(params) - set(known))
    if unknown:  # XGBoost would take any name and only warn at fit time; scikit-learn raises a TypeError
        lower = {k.lower(): k for k in known}
        hints = [f"'{u}' -> '{lower[m[0]]}'" for u in unknown if (m := difflib.get_close_matches(u.lower(), list(lower), n=1))]
        raise ParamsError(
            f"cross_validate.model_params.{name}: {estimator_name} has no parameter "
            f"{', '.join(map(repr, unknown))}; remove or rename it" + (f" (did you mean {', '.join(hints)}?)" if hints else "")
        )
    return MODELS[name].factory(seed=seed, n_jobs=n_jobs, **params)


def make_pipeline(
    name: str,
    schema: dict[str, Any],
    *,
    seed: int,
    params: dict[str, Any] | None = None,
    sampler: BaseEstimator | None = None,
    sampler_sees_codes: bool = False,
    n_jobs: int = 1,
) -> Pipeline:
    """Preprocessing, an optional resampler and the estimator, as one unfitted pipeline.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    schema : dict
        The prepared data's schema.
    seed : int
        Random state of the estimator.
    params : dict, optional
        Hyperparameter overrides for the estimator.
    sampler : imblearn sampler, optional
        Applied to the preprocessed training fold only (imblearn skips it at predict time).
    sampler_sees_codes : bool
        For a model that one-hot encodes categorical columns: give the sampler one column of
        ordinal codes per categorical column and one-hot encode them after it
        (:class:`~imbalance_lab.features.OneHotLastColumns`), as SMOTE-NC needs.
    n_jobs : int
        Threads for estimators that support them.
    """
    spec = MODELS[name]
    codes = sampler is not None and sampler_sees_codes and spec.encoding == "onehot" and bool(schema["categorical"])
    encoding = "ordinal" if codes else spec.encoding
    steps: list[tuple[str, Any]] = [("preprocess", make_preprocessor(schema, encoding=encoding, scale=spec.scale))]
    if sampler is not None:
        steps.append(("sample", sampler))
    if codes:
        steps.append(("encode", OneHotLastColumns(n_columns=len(schema["categorical"]))))
    steps.append(("model", make_estimator(name, seed=seed, n_jobs=n_jobs, params=params)))
    return Pipeline(steps)
