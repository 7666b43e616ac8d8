"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .boosting import fit_on_matrix, training_matrix
from .features import MISSING, OneHotLastColumns, make_preprocessor
from .models import MODELS, RESERVED_MODEL_PARAMS, ModelSpec, make_estimator
from .pipelines import fitted_rows, make_pipeline, make_strategy_pipeline
from .samplers import CheckedSampler, FoldPositiveWeight
from .strategies import SIMPLICITY, STRATEGIES, StrategySpec, describe_strategies, prior_correction, sampled_prevalence

__all__ = [
    "MISSING",
    "MODELS",
    "RESERVED_MODEL_PARAMS",
    "SIMPLICITY",
    "STRATEGIES",
    "CheckedSampler",
    "FoldPositiveWeight",
    "ModelSpec",
    "OneHotLastColumns",
    "StrategySpec",
    "describe_strategies",
    "fit_on_matrix",
    "fitted_rows",
    "make_estimator",
    "make_pipeline",
    "make_preprocessor",
    "make_strategy_pipeline",
    "prior_correction",
    "sampled_prevalence",
    "training_matrix",
]
