"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

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
from .headlines import HEADLINE_METRICS, headline
from .model_card import model_card
from .plot_data import MAX_CURVE_POINTS, curve_data, write_confusion, write_curves
from .study_figures import figure_of, param_importances, tidy_parallel_coordinate
from .text import prior_shift_note, verdict_sentences

__all__ = [
    "HEADLINE_METRICS",
    "MAX_CURVE_POINTS",
    "calibration_curves",
    "class_balance",
    "cost_performance",
    "curve_data",
    "drift_figure",
    "feature_distributions",
    "figure_of",
    "headline",
    "importances",
    "learning_curve",
    "missingness",
    "model_card",
    "param_importances",
    "pareto_front",
    "pr_curves",
    "prior_shift_note",
    "ratio_sweep",
    "roc_curves",
    "score_intervals",
    "tidy_parallel_coordinate",
    "verdict_sentences",
    "write_confusion",
    "write_curves",
]
