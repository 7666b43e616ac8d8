"""``imbalance-lab predict``: score a CSV or Parquet file with a saved model."""

from __future__ import annotations

import argparse
import logging

from .arguments import positive_int

HELP = "score a CSV or Parquet file with a saved model"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    from ..serving.scoring import DEFAULT_CHUNKSIZE, DEFAULT_SALT_ENV

    parser.description = "Score a CSV or Parquet file with a saved model; writes the id columns, score and label."
    parser.add_argument("--model", required=True, metavar="DIR", help="model artifact directory")
    parser.add_argument("--input", required=True, metavar="FILE", help="*.csv or *.parquet")
    parser.add_argument(
        "--output", required=True, metavar="FILE", help="*.csv (.csv.gz, .csv.bz2, .csv.xz) or *.parquet"
    )
    parser.add_argument(
        "--chunksize",
        type=positive_int,
        default=DEFAULT_CHUNKSIZE,
        metavar="N",
        help=f"rows per chunk (default {DEFAULT_CHUNKSIZE})",
    )
    parser.add_argument(
        "--salt-env",
        default=DEFAULT_SALT_ENV,
        metavar="NAME",
        help="environment variable with the salt of prepare.hash_columns: id columns the model "
        f"keeps hashed are written hashed (default {DEFAULT_SALT_ENV})",
    )
    parser.add_argument(
        "--keep-ids",
        action="store_true",
        help="write the id columns as they are in the input (e.g. prepared data, already hashed)",
    )
    parser.add_argument(
        "--id-column",
        action="append",
        metavar="NAME",
        help="an input column to write as the id, instead of the model's id columns (repeat for "
        "several); hashed like them unless --keep-ids",
    )


def main(args: argparse.Namespace) -> int:
    """Score the file; returns the exit status."""
    from ..serving.scoring import predict_file

    summary = predict_file(
        args.model,
        args.input,
        args.output,
        chunksize=args.chunksize,
        salt_env=args.salt_env,
        keep_ids=args.keep_ids,
        id_columns=args.id_column,
    )
    unseen = {c: n for c, n in summary["unseen_categories"].items() if n}
    log.info(
        "predict: %d row(s), %d positive; unseen categories: %s",
        summary["rows"],
        summary["positives"],
        unseen or "none",
    )
    return 0
