"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .artifact import LoadedModel, library_versions, load_model, save_model
from .drift import (
    DRIFT_EXIT,
    DriftAccumulator,
    drift_file,
    drift_table,
    psi,
    psi_noise,
    reference_stats,
    validate_reference,
)
from .inputs import CheckedInput, check_input
from .scoring import DEFAULT_CHUNKSIZE, DEFAULT_SALT_ENV, predict_file, score_frame
from .serialization import ALLOWLIST, dump_pipeline, load_pipeline

__all__ = [
    "ALLOWLIST",
    "DEFAULT_CHUNKSIZE",
    "DEFAULT_SALT_ENV",
    "DRIFT_EXIT",
    "CheckedInput",
    "DriftAccumulator",
    "LoadedModel",
    "check_input",
    "drift_file",
    "drift_table",
    "dump_pipeline",
    "library_versions",
    "load_model",
    "load_pipeline",
    "predict_file",
    "psi",
    "psi_noise",
    "reference_stats",
    "save_model",
    "score_frame",
    "validate_reference",
]
