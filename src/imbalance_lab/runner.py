"""Run one pipeline stage: execute its notebook with papermill and write a clean report.

``imbalance-lab run STAGE`` (the ``cmd`` of every stage in dvc.yaml):

1. validates params.yaml (the stage's section and ``seed``);
2. finds the stage's notebook (its ``notebooks/*.ipynb`` dependency in dvc.yaml) and reports
   (its ``*.ipynb`` and ``*.html`` outputs), and the ``${paths.*}`` it references (the paths
   are declared once, in dvc.yaml's ``vars``);
3. executes the notebook in this process with papermill, injecting ``seed``, the stage's params
   section and those paths; the kernel is this interpreter (no kernelspec lookup);
4. removes papermill's volatile metadata (timestamps, durations, paths, random cell ids) and
   progress-bar output, so the executed notebook is byte-identical when nothing changed;
5. writes the notebook and its HTML rendering atomically.

Outputs are transactional: every output of the stage (all are ``persist: true`` in dvc.yaml, so
DVC does not delete them first) is moved aside before the notebook runs and moved back if it
fails (outputs that did not exist before are removed), so a failed stage leaves the earlier
outputs and dvc.lock as they were. A run killed
outright leaves the set-aside outputs in ``.imbalance-lab/backup/<stage>``; the next run of the
stage restores them first. Only the Optuna study (``KEPT_IN_PLACE``) is not moved: a killed
tune run resumes it. On failure the executed notebook is kept in ``.imbalance-lab/failed/`` for
debugging and a problem with the user's input is raised as one line.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from . import errors
from .errors import ImbalanceLabError
from .files import read_yaml, write_bytes
from .params import load_params

log = logging.getLogger(__name__)

PATH_REF = re.compile(r"\$\{paths\.([A-Za-z0-9_]+)\}")
PROGRESS_LINE = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\|\s*\d+/\d+ \[")
FAILED_DIR = Path(".imbalance-lab") / "failed"
BACKUP_DIR = Path(".imbalance-lab") / "backup"
#: The kernel process's own stderr (its log outside the cells: start-up, shutdown), one file per
#: stage. Cell output reaches the runner through the kernel's messages, not this stream.
KERNEL_LOG_DIR = Path(".imbalance-lab") / "logs"
#: Outputs written in place and never set aside: the Optuna study must survive a killed run.
KEPT_IN_PLACE = frozenset({"study_journal_path"})


class StageError(ImbalanceLabError):
    """A stage notebook failed for a reason other than the user's input."""


def _error_names() -> set[str]:
    """Names of the user-error classes (ImbalanceLabError and its subclasses) of the package.

    A notebook's exception reaches the runner as a class name only. Classes defined in modules
    this process has not imported are found in the package source, so a user error raised in a
    notebook is always reported as one line."""
    names, todo = set(), [errors.ImbalanceLabError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    bases = {}
    for path in Path(__file__).parent.glob("*.py"):
        for name, base in re.findall(r"^class (\w+)\((?:\w+\.)?(\w+)\)", path.read_text(), re.M):
            bases[name] = base
    changed = True
    while changed:
        changed = False
        for name, base in bases.items():
            if base in names and name not in names:
                names.add(name)
                changed = True
    return names


def pipeline_paths(dvc: dict[str, Any]) -> dict[str, str]:
    """The ``paths`` mapping declared in dvc.yaml's ``vars``."""
    for entry in dvc.get("vars", []) or []:
        if isinstance(entry, dict) and "paths" in entry:
            return dict(entry["paths"])
    return {}


def read_stage(stage: str, *, dvc_file: str | Path = "dvc.yaml") -> dict[str, Any]:
    """The stage's notebook, reports and the paths it references in dvc.yaml.

    Returns
    -------
    dict
        ``notebook``, ``report``, ``html`` (raw strings, possibly ``${paths.*}``),
        ``path_keys`` (sorted) and ``paths`` (name -> path for those keys).
    """
    dvc = read_yaml(dvc_file, hint="run from the project root or pass --dvc-file")
    if not isinstance(dvc, dict):
        raise ImbalanceLabError(f"{dvc_file}: is not a mapping with 'stages'; fix the file")
    declared = pipeline_paths(dvc)
    stages = dvc.get("stages", {})
    if stage not in stages:
        raise ImbalanceLabError(f"{dvc_file}: no stage '{stage}'; stages are {', '.join(stages)}")
    spec = stages[stage]
    deps = [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])]
    outs = [o if isinstance(o, str) else next(iter(o)) for o in spec.get("outs", [])]
    notebooks = [d for d in deps if d.startswith("notebooks/") and d.endswith(".ipynb")]
    reports = [o for o in outs if o.endswith(".ipynb")]
    htmls = [o for o in outs if o.endswith(".html")]
    if len(notebooks) != 1 or len(reports) != 1 or len(htmls) != 1:
        raise ImbalanceLabError(
            f"{dvc_file}: stage '{stage}' needs exactly one notebooks/*.ipynb dependency and one .ipynb "
            "and one .html output; fix the stage"
        )
    text = yaml.safe_dump({k: spec.get(k) for k in ("deps", "outs", "metrics", "plots")})
    keys = sorted(set(PATH_REF.findall(text)))
    missing = [k for k in keys if k not in declared]
    if missing:
        raise ImbalanceLabError(f"{dvc_file}: stage '{stage}' uses paths {missing} that vars.paths does not declare; add them")
    resolve = lambda p: PATH_REF.sub(lambda m: declared[m.group(1)], p)  # noqa: E731
    declared_outs = outs + [m if isinstance(m, str) else next(iter(m)) for k in ("metrics", "plots") for m in spec.get(k, []) or []]
    in_place = {declared[k] for k in KEPT_IN_PLACE if k in declared}
    return {
        "notebook": resolve(notebooks[0]),
        "report": resolve(reports[0]),
        "html": resolve(htmls[0]),
        "path_keys": keys,
        "paths": {k: declared[k] for k in keys},
        "outputs": [o for o in map(resolve, declared_outs) if o not in in_place],
    }


def _backup_path(stage: str, output: str) -> Path:
    return BACKUP_DIR / stage / output


#: In a stage's backup area: the outputs that did not exist when the run started (a failed
#: run's new files there are moved out of the way, so the stage's outputs are as they were).
ABSENT_FILE = ".absent.json"
#: Where those files go (``<stage>/<output>``, replacing the previous ones), not deleted: after a
#: killed run and a ``dvc checkout`` they may be good copies.
DISCARDED_DIR = Path(".imbalance-lab") / "discarded"


def set_aside(stage: str, outputs: list[str]) -> None:
    """Move the stage's existing outputs into the backup area (restoring a killed run's first)
    and record which outputs did not exist."""
    restore(stage, outputs)
    area = BACKUP_DIR / stage
    area.mkdir(parents=True, exist_ok=True)
    absent = [out for out in outputs if not os.path.lexists(out)]
    write_bytes(area / ABSENT_FILE, (json.dumps(absent) + "\n").encode())  # before anything moves
    for out in outputs:
        if os.path.lexists(out):
            target = _backup_path(stage, out)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(out, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def restore(stage: str, outputs: list[str]) -> None:
    """Put set-aside outputs back, replacing whatever a failed or killed run left there, and
    move the outputs such a run created that did not exist before it to
    :data:`DISCARDED_DIR`. Does nothing when no run of the stage set its outputs aside."""
    area = BACKUP_DIR / stage
    if not area.is_dir():
        return
    record = area / ABSENT_FILE
    absent = set(json.loads(record.read_text())) if record.exists() else set()
    for out in outputs:
        saved = _backup_path(stage, out)
        final = Path(out)
        if saved.exists():
            _remove(final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved, final)
        elif out in absent and os.path.lexists(final):
            kept = DISCARDED_DIR / stage / out
            _remove(kept)
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, kept)
            log.warning("%s: %s did not exist before the run that failed or was killed; moved to %s", stage, out, kept)
    shutil.rmtree(area, ignore_errors=True)


def discard_backup(stage: str) -> None:
    """Forget the set-aside outputs after a successful run."""
    shutil.rmtree(BACKUP_DIR / stage, ignore_errors=True)


def notebook_parameters(params: dict[str, Any], *, stage: str, paths: dict[str, str]) -> dict[str, Any]:
    """The parameters injected into a stage's notebook: seed, its params section, its paths."""
    return {"seed": params["seed"], **params[stage], **paths}


def clean_notebook(nb: Any) -> Any:
    """Remove volatile metadata and progress-bar output from an executed notebook (in place)."""
    pm = nb.metadata.get("papermill", {})
    nb.metadata["papermill"] = {k: pm[k] for k in ("parameters", "default_parameters") if k in pm}
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
        elif not cell.get("id"):
            cell["id"] = f"cell-{i}"
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                # what a terminal shows: the text after the last carriage return of each line
                lines = [ln.rsplit("\r", 1)[-1] for ln in re.split(r"(?<=\n)", out["text"])]
                kept = [ln for ln in lines if ln.strip() and not PROGRESS_LINE.search(ln)]
                if not "".join(kept).strip():
                    continue
                out["text"] = "".join(kept)
            outputs.append(out)
        cell["outputs"] = outputs
    return nb


#: JupyterLab's HTML template, with a PNG's alternative text (``metadata["image/png"]["alt"]``,
#: the figure's titles: :func:`imbalance_lab.notebook.figure_alt`), which the lab template drops.
_HTML_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- set alttext = output | get_metadata('alt', 'image/png') -%}
{%- if alttext is not none %} alt="{{ alttext | escape_html }}"{%- endif %}>
</div>
{%- endblock data_png %}
"""


def render_html(nb: Any) -> bytes:
    """The notebook rendered to a standalone HTML page (no input prompts; figures with their
    titles as alternative text)."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file="imbalance_lab.html.j2",
                            extra_loaders=[jinja2.DictLoader({"imbalance_lab.html.j2": _HTML_TEMPLATE})])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    return body.encode()


def _kernel_manager_class(stderr_path: Path | None = None) -> type:
    """A kernel manager that starts this very interpreter as the kernel; with ``stderr_path``, the
    kernel process's stderr is appended to that file instead of the terminal. (At shutdown
    ipykernel can print tracebacks from its closing sockets, e.g. ``ZMQError: Socket operation on
    non-socket``; they would break the one-line error of a failed stage.)"""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class InterpreterKernelManager(AsyncKernelManager):
        """Starts an IPython kernel with this very interpreter, ignoring installed kernelspecs.

        ``processes`` holds the started kernel processes (``subprocess.Popen``), so that the exit
        status of a kernel that died can be reported after the manager has let go of it."""

        processes: list[Any] = []

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if stderr_path is None:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            else:
                stderr_path.parent.mkdir(parents=True, exist_ok=True)
                with open(stderr_path, "ab") as fh:  # the kernel process keeps its own copy of the descriptor
                    await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": fh})
            process = getattr(self.provisioner, "process", None)
            if process is not None:
                type(self).processes.append(process)

        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    display_name="Python 3 (ipykernel)",
                    language="python",
                    name="python3",
                )
            return self._kernel_spec

    return InterpreterKernelManager


def kernel_exit(processes: list[Any]) -> str:
    """Describe how the last started kernel process ended, e.g. ``killed by SIGKILL``.

    Parameters
    ----------
    processes : list of subprocess.Popen
        The kernel processes a kernel manager started, last one last.
    """
    if not processes:
        return "exit status unknown"
    code = processes[-1].poll()
    if code is None:
        return "its process is still running but stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def kernel_environment(root: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables a stage kernel in ``root`` runs with (a copy of ``environ``,
    default ``os.environ``).

    The kernel must run this project's code: in a queued DVC experiment the project is a
    temporary copy, while the installed (editable) package points at the original checkout, so
    ``root/src`` goes first on ``PYTHONPATH``.
    """
    env = dict(os.environ if environ is None else environ)
    if (Path(root) / "src" / "imbalance_lab").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(root) / "src"), env.get("PYTHONPATH")]))
    return env


def import_papermill() -> Any:
    """Import papermill without ``rfc3987_syntax``.

    jsonschema imports that package (if installed) to check IRI formats, which papermill never
    needs; building its grammar costs about 2.5 s per process. Blocking it makes jsonschema skip
    that format checker in this process only.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import papermill

    return papermill


def run_stage(stage: str, *, root: str | Path = ".", params_file: str = "params.yaml", dvc_file: str = "dvc.yaml") -> Path:
    """Execute one stage's notebook and write its reports.

    Parameters
    ----------
    stage : str
        A stage of dvc.yaml whose params section has the same name.
    root : str or Path
        The project root (the notebook runs there).

    Returns
    -------
    Path
        The executed notebook.
    """
    root = Path(root).resolve()
    os.chdir(root)
    params = load_params(params_file)  # every section: a typo in a later stage's params stops the first stage run
    info = read_stage(stage, dvc_file=dvc_file)
    parameters = notebook_parameters(params, stage=stage, paths=info["paths"])
    notebook, report, html = (Path(info[k]) for k in ("notebook", "report", "html"))
    if not notebook.exists():
        raise ImbalanceLabError(f"{notebook}: notebook not found for stage '{stage}'; restore it with git checkout")

    pm = import_papermill()
    import nbformat

    os.environ.update(kernel_environment(root))

    FAILED_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=FAILED_DIR, prefix=f"{stage}.", suffix=".ipynb")
    os.close(fd)
    log.info("running %s (%s)", stage, notebook)
    set_aside(stage, info["outputs"])
    try:
        report = _execute(pm, nbformat, stage, notebook, report, html, tmp, parameters, root)
    except BaseException:
        restore(stage, info["outputs"])
        raise
    discard_backup(stage)
    return report


def _execute(pm: Any, nbformat: Any, stage: str, notebook: Path, report: Path, html: Path, tmp: str,
             parameters: dict[str, Any], root: Path) -> Path:
    from nbclient.exceptions import DeadKernelError

    kernel_log = KERNEL_LOG_DIR / f"{stage}.log"
    manager = _kernel_manager_class(root / kernel_log)
    try:
        pm.execute_notebook(
            str(notebook),
            tmp,
            parameters=parameters,
            kernel_name="python3",
            kernel_manager_class=manager,
            progress_bar=False,
            log_output=True,
            request_save_on_cell_execute=False,
            cwd=str(root),
        )
    except pm.PapermillExecutionError as exc:
        failed = FAILED_DIR / f"{stage}.ipynb"
        os.replace(tmp, failed)
        if exc.ename in _error_names():
            raise ImbalanceLabError(str(exc.evalue)) from None
        raise StageError(
            f"stage '{stage}' failed in cell {exc.exec_count}: {exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''} "
            f"(the executed notebook is in {failed})"
        ) from None
    except DeadKernelError:
        failed = FAILED_DIR / f"{stage}.ipynb"
        os.replace(tmp, failed)
        raise StageError(
            f"stage '{stage}' failed: its notebook kernel died ({kernel_exit(manager.processes)}); running out of "
            f"memory is the usual cause: lower the stage's n_jobs or the data size (bench/large_profile.yaml is a "
            f"profile for millions of rows); the kernel's log is {kernel_log}, the notebook so far {failed}"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    nb = clean_notebook(nbformat.read(tmp, as_version=4))
    Path(tmp).unlink(missing_ok=True)
    write_bytes(report, (nbformat.writes(nb) + "\n").encode())
    write_bytes(html, render_html(copy.deepcopy(nb)))
    log.info("wrote %s and %s", report, html)
    return report
