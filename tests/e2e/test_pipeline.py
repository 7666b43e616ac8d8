"""End to end: `dvc repro` of all stages on a small copy of the project; no-op reruns, determinism,
experiments, plots diff, predict and drift on the saved model, and a DVC remote round trip."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import shutil

import pandas as pd
import pytest
import yaml

from imbalance_lab import reporting
from tests.support import SMALL, browser, copy_project, run, screenshot

pytestmark = pytest.mark.slow

DETERMINISTIC = [
    "data/prepared/train.parquet",
    "data/prepared/test.parquet",
    "data/prepared/folds.parquet",
    "data/prepared/schema.json",
    "data/prepared/summary.json",
    "metrics/cross_validate.json",
    "data/cross_validation/fold_scores.csv",
    "data/cross_validation/oof.parquet",
    "plots/cross_validate/precision_recall.json",
    "reports/notebooks/01_prepare.ipynb",
    "reports/01_prepare.html",
    "models/best_params.json",
    "metrics/tune.json",
    "plots/tune/history.png",
    "models/strategy.json",
    "metrics/imbalance.json",
    "plots/imbalance/fold_scores.csv",
    "data/imbalance/oof.parquet",
    "metrics/evaluate.json",
    "data/evaluation/test_metrics.json",
    "data/evaluation/test_predictions.parquet",
    "models/model/model.skops",
    "models/model/model.json",
    "plots/evaluate/precision_recall.json",
    "plots/evaluate/threshold_curve.png",
    "plots/evaluate/gains.png",
    "plots/evaluate/score_distributions.png",
    "plots/evaluate/confusion_matrix.png",
    "reports/notebooks/05_evaluate.ipynb",
]
#: Reports compared cell by cell, leaving out the cells tagged "measured" (they show timings).
REPORTS = [
    "reports/notebooks/02_cross_validate.ipynb",
    "reports/notebooks/03_tune.ipynb",
    "reports/notebooks/04_imbalance.ipynb",
]
STAGES = ["prepare", "cross_validate", "tune", "imbalance", "evaluate"]
#: The columns of ``dvc exp show``'s metrics, in order: the test set first.
METRIC_COLUMNS = [*reporting.TEST_METRICS, "best_model", "cv_ap", "strategy", "strategy_ap", "tune_ap"]


def commit(root, message):
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "--allow-empty", "-qm", message], root)


@pytest.fixture(scope="module")
def repro(tmp_path_factory):
    """The small project after `dvc repro`, and what `dvc repro` printed (stdout, stderr)."""
    root = copy_project(tmp_path_factory.mktemp("e2e"), git=True, params=SMALL)
    proc = run(["dvc", "repro"], root)
    assert all(f"Running stage '{s}'" in proc.stdout for s in STAGES), proc.stdout
    return root, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def project(repro):
    return repro[0]


def test_repro_writes_every_output(project):
    for rel in DETERMINISTIC + [
        "reports/notebooks/02_cross_validate.ipynb",
        "reports/03_tune.html",
        "reports/05_evaluate.html",
        "reports/index.html",
        "data/cross_validation/timings_seconds.csv",
        "data/tuning/timings_seconds.json",
        "models/model/MODEL_CARD.md",
        "dvc.lock",
    ]:
        assert (project / rel).exists(), rel
    cv = json.loads((project / "metrics" / "cross_validate.json").read_text())
    assert cv["best_model"] == "logistic_regression", "logistic regression must beat the prior-only dummy"
    prepare = json.loads((project / "data" / "prepared" / "summary.json").read_text())
    assert prepare["rows"] == 5822 and prepare["positives"] == 348
    trials = pd.read_csv(project / "data" / "tuning" / "trials.csv")
    assert trials["state"].isin(["COMPLETE", "PRUNED"]).sum() == 4
    imbalance = json.loads((project / "metrics" / "imbalance.json").read_text())
    assert imbalance["strategy"] in SMALL["imbalance"]["strategies"]
    evaluate = json.loads((project / "metrics" / "evaluate.json").read_text())
    assert list(evaluate) == METRIC_COLUMNS[:7]  # in the order of the columns of dvc exp show
    assert evaluate["test_ap_low"] <= evaluate["test_ap"] <= evaluate["test_ap_high"]
    assert 0.06 < evaluate["test_ap"] < 1 and 0.5 < evaluate["test_roc_auc"] < 1
    test = json.loads((project / "data" / "evaluation" / "test_metrics.json").read_text())
    assert test["roc_auc"] == evaluate["test_roc_auc"] and "roc_auc_ci_low" in test  # the rest is kept there


def test_repro_prints_a_start_line_progress_and_a_headline_per_stage(repro):
    root, out, err = repro
    lines = out.splitlines() + err.splitlines()
    assert len(lines) <= 60, "\n".join(lines)
    for noise in ("Executing Cell", "Ending Cell", "WARNING", "papermill", "Output Notebook", "IProgress"):
        assert noise not in out + err, noise
    ends = {
        line.split(": ", 1)[0]: line
        for line in err.splitlines()
        if not line.startswith(" ") and " running " not in line
    }
    assert set(STAGES) <= set(ends), err
    summary = json.loads((root / "data" / "prepared" / "summary.json").read_text())
    assert ends["prepare"].startswith(f"prepare: {summary['rows']} rows, {summary['positives']} positives")
    assert re.fullmatch(
        r"cross_validate: best logistic_regression, AP 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\], \d+ s", ends["cross_validate"]
    )
    assert re.fullmatch(r"tune: logistic_regression: best AP 0\.\d{3} in 4 trials \(\d pruned\), \d+ s", ends["tune"])
    evaluate = json.loads((root / "metrics" / "evaluate.json").read_text())
    assert ends["evaluate"].startswith(f"evaluate: test AP {evaluate['test_ap']:.3f} [")
    assert "report: wrote reports/index.html" in err
    for stage in STAGES:
        log = (root / ".imbalance-lab" / "logs" / f"{stage}.log").read_text()
        assert "Executing Cell" in log or "Executing notebook" in log, stage  # the rest went to the log
        # the lines say when (seconds since the stage's start), the last one the stage's whole time
        cells = [float(line.split()[0]) for line in log.splitlines() if "INFO papermill: Executing Cell" in line]
        done = re.fullmatch(rf" *(\d+\.\d{{3}}) # {stage}: done, its kernel gone", log.splitlines()[-1])
        assert done and 0 < cells[0] < cells[-1] < float(done.group(1)), log[-500:]


def test_the_index_shows_every_stage_s_headline_and_links_its_report(repro):
    root, _, err = repro
    page = (root / "reports" / "index.html").read_text()
    for stage, number in zip(STAGES, range(1, 6)):
        assert f'href="0{number}_{stage}.html"' in page and f'href="notebooks/0{number}_{stage}.ipynb"' in page
    for line in err.splitlines():
        stage, _, rest = line.partition(": ")
        if stage in STAGES and not line.startswith(" ") and not rest.startswith("running "):
            headline = rest.rsplit(", ", 1)[0]  # without the duration
            assert html.escape(headline) in page, headline


def test_reports_open_with_their_headline_and_fold_their_code(project):
    for number, stage in enumerate(STAGES, 1):
        page = (project / "reports" / f"0{number}_{stage}.html").read_text()
        executed = json.loads((project / "reports" / "notebooks" / f"0{number}_{stage}.ipynb").read_text())
        line = next(
            o["metadata"]["imbalance_lab_headline"]["line"]
            for c in executed["cells"]
            for o in c.get("outputs", [])
            if "line" in o.get("metadata", {}).get("imbalance_lab_headline", {})
        )
        assert page.index(html.escape(line)) < page.index('<details class="il-code">'), stage
        assert "<details open" not in page and page.count("parameters of this run") == 1, stage


def test_reports_show_their_figures(project):
    """Every figure a report displays is an image (the object-API figures once showed only as
    '<Figure size ...>' text), in the notebook and in its HTML."""
    for stage_report in sorted((project / "reports" / "notebooks").glob("*.ipynb")):
        outputs = [o for c in json.loads(stage_report.read_text())["cells"] for o in c.get("outputs", [])]
        data = [o.get("data", {}) for o in outputs]
        text_only = [
            d["text/plain"] for d in data if "image/png" not in d and "<Figure size" in "".join(d.get("text/plain", ""))
        ]
        assert not text_only, f"{stage_report.name}: figures without an image: {text_only}"
        images = sum("image/png" in d for d in data)
        assert images >= 2, f"{stage_report.name}: {images} image(s)"
        page = (project / "reports" / stage_report.with_suffix(".html").name).read_text()
        assert page.count("data:image/png;base64") >= images and "&lt;Figure size" not in page, stage_report.name


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
    assert "drift: model scores stable" in proc.stderr
    report = json.loads((project / "drift.json").read_text())
    assert report["drifted"] is False and report["prediction"]["flagged_share_ref"] > 0
    # the case: MAANTHUI (1 in 90 % of rows) as x * 3 + 5 gave PSI 0.043 and exit 0
    shifted = pd.read_parquet(project / "data" / "prepared" / "test.parquet")
    shifted["MAANTHUI"] = shifted["MAANTHUI"] * 3 + 5
    shifted.to_parquet(project / "shifted.parquet", index=False)
    command = ["imbalance-lab", "drift", "--model", "models/model", "--input", "shifted.parquet"]
    proc = run([*command, "--report", "drift.json", "--figure", "drift.png"], project, check=False)
    assert proc.returncode == 3, proc.stderr
    named = [line for line in proc.stderr.splitlines() if "drift: MAANTHUI (numeric)" in line]
    assert named and "outside the training range" in named[0], proc.stderr
    assert json.loads((project / "drift.json").read_text())["drifted_features"] == ["MAANTHUI"]
    assert (project / "drift.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("predictions.csv", "drift.json", "drift.png", "shifted.parquet"):
        (project / name).unlink()


def test_metrics_and_plots_commands_work(project):
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], project).stdout)
    metrics = [key for file in shown[""]["data"].values() for key in file["data"]]
    assert metrics == METRIC_COLUMNS
    plots = json.loads(run(["dvc", "plots", "show", "--json"], project).stdout)["data"]
    for name in ("cross_validate_precision_recall", "evaluate_roc", "evaluate_confusion", "imbalance_fold_scores"):
        assert name in plots, name
    drawn = {str(p.relative_to(project)) for p in (project / "plots").rglob("*.png")}
    assert {"plots/evaluate/threshold_curve.png", "plots/evaluate/gains.png"} <= drawn
    assert not drawn - set(plots), "every figure a stage draws is in dvc plots show"
    tables = {
        str(p.relative_to(project)) for p in [*project.glob("plots/*/*.csv"), *project.glob("data/*/*_seconds.csv")]
    }
    declared = {
        file
        for item in yaml.safe_load((project / "dvc.yaml").read_text())["plots"]
        if isinstance(item, dict)
        for spec in item.values()
        for file in (spec["y"] if isinstance(spec["y"], dict) else {})
    }
    assert tables and tables <= declared, tables - declared
    specs = {name: shown[0]["content"] for name, shown in plots.items() if shown and shown[0]["type"] == "vega"}
    for name in ("cross_validate_precision_recall", "evaluate_precision_recall"):  # steps, as average precision sums
        assert specs[name]["mark"]["interpolate"] == "step-before", name  # them (.dvc/plots/step.json)
    assert "interpolate" not in specs["evaluate_roc"]["mark"]  # the area under ROC is a trapezoid sum


def _unmeasured(path):
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if "measured" not in c["metadata"].get("tags", [])]


def test_two_runs_from_scratch_are_identical(project, tmp_path):
    other = copy_project(tmp_path / "again", git=True, params=SMALL)
    run(["dvc", "repro"], other)
    for rel in DETERMINISTIC:
        assert (other / rel).read_bytes() == (project / rel).read_bytes(), rel
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
        "data/cross_validation/oof.parquet",
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


#: A terminal 160 columns wide, as `dvc exp show` sees it.
WIDE_TERMINAL = {"COLUMNS": "160", "TERM": "xterm-256color"}


def _exp_show_csv(project, *options):
    return list(csv.DictReader(io.StringIO(run(["dvc", "exp", "show", "--csv", *options], project).stdout)))


def test_exp_show_leads_with_the_test_set(project):
    header = list(_exp_show_csv(project)[0])
    assert header[:5] == ["Experiment", "rev", "typ", "Created", "parent"]
    assert header[5 : header.index("seed")] == METRIC_COLUMNS  # twelve metrics, the test set first
    assert not [h for h in header if h.startswith("paths.") or h.endswith(("n_jobs", "_env"))]
    table = run(["dvc", "exp", "show", "--no-pager"], project, extra_env=WIDE_TERMINAL).stdout.splitlines()
    assert max(map(len, table)) <= 160
    heading = next(line for line in table if "Experiment" in line).split()
    assert heading[2:4] == ["test_ap", "test_roc_auc"], heading  # not elided
    evaluate = json.loads((project / "metrics" / "evaluate.json").read_text())
    workspace = next(line for line in table if line.split()[:1] == ["workspace"]).split()
    assert workspace[2:4] == [f"{evaluate['test_ap']:.5g}", f"{evaluate['test_roc_auc']:.5g}"], workspace


def test_an_experiment_on_the_threshold_reruns_evaluate_and_shows_what_changed(project):
    commit(project, "baseline results")
    before = json.loads((project / "metrics" / "evaluate.json").read_text())
    out = run(["dvc", "exp", "run", "-n", "cost", "-S", "evaluate.threshold_objective=cost"], project).stdout
    for stage in ("prepare", "cross_validate", "tune", "imbalance"):
        assert f"Running stage '{stage}'" not in out, stage
    assert "Running stage 'evaluate'" in out
    after = json.loads((project / "metrics" / "evaluate.json").read_text())
    changed = [name for name in METRIC_COLUMNS[:7] if after[name] != before[name]]
    assert "threshold" in changed and "test_ap" not in changed  # the ranking is the same model's
    table = run(["dvc", "exp", "show", "--only-changed", "--no-pager"], project, extra_env=WIDE_TERMINAL).stdout
    lines = table.splitlines()
    assert max(map(len, lines)) <= 160, table
    assert "…" not in table, table  # nothing elided
    heading = next(line for line in lines if "Experiment" in line)
    assert "evaluate.threshold_objective" in heading and all(name in heading for name in changed), heading
    assert any("[cost]" in line for line in lines), table
    # back to the baseline for the experiments below
    run(["git", "checkout", "--", "."], project)
    run(["dvc", "checkout", "--force"], project)
    assert "Data and pipelines are up to date" in run(["dvc", "status"], project).stdout


def test_experiments_rerun_only_what_depends_on_the_change(project):
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

    rows = _exp_show_csv(project)
    header = rows[0].keys()
    assert {"cross_validate.top_k_fraction", "tune.n_trials", "prepare.test_size"} <= set(header)
    assert {"best_model", "tune_ap", "strategy", "test_roc_auc"} <= set(header)
    assert {r["Experiment"] for r in rows} >= {"cost", "topk", "more_trials", "trials"}
    assert next(r for r in rows if r["Experiment"] == "trials")["tune.n_trials"] == "2"
    ranked = _exp_show_csv(project, "--sort-by", "test_ap", "--sort-order", "desc")
    values = [float(r["test_ap"]) for r in ranked if r["typ"].startswith("branch")]  # the experiments
    assert values == sorted(values, reverse=True), values
    diff = run(["dvc", "exp", "diff", "HEAD", "trials"], project).stdout
    assert "tune.n_trials" in diff and "test_ap" in diff

    diff = json.loads(run(["dvc", "plots", "diff", "HEAD", "trials", "--json"], project).stdout)
    (project / "plots_diff.json").write_text(json.dumps(diff)[:200000])
    revs = {rev for item in diff["data"]["evaluate_precision_recall"] for rev in item.get("revisions", [])}
    assert {"HEAD", "trials"} <= revs, revs


def test_the_index_and_a_report_in_a_browser(repro):
    """What a colleague sees: the index with five headlines, the evaluate report opening with its
    headline and its code folded (screenshots kept as test artefacts)."""
    root, _, _ = repro
    driver = browser()
    try:
        driver.get((root / "reports" / "index.html").as_uri())
        headlines = driver.execute_script("return [...document.querySelectorAll('p.headline')].map(p => p.innerText)")
        assert len(headlines) == len(STAGES) and all(h and h != "(no headline)" for h in headlines), headlines
        screenshot(driver, "reports_index.png")
        driver.get((root / "reports" / "05_evaluate.html").as_uri())
        folded = driver.execute_script(
            "const d = [...document.querySelectorAll('details.il-code')]; return [d.length, d.filter(x => x.open).length]"
        )
        assert folded[0] > 5 and folded[1] == 0, folded
        first = driver.execute_script("return document.querySelector('.celltag_headline').innerText")
        assert first.startswith("test AP "), first
        screenshot(driver, "report_05_evaluate.png")
    finally:
        driver.quit()
