"""Simulated shifts of new data, to measure what a drift check detects (``bench/drift_power.py``)
and to test it.

:func:`shift_feature` changes one feature of a batch in one of the ways of :data:`FEATURE_SHIFTS`,
using the training statistics of the model's reference (its mean, standard deviation, range and
cells), so a shift means the same on every dataset. Shifts of which rows a batch holds (another
population, more positives) are :func:`draw_rows`' ``weights``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .drift_reference import as_categories, as_numbers

#: Shifts of one feature: name -> what it does (numeric features unless it says categorical).
FEATURE_SHIFTS = {
    "location_0.25sd": "every value moved up by 0.25 training standard deviations",
    "location_0.5sd": "every value moved up by 0.5 standard deviations",
    "location_1sd": "every value moved up by 1 standard deviation",
    "scale_x2": "the spread around the training mean doubled",
    "out_of_range": "every value above the training maximum (value - min + max + 1)",
    "collapsed": "every value replaced by the training median",
    "missing_20pct": "20 % of the values missing (none were in training)",
    "new_category": "10 % of the rows of a categorical feature in a category training never had",
    "category_tripled": "one category's share of a categorical feature tripled",
}

#: The category :func:`shift_feature` writes for ``new_category``.
NEW_CATEGORY = "__new_category__"


def _location(values: np.ndarray, shift: float, *, discrete: bool, rng: np.random.Generator) -> np.ndarray:
    """Values moved up by ``shift``; a discrete feature stays on its grid of whole steps (each
    value moves up by the whole part, and a random ``shift``'s fraction of them one step more), so
    the mean moves by ``shift`` as it does for a continuous one."""
    if not discrete:
        return values + shift
    whole = np.floor(shift)
    return values + whole + (rng.random(len(values)) < shift - whole)


def shift_feature(
    X: pd.DataFrame, name: str, *, column: str, reference: dict[str, Any], rng: np.random.Generator
) -> pd.DataFrame:
    """A copy of ``X`` with ``column`` shifted as :data:`FEATURE_SHIFTS` ``[name]`` says.

    Parameters
    ----------
    X : DataFrame
        A batch of new data.
    name : str
        A key of :data:`FEATURE_SHIFTS`.
    column : str
        The feature to shift (numeric, or categorical for ``new_category`` and ``category_tripled``).
    reference : dict
        The training reference (:func:`imbalance_lab.serving.drift_reference.reference_stats`).
    rng : numpy.random.Generator
        For the shifts that choose rows at random.
    """
    if name not in FEATURE_SHIFTS:
        raise ValueError(f"unknown shift {name!r}; choose one of {sorted(FEATURE_SHIFTS)}")
    X = X.copy()
    if name in ("new_category", "category_tripled"):
        X[column] = _shift_category(
            as_categories(X[column]), name, shares=reference["categorical"][column]["shares"], rng=rng
        )
        return X
    ref = reference["numeric"][column]
    values = as_numbers(X[column])
    discrete = ref["binning"] == "values"
    if name.startswith("location_"):
        values = _location(
            values, float(name.split("_")[1].removesuffix("sd")) * ref["std"], discrete=discrete, rng=rng
        )
    elif name == "scale_x2":
        values = ref["mean"] + 2.0 * (values - ref["mean"])
        if discrete:
            values = np.round(values)
    elif name == "out_of_range":
        values = values - ref["min"] + ref["max"] + 1.0
    elif name == "collapsed":
        sample = np.repeat(ref["sample"]["values"], ref["sample"]["counts"])
        values = np.where(np.isnan(values), np.nan, float(np.median(sample)))
    else:  # missing_20pct
        values = np.where(rng.random(len(values)) < 0.2, np.nan, values)
    X[column] = values
    return X


def _shift_category(values: pd.Series, name: str, *, shares: dict[str, float], rng: np.random.Generator) -> pd.Series:
    if name == "new_category":
        return values.where(rng.random(len(values)) >= 0.1, NEW_CATEGORY)
    category = tripled_category(shares)
    share = shares[category]
    is_it = (values == category).to_numpy()
    # rows of other categories become this one until its share is three times the training one
    others = np.flatnonzero(~is_it & values.notna().to_numpy())
    wanted = round(min(3 * share, 1.0) * len(values)) - int(is_it.sum())
    chosen = rng.choice(others, size=min(max(wanted, 0), len(others)), replace=False)
    out = values.copy()
    out.iloc[chosen] = category
    return out


def tripled_category(shares: dict[str, float]) -> str:
    """The category ``category_tripled`` triples: the one whose training share is closest to 10 %."""
    named = {c: s for c, s in shares.items() if not c.startswith("__")}
    return min(named, key=lambda c: (abs(named[c] - 0.1), c))


def draw_rows(n: int, *, groups: list[np.ndarray], shares: list[float], rng: np.random.Generator) -> np.ndarray:
    """Row positions of a batch of ``n`` rows, ``shares[i]`` of them from ``groups[i]`` (arrays
    of row positions; the last group takes what rounding leaves): without replacement where a
    group holds enough rows, with replacement otherwise, in random order.

    An unshifted batch is ``groups=[all rows]``, ``shares=[1.0]``; positives three times as
    common ``[positives, negatives]`` with ``[3p, 1 - 3p]``; 20 % of the rows from another
    population ``[rows, other rows]`` with ``[0.8, 0.2]``.
    """
    if len(groups) != len(shares) or not groups:
        raise ValueError("groups and shares must be non-empty and of one length")
    counts = [round(share * n) for share in shares[:-1]]
    counts.append(n - sum(counts))
    if min(counts) < 0:
        raise ValueError(f"shares {shares} do not fit {n} rows")
    parts = [rng.choice(group, size=k, replace=k > len(group)) for group, k in zip(groups, counts) if k]
    return rng.permutation(np.concatenate(parts))
