"""Run one pipeline stage: execute its notebook with papermill and write a clean report.

``imbalance-lab run STAGE`` (the ``cmd`` of every stage in dvc.yaml):

1. starts the stage kernel, this interpreter (:class:`imbalance_lab.pipeline.kernel.StageKernel`),
   so that its start-up overlaps everything up to step 5;
2. validates params.yaml (every section: a typo in a later stage's params stops the first);
3. finds the stage's notebook, reports and ``${paths.*}`` in dvc.yaml
   (:func:`imbalance_lab.pipeline.stages.read_stage`), and has the kernel import the modules the
   notebook imports, silently, while the runner goes on;
4. sets the stage's outputs aside (:mod:`imbalance_lab.pipeline.outputs`), to put them back if
   it fails;
5. executes the notebook with papermill in that kernel, injecting ``seed``, the stage's params
   section and its paths, while a thread builds the HTML exporter;
6. asks the kernel to exit by itself (:meth:`~imbalance_lab.pipeline.kernel.StageKernel.finish`),
   removes papermill's volatile metadata and progress-bar output, so the executed notebook is
   byte-identical when nothing changed, and writes it and its HTML rendering atomically
   (:mod:`imbalance_lab.pipeline.report`) while the kernel exits; the kernel process is gone
   when the stage ends, whether it succeeded or failed.

Only the Optuna study is not set aside: a killed tune run resumes it. On failure the executed
notebook is kept in ``.imbalance-lab/failed/`` for debugging and a problem with the user's input
is raised as one line.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ImbalanceLabError, StageError, user_error_names
from ..io import write_bytes
from .console import LOG_DIR, StageConsole, new_log, stage_log, verbose_from_env
from .kernel import KERNEL_NAME, StageKernel, kernel_environment, kernel_exit, notebook_imports
from .outputs import discard_backup, restore, set_aside
from .report import clean_notebook, headline_of, html_exporter, render_html
from .stages import notebook_parameters, read_stage

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Where a failed run's executed notebook is kept (``<stage>.ipynb``).
FAILED_DIR = Path(".imbalance-lab") / "failed"
#: Where a running stage's notebook is written while it executes.
RUNNING_DIR = Path(".imbalance-lab") / "running"


def import_papermill() -> Any:
    """Import papermill without ``rfc3987_syntax``.

    jsonschema imports that package (if installed) to check IRI formats, which papermill never
    needs; building its grammar costs about 2.5 s per process. Blocking it makes jsonschema skip
    that format checker in this process only.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import papermill

    return papermill


def run_stage(
    stage: str,
    *,
    root: str | Path = ".",
    params_file: str = "params.yaml",
    dvc_file: str = "dvc.yaml",
    verbose: bool | None = None,
) -> Path:
    """Execute one stage's notebook and write its reports.

    The terminal shows a start line, the notebook's progress bars and an end line with the
    stage's headline and duration; everything else goes to the stage's log
    (:mod:`imbalance_lab.pipeline.console`).

    Parameters
    ----------
    stage : str
        A stage of dvc.yaml whose params section has the same name.
    root : str or Path
        The project root (the notebook runs there).
    params_file, dvc_file : str
        The project's files.
    verbose : bool, optional
        Show everything the notebook prints on the terminal too (default: ``$IMBALANCE_LAB_VERBOSE``).

    Returns
    -------
    Path
        The executed notebook.
    """
    started = time.perf_counter()
    started_at = time.time()  # the origin of the log's times
    root = Path(root).resolve()
    os.chdir(root)
    log_path = LOG_DIR / f"{stage}.log"
    new_log(log_path, stage)
    os.environ.update(kernel_environment(root, stage=stage))
    kernel = StageKernel(root, stderr_path=root / log_path)  # starts while the runner checks and imports
    try:
        from .params import load_params

        params = load_params(params_file)  # every section: a typo in a later stage's params stops the first stage run
        info = read_stage(stage, dvc_file=dvc_file)
        parameters = notebook_parameters(params, stage=stage, paths=info["paths"])
        notebook = Path(info["notebook"])
        if not notebook.exists():
            raise ImbalanceLabError(f"{notebook}: notebook not found for stage '{stage}'; restore it with git checkout")
        kernel.warm_up(notebook_imports(json.loads(notebook.read_bytes())))
        console = StageConsole(stage)
        verbose = verbose_from_env() if verbose is None else verbose
        with stage_log(log_path, console, verbose=verbose, replace=False, since=started_at):
            console.start(f"running {notebook}")
            set_aside(stage, info["outputs"])
            try:
                headline = _execute(stage, info, parameters, root, kernel)
            except BaseException:
                restore(stage, info["outputs"])
                console.failed(time.perf_counter() - started, log_path)
                raise
            discard_backup(stage)
            console.done(headline, time.perf_counter() - started)
    finally:
        kernel.shutdown()
    with open(root / log_path, "a", encoding="utf-8") as fh:  # the stage's whole time, for bench/overhead.py
        fh.write(f"{time.time() - started_at:8.3f} # {stage}: done, its kernel gone\n")
    return Path(info["report"])


def _execute(
    stage: str, info: dict[str, Any], parameters: dict[str, Any], root: Path, kernel: StageKernel
) -> str | None:
    """Run the notebook in ``kernel`` and write its reports; returns its headline."""
    pm = import_papermill()
    import nbformat
    from nbclient.exceptions import DeadKernelError

    exporter = _in_background(html_exporter)  # while the kernel runs the notebook

    RUNNING_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=RUNNING_DIR, prefix=f"{stage}.", suffix=".ipynb")
    os.close(fd)
    kernel_log = LOG_DIR / f"{stage}.log"
    try:
        pm.execute_notebook(
            info["notebook"],
            tmp,
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            km=kernel.manager,
            progress_bar=False,
            log_output=True,
            request_save_on_cell_execute=False,
            cwd=str(root),
        )
    except pm.PapermillExecutionError as exc:
        kernel.finish()  # it exits while the error is reported
        failed = _keep_failed(tmp, stage)
        if exc.ename in user_error_names():
            raise ImbalanceLabError(str(exc.evalue)) from None
        first = str(exc.evalue).splitlines()[0] if exc.evalue else ""
        raise StageError(
            f"stage '{stage}' failed in cell {exc.exec_count}: {exc.ename}: {first} (the executed notebook is in {failed})"
        ) from None
    except DeadKernelError:
        failed = _keep_failed(tmp, stage)
        raise StageError(
            f"stage '{stage}' failed: its notebook kernel died ({kernel_exit(kernel.processes)}); running out of "
            f"memory is the usual cause: lower IMBALANCE_LAB_N_JOBS or the data size (bench/large_profile.yaml is a "
            f"profile for millions of rows); the kernel's log is {kernel_log}, the notebook so far {failed}"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    kernel.finish()  # it exits while the reports are written
    nb = clean_notebook(nbformat.read(tmp, as_version=4))
    Path(tmp).unlink(missing_ok=True)
    write_bytes(info["report"], (nbformat.writes(nb) + "\n").encode())
    write_bytes(info["html"], render_html(copy.deepcopy(nb), exporter=exporter()))
    log.info("wrote %s and %s", info["report"], info["html"])
    return headline_of(nb)


def _in_background(make: Callable[[], T]) -> Callable[[], T]:
    """Call ``make`` in a thread, so that its time (the HTML exporter's: 1.3 s of nbconvert's
    import, 0.2 s of a first rendering) overlaps the notebook's run in the kernel
    process instead of adding to it. Returns a function that waits for the result and returns
    it, or raises what ``make`` raised."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = make()
        except BaseException as exc:  # raised again where the result is used
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="in-background", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    return result


def _keep_failed(tmp: str, stage: str) -> Path:
    """Keep a failed run's executed notebook for debugging: ``.imbalance-lab/failed/<stage>.ipynb``."""
    FAILED_DIR.mkdir(parents=True, exist_ok=True)
    failed = FAILED_DIR / f"{stage}.ipynb"
    os.replace(tmp, failed)
    return failed
