"""Unit tests of imbalance_lab.reporting.text: the sentences of the imbalance report."""

from __future__ import annotations

import numpy as np
import pytest

from imbalance_lab import modeling, reporting


def test_verdict_sentences_name_every_strategy_and_the_level():
    import pandas as pd

    from imbalance_lab.reporting import verdict_sentences

    table = pd.DataFrame(
        {
            "difference": [0.05, -0.04, 0.001],
            "p_holm": [0.01, 0.02, 0.9],
            "verdict": ["better", "worse", "indistinguishable"],
        },
        index=["smote", "random_under", "class_weight"],
    )
    text = " ".join(verdict_sentences(table, baseline="none", metric="average_precision", alpha=0.05))
    assert "significantly better than `none`" in text and "`smote` (+0.0500" in text
    assert "significantly worse" in text and "`random_under`" in text
    assert "not distinguishable" in text and "`class_weight`" in text and "alpha=0.05" in text


def test_prior_shift_note_names_the_correction_for_strategies_that_shift_the_prevalence():
    y = np.r_[np.ones(10, int), np.zeros(90, int)]
    assert reporting.prior_shift_note("none", y) is None and reporting.prior_shift_note("threshold_moving", y) is None
    note = reporting.prior_shift_note("class_weight", y)
    assert "positive share of 0.5 (the data's is 0.1)" in note
    assert "prior_correction(score, train_prevalence=0.1, sampled_prevalence=0.5)" in note
    # the call it names gives back the data's prevalence from balanced scores
    assert modeling.prior_correction([0.5], train_prevalence=0.1, sampled_prevalence=0.5)[0] == pytest.approx(0.1)
    assert "sampled_prevalence=0.2)" in reporting.prior_shift_note("random_under", y, 0.25)
    assert "overstate" in note and "understate" in reporting.prior_shift_note(
        "class_weight", 1 - y
    )  # positives the majority
