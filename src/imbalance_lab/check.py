"""Consistency checks of the project: notebooks, params.yaml and dvc.yaml agree.

``imbalance-lab check`` runs them before anything else; the test suite runs them too. Besides
the agreement of parameters and dependencies, it checks what a queued or temporary experiment
needs (``dvc exp run --queue`` runs in a copy of the files git tracks): every input of a stage
that no stage produces is tracked by git; that the stage kernel starts and imports this
project's package; and that notebooks take their paths as parameters rather than literally.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .errors import ImbalanceLabError, ParamsError
from .files import read_yaml
from .package import PACKAGE, imported_modules, module_closure, package_sources
from .params import validate_params
from .runner import PATH_REF, pipeline_paths, read_stage

#: The module every stage's command (``imbalance-lab run STAGE``) starts in. A stage reads it and
#: the modules it imports at module level; its other commands import their code when they run.
COMMAND_MODULE = "cli"
#: Modules the ``run`` command imports: every stage depends on them and on what they import.
RUNNER_MODULES = ("runner",)
#: Runs whenever the package is imported.
PACKAGE_INIT = "__init__"
#: Files every stage reads besides its deps (DVC reads the params; the runner both).
PROJECT_FILES = ("dvc.yaml", "params.yaml")
#: Seconds the kernel check waits for the kernel to start and run the import.
KERNEL_TIMEOUT = 60.0
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


def stage_src_files(notebook: dict[str, Any], *, src: Path) -> set[str]:
    """The package files a stage reads: the command's module (:data:`COMMAND_MODULE`, with its
    module-level imports), the runner's and the notebook's imports, transitively, and the
    package's ``__init__.py``."""
    sources = package_sources(src)
    start = (imported_modules(notebook_source(notebook)) | set(RUNNER_MODULES)
             | imported_modules(sources[COMMAND_MODULE], top_level=True))
    modules = module_closure(start, sources=sources) | {COMMAND_MODULE, PACKAGE_INIT}
    return {f"src/{PACKAGE}/{m}.py" for m in modules}


def _entry_name(entry: Any) -> str:
    """The path of a deps/outs entry (a string, or a one-key mapping to its options)."""
    return entry if isinstance(entry, str) else next(iter(entry))


def _resolver(dvc: dict[str, Any]) -> Any:
    """A function replacing ``${paths.*}`` by the paths dvc.yaml declares (unknown ones kept)."""
    declared = pipeline_paths(dvc)
    return lambda p: PATH_REF.sub(lambda m: declared.get(m.group(1), m.group(0)), p)


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
    resolve = _resolver(dvc)
    paths = set(pipeline_paths(dvc).values())
    for spec in (dvc.get("stages") or {}).values():
        for kind in ("deps", "outs", "metrics", "plots"):
            paths.update(resolve(_entry_name(e)) for e in spec.get(kind, []) or [])
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
            if (text.rstrip("/") in paths or text in CONFIG_FILES
                    or any(text.startswith(f"{top}/") for top in tops)):
                found.append((number, node.value))
    return found


def check_stage(stage: str, *, root: Path, params: dict[str, Any], dvc: dict[str, Any], strict: bool = False,
                notes: list[str] | None = None) -> list[str]:
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
    expected = {"seed": params.get("seed"), **params.get(stage, {}), **info["paths"]}
    for name in sorted(set(expected) - set(declared)):
        problems.append(f"{where}: parameters cell lacks '{name}' (params.yaml has it); add `{name} = {expected[name]!r}`")
    for name in sorted(set(declared) - set(expected)):
        problems.append(f"{where}: parameters cell has '{name}', which is not seed, a key of params.yaml '{stage}' or a path of the stage in dvc.yaml; remove it")
    for name in sorted(set(declared) & set(expected)):
        if declared[name] != expected[name]:
            if strict:
                problems.append(f"{where}: default of '{name}' is {declared[name]!r} but params.yaml has "
                                f"{expected[name]!r}; make them equal")
            elif notes is not None:
                notes.append(f"{where}: default of '{name}' is {declared[name]!r}, params.yaml has {expected[name]!r}: "
                             "the pipeline runs with params.yaml's value; the notebook run by itself uses its default")
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
    for number, text in literal_paths(notebook, dvc):
        problems.append(f"{where}: cell {number} names the path {text!r} literally; pass paths as parameters "
                        "(declare it in dvc.yaml vars.paths, list it in the stage and use the parameter)")
    return problems


# --------------------------------------------------------------------------------------------
# Inputs under git: what a queued experiment sees
# --------------------------------------------------------------------------------------------


def dvc_outputs(dvc: dict[str, Any], *, root: Path) -> set[str]:
    """Paths DVC produces or restores: every stage's outs, metrics and plots, and the outs of
    ``*.dvc`` files (data added with ``dvc add`` or imported)."""
    resolve = _resolver(dvc)
    outs = set()
    for spec in (dvc.get("stages") or {}).values():
        for kind in ("outs", "metrics", "plots"):
            outs.update(resolve(_entry_name(e)) for e in spec.get(kind, []) or [])
    for dvcfile in _dvc_files(root):
        try:
            spec = yaml.safe_load(dvcfile.read_text()) or {}
        except yaml.YAMLError:
            continue
        base = dvcfile.parent.relative_to(root)
        outs.update(str(base / o["path"]) for o in spec.get("outs", []) or [] if isinstance(o, dict) and "path" in o)
    return {str(PurePosixPath(o)) for o in outs}


def _dvc_files(root: Path) -> list[Path]:
    """The ``*.dvc`` files of the project (hidden directories such as .git, .dvc, .venv skipped)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "node_modules")]
        found.extend(Path(dirpath) / f for f in filenames if f.endswith(".dvc"))
    return found


def stage_inputs(dvc: dict[str, Any]) -> dict[str, list[str]]:
    """Each stage's deps, ``${paths.*}`` resolved."""
    resolve = _resolver(dvc)
    return {stage: [str(PurePosixPath(resolve(_entry_name(d)))) for d in spec.get("deps", []) or []]
            for stage, spec in (dvc.get("stages") or {}).items()}


def _under(path: str, outputs: set[str]) -> bool:
    parts = PurePosixPath(path).parts
    return any(PurePosixPath(o).parts == parts[:len(PurePosixPath(o).parts)] for o in outputs)


def _git(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, input=stdin, timeout=60)


def _files_of(root: Path, dep: str) -> list[str]:
    """The files a dependency stands for: itself, or every file under a directory (caches skipped)."""
    path = root / dep
    if path.is_dir():
        skip = {"__pycache__", ".ipynb_checkpoints"}
        return sorted(str(PurePosixPath(p.relative_to(root))) for p in path.rglob("*")
                      if p.is_file() and not skip & set(p.relative_to(root).parts))
    return [dep]


def check_git_tracked(root: Path, dvc: dict[str, Any], *, notes: list[str] | None = None) -> list[str]:
    """Problems: inputs of a stage (and params.yaml, dvc.yaml) that no stage or .dvc file produces
    and git does not track. ``dvc exp run --queue`` (and ``--temp``) runs in a copy of the
    committed tree, where such files are missing; the fix is ``git add``."""
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree")
    except (OSError, subprocess.SubprocessError):
        inside = None
    if inside is None or inside.returncode != 0 or inside.stdout.strip() != "true":
        if notes is not None:
            notes.append(f"{root.resolve()}: not in a git repository (or git is not installed); skipped the check that "
                         "stage inputs are tracked by git")
        return []
    listed = _git(root, "ls-files", "-z")
    tracked = {str(PurePosixPath(p)) for p in listed.stdout.split("\0") if p}
    outputs = dvc_outputs(dvc, root=root)
    users: dict[str, list[str]] = {}
    for stage, deps in stage_inputs(dvc).items():
        for dep in deps:
            if not _under(dep, outputs):
                users.setdefault(dep, []).append(stage)
    for name in PROJECT_FILES:
        users.setdefault(name, ["every stage"])
    problems = []
    for dep, stages in sorted(users.items()):
        who = ", ".join(f"'{s}'" if s != "every stage" else s for s in stages)
        if not (root / dep).exists():
            if dep not in tracked:
                problems.append(f"{dep}: input of {who} does not exist and no stage produces it; restore or create it")
            continue
        untracked = [f for f in _files_of(root, dep) if f not in tracked]
        if not untracked:
            continue
        ignored = set(_git(root, "check-ignore", "--no-index", "--stdin", "-z", stdin="\0".join(untracked) + "\0")
                      .stdout.split("\0")) - {""}
        shown = untracked[:5] + ([f"... ({len(untracked) - 5} more)"] if len(untracked) > 5 else [])
        names = lambda files: " ".join(files) if len(files) <= 5 else dep  # noqa: E731
        plain = [f for f in untracked if f not in ignored]
        fixes = [f"git add {names(plain)}"] if plain else []
        if ignored:
            fixes.append(f"git add -f {names(sorted(ignored))} (they are git-ignored; or un-ignore them in .gitignore)")
        fix = "; ".join(fixes)
        problems.append(f"{dep}: input of {who} is not tracked by git ({', '.join(shown)}): a queued or temporary "
                        f"experiment (dvc exp run --queue/--temp) would not see it; fix: {fix}")
    return problems


# --------------------------------------------------------------------------------------------
# The stage kernel starts and imports the package
# --------------------------------------------------------------------------------------------

PROBE = ("import json, sys\nimport imbalance_lab\n"
         "print('IMBALANCE_LAB_PROBE ' + json.dumps({'file': imbalance_lab.__file__, 'python': sys.executable}))")


async def _probe_kernel(root: Path, timeout: float, stderr: Any) -> dict[str, Any]:
    """Start a kernel the runner's way in ``root``, run PROBE, shut it down. Returns the probe's
    JSON or {'error': ...}."""
    from .runner import _kernel_manager_class, kernel_environment

    deadline = time.monotonic() + timeout
    left = lambda: max(0.1, deadline - time.monotonic())  # noqa: E731
    km = _kernel_manager_class()(kernel_name="python3")
    result: dict[str, Any] = {}
    try:
        await asyncio.wait_for(km.start_kernel(cwd=str(root), env=kernel_environment(root), stdout=subprocess.DEVNULL,
                                               stderr=stderr), left())
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=left())

            def hook(msg: dict[str, Any]) -> None:
                content = msg.get("content", {})
                if msg.get("msg_type") == "stream" and "IMBALANCE_LAB_PROBE " in content.get("text", ""):
                    line = next(ln for ln in content["text"].splitlines() if ln.startswith("IMBALANCE_LAB_PROBE "))
                    result.update(json.loads(line.split(" ", 1)[1]))
                elif msg.get("msg_type") == "error":
                    result["error"] = f"{content.get('ename')}: {content.get('evalue')}"

            reply = await kc.execute_interactive(PROBE, timeout=left(), output_hook=hook, allow_stdin=False,
                                                 stop_on_error=True)
            if reply["content"].get("status") != "ok" and "error" not in result:
                c = reply["content"]
                result["error"] = f"{c.get('ename', 'error')}: {c.get('evalue', '')}"
        finally:
            kc.stop_channels()
    finally:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    return result


def check_kernel(root: Path, *, timeout: float = KERNEL_TIMEOUT) -> list[str]:
    """Problems starting the stage kernel (the runner's kernel manager: this interpreter's
    ipykernel, cwd ``root``) and importing imbalance_lab in it within ``timeout`` seconds, or
    importing it from somewhere other than ``root/src`` (a stage would then run that code while
    dvc.lock records this project's files)."""
    root = Path(root).resolve()
    start = time.monotonic()

    def too_slow(detail: str = "") -> list[str]:
        return [f"kernel: did not start and import imbalance_lab within {timeout:g} s{detail}; try "
                "`python -m ipykernel_launcher --help` and `python -c 'import imbalance_lab'` with this environment's "
                "python (or allow more time: --kernel-timeout)"]

    with tempfile.TemporaryFile(mode="w+") as err:
        try:  # the timeout is a hard limit for the whole probe
            result = asyncio.run(asyncio.wait_for(_probe_kernel(root, timeout, err), timeout))
        except Exception as exc:  # noqa: BLE001 - any failure to start is the problem reported
            err.seek(0)
            # the kernel's own log lines ([IPKernelApp] ...) are noise; its last other line says why it died
            lines = [ln for ln in err.read().splitlines() if ln.strip() and not ln.startswith("[")]
            detail = f"; the kernel said: {lines[-1].strip()}" if lines else ""
            if isinstance(exc, TimeoutError) or time.monotonic() - start >= timeout:
                return too_slow(detail)
            return [f"kernel: cannot start the stage kernel ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}){detail}; "
                    "the stages would fail the same way (reinstall the environment: make env)"]
    if time.monotonic() - start > timeout:
        return too_slow()
    if "error" in result:
        return [f"kernel: started but `import imbalance_lab` failed ({result['error']}); reinstall the package "
                "(make env) and check for a module shadowing it in the project directory"]
    if "file" not in result:
        return ["kernel: started but did not report where imbalance_lab comes from; rerun with --debug"]
    imported = Path(result["file"]).resolve()
    expected = (root / "src" / PACKAGE / "__init__.py").resolve()
    if expected.exists() and imported != expected:
        return [f"kernel: imports imbalance_lab from {imported.parent}, not from this project's src/{PACKAGE}: stages would run "
                "that code while dvc.lock records this project's files; rename or remove what shadows it (a module or "
                "directory named imbalance_lab in the project directory, or on PYTHONPATH)"]
    return []


# --------------------------------------------------------------------------------------------
# Commands on PATH
# --------------------------------------------------------------------------------------------


def path_notes() -> list[str]:
    """Remarks when PATH does not lead to this environment's ``imbalance-lab`` and ``dvc``: DVC runs
    each stage's cmd through the shell with the caller's PATH, and ``dvc queue start`` spawns its
    workers as ``dvc`` from PATH, so ``.venv/bin/dvc repro`` without the environment on PATH fails
    with "imbalance-lab: command not found" (and queued experiments never start)."""
    import shutil
    import sys

    here = Path(sys.executable).parent
    notes = []
    why = {"imbalance-lab": "dvc runs the stage commands through the shell, from PATH",
           "dvc": "`dvc queue start` spawns its workers as `dvc` from PATH"}
    for command in ("imbalance-lab", "dvc"):
        found = shutil.which(command)
        mine = here / command
        if not mine.exists():
            continue
        if found is None:
            notes.append(f"`{command}` is not on PATH ({why[command]}); activate the environment first "
                         f"(source {here}/activate) or add {here} to PATH")
        elif Path(found).resolve() != mine.resolve():
            notes.append(f"PATH finds `{command}` at {found}, not this environment's {mine}; activate the environment "
                         f"(source {here}/activate) before dvc repro / dvc queue start")
    return notes


def check_project(root: str | Path = ".", *, kernel: bool = True, git: bool = True, notes: list[str] | None = None,
                  kernel_timeout: float = KERNEL_TIMEOUT, strict: bool = False) -> list[str]:
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
        raise ImbalanceLabError(f"{root / ('params.yaml' if not isinstance(params, dict) else 'dvc.yaml')}: "
                                "is not a mapping of sections; fix the file")
    try:  # a misspelled or mistyped key: the validator's message (with its did-you-mean) is the fix
        validate_params(params)
    except ParamsError as exc:
        return [str(exc)]
    problems = []
    text = (root / "dvc.yaml").read_text()
    for key in sorted(set(PATH_REF.findall(text)) - set(pipeline_paths(dvc))):
        problems.append(f"dvc.yaml: ${{paths.{key}}} is not declared in vars.paths; add it")
    for stage in dvc.get("stages", {}):
        problems.extend(check_stage(stage, root=root, params=params, dvc=dvc, strict=strict, notes=notes))
    if notes is not None:
        notes.extend(path_notes())
    if git:
        problems.extend(check_git_tracked(root, dvc, notes=notes))
    if kernel:
        problems.extend(check_kernel(root, timeout=kernel_timeout))
    return problems
