"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .objective import TuneTask, fit_fold, prepare_fold, run_trial
from .pruners import PRUNERS, make_pruner
from .results import at_search_bounds, best_params, counts, first_trials, trials_seconds, trials_table
from .sampler import N_STARTUP_TRIALS, SLOT_ATTR, make_sampler
from .space import MAX_TREES, SEARCH_SPACES, TUNABLE_MODELS, search_space, suggest_params
from .storage import Storage, open_storage
from .study import TRIAL_CODE_VERSION, setup_study, study_name, trial_code
from .worker import run_worker, work

__all__ = [
    "MAX_TREES",
    "N_STARTUP_TRIALS",
    "PRUNERS",
    "SEARCH_SPACES",
    "SLOT_ATTR",
    "TRIAL_CODE_VERSION",
    "TUNABLE_MODELS",
    "Storage",
    "TuneTask",
    "at_search_bounds",
    "best_params",
    "counts",
    "first_trials",
    "fit_fold",
    "make_pruner",
    "make_sampler",
    "open_storage",
    "prepare_fold",
    "run_trial",
    "run_worker",
    "search_space",
    "setup_study",
    "study_name",
    "suggest_params",
    "trial_code",
    "trials_seconds",
    "trials_table",
    "work",
]
