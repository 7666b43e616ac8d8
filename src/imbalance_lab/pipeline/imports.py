"""Which parts of the package a piece of code imports: the source deps of dvc.yaml's stages.

A *unit* of the package is a subpackage (``data``, ``modeling``, ...: a directory dep in
dvc.yaml) or a top-level module (``errors``, ``io``, ``__init__``: a file dep). A stage reads the
units its notebook imports, the units its command (``imbalance-lab run``) imports, and every unit
those import in turn; ``imbalance-lab check`` compares that with the stage's deps.

Imports inside a function's body run only when the function is called. Every unit's are followed,
since a stage calls the functions it imports, except the command-line interface's: each command
imports its code when it runs, so ``imbalance-lab run`` does not read ``predict``'s.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "imbalance_lab"
#: Units of which only module-level imports are followed (see the module docstring).
TOP_LEVEL_ONLY = frozenset({"cli"})


@dataclass(frozen=True)
class Module:
    """One module of the package: its qualified name, its source, and whether it is a package's
    ``__init__`` (whose relative imports start at the package itself)."""

    name: str
    source: str
    is_package: bool = False


Units = Mapping[str, Sequence[Module]]


def package_units(src: str | Path) -> dict[str, list[Module]]:
    """The package's units: unit name -> its modules.

    Only files that can be modules count: an editor's lock or backup file (``.#tuning.py``) is
    not one.
    """
    src = Path(src)
    units: dict[str, list[Module]] = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        parts = rel.with_suffix("").parts
        if not all(part.isidentifier() for part in parts) or not path.is_file():
            continue
        unit = parts[0] if len(parts) > 1 else rel.stem
        is_package = parts[-1] == "__init__"
        name = ".".join((PACKAGE, *(parts[:-1] if is_package else parts)))
        units.setdefault(unit, []).append(Module(name, path.read_text(encoding="utf-8"), is_package))
    return units


def unit_path(unit: str, src: str | Path) -> str:
    """The path of a unit as dvc.yaml lists it: the subpackage's directory or the module's file
    (posix, relative to the project root when ``src`` is)."""
    path = Path(src) / unit
    return (path if path.is_dir() else path.with_suffix(".py")).as_posix()


def imported_names(source: str, *, module: str, is_package: bool = False, top_level: bool = False) -> set[str]:
    """Qualified names of the package that ``source`` imports (modules, or a package with the
    names imported from it: ``from imbalance_lab import data`` gives ``imbalance_lab.data``).

    Parameters
    ----------
    source : str
        Python source.
    module : str
        The qualified name of the module the source is, to resolve relative imports.
    is_package : bool
        The source is a package's ``__init__`` (relative imports start at the package itself).
    top_level : bool
        Leave out the imports inside a function's body.
    """
    found: set[str] = set()
    here = module.split(".") if is_package else module.split(".")[:-1]
    todo: list[ast.AST] = [ast.parse(source)]
    while todo:
        node = todo.pop()
        if top_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        todo.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            target = ".".join(filter(None, (base, node.module)))
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # submodules, if they are
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def units_of(names: Iterable[str], units: Mapping[str, object]) -> set[str]:
    """The units that qualified names fall in (``imbalance_lab`` itself is its ``__init__``)."""
    out = set()
    for name in names:
        parts = name.split(".")
        unit = parts[1] if len(parts) > 1 else "__init__"
        if unit in units:
            out.add(unit)
    return out


def unit_imports(unit: str, units: Units) -> set[str]:
    """The other units that ``unit``'s modules import (:data:`TOP_LEVEL_ONLY` units: at module
    level only); importing any module of the package runs its ``__init__`` too."""
    found = {"__init__"} if "__init__" in units else set()
    for module in units[unit]:
        names = imported_names(
            module.source, module=module.name, is_package=module.is_package, top_level=unit in TOP_LEVEL_ONLY
        )
        found |= units_of(names, units)
    return found - {unit}


def unit_closure(start: Iterable[str], units: Units) -> set[str]:
    """The units reachable from ``start`` by imports (those not in ``units`` are left out)."""
    seen: set[str] = set()
    todo = [u for u in start if u in units]
    while todo:
        unit = todo.pop()
        if unit in seen:
            continue
        seen.add(unit)
        todo.extend(unit_imports(unit, units) - seen)
    return seen
