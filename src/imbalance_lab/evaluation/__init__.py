"""Evaluation: metrics, thresholds, cross-validation on the stored folds, statistics, importance
and selection.

* :mod:`~imbalance_lab.evaluation.metrics`: the metric registry (:data:`METRICS`) and the
  metrics of one set of predictions;
* :mod:`~imbalance_lab.evaluation.thresholds`: choosing a decision threshold;
* :mod:`~imbalance_lab.evaluation.cross_validation`: fitting and scoring pipelines on every
  stored fold, with the fold fits shared through :mod:`~imbalance_lab.evaluation.caches`;
* :mod:`~imbalance_lab.evaluation.learning`: learning curves;
* :mod:`~imbalance_lab.evaluation.statistics`: corrected resampled t statistics, Holm, BCa
  bootstrap intervals;
* :mod:`~imbalance_lab.evaluation.importance`: permutation importance;
* :mod:`~imbalance_lab.evaluation.selection`: choosing models and strategies.

Above :mod:`imbalance_lab.modeling`; imports nothing higher. Submodules load on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "cross_validation": ["CVResult", "cross_validate", "cross_validate_models", "scores_at_threshold"],
        "importance": ["permutation_importance"],
        "learning": ["learning_curve"],
        "metrics": [
            "CROSS_VALIDATE_METRICS",
            "CURVE_METRICS",
            "IMBALANCE_METRICS",
            "LOWER_IS_BETTER",
            "METRICS",
            "Metric",
            "SCORE_METRICS",
            "THRESHOLD_METRICS",
            "TUNE_METRICS",
            "capture_at_k",
            "direction",
            "expected_calibration_error",
            "score_metric",
            "score_predictions",
            "threshold_metrics",
            "top_k",
        ],
        "selection": [
            "SUMMARY_METRICS",
            "cheapest_as_good",
            "choose_strategy",
            "primary_scores",
            "ratio_grid",
            "ratio_sweep",
            "selection_column",
        ],
        "statistics": [
            "bca_levels",
            "best_model",
            "bootstrap_ci",
            "compare_with",
            "corrected_ci",
            "corrected_ttest",
            "fold_size_ratio",
            "holm",
            "summarize",
        ],
        "thresholds": ["THRESHOLD_OBJECTIVES", "choose_threshold"],
    },
)
