"""Notebooks, params.yaml, dvc.yaml, the environment files and the README agree."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement

from imbalance_lab.check import check_project, parameters_cell, stage_src_files
from tests.helpers import ROOT, copy_project


def test_project_is_consistent():
    assert check_project(ROOT) == []


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_source_notebooks_have_no_outputs(notebook):
    nb = json.loads(notebook.read_text())
    dirty = [c.get("id") for c in nb["cells"] if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert dirty == [], f"{notebook.name}: strip outputs of cells {dirty}"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_check_reports_a_wrong_notebook_default(tmp_path):
    root = copy_project(tmp_path)
    nb_path = root / "notebooks" / "01_prepare.ipynb"
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "".join(cell["source"]).replace("test_size = 0.2", "test_size = 0.3")
    nb_path.write_text(json.dumps(nb))
    problems = check_project(root)
    assert any("test_size" in p and "0.3" in p and "0.2" in p for p in problems), problems


def test_check_reports_missing_src_dependency_and_extra_param(tmp_path):
    root = copy_project(tmp_path)
    dvc = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(dvc.replace("      - src/imbalance_lab/evaluation.py\n", "", 1))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["prepare"]["new_key"] = 1
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    problems = check_project(root)
    assert any("evaluation.py" in p and "cross_validate" in p for p in problems), problems
    assert any("lacks 'new_key'" in p for p in problems), problems


def test_check_reports_outputs_in_source_notebook(tmp_path):
    root = copy_project(tmp_path)
    nb_path = root / "notebooks" / "02_cross_validate.ipynb"
    nb = json.loads(nb_path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 3
    nb_path.write_text(json.dumps(nb))
    assert any("committed with outputs" in p for p in check_project(root))


def test_stage_src_files_follow_imports_transitively():
    nb = json.loads((ROOT / "notebooks" / "02_cross_validate.ipynb").read_text())
    files = stage_src_files(nb, src=ROOT / "src" / "imbalance_lab")
    # models imports features; everything imports errors through data or runner
    assert {"src/imbalance_lab/models.py", "src/imbalance_lab/features.py", "src/imbalance_lab/runner.py",
            "src/imbalance_lab/params.py", "src/imbalance_lab/errors.py"} <= files
    assert "src/imbalance_lab/profile.py" not in files


def test_parameters_cell_reads_literals():
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "a = 1\nb = [1, 'x']\n# c\n"}]}
    assert parameters_cell(nb) == {"a": 1, "b": [1, "x"]}


def _names(requirements):
    return {Requirement(r).name.lower(): str(Requirement(r).specifier) for r in requirements}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert _names(pip) == _names(declared)
    assert "python=3.11" in conda


def test_lock_pins_every_dependency_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", lock, re.M)}
    for req in declared:
        r = Requirement(req)
        name = r.name.lower()
        assert name in pinned, f"{name} is not pinned in requirements.lock; run make lock"
        assert r.specifier.contains(pinned[name]), f"{name}=={pinned[name]} does not satisfy {r.specifier}"
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[2])
    assert all("--hash=sha256:" in b for b in blocks if "==" in b)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_code = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_code.splitlines() if line.split("#")[0].strip()]
    assert commands == ["make repro", "make test"]
    assert text.index("make repro") < text.index("\n## ")


def test_ci_runs_make_test():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_check_requires_persisted_outputs(tmp_path):
    root = copy_project(tmp_path)
    dvc = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(dvc.replace("      - ${paths.train_path}:\n          persist: true\n", "      - ${paths.train_path}\n", 1))
    assert any("train_path" in p and "persist" in p for p in check_project(root))


def test_check_command_exit_status(tmp_path, monkeypatch):
    from imbalance_lab.cli import main

    root = copy_project(tmp_path)
    monkeypatch.chdir(root)
    assert main(["check"]) == 0
    nb_path = root / "notebooks" / "02_cross_validate.ipynb"
    nb = json.loads(nb_path.read_text())
    next(c for c in nb["cells"] if c["cell_type"] == "code")["execution_count"] = 1
    nb_path.write_text(json.dumps(nb))
    assert main(["check"]) == 1
