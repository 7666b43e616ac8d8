"""Bring your own data, end to end, as the README's "Your own data" section describes.

A generated churn table (3000 customers, ~8 % churners, a string target 'yes'/'no', text
categoricals with missing values, numeric columns with missing values, a customer id and an
e-mail address) is split into a ';'-separated CSV and a Parquet file in data/raw/; prepare is
pointed at them (e-mail dropped, customer id kept as a salted hash) and the whole pipeline runs.
Then `imbalance-lab predict` scores a fresh file in the same raw format.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import SMALL, copy_project, env, run, update_params

pytestmark = pytest.mark.slow

STAGES = ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]
SALT = "own-data-test-salt-5b1e"
EMAIL_DOMAIN = "@mailbox.example"
ID_PATTERN = re.compile(r"ACME-\d{6}")
CATEGORICAL = ["region", "plan", "channel"]


def customers(n: int, seed: int, *, with_target: bool = True) -> pd.DataFrame:
    """A synthetic churn table: the churn probability rises with support calls, a basic plan,
    web sign-up and a high fee, and falls with tenure; ~8 % churn."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(1_000_000, n, replace=False)
    region = rng.choice(["north", "south", "east", "west", "centre"], n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.35, 0.15]).astype(object)
    channel = rng.choice(["web", "store", "phone", "partner"], n, p=[0.45, 0.25, 0.2, 0.1])
    tenure = rng.integers(1, 121, n)
    fee = np.round(rng.gamma(4.0, 12.5, n), 2)
    calls = rng.poisson(1.5, n)
    age = rng.integers(18, 86, n).astype(float)
    logit = (
        -3.2 + 0.6 * calls - 0.025 * tenure + 1.0 * (plan == "basic") + 0.6 * (channel == "web") + 0.015 * (fee - 50)
    )
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    plan[rng.random(n) < 0.06] = None  # missing values: a text column and two numeric ones
    fee[rng.random(n) < 0.04] = np.nan
    age[rng.random(n) < 0.05] = np.nan
    first = rng.choice(["ana", "ben", "chloe", "dev", "eva", "femi", "gus", "hana"], n)
    df = pd.DataFrame(
        {
            "customer_id": [f"ACME-{i:06d}" for i in ids],
            "email": [f"{f}.{i:06d}{EMAIL_DOMAIN}" for f, i in zip(first, ids)],
            "region": region,
            "plan": plan,
            "channel": channel,
            "tenure_months": tenure,
            "monthly_fee": fee,
            "support_calls": calls,
            "age": age,
        }
    )
    if with_target:
        df["churned"] = np.where(churned, "yes", "no")
    return df


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    df = customers(3000, seed=11)
    assert 0.06 < (df["churned"] == "yes").mean() < 0.10
    root = copy_project(tmp_path_factory.mktemp("own_data") / "project", git=False)
    raw = root / "data" / "raw"
    for f in raw.iterdir():  # only the user's data
        f.unlink()
    df.iloc[:1800].to_csv(raw / "customers_2024.csv", sep=";", index=False)
    df.iloc[1800:].to_parquet(raw / "customers_2025.parquet", index=False)
    update_params(
        root,
        {
            **SMALL,
            "prepare": {
                **SMALL["prepare"],
                "sources": [
                    {"path": "customers_2024.csv", "options": {"sep": ";"}},
                    {"path": "customers_2025.parquet"},
                ],
                "target": "churned",
                "positive_label": "yes",
                "categorical": CATEGORICAL,
                "drop_columns": ["email"],
                "hash_columns": ["customer_id"],  # salted with $IMBALANCE_LAB_SALT
            },
        },
    )
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "own data"]):
        run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *cmd], root)
    proc = lab(["dvc", "repro"], root)
    return root, df, proc.stdout + proc.stderr


def lab(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**env(), "IMBALANCE_LAB_SALT": SALT},
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"{' '.join(cmd)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def salted(value: str) -> str:
    """The salted hash prepare keeps for an id (imbalance_lab.data)."""
    return hashlib.sha256((SALT + "\x1f" + value).encode()).hexdigest()[:16]


def texts(path: Path) -> list[str]:
    """What a file holds as text: its bytes, every cell of a Parquet file, every member of a zip."""
    data = path.read_bytes()
    out = [data.decode("utf-8", errors="replace")]
    if data[:4] == b"PAR1":
        out.append(pd.read_parquet(io.BytesIO(data)).astype(str).to_csv(index=False))
    elif data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out += [z.read(name).decode("utf-8", errors="replace") for name in z.namelist()]
    return out


def test_every_stage_ran(own_data):
    root, _, output = own_data
    for stage in STAGES:
        assert f"Running stage '{stage}'" in output, stage
    assert (root / "models" / "model" / "model.skops").exists() and (root / "dvc.lock").exists()


def test_prepared_data_and_metrics_make_sense(own_data):
    root, df, _ = own_data
    prepare = json.loads((root / "data" / "prepared" / "summary.json").read_text())
    assert prepare["rows"] == 3000 and prepare["positives"] == int((df["churned"] == "yes").sum())
    schema = json.loads((root / "data" / "prepared" / "schema.json").read_text())
    assert schema["target"] == "churned" and schema["positive_label"] == "yes"
    assert set(schema["categorical"]) == set(CATEGORICAL) and schema["id_columns"] == ["customer_id"]
    assert set(schema["numeric"]) == {"tenure_months", "monthly_fee", "support_calls", "age"}
    assert "email" in schema["dropped_columns"] and "email" not in schema["features"]
    assert "customer_id" not in schema["features"]
    train = pd.read_parquet(root / "data" / "prepared" / "train.parquet")
    assert train["plan"].isna().any() and train["monthly_fee"].isna().any()  # missing values reach the folds
    evaluate = json.loads((root / "metrics" / "evaluate.json").read_text())
    prevalence = prepare["prevalence"]
    assert evaluate["test_ap"] > 2 * prevalence, (evaluate, prevalence)
    assert evaluate["test_roc_auc"] > 0.7
    cv = json.loads((root / "metrics" / "cross_validate.json").read_text())
    assert cv["best_model"] != "dummy"


def test_no_personal_data_in_any_output(own_data):
    root, df, _ = own_data
    raw_ids = set(df["customer_id"])
    checked = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel.startswith(("data/raw/", ".git/", "src/", "notebooks/")):
            continue
        for text in texts(path):
            assert EMAIL_DOMAIN not in text, f"an e-mail address is in {rel}"
            assert not ID_PATTERN.search(text), f"a raw customer id is in {rel}: {ID_PATTERN.search(text).group()}"
        checked += 1
    assert checked > 40
    prepared = pd.concat([pd.read_parquet(root / "data" / "prepared" / f) for f in ("train.parquet", "test.parquet")])
    assert "email" not in prepared.columns
    assert prepared["customer_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert not set(prepared["customer_id"]) & raw_ids
    assert set(prepared["customer_id"]) == {salted(i) for i in raw_ids}


def test_predict_on_a_fresh_file_in_the_raw_format(own_data, tmp_path):
    root, df, _ = own_data
    fresh = customers(400, seed=99, with_target=False)
    fresh.to_csv(tmp_path / "customers_new.csv", sep=";", index=False)
    out = tmp_path / "scores.csv"
    lab(
        [
            "imbalance-lab",
            "predict",
            "--model",
            str(root / "models" / "model"),
            "--input",
            str(tmp_path / "customers_new.csv"),
            "--output",
            str(out),
        ],
        tmp_path,
    )
    scores = pd.read_csv(out, dtype={"customer_id": str})
    assert list(scores.columns) == ["customer_id", "score", "label"] and len(scores) == len(fresh)
    assert scores["customer_id"].tolist() == [salted(i) for i in fresh["customer_id"]]  # hashed, in input order
    assert scores["score"].between(0, 1).all() and set(scores["label"]) <= {0, 1}
    text = out.read_text()
    assert EMAIL_DOMAIN not in text and not ID_PATTERN.search(text)


def test_predict_with_a_renamed_id_column_hashes_it_like_prepare(own_data, tmp_path):
    root, _, _ = own_data
    fresh = customers(60, seed=98, with_target=False).rename(columns={"customer_id": "CustomerID"})
    fresh.to_csv(tmp_path / "renamed.csv", sep=";", index=False)
    out = tmp_path / "scores.csv"
    lab(
        [
            "imbalance-lab",
            "predict",
            "--model",
            str(root / "models" / "model"),
            "--input",
            str(tmp_path / "renamed.csv"),
            "--output",
            str(out),
            "--id-column",
            "CustomerID",
        ],
        tmp_path,
    )
    scores = pd.read_csv(out, dtype={"CustomerID": str})
    assert list(scores.columns) == ["CustomerID", "score", "label"]
    assert scores["CustomerID"].tolist() == [salted(i) for i in fresh["CustomerID"]]
    assert not ID_PATTERN.search(out.read_text())


def test_predict_on_the_raw_file_equals_evaluate(own_data, tmp_path):
    """Scoring the raw CSV gives the test rows the evaluate stage's scores, matched by hashed id."""
    root, _, _ = own_data
    out = tmp_path / "scores.parquet"
    lab(
        [
            "imbalance-lab",
            "predict",
            "--model",
            "models/model",
            "--input",
            "data/raw/customers_2024.csv",
            "--output",
            str(out),
        ],
        root,
    )
    scores = pd.read_parquet(out).set_index("customer_id")
    evaluated = pd.read_parquet(root / "data" / "evaluation" / "test_predictions.parquet").set_index("customer_id")
    both = evaluated.index.intersection(scores.index)
    assert len(scores) == 1800 and len(both) > 300
    assert (scores.loc[both, "score"] - evaluated.loc[both, "score"]).abs().max() < 1e-12
    assert (scores.loc[both, "label"] == evaluated.loc[both, "label"]).all()


def test_predict_without_the_salt_says_what_to_do(own_data, tmp_path):
    root, _, _ = own_data
    customers(50, seed=5, with_target=False).to_csv(tmp_path / "new.csv", sep=";", index=False)
    proc = subprocess.run(
        [
            "imbalance-lab",
            "predict",
            "--model",
            str(root / "models" / "model"),
            "--input",
            str(tmp_path / "new.csv"),
            "--output",
            str(tmp_path / "out.csv"),
        ],
        cwd=tmp_path,
        env={k: v for k, v in env().items() if k != "IMBALANCE_LAB_SALT"},
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "'customer_id'" in errors[0] and "$IMBALANCE_LAB_SALT" in errors[0] and "--keep-ids" in errors[0]
    assert not (tmp_path / "out.csv").exists()
