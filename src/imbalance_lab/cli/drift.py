"""``imbalance-lab drift``: check a CSV or Parquet file for drift against the model's training data.

Exit status 0 when no feature drifted, 3 when at least one did
(:data:`imbalance_lab.serving.drift.DRIFT_EXIT`), 2 on errors.
"""

from __future__ import annotations

import argparse
import logging

from .arguments import positive_float

HELP = "check a CSV or Parquet file for drift against the training data"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    from ..serving.drift import DRIFT_EXIT

    parser.description = (
        f"Compare new data with the model's training data; exit status 0 when stable, "
        f"{DRIFT_EXIT} when a feature drifted, 2 on errors."
    )
    parser.add_argument("--model", required=True, metavar="DIR", help="model artifact directory")
    parser.add_argument("--input", required=True, metavar="FILE", help="*.csv or *.parquet")
    parser.add_argument("--report", metavar="FILE", help="write a JSON report here")
    parser.add_argument(
        "--figure", metavar="FILE", help="write a chart of the PSI per feature here (.png, .svg or .pdf)"
    )
    parser.add_argument(
        "--psi-threshold",
        type=positive_float,
        default=None,
        metavar="X",
        help="a feature drifts when its PSI exceeds this (default: the model's evaluate.psi_threshold)",
    )


def main(args: argparse.Namespace) -> int:
    """Compare the file with the training data; returns 0, or the drift exit status."""
    from ..serving.drift import DRIFT_EXIT, drift_file

    table, drifted = drift_file(
        args.model, args.input, report_path=args.report, figure_path=args.figure, psi_threshold=args.psi_threshold
    )
    threshold = table.attrs["psi_threshold"]
    for row in table.itertuples(index=False):
        if row.drifted:
            log.warning(
                "drift: %s (%s) PSI %.3f > %g, %s p=%.2g",
                row.feature,
                row.kind,
                row.psi,
                threshold,
                row.test,
                row.p_value,
            )
    if drifted:
        log.warning(
            "drift: %d of %d feature(s) drifted (exit status %d)", int(table["drifted"].sum()), len(table), DRIFT_EXIT
        )
        return DRIFT_EXIT
    log.info(
        "drift: no feature drifted (largest PSI %.3f, threshold %g)",
        float(table["psi"].max()) if len(table) else 0.0,
        threshold,
    )
    return 0
