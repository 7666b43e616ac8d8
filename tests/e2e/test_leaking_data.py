"""Data that gives the target away: a file sorted by the target, written by pandas with its row
index (``Unnamed: 0``) and a running customer number. prepare names both columns in its report.
(That tune then survives trials that all score the same is tested in ``tests/test_plots.py``.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.support import SMALL, copy_project, run, update_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def leaking(tmp_path_factory):
    n = 600  # half positive, so that no hyperparameter setting of the search stops the one split
    df = pd.DataFrame({"customer_no": np.arange(5000, 5000 + n), "bought": (np.arange(n) >= n // 2).astype(int)})
    root = copy_project(tmp_path_factory.mktemp("leaking") / "project")
    raw = root / "data" / "raw"
    for f in raw.iterdir():
        f.unlink()
    df.to_csv(raw / "sales.csv")  # with the index, as to_csv writes by default
    update_params(
        root,
        {
            **SMALL,
            "prepare": {
                **SMALL["prepare"],
                "sources": [{"path": "sales.csv"}],
                "target": "bought",
                "positive_label": 1,
                "categorical": [],
            },
        },
    )
    run(["imbalance-lab", "run", "prepare"], root)
    return root


def test_prepare_reports_the_columns_that_number_the_rows(leaking):
    report = (leaking / "reports" / "01_prepare.html").read_text()
    assert "look like identifiers or row numbers" in report
    assert "<code>Unnamed: 0</code>" in report and "<code>customer_no</code>" in report
