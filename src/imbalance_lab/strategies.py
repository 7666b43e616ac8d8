"""The registry of ways to handle class imbalance, built on imbalanced-learn.

A *strategy* is combined with a registered model (see :mod:`imbalance_lab.models`) into one
unfitted imbalanced-learn ``Pipeline`` by :func:`make_strategy_pipeline`. Every resampler sits
between the preprocessing and the model, so it runs on the preprocessed *training fold only*:
imbalanced-learn skips samplers at predict time, so no synthetic or duplicated row ever reaches
a validation fold or the test set.

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

A sampler that cannot run on a training fold (too few positives for ``k_neighbors``, a float
``sampling_strategy`` below the fold's minority/majority ratio) raises :class:`StrategyError`
with one line naming the strategy, the params key and the fix.

Resampling and class weights change the prior the model learns, so its probabilities are no
longer calibrated to the real prevalence; :func:`prior_correction` maps them back and
:func:`expected_calibration_error` measures the damage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import ADASYN, SMOTE, SMOTEN, SMOTENC, BorderlineSMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from . import evaluation
from .errors import ImbalanceLabError, StrategyError
from .features import make_preprocessor
from .models import MODELS, make_pipeline

log = logging.getLogger(__name__)

KINDS = ("baseline", "weighting", "resampling", "ensemble", "threshold")

#: Simplicity order used by :func:`choose_strategy` (simplest first).
SIMPLICITY = (
    "none", "threshold_moving", "class_weight", "random_under", "random_over", "smote",
    "borderline_smote", "adasyn", "smote_tomek", "smote_enn", "balanced_random_forest", "easy_ensemble",
)

#: String values of ``sampling_strategy`` accepted: "auto" balances the two classes. With two
#: classes imbalanced-learn's other names ("minority", "not majority", ...) either mean the same or
#: make one kind of sampler do nothing (an under-sampler told to resample the minority).
SAMPLING_STRATEGY_NAMES = ("auto",)

#: Trees of the balanced random forest and members of EasyEnsemble.
BRF_N_ESTIMATORS = 300
BRF_MIN_SAMPLES_LEAF = 2
EASY_ENSEMBLE_N_ESTIMATORS = 10




# --------------------------------------------------------------------------------------------
# Wrappers (module level, so pipelines pickle into joblib worker processes)
# --------------------------------------------------------------------------------------------


def _neighbours_of(sampler: Any) -> int | None:
    """The number of minority neighbours a SMOTE-like sampler needs, ``None`` if it needs none."""
    if isinstance(sampler, (SMOTETomek, SMOTEENN)):
        sampler = sampler.smote
    if isinstance(sampler, ADASYN):
        value = sampler.n_neighbors
    else:
        value = getattr(sampler, "k_neighbors", None)
    return int(value) if isinstance(value, (int, np.integer)) else None


def _class_counts(y: Any) -> tuple[Any, int, Any, int]:
    """(minority label, its count, majority label, its count) of a binary target."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    if len(labels) != 2:
        return None, 0, None, 0
    i_min = int(np.argmin(counts)) if counts[0] != counts[1] else 1
    return labels[i_min], int(counts[i_min]), labels[1 - i_min], int(counts[1 - i_min])


def _rows_name(label: Any) -> str:
    return "positive" if label == 1 else f"minority-class ({label!r})"


def check_sampling_strategy(strategy: str, y: Any, *, sampling_strategy: Any, sampling_type: str) -> None:
    """Raise :class:`StrategyError` when a float ``sampling_strategy`` cannot be reached.

    Parameters
    ----------
    strategy : str
        Strategy name, for the message.
    y : array-like
        The training fold's target.
    sampling_strategy : float or str
        The requested minority/majority ratio after resampling (strings are not checked).
    sampling_type : {"over-sampling", "under-sampling"}
        Over-sampling must add at least one minority row; under-sampling must not need more
        majority rows than there are (the same arithmetic as imbalanced-learn).
    """
    if isinstance(sampling_strategy, bool) or not isinstance(sampling_strategy, Real):
        return
    r = float(sampling_strategy)
    if not 0 < r <= 1:
        raise StrategyError(
            f"strategy {strategy!r}: sampling_strategy={sampling_strategy} is not in (0, 1]; set "
            "imbalance.sampling_strategy to a minority/majority ratio in (0, 1] or to 'auto'"
        )
    label, n_min, _, n_maj = _class_counts(y)
    if label is None or n_maj == 0:
        return
    if sampling_type == "over-sampling":
        impossible = int(n_maj * r - n_min) <= 0
    elif sampling_type == "under-sampling":
        impossible = int(n_min / r) > n_maj
    else:
        return
    if impossible:
        natural = n_min / n_maj
        raise StrategyError(
            f"strategy {strategy!r}: sampling_strategy={r:g} is not above the minority/majority ratio "
            f"{natural:.4g} ({n_min}/{n_maj}) of a training fold, so there is nothing to resample; "
            f"raise imbalance.sampling_strategy above {natural:.4g} or use 'auto'"
        )


class CheckedSampler(BaseEstimator):
    """An imbalanced-learn sampler whose failures become one-line :class:`StrategyError` s.

    Before resampling, it checks that a SMOTE-like sampler has more minority rows than
    ``k_neighbors`` and that a float ``sampling_strategy`` is reachable; any ``ValueError`` or
    ``RuntimeError`` left from imbalanced-learn is re-raised as a :class:`StrategyError` naming
    the strategy.

    Nothing fitted is kept: a fitted sampler's nearest-neighbour index holds the training rows,
    which would be saved with the model.

    Parameters
    ----------
    sampler : imblearn sampler
        The wrapped sampler (cloned at each ``fit_resample``).
    strategy : str
        The strategy name used in messages.
    n_continuous : int or None
        How many leading columns of the rows to resample are continuous; the others are
        discrete (missing-value indicators, categorical codes or one-hot columns), and a plain
        SMOTE (also inside SMOTETomek or SMOTEENN) then runs as SMOTE-NC with those columns as
        categorical features (:func:`for_discrete_columns`). None: every column is continuous.
    """

    def __init__(self, sampler: Any = None, *, strategy: str = "", n_continuous: int | None = None) -> None:
        self.sampler = sampler
        self.strategy = strategy
        self.n_continuous = n_continuous

    def _check(self, y: Any) -> None:
        name = self.strategy or type(self.sampler).__name__
        label, n_min, _, n_maj = _class_counts(y)
        if label is None or n_min == 0:
            raise StrategyError(
                f"strategy {name!r}: a training fold holds only one class; resampling needs both "
                "classes in every fold: lower prepare.n_splits or add positive rows"
            )
        k = _neighbours_of(self.sampler)
        if k is not None and n_min <= k:
            raise StrategyError(
                f"strategy {name!r}: k_neighbors={k} needs at least {k + 1} {_rows_name(label)} rows in "
                f"each training fold, found {n_min}; lower imbalance.k_neighbors or use random_over"
            )
        inner = self.sampler.smote if isinstance(self.sampler, (SMOTETomek, SMOTEENN)) else self.sampler
        check_sampling_strategy(
            name, y, sampling_strategy=getattr(inner, "sampling_strategy", "auto"),
            sampling_type=getattr(inner, "_sampling_type", ""),
        )

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Validate, then resample ``X, y`` with a clone of the sampler.

        Returns
        -------
        (X_resampled, y_resampled)
        """
        self._check(y)
        name = self.strategy or type(self.sampler).__name__
        sampler = clone(self.sampler)
        n_features = np.shape(X)[1]
        if self.n_continuous is not None and n_features > self.n_continuous:
            sampler = for_discrete_columns(sampler, list(range(self.n_continuous, n_features)))
        try:  # the fitted sampler is not kept (see the class docstring)
            return sampler.fit_resample(X, y, **params)
        except (ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if "ratio" in first or "sampling_strategy" in first:
                fix = "change imbalance.sampling_strategy (e.g. 'auto')"
            else:
                fix = "change imbalance.k_neighbors or imbalance.sampling_strategy, or use random_over"
            raise StrategyError(f"strategy {name!r}: the sampler failed on a training fold ({first}); {fix}") from None

    def fit(self, X: Any, y: Any, **params: Any) -> "CheckedSampler":
        """Resample once (for API completeness); returns ``self``."""
        self.fit_resample(X, y, **params)
        return self


def for_discrete_columns(sampler: Any, discrete: list[int]) -> Any:
    """The sampler with its plain SMOTE (itself, or the ``smote`` of a SMOTETomek or SMOTEENN)
    replaced by SMOTE-NC treating the ``discrete`` columns as categorical, with the same
    ``sampling_strategy``, ``k_neighbors`` and ``random_state``; by SMOTE-N when every column
    is discrete. Other samplers are returned as they are.

    Parameters
    ----------
    sampler : imblearn sampler
        Unfitted; changed in place when it holds a SMOTE.
    discrete : list of int
        Indices of the discrete columns (not empty).
    """

    def replace(smote: Any) -> Any:
        if type(smote) is not SMOTE:
            return smote
        options = dict(sampling_strategy=smote.sampling_strategy, random_state=smote.random_state,
                       k_neighbors=smote.k_neighbors)
        if discrete[0] == 0:
            return SMOTEN(**options)
        return SMOTENC(categorical_features=discrete, **options)

    if isinstance(sampler, (SMOTETomek, SMOTEENN)):
        return sampler.set_params(smote=replace(sampler.smote))
    return replace(sampler)


class CheckedBalancedRandomForestClassifier(BalancedRandomForestClassifier):
    """:class:`~imblearn.ensemble.BalancedRandomForestClassifier` with a one-line error for an
    unreachable float ``sampling_strategy`` (it under-samples the majority class per tree)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "CheckedBalancedRandomForestClassifier":
        check_sampling_strategy("balanced_random_forest", y, sampling_strategy=self.sampling_strategy,
                                sampling_type="under-sampling")
        return super().fit(X, y, sample_weight=sample_weight)


class CheckedEasyEnsembleClassifier(EasyEnsembleClassifier):
    """:class:`~imblearn.ensemble.EasyEnsembleClassifier` with a one-line error for an
    unreachable float ``sampling_strategy`` (it under-samples the majority class per member)."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> "CheckedEasyEnsembleClassifier":
        check_sampling_strategy("easy_ensemble", y, sampling_strategy=self.sampling_strategy,
                                sampling_type="under-sampling")
        return super().fit(X, y, **fit_params)


class FoldPositiveWeight(ClassifierMixin, BaseEstimator):
    """Set an estimator's positive-class weight from the labels it is fitted on.

    For estimators such as xgboost whose weight is a number (``scale_pos_weight``) rather
    than ``"balanced"``: at each ``fit`` the weight is ``n_negative / n_positive`` of the ``y``
    passed, i.e. of the training fold, never of the whole data.

    Parameters
    ----------
    estimator : classifier
        The unfitted estimator (cloned at fit).
    param : str
        Its weight parameter.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone, with ``param`` set.
    weight_ : float
        The weight used.
    classes_ : ndarray
        The classes seen at fit.
    """

    def __init__(self, estimator: Any = None, *, param: str = "scale_pos_weight") -> None:
        self.estimator = estimator
        self.param = param

    def fit(self, X: Any, y: Any, **fit_params: Any) -> "FoldPositiveWeight":
        """Compute the weight from ``y`` and fit a clone of the estimator."""
        y_arr = np.asarray(y)
        n_pos = int(np.sum(y_arr == 1))
        n_neg = int(len(y_arr) - n_pos)
        if n_pos == 0:
            raise StrategyError(
                "strategy 'class_weight': a training fold has no positive rows, so the positive weight "
                "is undefined; lower prepare.n_splits or add positive rows"
            )
        self.weight_ = n_neg / n_pos
        self.estimator_ = clone(self.estimator).set_params(**{self.param: self.weight_})
        self.estimator_.fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = getattr(self.estimator_, "n_features_in_", np.shape(X)[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the fitted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """Class predictions of the fitted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    @property
    def feature_importances_(self) -> np.ndarray:
        """The fitted estimator's feature importances."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


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


def _smote(*, seed: int, sampling_strategy: Any, k_neighbors: int) -> SMOTE:
    return SMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=seed)


STRATEGIES: dict[str, StrategySpec] = {
    "none": StrategySpec("baseline", "No correction: the model on the data as it is"),
    "class_weight": StrategySpec(
        "weighting", "Positive class weighted by n_negative/n_positive of the training fold"),
    "random_over": StrategySpec(
        "resampling", "Random over-sampling: positives duplicated at random",
        lambda *, seed, sampling_strategy, k_neighbors: RandomOverSampler(
            sampling_strategy=sampling_strategy, random_state=seed)),
    "random_under": StrategySpec(
        "resampling", "Random under-sampling: negatives dropped at random",
        lambda *, seed, sampling_strategy, k_neighbors: RandomUnderSampler(
            sampling_strategy=sampling_strategy, random_state=seed)),
    "smote": StrategySpec(
        "resampling", "SMOTE: synthetic positives between positive neighbours (SMOTE-NC with discrete columns)", _smote),
    "borderline_smote": StrategySpec(
        "resampling", "Borderline-SMOTE: synthetic positives near the class boundary only",
        lambda *, seed, sampling_strategy, k_neighbors: BorderlineSMOTE(
            sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=seed)),
    "adasyn": StrategySpec(
        "resampling", "ADASYN: more synthetic positives where positives are hard to learn",
        lambda *, seed, sampling_strategy, k_neighbors: ADASYN(
            sampling_strategy=sampling_strategy, n_neighbors=k_neighbors, random_state=seed)),
    "smote_tomek": StrategySpec(
        "resampling", "SMOTE, then Tomek links removed to clean the class boundary",
        lambda *, seed, sampling_strategy, k_neighbors: SMOTETomek(
            sampling_strategy=sampling_strategy, random_state=seed,
            smote=_smote(seed=seed, sampling_strategy=sampling_strategy, k_neighbors=k_neighbors))),
    "smote_enn": StrategySpec(
        "resampling", "SMOTE, then edited nearest neighbours removes noisy rows",
        lambda *, seed, sampling_strategy, k_neighbors: SMOTEENN(
            sampling_strategy=sampling_strategy, random_state=seed,
            smote=_smote(seed=seed, sampling_strategy=sampling_strategy, k_neighbors=k_neighbors))),
    "balanced_random_forest": StrategySpec(
        "ensemble", "Balanced random forest: each tree grown on a class-balanced bootstrap", uses_model=False),
    "easy_ensemble": StrategySpec(
        "ensemble", "EasyEnsemble: AdaBoost members on balanced random under-samples", uses_model=False),
    "threshold_moving": StrategySpec(
        "threshold", "The unchanged model with its decision threshold tuned on out-of-fold scores"),
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


def _check_options(strategy: str, sampling_strategy: Any, k_neighbors: Any) -> None:
    if isinstance(k_neighbors, bool) or not isinstance(k_neighbors, (int, np.integer)) or k_neighbors < 1:
        raise StrategyError(f"strategy {strategy!r}: k_neighbors={k_neighbors!r} is not a positive integer; "
                            "set imbalance.k_neighbors to an integer >= 1 (default 5)")
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


def make_strategy_pipeline(
    strategy: str,
    model: str,
    schema: dict[str, Any],
    *,
    seed: int,
    model_params: dict[str, Any] | None = None,
    sampling_strategy: float | str = "auto",
    k_neighbors: int = 5,
    n_jobs: int = 1,
) -> Pipeline:
    """An unfitted pipeline of preprocessing, the imbalance strategy and the model.

    Parameters
    ----------
    strategy : str
        A key of :data:`STRATEGIES`.
    model : str
        A key of :data:`imbalance_lab.models.MODELS`. Ignored by the ensemble strategies
        (``balanced_random_forest``, ``easy_ensemble``), which bring their own estimator; the
        caller should show that (see ``STRATEGIES[name].uses_model``).
    schema : dict
        The prepared data's schema.
    seed : int
        Random state of the sampler and the estimator.
    model_params : dict, optional
        Hyperparameter overrides of the model (ignored by the ensembles).
    sampling_strategy : float or str
        Minority/majority ratio after resampling (float in (0, 1]) or "auto" (balance the
        classes). Used by the resampling and ensemble strategies. For
        ``balanced_random_forest``, "auto" means "all" (every tree on a balanced bootstrap of both
        classes, as imbalanced-learn recommends for the original algorithm).
    k_neighbors : int
        Neighbours of the SMOTE variants (``n_neighbors`` of ADASYN).
    n_jobs : int
        Threads of estimators that support them.

    Returns
    -------
    imblearn.pipeline.Pipeline
        Steps ``preprocess``, ``sample`` (resampling strategies only) and ``model``.

        - ``none`` and ``threshold_moving``: :func:`imbalance_lab.models.make_pipeline`
          unchanged. Threshold moving differs only in how the decision threshold is chosen,
          which the caller does on out-of-fold scores (cross-validation already tunes it per
          fold with :func:`imbalance_lab.evaluation.choose_threshold`).
        - ``class_weight``: the model with ``class_weight="balanced"`` (scikit-learn), or wrapped
          in :class:`FoldPositiveWeight` for a numeric weight such as xgboost's
          ``scale_pos_weight`` (then the model's own parameters are under ``model__estimator__``).
        - resampling: a :class:`CheckedSampler` as the ``sample`` step.
        - ensembles: ordinal-encoding tree preprocessing and the imbalanced-learn ensemble.

    Raises
    ------
    StrategyError
        Unknown strategy, a model without a class-weight parameter for ``class_weight``, a
        class-weight parameter also set in ``model_params``, or invalid options.
    """
    if strategy not in STRATEGIES:
        raise StrategyError(f"unknown imbalance strategy {strategy!r}; registered: {', '.join(STRATEGIES)}")
    if model not in MODELS:
        raise StrategyError(f"strategy {strategy!r}: unknown model {model!r}; registered: {', '.join(MODELS)}")
    spec = STRATEGIES[strategy]
    params = dict(model_params or {})
    _check_options(strategy, sampling_strategy, k_neighbors)

    if strategy in ("none", "threshold_moving"):
        return make_pipeline(model, schema, seed=seed, params=params, n_jobs=n_jobs)

    if strategy == "class_weight":
        param = MODELS[model].class_weight_param
        if param is None:
            raise StrategyError(
                f"strategy 'class_weight': model {model!r} has no class-weight parameter; "
                "use another model or another strategy (e.g. random_over)"
            )
        if param in params:
            raise StrategyError(
                f"strategy 'class_weight': model_params of {model!r} set {param}, which this strategy "
                f"computes from each training fold; remove {param} from the model's params"
            )
        if param == "class_weight":
            return make_pipeline(model, schema, seed=seed, params={**params, param: "balanced"}, n_jobs=n_jobs)
        pipe = make_pipeline(model, schema, seed=seed, params=params, n_jobs=n_jobs)
        name, estimator = pipe.steps[-1]
        pipe.steps[-1] = (name, FoldPositiveWeight(estimator, param=param))
        return pipe

    if spec.sampler is not None:
        sampler = spec.sampler(seed=seed, sampling_strategy=sampling_strategy, k_neighbors=int(k_neighbors))
        if strategy in INTERPOLATE_DISCRETE and schema["categorical"]:
            log.warning("strategy %r interpolates the encoded categorical columns (%s) like numbers: imbalanced-learn "
                        "has no categorical variant of it (smote, smote_tomek and smote_enn use SMOTE-NC)",
                        strategy, ", ".join(schema["categorical"]))
        # SMOTE-NC samples categories, not dummy columns: codes before it, one-hot after it
        return make_pipeline(model, schema, seed=seed, params=params, n_jobs=n_jobs,
                             sampler=CheckedSampler(sampler, strategy=strategy, n_continuous=len(schema["numeric"])),
                             sampler_sees_codes=strategy in SMOTE_NC)

    log.info("strategy %r brings its own estimator: model %r and its params are not used", strategy, model)
    if strategy == "balanced_random_forest":
        estimator: BaseEstimator = CheckedBalancedRandomForestClassifier(
            n_estimators=BRF_N_ESTIMATORS, min_samples_leaf=BRF_MIN_SAMPLES_LEAF,
            sampling_strategy="all" if sampling_strategy == "auto" else sampling_strategy,
            replacement=True, bootstrap=False, random_state=seed, n_jobs=n_jobs,
        )
    elif strategy == "easy_ensemble":
        estimator = CheckedEasyEnsembleClassifier(
            n_estimators=EASY_ENSEMBLE_N_ESTIMATORS, sampling_strategy=sampling_strategy,
            random_state=seed, n_jobs=n_jobs,
        )
    else:  # pragma: no cover - a registry entry without a builder
        raise StrategyError(f"strategy {strategy!r} has no builder; add one to make_strategy_pipeline")
    return Pipeline([("preprocess", make_preprocessor(schema, encoding="ordinal", scale=False)), ("model", estimator)])


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------


def expected_calibration_error(y_true: Sequence[int], y_score: Sequence[float], *, n_bins: int = 10) -> float:
    """Expected calibration error of predicted positive-class probabilities.

    The scores are put in ``n_bins`` equal-width bins of [0, 1] (the last bin includes 1.0);
    the ECE is the mean over bins, weighted by the share of rows in each bin, of
    ``|observed positive rate - mean predicted probability|``.

    Parameters
    ----------
    y_true : array-like
        0/1 labels.
    y_score : array-like
        Predicted probabilities of the positive class, in [0, 1].
    n_bins : int
        Number of bins.

    Returns
    -------
    float
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_score, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("y_true and y_score must be non-empty 1-d arrays of the same length")
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError("y_score must be probabilities in [0, 1]")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    sum_y = np.bincount(bins, weights=y, minlength=n_bins)
    sum_p = np.bincount(bins, weights=p, minlength=n_bins)
    used = counts > 0
    gaps = np.abs(sum_y[used] - sum_p[used]) / counts[used]
    return float(np.sum(counts[used] * gaps) / len(y))


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


def prior_shift_note(strategy: str, y_train: Sequence[int], sampling_strategy: float | str = "auto") -> str | None:
    """A model card limitation for a strategy that trains the model at another prevalence than
    the data's (its scores then overstate or understate the probability of a positive), or None.

    Parameters
    ----------
    strategy : str
        A key of :data:`STRATEGIES`.
    y_train : array-like
        The 0/1 target the final model was trained on.
    sampling_strategy : float or str
        As given to :func:`make_strategy_pipeline`.
    """
    prevalence = float(np.mean(np.asarray(y_train).astype(int)))
    sampled = sampled_prevalence(strategy, y_train, sampling_strategy)
    if abs(sampled - prevalence) <= 1e-9:
        return None
    direction = "overstate" if sampled > prevalence else "understate"
    return (f"The model was trained with `{strategy}` at a positive share of {sampled:.3g} (the data's is "
            f"{prevalence:.3g}), so its scores {direction} the probability of a positive: they rank cases and fit "
            "the threshold, but as probabilities they need "
            f"`imbalance_lab.strategies.prior_correction(score, train_prevalence={prevalence:.6g}, "
            f"sampled_prevalence={sampled:.6g})`.")


# --------------------------------------------------------------------------------------------
# Ratio sweep and selection
# --------------------------------------------------------------------------------------------


def ratio_grid(natural_ratio: float, *, n: int = 5) -> list[float]:
    """Increasing ``sampling_strategy`` ratios for a sweep, from above the natural ratio to 1.0.

    The ``n`` values are evenly spaced on a log scale between ``natural_ratio`` (excluded) and
    1.0 (included), so the first one is clearly above the natural minority/majority ratio and
    stays reachable in every training fold, whose ratio varies a little around it.

    Parameters
    ----------
    natural_ratio : float
        The data's minority/majority ratio, in (0, 1).
    n : int
        Number of values.

    Returns
    -------
    list of float
    """
    if not 0 < natural_ratio < 1:
        raise ValueError(f"natural_ratio must be in (0, 1) (minority/majority), got {natural_ratio}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    grid = np.geomspace(natural_ratio, 1.0, n + 1)[1:]
    grid[-1] = 1.0
    return [float(v) for v in grid]


def ratio_sweep(
    strategy: str,
    model: str,
    schema: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    grid: Sequence[float],
    seed: int,
    model_params: dict[str, Any] | None = None,
    sampling_strategy: float | str = "auto",
    k_neighbors: int = 5,
    compared: pd.DataFrame | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Fold scores of a resampling strategy at each ``sampling_strategy`` ratio of ``grid``, as
    the strategy comparison scores them (:func:`primary_scores`: threshold metrics at 0.5 and,
    in the ``_tuned`` columns the comparison chooses by (:func:`selection_column`), at the tuned
    threshold), so that the sweep's points and the comparison's baseline are on the same footing.

    A ratio equal to the one the strategy comparison used (``sampling_strategy``; "auto"
    balances the two classes, i.e. 1.0) is not fitted again: its rows are taken from
    ``compared`` (the comparison's fold scores, with a ``model`` column), which hold exactly what
    refitting would give (same pipeline, same folds, same seed). On large data that saves one
    resampled fit per fold.

    Parameters
    ----------
    strategy, model, schema, seed, model_params, k_neighbors
        As for :func:`make_strategy_pipeline`.
    X, y, folds
        The training rows and the stored folds.
    grid : sequence of float
        The ratios (see :func:`ratio_grid`).
    sampling_strategy : float or str
        What the comparison used.
    compared : DataFrame, optional
        The comparison's fold scores as judged (:func:`primary_scores` of its
        ``cross_validate_models`` result).
    n_jobs : int
        Folds fitted in parallel.

    Returns
    -------
    DataFrame
        The fold scores, ``model`` holding the ratio as ``f"{ratio:.6g}"``, in grid order.

    Raises
    ------
    StrategyError
        ``strategy`` is not a resampling strategy (the others ignore ``sampling_strategy``).
    """
    if strategy not in STRATEGIES or STRATEGIES[strategy].kind != "resampling":
        raise StrategyError(f"ratio_sweep: {strategy!r} is not a resampling strategy; sweep one of "
                            f"{', '.join(n for n, s in STRATEGIES.items() if s.kind == 'resampling')}")
    # "auto" balances the two classes (1.0); other names are refitted, never assumed equal to a ratio
    used = 1.0 if sampling_strategy == "auto" else (float(sampling_strategy) if isinstance(sampling_strategy, Real) else None)
    known = compared[compared["model"] == strategy] if compared is not None else pd.DataFrame()
    label = {r: f"{r:.6g}" for r in grid}
    if len(set(label.values())) < len(grid):
        raise ValueError(f"ratio_sweep: the grid has ratios equal to 6 significant digits: {list(grid)}")
    to_fit = {label[r]: make_strategy_pipeline(strategy, model, schema, seed=seed, model_params=model_params,
                                               sampling_strategy=r, k_neighbors=k_neighbors)
              for r in grid if not (len(known) and used is not None and abs(r - used) < 1e-12)}
    fitted = None
    if to_fit:
        cv = evaluation.cross_validate_models(to_fit, X, y, folds, n_jobs=n_jobs)
        fitted = primary_scores(cv.scores, evaluation.scores_at_threshold(cv.oof, threshold=0.5))
    parts = [fitted[fitted["model"] == label[r]] if label[r] in to_fit else known.assign(model=label[r]) for r in grid]
    return pd.concat(parts, ignore_index=True)


def choose_strategy(comparison_table: pd.DataFrame, summary: pd.DataFrame, *, metric: str, alpha: float) -> str:
    """The simplest strategy that is not significantly worse than the best.

    The best strategy is the one with the best mean of ``metric`` in ``summary``
    (:func:`imbalance_lab.evaluation.best_model`). A strategy is significantly worse when its
    corrected resampled t-test against the best, after Holm's adjustment, has ``p_holm <
    alpha`` and a negative difference. Among the best and the strategies not significantly
    worse, the simplest in :data:`SIMPLICITY` wins (none < threshold_moving < class_weight <
    random_under < random_over < smote < borderline_smote < adasyn < smote_tomek < smote_enn <
    balanced_random_forest < easy_ensemble): a more complex strategy has to earn its place by a
    significant gain.

    Parameters
    ----------
    comparison_table : DataFrame
        :func:`imbalance_lab.evaluation.compare_with` of the strategies' fold scores with
        ``reference`` = the best strategy (index: strategy; ``difference``, ``p_holm``).
    summary : DataFrame
        :func:`imbalance_lab.evaluation.summarize` of the same scores (index: strategy).
    metric : str
        The selection metric.
    alpha : float
        Significance level.

    Returns
    -------
    str
    """
    names = [str(m) for m in summary.index]
    unknown = [m for m in names if m not in SIMPLICITY]
    if unknown:
        raise ValueError(f"choose_strategy: {unknown} are not registered strategies; index the summary by strategy name")
    best = evaluation.best_model(summary, metric=metric)
    if best in comparison_table.index:
        raise ValueError(f"choose_strategy: the comparison must be against the best strategy {best!r} "
                         "(evaluation.compare_with(..., reference=best))")
    missing = [m for m in names if m != best and m not in comparison_table.index]
    if missing:
        raise ValueError(f"choose_strategy: strategies {missing} are missing from the comparison table")
    table = comparison_table.loc[[m for m in names if m != best]]
    worse = (table["p_holm"] < alpha) & (table["difference"] < 0)
    candidates = [best] + [m for m in table.index[~worse]]
    chosen = min(candidates, key=SIMPLICITY.index)
    log.info("best strategy on %s: %s; not significantly worse (alpha=%g, Holm): %s; chosen (simplest): %s",
             metric, best, alpha, ", ".join(candidates[1:]) or "none", chosen)
    return chosen


# --------------------------------------------------------------------------------------------
# Comparing strategies
# --------------------------------------------------------------------------------------------

THRESHOLD_METRICS = ("precision", "recall", "f1", "balanced_accuracy", "mcc", "geometric_mean")
#: The columns of :func:`primary_scores` the imbalance stage summarises and can select by.
SUMMARY_METRICS = ("average_precision", "roc_auc", "brier", "log_loss", "balanced_accuracy", "geometric_mean", "mcc",
                   "precision", "recall", "f1", "f1_at_half", "f1_tuned")


def selection_column(metric: str) -> str:
    """The column of :func:`primary_scores` that strategies are compared and chosen by on
    ``metric``: a threshold metric at the threshold tuned on the other folds' predictions
    (``<metric>_tuned``) for every strategy, since the evaluate stage deploys each strategy with
    a tuned threshold; a threshold-free metric as it is.

    Judged at 0.5, as :func:`primary_scores`' ``<metric>`` column judges all but
    ``threshold_moving``, a strategy that only moves the 0.5 cut towards a tuned one (most
    resamplers do) looks better than it does once deployed: on MCC, ``easy_ensemble`` was chosen
    at 0.5 and scored below ``none`` at the tuned threshold it is deployed with.
    """
    return f"{metric}_tuned" if metric in THRESHOLD_METRICS else metric


def primary_scores(tuned: pd.DataFrame, at_half: pd.DataFrame) -> pd.DataFrame:
    """The fold scores each strategy is judged by.

    Threshold-free metrics come from ``tuned`` (they do not depend on a threshold). Threshold
    metrics are taken at 0.5 (``at_half``) for every strategy except ``threshold_moving``,
    whose whole point is the threshold tuned on the other folds' predictions (``tuned``).

    Parameters
    ----------
    tuned : DataFrame
        :attr:`evaluation.CVResult.scores` (cross-fitted F1 threshold), with a ``model`` column
        holding strategy names.
    at_half : DataFrame
        :func:`evaluation.scores_at_threshold` at 0.5 for the same strategies and folds.
    """
    keys = ["model", "repeat", "fold"]
    merged = tuned.merge(at_half, on=keys, suffixes=("_tuned", "_at_half"), validate="one_to_one")
    out = merged[keys + [c for c in tuned.columns if c not in keys and c not in THRESHOLD_METRICS and c != "threshold"]].copy()
    moving = merged["model"] == "threshold_moving"
    for m in THRESHOLD_METRICS:
        out[m] = np.where(moving, merged[f"{m}_tuned"], merged[f"{m}_at_half"])
        out[f"{m}_at_half"] = merged[f"{m}_at_half"]
        out[f"{m}_tuned"] = merged[f"{m}_tuned"]
    return out


def verdict_sentences(comparison: pd.DataFrame, *, baseline: str, metric: str, alpha: float) -> list[str]:
    """Plain-language statements of a :func:`evaluation.compare_with` table against the baseline."""
    groups = {v: list(comparison.index[comparison["verdict"] == v]) for v in ("better", "worse", "indistinguishable")}
    lines = []
    for verdict, names in groups.items():
        if not names:
            continue
        what = {"better": f"significantly better than `{baseline}`", "worse": f"significantly worse than `{baseline}`",
                "indistinguishable": f"not distinguishable from `{baseline}`"}[verdict]
        detail = ", ".join(f"`{n}` ({comparison.loc[n, 'difference']:+.4f}, p_Holm={comparison.loc[n, 'p_holm']:.3g})" for n in names)
        lines.append(f"On {metric}, {what} at alpha={alpha} (corrected resampled t-test, Holm): {detail}.")
    return lines
