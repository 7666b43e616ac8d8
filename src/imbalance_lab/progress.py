"""Progress bars: a widget in JupyterLab, text on a terminal and when the pipeline runs a stage.

A stage's kernel has ``$IMBALANCE_LAB_STAGE`` set (:func:`imbalance_lab.pipeline.kernel.kernel_environment`):
there the bars are tqdm's text on stderr, which the stage runner turns into the terminal's
progress lines (:mod:`imbalance_lab.pipeline.console`) and keeps out of the executed notebook. A
notebook opened in JupyterLab gets ``tqdm.auto``'s widget (ipywidgets).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

#: Set in a stage's kernel to the stage's name.
STAGE_ENV = "IMBALANCE_LAB_STAGE"


def progress_bar(
    iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str | None = None, **options: Any
) -> Any:
    """A tqdm progress bar (refreshed at most once a second, removed when done).

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over.
    total : int, optional
        How many steps (default: ``len(iterable)`` when it has one).
    desc : str, optional
        What the bar counts.
    **options
        Other tqdm options (``disable``, ``unit`` ...).
    """
    if os.environ.get(STAGE_ENV):
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, total=total, desc=desc, **{"leave": False, "mininterval": 1.0, **options})
