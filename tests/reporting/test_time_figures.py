"""Unit tests of imbalance_lab.reporting.time_figures: the class balance over time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imbalance_lab import data, reporting


def test_class_balance_over_time_marks_the_first_test_period():
    times = pd.Series(pd.date_range("2023-01-01", periods=400, freq="D"))
    balance = data.class_balance_over_time(times, np.arange(400) % 7 == 0)
    fig = reporting.class_balance_over_time(balance, test_from="2023-11-15")
    ax = fig.axes[0]
    assert ax.get_title() == "Class balance over time" and len(ax.patches) == len(balance) == 14
    line = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(line) == 1 and line[0].get_xdata()[0] == 10 - 0.5  # before November 2023, the 11th month
    assert "test (out of time) from 2023-11-15" in [t.get_text() for t in ax.texts]


def test_class_balance_over_time_without_a_time_split_or_with_numbers():
    balance = data.class_balance_over_time(pd.Series(np.arange(50.0)), np.arange(50) % 5 == 0, max_periods=5)
    fig = reporting.class_balance_over_time(balance)
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    fig = reporting.class_balance_over_time(balance, test_from="40")
    assert [ln.get_xdata()[0] for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"] == [3.5]
