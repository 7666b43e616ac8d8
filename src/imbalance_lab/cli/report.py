"""``imbalance-lab report``: write reports/index.html, the study on one page (the cmd of the
``report`` stage of dvc.yaml)."""

from __future__ import annotations

import argparse
import sys

HELP = "write reports/index.html: each stage's headline and a link to its report (the cmd of the report stage)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("--dvc-file", default="dvc.yaml", help="the pipeline file (default dvc.yaml)")


def main(args: argparse.Namespace) -> int:
    """Write the index; returns the exit status."""
    from ..pipeline.index import write_index

    path = write_index(args.dvc_file)
    print(f"report: wrote {path}", file=sys.stderr)
    return 0
