"""``imbalance-lab tune-worker``: join the tune stage's Optuna study (database storage) and run
trials until none is left to create."""

from __future__ import annotations

import argparse
import sys

HELP = "join the tune stage's Optuna study (database storage) and run trials"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dvc-file", default="dvc.yaml")


def main(args: argparse.Namespace) -> int:
    """Run trials with the params, data and code of this checkout; returns the exit status."""
    from pathlib import Path

    import pandas as pd

    from ..data.schema import Schema
    from ..errors import TuneError
    from ..pipeline.params import load_params
    from ..pipeline.settings import n_jobs
    from ..pipeline.stages import read_stage
    from ..tuning.storage import STORAGE_ENV
    from ..tuning.worker import require_database_storage, run_worker

    params = load_params(args.params, sections=["tune"])
    tune = {**params["tune"], "storage_env": STORAGE_ENV, "n_jobs": n_jobs()}  # what the stage uses
    require_database_storage(tune)
    paths = read_stage("tune", dvc_file=args.dvc_file)["paths"]
    for key in ("train_path", "folds_path", "schema_path"):
        if not Path(paths[key]).exists():
            raise TuneError(f"{paths[key]}: not found; run `dvc pull` or `dvc repro prepare` on this machine first")
    counts = run_worker(
        tune=tune,
        seed=params["seed"],
        train=pd.read_parquet(paths["train_path"]),
        folds=pd.read_parquet(paths["folds_path"]),
        schema=Schema.read(paths["schema_path"]),
        journal_path=paths["study_journal_path"],
    )
    print(
        f"worker done: {counts['complete']} complete, {counts['pruned']} pruned, {counts['running']} running trials "
        "in the study",
        file=sys.stderr,
    )
    return 0
