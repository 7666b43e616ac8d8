"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .decision_figures import confusion_matrix, gains_chart, score_distributions, threshold_curve
from .figures import (
    calibration_curves,
    class_balance,
    cost_performance,
    drift_figure,
    feature_distributions,
    importances,
    learning_curve,
    missingness,
    pareto_front,
    pr_curves,
    ratio_sweep,
    roc_curves,
    score_intervals,
)
from .headlines import (
    TEST_METRICS,
    Headline,
    cross_validate_headline,
    evaluate_headline,
    imbalance_headline,
    prepare_headline,
    tune_headline,
)
from .model_card import model_card
from .plot_data import MAX_CURVE_POINTS, curve_data, write_confusion, write_curves
from .study_figures import figure_of, param_importances, tidy_parallel_coordinate
from .text import prior_shift_note, verdict_sentences
from .time_figures import class_balance_over_time

__all__ = [
    "MAX_CURVE_POINTS",
    "TEST_METRICS",
    "Headline",
    "calibration_curves",
    "class_balance",
    "class_balance_over_time",
    "confusion_matrix",
    "cost_performance",
    "cross_validate_headline",
    "curve_data",
    "drift_figure",
    "evaluate_headline",
    "feature_distributions",
    "figure_of",
    "gains_chart",
    "imbalance_headline",
    "importances",
    "learning_curve",
    "missingness",
    "model_card",
    "param_importances",
    "pareto_front",
    "pr_curves",
    "prepare_headline",
    "prior_shift_note",
    "ratio_sweep",
    "roc_curves",
    "score_distributions",
    "score_intervals",
    "threshold_curve",
    "tidy_parallel_coordinate",
    "tune_headline",
    "verdict_sentences",
    "write_confusion",
    "write_curves",
]
