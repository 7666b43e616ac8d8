"""Fixtures of the reporting tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def predictions():
    """``(y, scores)``: 200 rows, about 15 % positives, scores that rank positives higher."""
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.15).astype(int)
    y[:2] = [0, 1]
    s = np.clip(rng.beta(2, 6, size=200) + 0.35 * y, 0.0, 1.0)
    return y, s
