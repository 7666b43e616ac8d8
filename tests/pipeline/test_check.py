"""Notebooks, params.yaml, dvc.yaml, the environment files and the README agree."""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from imbalance_lab.pipeline.check import check_project, literal_paths, parameters_cell, path_notes, stage_src_deps
from imbalance_lab.pipeline.kernel import check_kernel

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_project_is_consistent():
    assert check_project(ROOT, strict=True) == []


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_source_notebooks_have_no_outputs(notebook):
    nb = json.loads(notebook.read_text())
    dirty = [
        c.get("id") for c in nb["cells"] if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert dirty == [], f"{notebook.name}: strip outputs of cells {dirty}"
    assert nb["metadata"]["kernelspec"]["name"] == "imbalance-lab"  # the project's kernel (make kernel)


def test_check_reports_a_wrong_notebook_default(tmp_path, copy_project):
    root = copy_project(tmp_path)
    nb_path = root / "notebooks" / "01_prepare.ipynb"
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "".join(cell["source"]).replace("test_size = 0.2", "test_size = 0.3")
    nb_path.write_text(json.dumps(nb))
    problems = check_project(root, kernel=False, strict=True)
    assert any("test_size" in p and "0.3" in p and "0.2" in p for p in problems), problems
    # not strict (a user's edited params.yaml): a note, not a problem
    notes: list[str] = []
    assert not [p for p in check_project(root, kernel=False, notes=notes) if "test_size" in p]
    assert any("test_size" in n and "0.3" in n and "0.2" in n and "params.yaml" in n for n in notes), notes


def test_check_takes_optional_keys_from_params_or_their_defaults(tmp_path, copy_project, update_params):
    """The prepare notebook declares the optional keys with their defaults; params.yaml may leave
    them out or set them (a note when they differ, as for any key)."""
    root = copy_project(tmp_path)
    assert check_project(root, kernel=False, strict=True) == []
    update_params(root, {"prepare": {"split": "time", "time_column": "PPERSAUT"}})
    notes: list[str] = []
    assert check_project(root, kernel=False, notes=notes) == []
    assert any("'split'" in n and "'time'" in n for n in notes), notes
    nb_path = root / "notebooks" / "01_prepare.ipynb"
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "".join(cell["source"]).replace("date_features = []\n", "")
    nb_path.write_text(json.dumps(nb))
    assert any("lacks 'date_features'" in p for p in check_project(root, kernel=False))


def test_check_command_accepts_edited_params_unless_strict(tmp_path, copy_project, run, update_params):
    """After `dvc exp run -S` or an edit of params.yaml, check passes with a note; --strict fails."""
    root = copy_project(tmp_path)
    update_params(root, {"cross_validate": {"top_k_fraction": 0.05}})
    loose = run([str(BIN / "imbalance-lab"), "check", "--no-kernel"], root, check=False)
    assert loose.returncode == 0, loose.stderr
    assert "note:" in loose.stderr and "top_k_fraction" in loose.stderr
    strict = run([str(BIN / "imbalance-lab"), "check", "--no-kernel", "--strict"], root, check=False)
    assert strict.returncode == 1
    assert "problem:" in strict.stderr and "top_k_fraction" in strict.stderr and "0.05" in strict.stderr


def test_check_reports_missing_src_dependency_and_a_parameter_the_notebook_lacks(tmp_path, copy_project):
    root = copy_project(tmp_path)
    dvc = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(dvc.replace("      - src/imbalance_lab/evaluation\n", "", 2))
    nb_path = root / "notebooks" / "01_prepare.ipynb"
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "".join(cell["source"]).replace("test_size = 0.2\n", "")
    nb_path.write_text(json.dumps(nb))
    problems = check_project(root, kernel=False)
    assert (
        "dvc.yaml: stage 'cross_validate' reads src/imbalance_lab/evaluation but does not list it in deps; add it"
        in problems
    ), problems
    assert (
        "notebooks/01_prepare.ipynb: parameters cell lacks 'test_size' (params.yaml has it); add `test_size = 0.2`"
        in problems
    )


@pytest.mark.parametrize(
    "change, message",
    [
        # a typo: the notebook must not be told to declare it, the params file must be fixed
        (
            {"cross_validate": {"top_k_fracton": 0.2}},
            "unknown key 'cross_validate.top_k_fracton'; did you mean 'top_k_fraction'",
        ),
        ({"evaluate": None}, "'evaluate'"),  # an empty section was a TypeError traceback
    ],
)
def test_check_reports_what_params_validation_says(tmp_path, change, message, copy_project):
    root = copy_project(tmp_path)
    params = yaml.safe_load((root / "params.yaml").read_text())
    for section, value in change.items():
        params[section] = value if value is None else {**params[section], **value}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    problems = check_project(root, kernel=False)
    assert len(problems) == 1 and problems[0].startswith("params.yaml: ") and message in problems[0], problems


def test_check_reports_a_missing_notebook(tmp_path, copy_project):
    root = copy_project(tmp_path)
    (root / "notebooks" / "03_tune.ipynb").unlink()
    problems = check_project(root, kernel=False)
    assert (
        "notebooks/03_tune.ipynb: not found (stage 'tune' in dvc.yaml depends on it); restore it or fix the stage"
        in problems
    ), problems


def test_check_reports_outputs_in_source_notebook(tmp_path, copy_project):
    root = copy_project(tmp_path)
    nb_path = root / "notebooks" / "02_cross_validate.ipynb"
    nb = json.loads(nb_path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 3
    nb_path.write_text(json.dumps(nb))
    assert any("committed with outputs" in p for p in check_project(root, kernel=False))


def test_stage_src_deps_are_the_subpackages_imported_transitively():
    nb = json.loads((ROOT / "notebooks" / "02_cross_validate.ipynb").read_text())
    deps = stage_src_deps(nb, src=ROOT / "src" / "imbalance_lab")
    # the notebook imports data, evaluation, reporting, io, modeling and pipeline; evaluation
    # imports modeling; the params the runner validates name the registries of tuning
    assert {
        "src/imbalance_lab/data",
        "src/imbalance_lab/evaluation",
        "src/imbalance_lab/modeling",
        "src/imbalance_lab/reporting",
        "src/imbalance_lab/pipeline",
        "src/imbalance_lab/tuning",
        "src/imbalance_lab/io.py",
        "src/imbalance_lab/errors.py",
    } <= deps
    # the stage's command: the cli package and the package's __init__.py, not the code behind
    # cli's other commands (serving, for predict and drift)
    assert {"src/imbalance_lab/cli", "src/imbalance_lab/__init__.py"} <= deps
    assert "src/imbalance_lab/serving" not in deps


def test_parameters_cell_reads_literals():
    nb = {
        "cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "a = 1\nb = [1, 'x']\n# c\n"}]
    }
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
    assert conda == ["python=3.11", "pip"]  # nothing else from conda: every package comes through pip, as declared


def _imported_modules() -> dict[str, str]:
    """Top-level module -> the first file importing it, over src/, tests/, bench/ and the notebooks."""
    import ast
    import sys

    found: dict[str, str] = {}

    def scan(source: str, where: str) -> None:
        for node in ast.walk(ast.parse(source)):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("imbalance_lab", "tests", "bench"):
                    found.setdefault(top, where)

    for folder in ("src", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            scan(path.read_text(), str(path.relative_to(ROOT)))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                lines = "".join(cell["source"]).splitlines()
                scan(
                    "\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!"))), str(path.relative_to(ROOT))
                )
    return found


def test_every_imported_package_is_declared():
    """A package used only through another's dependencies could vanish from the lock at the next
    `make lock`; every import must name a declared distribution."""
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        canonicalize_name(n)
        for n in _names(project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds])
    }
    distributions = packages_distributions()
    imported = _imported_modules()
    assert {"sklearn", "imblearn", "optuna", "IPython", "yaml"} <= set(imported)  # the scan sees all kinds of file
    undeclared = {
        module: where
        for module, where in imported.items()
        if not {canonicalize_name(d) for d in distributions.get(module, [module])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_lock_pins_every_dependency_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for ds in project["optional-dependencies"].values() for d in ds]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        canonicalize_name(m.group(1)): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", lock, re.M)
    }
    for req in declared:
        r = Requirement(req)
        name = canonicalize_name(r.name)
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


def test_ci_runs_the_linters_and_the_check_then_make_test():
    commands = [ln.split("#")[0].strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert commands.index("make lint") < commands.index("make check CHECK_FLAGS=--strict") < len(commands) - 1
    assert commands[-1] == "exec make test"
    assert "export IMBALANCE_LAB_REQUIRE_POSTGRES=1" in commands  # CI never skips the PostgreSQL test
    assert "imbalance-lab check $(CHECK_FLAGS)" in (ROOT / "Makefile").read_text()


def test_check_requires_persisted_outputs(tmp_path, copy_project):
    root = copy_project(tmp_path)
    dvc = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(
        dvc.replace("      - ${paths.prepared_dir}:\n          persist: true\n", "      - ${paths.prepared_dir}\n", 1)
    )
    assert any("prepared_dir" in p and "persist" in p for p in check_project(root, kernel=False))


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "      - reports/notebooks  # the executed notebooks of the stages above\n",
            "",
            "stage 'report' reads reports/notebooks but does not list it in deps",
        ),
        (
            "      - reports/notebooks/05_evaluate.ipynb:",
            "      - reports/05_evaluate.ipynb:",
            "keep them in one directory",
        ),
        ("cmd: imbalance-lab report", "cmd: python make_index.py", "runs neither `imbalance-lab run report`"),
        (
            "      - reports/index.html:\n          persist: true\n",
            "      - reports/index.html\n",
            "output reports/index.html needs `persist: true`",
        ),
    ],
)
def test_check_reports_a_report_stage_that_misses_a_report(tmp_path, copy_project, old, new, expected):
    root = copy_project(tmp_path)
    dvc = (root / "dvc.yaml").read_text()
    assert old in dvc
    (root / "dvc.yaml").write_text(dvc.replace(old, new, 1))
    problems = check_project(root, kernel=False, git=False)
    assert any(expected in p for p in problems), problems


# --- inputs tracked by git (what a queued experiment sees) --------------------------------------


def test_check_reports_stage_inputs_git_does_not_track(tmp_path, copy_project):
    root = copy_project(tmp_path, git=True)
    (root / "data" / "raw" / "extra_rows.csv").write_text("a,b\n1,2\n")
    (root / "src" / "imbalance_lab" / "data" / "helper.py").write_text("X = 1\n")  # in a subpackage every stage reads
    (root / ".gitignore").write_text((root / ".gitignore").read_text() + "*.secret\n")
    (root / "data" / "raw" / "key.secret").write_text("x")
    notes: list[str] = []
    problems = check_project(root, kernel=False, notes=notes)
    untracked = [p for p in problems if "not tracked by git" in p]
    raw = next(p for p in untracked if p.startswith("data/raw:"))
    assert "data/raw/extra_rows.csv" in raw and "git add data/raw/extra_rows.csv" in raw and "'prepare'" in raw
    assert "git add -f data/raw/key.secret" in raw, raw
    assert any(
        p.startswith("src/imbalance_lab/data:") and "git add src/imbalance_lab/data/helper.py" in p for p in untracked
    ), untracked
    # outputs of stages are DVC's business, not git's: never reported
    assert not any(p.startswith(("data/prepared", "models/")) for p in problems), problems
    assert not [n for n in notes if "git" in n]


def test_check_skips_the_git_check_outside_a_repository_with_a_note(tmp_path, copy_project):
    root = copy_project(tmp_path)
    (root / "data" / "raw" / "extra_rows.csv").write_text("a,b\n1,2\n")
    notes: list[str] = []
    assert check_project(root, kernel=False, notes=notes) == []
    notes = [n for n in notes if "git" in n]
    assert len(notes) == 1 and "not in a git repository" in notes[0] and "skipped" in notes[0]


def test_check_counts_files_of_dvc_add_as_outputs(tmp_path, copy_project):
    root = copy_project(tmp_path, git=True)
    (root / "data" / "external").mkdir()
    (root / "data" / "external" / "big.csv").write_text("a\n1\n")
    (root / "data" / "external.dvc").write_text("outs:\n- md5: 0\n  path: external\n")
    dvc = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(
        dvc.replace("      - ${paths.raw_dir}\n", "      - ${paths.raw_dir}\n      - data/external\n", 1)
    )
    assert not [p for p in check_project(root, kernel=False) if "git" in p]


# --- literal paths in notebooks -------------------------------------------------------------------


def test_check_reports_paths_written_literally_in_a_notebook(tmp_path, copy_project):
    root = copy_project(tmp_path)
    nb_path = root / "notebooks" / "02_cross_validate.ipynb"
    nb = json.loads(nb_path.read_text())
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "planted",
            "metadata": {},
            "outputs": [],
            "source": "extra = pd.read_parquet('data/prepared/train.parquet')\n"
            "fig.savefig(f'plots/cross_validate/{name}.png')\n",
        }
    )
    nb_path.write_text(json.dumps(nb))
    problems = [p for p in check_project(root, kernel=False) if "literally" in p]
    assert len(problems) == 2, problems
    assert all(
        p.startswith("notebooks/02_cross_validate.ipynb: cell ") and "pass paths as parameters" in p for p in problems
    )
    assert any("'data/prepared/train.parquet'" in p for p in problems)
    assert any("'plots/cross_validate/'" in p for p in problems)


def test_literal_paths_ignore_parameters_and_paths_built_from_parameters():
    dvc = {"vars": [{"paths": {"train_path": "data/prepared/train.parquet", "plots_dir": "plots/x"}}], "stages": {}}
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": "train_path = 'data/prepared/train.parquet'\n",
            },
            {
                "cell_type": "code",
                "metadata": {},
                "source": "%matplotlib inline\nf = f'{plots_dir}/scores.png'\n"
                "s = 'ratio 1/2'; t = 'data'; u = Markdown('see the data/ folder')\n",
            },
            {"cell_type": "markdown", "metadata": {}, "source": "Reads data/prepared/train.parquet"},
            {"cell_type": "code", "metadata": {}, "source": "cfg = yaml.safe_load(open('params.yaml'))\n"},
        ]
    }
    assert literal_paths(nb, dvc) == [(4, "params.yaml")]


# --- the stage kernel -----------------------------------------------------------------------------


def test_kernel_check_passes_here_and_in_a_copy_of_the_project(tmp_path, copy_project):
    assert check_kernel(ROOT) == []
    # a copy of the project (what a queued experiment runs in): its kernel imports the copy's src,
    # not the installed package (this checkout's src), even with a module of the same name in the
    # project directory (the kernel's cwd)
    root = copy_project(tmp_path)
    (root / "imbalance_lab.py").write_text("raise ImportError('planted shadow module')\n")
    assert check_kernel(root) == []


def test_kernel_check_flags_a_package_imported_from_elsewhere(tmp_path, monkeypatch, copy_project):
    from imbalance_lab.pipeline import kernel

    root = copy_project(tmp_path / "proj")
    other = tmp_path / "other"
    (other / "imbalance_lab").mkdir(parents=True)
    (other / "imbalance_lab" / "__init__.py").write_text("")
    real = kernel.kernel_environment
    monkeypatch.setattr(
        kernel, "kernel_environment", lambda r, environ=None: {**real(r, environ), "PYTHONPATH": str(other)}
    )
    problems = check_kernel(root)
    assert len(problems) == 1 and "not from this project's src/imbalance_lab" in problems[0], problems
    assert str(other / "imbalance_lab") in problems[0]


def test_kernel_check_reports_a_failing_import(tmp_path, copy_project):
    root = copy_project(tmp_path)
    init = root / "src" / "imbalance_lab" / "__init__.py"
    init.write_text("raise ImportError('planted broken package')\n" + init.read_text())
    problems = check_kernel(root)
    assert (
        len(problems) == 1 and "import imbalance_lab` failed" in problems[0] and "planted broken package" in problems[0]
    )


def test_kernel_check_reports_a_kernel_that_cannot_start(tmp_path, copy_project):
    root = copy_project(tmp_path)
    (root / "ipykernel_launcher.py").write_text("raise SystemExit('planted: no kernel today')\n")
    problems = check_kernel(root, timeout=30)
    assert len(problems) == 1 and "cannot start the stage kernel" in problems[0], problems
    assert "planted: no kernel today" in problems[0]


def test_kernel_check_times_out(tmp_path):
    problems = check_kernel(ROOT, timeout=0.05)
    assert len(problems) == 1 and "within 0.05 s" in problems[0], problems


# --- the command ------------------------------------------------------------------------------------


def test_check_command_prints_one_line_per_problem_and_a_summary(tmp_path, monkeypatch, capsys, copy_project):
    from imbalance_lab.cli import main

    root = copy_project(tmp_path, git=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert main(["check", "--no-kernel"]) == 0
    assert capsys.readouterr().err.strip().splitlines() == [
        "ok: notebooks, params.yaml and dvc.yaml agree; stage inputs are tracked by git"
    ]
    (root / "data" / "raw" / "new.csv").write_text("a\n1\n")
    dvc = (root / "dvc.yaml").read_text()
    (root / "dvc.yaml").write_text(
        dvc.replace("      - ${paths.prepared_dir}:\n          persist: true\n", "      - ${paths.prepared_dir}\n", 1)
    )
    assert main(["check", "--no-kernel"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(ln.startswith("problem: ") for ln in lines[:2]), lines
    assert lines[-1] == "error: 2 problem(s) found"


def test_check_notes_when_path_does_not_lead_to_this_environment(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    notes = path_notes()
    assert any(n.startswith("`imbalance-lab` is not on PATH") and "activate" in n for n in notes), notes
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}/usr/bin:/bin")
    assert path_notes() == []


def test_check_reports_a_notebook_on_another_kernel(tmp_path, copy_project):
    root = copy_project(tmp_path)
    path = root / "notebooks" / "03_tune.ipynb"
    nb = json.loads(path.read_text())
    nb["metadata"]["kernelspec"]["name"] = "python3"
    path.write_text(json.dumps(nb))
    problems = check_project(root, kernel=False, git=False)
    assert problems == [
        "notebooks/03_tune.ipynb: its kernel is 'python3', not the project's; choose Kernel > Change Kernel > "
        "imbalance-lab in JupyterLab (make kernel registers it) and save"
    ]


def test_the_project_kernel_is_registered_in_this_environment():
    """`make env` registers it (make kernel): JupyterLab from .venv offers it and runs this interpreter."""
    import sys

    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("imbalance-lab")
    assert os.path.realpath(spec.argv[0]) == os.path.realpath(sys.executable)
