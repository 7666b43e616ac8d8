"""The ``imbalance-lab`` command.

Errors in the user's input are printed as one line (``error: ...``) with exit status 2; a
traceback is shown only with ``--debug`` or ``IMBALANCE_LAB_DEBUG=1``.

Every dvc.yaml stage runs ``imbalance-lab run STAGE``, so this module is one of each stage's
deps. It imports only :mod:`imbalance_lab.errors` itself; each command imports the modules it
needs when it runs, and the options of ``predict`` and ``drift`` (in :mod:`imbalance_lab.scoring`,
which loads the model artifact code) are added only when one of them is the command. A stage's
command thus reads this module, the runner and what they import (``imbalance-lab check``
compares that with each stage's deps), not the scoring code.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .errors import ImbalanceLabError

EXIT_ERROR = 2
#: Commands whose parser and code need nothing from :mod:`imbalance_lab.scoring`.
SELF_CONTAINED_COMMANDS = frozenset({"run", "tune-worker", "check"})

log = logging.getLogger(__name__)


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_stage

    run_stage(args.stage, params_file=args.params, dvc_file=args.dvc_file)
    return 0


def run_worker(*, params_file: str = "params.yaml", dvc_file: str = "dvc.yaml") -> dict[str, int]:
    """``imbalance-lab tune-worker``: join the study of the current params, data and code (once
    the tune stage has created it) and run trials until none is left to create. Needs database
    storage (``$<tune.storage_env>``).

    It lives here, not in :mod:`imbalance_lab.tuning`, so that the code a trial runs
    (:func:`imbalance_lab.tuning.trial_code`) does not include the worker's own.

    Returns
    -------
    dict
        Trial counts per state at the end.
    """
    from pathlib import Path

    import pandas as pd

    from .errors import TuneError
    from .files import read_json
    from .params import load_params
    from .runner import read_stage
    from .tuning import setup_study, work

    params = load_params(params_file, sections=["tune"])
    tune = params["tune"]
    if not os.environ.get(tune["storage_env"], "").strip():
        raise TuneError(f"tune-worker needs a shared database: export {tune['storage_env']}=postgresql://user:password@host/db "
                        "(the same value as for the tune stage)")
    paths = read_stage("tune", dvc_file=dvc_file)["paths"]
    for key in ("train_path", "folds_path", "schema_path"):
        if not Path(paths[key]).exists():
            raise TuneError(f"{paths[key]}: not found; run `dvc pull` or `dvc repro prepare` on this machine first")
    study, storage, task = setup_study(tune=tune, seed=params["seed"], train=pd.read_parquet(paths["train_path"]),
                                       folds=pd.read_parquet(paths["folds_path"]), schema=read_json(paths["schema_path"]),
                                       journal_path=paths["study_journal_path"], create=False)
    log.info("worker joined study %s (%s)", study.study_name, storage.description)
    return work(study, storage, task, n_trials=tune["n_trials"], timeout=tune["timeout"], wait=False)


def _cmd_tune_worker(args: argparse.Namespace) -> int:
    c = run_worker(params_file=args.params, dvc_file=args.dvc_file)
    print(f"worker done: {c['complete']} complete, {c['pruned']} pruned, {c['running']} running trials in the study",
          file=sys.stderr)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import check_project

    notes: list[str] = []
    problems = check_project(".", kernel=not args.no_kernel, notes=notes, kernel_timeout=args.kernel_timeout,
                             strict=args.strict)
    for n in notes:
        print(f"note: {n}", file=sys.stderr)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    if problems:
        print(f"error: {len(problems)} problem(s) found", file=sys.stderr)
        return 1
    done = ["notebooks, params.yaml and dvc.yaml agree"]
    if not any("git" in n for n in notes):
        done.append("stage inputs are tracked by git")
    if not args.no_kernel:
        done.append("the stage kernel starts and imports this project's package")
    print(f"ok: {'; '.join(done)}", file=sys.stderr)
    return 0


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    Parameters
    ----------
    command : str, optional
        The subcommand about to be parsed. When it is one of :data:`SELF_CONTAINED_COMMANDS`,
        ``predict`` and ``drift`` are only named, without their options, and
        :mod:`imbalance_lab.scoring` is not imported.
    """
    parser = argparse.ArgumentParser(prog="imbalance-lab", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute one pipeline stage's notebook (the cmd of each dvc.yaml stage)")
    run.add_argument("stage")
    run.add_argument("--params", default="params.yaml")
    run.add_argument("--dvc-file", default="dvc.yaml")
    run.set_defaults(func=_cmd_run)

    worker = sub.add_parser("tune-worker", help="join the tune stage's Optuna study (database storage) and run trials")
    worker.add_argument("--params", default="params.yaml")
    worker.add_argument("--dvc-file", default="dvc.yaml")
    worker.set_defaults(func=_cmd_tune_worker)

    check = sub.add_parser("check", help="check that notebooks, params.yaml and dvc.yaml agree, stage inputs are "
                           "tracked by git and the stage kernel starts")
    check.add_argument("--no-kernel", action="store_true", help="skip starting the stage kernel (a few seconds)")
    check.add_argument("--strict", action="store_true",
                       help="notebook parameter defaults that differ from params.yaml are problems, not notes (CI)")
    check.add_argument("--kernel-timeout", type=float, default=60.0, metavar="SECONDS",
                       help="time allowed for the kernel to start and import imbalance_lab (default 60)")
    check.set_defaults(func=_cmd_check)

    # predict and drift are named here; their options come from scoring.py, which is loaded
    # only when one of them is the command (or none is, as for --help)
    predict = sub.add_parser("predict", help="score a CSV or Parquet file with a saved model")
    drift = sub.add_parser("drift", help="check a CSV or Parquet file for drift against the training data")
    if command not in SELF_CONTAINED_COMMANDS:
        from .scoring import add_drift_arguments, add_predict_arguments

        add_predict_arguments(predict)
        add_drift_arguments(drift)
    return parser


def command_name(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (its first argument that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command_name(argv)).parse_args(argv)
    debug = args.debug or os.environ.get("IMBALANCE_LAB_DEBUG", "") not in ("", "0")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args)
    except ImbalanceLabError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
