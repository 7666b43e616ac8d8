"""Settings of this machine, not of the research: environment variables that change how fast a
stage runs or where it keeps things, never what it computes, so that neither params.yaml nor
``dvc exp show`` carries them and changing one reruns nothing.

* ``IMBALANCE_LAB_N_JOBS``: cores a stage uses (default: every core this process may use);
* ``IMBALANCE_LAB_DASK_SCHEDULER``: a Dask scheduler (``tcp://host:8786``) on whose cluster the
  fold fits of cross_validate (and its learning curve) and imbalance run, with the same results
  (:data:`imbalance_lab.evaluation.parallel.SCHEDULER_ENV`);
* ``IMBALANCE_LAB_OPTUNA_STORAGE``: a database URL for the tune stage's study
  (:data:`imbalance_lab.tuning.storage.STORAGE_ENV`);
* ``IMBALANCE_LAB_SALT``: the salt of ``prepare.hash_columns``
  (:data:`imbalance_lab.data.ids.SALT_ENV`): a secret, so never in a file; it changes the hashed
  ids, which are never features (rerun prepare with ``dvc repro --force prepare`` after changing it);
* ``IMBALANCE_LAB_VERBOSE``: show everything a stage prints (:mod:`imbalance_lab.pipeline.console`).
"""

from __future__ import annotations

import os

from ..errors import ImbalanceLabError

N_JOBS_ENV = "IMBALANCE_LAB_N_JOBS"


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def n_jobs() -> int:
    """Cores a stage uses: ``$IMBALANCE_LAB_N_JOBS``, or every core this process may use.

    Raises
    ------
    ImbalanceLabError
        The variable is set but is not a whole number of at least 1.
    """
    value = os.environ.get(N_JOBS_ENV, "").strip()
    if not value:
        return available_cores()
    try:
        cores = int(value)
    except ValueError:
        cores = 0
    if cores < 1:
        raise ImbalanceLabError(
            f"${N_JOBS_ENV} is {value!r}; set it to the number of cores a stage may use (e.g. 2), or unset it"
        )
    return cores
