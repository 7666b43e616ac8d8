"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .artifact import LoadedModel, library_versions, load_model, save_model
from .drift import (
    DRIFT_EXIT,
    PREDICTION,
    DriftAccumulator,
    drift_file,
    drift_table,
    noise_allowances,
    prediction_note,
)
from .drift_reference import reference_stats, score_reference, validate_reference
from .drift_statistics import js_distance, psi, scaled_wasserstein
from .inputs import CheckedInput, check_input
from .scoring import DEFAULT_CHUNKSIZE, DEFAULT_SALT_ENV, positive_scores, predict_file, score_frame
from .serialization import ALLOWLIST, dump_pipeline, load_pipeline

__all__ = [
    "ALLOWLIST",
    "DEFAULT_CHUNKSIZE",
    "DEFAULT_SALT_ENV",
    "DRIFT_EXIT",
    "PREDICTION",
    "CheckedInput",
    "DriftAccumulator",
    "LoadedModel",
    "check_input",
    "drift_file",
    "drift_table",
    "dump_pipeline",
    "js_distance",
    "library_versions",
    "load_model",
    "load_pipeline",
    "noise_allowances",
    "positive_scores",
    "predict_file",
    "prediction_note",
    "psi",
    "reference_stats",
    "save_model",
    "scaled_wasserstein",
    "score_frame",
    "score_reference",
    "validate_reference",
]
