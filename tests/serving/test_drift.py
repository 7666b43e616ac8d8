"""Unit tests of imbalance_lab.serving.drift and the drift command: the decision rule on every
kind of shift, prediction drift, the report, the figure and the command's outputs and errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from imbalance_lab.data import Schema
from imbalance_lab.errors import ScoringError
from imbalance_lab.reporting import drift_figure
from imbalance_lab.serving import drift as drift_module
from imbalance_lab.serving import load_model, predict_file
from imbalance_lab.serving.drift import (
    DRIFT_EXIT,
    PREDICTION,
    DriftAccumulator,
    drift_file,
    drift_table,
    noise_allowances,
    prediction_note,
)
from imbalance_lab.serving.drift_reference import reference_stats
from imbalance_lab.serving.shifts import FEATURE_SHIFTS, draw_rows, shift_feature


@pytest.fixture(scope="module")
def train(serving_data):
    return serving_data(n=600, seed=0)


@pytest.fixture(scope="module")
def reference(train, serving_schema):
    return reference_stats(train[0], serving_schema)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, train, fit_model, save_artifact):
    X, y = train
    return save_artifact(tmp_path_factory.mktemp("drift") / "model", fit_model("logistic_regression", X, y), X)


@pytest.fixture(scope="module")
def stable(serving_data):
    """New rows like the training rows."""
    return serving_data(n=500, seed=11)[0]


@pytest.fixture(scope="module")
def shifted(serving_data, stable):
    """num1 moved by two standard deviations and a different mix of categories."""
    X, _ = serving_data(n=500, seed=12, category_p=(0.05, 0.05, 0.2, 0.7))
    X["num1"] = X["num1"] + 2 * stable["num1"].std()
    return X


@pytest.fixture(scope="module")
def held_out(drift_data):
    """Rows of the drift dataset the model never saw: ``(X, y)``."""
    return drift_data(20_000, 1)


@pytest.fixture(scope="module")
def noise_1000(drift_model):
    """The noise allowances of 1000-row batches (shared by the batches of one size)."""
    return noise_allowances(drift_model["reference"], 1000)


def _check(drift_model, X, noise=None):
    scores = drift_model["pipeline"].predict_proba(X)[:, 1]
    return drift_table(drift_model["reference"], X, scores=scores, noise=noise).set_index("feature")


# --------------------------------------------------------------------------------------------
# The decision rule: every kind of shift at 1000 rows, and no alarm without one
# --------------------------------------------------------------------------------------------


def test_unshifted_batches_raise_no_alarm(drift_model, held_out, noise_1000):
    X, _ = held_out
    rng = np.random.default_rng(0)
    alarms = 0
    for _ in range(20):
        table = _check(
            drift_model, X.iloc[draw_rows(1000, groups=[np.arange(len(X))], shares=[1.0], rng=rng)], noise_1000
        )
        alarms += bool(table["drifted"].any())
        assert (table["psi_noise"] > 0).all() and (table["distance_noise"] > 0).all()
    assert alarms <= 1


#: Every feature shift on a continuous (age) and a code feature (visits), or on the categorical
#: feature; a quarter of a standard deviation in a code feature is at the Jensen-Shannon
#: threshold (about 0.1) and is detected in some batches only (see bench/drift_power.py).
CASES = [
    (shift, column)
    for shift in sorted(FEATURE_SHIFTS)
    for column in (["kind"] if shift in ("new_category", "category_tripled") else ["age", "visits"])
    if (shift, column) != ("location_0.25sd", "visits")
]


@pytest.mark.parametrize("shift, column", CASES)
def test_each_feature_shift_is_detected_in_its_feature(drift_model, held_out, noise_1000, shift, column):
    X, _ = held_out
    rng = np.random.default_rng(5)
    batch = X.iloc[:1000]
    table = _check(
        drift_model, shift_feature(batch, shift, column=column, reference=drift_model["reference"], rng=rng), noise_1000
    )
    drifted = table.index[table["drifted"]].tolist()
    assert column in drifted, table.head(3)
    assert set(drifted) <= {column, PREDICTION}  # nothing else
    expected = "wasserstein" if column == "age" else "jensen_shannon"  # codes and categories: per-value cells
    assert table.loc[column, "distance_name"] == expected


def test_values_outside_the_training_range_are_their_own_share(drift_model, held_out, noise_1000):
    """The issue's case: CoIL's MAANTHUI (1 in 90 % of rows) as x * 3 + 5 gave PSI 0.043: the new
    values fell into the majority's quantile bin."""
    X = held_out[0].iloc[:1000].copy()
    X["flag"] = X["flag"] * 3 + 5  # 1 -> 8, above the training maximum 5
    table = _check(drift_model, X, noise_1000)
    assert table.loc["flag", "drifted"] and table.index[0] == "flag"
    assert table.loc["flag", "out_of_range"] == 1.0
    assert table.loc["flag", "psi"] > 5 and table.loc["flag", "distance"] > 0.9


def test_another_population_is_detected(drift_model, drift_data, held_out, noise_1000):
    X, _ = held_out
    other, _ = drift_data(2000, 9, other=True)
    rng = np.random.default_rng(3)
    pool = pd.concat([X.iloc[:5000], other], ignore_index=True)
    rows = draw_rows(1000, groups=[np.arange(5000), np.arange(5000, 7000)], shares=[0.8, 0.2], rng=rng)
    table = _check(drift_model, pool.iloc[rows].reset_index(drop=True), noise_1000)
    assert table["drifted"].sum() >= 2, table.head()


def test_more_positives_move_the_scores(drift_model, held_out, noise_1000):
    """Three times the positives move the scores: prediction drift sees it."""
    X, y = held_out
    rng = np.random.default_rng(4)
    share = 3 * y.mean()
    rows = draw_rows(1000, groups=[np.flatnonzero(y == 1), np.flatnonzero(y == 0)], shares=[share, 1 - share], rng=rng)
    table = _check(drift_model, X.iloc[rows].reset_index(drop=True), noise_1000)
    assert table.loc[PREDICTION, "drifted"] and table.loc[PREDICTION, "kind"] == "prediction"
    summary = table.attrs["prediction"]
    assert summary["flagged_share_new"] > 1.3 * summary["flagged_share_ref"]
    assert "precision at the threshold falls from" in summary["note"]


def test_a_small_sample_of_a_many_levelled_category_does_not_drift():
    """200 rows of the training data's own 400 cities drifted with PSI 2.5: most cells are empty
    by chance. A PSI and a distance within what sampling alone gives at this many rows are not drift."""
    schema = Schema(
        target="y", numeric=["x"], categorical={"city": [f"city_{i}" for i in range(400)]}, features=["x", "city"]
    )

    def cities(n, seed, levels=400):
        rng = np.random.default_rng(seed)
        return pd.DataFrame({"city": [f"city_{i}" for i in rng.integers(0, levels, n)], "x": rng.normal(size=n)})

    reference = reference_stats(cities(20000, 1), schema)
    for seed in range(2, 5):
        table = drift_table(reference, cities(200, seed)).set_index("feature")
        assert table.loc["city", "psi"] > 1.0 and table.loc["city", "distance"] > 0.5  # large ...
        assert table.loc["city", "psi"] < table.loc["city", "psi_noise"]  # ... but no larger than chance
        assert table.loc["city", "distance"] < table.loc["city", "distance_noise"]
        assert not table.loc["city", "drifted"], table
    table = drift_table(reference, cities(200, 7, levels=20)).set_index("feature")  # 20 of the cities
    assert table.loc["city", "drifted"] and table.loc["city", "p_value"] < 1e-10


def test_the_allowance_level_spreads_the_false_alarm_rate_over_every_measure(drift_model):
    reference = drift_model["reference"]
    strict = noise_allowances(reference, 1000, false_alarm_rate=0.001)
    loose = noise_allowances(reference, 1000, false_alarm_rate=0.5)
    assert set(strict) == {"amount", "age", "visits", "flag", "kind", PREDICTION}
    assert all(strict[c][0] >= loose[c][0] and strict[c][1] >= loose[c][1] for c in strict)
    assert noise_allowances(reference, 1000) == noise_allowances(reference, 1000)  # seeded


def test_prediction_note_reads_the_change_in_flagged_share():
    base = {"threshold": 0.2, "flagged_share_ref": 0.10, "precision_ref": 0.3, "drifted": True}
    more = prediction_note({**base, "flagged_share_new": 0.20})
    assert "20.0% of the rows" in more and "from 0.30 to about 0.15" in more
    fewer = prediction_note({**base, "flagged_share_new": 0.05})
    assert "misses some it used to flag" in fewer and "50%" in fewer
    assert "about the same share" in prediction_note({**base, "flagged_share_new": 0.102})


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def test_an_unshifted_sample_does_not_drift(reference, stable):
    table = drift_table(reference, stable.copy())
    assert set(table["feature"]) == {"num1", "num2", "cat"}  # no scores given: no prediction row
    assert not table["drifted"].any(), table
    assert (table["p_value"] > 0.01).all()
    assert set(table["test"]) == {"ks", "chi2"}
    assert table.attrs["prediction"] is None


def test_a_shifted_sample_drifts(reference, shifted):
    table = drift_table(reference, shifted.copy()).set_index("feature")
    assert table.loc["num1", "drifted"] and table.loc["num1", "distance"] > 1.5
    assert table.loc["cat", "drifted"]
    assert not table.loc["num2", "drifted"]
    assert table.loc["num1", "p_value"] < 1e-10 and table.loc["num1", "significant"]
    assert table.loc["num1", "mean_new"] > table.loc["num1", "mean_ref"] + 1.5
    assert table.index[:2].tolist() == ["num1", "cat"]  # drifted first, most severe first


def test_unseen_categories_and_missing_values_count(reference, stable):
    X = stable.copy()
    X.loc[:99, "cat"] = "brand-new"
    X.loc[100:299, "num2"] = np.nan
    table = drift_table(reference, X).set_index("feature")
    assert table.loc["cat", "unseen"] == 100
    assert table.loc["cat", "drifted"]
    assert table.loc["num2", "missing_new"] > 0.4 and table.loc["num2", "drifted"]


def test_thresholds_are_applied(reference, stable):
    table = drift_table(reference, stable.copy(), psi_threshold=1e-6, distance_threshold=1e-6, p_threshold=1.0)
    assert table["significant"].all()
    assert table.attrs["psi_threshold"] == 1e-6 and table.attrs["distance_threshold"] == 1e-6
    loose = drift_table(reference, stable.copy(), psi_threshold=1e-6, false_alarm_rate=1.0)
    assert loose["drifted"].any()  # thresholds and allowances both tiny


def test_chunks_give_the_same_table_as_one_frame(drift_model, held_out):
    X = shift_feature(
        held_out[0].iloc[:700],
        "location_1sd",
        column="age",
        reference=drift_model["reference"],
        rng=np.random.default_rng(0),
    )
    scores = drift_model["pipeline"].predict_proba(X)[:, 1]
    whole = drift_table(drift_model["reference"], X, scores=scores)
    acc = DriftAccumulator(drift_model["reference"])
    for start in range(0, len(X), 37):
        acc.update(X.iloc[start : start + 37], scores=scores[start : start + 37])
    table = acc.table()
    pd.testing.assert_frame_equal(table, whole)
    assert table.attrs == whole.attrs


def test_ks_sample_of_new_values_is_bounded(reference, stable):
    X = pd.concat([stable.copy()] * 4, ignore_index=True)
    acc = DriftAccumulator(reference, ks_sample=300).update(X.iloc[:1000]).update(X.iloc[1000:])
    assert len(acc._values["num1"]) == 300
    assert not acc.table()["drifted"].any()


def test_drift_figure(drift_model, held_out):
    X = shift_feature(
        held_out[0].iloc[:1000],
        "location_1sd",
        column="age",
        reference=drift_model["reference"],
        rng=np.random.default_rng(0),
    )
    table = _check(drift_model, X).reset_index()
    fig = drift_figure(table)
    assert isinstance(fig, Figure)
    psi_ax, distance_ax = fig.axes[:2]
    assert len(psi_ax.patches) == len(distance_ax.patches) == 6  # five features and the scores
    assert any(list(line.get_xdata()) == [0.2, 0.2] for line in psi_ax.get_lines())
    assert any(list(line.get_xdata()) == [0.1, 0.1] for line in distance_ax.get_lines())
    labels = [t.get_text() for t in psi_ax.get_yticklabels()]
    assert labels[-1] == "age (W)" and "kind (JS)" in labels and f"{PREDICTION} (W)" in labels
    assert "1 drifted" in fig.get_suptitle()
    source = Path(drift_module.__file__).read_text()
    assert "pyplot" not in source


# --------------------------------------------------------------------------------------------
# drift_file and the command
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored_model_dir(tmp_path_factory, drift_model, drift_schema, save_artifact):
    """The drift dataset's model saved with its out-of-fold scores' reference."""
    return save_artifact(
        tmp_path_factory.mktemp("scored") / "model",
        drift_model["pipeline"],
        drift_model["X"],
        threshold=0.15,
        schema=drift_schema,
        reference=drift_model["reference"],
    )


def test_drift_file_reports_prediction_drift(tmp_path, scored_model_dir, held_out):
    X, y = held_out
    rows = np.concatenate([np.flatnonzero(y == 1)[:300], np.flatnonzero(y == 0)[:700]])
    src = tmp_path / "new.parquet"
    X.iloc[rows].to_parquet(src, index=False)
    table, drifted = drift_file(
        scored_model_dir, src, report_path=tmp_path / "drift.json", figure_path=tmp_path / "drift.png"
    )
    assert drifted
    report = json.loads((tmp_path / "drift.json").read_text())
    assert report["prediction"]["drifted"] is True and report["prediction"]["threshold"] == 0.15
    assert report["prediction"]["flagged_share_new"] > report["prediction"]["flagged_share_ref"]
    assert PREDICTION not in report["drifted_features"]
    assert report["distance_threshold"] == 0.1 and report["false_alarm_rate"] == 0.02
    assert [f["feature"] for f in report["features"]] == table["feature"].tolist()


def test_drift_command_names_the_feature_and_the_scores(tmp_path, scored_model_dir, held_out, run_cli, caplog):
    X = held_out[0].iloc[:1000].copy()
    src = tmp_path / "stable.csv"
    X.to_csv(src, index=False)
    with caplog.at_level("INFO"):
        assert run_cli(["drift", "--model", str(scored_model_dir), "--input", str(src)]) == 0
    assert "drift: model scores stable" in caplog.text and "no feature drifted" in caplog.text
    caplog.clear()
    X["flag"] = X["flag"] * 3 + 5
    X.to_csv(src, index=False)
    with caplog.at_level("INFO"):
        assert run_cli(["drift", "--model", str(scored_model_dir), "--input", str(src)]) == DRIFT_EXIT
    assert "drift: flag (numeric) PSI" in caplog.text and "100% outside the training range" in caplog.text
    assert "1 of 5 feature(s) drifted" in caplog.text


def test_an_old_reference_is_a_one_line_error_and_predict_still_works(tmp_path, model_dir, rewrite_artifact, stable):
    art = Path(shutil.copytree(model_dir, tmp_path / "model"))
    reference = json.loads((art / "reference.json").read_text())
    old = {  # the version 1 layout: quantile edges only, no range cells, no scores
        "version": 1,
        "rows": reference["rows"],
        "n_bins": 10,
        "numeric": {
            c: {
                "edges": [0.0],
                "shares": [0.5, 0.5],
                "missing_share": 0.0,
                "sample": r["sample"],
                "mean": 0.0,
                "std": 1.0,
            }
            for c, r in reference["numeric"].items()
        },
        "categorical": reference["categorical"],
    }
    rewrite_artifact(art, "reference.json", json.dumps(old).encode())
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    with pytest.raises(
        ScoringError,
        match=r"reference\.json: not valid training statistics \(reference statistics version 1, expected 2 \(saved by an older imbalance-lab.*re-train the model \(dvc repro evaluate\)",
    ):
        drift_file(art, src, report_path=tmp_path / "drift.json")
    assert not (tmp_path / "drift.json").exists()
    predict_file(art, src, tmp_path / "scores.csv")  # scoring does not need the reference
    assert len(pd.read_csv(tmp_path / "scores.csv")) == len(stable)
    assert load_model(art).reference["version"] == 1


def test_drift_file_writes_report_and_figure(tmp_path, model_dir, shifted):
    src = tmp_path / "new.parquet"
    shifted.copy().to_parquet(src, index=False)
    table, drifted = drift_file(
        model_dir,
        src,
        report_path=tmp_path / "r" / "drift.json",
        figure_path=tmp_path / "r" / "drift.png",
        psi_threshold=0.2,
    )
    assert drifted
    report = json.loads((tmp_path / "r" / "drift.json").read_text())
    assert report["drifted"] is True
    assert sorted(report["drifted_features"]) == ["cat", "num1"]
    assert report["prediction"] is None  # saved without the scores' reference
    assert report["rows"] == 500
    assert [f["feature"] for f in report["features"]] == table["feature"].tolist()
    assert (tmp_path / "r" / "drift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_drift_command_exit_status_stable(tmp_path, model_dir, run_cli, stable):
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    report = tmp_path / "drift.json"
    status = run_cli(["drift", "--model", str(model_dir), "--input", str(src), "--report", str(report)])
    assert status == 0
    assert json.loads(report.read_text())["drifted"] is False


def test_drift_command_exit_status_drifted(tmp_path, model_dir, run_cli, shifted):
    src = tmp_path / "new.csv"
    shifted.copy().to_csv(src, index=False)
    report, figure = tmp_path / "drift.json", tmp_path / "drift.png"
    status = run_cli(
        [
            "drift",
            "--model",
            str(model_dir),
            "--input",
            str(src),
            "--report",
            str(report),
            "--figure",
            str(figure),
            "--psi-threshold",
            "0.25",
        ]
    )
    assert status == DRIFT_EXIT == 3
    assert json.loads(report.read_text())["psi_threshold"] == 0.25
    assert figure.exists()


def test_drift_threshold_defaults_to_the_models_evaluate_psi_threshold(
    tmp_path, train, fit_model, run_cli, save_artifact, serving_data, shifted
):
    """Without --psi-threshold the threshold the model was trained with (evaluate.psi_threshold) is used;
    the option overrides it; a model saved without one falls back to 0.2."""
    X, y = train
    pipeline = fit_model("logistic_regression", X, y)
    strict = save_artifact(tmp_path / "strict", pipeline, X, params={"model": "test", "seed": 0, "psi_threshold": 1e-4})
    lenient = save_artifact(
        tmp_path / "lenient", pipeline, X, params={"model": "test", "seed": 0, "psi_threshold": 50.0}
    )
    plain = save_artifact(tmp_path / "plain", pipeline, X)
    src = tmp_path / "new.csv"
    X = serving_data(n=500, seed=11)[0]
    X.loc[X.index[:75], "num2"] = np.nan  # missing 10 % -> 25 %: a PSI of about 0.17, the distance unchanged
    X.to_csv(src, index=False)
    report = tmp_path / "drift.json"
    assert run_cli(["drift", "--model", str(strict), "--input", str(src), "--report", str(report)]) == DRIFT_EXIT
    assert json.loads(report.read_text())["psi_threshold"] == 1e-4
    assert json.loads(report.read_text())["drifted_features"] == ["num2"]
    command = ["drift", "--model", str(strict), "--input", str(src), "--report", str(report), "--psi-threshold", "0.2"]
    assert run_cli(command) == 0
    assert run_cli(["drift", "--model", str(lenient), "--input", str(src), "--report", str(report)]) == 0
    assert json.loads(report.read_text())["psi_threshold"] == 50.0
    assert run_cli(["drift", "--model", str(plain), "--input", str(src), "--report", str(report)]) == 0
    assert json.loads(report.read_text())["psi_threshold"] == 0.2


def test_drift_command_errors(tmp_path, model_dir, capsys, run_cli, stable):
    src = tmp_path / "new.csv"
    stable.copy().drop(columns=["cat"]).to_csv(src, index=False)
    status = run_cli(["drift", "--model", str(model_dir), "--input", str(src), "--report", str(tmp_path / "r.json")])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {src}: column 'cat' is missing")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("which", ["report", "figure"])
def test_drift_never_writes_over_its_input(tmp_path, model_dir, which, stable):
    src = tmp_path / ("new.csv" if which == "report" else "new.png.csv")
    stable.copy().to_csv(src, index=False)
    before = src.read_bytes()
    target = {"report_path": src} if which == "report" else {"figure_path": tmp_path / "sub" / ".." / src.name}
    (tmp_path / "sub").mkdir()
    with pytest.raises(ScoringError, match="is the input file; choose another output path"):
        drift_file(model_dir, src, **target)
    assert src.read_bytes() == before


def test_drift_outputs_are_checked_before_reading_and_written_together(tmp_path, model_dir, stable):
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    (tmp_path / "a_dir").mkdir()
    report = tmp_path / "drift.json"
    report.write_text("previous report\n")
    cases = [
        ({"figure_path": tmp_path / "a_dir"}, r"a_dir: is a directory; give a file name ending in \.png"),
        ({"figure_path": tmp_path / "drift.jpg"}, r"drift\.jpg: cannot tell the figure format"),
        ({"figure_path": tmp_path / "x.png", "report_path": tmp_path / "x.png"}, "is also the report's path"),
        ({"figure_path": tmp_path / "missing" / "file" / "drift.png"}, None),  # made: not an error
    ]
    for kwargs, message in cases:
        if message is None:
            drift_file(model_dir, src, **kwargs)
            continue
        with pytest.raises(ScoringError, match=message):
            drift_file(model_dir, src, **{"report_path": report, **kwargs})
        assert report.read_text() == "previous report\n"
    # the figure fails after the report is written: neither replaces its target
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "drift.png").write_bytes(b"old figure")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
        with pytest.raises(RuntimeError, match="disk full"):
            drift_file(model_dir, src, report_path=report, figure_path=tmp_path / "locked" / "drift.png")
    assert report.read_text() == "previous report\n"
    assert (tmp_path / "locked" / "drift.png").read_bytes() == b"old figure"
    assert not [p.name for p in tmp_path.rglob(".*.tmp")]


def test_drift_directory_that_cannot_be_made_is_one_line_error(tmp_path, model_dir, stable):
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ScoringError, match=r"file/drift\.json: cannot write \(.*\); check the directory"):
        drift_file(model_dir, src, report_path=tmp_path / "file" / "drift.json")


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_drift_figure_formats_follow_the_name_and_are_reproducible(tmp_path, model_dir, fmt, magic, shifted):
    src = tmp_path / "new.parquet"
    shifted.copy().to_parquet(src, index=False)
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    drift_file(model_dir, src, figure_path=first)
    drift_file(model_dir, src, figure_path=second)
    assert first.read_bytes().startswith(magic)
    assert first.read_bytes() == second.read_bytes()


def test_malformed_reference_statistics_are_a_one_line_error(tmp_path, model_dir, rewrite_artifact, stable):
    art = Path(shutil.copytree(model_dir, tmp_path / "model"))
    reference = json.loads((art / "reference.json").read_text())
    reference["numeric"]["num1"]["sample"] = [1.0, 2.0]  # not values and counts
    rewrite_artifact(art, "reference.json", json.dumps(reference).encode())
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    with pytest.raises(ScoringError, match=r"reference\.json: not valid training statistics \(numeric feature 'num1'"):
        drift_file(art, src)


@pytest.mark.parametrize("value", ["0", "-0.1", "nan"])
def test_a_psi_threshold_that_is_not_positive_is_refused(tmp_path, model_dir, capsys, value, run_cli, stable):
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    with pytest.raises(SystemExit) as exc:  # the command line's own check, before any work
        run_cli(["drift", "--model", str(model_dir), "--input", str(src), "--psi-threshold", value])
    assert exc.value.code == 2
    assert f"argument --psi-threshold: must be a positive number, got {value}" in capsys.readouterr().err
    with pytest.raises(ScoringError, match=f"--psi-threshold must be positive, got {float(value)}"):
        drift_file(model_dir, src, psi_threshold=float(value))  # the function's, for callers from Python
