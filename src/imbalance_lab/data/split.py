"""The holdout split and the shared folds: one stratified test part, touched once by evaluate, and
one repeated stratified k-fold assignment of the training rows that every later stage and
experiment uses, so that fold scores are paired."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from ..errors import DataError
from .schema import Schema


def split_holdout(
    df: pd.DataFrame, *, target: str, test_size: float, seed: int, n_splits: int, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified holdout split; both parts keep the order of the input rows.

    Parameters
    ----------
    df : DataFrame
        The clean data with the 0/1 target.
    target : str
        The target column.
    test_size : float
        Share of the rows in the test part.
    seed : int
        Seed of the split.
    n_splits : int
        Validation folds made of the training part later: each class needs that many training rows.
    source : str
        Name of the sources, for messages.

    Returns
    -------
    (DataFrame, DataFrame)
        The training and the test part.

    Raises
    ------
    DataError
        When a class gets no test row or fewer than ``n_splits`` training rows. (scikit-learn rounds
        the per-class counts differently from the estimate checked by :func:`imbalance_lab.data.validate_and_clean`.)
    """
    idx = np.arange(len(df))
    y = df[target].to_numpy()
    try:
        train_idx, test_idx = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    except ValueError as exc:  # e.g. a test part smaller than the number of classes
        msg = str(exc).strip().splitlines()[0]
        raise DataError(
            f"{source}: cannot split off a test part with test_size={test_size} ({msg}); "
            "raise prepare.test_size or add rows"
        ) from None
    for kind, cls in (("positive", 1), ("negative", 0)):
        n_train, n_test = int((y[train_idx] == cls).sum()), int((y[test_idx] == cls).sum())
        if n_test < 1 or n_train < n_splits:
            fix = (
                f"raise prepare.test_size or add {kind} rows"
                if n_test < 1
                else f"lower prepare.n_splits or prepare.test_size, or add {kind} rows"
            )
            raise DataError(
                f"{source}: the holdout split with test_size={test_size} puts {n_test} of the {n_train + n_test} "
                f"{kind} row(s) in the test part and {n_train} in the training part; every class needs a test row "
                f"and prepare.n_splits={n_splits} training rows: {fix}"
            )
    return df.iloc[np.sort(train_idx)].reset_index(drop=True), df.iloc[np.sort(test_idx)].reset_index(drop=True)


def make_folds(y: np.ndarray | pd.Series, *, n_splits: int, n_repeats: int, seed: int) -> pd.DataFrame:
    """Assign every training row to a validation fold, once per repeat.

    Returns
    -------
    DataFrame
        One row per training row and one int8 column ``repeat_<r>`` per repeat holding the fold
        in which that row is validated.
    """
    y = np.asarray(y)
    rskf = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    folds = np.full((n_repeats, len(y)), -1, dtype=np.int8)
    for i, (_, val) in enumerate(rskf.split(np.zeros(len(y)), y)):
        folds[i // n_splits, val] = i % n_splits
    return pd.DataFrame({f"repeat_{r}": folds[r] for r in range(n_repeats)})


def iter_splits(folds: pd.DataFrame) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(repeat, fold, train_index, validation_index)`` from a fold assignment."""
    for r, col in enumerate(folds.columns):
        assignment = folds[col].to_numpy()
        for k in range(int(assignment.max()) + 1):
            yield r, k, np.flatnonzero(assignment != k), np.flatnonzero(assignment == k)


def split_xy(df: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, np.ndarray]:
    """Features (numeric as float, categoricals as object with NaN) and the 0/1 target."""
    X = df[schema.features].copy()
    for col in schema.categorical:
        X[col] = X[col].astype(object).where(X[col].notna(), np.nan)
    return X, df[schema.target].to_numpy().astype(int)
