"""Inputs under git: what a queued or temporary experiment sees.

``dvc exp run --queue`` (and ``--temp``) runs in a copy of the files git tracks, so every input
of a stage that no stage or ``.dvc`` file produces must be tracked by git.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .stages import PATH_REF, pipeline_paths

#: Files every stage reads besides its deps (DVC reads the params; the runner both).
PROJECT_FILES = ("dvc.yaml", "params.yaml")


def entry_name(entry: Any) -> str:
    """The path of a deps/outs entry (a string, or a one-key mapping to its options)."""
    return entry if isinstance(entry, str) else next(iter(entry))


def resolver(dvc: dict[str, Any]) -> Any:
    """A function replacing ``${paths.*}`` by the paths dvc.yaml declares (unknown ones kept)."""
    declared = pipeline_paths(dvc)
    return lambda p: PATH_REF.sub(lambda m: declared.get(m.group(1), m.group(0)), p)


def dvc_outputs(dvc: dict[str, Any], *, root: Path) -> set[str]:
    """Paths DVC produces or restores: every stage's outs, metrics and plots, and the outs of
    ``*.dvc`` files (data added with ``dvc add`` or imported)."""
    resolve = resolver(dvc)
    outs = set()
    for spec in (dvc.get("stages") or {}).values():
        for kind in ("outs", "metrics", "plots"):
            outs.update(resolve(entry_name(e)) for e in spec.get(kind, []) or [])
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
    resolve = resolver(dvc)
    return {
        stage: [str(PurePosixPath(resolve(entry_name(d)))) for d in spec.get("deps", []) or []]
        for stage, spec in (dvc.get("stages") or {}).items()
    }


def _under(path: str, outputs: set[str]) -> bool:
    """Whether ``path`` is an output, inside one or a directory of outputs (DVC links a stage that
    reads a directory to every stage writing into it)."""
    parts = PurePosixPath(path).parts
    return any(
        PurePosixPath(o).parts[: len(parts)] == parts or PurePosixPath(o).parts == parts[: len(PurePosixPath(o).parts)]
        for o in outputs
    )


def _git(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, input=stdin, timeout=60)


def _files_of(root: Path, dep: str) -> list[str]:
    """The files a dependency stands for: itself, or every file under a directory (caches skipped)."""
    path = root / dep
    if path.is_dir():
        skip = {"__pycache__", ".ipynb_checkpoints"}
        return sorted(
            str(PurePosixPath(p.relative_to(root)))
            for p in path.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(root).parts)
        )
    return [dep]


def _named(files: list[str], dep: str) -> str:
    """Files for a ``git add`` command: themselves when a few, else the directory they are in."""
    return " ".join(files) if len(files) <= 5 else dep


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
            notes.append(
                f"{root.resolve()}: not in a git repository (or git is not installed); skipped the check that "
                "stage inputs are tracked by git"
            )
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
        ignored = set(
            _git(root, "check-ignore", "--no-index", "--stdin", "-z", stdin="\0".join(untracked) + "\0").stdout.split(
                "\0"
            )
        ) - {""}
        shown = untracked[:5] + ([f"... ({len(untracked) - 5} more)"] if len(untracked) > 5 else [])
        plain = [f for f in untracked if f not in ignored]
        fixes = [f"git add {_named(plain, dep)}"] if plain else []
        if ignored:
            fixes.append(
                f"git add -f {_named(sorted(ignored), dep)} (they are git-ignored; or un-ignore them in .gitignore)"
            )
        fix = "; ".join(fixes)
        problems.append(
            f"{dep}: input of {who} is not tracked by git ({', '.join(shown)}): a queued or temporary "
            f"experiment (dvc exp run --queue/--temp) would not see it; fix: {fix}"
        )
    return problems
