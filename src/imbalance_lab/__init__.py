"""imbalance-lab: a reproducible research pipeline for imbalanced binary classification."""

__version__ = "0.1.0"
