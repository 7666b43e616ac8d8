"""The registry of ways to handle class imbalance, and what they do to the class prior.

A *strategy* is combined with a registered model (:mod:`imbalance_lab.modeling.models`) into one
unfitted imbalanced-learn ``Pipeline`` by :func:`imbalance_lab.modeling.make_strategy_pipeline`.
Every resampler sits between the preprocessing and the model, so it runs on the preprocessed
*training fold only*: imbalanced-learn skips samplers at predict time, so no synthetic or
duplicated row ever reaches a validation fold or the test set.

Kinds of strategy
-----------------
baseline
    ``none``: the model as it is.
weighting
    ``class_weight``: the positive class weighted by ``n_negative / n_positive`` of the training
    fold (``class_weight="balanced"`` for scikit-learn models, ``scale_pos_weight`` computed at
    fit time for xgboost).
resampling
    Random over/under-sampling, SMOTE and its variants, and SMOTE followed by a cleaning step.
    The samplers see the preprocessed columns: the numeric ones first, then discrete ones
    (missing-value indicators, categorical codes or one-hot columns). With discrete columns,
    SMOTE (alone or before Tomek links or ENN) runs as SMOTE-NC, which gives a synthetic row the
    most frequent value of its neighbours in each discrete column instead of interpolating codes
    (SMOTE-N when no column is numeric). Borderline-SMOTE and ADASYN have no such variant in
    imbalanced-learn: they interpolate the discrete columns too, and building them for a schema
    with categorical columns logs a warning.
ensemble
    Balanced random forest and EasyEnsemble: they replace the model.
threshold
    ``threshold_moving``: the unchanged model; only the decision threshold differs, and the
    caller chooses it (e.g. with :func:`imbalance_lab.evaluation.choose_threshold`).

Resampling and class weights change the prior the model learns, so its probabilities are no
longer calibrated to the real prevalence; :func:`prior_correction` maps them back.

Samplers are imported when one is built: params validation reads this registry's names in the
stage runner, where importing imbalanced-learn would cost about 1.3 s per stage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from ..errors import StrategyError

KINDS = ("baseline", "weighting", "resampling", "ensemble", "threshold")


#: Simplicity order used by :func:`choose_strategy` (simplest first).
SIMPLICITY = (
    "none",
    "threshold_moving",
    "class_weight",
    "random_under",
    "random_over",
    "smote",
    "borderline_smote",
    "adasyn",
    "smote_tomek",
    "smote_enn",
    "balanced_random_forest",
    "easy_ensemble",
)


#: String values of ``sampling_strategy`` accepted: "auto" balances the two classes. With two
#: classes imbalanced-learn's other names ("minority", "not majority", ...) either mean the same or
#: make one kind of sampler do nothing (an under-sampler told to resample the minority).
SAMPLING_STRATEGY_NAMES = ("auto",)


#: Trees of the balanced random forest and members of EasyEnsemble.
BRF_N_ESTIMATORS = 300


BRF_MIN_SAMPLES_LEAF = 2


EASY_ENSEMBLE_N_ESTIMATORS = 10


@dataclass(frozen=True)
class StrategySpec:
    """One way of handling class imbalance.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    description : str
        One line, usable in a table.
    sampler : callable or None
        ``sampler(seed=..., sampling_strategy=..., k_neighbors=...) -> imblearn sampler`` for
        resampling strategies.
    uses_model : bool
        ``False`` for the ensembles, which replace the requested model.
    """

    kind: str
    description: str
    sampler: Callable[..., Any] | None = None
    uses_model: bool = True


def _random_over(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.over_sampling import RandomOverSampler

    return RandomOverSampler(sampling_strategy=sampling_strategy, random_state=seed)


def _random_under(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.under_sampling import RandomUnderSampler

    return RandomUnderSampler(sampling_strategy=sampling_strategy, random_state=seed)


def _smote(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.over_sampling import SMOTE

    return SMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=seed)


def _borderline_smote(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.over_sampling import BorderlineSMOTE

    return BorderlineSMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=seed)


def _adasyn(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.over_sampling import ADASYN

    return ADASYN(sampling_strategy=sampling_strategy, n_neighbors=k_neighbors, random_state=seed)


def _smote_tomek(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.combine import SMOTETomek

    smote = _smote(seed=seed, sampling_strategy=sampling_strategy, k_neighbors=k_neighbors)
    return SMOTETomek(sampling_strategy=sampling_strategy, random_state=seed, smote=smote)


def _smote_enn(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> Any:
    from imblearn.combine import SMOTEENN

    smote = _smote(seed=seed, sampling_strategy=sampling_strategy, k_neighbors=k_neighbors)
    return SMOTEENN(sampling_strategy=sampling_strategy, random_state=seed, smote=smote)


STRATEGIES: dict[str, StrategySpec] = {
    "none": StrategySpec("baseline", "No correction: the model on the data as it is"),
    "class_weight": StrategySpec("weighting", "Positive class weighted by n_negative/n_positive of the training fold"),
    "random_over": StrategySpec("resampling", "Random over-sampling: positives duplicated at random", _random_over),
    "random_under": StrategySpec("resampling", "Random under-sampling: negatives dropped at random", _random_under),
    "smote": StrategySpec(
        "resampling", "SMOTE: synthetic positives between positive neighbours (SMOTE-NC with discrete columns)", _smote
    ),
    "borderline_smote": StrategySpec(
        "resampling", "Borderline-SMOTE: synthetic positives near the class boundary only", _borderline_smote
    ),
    "adasyn": StrategySpec("resampling", "ADASYN: more synthetic positives where positives are hard to learn", _adasyn),
    "smote_tomek": StrategySpec(
        "resampling", "SMOTE, then Tomek links removed to clean the class boundary", _smote_tomek
    ),
    "smote_enn": StrategySpec("resampling", "SMOTE, then edited nearest neighbours removes noisy rows", _smote_enn),
    "balanced_random_forest": StrategySpec(
        "ensemble", "Balanced random forest: each tree grown on a class-balanced bootstrap", uses_model=False
    ),
    "easy_ensemble": StrategySpec(
        "ensemble", "EasyEnsemble: AdaBoost members on balanced random under-samples", uses_model=False
    ),
    "threshold_moving": StrategySpec(
        "threshold", "The unchanged model with its decision threshold tuned on out-of-fold scores"
    ),
}


#: Resampling strategies without a variant for discrete columns: they interpolate them.
INTERPOLATE_DISCRETE = ("borderline_smote", "adasyn")


#: Strategies whose SMOTE runs as SMOTE-NC with categorical columns (:func:`for_discrete_columns`).
SMOTE_NC = ("smote", "smote_tomek", "smote_enn")


def describe_strategies() -> pd.DataFrame:
    """The registry as a table: index ``strategy``, columns ``kind`` and ``description``."""
    return pd.DataFrame(
        [{"strategy": n, "kind": s.kind, "description": s.description} for n, s in STRATEGIES.items()]
    ).set_index("strategy")


def check_options(strategy: str, sampling_strategy: Any, k_neighbors: Any) -> None:
    """Raise a one-line :class:`~imbalance_lab.errors.StrategyError` for an invalid
    ``k_neighbors`` or ``sampling_strategy``."""
    if isinstance(k_neighbors, bool) or not isinstance(k_neighbors, (int, np.integer)) or k_neighbors < 1:
        raise StrategyError(
            f"strategy {strategy!r}: k_neighbors={k_neighbors!r} is not a positive integer; "
            "set imbalance.k_neighbors to an integer >= 1 (default 5)"
        )
    if isinstance(sampling_strategy, str):
        if sampling_strategy not in SAMPLING_STRATEGY_NAMES:
            raise StrategyError(
                f"strategy {strategy!r}: sampling_strategy={sampling_strategy!r} is unknown; set "
                f"imbalance.sampling_strategy to a float in (0, 1] or one of {list(SAMPLING_STRATEGY_NAMES)}"
            )
    elif isinstance(sampling_strategy, bool) or not isinstance(sampling_strategy, Real):
        raise StrategyError(
            f"strategy {strategy!r}: sampling_strategy={sampling_strategy!r} is neither a float nor a name; "
            "set imbalance.sampling_strategy to a float in (0, 1] or 'auto'"
        )
    elif not 0 < float(sampling_strategy) <= 1:
        raise StrategyError(
            f"strategy {strategy!r}: sampling_strategy={sampling_strategy} is not in (0, 1]; set "
            "imbalance.sampling_strategy to a minority/majority ratio in (0, 1] or to 'auto'"
        )


def sampled_prevalence(strategy: str, y_train: Sequence[int], sampling_strategy: float | str = "auto") -> float:
    """The nominal positive share a strategy trains the model at.

    ``none`` and ``threshold_moving`` keep the prevalence of ``y_train``. ``class_weight``
    (balanced weights) and string ``sampling_strategy`` values ("auto" etc.) balance the
    classes: 0.5. A float ratio ``r`` (minority/majority) gives ``r/(1+r)`` for the minority
    class. The cleaning steps of ``smote_tomek`` and ``smote_enn`` remove a few more rows, so
    the real value differs slightly from the nominal one.

    Parameters
    ----------
    strategy : str
        A key of :data:`STRATEGIES`.
    y_train : array-like
        The 0/1 target of the training data.
    sampling_strategy : float or str
        As given to :func:`make_strategy_pipeline`.

    Returns
    -------
    float
    """
    if strategy not in STRATEGIES:
        raise StrategyError(f"unknown imbalance strategy {strategy!r}; registered: {', '.join(STRATEGIES)}")
    y = np.asarray(y_train).astype(int)
    pi = float(y.mean())
    if strategy in ("none", "threshold_moving"):
        return pi
    if strategy == "class_weight" or isinstance(sampling_strategy, str):
        return 0.5
    r = float(sampling_strategy)
    minority_share = r / (1 + r)
    return minority_share if pi <= 0.5 else 1 - minority_share


def prior_correction(y_score: Sequence[float], *, train_prevalence: float, sampled_prevalence: float) -> np.ndarray:
    """Map probabilities of a model trained at one prevalence back to the original prevalence.

    With ``pi`` the original (training-fold) prevalence and ``pi_s`` the prevalence the model
    was trained at (after resampling or balanced weights),
    ``p' = p*r1 / (p*r1 + (1-p)*r0)`` where ``r1 = pi/pi_s`` and ``r0 = (1-pi)/(1-pi_s)``
    (Bayes' rule with the changed class priors; Saerens et al., 2002). Ranking metrics are
    unchanged; calibration and probability thresholds are restored.

    Parameters
    ----------
    y_score : array-like
        Predicted positive-class probabilities.
    train_prevalence : float
        The real positive share ``pi``, in (0, 1).
    sampled_prevalence : float
        The positive share the model was fitted at ``pi_s``, in (0, 1) (see
        :func:`sampled_prevalence`).

    Returns
    -------
    ndarray
        Corrected probabilities.
    """
    for name, value in (("train_prevalence", train_prevalence), ("sampled_prevalence", sampled_prevalence)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be in (0, 1), got {value}")
    p = np.asarray(y_score, dtype=float)
    r1 = train_prevalence / sampled_prevalence
    r0 = (1 - train_prevalence) / (1 - sampled_prevalence)
    num = p * r1
    return num / (num + (1 - p) * r0)
