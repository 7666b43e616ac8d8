"""What every stage notebook does first: find the project root, set up logging and display."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any


def project_root(start: str | Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding both dvc.yaml and params.yaml."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "dvc.yaml").exists() and (d / "params.yaml").exists():
            return d
    raise FileNotFoundError(f"no dvc.yaml and params.yaml at or above {here}; open the notebook inside the project")


def show_figures_as_png() -> bool:
    """Make IPython show a matplotlib :class:`~matplotlib.figure.Figure` as its PNG image
    (:func:`imbalance_lab.io.figure_bytes`: the bytes the stage saves, no volatile metadata),
    with its titles as the image's alternative text (:func:`figure_alt`).

    The figures are built with the object API, without pyplot, so no backend would render them
    and a report would hold only ``<Figure size ...>``. When a library imports pyplot later (optuna's
    plots), matplotlib-inline puts its own formatter in place; a ``post_execute`` hook, which runs
    before the inline backend shows the cell's figures, puts this one back. Returns False outside
    IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    from ..io import figure_bytes

    png = shell.display_formatter.formatters["image/png"]

    def show(fig: Any) -> tuple[bytes, dict[str, str]]:
        return figure_bytes(fig), {"alt": figure_alt(fig)}

    def keep() -> None:
        if png.lookup_by_type(Figure) is not show:
            png.for_type(Figure, show)

    png.for_type(Figure, show)
    global _KEEP
    if _KEEP in shell.events.callbacks["post_execute"]:  # setup() run again in this kernel: one hook
        shell.events.unregister("post_execute", _KEEP)
    shell.events.register("post_execute", keep)
    _KEEP = keep
    return True


#: The ``post_execute`` hook of :func:`show_figures_as_png` (one per kernel).
_KEEP: Any = None


def figure_alt(fig: Any) -> str:
    """A figure's alternative text for the HTML report: its title and its axes' titles."""
    titles = [fig.get_suptitle(), *(ax.get_title() for ax in fig.axes)]
    return "; ".join(t for t in titles if t) or "figure"


def setup(*, level: int = logging.INFO) -> Path:
    """Change to the project root (so the notebook runs the same from JupyterLab and the
    pipeline), log to stderr without timestamps (so reports are reproducible), show figures as
    PNG images (:func:`show_figures_as_png`), and set pandas display options. Returns the
    project root."""
    show_figures_as_png()
    root = project_root()
    os.chdir(root)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    for noisy in ("matplotlib", "PIL", "numexpr"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import pandas as pd

    pd.set_option("display.max_columns", 40)
    pd.set_option("display.width", 160)
    pd.set_option("display.precision", 4)
    return root


#: The output metadata key that marks a stage's headline (:func:`show_headline`).
HEADLINE_KEY = "imbalance_lab_headline"


def show_headline(line: str, table: Any = None) -> None:
    """Display the stage's headline: one line for the terminal's end line and the top of the
    report, and optionally a small table (a DataFrame or Series) under it.

    The stage runner finds them by their output metadata (:data:`HEADLINE_KEY`), prints the line
    when the stage ends and shows both first in the HTML report.
    """
    from IPython.display import Markdown, display

    display(Markdown(f"**{line}**"), metadata={HEADLINE_KEY: {"line": line}})
    if table is not None:
        display(table, metadata={HEADLINE_KEY: {"table": True}})
