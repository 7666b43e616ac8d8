"""Consistency checks of the project: notebooks, params.yaml and dvc.yaml agree.

``imbalance-lab check`` runs them before anything else; the test suite runs them too.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import yaml

from .runner import PATH_REF, pipeline_paths, read_stage

PACKAGE = "imbalance_lab"
#: Modules the stage runner itself imports: every stage depends on them.
RUNNER_MODULES = ("runner",)


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


def _imported_modules(source: str) -> set[str]:
    """Modules of the package imported by Python source (``from imbalance_lab import x``, etc.)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level and node.module:  # relative: from .data import x
                found.add(node.module.split(".")[0])
            elif node.level:  # from . import x
                found.update(a.name for a in node.names)
            elif node.module == PACKAGE:
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(PACKAGE + "."):
                    found.add(a.name.split(".")[1])
    return found


def module_closure(modules: set[str], *, src: Path) -> set[str]:
    """The package modules reachable from ``modules`` by imports (those that exist as files)."""
    seen: set[str] = set()
    todo = [m for m in modules]
    while todo:
        m = todo.pop()
        path = src / f"{m}.py"
        if m in seen or not path.exists():
            continue
        seen.add(m)
        todo.extend(_imported_modules(path.read_text()) - seen)
    return seen


def notebook_source(notebook: dict[str, Any]) -> str:
    """The code of all code cells, IPython magics dropped."""
    lines = []
    for c in notebook["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["source"])
            lines.extend(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
    return "\n".join(lines)


def stage_src_files(notebook: dict[str, Any], *, src: Path) -> set[str]:
    """The package files a stage reads: the notebook's imports and the runner's, transitively."""
    modules = module_closure(_imported_modules(notebook_source(notebook)) | set(RUNNER_MODULES), src=src)
    return {f"src/{PACKAGE}/{m}.py" for m in modules}


def check_stage(stage: str, *, root: Path, params: dict[str, Any], dvc: dict[str, Any]) -> list[str]:
    """Problems with one stage (empty when it is consistent)."""
    problems = []
    spec = dvc["stages"][stage]
    info = read_stage(stage, dvc_file=root / "dvc.yaml")
    nb_path = root / info["notebook"]
    notebook = json.loads(nb_path.read_text())
    where = f"{info['notebook']}"
    try:
        declared = parameters_cell(notebook)
    except (ValueError, SyntaxError) as exc:
        return [f"{where}: {exc}"]
    expected = {"seed": params.get("seed"), **params.get(stage, {}), **info["paths"]}
    for name in sorted(set(expected) - set(declared)):
        problems.append(f"{where}: parameters cell lacks '{name}' (params.yaml has it); add `{name} = {expected[name]!r}`")
    for name in sorted(set(declared) - set(expected)):
        problems.append(f"{where}: parameters cell has '{name}', which is not seed, a key of params.yaml '{stage}' or a path of the stage in dvc.yaml; remove it")
    for name in sorted(set(declared) & set(expected)):
        if declared[name] != expected[name]:
            problems.append(f"{where}: default of '{name}' is {declared[name]!r} but params.yaml has {expected[name]!r}; make them equal")
    listed = spec.get("params", [])
    if sorted(map(str, listed)) != sorted(["seed", stage]):
        problems.append(f"dvc.yaml: stage '{stage}' params should be exactly [seed, {stage}], found {listed}")
    deps = {d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])}
    src_deps = {d for d in deps if d.startswith(f"src/{PACKAGE}/")}
    needed = stage_src_files(notebook, src=root / "src" / PACKAGE)
    for f in sorted(needed - src_deps):
        problems.append(f"dvc.yaml: stage '{stage}' reads {f} but does not list it in deps; add it")
    for f in sorted(src_deps - needed):
        problems.append(f"dvc.yaml: stage '{stage}' lists {f} in deps but does not read it; remove it")
    for kind in ("outs", "metrics"):
        for entry in spec.get(kind, []) or []:
            options = next(iter(entry.values())) if isinstance(entry, dict) else {}
            if not (options or {}).get("persist"):
                name = entry if isinstance(entry, str) else next(iter(entry))
                problems.append(f"dvc.yaml: stage '{stage}' output {name} needs `persist: true` (the runner restores "
                                "outputs itself when a stage fails); add it")
    for c in notebook["cells"]:
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count")):
            problems.append(f"{where}: committed with outputs; clear them (Kernel > Restart and Clear Outputs) before committing")
            break
    return problems


def check_project(root: str | Path = ".") -> list[str]:
    """All consistency problems of the project (empty when everything agrees)."""
    root = Path(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    dvc = yaml.safe_load((root / "dvc.yaml").read_text())
    problems = []
    text = (root / "dvc.yaml").read_text()
    for key in sorted(set(PATH_REF.findall(text)) - set(pipeline_paths(dvc))):
        problems.append(f"dvc.yaml: ${{paths.{key}}} is not declared in vars.paths; add it")
    for stage in dvc.get("stages", {}):
        problems.extend(check_stage(stage, root=root, params=params, dvc=dvc))
    return problems
