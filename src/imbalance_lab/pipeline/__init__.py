"""Pipeline: the stages' machinery, around the notebooks that do the work.

* :mod:`~imbalance_lab.pipeline.params`: params.yaml, loaded and validated;
* :mod:`~imbalance_lab.pipeline.stages`: the stages as dvc.yaml declares them;
* :mod:`~imbalance_lab.pipeline.runner`: ``imbalance-lab run STAGE``, executing a stage's notebook
  with papermill, with :mod:`~imbalance_lab.pipeline.kernel` (the stage kernel),
  :mod:`~imbalance_lab.pipeline.outputs` (transactional outputs) and
  :mod:`~imbalance_lab.pipeline.report` (the executed notebook and its HTML);
* :mod:`~imbalance_lab.pipeline.notebook`: what every stage notebook does first;
* :mod:`~imbalance_lab.pipeline.check`: ``imbalance-lab check``, with
  :mod:`~imbalance_lab.pipeline.imports` (the package units a stage reads) and
  :mod:`~imbalance_lab.pipeline.tracked` (stage inputs under git).

The top layer but for :mod:`imbalance_lab.cli`. Submodules load on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
