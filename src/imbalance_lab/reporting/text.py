"""Report sentences: what a comparison found, and what a model's scores mean, in plain words."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..modeling.strategies import sampled_prevalence


def verdict_sentences(comparison: pd.DataFrame, *, baseline: str, metric: str, alpha: float) -> list[str]:
    """Plain-language statements of a :func:`imbalance_lab.evaluation.compare_with` table against the baseline."""
    groups = {v: list(comparison.index[comparison["verdict"] == v]) for v in ("better", "worse", "indistinguishable")}
    lines = []
    for verdict, names in groups.items():
        if not names:
            continue
        what = {
            "better": f"significantly better than `{baseline}`",
            "worse": f"significantly worse than `{baseline}`",
            "indistinguishable": f"not distinguishable from `{baseline}`",
        }[verdict]
        detail = ", ".join(
            f"`{n}` ({comparison.loc[n, 'difference']:+.4f}, p_Holm={comparison.loc[n, 'p_holm']:.3g})" for n in names
        )
        lines.append(f"On {metric}, {what} at alpha={alpha} (corrected resampled t-test, Holm): {detail}.")
    return lines


def prior_shift_note(strategy: str, y_train: Sequence[int], sampling_strategy: float | str = "auto") -> str | None:
    """A model card limitation for a strategy that trains the model at another prevalence than
    the data's (its scores then overstate or understate the probability of a positive), or None.

    Parameters
    ----------
    strategy : str
        A key of :data:`imbalance_lab.modeling.STRATEGIES`.
    y_train : array-like
        The 0/1 target the final model was trained on.
    sampling_strategy : float or str
        As given to :func:`imbalance_lab.modeling.make_strategy_pipeline`.
    """
    prevalence = float(np.mean(np.asarray(y_train).astype(int)))
    sampled = sampled_prevalence(strategy, y_train, sampling_strategy)
    if abs(sampled - prevalence) <= 1e-9:
        return None
    direction = "overstate" if sampled > prevalence else "understate"
    return (
        f"The model was trained with `{strategy}` at a positive share of {sampled:.3g} (the data's is "
        f"{prevalence:.3g}), so its scores {direction} the probability of a positive: they rank cases and fit "
        "the threshold, but as probabilities they need "
        f"`imbalance_lab.modeling.prior_correction(score, train_prevalence={prevalence:.6g}, "
        f"sampled_prevalence={sampled:.6g})`."
    )
