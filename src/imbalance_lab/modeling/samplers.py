"""Samplers and estimators that carry an imbalance strategy into a pipeline.

They are module-level classes, so pipelines pickle into joblib worker processes and skops can
save them (each is in :data:`imbalance_lab.serving.artifact.ALLOWLIST`):

* :class:`CheckedSampler` wraps an imbalanced-learn sampler: a sampler that cannot run on a
  training fold (too few positives for ``k_neighbors``, an unreachable ``sampling_strategy``)
  raises a one-line :class:`~imbalance_lab.errors.StrategyError`, and SMOTE runs as SMOTE-NC when
  some columns are discrete (:func:`for_discrete_columns`,
  :class:`~imbalance_lab.modeling.smotenc.ChunkedSMOTENC`);
* :class:`CheckedBalancedRandomForestClassifier` and :class:`CheckedEasyEnsembleClassifier`: the
  balanced ensembles with the same check;
* :class:`FoldPositiveWeight`: a positive-class weight computed from each training fold;
* :func:`resampled_rows`: how many rows a sampler makes of a fold (for the order of fold fits).
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.ensemble import BalancedRandomForestClassifier, EasyEnsembleClassifier
from imblearn.over_sampling import ADASYN, SMOTE, SMOTEN
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..errors import StrategyError
from .features import FoldRows, as_type
from .smotenc import ChunkedSMOTENC


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
    dtype : str or None
        The type of the resampled rows, for a model that converts its input to it anyway
        (XGBoost and scikit-learn's trees read float32): the sampler computes in the input's
        type, and the model sees the same values, but the resampled fold (twice the training
        fold with SMOTE) takes half the memory. A SMOTE-NC on its own writes this type directly
        (:class:`ChunkedSMOTENC`); other samplers' output is converted. None: the sampler's
        own output.

    The rows to resample may be an array or :class:`~imbalance_lab.modeling.features.FoldRows`
    (a fold transformed as it is read: a SMOTE-NC then copies it into its output without the
    whole transformed fold in memory; other samplers get the array).
    """

    def __init__(
        self, sampler: Any = None, *, strategy: str = "", n_continuous: int | None = None, dtype: str | None = None
    ) -> None:
        self.sampler = sampler
        self.strategy = strategy
        self.n_continuous = n_continuous
        self.dtype = dtype

    def _check(self, y: Any) -> None:
        name = self.strategy or type(self.sampler).__name__
        label, n_min, _, _ = _class_counts(y)
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
            name,
            y,
            sampling_strategy=getattr(inner, "sampling_strategy", "auto"),
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
        if self.dtype is not None and isinstance(sampler, ChunkedSMOTENC):
            sampler.set_params(out_dtype=self.dtype)
        if isinstance(X, FoldRows) and not isinstance(sampler, ChunkedSMOTENC):  # only it reads them as they come
            X = np.asarray(X)
        try:  # the fitted sampler is not kept (see the class docstring)
            X_res, y_res = sampler.fit_resample(X, y, **params)
        except (ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if "ratio" in first or "sampling_strategy" in first:
                fix = "change imbalance.sampling_strategy (e.g. 'auto')"
            else:
                fix = "change imbalance.k_neighbors or imbalance.sampling_strategy, or use random_over"
            raise StrategyError(f"strategy {name!r}: the sampler failed on a training fold ({first}); {fix}") from None
        return as_type(X_res, self.dtype), y_res

    def fit(self, X: Any, y: Any, **params: Any) -> CheckedSampler:
        """Resample once (for API completeness); returns ``self``."""
        self.fit_resample(X, y, **params)
        return self


def resampled_rows(sampler: Any, *, n_minority: int, n_majority: int) -> int:
    """How many rows a sampler turns a binary fold into, as its ``sampling_strategy`` asks: an
    estimate of what the model after it is fitted on (for the order of the fold fits).

    Over-samplers add minority rows, under-samplers keep fewer majority rows, with
    imbalanced-learn's arithmetic; a SMOTE + cleaning combination counts as its SMOTE (the
    cleaning removes a few rows). Other samplers, and strategies other than a float or a string,
    keep the fold's rows.

    Parameters
    ----------
    sampler : CheckedSampler or imblearn sampler
    n_minority, n_majority : int
        The fold's rows of each class.
    """
    inner = sampler.sampler if isinstance(sampler, CheckedSampler) else sampler
    if isinstance(inner, (SMOTETomek, SMOTEENN)):
        inner = inner.smote
    strategy, kind = getattr(inner, "sampling_strategy", None), getattr(inner, "_sampling_type", "")
    n_rows = n_minority + n_majority
    if isinstance(strategy, bool) or not isinstance(strategy, (str, Real)) or n_minority == 0:
        return n_rows
    if kind == "over-sampling":
        target = n_majority if isinstance(strategy, str) else int(n_majority * float(strategy))
        return n_rows + max(target - n_minority, 0)
    if kind == "under-sampling":
        kept = n_minority if isinstance(strategy, str) else int(n_minority / float(strategy))
        return n_minority + min(kept, n_majority)
    return n_rows


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
        options = {
            "sampling_strategy": smote.sampling_strategy,
            "random_state": smote.random_state,
            "k_neighbors": smote.k_neighbors,
        }
        if discrete[0] == 0:
            return SMOTEN(**options)
        return ChunkedSMOTENC(categorical_features=discrete, **options)

    if isinstance(sampler, (SMOTETomek, SMOTEENN)):
        return sampler.set_params(smote=replace(sampler.smote))
    return replace(sampler)


class CheckedBalancedRandomForestClassifier(BalancedRandomForestClassifier):
    """:class:`~imblearn.ensemble.BalancedRandomForestClassifier` with a one-line error for an
    unreachable float ``sampling_strategy`` (it under-samples the majority class per tree)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CheckedBalancedRandomForestClassifier:
        """Check ``sampling_strategy`` against ``y``, then fit the forest."""
        check_sampling_strategy(
            "balanced_random_forest", y, sampling_strategy=self.sampling_strategy, sampling_type="under-sampling"
        )
        return super().fit(X, y, sample_weight=sample_weight)


class CheckedEasyEnsembleClassifier(EasyEnsembleClassifier):
    """:class:`~imblearn.ensemble.EasyEnsembleClassifier` with a one-line error for an
    unreachable float ``sampling_strategy`` (it under-samples the majority class per member)."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> CheckedEasyEnsembleClassifier:
        """Check ``sampling_strategy`` against ``y``, then fit the ensemble."""
        check_sampling_strategy(
            "easy_ensemble", y, sampling_strategy=self.sampling_strategy, sampling_type="under-sampling"
        )
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

    def fit(self, X: Any, y: Any, **fit_params: Any) -> FoldPositiveWeight:
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
