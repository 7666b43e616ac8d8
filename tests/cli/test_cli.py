"""The ``imbalance-lab`` command: the input errors of the tune worker (its real runs against
PostgreSQL are in ``tests/e2e/test_tune.py``) and of the check."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imbalance_lab import cli
from imbalance_lab.pipeline.check import stage_src_deps

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A directory with the project's params.yaml and dvc.yaml and no prepared data."""
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_tune_worker_without_a_database_says_what_to_export(project, monkeypatch, capsys):
    monkeypatch.delenv("IMBALANCE_LAB_OPTUNA_STORAGE", raising=False)
    assert cli.main(["tune-worker"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: tune-worker needs a shared database: export IMBALANCE_LAB_OPTUNA_STORAGE="
        "postgresql://user:password@host/db (the same value as for the tune stage)"
    ]


def test_tune_worker_without_the_prepared_data_says_how_to_get_it(project, monkeypatch, capsys):
    monkeypatch.setenv("IMBALANCE_LAB_OPTUNA_STORAGE", "postgresql://user:secret@127.0.0.1:1/db")
    assert cli.main(["tune-worker"]) == cli.EXIT_ERROR
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: data/") and "not found; run `dvc pull` or `dvc repro prepare`" in line
    assert "secret" not in line
    assert sorted(p.name for p in project.iterdir()) == ["dvc.yaml", "params.yaml"]  # nothing written


def test_tune_worker_without_dvc_yaml_is_one_line(project, monkeypatch, capsys):
    monkeypatch.setenv("IMBALANCE_LAB_OPTUNA_STORAGE", "postgresql://user:secret@127.0.0.1:1/db")
    (project / "dvc.yaml").unlink()
    assert cli.main(["tune-worker"]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: dvc.yaml: file not found; run from the project root or pass --dvc-file"
    ]


@pytest.mark.parametrize(
    "params_text, dvc_text, message",
    [
        (None, "stages: {}\n", "error: params.yaml: file not found; run `imbalance-lab check` from the project root"),
        ("seed: 42\n", None, "error: dvc.yaml: file not found; run `imbalance-lab check` from the project root"),
        (
            "seed: [42\n",
            "stages: {}\n",
            "error: params.yaml: line 2 is not valid YAML (expected ',' or ']', but got "
            "'<stream end>'); fix the syntax",
        ),
        ("seed: 42\n", "- a\n- b\n", "error: dvc.yaml: is not a mapping of sections; fix the file"),
    ],
)
def test_check_outside_a_project_or_with_broken_files_is_one_line_with_status_2(
    tmp_path, monkeypatch, capsys, params_text, dvc_text, message
):
    """Status 2 is an error that stopped the check; 1 means it ran and found problems."""
    for name, text in (("params.yaml", params_text), ("dvc.yaml", dvc_text)):
        if text is not None:
            (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "--no-kernel"]) == cli.EXIT_ERROR
    assert capsys.readouterr().err.strip().splitlines() == [message]


# The modules a command loads, from a fresh interpreter: the ``imbalance_lab`` modules in
# ``sys.modules`` after ``cli.main(argv)`` returns (here with an error, before any real work).
LOADED = """
import json, sys
from imbalance_lab import cli
status = cli.main(json.loads(sys.argv[1]))
print(json.dumps({"status": status, "modules": sorted(m for m in sys.modules if m.split(".")[0] == "imbalance_lab")}))
"""


def _loaded_modules(argv, cwd):
    out = subprocess.run(
        [sys.executable, "-c", LOADED, json.dumps(argv)], cwd=cwd, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.splitlines()[-1])
    return result["status"], set(result["modules"])


def _unit_paths(modules):
    """The dvc.yaml deps that loaded modules fall in: their subpackage's directory or their file."""
    units = {"__init__" if m == "imbalance_lab" else m.split(".")[1] for m in modules}
    return {
        f"src/imbalance_lab/{u}" if (ROOT / "src" / "imbalance_lab" / u).is_dir() else f"src/imbalance_lab/{u}.py"
        for u in units
    }


def test_a_stage_command_loads_only_what_every_stage_lists_in_its_deps(tmp_path):
    """``imbalance-lab run STAGE`` runs in its own process before the notebook's kernel starts:
    the package files it loads must be among the files ``check`` requires in each stage's deps
    (here: whatever any notebook imports, which is none)."""
    status, modules = _loaded_modules(["run", "prepare", "--params", str(tmp_path / "missing.yaml")], cwd=tmp_path)
    assert status == cli.EXIT_ERROR  # stopped at the missing params file, after importing the runner
    assert "imbalance_lab.pipeline.runner" in modules
    required = stage_src_deps({"cells": []}, src=ROOT / "src" / "imbalance_lab")
    files = _unit_paths(modules)
    assert files <= required, f"loaded but not in every stage's deps: {sorted(files - required)}"
    assert not [m for m in modules if m.startswith("imbalance_lab.serving")]


def test_predict_gets_its_options_from_the_serving_code(tmp_path, capsys):
    status, modules = _loaded_modules(
        ["predict", "--model", str(tmp_path / "none"), "--input", "x.csv", "--output", "y.csv"], cwd=tmp_path
    )
    assert status == cli.EXIT_ERROR and "imbalance_lab.serving.scoring" in modules
    with pytest.raises(SystemExit):
        cli.main(["drift", "--help"])
    assert "--psi-threshold" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "predict" in out and "drift" in out and "run" in out


@pytest.mark.parametrize(
    "argv, expected",
    [(["run", "prepare"], "run"), (["--debug", "predict", "--model", "m"], "predict"), (["--help"], None), ([], None)],
)
def test_command_name_is_the_first_argument_that_is_not_an_option(argv, expected):
    assert cli.command_name(argv) == expected


# --- the parser: version, --debug anywhere, the stages of run ---------------------------------


def test_version_names_the_package_version(capsys):
    from imbalance_lab import __version__

    with pytest.raises(SystemExit) as end:
        cli.main(["--version"])
    assert end.value.code == 0 and capsys.readouterr().out.strip() == f"imbalance-lab {__version__}"


@pytest.mark.parametrize(
    "argv", [["--debug", "run", "prepare"], ["run", "prepare", "--debug"], ["run", "--debug", "prepare"]]
)
def test_debug_is_accepted_before_or_after_the_command(project, argv):
    args = cli.build_parser(cli.command_name(argv)).parse_args(argv)
    assert args.debug is True and args.stage == "prepare"


def test_run_offers_the_stages_of_dvc_yaml_that_run_a_notebook(project, capsys):
    with pytest.raises(SystemExit) as end:
        cli.main(["run", "deploy"])
    err = capsys.readouterr().err
    assert end.value.code == 2
    assert "invalid choice: 'deploy' (choose from 'prepare', 'cross_validate', 'tune', 'imbalance', 'evaluate')" in err
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "the stage to run: prepare, cross_validate, tune, imbalance, evaluate (dvc repro runs them in order)" in out
    assert "--verbose" in out and ".imbalance-lab/logs/STAGE.log" in out


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: imbalance-lab")
    assert "``" not in out and ":func:" not in out and ":mod:" not in out
    for command in ("run", "report", "tune-worker", "check", "predict", "drift"):
        assert f"\n    {command} " in out or f"\n    {command}\n" in out


def test_report_writes_the_index_of_the_reports_there_are(project, capsys):
    assert cli.main(["report"]) == 0
    assert capsys.readouterr().err.strip() == "report: wrote reports/index.html"
    page = (project / "reports" / "index.html").read_text()
    assert page.count("not run yet") == 5


def test_the_installed_command_ends_a_stage_process_with_its_status_and_its_last_lines(tmp_path):
    """``imbalance-lab run`` ends its process without tearing it down (cli.console): the status and
    the error line still arrive, and the stage kernel it had started is gone."""
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")  # and no params.yaml: an input error
    command = Path(sys.executable).parent / "imbalance-lab"
    proc = subprocess.run(
        [str(command), "run", "prepare"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == cli.EXIT_ERROR, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and "params.yaml" in proc.stderr
    running_here = []
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            if Path(proc_dir / "cwd").resolve() == tmp_path.resolve():
                running_here.append((proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    assert not running_here, f"left running: {running_here}"
