"""Serving: the saved model artifact, scoring new data, and drift checks.

* :mod:`~imbalance_lab.serving.artifact`: the model directory, saved atomically and verified on load;
* :mod:`~imbalance_lab.serving.serialization`: a fitted pipeline as skops bytes, loading only
  allowed types;
* :mod:`~imbalance_lab.serving.inputs`: new data checked against the model's schema;
* :mod:`~imbalance_lab.serving.files`: new data's files read in chunks, scores written atomically;
* :mod:`~imbalance_lab.serving.scoring`: ``imbalance-lab predict``;
* :mod:`~imbalance_lab.serving.drift`: reference statistics and ``imbalance-lab drift``.

Above :mod:`imbalance_lab.reporting`; imports nothing higher. Submodules load on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
