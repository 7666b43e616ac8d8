"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .check import check_project
from .notebook import project_root, setup, show_headline
from .params import PARAMS_FILE, load_params, validate_params
from .runner import run_stage
from .settings import N_JOBS_ENV, n_jobs
from .stages import notebook_parameters, pipeline_paths, read_stage

__all__ = [
    "N_JOBS_ENV",
    "PARAMS_FILE",
    "check_project",
    "load_params",
    "n_jobs",
    "notebook_parameters",
    "pipeline_paths",
    "project_root",
    "read_stage",
    "run_stage",
    "setup",
    "show_headline",
    "validate_params",
]
