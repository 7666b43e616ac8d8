"""The public API of this subpackage, for type checkers and lazy_loader.attach_stub."""

from .ids import ID_HASH, SALT_ENV, hash_ids
from .prepared import PREPARED_FILES, PreparedData, prepared_file, read_prepared, read_prepared_summary, write_prepared
from .profile import class_shares, feature_profile
from .schema import Schema
from .sources import CSV_OPTIONS, EXCEL_OPTIONS, header_like_data, read_source, read_sources, union_sources
from .split import iter_splits, make_folds, split_holdout, split_summary, split_xy, time_cutoff
from .target import TargetMapping, describe_target, encode_target, map_target
from .times import DATE_FEATURES, SPLITS, add_date_features, class_balance_over_time, date_features, parse_times
from .validation import validate_and_clean
from .values import TRUTH_TEXT

__all__ = [
    "CSV_OPTIONS",
    "DATE_FEATURES",
    "EXCEL_OPTIONS",
    "ID_HASH",
    "PREPARED_FILES",
    "SALT_ENV",
    "SPLITS",
    "TRUTH_TEXT",
    "PreparedData",
    "Schema",
    "TargetMapping",
    "add_date_features",
    "class_balance_over_time",
    "class_shares",
    "date_features",
    "describe_target",
    "encode_target",
    "feature_profile",
    "hash_ids",
    "header_like_data",
    "iter_splits",
    "make_folds",
    "map_target",
    "parse_times",
    "prepared_file",
    "read_prepared",
    "read_prepared_summary",
    "read_source",
    "read_sources",
    "split_holdout",
    "split_summary",
    "split_xy",
    "time_cutoff",
    "union_sources",
    "validate_and_clean",
    "write_prepared",
]
