"""Unit tests of imbalance_lab.reporting.decision_figures: what each figure draws is the number
it names (read back from the drawn lines, bars and labels)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score, precision_score, recall_score

from imbalance_lab import reporting
from imbalance_lab.evaluation.metrics import capture_at_k


def _line(ax, label):
    return next(line for line in ax.get_lines() if line.get_label() == label)


def test_threshold_curve_draws_precision_recall_and_f1_at_each_threshold(predictions):
    y, s = predictions
    fig = reporting.threshold_curve(y, s, threshold=0.4, cost_fp=1, cost_fn=10, points=21)
    ax, costs = fig.axes
    grid = _line(ax, "precision").get_xdata()
    for i in (0, 5, 10, 15):
        predicted = (s >= grid[i]).astype(int)
        assert _line(ax, "precision").get_ydata()[i] == pytest.approx(precision_score(y, predicted, zero_division=0))
        assert _line(ax, "recall").get_ydata()[i] == pytest.approx(recall_score(y, predicted))
        assert _line(ax, "f1").get_ydata()[i] == pytest.approx(f1_score(y, predicted))
        fp, fn = int(((predicted == 1) & (y == 0)).sum()), int(((predicted == 0) & (y == 1)).sum())
        assert _line(costs, "cost").get_ydata()[i] == pytest.approx((fp + 10 * fn) / (10 * y.sum()))
    marked = [line for line in ax.get_lines() if list(line.get_xdata()) == [0.4, 0.4]]
    assert len(marked) == 1
    chosen = (s >= 0.4).astype(int)
    assert f"precision {precision_score(y, chosen):.2f}, recall {recall_score(y, chosen):.2f}" in ax.texts[0].get_text()


def test_threshold_curve_marks_nothing_when_no_row_is_labelled_positive(predictions):
    y, s = predictions
    ax = reporting.threshold_curve(y, s, threshold=1.5).axes[0]
    assert len(ax.texts) == 0 and len(ax.get_lines()) == 3


def test_gains_chart_marks_the_share_of_positives_in_the_top_k(predictions):
    y, s = predictions
    gains, lift = reporting.gains_chart(y, s, k=0.2).axes
    model = _line(gains, "model")
    assert (model.get_xdata()[0], model.get_ydata()[0]) == (0, 0) and model.get_ydata()[-1] == pytest.approx(1)
    point = gains.collections[0].get_offsets()[0]
    assert point[0] == pytest.approx(0.2) and point[1] == pytest.approx(capture_at_k(y, s, k=0.2))
    assert lift.get_lines()[0].get_ydata()[-1] == pytest.approx(1)  # all rows: as good as random
    assert reporting.gains_chart(y, s, k=40).axes[0].collections[0].get_offsets()[0][0] == pytest.approx(0.2)


def test_score_distributions_show_each_class_as_shares_of_its_rows(predictions):
    y, s = predictions
    ax = reporting.score_distributions(y, s, threshold=0.3).axes[0]
    heights = [sum(p.get_height() for p in container) for container in ax.containers]
    assert heights == [pytest.approx(1), pytest.approx(1)]
    labels = ax.get_legend_handles_labels()[1]
    assert f"positive ({int(y.sum())})" in labels and "threshold 0.3" in labels


def test_confusion_matrix_shows_the_counts_and_the_share_of_each_actual_class(predictions):
    y, s = predictions
    predicted = (s >= 0.4).astype(int)
    ax = reporting.confusion_matrix(y, predicted).axes[0]
    expected = sk_confusion_matrix(y, predicted)
    shown = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    for actual in (0, 1):
        for pred in (0, 1):
            share = expected[actual, pred] / expected[actual].sum()
            assert shown[(actual, pred)] == f"{expected[actual, pred]}\n{share:.1%}"
    assert np.allclose(ax.images[0].get_array(), expected / expected.sum(axis=1, keepdims=True))
