"""Unit tests of imbalance_lab.serving.drift_statistics: PSI, distances and their noise allowances."""

from __future__ import annotations

import numpy as np
import pytest

from imbalance_lab.serving import drift_statistics
from imbalance_lab.serving.drift_statistics import js_distance, noise_allowance, psi, scaled_wasserstein


def test_psi():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * np.log(0.9 / 0.5) - 0.4 * np.log(0.1 / 0.5))
    assert np.isfinite(psi([1.0, 0.0], [0.0, 1.0]))  # empty cells are clipped


def test_js_distance_is_between_zero_and_one():
    assert js_distance([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert js_distance([1.0, 0.0], [0.0, 1.0]) == pytest.approx(1.0)
    assert 0.0 < js_distance([0.5, 0.5], [0.6, 0.4]) < 0.1


def test_scaled_wasserstein_is_in_standard_deviations():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=5000)
    values, counts = np.unique(np.round(ref, 3), return_counts=True)
    assert scaled_wasserstein(values, counts, rng.normal(size=5000) + 1.0, std=1.0) == pytest.approx(1.0, abs=0.05)
    assert scaled_wasserstein(values, counts, rng.normal(size=5000), std=1.0) < 0.05
    assert scaled_wasserstein(values, counts, rng.normal(size=5000) + 2.0, std=2.0) == pytest.approx(1.0, abs=0.05)
    assert np.isnan(scaled_wasserstein(values, counts, np.array([]), std=1.0))
    assert np.isnan(scaled_wasserstein(values, counts, ref, std=0.0))


def test_psi_allowance_is_about_cells_over_rows_of_both_samples():
    """For well filled cells the PSI of two samples is about chi-square(cells - 1) * (1/n + 1/n_ref)."""
    shares = np.full(10, 0.1)
    median, _ = noise_allowance(shares, n=10_000, n_ref=10_000, level=0.5, seed=0, distance="jensen_shannon")
    assert median == pytest.approx(9 * (1 / 10_000 + 1 / 10_000), rel=0.2)
    high, _ = noise_allowance(shares, n=10_000, n_ref=10_000, level=0.999, seed=0, distance="jensen_shannon")
    assert high > 2 * median
    again = noise_allowance(shares, n=10_000, n_ref=10_000, level=0.999, seed=0, distance="jensen_shannon")
    assert again == (high, again[1])  # seeded


def test_allowances_shrink_with_more_rows():
    shares = np.full(40, 1 / 40)
    small = noise_allowance(shares, n=200, n_ref=5000, level=0.999, seed=0, distance="jensen_shannon")
    large = noise_allowance(shares, n=10_000, n_ref=5000, level=0.999, seed=0, distance="jensen_shannon")
    assert small[0] > 0.2 and small[1] > 0.2  # 200 rows of 40 categories: large by chance
    assert large[0] < small[0] / 5 and large[1] < small[1] / 2


def test_wasserstein_allowance_matches_the_simulated_distance():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=3000)
    values, counts = np.unique(np.round(ref, 2), return_counts=True)
    _, allowance = noise_allowance(
        np.ones(12) / 12,
        n=500,
        n_ref=3000,
        level=0.99,
        seed=0,
        distance="wasserstein",
        sample={"values": values.tolist(), "counts": counts.tolist()},
        std=1.0,
    )
    observed = [
        scaled_wasserstein(values, counts, rng.choice(ref, 500), std=1.0) for _ in range(300)
    ]  # batches drawn from the reference itself: the allowance's job is to cover them
    assert np.quantile(observed, 0.95) < allowance < 4 * np.quantile(observed, 0.99)


def test_noise_is_drawn_in_batches_of_bounded_size(monkeypatch):
    """1000 samples of a 100 000-level category were one array of several GB."""
    shares = np.full(50, 0.02)
    whole = noise_allowance(shares, n=300, n_ref=300, level=0.99, seed=0, distance="jensen_shannon", samples=200)
    monkeypatch.setattr(drift_statistics, "NOISE_BATCH_CELLS", 50 * 7)  # 7 samples at a time
    sizes = []
    make_rng = np.random.default_rng

    class Recording:
        def __init__(self, seed):
            self.rng = make_rng(seed)

        def multinomial(self, n, p, size=None):
            sizes.append(size)
            return self.rng.multinomial(n, p, size=size)

    monkeypatch.setattr(np.random, "default_rng", Recording)
    again = noise_allowance(shares, n=300, n_ref=300, level=0.99, seed=0, distance="jensen_shannon", samples=200)
    assert again == whole  # the same draws, in batches
    assert max(sizes) == 7 and sum(sizes) == 2 * 200
