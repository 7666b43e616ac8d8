"""Learning curves on the stored folds: training and validation score by training size."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from joblib import delayed
from threadpoolctl import threadpool_limits

from ..data.split import iter_splits
from ..progress import progress_bar
from .caches import SharedFits, rest_of, shared_preprocessing
from .metrics import CURVE_METRICS
from .parallel import fit_backend, on_workers, run_parallel


def _learning_point(
    estimator: Any,
    rest: Any,
    preprocess: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    scoring: str,
) -> tuple[float, float, str | None]:
    """Training and test score of ``estimator`` fitted on ``train`` (``rest``: already fitted),
    and the failure of the fit if it failed. As in scikit-learn's ``learning_curve``, a failed fit
    scores NaN, and so does a failed scoring (with a warning)."""
    from sklearn.metrics import check_scoring

    with threadpool_limits(limits=1):
        Xt = preprocess.transform(X.iloc[train])
        if rest is None:
            try:
                rest = rest_of(estimator).fit(Xt, y[train])
            except Exception as exc:  # as scikit-learn's learning_curve: a failed fit scores NaN
                return np.nan, np.nan, f"{type(exc).__name__}: {exc}"
        scorer = check_scoring(rest, scoring=scoring)

        def score(Xs: Any, ys: np.ndarray) -> float:
            try:
                return scorer(rest, Xs, ys)
            except Exception as exc:  # scikit-learn's _score with error_score=nan
                warnings.warn(
                    f"Scoring failed. The score on this train-test partition for these parameters will be "
                    f"set to nan. Details: {type(exc).__name__}: {exc}",
                    UserWarning,
                    stacklevel=2,
                )
                return np.nan

        return score(Xt, y[train]), score(preprocess.transform(X.iloc[test]), y[test]), None


def learning_curve(
    estimator: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    *,
    sizes: Sequence[float],
    metric: str = "average_precision",
    n_jobs: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training and validation scores by training size on the first repeat's folds.

    The same numbers as :func:`sklearn.model_selection.learning_curve` (``shuffle=False``: the
    first rows of each training fold). For a pipeline with a ``preprocess`` step, the
    preprocessing fitted on the same rows by :func:`cross_validate` is reused, and so is its model
    at the full size (the cross-validation's fit on the same rows) when it was kept.

    Returns
    -------
    (train_sizes, train_scores, validation_scores)
        Sizes in rows; scores with one column per fold.
    """
    from sklearn.model_selection import learning_curve as sk_learning_curve

    if metric not in CURVE_METRICS:
        raise ValueError(f"learning curves support {sorted(CURVE_METRICS)}, not {metric!r}")
    splits = [(tr, va) for r, _, tr, va in iter_splits(folds) if r == 0]
    scoring = CURVE_METRICS[metric]
    step = shared_preprocessing(estimator)
    try:
        from sklearn.model_selection._validation import _translate_train_sizes
    except ImportError:  # pragma: no cover - a scikit-learn without the helper: its own function
        step = None
    if step is None:
        with threadpool_limits(limits=1), fit_backend(n_jobs=n_jobs):
            sizes_abs, train_scores, val_scores = sk_learning_curve(
                estimator, X, y, cv=splits, train_sizes=list(sizes), scoring=scoring, n_jobs=n_jobs, shuffle=False
            )
    else:
        sizes_abs = _translate_train_sizes(np.asarray(sizes), len(splits[0][0]))
        points = [(train[:n], test) for train, test in splits for n in sizes_abs]
        shared = SharedFits(X, y)

        def points_on(parallel: Any) -> list[tuple[float, float, str | None]]:
            prefitted = shared.preprocess([(step, sub) for sub, _ in points], parallel, "learning curve")
            kept = [shared.model(shared.model_key(estimator, sub)) for sub, _ in points]
            X_fit, y_fit = on_workers(shared.X), on_workers(y)  # on a cluster: sent to the workers once
            jobs = (
                delayed(_learning_point)(
                    estimator, None if hit is None else hit[0], pre, X_fit, y_fit, sub, test, scoring
                )
                for (sub, test), (pre, _), hit in zip(points, prefitted, kept)
            )
            return list(progress_bar(parallel(jobs), total=len(points), desc="learning curve"))

        results = run_parallel(points_on, n_jobs=n_jobs)
        failures = [r[2] for r in results if r[2] is not None]
        if len(failures) == len(results):
            raise ValueError(f"All the {len(results)} fits of the learning curve failed; the first: {failures[0]}")
        if failures:
            from sklearn.exceptions import FitFailedWarning

            warnings.warn(
                f"{len(failures)} of the {len(results)} fits of the learning curve failed and score NaN; "
                f"the first: {failures[0]}",
                FitFailedWarning,
                stacklevel=2,
            )
        scores = np.array([r[:2] for r in results], dtype=float)
        train_scores = scores[:, 0].reshape(-1, len(sizes_abs)).T
        val_scores = scores[:, 1].reshape(-1, len(sizes_abs)).T
    if scoring.startswith("neg_"):
        train_scores, val_scores = -train_scores, -val_scores
    return sizes_abs, train_scores, val_scores
