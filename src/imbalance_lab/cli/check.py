"""``imbalance-lab check``: notebooks, params.yaml and dvc.yaml agree, stage inputs are tracked by
git, and the stage kernel starts."""

from __future__ import annotations

import argparse
import sys

HELP = (
    "check that notebooks, params.yaml and dvc.yaml agree, stage inputs are tracked by git and the stage kernel starts"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    parser.add_argument("--no-kernel", action="store_true", help="skip starting the stage kernel (a few seconds)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="notebook parameter defaults that differ from params.yaml are problems, not notes (CI)",
    )
    parser.add_argument(
        "--kernel-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time allowed for the kernel to start and import imbalance_lab (default 60)",
    )


def main(args: argparse.Namespace) -> int:
    """Print notes and problems; returns 1 when there are problems."""
    from ..pipeline.check import check_project

    notes: list[str] = []
    problems = check_project(
        ".", kernel=not args.no_kernel, notes=notes, kernel_timeout=args.kernel_timeout, strict=args.strict
    )
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
