"""Unit tests of imbalance_lab.data.values: the helpers that read and convert column values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([" a", None, "b ", " a", np.nan, "c"], dtype=object),
        pd.Series(pd.Categorical(["x ", None, "y", "x "])),
        pd.Series([1.0, np.nan, 2.5, 1.0]),
        pd.Series([1, 1.0, True, "1", None, " 1 "], dtype=object),  # mixed types: 1, 1.0 and True stay apart
    ],
)
def test_map_distinct_equals_a_per_row_map(values):
    from imbalance_lab.data.target import norm_label as _norm_label
    from imbalance_lab.data.values import map_distinct as _map_distinct
    from imbalance_lab.data.values import strip_text as _strip_text

    for func in (_strip_text, _norm_label):
        expected = [None if pd.isna(v) else func(v) for v in values]
        got = _map_distinct(values, func)
        assert got.index.equals(values.index)
        assert got.tolist() == expected
