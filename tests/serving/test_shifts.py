"""Unit tests of imbalance_lab.serving.shifts: each simulated shift does what its name says."""

from __future__ import annotations

import numpy as np
import pytest

from imbalance_lab.serving.shifts import FEATURE_SHIFTS, NEW_CATEGORY, draw_rows, shift_feature, tripled_category


@pytest.fixture(scope="module")
def batch(drift_data):
    return drift_data(4000, 2)[0]


def _shift(batch, drift_model, name, column):
    return shift_feature(batch, name, column=column, reference=drift_model["reference"], rng=np.random.default_rng(0))


@pytest.mark.parametrize("column", ["age", "visits"])
@pytest.mark.parametrize("k", [0.25, 0.5, 1.0])
def test_location_shifts_move_the_mean_by_k_standard_deviations(batch, drift_model, column, k):
    ref = drift_model["reference"]["numeric"][column]
    shifted = _shift(batch, drift_model, f"location_{k:g}sd", column)
    assert shifted[column].mean() - batch[column].mean() == pytest.approx(k * ref["std"], rel=0.08)
    if column == "visits":  # a code feature stays on its grid of whole steps
        assert (shifted[column] % 1 == 0).all()
    assert shifted.drop(columns=column).equals(batch.drop(columns=column))  # one feature only


def test_scale_out_of_range_collapsed_and_missing(batch, drift_model):
    ref = drift_model["reference"]["numeric"]["age"]
    scaled = _shift(batch, drift_model, "scale_x2", "age")["age"]
    assert scaled.std() == pytest.approx(2 * batch["age"].std(), rel=0.02)
    out = _shift(batch, drift_model, "out_of_range", "visits")["visits"]
    assert (out > drift_model["reference"]["numeric"]["visits"]["max"]).all()
    collapsed = _shift(batch, drift_model, "collapsed", "age")["age"]
    assert collapsed.nunique() == 1 and collapsed.iloc[0] == pytest.approx(ref["mean"], abs=1.0)
    amount = _shift(batch, drift_model, "missing_20pct", "age")["age"]
    assert amount.isna().mean() == pytest.approx(0.2, abs=0.02)


def test_category_shifts(batch, drift_model):
    shares = drift_model["reference"]["categorical"]["kind"]["shares"]
    new = _shift(batch, drift_model, "new_category", "kind")["kind"]
    assert (new == NEW_CATEGORY).mean() == pytest.approx(0.1, abs=0.02)
    category = tripled_category(shares)
    assert category == "k3"  # training share 0.11, the closest to 10 %
    tripled = _shift(batch, drift_model, "category_tripled", "kind")["kind"]
    assert (tripled == category).mean() == pytest.approx(3 * shares[category], abs=0.01)


def test_unknown_shift_is_refused(batch, drift_model):
    with pytest.raises(ValueError, match="unknown shift 'sideways'"):
        _shift(batch, drift_model, "sideways", "age")
    assert len(FEATURE_SHIFTS) == 9


def test_draw_rows_takes_each_group_s_share():
    rng = np.random.default_rng(0)
    positives, negatives = np.arange(0, 50), np.arange(50, 1000)
    rows = draw_rows(1000, groups=[positives, negatives], shares=[0.15, 0.85], rng=rng)
    assert len(rows) == 1000 and (rows < 50).sum() == 150  # 150 of 50 positives: with replacement
    rows = draw_rows(500, groups=[np.arange(1000)], shares=[1.0], rng=rng)
    assert len(set(rows.tolist())) == 500  # without replacement where the pool suffices
    with pytest.raises(ValueError, match="one length"):
        draw_rows(10, groups=[positives], shares=[0.5, 0.5], rng=rng)
