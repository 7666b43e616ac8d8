"""End to end: `dvc repro` on a small copy of the project, no-op reruns, experiments, determinism."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.helpers import SMALL, copy_project, run

pytestmark = pytest.mark.slow

DETERMINISTIC = [
    "data/prepared/train.parquet", "data/prepared/test.parquet", "data/prepared/folds.parquet",
    "data/prepared/schema.json", "metrics/prepare.json", "metrics/cross_validate.json",
    "data/cross_validation/fold_scores.csv", "data/cross_validation/oof_predictions.parquet",
    "plots/cross_validate/precision_recall.json", "reports/01_prepare.ipynb", "reports/01_prepare.html",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("e2e"), git=True, params=SMALL)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "small params"], root, check=False)
    run(["dvc", "repro"], root)
    return root


def test_repro_writes_every_output(project):
    for rel in DETERMINISTIC + ["reports/02_cross_validate.ipynb", "reports/02_cross_validate.html",
                                "data/cross_validation/timings_seconds.csv", "dvc.lock"]:
        assert (project / rel).exists(), rel
    metrics = json.loads((project / "metrics" / "cross_validate.json").read_text())
    assert metrics["best_model"] in {"dummy", "logistic_regression"}
    assert metrics["best_model"] == "logistic_regression", "logistic regression must beat the prior-only dummy"
    assert 0.06 < metrics["average_precision"] < 1
    prepare = json.loads((project / "metrics" / "prepare.json").read_text())
    assert prepare["rows"] == 5822 and prepare["positives"] == 348


def test_second_repro_does_nothing(project):
    before = {rel: (project / rel).read_bytes() for rel in DETERMINISTIC}
    out = run(["dvc", "repro"], project).stdout
    assert "Running stage" not in out
    assert "Data and pipelines are up to date" in out
    assert {rel: (project / rel).read_bytes() for rel in DETERMINISTIC} == before


def test_metrics_and_plots_commands_work(project):
    shown = run(["dvc", "metrics", "show", "--json"], project).stdout
    assert "best_model" in shown and "prevalence" in shown
    plots = run(["dvc", "plots", "show", "--json"], project).stdout
    assert "cross_validate_precision_recall" in plots


def _text_outputs(nb: dict) -> list:
    return [[{k: v for k, v in o.items() if k != "data"} | {"text/plain": o.get("data", {}).get("text/plain")}
             for o in c.get("outputs", [])] for c in nb["cells"]]


def test_two_runs_from_scratch_are_identical(project, tmp_path):
    other = copy_project(tmp_path / "again", git=True, params=SMALL)
    run(["dvc", "repro"], other)
    for rel in DETERMINISTIC:
        assert (other / rel).read_bytes() == (project / rel).read_bytes(), rel
    # the cross_validate report differs only in the figure of measured times
    a, b = (json.loads((p / "reports" / "02_cross_validate.ipynb").read_text()) for p in (other, project))
    assert _text_outputs(a) == _text_outputs(b)


def test_experiment_reruns_cross_validate_only_and_shows_in_exp_show(project):
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "baseline results"], project)
    out = run(["dvc", "exp", "run", "-n", "topk", "-S", "cross_validate.top_k_fraction=0.2"], project).stdout
    assert "Stage 'prepare' didn't change, skipping" in out
    assert "Running stage 'cross_validate'" in out
    table = run(["dvc", "exp", "show", "--csv"], project).stdout
    rows = list(csv.DictReader(io.StringIO(table)))
    header = rows[0].keys()
    assert "cross_validate.top_k_fraction" in header and "prepare.test_size" in header
    assert "best_model" in header and "average_precision" in header
    assert not [h for h in header if h.startswith("paths.")], "paths must not clutter dvc exp show"
    exp = next(r for r in rows if r["Experiment"] == "topk")
    assert exp["cross_validate.top_k_fraction"] == "0.2"


