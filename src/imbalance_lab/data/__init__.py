"""Data: read the raw sources, validate them, the schema, the holdout split and the shared folds.

The lowest layer of the package beside :mod:`imbalance_lab.errors` and :mod:`imbalance_lab.io`:
it imports nothing else of the package. Modules:

* :mod:`~imbalance_lab.data.sources`: CSV, Excel, Parquet and SQL sources, stacked into one frame;
* :mod:`~imbalance_lab.data.values`: what a raw column's values are (numbers, booleans, dates);
* :mod:`~imbalance_lab.data.target`: the 0/1 target (labels on each side, one-vs-rest);
* :mod:`~imbalance_lab.data.times`: a time column: parsed, calendar features, class balance over time;
* :mod:`~imbalance_lab.data.ids`: identifiers kept as salted hashes;
* :mod:`~imbalance_lab.data.validation`: the checks that turn raw data into model-ready columns;
* :mod:`~imbalance_lab.data.schema`: :class:`Schema`, the prepared data's columns;
* :mod:`~imbalance_lab.data.split`: the holdout split and the shared folds;
* :mod:`~imbalance_lab.data.prepared`: the prepared-data directory prepare writes and every later
  stage reads;
* :mod:`~imbalance_lab.data.profile`: per-feature summaries by class.

Submodules are imported when one of their names is first used (SPEC 1 lazy loading), so that
``import imbalance_lab.data.schema`` does not import scikit-learn.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
