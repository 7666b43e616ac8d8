"""Permutation importance of a fitted pipeline, with its preprocessing applied once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import parallel


def _output_blocks(preprocess: Any, columns: Sequence[str]) -> dict[str, list[int]] | None:
    """The output columns of a fitted preprocessing ``ColumnTransformer`` that each input column
    becomes (its value, missing indicator, one-hot columns ...), or None for a structure this does
    not know (then nothing is assumed)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline as SkPipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    if not isinstance(preprocess, ColumnTransformer) or not hasattr(preprocess, "output_indices_"):
        return None
    blocks: dict[str, list[int]] = {c: [] for c in columns}
    for name, trans, cols in preprocess.transformers_:
        if isinstance(trans, str):
            if trans == "drop":
                continue
            return None  # passthrough: not used by this package
        cols = list(cols) if not isinstance(cols, str) else [cols]
        if any(not isinstance(c, str) or c not in blocks for c in cols):
            return None
        src: list[str] = list(cols)  # the input column of each current output column
        for step in trans.steps if isinstance(trans, SkPipeline) else [(None, trans)]:
            est = step[1]
            if isinstance(est, SimpleImputer):
                kept = src
                if est.strategy != "constant" and not est.keep_empty_features:
                    stats = np.asarray(est.statistics_)
                    empty = pd.isna(stats) if stats.dtype == object else np.isnan(stats)
                    kept = [c for c, e in zip(src, empty) if not e]
                indicator = getattr(est, "indicator_", None)
                src = kept + ([src[i] for i in indicator.features_] if indicator is not None else [])
            elif isinstance(est, (StandardScaler, OrdinalEncoder)):
                pass
            elif isinstance(est, OneHotEncoder):
                if getattr(est, "drop_idx_", None) is not None:
                    return None
                infrequent = (
                    est.infrequent_categories_ if getattr(est, "_infrequent_enabled", False) else [None] * len(src)
                )
                widths = [
                    len(cats) if rare is None else len(cats) - len(rare) + 1
                    for cats, rare in zip(est.categories_, infrequent)
                ]
                src = [c for c, w in zip(src, widths) for _ in range(w)]
            else:
                return None
        out = preprocess.output_indices_[name]
        if out.stop - out.start != len(src):
            return None
        for k, c in zip(range(out.start, out.stop), src):
            blocks[c].append(k)
    return blocks


def _dense(Xt: Any) -> np.ndarray:
    """A preprocessed matrix as a float array (a sparse one made dense)."""
    return np.asarray(Xt.toarray() if hasattr(Xt, "toarray") else Xt, dtype=float)


def _blocks_hold(
    preprocess: Any, X: pd.DataFrame, Xt: np.ndarray, blocks: dict[str, list[int]], *, rows: int = 2000
) -> bool:
    """Check on a sample: shuffling an input column, then preprocessing, gives the preprocessed
    rows with that column's block shuffled the same way (for every column)."""
    m = min(rows, len(X))
    sample, sample_t = X.iloc[:m], Xt[:m]
    order = np.arange(m)[::-1]
    for col, block in blocks.items():
        shuffled = sample.copy()
        shuffled[col] = sample[col].iloc[order].to_numpy()
        expected = sample_t.copy()
        expected[:, block] = sample_t[order][:, block]
        got = _dense(preprocess.transform(shuffled))
        if got.shape != expected.shape or not np.array_equal(got, expected, equal_nan=True):
            return False
    return True


def permutation_importance(
    pipeline: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    scoring: str = "average_precision",
    n_repeats: int = 5,
    random_state: int = 0,
    n_jobs: int = 1,
) -> Any:
    """:func:`sklearn.inspection.permutation_importance` of a fitted pipeline, preprocessing once.

    The pipelines of this package start with a ``preprocess`` step in which every output column
    comes from one input column (imputation, missing indicator, encoding, scaling), so shuffling
    an input column and then preprocessing gives exactly the preprocessed rows with that column's
    outputs shuffled the same way. The step therefore runs once, and every shuffle (the same
    shuffles as scikit-learn's, from the same seed) permutes those output columns and scores the
    rest of the pipeline: the same importances, without preprocessing the whole data
    ``n_features x n_repeats`` times (on a large test set that is nearly all of the cost). This is
    checked on a sample first; any other pipeline goes to scikit-learn's function.

    Returns
    -------
    Bunch
        ``importances_mean``, ``importances_std`` and ``importances`` (features x repeats), in the
        order of ``X``'s columns.
    """
    from sklearn.inspection import permutation_importance as sk_permutation_importance
    from sklearn.metrics import check_scoring
    from sklearn.utils import Bunch, check_random_state

    steps = getattr(pipeline, "steps", None)
    blocks = None
    if isinstance(X, pd.DataFrame) and steps and len(steps) >= 2 and steps[0][0] == "preprocess":
        preprocess = steps[0][1]
        blocks = _output_blocks(preprocess, list(X.columns))
        if blocks is not None:
            Xt = _dense(preprocess.transform(X))  # a sparse output is permuted as an array
            if not _blocks_hold(preprocess, X, Xt, blocks):
                blocks = None
    if blocks is None:
        with parallel.local_workers():  # its worker processes end with the stage
            return sk_permutation_importance(
                pipeline, X, y, scoring=scoring, n_repeats=n_repeats, random_state=random_state, n_jobs=n_jobs
            )
    rest = type(pipeline)(steps[1:])  # the fitted sampler/model steps (samplers are skipped at predict)
    scorer = check_scoring(rest, scoring=scoring)
    baseline = scorer(rest, Xt, y)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max + 1)
    scores = np.empty((len(blocks), n_repeats))
    for i, block in enumerate(blocks.values()):
        if not block:  # a column the model does not use: shuffling it changes nothing
            scores[i] = baseline
            continue
        rng = check_random_state(seed)  # scikit-learn: a fresh RandomState(seed) per column
        original = Xt[:, block].copy()
        current = original
        shuffling_idx = np.arange(len(Xt))
        for r in range(n_repeats):
            rng.shuffle(shuffling_idx)
            current = current[shuffling_idx]  # shuffles accumulate, as in scikit-learn
            Xt[:, block] = current
            scores[i, r] = scorer(rest, Xt, y)
        Xt[:, block] = original
    importances = baseline - scores
    return Bunch(
        importances_mean=np.mean(importances, axis=1),
        importances_std=np.std(importances, axis=1),
        importances=importances,
    )
