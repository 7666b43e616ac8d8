"""End to end: `dvc repro` of all stages on a small copy of the project; no-op reruns, determinism,
experiments, plots diff, predict and drift on the saved model, and a DVC remote round trip."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil

import pandas as pd
import pytest

from tests.support import SMALL, copy_project, run

pytestmark = pytest.mark.slow

DETERMINISTIC = [
    "data/prepared/train.parquet",
    "data/prepared/test.parquet",
    "data/prepared/folds.parquet",
    "data/prepared/schema.json",
    "metrics/prepare.json",
    "metrics/cross_validate.json",
    "data/cross_validation/fold_scores.csv",
    "data/cross_validation/oof_predictions.parquet",
    "plots/cross_validate/precision_recall.json",
    "reports/01_prepare.ipynb",
    "reports/01_prepare.html",
    "models/best_params.json",
    "plots/tune/history.png",
    "models/strategy.json",
    "metrics/imbalance.json",
    "plots/imbalance/fold_scores.csv",
    "data/imbalance/oof_predictions.parquet",
    "metrics/evaluate.json",
    "data/evaluation/test_predictions.parquet",
    "models/model/model.skops",
    "models/model/model.json",
    "plots/evaluate/precision_recall.json",
    "reports/05_evaluate.ipynb",
]
#: Reports compared cell by cell, leaving out the cells tagged "measured" (they show timings).
REPORTS = ["reports/02_cross_validate.ipynb", "reports/03_tune.ipynb", "reports/04_imbalance.ipynb"]
STAGES = ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]


def commit(root, message):
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", message], root)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("e2e"), git=True, params=SMALL)
    out = run(["dvc", "repro"], root).stdout
    assert all(f"Running stage '{s}'" in out for s in STAGES), out
    return root


def test_repro_writes_every_output(project):
    for rel in DETERMINISTIC + [
        "reports/02_cross_validate.ipynb",
        "reports/03_tune.html",
        "reports/05_evaluate.html",
        "data/cross_validation/timings_seconds.csv",
        "models/model/MODEL_CARD.md",
        "dvc.lock",
    ]:
        assert (project / rel).exists(), rel
    cv = json.loads((project / "metrics" / "cross_validate.json").read_text())
    assert cv["best_model"] == "logistic_regression", "logistic regression must beat the prior-only dummy"
    prepare = json.loads((project / "metrics" / "prepare.json").read_text())
    assert prepare["rows"] == 5822 and prepare["positives"] == 348
    tune = json.loads((project / "metrics" / "tune.json").read_text())
    assert tune["trials_completed"] + tune["trials_pruned"] == 4
    imbalance = json.loads((project / "metrics" / "imbalance.json").read_text())
    assert imbalance["strategy"] in SMALL["imbalance"]["strategies"]
    evaluate = json.loads((project / "metrics" / "evaluate.json").read_text())
    assert (
        evaluate["average_precision_ci_low"] <= evaluate["average_precision"] <= evaluate["average_precision_ci_high"]
    )
    assert 0.06 < evaluate["average_precision"] < 1 and 0.5 < evaluate["roc_auc"] < 1


def test_reports_show_their_figures(project):
    """Every figure a report displays is an image (the object-API figures once showed only as
    '<Figure size ...>' text), in the notebook and in its HTML."""
    for stage_report in sorted((project / "reports").glob("*.ipynb")):
        outputs = [o for c in json.loads(stage_report.read_text())["cells"] for o in c.get("outputs", [])]
        data = [o.get("data", {}) for o in outputs]
        text_only = [
            d["text/plain"] for d in data if "image/png" not in d and "<Figure size" in "".join(d.get("text/plain", ""))
        ]
        assert not text_only, f"{stage_report.name}: figures without an image: {text_only}"
        images = sum("image/png" in d for d in data)
        assert images >= 2, f"{stage_report.name}: {images} image(s)"
        html = stage_report.with_suffix(".html").read_text()
        assert html.count("data:image/png;base64") >= images and "&lt;Figure size" not in html, stage_report.name


def test_second_repro_does_nothing(project):
    before = {rel: (project / rel).read_bytes() for rel in DETERMINISTIC}
    out = run(["dvc", "repro"], project).stdout
    assert "Running stage" not in out and "Data and pipelines are up to date" in out
    assert {rel: (project / rel).read_bytes() for rel in DETERMINISTIC} == before


def test_predict_equals_evaluate_and_drift_is_stable(project):
    run(
        [
            "imbalance-lab",
            "predict",
            "--model",
            "models/model",
            "--input",
            "data/prepared/test.parquet",
            "--output",
            "predictions.csv",
        ],
        project,
    )
    predicted = pd.read_csv(project / "predictions.csv")
    evaluated = pd.read_parquet(project / "data" / "evaluation" / "test_predictions.parquet")
    assert len(predicted) == len(evaluated) == 1165
    assert (predicted["score"] - evaluated["score"]).abs().max() < 1e-12
    assert (predicted["label"] == evaluated["label"]).all()
    proc = run(
        [
            "imbalance-lab",
            "drift",
            "--model",
            "models/model",
            "--input",
            "data/prepared/test.parquet",
            "--report",
            "drift.json",
        ],
        project,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (project / "predictions.csv").unlink()
    (project / "drift.json").unlink()


def test_metrics_and_plots_commands_work(project):
    shown = run(["dvc", "metrics", "show", "--json"], project).stdout
    assert "best_model" in shown and "prevalence" in shown and "roc_auc_ci_low" in shown
    plots = run(["dvc", "plots", "show", "--json"], project).stdout
    for name in ("cross_validate_precision_recall", "evaluate_roc", "evaluate_confusion", "imbalance_fold_scores"):
        assert name in plots, name
    specs = {
        name: shown[0]["content"]
        for name, shown in json.loads(plots)["data"].items()
        if shown and shown[0]["type"] == "vega"
    }  # a figure a small run does not draw has no entry
    for name in ("cross_validate_precision_recall", "evaluate_precision_recall"):  # steps, as average precision sums
        assert specs[name]["mark"]["interpolate"] == "step-before", name  # them (.dvc/plots/step.json)
    assert "interpolate" not in specs["evaluate_roc"]["mark"]  # the area under ROC is a trapezoid sum


def _unmeasured(path):
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if "measured" not in c["metadata"].get("tags", [])]


def _without_seconds(path):
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.endswith("_seconds")}


def test_two_runs_from_scratch_are_identical(project, tmp_path):
    other = copy_project(tmp_path / "again", git=True, params=SMALL)
    run(["dvc", "repro"], other)
    for rel in DETERMINISTIC:
        assert (other / rel).read_bytes() == (project / rel).read_bytes(), rel
    assert _without_seconds(other / "metrics" / "tune.json") == _without_seconds(project / "metrics" / "tune.json")
    for rel in REPORTS:  # identical but for the cells that show measured times
        assert _unmeasured(other / rel) == _unmeasured(project / rel), rel


def _md5s(root):
    keep = [p for p in DETERMINISTIC if not p.startswith(("metrics/", "plots/"))]
    return {rel: hashlib.md5((root / rel).read_bytes()).hexdigest() for rel in keep}


def test_push_and_pull_round_trip(project, tmp_path):
    run(["dvc", "remote", "modify", "--local", "storage", "url", str(tmp_path / "remote")], project)
    run(["dvc", "push"], project)
    before = _md5s(project)
    shutil.rmtree(project / ".dvc" / "cache")
    for rel in (
        "data/prepared",
        "data/cross_validation/oof_predictions.parquet",
        "models/model",
        "models/best_params.json",
    ):
        target = project / rel
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    run(["dvc", "pull"], project)
    assert _md5s(project) == before
    assert (
        "up to date" in run(["dvc", "status"], project).stdout.lower()
        or run(["dvc", "status"], project).stdout.strip() == ""
    )


def test_experiments_rerun_only_what_depends_on_the_change(project):
    commit(project, "baseline results")
    out = run(["dvc", "exp", "run", "-n", "topk", "-S", "cross_validate.top_k_fraction=0.2"], project).stdout
    assert "Stage 'prepare' didn't change, skipping" in out and "Running stage 'cross_validate'" in out
    assert "Running stage 'tune'" not in out and "Running stage 'evaluate'" not in out

    def best():
        return json.loads((project / "models" / "best_params.json").read_text())

    def trials():
        return pd.read_csv(project / "data" / "tuning" / "trials.csv")

    def journal():
        return (project / "data" / "tuning" / "optuna.journal").read_bytes()

    # a 6-trial study begins with the 4-trial one's trials (seeded per slot): the stage adds two
    # trials to the same study (the first four keep their measured durations and worker); here its
    # best trial is the same one, so tune reruns and nothing after it does (what they read is unchanged)
    four, four_trials = best(), trials()
    out = run(["dvc", "exp", "run", "-n", "more_trials", "-S", "tune.n_trials=6"], project).stdout
    assert best() == four, (four, best())
    assert len(trials()) == 6
    pd.testing.assert_frame_equal(trials().iloc[:4], four_trials)
    assert "Running stage 'tune'" in out
    for stage in ("prepare", "cross_validate", "imbalance", "evaluate"):
        assert f"Running stage '{stage}'" not in out, stage
    # with 2 trials the best of the first 4 (trial 3 here) is not among them: what follows reruns.
    # The study's first two trials are reported; none runs (the journal is left as it is)
    assert four["trial"] >= 2
    six_journal = journal()
    out = run(["dvc", "exp", "run", "-n", "trials", "-S", "tune.n_trials=2"], project).stdout
    assert best()["params"] != four["params"]
    pd.testing.assert_frame_equal(trials(), four_trials.iloc[:2])
    assert journal() == six_journal
    for stage in ("prepare", "cross_validate"):
        assert f"Running stage '{stage}'" not in out, stage
    for stage in ("tune", "imbalance", "evaluate"):
        assert f"Running stage '{stage}'" in out, stage

    rows = list(csv.DictReader(io.StringIO(run(["dvc", "exp", "show", "--csv"], project).stdout)))
    header = rows[0].keys()
    assert {"cross_validate.top_k_fraction", "tune.n_trials", "prepare.test_size"} <= set(header)
    # metric names that occur in several metrics files are prefixed with the file by DVC
    names = {h.rsplit(":", 1)[-1] for h in header}
    assert {"best_model", "best_value", "strategy", "roc_auc_ci_low", "trials_pruned", "prevalence"} <= names
    assert not [h for h in header if h.startswith("paths.")], "paths must not clutter dvc exp show"
    assert {r["Experiment"] for r in rows} >= {"topk", "more_trials", "trials"}
    assert next(r for r in rows if r["Experiment"] == "trials")["tune.n_trials"] == "2"

    diff = json.loads(run(["dvc", "plots", "diff", "HEAD", "trials", "--json"], project).stdout)
    (project / "plots_diff.json").write_text(json.dumps(diff)[:200000])
    revs = {rev for item in diff["data"]["evaluate_precision_recall"] for rev in item.get("revisions", [])}
    assert {"HEAD", "trials"} <= revs, revs
