"""Your own data as it comes (issue 28), end to end from params.yaml alone.

One generated account table (1200 rows, a multi-class outcome, a signup date) arrives in two
shapes at once: a header-less CSV with a space after every comma (2023's accounts), and an Excel
workbook whose data is on its second sheet (2024's), which spells the positive label differently
(``competitor.``, some with a trailing space). prepare reads both (``header: null``, ``names``,
``skipinitialspace``, ``sheet``), takes one outcome against all the others (``positive_label`` as a
list, ``negative_label: rest``) and splits out of time (``split: time`` on ``signup``, with month and
weekday features); the whole pipeline runs. Then each new bad input stops ``imbalance-lab run
prepare`` with one line and leaves every output as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.support import SMALL, copy_project, env, run, update_params

pytestmark = pytest.mark.slow

NAMES = ["age", "plan", "tenure", "fee", "calls", "region", "signup", "outcome"]
CSV_SOURCE = {
    "path": "accounts_2023.csv",
    "options": {"sep": ",", "header": None, "names": NAMES, "skipinitialspace": True},
}
XLSX_SOURCE = {"path": "accounts_2024.xlsx", "options": {"sheet": "accounts"}}
PREPARE = {
    **SMALL["prepare"],
    "sources": [CSV_SOURCE, XLSX_SOURCE],
    "target": "outcome",
    "positive_label": ["competitor", "competitor."],
    "negative_label": "rest",
    "categorical": [],
    "split": "time",
    "time_column": "signup",
    "date_features": ["month", "weekday"],
}
#: Every output of the pipeline lives under these (plus dvc.lock).
OUTPUT_DIRS = ["data/prepared", "data/evaluation", "models", "metrics", "plots", "reports"]


def accounts(n: int, seed: int, *, start: str, days: int) -> pd.DataFrame:
    """Accounts signed up over ``days`` from ``start``; ~10 % leave for a competitor (more with
    support calls and a basic plan, fewer with tenure), the others stay, move or leave over price."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.35, 0.15])
    tenure = rng.integers(1, 121, n)
    calls = rng.poisson(1.5, n)
    fee = np.round(rng.gamma(4.0, 12.5, n), 2)
    fee[rng.random(n) < 0.04] = np.nan
    logit = -3.0 + 0.7 * calls - 0.02 * tenure + 1.0 * (plan == "basic")
    competitor = rng.random(n) < 1 / (1 + np.exp(-logit))
    other = rng.choice(["stayed", "moved", "price"], n, p=[0.8, 0.1, 0.1])
    signup = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    return pd.DataFrame(
        {
            "age": rng.integers(18, 86, n),
            "plan": plan,
            "tenure": tenure,
            "fee": fee,
            "calls": calls,
            "region": rng.choice(["north", "south", "east", "west"], n),
            "signup": signup,
            "outcome": np.where(competitor, "competitor", other),
        }
    )


def write_sources(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 2023 accounts as a header-less CSV (", " between fields), the 2024 ones as the second
    sheet of a workbook with the positive label written ``competitor.`` (every third with a space)."""
    old = accounts(800, seed=3, start="2023-01-01", days=365)
    new = accounts(400, seed=4, start="2024-01-01", days=182)
    lines = [
        ", ".join("" if pd.isna(v) else v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else str(v) for v in row)
        for row in old.itertuples(index=False)
    ]
    (raw / "accounts_2023.csv").write_text("\n".join(lines) + "\n")
    spelled = new.copy()
    positive = spelled["outcome"] == "competitor"
    spelled.loc[positive, "outcome"] = np.where(np.arange(positive.sum()) % 3 == 0, "competitor. ", "competitor.")
    with pd.ExcelWriter(raw / "accounts_2024.xlsx", engine="openpyxl") as book:
        pd.DataFrame({"note": ["exported from the CRM"]}).to_excel(book, sheet_name="about", index=False)
        spelled.to_excel(book, sheet_name="accounts", index=False)
    return old, spelled


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("own_data_shapes") / "project", git=False)
    raw = root / "data" / "raw"
    for f in raw.iterdir():  # only the user's data
        f.unlink()
    old, new = write_sources(raw)
    update_params(root, {**SMALL, "prepare": PREPARE})
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "own data"]):
        run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *cmd], root)
    proc = run(["dvc", "repro"], root)
    return root, pd.concat([old, new], ignore_index=True), proc.stdout + proc.stderr


def test_every_stage_ran_from_params_alone(shapes):
    root, _, output = shapes
    for stage in ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]:
        assert f"Running stage '{stage}'" in output, stage
    assert (root / "models" / "model" / "model.skops").exists()
    params = (root / "params.yaml").read_text()
    assert "negative_label: rest" in params and "split: time" in params


def test_both_shapes_are_read_and_the_labels_map_one_vs_rest(shapes):
    root, df, _ = shapes
    summary = json.loads((root / "data" / "prepared" / "summary.json").read_text())
    positives = int(df["outcome"].str.strip().isin(["competitor", "competitor."]).sum())
    assert summary["rows"] == 1200 and summary["positives"] == positives
    schema = json.loads((root / "data" / "prepared" / "schema.json").read_text())
    assert schema["positive_label"] == "competitor, competitor."
    assert set(schema["categorical"]) == {"plan", "region"}
    assert {"age", "tenure", "fee", "calls", "signup_month", "signup_weekday"} == set(schema["numeric"])
    report = (root / "reports" / "01_prepare.html").read_text()
    assert "Surrounding whitespace in labels is ignored" in report and "competitor. " in report
    for label in ("stayed", "moved", "price"):  # every other class is negative, with its rows
        rows = int((df["outcome"] == label).sum())
        assert f"`{label}` ({rows} rows)" in report or f"<code>{label}</code> ({rows} rows)" in report, label


def test_the_test_set_is_the_latest_period(shapes):
    root, _, _ = shapes
    train = pd.read_parquet(root / "data" / "prepared" / "train.parquet")
    test = pd.read_parquet(root / "data" / "prepared" / "test.parquet")
    assert train["signup"].max() < test["signup"].min()
    assert 0.19 <= len(test) / (len(train) + len(test)) <= 0.25
    summary = json.loads((root / "data" / "prepared" / "summary.json").read_text())
    schema = json.loads((root / "data" / "prepared" / "schema.json").read_text())
    first = test["signup"].min().strftime("%Y-%m-%d")
    assert summary["split"] == "time" and summary["test_from"] == schema["test_from"] == first
    assert schema["time_column"] == "signup" and "signup" not in schema["features"]
    folds = pd.read_parquet(root / "data" / "prepared" / "folds.parquet")
    assert len(folds) == len(train) and set(folds["repeat_0"]) == {0, 1, 2}
    assert (root / "plots" / "prepare" / "class_balance_over_time.png").stat().st_size > 5000
    card = (root / "models" / "model" / "MODEL_CARD.md").read_text()
    assert "The test set is out of time" in card and f"from {first} on" in card
    assert "The test set is out of time" in (root / "reports" / "05_evaluate.html").read_text()


def snapshot(root: Path) -> dict[str, str]:
    files = [root / "dvc.lock"] + sorted(p for d in OUTPUT_DIRS for p in (root / d).rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _names_one_short(raw: Path) -> dict[str, Any]:
    return {"sources": [{**CSV_SOURCE, "options": {**CSV_SOURCE["options"], "names": NAMES[:-1]}}, XLSX_SOURCE]}


def _label_in_neither_list(raw: Path) -> dict[str, Any]:
    return {"negative_label": ["stayed", "moved"]}


def _time_column_not_dates(raw: Path) -> dict[str, Any]:
    path = raw / "accounts_2023.csv"
    lines = path.read_text().splitlines()
    lines[41] = lines[41].replace(", 2023-", ", soon-2023-", 1)
    path.write_text("\n".join(lines) + "\n")
    return {}


def _header_row_is_data(raw: Path) -> dict[str, Any]:
    return {"sources": [{"path": "accounts_2023.csv", "options": {"sep": ",", "skipinitialspace": True}}]}


def _no_such_sheet(raw: Path) -> dict[str, Any]:
    return {"sources": [CSV_SOURCE, {**XLSX_SOURCE, "options": {"sheet": "Accounts"}}]}


BAD = [
    (
        "names_count_does_not_match",
        _names_one_short,
        ("accounts_2023.csv", "option names lists 7 name(s) but the first row has 8 columns", "one name per column"),
    ),
    (
        "label_in_neither_list",
        _label_in_neither_list,
        ("'price'", "rows)", "'outcome'", "in neither prepare.positive_label nor prepare.negative_label", "rest"),
    ),
    (
        "time_column_not_dates",
        _time_column_not_dates,
        ("time column 'signup'", "1 value(s) that are not dates", "data row 42", "one format"),
    ),
    (
        "header_row_is_data",
        _header_row_is_data,
        ("target column 'outcome' not found", "looks like data", "header: null, names: [...]", "(8)"),
    ),
    ("no_such_sheet", _no_such_sheet, ("accounts_2024.xlsx", "no sheet 'Accounts'", "sheets: ['about', 'accounts']")),
]


@pytest.mark.parametrize("make, expect", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_stops_prepare_with_one_line(shapes, tmp_path, make, expect):
    root = tmp_path / "project"
    shutil.copytree(shapes[0], root, symlinks=True)
    before = snapshot(root)
    update_params(root, {"prepare": make(root / "data" / "raw")})
    proc = subprocess.run(
        ["imbalance-lab", "run", "prepare"],
        cwd=root,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "Traceback" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output[-3000:]
    missing = [s for s in expect if s not in lines[0]]
    assert not missing, f"{missing} not in: {lines[0]}"
    assert snapshot(root) == before, "a failed prepare changed an output"
