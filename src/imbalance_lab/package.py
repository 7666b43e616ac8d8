"""The package's own code: which of its modules a piece of code imports, and a fingerprint of
what a set of modules computes.

``imbalance-lab check`` uses the imports to compare a stage's src deps in dvc.yaml with what its
notebook reads; the tune stage puts the fingerprint of the code its trials run in the study's
name, so that changed code starts a new study instead of resuming one it would not have given.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

PACKAGE = "imbalance_lab"


def imported_modules(source: str, *, top_level: bool = False) -> set[str]:
    """Modules of the package imported by Python source (``from imbalance_lab import x``,
    ``from .data import y``, ``import imbalance_lab.z``).

    With ``top_level``, only the imports that run when the source is imported: those inside a
    function's body, which run only when it is called, are left out.
    """
    found = set()
    todo: list[ast.AST] = [ast.parse(source)]
    while todo:
        node = todo.pop()
        if top_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))
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


def module_closure(modules: Iterable[str], *, sources: Mapping[str, str]) -> set[str]:
    """The modules reachable from ``modules`` by imports, among ``sources`` (module name to its
    source; names not in it, such as imported functions, are left out)."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        m = todo.pop()
        if m in seen or m not in sources:
            continue
        seen.add(m)
        todo.extend(imported_modules(sources[m]) - seen)
    return seen


def package_sources(src: str | Path | None = None) -> dict[str, str]:
    """Module name to source of the package's modules in ``src`` (default: the package this
    module was imported from). Only files that can be modules count: an editor's lock or backup
    file (``.#tuning.py``, often a dangling link) is not one."""
    directory = Path(src) if src is not None else Path(__file__).parent
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.py"))
            if p.stem.isidentifier() and p.is_file()}


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """``tree`` with the docstrings of its module, classes and functions removed (in place)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_fingerprint(modules: Collection[str], *, sources: Mapping[str, str]) -> str:
    """A hash of the code of ``modules`` and of the modules they import, transitively.

    It hashes their syntax trees without docstrings, so comments, docstrings and formatting do
    not change it; any other change to that code does.

    Parameters
    ----------
    modules : collection of str
        Module names, keys of ``sources``.
    sources : mapping
        Module name to source (:func:`package_sources`).

    Raises
    ------
    KeyError
        If one of ``modules`` is not in ``sources`` (its code would silently not count).
    """
    missing = sorted(set(modules) - set(sources))
    if missing:
        raise KeyError(f"no source for module(s) {', '.join(missing)}")
    h = hashlib.sha256()
    for name in sorted(module_closure(modules, sources=sources)):
        h.update(name.encode() + b"\0")
        h.update(ast.dump(_without_docstrings(ast.parse(sources[name]))).encode() + b"\0")
    return h.hexdigest()[:12]
