"""The tune stage's sampler: TPE with every trial's random draws seeded from its slot.

A trial's slot is its place in the study (:class:`SlotSeededTPESampler`); seeding by slot makes a
run killed and resumed give the trials an uninterrupted run gives, and keeps the stage and its
workers from proposing the same start-up settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

#: Trial system attribute: the trial's place in the study (:class:`SlotSeededTPESampler`).
SLOT_ATTR = "imbalance_lab:slot"


#: The states of the trials that hold a place in the study (a failed trial's place is taken again).
HOLDING = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


class SlotSeededTPESampler(optuna.samplers.TPESampler):
    """Optuna's TPE sampler with every trial's random draws seeded from ``(seed, slot)``.

    A trial's slot is the number of other trials holding a place in the study (complete, pruned
    or running) when it is created, under the creation lock (:func:`imbalance_lab.tuning.worker.work`): 0, 1, 2, ... in a
    run, and a trial replacing a failed one (a killed run's, a dead worker's) takes its slot
    again. :class:`optuna.samplers.TPESampler` draws from one random state per process, seeded
    once: a resumed run would replay the first trials' random draws, and the stage and every
    worker would propose the same start-up settings. Seeded per slot, every process draws
    different settings for different slots, and a run killed and resumed gives the same trials
    as one never interrupted (the history a trial is sampled from is the same, and so is its
    seed). The slot is kept with the trial (system attribute :data:`SLOT_ATTR`, see
    :func:`trial_slot`); it also fixes the trial's fold order (:func:`imbalance_lab.tuning.objective.fold_order`).
    """

    def __init__(self, *, seed: int, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._slot_seed = seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        """Record the trial's slot and seed the sampler's random states from it."""
        # the whole study: under the hyperband pruner, ``study`` holds the trial's bracket only
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False, states=HOLDING)
        slot = sum(1 for t in trials if t._trial_id != trial._trial_id)
        study._storage.set_trial_system_attr(trial._trial_id, SLOT_ATTR, slot)
        tpe, startup = np.random.SeedSequence([self._slot_seed, slot]).generate_state(2)
        self._rng.rng.seed(int(tpe))
        self._random_sampler._rng.rng.seed(int(startup))
        super().before_trial(study, trial)


#: The tune stage's TPE sampler draws this many trials at random before it models the results.
N_STARTUP_TRIALS = 10


def make_sampler(seed: int) -> SlotSeededTPESampler:
    """The tune stage's sampler: multivariate TPE after :data:`N_STARTUP_TRIALS` random trials,
    seeded per slot."""
    return SlotSeededTPESampler(seed=seed, n_startup_trials=N_STARTUP_TRIALS, multivariate=True)


def trial_slot(trial: optuna.Trial) -> int:
    """The trial's slot, set when it was created (:class:`SlotSeededTPESampler`); the trial's
    number in a study whose sampler sets none."""
    return int(trial.storage.get_trial_system_attrs(trial._trial_id).get(SLOT_ATTR, trial.number))
