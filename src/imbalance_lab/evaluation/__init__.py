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

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
