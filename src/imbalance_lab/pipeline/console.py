"""What a stage shows on the terminal, and what goes to its log.

``dvc repro`` runs each stage as ``imbalance-lab run STAGE``. The terminal shows what a person
needs: a start line, live progress bars of the notebook's long loops, and an end line with the
stage's duration and headline (or, when it fails, where its log is). Everything else the
notebook prints (papermill's cell log, displayed tables, library warnings, log messages) goes to
the stage's log, ``.imbalance-lab/logs/<stage>.log``; with ``IMBALANCE_LAB_VERBOSE=1`` (or
``imbalance-lab run --verbose``) the terminal shows it too.

The notebook's progress bars are tqdm's: text such as ``folds:  40%|####  | 4/10 [00:01<00:02]``
that reaches the runner as the kernel's stderr. :class:`StageConsole` redraws the latest one in
place on a terminal, and writes a line per quarter of a bar to a file or pipe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: Where each stage's log goes (``<stage>.log``); the kernel process's own stderr is appended too.
LOG_DIR = Path(".imbalance-lab") / "logs"
#: Set to 1 to show everything a stage prints on the terminal, as well as in its log.
VERBOSE_ENV = "IMBALANCE_LAB_VERBOSE"
#: The loggers whose records go to the stage's log only: papermill's (the notebook's output) and
#: this package's (the runner's own messages).
ROUTED_LOGGERS = ("papermill", "imbalance_lab", "traitlets", "nbclient")
#: A tqdm bar: its description, percentage, count and total.
PROGRESS = re.compile(r"(?:^|\r)\s*(?P<desc>[^\r\n|]*?):?\s*(?P<pct>\d{1,3})%\|[^|\r\n]*\|\s*(?P<n>\d+)/(?P<total>\d+)")


@dataclass
class Progress:
    """The state of one progress bar of the notebook."""

    desc: str
    n: int
    total: int


def parse_progress(text: str) -> Progress | None:
    """The last tqdm bar in ``text`` (a chunk of the kernel's stderr), or None."""
    bars = list(PROGRESS.finditer(text))
    if not bars:
        return None
    last = bars[-1]
    return Progress(last["desc"].strip(), int(last["n"]), int(last["total"]))


class StageConsole:
    """The lines a stage writes to the terminal.

    Parameters
    ----------
    stage : str
        The stage's name, the first word of every line.
    stream : file, optional
        Where to write (default: stderr).
    interactive : bool, optional
        Redraw progress in place (default: whether ``stream`` is a terminal).
    """

    def __init__(self, stage: str, *, stream: IO[str] | None = None, interactive: bool | None = None) -> None:
        self.stage = stage
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self._drawn = False
        self._reported: dict[str, int] = {}

    def _write(self, line: str) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self._drawn = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def start(self, what: str) -> None:
        """The stage's first line."""
        self._write(f"{self.stage}: {what}")

    def progress(self, bar: Progress) -> None:
        """Show a progress bar: redrawn in place on a terminal, a line a quarter elsewhere."""
        if bar.total <= 0:
            return
        share = min(1.0, bar.n / bar.total)
        if self.interactive:
            width = 24
            filled = round(width * share)
            text = f"  {bar.desc or self.stage} [{'#' * filled}{'.' * (width - filled)}] {bar.n}/{bar.total}"
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
            self._drawn = True
            return
        quarter = int(share * 4)
        key = f"{bar.desc}/{bar.total}"
        if quarter > self._reported.get(key, -1) and (quarter in (2, 4) or (bar.total >= 20 and quarter in (1, 3))):
            self._reported[key] = quarter
            self._write(f"  {bar.desc or self.stage}: {bar.n}/{bar.total}")

    def done(self, headline: str | None, seconds: float) -> None:
        """The stage's last line: its headline and how long it took."""
        self._write(f"{self.stage}: {headline + ', ' if headline else ''}{seconds:.0f} s")

    def failed(self, seconds: float, log: Path) -> None:
        """The line before the error: where the stage's log is."""
        self._write(f"{self.stage}: failed after {seconds:.0f} s; its log is {log}")


class _ProgressHandler(logging.Handler):
    """Passes the progress bars in the notebook's stderr (papermill's warnings) to the console."""

    def __init__(self, console: StageConsole) -> None:
        super().__init__(level=logging.WARNING)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        bar = parse_progress(record.getMessage())
        if bar is not None:
            self.console.progress(bar)


def verbose_from_env() -> bool:
    """Whether ``$IMBALANCE_LAB_VERBOSE`` asks to show everything."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def new_log(path: Path, stage: str) -> None:
    """Start a stage's log at ``path`` (replacing an older log) with a line naming the stage and
    the time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {stage}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")


class ElapsedFormatter(logging.Formatter):
    """Log lines that start with the seconds since ``since`` (a :func:`time.time`), e.g.
    ``   1.234 INFO papermill: Executing Cell 1``: where a stage's time goes, read off its log."""

    def __init__(self, since: float) -> None:
        super().__init__("%(elapsed)8.3f %(levelname)s %(name)s: %(message)s")
        self.since = since

    def format(self, record: logging.LogRecord) -> str:
        """The record's line, its seconds since ``since`` first."""
        record.elapsed = record.created - self.since
        return super().format(record)


@contextlib.contextmanager
def stage_log(
    path: Path, console: StageConsole, *, verbose: bool = False, replace: bool = True, since: float | None = None
) -> Iterator[Path]:
    """Send the notebook's output and the package's log messages to ``path`` for the duration
    of the block, and its progress bars to ``console``; with ``verbose``, to the terminal too,
    as before. With ``replace``, an older log is replaced (:func:`new_log`); without it, the
    block appends to the log (the runner starts it before the kernel, whose stderr it holds).
    Each line starts with the seconds since ``since`` (a :func:`time.time`; default: the
    block's start)."""
    if replace or not path.exists():
        new_log(path, console.stage)
    file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    file_handler.setFormatter(ElapsedFormatter(time.time() if since is None else since))
    progress = _ProgressHandler(console)
    saved = []
    for name in ROUTED_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(file_handler)
        logger.addHandler(progress)
        logger.setLevel(logging.INFO)
        logger.propagate = verbose
    try:
        yield path
    finally:
        for logger, propagate, level in saved:
            logger.removeHandler(file_handler)
            logger.removeHandler(progress)
            logger.propagate, logger.level = propagate, level
        file_handler.close()
