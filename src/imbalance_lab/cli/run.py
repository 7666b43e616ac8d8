"""``imbalance-lab run STAGE``: execute one pipeline stage's notebook (the cmd of each dvc.yaml stage)."""

from __future__ import annotations

import argparse

HELP = "execute one pipeline stage's notebook (the cmd of each dvc.yaml stage)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("stage")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dvc-file", default="dvc.yaml")


def main(args: argparse.Namespace) -> int:
    """Run the stage; returns the exit status."""
    from ..pipeline.runner import run_stage

    run_stage(args.stage, params_file=args.params, dvc_file=args.dvc_file)
    return 0
