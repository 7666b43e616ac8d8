"""The model registry: a name gives an estimator and the preprocessing it needs.

The registry is data: each family names its estimator class, which is imported when one is
built, not with this module. Params validation reads the registry's names in the stage runner,
before the stage's kernel starts, and importing scikit-learn's estimators there would cost about
1.4 s per stage.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from dataclasses import dataclass, field
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
    estimator : str
        The estimator's class, ``"module.Class"``, imported when one is built.
    encoding : str
        Categorical encoding its preprocessing uses ("onehot" or "ordinal").
    scale : bool
        Whether numeric columns are standardised.
    class_weight_param : str or None
        The estimator's parameter for weighting the positive class (used by imbalance
        strategies), ``None`` if it has none.
    defaults : dict
        The project's default hyperparameters (overridden by ``cross_validate.model_params``).
    threads : bool
        The estimator takes ``n_jobs`` (threads of one fit).
    float32 : bool
        The estimator converts its input to float32 itself (XGBoost's matrices, scikit-learn's
        trees) or ignores it (the dummy): its preprocessing writes float32, the same results in
        half the memory.
    sparse : bool
        Its one-hot encoded input goes to it as a CSR matrix (mostly zeros): a third of the
        memory of the dense array, the same values (sums in another order: scores may differ in
        the last digits).
    """

    estimator: str
    encoding: str
    scale: bool
    class_weight_param: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    threads: bool = False
    float32: bool = False
    sparse: bool = False

    def build(self, *, seed: int, n_jobs: int = 1, **params: Any) -> Any:
        """An unfitted estimator: the defaults, then ``params``, seeded (and threaded)."""
        module, _, name = self.estimator.rpartition(".")
        kwargs = {**self.defaults, **params, "random_state": seed}
        if self.threads:
            kwargs["n_jobs"] = n_jobs
        return getattr(importlib.import_module(module), name)(**kwargs)


MODELS: dict[str, ModelSpec] = {
    "dummy": ModelSpec(
        "sklearn.dummy.DummyClassifier", encoding="ordinal", scale=False, defaults={"strategy": "prior"}, float32=True
    ),
    "logistic_regression": ModelSpec(
        "sklearn.linear_model.LogisticRegression",
        encoding="onehot",
        scale=True,
        class_weight_param="class_weight",
        defaults={"C": 1.0, "max_iter": 2000},
        sparse=True,
    ),
    "random_forest": ModelSpec(
        "sklearn.ensemble.RandomForestClassifier",
        encoding="ordinal",
        scale=False,
        class_weight_param="class_weight",
        defaults={"n_estimators": 300, "min_samples_leaf": 5, "max_features": "sqrt"},
        threads=True,
        float32=True,
    ),
    "hist_gradient_boosting": ModelSpec(
        "sklearn.ensemble.HistGradientBoostingClassifier",
        encoding="ordinal",
        scale=False,
        class_weight_param="class_weight",
        defaults={
            "learning_rate": 0.05,
            "max_iter": 200,
            "max_leaf_nodes": 15,
            "l2_regularization": 1.0,
            "early_stopping": False,
        },
    ),
    "xgboost": ModelSpec(
        "xgboost.XGBClassifier",
        encoding="ordinal",
        scale=False,
        class_weight_param="scale_pos_weight",
        defaults={
            "n_estimators": 300,
            "learning_rate": 0.05,
            "max_depth": 4,
            "subsample": 0.8,
            "colsample_bytree": 0.8,
            "min_child_weight": 1.0,
            "reg_lambda": 1.0,
            "tree_method": "hist",
            "eval_metric": "logloss",
        },
        threads=True,
        float32=True,
    ),
}


@functools.cache
def _parameters(name: str) -> tuple[str, tuple[str, ...]]:
    """The estimator class name of a registered family and the parameters it takes (from a
    default instance, built once per process)."""
    default = MODELS[name].build(seed=0, n_jobs=1)
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
    return MODELS[name].build(seed=seed, n_jobs=n_jobs, **params)
