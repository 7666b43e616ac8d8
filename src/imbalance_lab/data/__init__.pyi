"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .ids import ID_HASH, SALT_ENV, hash_ids
from .prepared import PREPARED_FILES, PreparedData, prepared_file, read_prepared, read_prepared_summary, write_prepared
from .profile import class_shares, feature_profile
from .schema import Schema
from .sources import CSV_OPTIONS, read_source, read_sources, union_sources
from .split import iter_splits, make_folds, split_holdout, split_xy
from .target import encode_target
from .validation import validate_and_clean
from .values import TRUTH_TEXT

__all__ = [
    "CSV_OPTIONS",
    "ID_HASH",
    "PREPARED_FILES",
    "SALT_ENV",
    "TRUTH_TEXT",
    "PreparedData",
    "Schema",
    "class_shares",
    "encode_target",
    "feature_profile",
    "hash_ids",
    "iter_splits",
    "make_folds",
    "prepared_file",
    "read_prepared",
    "read_prepared_summary",
    "read_source",
    "read_sources",
    "split_holdout",
    "split_xy",
    "union_sources",
    "validate_and_clean",
    "write_prepared",
]
