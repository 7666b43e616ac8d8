"""``imbalance-lab tune-worker``: join the tune stage's Optuna study (database storage) and run
trials until none is left to create."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "join the tune stage's Optuna study (database storage) and run trials"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dvc-file", default="dvc.yaml")


def main(args: argparse.Namespace) -> int:
    """Run trials with the params, data and code of this checkout; returns the exit status."""
    from ..data.prepared import PREPARED_FILES, read_prepared
    from ..errors import TuneError
    from ..pipeline.params import load_params
    from ..pipeline.settings import n_jobs
    from ..pipeline.stages import read_stage
    from ..tuning.worker import require_database_storage, run_worker

    params = load_params(args.params, sections=["tune"])
    require_database_storage()
    paths = read_stage("tune", dvc_file=args.dvc_file)["paths"]
    prepared_dir = Path(paths["prepared_dir"])
    if not all((prepared_dir / name).exists() for name in PREPARED_FILES.values()):
        raise TuneError(f"{prepared_dir}: not found; run `dvc pull` or `dvc repro prepare` on this machine first")
    counts = run_worker(
        tune=params["tune"],
        seed=params["seed"],
        prepared=read_prepared(prepared_dir),
        journal_path=paths["study_journal_path"],
        n_jobs=n_jobs(),
    )
    print(
        f"worker done: {counts['complete']} complete, {counts['pruned']} pruned, {counts['running']} running trials "
        "in the study",
        file=sys.stderr,
    )
    return 0
