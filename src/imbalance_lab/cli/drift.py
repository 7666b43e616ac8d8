"""``imbalance-lab drift``: check a CSV or Parquet file for drift against the model's training data.

Exit status 0 when no feature drifted, 3 when at least one did
(:data:`imbalance_lab.serving.drift.DRIFT_EXIT`), 2 on errors.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

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
        "--figure",
        metavar="FILE",
        help="write a chart of the PSI and the distance per feature here (.png, .svg or .pdf)",
    )
    parser.add_argument(
        "--psi-threshold",
        type=positive_float,
        default=None,
        metavar="X",
        help="the PSI threshold of the decision rule (default: the model's evaluate.psi_threshold)",
    )
    parser.add_argument(
        "--distance-threshold",
        type=positive_float,
        default=None,
        metavar="X",
        help="the distance threshold (Wasserstein in sd, Jensen-Shannon) of the decision rule (default 0.1)",
    )


def _describe(row: Any, attrs: dict[str, Any]) -> str:
    """What drifted in one row of the table, in words."""
    unit = " sd" if row.distance_name == "wasserstein" else ""
    name = "Wasserstein" if row.distance_name == "wasserstein" else "Jensen-Shannon"
    parts = [f"PSI {row.psi:.3g}", f"{name} {row.distance:.3g}{unit}"]
    if row.out_of_range and row.out_of_range > 0:
        parts.append(f"{row.out_of_range:.0%} outside the training range")
    if row.unseen:
        parts.append(f"{row.unseen} unseen")
    if row.missing_new - row.missing_ref >= 0.01:
        parts.append(f"missing {row.missing_ref:.0%} -> {row.missing_new:.0%}")
    return ", ".join(parts)


def main(args: argparse.Namespace) -> int:
    """Compare the file with the training data; returns 0, or the drift exit status."""
    from ..serving.drift import DISTANCE_THRESHOLD, DRIFT_EXIT, drift_file

    table, drifted = drift_file(
        args.model,
        args.input,
        report_path=args.report,
        figure_path=args.figure,
        psi_threshold=args.psi_threshold,
        distance_threshold=args.distance_threshold or DISTANCE_THRESHOLD,
    )
    attrs = table.attrs
    features = table[table["kind"] != "prediction"]
    for row in features[features["drifted"]].itertuples(index=False):
        log.warning("drift: %s (%s) %s", row.feature, row.kind, _describe(row, attrs))
    prediction = attrs.get("prediction")
    if prediction is not None:
        row = next(table[table["kind"] == "prediction"].itertuples(index=False))
        state = "drifted" if row.drifted else "stable"
        (log.warning if row.drifted else log.info)(
            "drift: model scores %s (%s): %s", state, _describe(row, attrs), prediction["note"]
        )
    if drifted:
        log.warning(
            "drift: %d of %d feature(s) drifted%s (exit status %d)",
            int(features["drifted"].sum()),
            len(features),
            ", and the model scores" if prediction is not None and prediction["drifted"] else "",
            DRIFT_EXIT,
        )
        return DRIFT_EXIT
    log.info(
        "drift: no feature drifted (%d rows; thresholds PSI %g and distance %g, beyond the sampling noise)",
        attrs["rows"],
        attrs["psi_threshold"],
        attrs["distance_threshold"],
    )
    return 0
