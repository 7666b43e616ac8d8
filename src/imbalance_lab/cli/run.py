"""``imbalance-lab run STAGE``: execute one pipeline stage's notebook (the cmd of each dvc.yaml stage)."""

from __future__ import annotations

import argparse

HELP = "execute one pipeline stage's notebook (the cmd of each dvc.yaml stage)"


def stage_names(dvc_file: str = "dvc.yaml") -> list[str]:
    """The stages of ``dvc_file`` that run a notebook, or none when it cannot be read."""
    import yaml

    try:
        with open(dvc_file, encoding="utf-8") as fh:
            stages = (yaml.safe_load(fh) or {}).get("stages") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    return [name for name, spec in stages.items() if str((spec or {}).get("cmd", "")).startswith("imbalance-lab run ")]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    stages = stage_names()
    parser.add_argument(
        "stage",
        choices=stages or None,
        metavar="STAGE",
        help="the stage to run: "
        + (", ".join(stages) if stages else "a stage of dvc.yaml")
        + " (dvc repro runs them in order)",
    )
    parser.add_argument("--params", default="params.yaml", help="the params file (default params.yaml)")
    parser.add_argument("--dvc-file", default="dvc.yaml", help="the pipeline file (default dvc.yaml)")
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=None,
        help="show everything the notebook prints, not only progress and the headline "
        "(also IMBALANCE_LAB_VERBOSE=1); it always goes to .imbalance-lab/logs/STAGE.log",
    )


def main(args: argparse.Namespace) -> int:
    """Run the stage; returns the exit status."""
    from ..pipeline.runner import run_stage

    run_stage(args.stage, params_file=args.params, dvc_file=args.dvc_file, verbose=args.verbose)
    return 0
