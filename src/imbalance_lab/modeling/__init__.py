"""Modeling: the preprocessing, the model registry, the imbalance strategies, and the pipelines
that join them.

* :mod:`~imbalance_lab.modeling.features`: preprocessing built from the schema;
* :mod:`~imbalance_lab.modeling.models`: the model registry (:data:`MODELS`);
* :mod:`~imbalance_lab.modeling.strategies`: the imbalance-strategy registry
  (:data:`STRATEGIES`) and the class prior a strategy trains at;
* :mod:`~imbalance_lab.modeling.samplers`: the samplers and estimators that carry a strategy;
* :mod:`~imbalance_lab.modeling.smotenc`: SMOTE-NC in a fraction of imbalanced-learn's memory;
* :mod:`~imbalance_lab.modeling.pipelines`: :func:`make_pipeline`,
  :func:`make_strategy_pipeline` and :func:`fitted_rows`;
* :mod:`~imbalance_lab.modeling.boosting`: XGBoost trained from its matrix
  (:func:`training_matrix`, :func:`fit_on_matrix`), so that its input can go first.

Above :mod:`imbalance_lab.data`; imports nothing higher. Submodules load on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
