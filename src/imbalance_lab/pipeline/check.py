"""Consistency checks of the project: notebooks, params.yaml and dvc.yaml agree.

``imbalance-lab check`` runs them before anything else; the test suite runs them too. Besides
the agreement of parameters and dependencies, it checks what a queued or temporary experiment
needs (``dvc exp run --queue`` runs in a copy of the files git tracks): every input of a stage
that no stage produces is tracked by git; that the stage kernel starts and imports this
project's package; and that notebooks take their paths as parameters rather than literally.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ImbalanceLabError, ParamsError
from ..io import read_yaml
from .imports import PACKAGE, imported_names, package_units, unit_closure, unit_path, units_of
from .index import notebook_stages
from .kernel import KERNEL_NAME, KERNEL_TIMEOUT, check_kernel
from .params import optional_defaults, validate_params
from .stages import PATH_REF, pipeline_paths, read_stage
from .tracked import check_git_tracked, entry_name, resolver

#: The units every stage's command (``imbalance-lab run STAGE``) reads: the command-line
#: interface, whose ``run`` command imports the pipeline runner when it runs.
COMMAND_UNITS = ("cli", "pipeline")
#: Project files a notebook must not name literally (it gets their values as parameters).
CONFIG_FILES = ("params.yaml", "dvc.yaml")


def parameters_cell(notebook: dict[str, Any]) -> dict[str, Any]:
    """Names and literal default values assigned in the notebook's ``parameters`` cell."""
    cells = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected one cell tagged 'parameters', found {len(cells)}")
    source = "".join(cells[0]["source"])
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def notebook_source(notebook: dict[str, Any]) -> str:
    """The code of all code cells, IPython magics dropped."""
    lines = []
    for c in notebook["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["source"])
            lines.extend(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
    return "\n".join(lines)


def stage_src_deps(notebook: dict[str, Any], *, src: Path) -> set[str]:
    """The package's units a stage reads, as dvc.yaml deps (``src/imbalance_lab/data``,
    ``src/imbalance_lab/errors.py``): those its command and its notebook import, and the units
    those import in turn (:mod:`imbalance_lab.pipeline.imports`)."""
    units = package_units(src)
    start = units_of(imported_names(notebook_source(notebook), module="__notebook__"), units) | set(COMMAND_UNITS)
    return {unit_path(unit, Path("src") / PACKAGE) for unit in unit_closure(start, units)}


def _code_cells(notebook: dict[str, Any]) -> list[tuple[int, str]]:
    """(1-based cell number, source) of the code cells that are not parameters cells, magics dropped."""
    cells = []
    for i, c in enumerate(notebook["cells"], 1):
        tags = c.get("metadata", {}).get("tags", [])
        if c["cell_type"] != "code" or "parameters" in tags or "injected-parameters" in tags:
            continue
        src = "".join(c["source"])
        cells.append((i, "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))))
    return cells


def _path_prefixes(dvc: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The pipeline's paths (declared and used in stages) and their top-level directories."""
    resolve = resolver(dvc)
    paths = set(pipeline_paths(dvc).values())
    for spec in (dvc.get("stages") or {}).values():
        for kind in ("deps", "outs", "metrics", "plots"):
            paths.update(resolve(entry_name(e)) for e in spec.get(kind, []) or [])
    paths = {str(PurePosixPath(p)) for p in paths if "${" not in p}
    tops = {PurePosixPath(p).parts[0] for p in paths if len(PurePosixPath(p).parts) > 1}
    return paths, tops


def literal_paths(notebook: dict[str, Any], dvc: dict[str, Any]) -> list[tuple[int, str]]:
    """(cell number, string) for each string constant outside the parameters cell that names a
    path of the pipeline literally: one of its paths, a path under one of their top-level
    directories (``data/...``), or params.yaml / dvc.yaml. Parts of f-strings count
    (``f"data/{name}"``); ``f"{plots_dir}/x.png"`` does not."""
    paths, tops = _path_prefixes(dvc)
    found = []
    for number, source in _code_cells(notebook):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value.strip().removeprefix("./")
            if text.rstrip("/") in paths or text in CONFIG_FILES or any(text.startswith(f"{top}/") for top in tops):
                found.append((number, node.value))
    return found


def check_stage(
    stage: str,
    *,
    root: Path,
    params: dict[str, Any],
    dvc: dict[str, Any],
    strict: bool = False,
    notes: list[str] | None = None,
) -> list[str]:
    """Problems with one stage (empty when it is consistent).

    A parameters-cell default that differs from params.yaml's value is a problem with ``strict``
    (the committed project keeps them equal, so that a notebook run by itself in JupyterLab
    computes what the pipeline does); otherwise it goes to ``notes``: editing params.yaml, or
    ``dvc exp run -S``, is how experiments are made.
    """
    problems = []
    spec = dvc["stages"][stage]
    info = read_stage(stage, dvc_file=root / "dvc.yaml")
    nb_path = root / info["notebook"]
    where = f"{info['notebook']}"
    try:
        notebook = json.loads(nb_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{where}: not found (stage '{stage}' in dvc.yaml depends on it); restore it or fix the stage"]
    except (ValueError, UnicodeDecodeError) as exc:
        return [f"{where}: not a notebook ({type(exc).__name__}: {str(exc)[:80]}); restore it from git"]
    try:
        declared = parameters_cell(notebook)
    except (ValueError, SyntaxError) as exc:
        return [f"{where}: {exc}"]
    # optional keys left out of params.yaml take their defaults (the runner injects them too)
    expected = {"seed": params.get("seed"), **optional_defaults(stage), **params.get(stage, {}), **info["paths"]}
    for name in sorted(set(expected) - set(declared)):
        problems.append(
            f"{where}: parameters cell lacks '{name}' (params.yaml has it); add `{name} = {expected[name]!r}`"
        )
    for name in sorted(set(declared) - set(expected)):
        problems.append(
            f"{where}: parameters cell has '{name}', which is not seed, a key of params.yaml '{stage}' or a path of the stage in dvc.yaml; remove it"
        )
    for name in sorted(set(declared) & set(expected)):
        if declared[name] != expected[name]:
            if strict:
                problems.append(
                    f"{where}: default of '{name}' is {declared[name]!r} but params.yaml has "
                    f"{expected[name]!r}; make them equal"
                )
            elif notes is not None:
                notes.append(
                    f"{where}: default of '{name}' is {declared[name]!r}, params.yaml has {expected[name]!r}: "
                    "the pipeline runs with params.yaml's value; the notebook run by itself uses its default"
                )
    listed = spec.get("params", [])
    if sorted(map(str, listed)) != sorted(["seed", stage]):
        problems.append(f"dvc.yaml: stage '{stage}' params should be exactly [seed, {stage}], found {listed}")
    deps = {d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])}
    src_deps = {d.rstrip("/") for d in deps if d.startswith(f"src/{PACKAGE}/")}
    needed = stage_src_deps(notebook, src=root / "src" / PACKAGE)
    for f in sorted(needed - src_deps):
        problems.append(f"dvc.yaml: stage '{stage}' reads {f} but does not list it in deps; add it")
    for f in sorted(src_deps - needed):
        problems.append(f"dvc.yaml: stage '{stage}' lists {f} in deps but does not read it; remove it")
    for kind in ("outs", "metrics"):
        for entry in spec.get(kind, []) or []:
            options = next(iter(entry.values())) if isinstance(entry, dict) else {}
            if not (options or {}).get("persist"):
                name = entry if isinstance(entry, str) else next(iter(entry))
                problems.append(
                    f"dvc.yaml: stage '{stage}' output {name} needs `persist: true` (the runner restores "
                    "outputs itself when a stage fails); add it"
                )
    problems += _saved_notebook_problems(notebook, where=where)
    for number, text in literal_paths(notebook, dvc):
        problems.append(
            f"{where}: cell {number} names the path {text!r} literally; pass paths as parameters "
            "(declare it in dvc.yaml vars.paths, list it in the stage and use the parameter)"
        )
    return problems


def _saved_notebook_problems(notebook: dict[str, Any], *, where: str) -> list[str]:
    """Problems with a source notebook as saved: another kernel than the project's, outputs."""
    problems = []
    kernel = (notebook.get("metadata", {}).get("kernelspec") or {}).get("name")
    if kernel != KERNEL_NAME:
        problems.append(
            f"{where}: its kernel is {kernel!r}, not the project's; choose Kernel > Change Kernel > "
            f"{KERNEL_NAME} in JupyterLab (make kernel registers it) and save"
        )
    if any(c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count")) for c in notebook["cells"]):
        problems.append(
            f"{where}: committed with outputs; clear them (Kernel > Restart and Clear Outputs) before committing"
        )
    return problems


def path_notes() -> list[str]:
    """Remarks when PATH does not lead to this environment's ``imbalance-lab`` and ``dvc``: DVC runs
    each stage's cmd through the shell with the caller's PATH, and ``dvc queue start`` spawns its
    workers as ``dvc`` from PATH, so ``.venv/bin/dvc repro`` without the environment on PATH fails
    with "imbalance-lab: command not found" (and queued experiments never start)."""
    here = Path(sys.executable).parent
    notes = []
    why = {
        "imbalance-lab": "dvc runs the stage commands through the shell, from PATH",
        "dvc": "`dvc queue start` spawns its workers as `dvc` from PATH",
    }
    for command in ("imbalance-lab", "dvc"):
        found = shutil.which(command)
        mine = here / command
        if not mine.exists():
            continue
        if found is None:
            notes.append(
                f"`{command}` is not on PATH ({why[command]}); activate the environment first "
                f"(source {here}/activate) or add {here} to PATH"
            )
        elif Path(found).resolve() != mine.resolve():
            notes.append(
                f"PATH finds `{command}` at {found}, not this environment's {mine}; activate the environment "
                f"(source {here}/activate) before dvc repro / dvc queue start"
            )
    return notes


def check_report_stage(stage: str, *, root: Path, dvc: dict[str, Any]) -> list[str]:
    """Problems with a stage that does not run a notebook: it must be ``imbalance-lab report``,
    read the directory of every notebook stage's executed notebook (and the package units its
    command imports) and keep its outputs (``persist: true``)."""
    spec = dvc["stages"][stage]
    if str(spec.get("cmd", "")).split()[:2] != ["imbalance-lab", "report"]:
        return [
            f"dvc.yaml: stage '{stage}' runs neither `imbalance-lab run {stage}` nor `imbalance-lab report`; fix its cmd"
        ]
    deps = {entry_name(d).rstrip("/") for d in spec.get("deps", []) or []}
    reports = {PurePosixPath(read_stage(s, dvc_file=root / "dvc.yaml")["report"]) for s in notebook_stages(dvc)}
    folders = {str(report.parent) for report in reports}
    if len(folders) != 1:
        return [
            f"dvc.yaml: the stages' executed notebooks are in {sorted(folders)}; keep them in one directory "
            f"(the {stage} stage reads it)"
        ]
    needed = folders | stage_src_deps({"cells": []}, src=root / "src" / PACKAGE)
    problems = [
        f"dvc.yaml: stage '{stage}' reads {f} but does not list it in deps; add it" for f in sorted(needed - deps)
    ]
    problems += [
        f"dvc.yaml: stage '{stage}' lists {f} in deps but does not read it; remove it" for f in sorted(deps - needed)
    ]
    for entry in spec.get("outs", []) or []:
        options = next(iter(entry.values())) if isinstance(entry, dict) else {}
        if not (options or {}).get("persist"):
            problems.append(f"dvc.yaml: stage '{stage}' output {entry_name(entry)} needs `persist: true`; add it")
    return problems


def check_project(
    root: str | Path = ".",
    *,
    kernel: bool = True,
    git: bool = True,
    notes: list[str] | None = None,
    kernel_timeout: float = KERNEL_TIMEOUT,
    strict: bool = False,
) -> list[str]:
    """All consistency problems of the project (empty when everything agrees).

    Parameters
    ----------
    root : str or Path
        The project directory.
    kernel : bool
        Also start the stage kernel and import the package in it (a few seconds).
    git : bool
        Also check that every stage input that no stage produces is tracked by git.
    notes : list of str, optional
        Receives remarks that are not problems: a check skipped and why, and PATH not leading to
        this environment's ``imbalance-lab`` and ``dvc`` (the shell's state, not the project's).
    kernel_timeout : float
        Seconds allowed for the kernel check.
    strict : bool
        Notebook parameter defaults must equal params.yaml's values (see :func:`check_stage`).
    """
    root = Path(root)
    params = read_yaml(root / "params.yaml", hint="run `imbalance-lab check` from the project root")
    dvc = read_yaml(root / "dvc.yaml", hint="run `imbalance-lab check` from the project root")
    if not isinstance(params, dict) or not isinstance(dvc, dict):
        raise ImbalanceLabError(
            f"{root / ('params.yaml' if not isinstance(params, dict) else 'dvc.yaml')}: "
            "is not a mapping of sections; fix the file"
        )
    try:  # a misspelled or mistyped key: the validator's message (with its did-you-mean) is the fix
        validate_params(params)
    except ParamsError as exc:
        return [str(exc)]
    problems = []
    text = (root / "dvc.yaml").read_text()
    for key in sorted(set(PATH_REF.findall(text)) - set(pipeline_paths(dvc))):
        problems.append(f"dvc.yaml: ${{paths.{key}}} is not declared in vars.paths; add it")
    notebook_runs = notebook_stages(dvc)
    for stage in dvc.get("stages", {}):
        if stage in notebook_runs:
            problems.extend(check_stage(stage, root=root, params=params, dvc=dvc, strict=strict, notes=notes))
        else:
            problems.extend(check_report_stage(stage, root=root, dvc=dvc))
    if notes is not None:
        notes.extend(path_notes())
    if git:
        problems.extend(check_git_tracked(root, dvc, notes=notes))
    if kernel:
        problems.extend(check_kernel(root, timeout=kernel_timeout))
    return problems
