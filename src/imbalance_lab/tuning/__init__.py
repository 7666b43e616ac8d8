"""Tuning: hyperparameter search with Optuna on the stored folds, seeded, pruned, resumable and
shared between machines.

* :mod:`~imbalance_lab.tuning.space`: the search spaces, as data;
* :mod:`~imbalance_lab.tuning.objective`: what a trial computes, fold by fold;
* :mod:`~imbalance_lab.tuning.cluster`: a trial's fold fits on a Dask cluster, when
  ``$IMBALANCE_LAB_DASK_SCHEDULER`` names one (the trials stay in their process);
* :mod:`~imbalance_lab.tuning.pruners` and :mod:`~imbalance_lab.tuning.sampler`: how trials are
  pruned and sampled;
* :mod:`~imbalance_lab.tuning.storage`: the journal file or database, and its locks;
* :mod:`~imbalance_lab.tuning.study`: the study's identity, opened for the stage or a worker;
* :mod:`~imbalance_lab.tuning.worker`: the loop that runs trials, for the stage and for
  ``imbalance-lab tune-worker``;
* :mod:`~imbalance_lab.tuning.results`: what a study found.

Above :mod:`imbalance_lab.evaluation`; imports nothing higher. Submodules load on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
