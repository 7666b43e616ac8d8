"""Unit tests of imbalance_lab.pipeline.imports: the package units a piece of code imports."""

from __future__ import annotations

from pathlib import Path

from imbalance_lab.pipeline.imports import (
    Module,
    imported_names,
    package_units,
    unit_closure,
    unit_imports,
    unit_path,
    units_of,
)

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "imbalance_lab"

#: A package of four units: a subpackage ``a`` (two modules), a subpackage ``cli`` whose command
#: imports ``c`` only when it runs, and the top-level modules ``b`` and ``c``.
UNITS = {
    "__init__": [Module("imbalance_lab", "", is_package=True)],
    "a": [
        Module("imbalance_lab.a", "from .x import f\n", is_package=True),
        Module("imbalance_lab.a.x", "from ..b import K\nfrom . import y\n\ndef f():\n    return K\n"),
    ],
    "b": [Module("imbalance_lab.b", "import numpy\nK = 1\n")],
    "c": [Module("imbalance_lab.c", "from imbalance_lab.a import f\n")],
    "cli": [Module("imbalance_lab.cli", "from ..b import K\n\ndef run():\n    from ..c import g\n", is_package=True)],
}


def test_imported_names_resolves_every_form_of_import():
    source = (
        "import os\nimport numpy as np\nfrom .values import load\nfrom . import split\n"
        "from ..errors import DataError\nfrom imbalance_lab import io\nimport imbalance_lab.tuning.study\n"
        "def f():\n    from ..serving import score\n"
    )
    names = imported_names(source, module="imbalance_lab.data.sources")
    assert {
        "imbalance_lab.data.values",
        "imbalance_lab.data.split",
        "imbalance_lab.errors",
        "imbalance_lab.io",
        "imbalance_lab.tuning.study",
        "imbalance_lab.serving",
    } <= names
    assert not {n for n in names if not n.startswith("imbalance_lab")}  # numpy and os are not the package's
    top = imported_names(source, module="imbalance_lab.data.sources", top_level=True)
    assert "imbalance_lab.serving" not in top and "imbalance_lab.errors" in top


def test_a_packages_init_resolves_relative_imports_from_the_package_itself():
    names = imported_names(
        "from .schema import Schema\nfrom ..io import write_json\n", module="imbalance_lab.data", is_package=True
    )
    assert {"imbalance_lab.data.schema", "imbalance_lab.io"} <= names


def test_units_of_names():
    assert units_of(["imbalance_lab.a.x", "imbalance_lab.b.K", "imbalance_lab", "imbalance_lab.zzz"], UNITS) == {
        "a",
        "b",
        "__init__",
    }


def test_unit_closure_follows_imports_but_not_the_commands_function_bodies():
    assert unit_imports("a", UNITS) == {"__init__", "b"}
    assert unit_closure(["c"], UNITS) == {"__init__", "a", "b", "c"}
    assert unit_closure(["cli"], UNITS) == {"__init__", "b", "cli"}  # not c: its command imports it when it runs
    assert unit_closure(["missing"], UNITS) == set()


def test_package_units_reads_this_package():
    units = package_units(SRC)
    assert {
        "__init__",
        "errors",
        "io",
        "data",
        "modeling",
        "evaluation",
        "tuning",
        "reporting",
        "serving",
        "pipeline",
        "cli",
    } <= set(units)
    modules = {m.name: m for m in units["pipeline"]}
    assert modules["imbalance_lab.pipeline"].is_package and not modules["imbalance_lab.pipeline.imports"].is_package
    assert modules["imbalance_lab.pipeline.imports"].source == (SRC / "pipeline" / "imports.py").read_text()
    assert unit_path("data", Path("src/imbalance_lab")) == "src/imbalance_lab/data" or not Path("src").exists()


def test_package_units_skips_files_that_cannot_be_modules(tmp_path):
    (tmp_path / "a.py").write_text("X = 1\n")
    (tmp_path / ".#a.py").symlink_to(tmp_path / "gone")  # an editor's lock file: a dangling link
    (tmp_path / "a-copy.py").write_text("X = 2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "__init__.py").write_text("")
    units = package_units(tmp_path)
    assert set(units) == {"a", "sub"} and units["a"] == [Module("imbalance_lab.a", "X = 1\n")]


def test_unit_path_is_a_directory_or_a_file(tmp_path):
    (tmp_path / "sub").mkdir()
    assert unit_path("sub", tmp_path) == (tmp_path / "sub").as_posix()
    assert unit_path("errors", tmp_path) == (tmp_path / "errors.py").as_posix()
