"""The package's shape: short modules and functions, one home for user errors, a public API per
subpackage, and tests that mirror the subpackages. (The layers of the import graph are checked by
import-linter in ``make lint``: ``[tool.importlinter]`` in pyproject.toml.)"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import imbalance_lab
from imbalance_lab import errors

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "imbalance_lab"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
SUBPACKAGES = sorted(p.name for p in SRC.iterdir() if (p / "__init__.py").is_file())
MODULES = sorted(SRC.rglob("*.py"))


def code_lines(node: ast.AST, lines: list[str]) -> int:
    """Lines of a function that hold code: its docstring, blank lines and comments left out."""
    doc = None
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        doc = range(body[0].lineno, body[0].end_lineno + 1)
    return sum(
        1
        for i in range(node.lineno, node.end_lineno + 1)
        if (doc is None or i not in doc) and lines[i - 1].strip() and not lines[i - 1].strip().startswith("#")
    )


def test_code_lines_leave_out_docstrings_comments_and_blank_lines():
    source = 'def f(x):\n    """Doc\n\n    more."""\n    # a comment\n\n    y = x\n    return y\n'
    assert code_lines(ast.parse(source).body[0], source.splitlines()) == 3


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_modules_and_functions_are_short(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{len(lines)} lines: split the module by concern"
    long = {
        node.name: n
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (n := code_lines(node, lines)) > MAX_FUNCTION_LINES
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines of code: {long}"


def test_every_user_error_class_is_defined_in_errors():
    """The stage runner recognises a notebook's user error by its class name among
    ImbalanceLabError's subclasses: a class defined elsewhere would be missed in a process that has
    not imported its module."""
    for module in pkgutil.walk_packages(imbalance_lab.__path__, "imbalance_lab."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    todo, found = [errors.ImbalanceLabError], []
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    elsewhere = [f"{c.__module__}.{c.__qualname__}" for c in found if c.__module__ != errors.__name__]
    assert not elsewhere, f"user error classes outside imbalance_lab.errors: {elsewhere}"
    assert {c.__name__ for c in found} == errors.user_error_names()


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_each_subpackage_documents_and_exports_its_public_api(name):
    package = importlib.import_module(f"imbalance_lab.{name}")
    assert package.__doc__ and len(package.__doc__.splitlines()) >= 3, "say what the subpackage is for"
    exported = getattr(package, "__all__", None)
    if name == "cli":  # the command: main and its subcommands, no library API
        assert callable(package.main)
        return
    assert exported, "re-export the public API from __init__"
    for attr in exported:
        assert getattr(package, attr) is not None, attr  # every name loads


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_tests_mirror_the_subpackages(name):
    tests = ROOT / "tests" / name
    assert tests.is_dir() and list(tests.glob("test_*.py")), f"tests/{name}/ holds the tests of imbalance_lab.{name}"


def test_no_test_module_imports_another():
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for imported in names:
                last = imported.rsplit(".", 1)[-1]
                assert not (imported.startswith("tests") and (last.startswith("test_") or last == "conftest")), (
                    f"{path.relative_to(ROOT)} imports {imported}: share fixtures through conftest.py"
                )
