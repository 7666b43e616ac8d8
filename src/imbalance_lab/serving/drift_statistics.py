"""The measures of drift and the share of them that sampling alone gives.

* :func:`psi`: the population stability index over a feature's cells;
* :func:`js_distance`: the Jensen-Shannon distance (base 2, between 0 and 1) over the cells of a
  categorical or a low-cardinality numeric feature;
* :func:`scaled_wasserstein`: the Wasserstein distance of a numeric feature's values divided by
  the training standard deviation (Evidently's default for numeric features on more than 1000
  reference rows), so a value of 0.5 is "moved by half a standard deviation";
* :func:`noise_allowance`: the value of each measure that two samples of the training
  distribution itself (the reference's rows and the new batch's rows) exceed with a given small
  probability: the PSI of 200 rows of a feature with 40 categories is large by chance alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

#: Shares are clipped at this value in the PSI and the chi-square test (empty cells).
EPSILON = 1e-4

#: Samples drawn from the training shares for :func:`noise_allowance`.
NOISE_SAMPLES = 2000

#: At most this many cells (samples x cells) are drawn at once (about 8 MB a copy).
NOISE_BATCH_CELLS = 1_000_000

#: The Wasserstein noise is simulated on at most this many support points of the stored sample
#: (quantile groups of it when it has more distinct values).
NOISE_GRID = 500


def _psi(expected: np.ndarray, actual: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """PSI along the last axis (one value per row of 2-d arrays)."""
    e = np.clip(np.asarray(expected, dtype="float64"), epsilon, None)
    a = np.clip(np.asarray(actual, dtype="float64"), epsilon, None)
    return np.sum((a - e) * np.log(a / e), axis=-1)


def psi(expected: np.ndarray, actual: np.ndarray, *, epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors (shares clipped at ``epsilon``)."""
    return float(_psi(expected, actual, epsilon))


def _js(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(jensenshannon(expected, actual, base=2, axis=-1), nan=0.0)


def js_distance(expected: np.ndarray, actual: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2: 0 for equal shares, 1 for disjoint ones) of two share vectors."""
    return float(_js(np.asarray(expected, dtype="float64"), np.asarray(actual, dtype="float64")))


def scaled_wasserstein(
    ref_values: np.ndarray, ref_counts: np.ndarray, new_values: np.ndarray, *, std: float | None
) -> float:
    """Wasserstein distance of the new values from the weighted reference sample, in training
    standard deviations (NaN when either side is empty or the training values do not vary)."""
    if not len(ref_values) or not len(new_values) or not std:
        return float("nan")
    return float(stats.wasserstein_distance(ref_values, new_values, u_weights=ref_counts) / std)


def _draws(p: np.ndarray, n: int, rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.multinomial(max(int(n), 1), p, size=size) / max(int(n), 1)


def _grid(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Support points and shares of a weighted sample, grouped into :data:`NOISE_GRID` quantile
    groups (each at its weighted mean) when it has more points."""
    shares = counts / counts.sum()
    if len(values) <= NOISE_GRID:
        return values, shares
    group = np.minimum((np.cumsum(shares) - shares / 2) * NOISE_GRID, NOISE_GRID - 1).astype(int)
    weight = np.bincount(group, weights=shares, minlength=NOISE_GRID)
    keep = weight > 0
    points = np.bincount(group, weights=shares * values, minlength=NOISE_GRID)[keep] / weight[keep]
    return points, weight[keep]


def noise_allowance(
    shares: np.ndarray,
    *,
    n: int,
    n_ref: int,
    level: float,
    seed: int,
    distance: str,
    sample: dict[str, Any] | None = None,
    std: float | None = None,
    n_sample: int | None = None,
    samples: int = NOISE_SAMPLES,
) -> tuple[float, float]:
    """The ``level`` quantiles of the PSI and of the distance between two samples of the
    training distribution: ``n_ref`` rows (the reference) and ``n`` rows (the new batch).

    Parameters
    ----------
    shares : array-like
        The training shares of the feature's cells (missing included).
    n, n_ref : int
        Rows of the new batch and of the reference.
    level : float
        Quantile (e.g. 0.9997: sampling alone exceeds the allowance in 0.03 % of batches).
    seed : int
        Seed of the draws (the same arguments give the same allowance).
    distance : str
        ``"jensen_shannon"`` (over the cells) or ``"wasserstein"`` (over the stored ``sample``,
        divided by ``std``; ``n_sample`` values of the batch enter it).
    samples : int
        Simulated pairs of samples.

    Returns
    -------
    (float, float)
        The PSI and the distance allowance.
    """
    p = np.clip(np.asarray(shares, dtype="float64"), 0.0, None)
    p = p / p.sum()
    # one generator per sample, so the draws do not depend on how they are batched
    rngs = [np.random.default_rng([seed, i]) for i in range(4)]
    if distance == "wasserstein":
        points, q = _grid(np.asarray(sample["values"], dtype="float64"), np.asarray(sample["counts"], dtype="float64"))
        gaps = np.diff(points)
        m_ref, m_new = int(sum(sample["counts"])), int(n_sample if n_sample is not None else n)
    batch = max(1, min(samples, NOISE_BATCH_CELLS // max(len(p), 1)))
    psis, dists = [], []
    for start in range(0, samples, batch):
        size = min(batch, samples - start)
        ref, new = _draws(p, n_ref, rngs[0], size), _draws(p, n, rngs[1], size)
        psis.append(_psi(ref, new))
        if distance == "wasserstein":
            if not std or len(points) < 2:
                dists.append(np.zeros(size))
                continue
            diff = np.cumsum(_draws(q, m_ref, rngs[2], size) - _draws(q, m_new, rngs[3], size), axis=1)[:, :-1]
            dists.append(np.abs(diff) @ gaps / std)
        else:
            dists.append(_js(ref, new))
    psi_upper = _upper_quantile(np.concatenate(psis), level)
    distance_upper = math.sqrt(_upper_quantile(np.concatenate(dists) ** 2, level))
    return psi_upper, distance_upper


def _upper_quantile(values: np.ndarray, level: float) -> float:
    """The ``level`` quantile of simulated values of a squared (chi-square-like) statistic: the
    larger of the empirical quantile and that of a gamma distribution with the same mean and
    variance. A quantile beyond 1 - 1/samples is not in the samples (2000 draws put the 0.9997
    quantile at about their largest, the 0.9995 quantile on average); the gamma tail extends
    them (the Satterthwaite approximation of a sum of squares)."""
    empirical = float(np.quantile(values, level))
    mean, var = float(values.mean()), float(values.var())
    if mean <= 0 or var <= 0:
        return empirical
    return max(empirical, float(stats.gamma.ppf(level, mean * mean / var, scale=var / mean)))
