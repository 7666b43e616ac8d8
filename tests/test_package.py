"""The package's own code: imports between its modules and the code fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from imbalance_lab.package import code_fingerprint, imported_modules, module_closure, package_sources

SOURCES = {
    "a": 'from __future__ import annotations\n\nfrom .b import f\n\n\ndef g(x):\n    """Twice f."""\n    return 2 * f(x)\n',
    "b": "import numpy as np\n\nfrom imbalance_lab.c import K\n\n\ndef f(x):\n    return np.sqrt(x) + K\n",
    "c": "K = 1\n",
    "unrelated": "from . import a\n\nZ = 3\n",
}


def test_imported_modules_finds_the_package_imports_of_every_form():
    source = ("import os\nimport numpy as np\nfrom .data import load\nfrom . import models, plots\n"
              "from imbalance_lab import files\nfrom imbalance_lab.errors import Err\nimport imbalance_lab.runner\n"
              "def f():\n    from .scoring import score\n")
    assert imported_modules(source) == {"data", "models", "plots", "files", "errors", "runner", "scoring"}


def test_imported_modules_top_level_leaves_out_the_imports_in_function_bodies():
    source = ("from .errors import Err\ntry:\n    from . import plots\nexcept ImportError:\n    pass\n"
              "class C:\n    from .data import load\n\n    def m(self):\n        from .models import build\n"
              "def f():\n    from .scoring import score\n\n    def inner():\n        import imbalance_lab.drift\n"
              "async def g():\n    from .tuning import work\n"
              "h = lambda: __import__('x')\n")
    assert imported_modules(source, top_level=True) == {"errors", "plots", "data"}
    assert imported_modules(source) == {"errors", "plots", "data", "models", "scoring", "drift", "tuning"}


def test_module_closure_follows_imports_within_the_sources():
    assert module_closure(["a"], sources=SOURCES) == {"a", "b", "c"}
    assert module_closure(["c"], sources=SOURCES) == {"c"}
    assert module_closure(["unrelated"], sources=SOURCES) == {"unrelated", "a", "b", "c"}
    assert module_closure(["missing"], sources=SOURCES) == set()


def test_code_fingerprint_ignores_comments_docstrings_and_formatting():
    base = code_fingerprint(["a"], sources=SOURCES)
    edited = dict(SOURCES, a=SOURCES["a"].replace('"""Twice f."""', '"""Two times f, documented at length."""')
                  .replace("return 2 * f(x)", "return 2*f( x )  # the same"))
    assert code_fingerprint(["a"], sources=edited) == base
    undocumented = dict(SOURCES, a=SOURCES["a"].replace('    """Twice f."""\n', ""))
    assert code_fingerprint(["a"], sources=undocumented) == base


def test_code_fingerprint_changes_with_the_code_of_any_imported_module_only():
    base = code_fingerprint(["a"], sources=SOURCES)
    assert code_fingerprint(["a"], sources=dict(SOURCES, c="K = 2\n")) != base  # imported through b
    assert code_fingerprint(["a"], sources=dict(SOURCES, a=SOURCES["a"].replace("2 *", "3 *"))) != base
    assert code_fingerprint(["a"], sources=dict(SOURCES, unrelated="Z = 4\n")) == base  # not imported by a
    assert code_fingerprint(["c"], sources=SOURCES) != base


def test_package_sources_reads_this_package():
    sources = package_sources()
    assert {"tuning", "package", "check"} <= set(sources)
    assert sources["package"] == Path(__file__).parents[1].joinpath("src/imbalance_lab/package.py").read_text()


def test_package_sources_skips_files_that_cannot_be_modules(tmp_path):
    (tmp_path / "a.py").write_text("X = 1\n")
    (tmp_path / ".#a.py").symlink_to(tmp_path / "gone")  # an editor's lock file: a dangling link
    (tmp_path / "a-copy.py").write_text("X = 2\n")
    assert package_sources(tmp_path) == {"a": "X = 1\n"}


def test_code_fingerprint_refuses_a_module_without_source():
    with pytest.raises(KeyError, match="no source for module"):
        code_fingerprint(["a", "tuning"], sources=SOURCES)
