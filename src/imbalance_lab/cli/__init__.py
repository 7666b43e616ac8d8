"""The ``imbalance-lab`` command: one module per subcommand, each with ``HELP``,
``add_arguments(parser)`` and ``main(args) -> exit status``, and no logic of its own.

Errors in the user's input are printed as one line (``error: ...``) with exit status 2; a
traceback is shown only with ``--debug`` or ``IMBALANCE_LAB_DEBUG=1``.

Every dvc.yaml stage runs ``imbalance-lab run STAGE``, so this package is one of each stage's
deps. A command imports the code it needs when it runs, and its parser's options only when it is
the command (or for ``--help``): a stage's command reads this package and the pipeline runner,
not the scoring code.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import __version__
from ..errors import ImbalanceLabError
from . import check, drift, predict, report, run, tune_worker

EXIT_ERROR = 2
#: The commands that end their process at once when run as the installed command (:func:`console`).
QUICK_EXIT = frozenset({"run", "report"})
#: The subcommands, by name.
COMMANDS = {
    "run": run,
    "report": report,
    "tune-worker": tune_worker,
    "check": check,
    "predict": predict,
    "drift": drift,
}
DESCRIPTION = (
    "imbalance-lab: run a stage of the pipeline (dvc repro does), join its tuning from other machines, "
    "check the project, score new data with the saved model and check new data for drift."
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    Parameters
    ----------
    command : str, optional
        The subcommand about to be parsed: only its options are added (the others are named,
        with their help); all of them when it is None or not a command.
    """
    parser = argparse.ArgumentParser(prog="imbalance-lab", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"imbalance-lab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    common = argparse.ArgumentParser(add_help=False)  # --debug after the subcommand too
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        subparser = sub.add_parser(
            name, help=module.HELP, description=module.HELP[0].upper() + module.HELP[1:] + ".", parents=[common]
        )
        if command not in COMMANDS or command == name:
            module.add_arguments(subparser)
        subparser.set_defaults(func=module.main)
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


def console() -> None:
    """The installed ``imbalance-lab`` command: :func:`main`, then the process ends.

    A stage's process (``run``, ``report``: every stage of ``dvc repro``) ends at once, without
    tearing down the modules it imported: that takes about 0.2 s after pandas, optuna, papermill
    and nbconvert, and nothing is left to do by then (the outputs are written atomically and
    closed, the kernel is shut down, the logs are flushed here). Other commands exit as usual.
    """
    status = main()
    if command_name(sys.argv[1:]) in QUICK_EXIT:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
