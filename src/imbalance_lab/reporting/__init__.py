"""Reporting: figures, DVC plot data, headline numbers, report sentences and the model card.

* :mod:`~imbalance_lab.reporting.figures`: the stages' matplotlib figures;
* :mod:`~imbalance_lab.reporting.study_figures`: an Optuna study's figures, made readable;
* :mod:`~imbalance_lab.reporting.plot_data`: curve data in dvclive's formats for ``dvc plots``;
* :mod:`~imbalance_lab.reporting.headlines`: the numbers a stage's metrics file holds;
* :mod:`~imbalance_lab.reporting.text`: plain-language sentences of the reports;
* :mod:`~imbalance_lab.reporting.model_card`: the model card.

Above :mod:`imbalance_lab.evaluation`; imports nothing higher. Submodules load on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
