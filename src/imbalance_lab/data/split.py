"""The holdout split and the shared folds: one test part, touched once by evaluate (stratified at
random, or out of time: the latest rows), and one repeated stratified k-fold assignment of the
training rows that every later stage and experiment uses, so that fold scores are paired."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import RepeatedStratifiedKFold, train_test_split

from ..errors import DataError
from .schema import Schema
from .times import SPLITS, time_text

log = logging.getLogger(__name__)


def split_holdout(
    df: pd.DataFrame,
    *,
    target: str,
    test_size: float,
    seed: int,
    n_splits: int,
    source: str,
    split: str = "stratified",
    time_column: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Holdout split, stratified at random or out of time; both parts keep the order of the input rows.

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
    split : {"stratified", "time"}
        ``time``: the test part is the latest ``test_size`` share of the rows by ``time_column``
        (:func:`time_cutoff`; rows at the cut-off time all go to the test part).
    time_column : str, optional
        The parsed time column of ``df`` (needed with ``split="time"``).

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
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {SPLITS}")
    idx = np.arange(len(df))
    y = df[target].to_numpy()
    what = f"the holdout split with test_size={test_size}"
    if split == "time":
        cutoff = time_cutoff(df[time_column], test_size=test_size)
        is_test = (df[time_column] >= cutoff).to_numpy()
        train_idx, test_idx = idx[~is_test], idx[is_test]
        what = f"the out-of-time split (test rows: '{time_column}' from {time_text(cutoff)} on)"
        share = len(test_idx) / len(idx)
        if share > test_size + 0.05:  # the rows at the cut-off time all go to the test part
            log.warning(
                "%s: %s holds %.0f%% of the rows, not test_size=%g: %d row(s) share the cut-off time and no "
                "test time may also be a training time",
                source,
                what,
                100 * share,
                test_size,
                int((df[time_column] == cutoff).sum()),
            )
        if len(train_idx) == 0:
            raise DataError(
                f"{source}: {what} leaves no training rows (every row has the latest time); "
                "point prepare.time_column at a column whose times differ, or use split: stratified"
            )
    else:
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
            if split == "time" and n_test >= 1:
                fix += f" (the test part holds {len(test_idx) / len(idx):.0%} of the rows: those at its first time too)"
            raise DataError(
                f"{source}: {what} puts {n_test} of the {n_train + n_test} "
                f"{kind} row(s) in the test part and {n_train} in the training part; every class needs a test row "
                f"and prepare.n_splits={n_splits} training rows: {fix}"
            )
    return df.iloc[np.sort(train_idx)].reset_index(drop=True), df.iloc[np.sort(test_idx)].reset_index(drop=True)


def time_cutoff(times: pd.Series, *, test_size: float) -> object:
    """The first time of the test part: the time of the row at ``1 - test_size`` of the rows in time
    order (rows at that time all go to the test part, so that no test time is also a training time).

    Returns
    -------
    Timestamp or float
    """
    ordered = np.sort(times.to_numpy(), kind="stable")
    n_test = max(1, int(np.ceil(test_size * len(ordered))))
    cutoff = ordered[len(ordered) - n_test]
    return pd.Timestamp(cutoff) if pd.api.types.is_datetime64_any_dtype(times) else float(cutoff)


def split_summary(test: pd.DataFrame, *, split: str, time_column: str | None) -> dict[str, str]:
    """What the prepare summary and the schema record of the split: nothing for the stratified
    split; ``split``, ``time_column`` and ``test_from`` (the first test time) for the out-of-time one."""
    if split != "time":
        return {}
    return {"split": "time", "time_column": str(time_column), "test_from": time_text(test[time_column].min())}


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
    """Features (numeric as float, categoricals as object with NaN) and the 0/1 target.

    The numeric columns are not copied (pandas copies a column on write, never the caller's
    ``df``), and each categorical column's cells share one Python object per distinct value:
    8 bytes a cell instead of a string object each (the copy with a string per cell took 0.31 GB
    for 800,000 rows with 8 text columns).
    """
    X = df[schema.features]
    for col in schema.categorical:
        values = X[col].astype("category").astype(object)  # through the categories: one object per value
        X[col] = values.where(values.notna(), np.nan)
    return X, df[schema.target].to_numpy().astype(int)
