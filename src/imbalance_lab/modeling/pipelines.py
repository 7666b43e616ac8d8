"""Unfitted pipelines: preprocessing, an optional imbalance strategy, and a model.

:func:`make_pipeline` and :func:`make_strategy_pipeline` assemble one imbalanced-learn
``Pipeline`` whose steps are ``preprocess``, ``sample`` (resampling strategies only) and
``model``, so everything that is fitted (imputer, encoder, scaler, sampler, model) is fitted on
the training fold only. :func:`fitted_rows` estimates how many rows a pipeline's model meets.
"""

from __future__ import annotations

import logging
from typing import Any

from imblearn.pipeline import Pipeline

from ..data.schema import Schema
from ..errors import StrategyError
from .features import OneHotLastColumns, make_preprocessor
from .models import MODELS, make_estimator
from .samplers import (
    CheckedBalancedRandomForestClassifier,
    CheckedEasyEnsembleClassifier,
    CheckedSampler,
    FoldPositiveWeight,
    resampled_rows,
)
from .strategies import (
    BRF_MIN_SAMPLES_LEAF,
    BRF_N_ESTIMATORS,
    EASY_ENSEMBLE_N_ESTIMATORS,
    INTERPOLATE_DISCRETE,
    SMOTE_NC,
    STRATEGIES,
    check_options,
)

log = logging.getLogger(__name__)


def make_pipeline(
    name: str,
    schema: Schema,
    *,
    seed: int,
    params: dict[str, Any] | None = None,
    sampler: Any = None,
    sampler_sees_codes: bool = False,
    n_jobs: int = 1,
) -> Pipeline:
    """Preprocessing, an optional resampler and the estimator, as one unfitted pipeline.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    schema : Schema
        The prepared data's schema.
    seed : int
        Random state of the estimator.
    params : dict, optional
        Hyperparameter overrides for the estimator.
    sampler : imblearn sampler, optional
        Applied to the preprocessed training fold only (imblearn skips it at predict time).
    sampler_sees_codes : bool
        For a model that one-hot encodes categorical columns: give the sampler one column of
        ordinal codes per categorical column and one-hot encode them after it
        (:class:`~imbalance_lab.modeling.features.OneHotLastColumns`), as SMOTE-NC needs.
    n_jobs : int
        Threads for estimators that support them.
    """
    spec = MODELS[name]
    codes = sampler is not None and sampler_sees_codes and spec.encoding == "onehot" and bool(schema.categorical)
    encoding = "ordinal" if codes else spec.encoding
    # float32 and sparse only when the model reads the preprocessed rows itself: a sampler
    # computes new rows from them (SMOTE interpolates) in float64, as it would without us (it
    # may write float32 rows for the model: CheckedSampler's dtype)
    direct = sampler is None
    steps: list[tuple[str, Any]] = [
        (
            "preprocess",
            make_preprocessor(
                schema,
                encoding=encoding,
                scale=spec.scale,
                dtype="float32" if spec.float32 and direct else "float64",
                sparse=spec.sparse and direct and encoding == "onehot",
            ),
        )
    ]
    if sampler is not None:
        steps.append(("sample", sampler))
    if codes:
        steps.append(("encode", OneHotLastColumns(n_columns=len(schema.categorical))))
    steps.append(("model", make_estimator(name, seed=seed, n_jobs=n_jobs, params=params)))
    return Pipeline(steps)


def make_strategy_pipeline(
    strategy: str,
    model: str,
    schema: Schema,
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
        A key of :data:`imbalance_lab.modeling.models.MODELS`. Ignored by the ensemble strategies
        (``balanced_random_forest``, ``easy_ensemble``), which bring their own estimator; the
        caller should show that (see ``STRATEGIES[name].uses_model``).
    schema : Schema
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

        - ``none`` and ``threshold_moving``: :func:`make_pipeline`
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
    check_options(strategy, sampling_strategy, k_neighbors)

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
        if strategy in INTERPOLATE_DISCRETE and schema.categorical:
            log.warning(
                "strategy %r interpolates the encoded categorical columns (%s) like numbers: imbalanced-learn "
                "has no categorical variant of it (smote, smote_tomek and smote_enn use SMOTE-NC)",
                strategy,
                ", ".join(schema.categorical),
            )
        # the sampler computes in float64; a model that reads float32 gets its rows as float32
        dtype = "float32" if MODELS[model].float32 else None
        checked = CheckedSampler(sampler, strategy=strategy, n_continuous=len(schema.numeric), dtype=dtype)
        # SMOTE-NC samples categories, not dummy columns: codes before it, one-hot after it
        return make_pipeline(
            model,
            schema,
            seed=seed,
            params=params,
            n_jobs=n_jobs,
            sampler=checked,
            sampler_sees_codes=strategy in SMOTE_NC,
        )

    log.info("strategy %r brings its own estimator: model %r and its params are not used", strategy, model)
    if strategy == "balanced_random_forest":
        estimator: Any = CheckedBalancedRandomForestClassifier(
            n_estimators=BRF_N_ESTIMATORS,
            min_samples_leaf=BRF_MIN_SAMPLES_LEAF,
            sampling_strategy="all" if sampling_strategy == "auto" else sampling_strategy,
            replacement=True,
            bootstrap=False,
            random_state=seed,
            n_jobs=n_jobs,
        )
    elif strategy == "easy_ensemble":
        estimator = CheckedEasyEnsembleClassifier(
            n_estimators=EASY_ENSEMBLE_N_ESTIMATORS,
            sampling_strategy=sampling_strategy,
            random_state=seed,
            n_jobs=n_jobs,
        )
    else:  # pragma: no cover - a registry entry without a builder
        raise StrategyError(f"strategy {strategy!r} has no builder; add one to make_strategy_pipeline")
    return Pipeline([("preprocess", make_preprocessor(schema, encoding="ordinal", scale=False)), ("model", estimator)])


def fitted_rows(pipeline: Any, *, n_minority: int, n_majority: int) -> int:
    """How many rows a pipeline's model is fitted on, given a fold's rows of each class: the
    fold's, or as many as its ``sample`` step makes of them
    (:func:`~imbalance_lab.modeling.samplers.resampled_rows`). An estimate, for the order in which
    fold fits are dispatched (the most rows first); the balanced ensembles count as their fold.

    Parameters
    ----------
    pipeline : Pipeline or estimator
    n_minority, n_majority : int
        The fold's rows of each class.
    """
    sampler = dict(getattr(pipeline, "steps", [])).get("sample")
    if sampler is None or not hasattr(sampler, "fit_resample"):
        return n_minority + n_majority
    return resampled_rows(sampler, n_minority=n_minority, n_majority=n_majority)
