"""Pruning: which pruner stops hopeless trials, and how a trial reports its folds to it.

A fold is a pruning step. The pruners are Optuna's; :func:`pairs_folds` says whether the study's
pruner compares trials fold by fold (then a trial reports each fold's own score, in its own
order) or by running means.
"""

from __future__ import annotations

import warnings

import optuna

from ..errors import TuneError

#: The pruners ``tune.pruner`` can name.
PRUNERS = ("wilcoxon", "median", "hyperband", "none")


def make_pruner(name: str, *, n_folds: int) -> optuna.pruners.BasePruner:
    """The pruner named in params ("wilcoxon", "median", "hyperband" or "none"); steps are folds.

    ``wilcoxon`` (:class:`optuna.pruners.WilcoxonPruner`) stops a trial once a one-sided Wilcoxon
    signed-rank test of its fold scores against the best trial's scores on the same folds gives
    p < 0.1: folds differ much more from one another (easy and hard folds) than settings do, and
    a paired test looks only at the differences. It cannot stop a trial before four folds (the
    smallest p of the exact test on n pairs is 2**-n). ``median`` compares the running mean with
    the median of earlier trials' running means at the same fold.
    """
    if name == "wilcoxon":
        with warnings.catch_warnings():  # experimental in Optuna: a warning, once per study load
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        # steps are 0, 1, ... (folds scored minus one) and the pruner is not asked after the last
        # fold: the largest step it is asked at is n_folds - 2, so every bracket's first check
        # comes before the last fold
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, n_folds - 2), reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise TuneError(f"tune.pruner '{name}' is unknown; use {', '.join(PRUNERS)}")


def pairs_folds(study: optuna.Study) -> bool:
    """Whether the study's pruner compares trials fold by fold (the Wilcoxon pruner): then a trial
    reports each fold's own score, with the fold's index as the step, in an order shuffled per
    trial (as Optuna's documentation recommends, so that pruning does not always judge the same
    first folds); otherwise it reports running means in the stored fold order."""
    return isinstance(study.pruner, optuna.pruners.WilcoxonPruner)
