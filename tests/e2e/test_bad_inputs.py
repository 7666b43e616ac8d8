"""Bad inputs, run for real: each case breaks one thing in a copy of a fully reproduced project
(or feeds `imbalance-lab predict` something wrong) and checks the failure is a good one.

A good failure: a non-zero exit; exactly one line starting with ``error:`` that names the file,
column or key and says what to do; no traceback; and, for the pipeline, dvc.lock and every
output of every stage byte-identical to before (the runner sets outputs aside and restores them).

The data files are in tests/bad_inputs/ (``good.csv`` is valid, every other file differs from it
in one way; ``make_files.py`` regenerates them).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.support import ROOT, SMALL, copy_project, env, run, update_params

pytestmark = pytest.mark.slow

BAD = ROOT / "tests" / "bad_inputs"
STAGES = ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]
#: Every output of the pipeline lives under these (plus dvc.lock).
OUTPUT_DIRS = [
    "data/prepared",
    "data/cross_validation",
    "data/tuning",
    "data/imbalance",
    "data/evaluation",
    "models",
    "metrics",
    "plots",
    "reports",
]
DB_URL = "postgresql://u:pw@127.0.0.1:1/db"  # nothing listens on port 1: the connection is refused


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of dvc.lock and of every file under the output directories."""
    files = [root / "dvc.lock"] + sorted(p for d in OUTPUT_DIRS for p in (root / d).rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("bad_inputs") / "project", git=True, params=SMALL)
    out = run(["dvc", "repro"], root).stdout
    assert all(f"Running stage '{s}'" in out for s in STAGES), out
    before = snapshot(root)
    assert any(k.startswith("models/model/") for k in before) and "dvc.lock" in before
    return root, before


def check_one_error_line(
    proc: subprocess.CompletedProcess, expect: tuple[str, ...], forbid: tuple[str, ...] = ()
) -> str:
    """The run failed with exactly one ``error:`` line holding every expected substring."""
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-5000:]
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output[-5000:]
    line = lines[0]
    missing = [s for s in expect if s not in line]
    assert not missing, f"{missing} not in: {line}"
    leaked = [s for s in forbid if s in output]
    assert not leaked, f"{leaked} leaked into the output"
    return line


# --------------------------------------------------------------------------------------------
# The pipeline: `dvc repro` in a copy of the reproduced project
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input for `dvc repro`.

    files: copied from tests/bad_inputs into data/raw; params: merged into params.yaml;
    expect: substrings of the ``error:`` line (the file, column or key, and the fix);
    stage: the stage that must fail; forbid: text that must not appear in any output.
    """

    id: str
    expect: tuple[str, ...]
    stage: str = "prepare"
    files: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    forbid: tuple[str, ...] = ()


def own(sources: Any, **prepare: Any) -> dict[str, Any]:
    """params.yaml changes that point prepare at the small churn files."""
    if isinstance(sources, str):
        sources = [{"path": sources, "options": {"sep": ","}}]
    return {"prepare": {"sources": sources, "target": "churned", "positive_label": 1, "categorical": [], **prepare}}


CASES = [
    Case(
        "empty_file", ("data/raw/empty.csv", "empty", "prepare.sources"), files=("empty.csv",), params=own("empty.csv")
    ),
    Case(
        "header_only",
        ("header_only.csv", "no data rows", "add data rows"),
        files=("header_only.csv",),
        params=own("header_only.csv"),
    ),
    Case(
        "wrong_separator",
        ("data/raw/semicolon.csv", "only one column", "sep: auto", "prepare.sources"),
        files=("semicolon.csv",),
        params=own("semicolon.csv"),
    ),
    Case(
        "target_missing",
        ("good.csv", "target column 'churn' not found", "did you mean 'churned'", "set prepare.target"),
        files=("good.csv",),
        params=own("good.csv", target="churn"),
    ),
    Case(
        "one_class",
        ("one_class.csv", "'churned'", "only one class", "add rows of the other class"),
        files=("one_class.csv",),
        params=own("one_class.csv"),
    ),
    Case(
        "three_classes",
        ("three_classes.csv", "'churned'", "3 classes", "map the classes to two"),
        files=("three_classes.csv",),
        params=own("three_classes.csv"),
    ),
    Case(
        "fewer_positives_than_folds",
        ("few_positives.csv", "only 2 positive", "prepare.n_splits=3", "lower prepare.n_splits", "add positive rows"),
        files=("few_positives.csv",),
        params=own("few_positives.csv"),
    ),
    Case(
        "positive_label_never_occurs",
        ("good.csv", "positive label 'yes' never occurs", "'churned'", "set prepare.positive_label to one of them"),
        files=("good.csv",),
        params=own("good.csv", positive_label="yes"),
    ),
    Case(
        "text_in_numeric_column",
        (
            "text_in_numeric.csv",
            "column 'income'",
            "'unknown'",
            "data row 18",
            "if they stand for missing values, add na_values: ['unknown']",
            "otherwise fix them",
            "prepare.categorical",
        ),
        files=("text_in_numeric.csv",),
        params=own("text_in_numeric.csv"),
    ),
    Case(
        "infinite_values",
        ("inf_values.csv", "column 'income'", "infinite values in 2 row(s)", "replace them"),
        files=("inf_values.csv",),
        params=own("inf_values.csv"),
    ),
    Case(
        "all_empty_column",
        ("empty_column.csv", "column 'notes'", "empty in every row", "prepare.drop_columns"),
        files=("empty_column.csv",),
        params=own("empty_column.csv"),
    ),
    Case(
        "duplicate_column_names",
        ("data/raw/duplicate_columns.csv", "duplicate column name(s) ['income']", "rename"),
        files=("duplicate_columns.csv",),
        params=own("duplicate_columns.csv"),
    ),
    Case(
        "schemas_disagree",
        (
            "other_schema.csv",
            "schema disagrees with good.csv",
            "lacks ['plan']",
            "extra ['plan_name']",
            "give every source the same columns",
        ),
        files=("good.csv", "other_schema.csv"),
        params=own([{"path": "good.csv"}, {"path": "other_schema.csv"}]),
    ),
    Case(
        "identifier_like_categorical",
        (
            "identifier_column.csv",
            "categorical column 'name'",
            "different value in every row",
            "prepare.drop_columns or prepare.hash_columns",
        ),
        files=("identifier_column.csv",),
        params=own("identifier_column.csv"),
    ),
    Case(
        "wrong_encoding",
        ("data/raw/latin1.csv", "not valid utf-8", "set options: {encoding: latin-1}"),
        files=("latin1.csv",),
        params=own("latin1.csv"),
    ),
    Case(
        "decimal_comma",
        (
            "decimal_comma.csv",
            "column 'income'",
            "numbers written with a comma",
            "'3084,33'",
            'set options: {decimal: ","}',
        ),
        files=("decimal_comma.csv",),
        params=own([{"path": "decimal_comma.csv", "options": {"sep": ";"}}]),
    ),
    Case(
        "date_column",
        (
            "dates.csv",
            "column 'signup' holds dates or times",
            "'2023-01-01'",
            "prepare.drop_columns",
            "prepare.categorical",
        ),
        files=("dates.csv",),
        params=own("dates.csv"),
    ),
    Case(
        "source_outside_data_raw",
        ("../outside.csv", "outside data/raw/", "copy the file into data/raw/"),
        params=own("../outside.csv"),
    ),
    Case(
        "holdout_without_a_positive_test_row",
        ("good.csv", "test_size=0.02", "puts 0 of the 12 positive row(s) in the test part", "raise prepare.test_size"),
        files=("good.csv",),
        params=own("good.csv", test_size=0.02),
    ),
    Case(
        "path_does_not_exist",
        ("customers_2024.csv", "file not found", "fix the path in prepare.sources", "data/raw/"),
        params=own([{"path": "customers_2024.csv"}]),
    ),
    Case(
        "database_refuses_connection",
        ("$IMBALANCE_LAB_TEST_DB_URL", "cannot connect", "refused", "check that the server is running"),
        params=own([{"query": "SELECT * FROM customers", "url_env": "IMBALANCE_LAB_TEST_DB_URL"}]),
        env={"IMBALANCE_LAB_TEST_DB_URL": DB_URL},
        forbid=(":pw@", "127.0.0.1:1", "u:pw"),
    ),
    Case(
        "hash_columns_without_salt",
        ("prepare.hash_columns", "$IMBALANCE_LAB_SALT", "export it"),
        files=("good.csv",),
        params=own("good.csv", hash_columns=["customer_age"]),
        env={"IMBALANCE_LAB_SALT": ""},
    ),
    Case(
        "wrong_params_type",
        ("params.yaml", "'prepare.test_size'", "must be float", "'20%'", "set it to a float"),
        params={"prepare": {"test_size": "20%"}},
    ),
    Case(
        "unknown_params_key",
        (
            "params.yaml",
            "unknown key 'cross_validate.top_k_frac'",
            "did you mean 'top_k_fraction'",
            "rename or remove it",
        ),
        stage="cross_validate",
        params={"cross_validate": {"top_k_frac": 0.1}},
    ),
    Case(
        "unknown_model_name",
        ("params.yaml", "'cross_validate.models'", "'lightgbm'", "known: dummy"),
        stage="cross_validate",
        params={"cross_validate": {"models": ["dummy", "lightgbm"]}},
    ),
    Case(
        "sampler_cannot_run",
        ("strategy 'smote'", "k_neighbors=500", "lower imbalance.k_neighbors"),
        stage="imbalance",
        params={"imbalance": {"strategies": ["none", "smote"], "k_neighbors": 500}},
    ),
]


def bad_copy(baseline: tuple[Path, dict], tmp_path: Path, case: Case) -> Path:
    root = tmp_path / "project"
    shutil.copytree(baseline[0], root, symlinks=True)
    for name in case.files:
        shutil.copy2(BAD / name, root / "data" / "raw" / name)
    if case.params:
        update_params(root, case.params)
    return root


def repro(root: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["dvc", "repro"],
        cwd=root,
        env={**env(), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def test_the_reference_file_is_valid():
    """good.csv passes prepare's checks, so each bad file fails for its one difference."""
    from imbalance_lab import data

    name, raw = data.read_sources([{"path": "good.csv", "options": {"sep": ","}}], base_dir=BAD)
    clean, schema, report = data.validate_and_clean(
        raw,
        source=name,
        target="churned",
        positive_label=1,
        categorical=[],
        drop_columns=[],
        hash_columns=[],
        hash_salt=None,
        drop_duplicates=False,
        n_splits=SMALL["prepare"]["n_splits"],
        test_size=0.2,
    )
    assert (
        report["rows"] == 60
        and report["positives"] == 12
        and set(schema.features) == {"customer_age", "income", "plan"}
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_stops_the_pipeline_cleanly(baseline, tmp_path, case):
    root = bad_copy(baseline, tmp_path, case)
    proc = repro(root, case.env)
    line = check_one_error_line(proc, case.expect, case.forbid)
    assert "failed in cell" not in line, "a user error must not be reported as a crash of the stage"
    output = proc.stdout + proc.stderr
    assert f"Running stage '{case.stage}'" in output and f"imbalance-lab run {case.stage}, exited with 2" in output, (
        output[-3000:]
    )
    assert snapshot(root) == baseline[1], "a failed stage changed dvc.lock or an earlier output"
    assert not (root / ".imbalance-lab" / "backup" / case.stage).exists()


def test_debug_shows_the_traceback(baseline, tmp_path):
    case = next(c for c in CASES if c.id == "unknown_params_key")
    root = bad_copy(baseline, tmp_path, case)
    proc = repro(root, {"IMBALANCE_LAB_DEBUG": "1"})
    assert proc.returncode != 0
    assert (
        "Traceback" in proc.stderr
        and "ParamsError" in proc.stderr
        and "unknown key 'cross_validate.top_k_frac'" in proc.stderr
    )
    assert snapshot(root) == baseline[1]


# --------------------------------------------------------------------------------------------
# `imbalance-lab predict` on the reproduced model
# --------------------------------------------------------------------------------------------


def _raw_rows(root: Path, n: int = 50) -> pd.DataFrame:
    return pd.read_csv(root / "data" / "raw" / "caravan_train.csv", nrows=n)


def garbage_model(root: Path, tmp_path: Path) -> list[str]:
    """A model directory whose model.skops is garbage but listed in the manifest with its hash."""
    model = tmp_path / "model"
    shutil.copytree(root / "models" / "model", model)
    junk = b"this is not a model, just some bytes\n" * 10
    (model / "model.skops").write_bytes(junk)
    manifest = json.loads((model / "manifest.json").read_text())
    manifest["files"]["model.skops"] = {"bytes": len(junk), "sha256": hashlib.sha256(junk).hexdigest()}
    (model / "manifest.json").write_text(json.dumps(manifest))
    _raw_rows(root).to_csv(tmp_path / "new.csv", index=False)
    return ["--model", str(model), "--input", str(tmp_path / "new.csv")]


def modified_model(root: Path, tmp_path: Path) -> list[str]:
    """A model directory whose model.skops was replaced behind the manifest's back."""
    model = tmp_path / "model"
    shutil.copytree(root / "models" / "model", model)
    (model / "model.skops").write_bytes(b"PK\x03\x04 tampered")
    _raw_rows(root).to_csv(tmp_path / "new.csv", index=False)
    return ["--model", str(model), "--input", str(tmp_path / "new.csv")]


def input_missing_a_column(root: Path, tmp_path: Path) -> list[str]:
    _raw_rows(root).drop(columns=["MOSTYPE"]).to_csv(tmp_path / "new.csv", index=False)
    return ["--model", str(root / "models" / "model"), "--input", str(tmp_path / "new.csv")]


def input_text_in_numeric(root: Path, tmp_path: Path) -> list[str]:
    rows = _raw_rows(root).astype({"PPERSAUT": object})
    rows.loc[7, "PPERSAUT"] = "six"
    rows.to_csv(tmp_path / "new.csv", index=False)
    return ["--model", str(root / "models" / "model"), "--input", str(tmp_path / "new.csv")]


PREDICT_CASES: list[tuple[str, Callable[[Path, Path], list[str]], tuple[str, ...]]] = [
    (
        "model_file_is_not_a_model",
        garbage_model,
        ("model/model.skops", "not a skops model file", "re-run dvc repro or dvc pull"),
    ),
    ("model_file_modified", modified_model, ("model/model.skops", "checksum mismatch", "re-run dvc repro or dvc pull")),
    (
        "input_missing_a_column",
        input_missing_a_column,
        ("new.csv", "column 'MOSTYPE' is missing", "add it to the input"),
    ),
    (
        "input_text_in_numeric_column",
        input_text_in_numeric,
        ("new.csv", "column 'PPERSAUT'", "'six'", "data row 8", "fix or blank those values"),
    ),
]


@pytest.mark.parametrize("make, expect", [c[1:] for c in PREDICT_CASES], ids=[c[0] for c in PREDICT_CASES])
def test_bad_input_stops_predict_cleanly(baseline, tmp_path, make, expect):
    root, before = baseline
    args = make(root, tmp_path)
    out = tmp_path / "scores.csv"
    proc = run(["imbalance-lab", "predict", *args, "--output", str(out)], tmp_path, check=False)
    assert proc.returncode == 2
    check_one_error_line(proc, expect)
    assert not out.exists() and not list(tmp_path.glob(".scores.csv.*")), "a failed predict left an output"
    assert snapshot(root) == before


def test_predict_debug_shows_the_traceback(baseline, tmp_path):
    root, _ = baseline
    args = input_missing_a_column(root, tmp_path)
    proc = run(
        ["imbalance-lab", "--debug", "predict", *args, "--output", str(tmp_path / "s.csv")], tmp_path, check=False
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ScoringError" in proc.stderr
