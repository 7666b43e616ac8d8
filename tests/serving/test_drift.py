"""Unit tests of imbalance_lab.serving.drift and the drift command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from imbalance_lab.data import Schema
from imbalance_lab.errors import ScoringError
from imbalance_lab.reporting import drift_figure
from imbalance_lab.serving import drift as drift_module
from imbalance_lab.serving.drift import (
    DRIFT_EXIT,
    DriftAccumulator,
    drift_file,
    drift_table,
    psi,
    reference_stats,
    validate_reference,
)


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


# --------------------------------------------------------------------------------------------
# Reference statistics
# --------------------------------------------------------------------------------------------


def test_reference_stats_shape(reference, train):
    X = train[0]
    num1 = reference["numeric"]["num1"]
    assert len(num1["edges"]) == 9 and num1["edges"] == sorted(num1["edges"])
    assert len(num1["shares"]) == 10
    assert sum(num1["shares"]) + num1["missing_share"] == pytest.approx(1.0)
    assert reference["numeric"]["num2"]["missing_share"] == pytest.approx(X["num2"].isna().mean())
    assert sum(num1["sample"]["counts"]) == X["num1"].notna().sum()  # all values when fewer than the sample size
    np.testing.assert_array_equal(np.repeat(num1["sample"]["values"], num1["sample"]["counts"]), np.sort(X["num1"]))
    cat = reference["categorical"]["cat"]["shares"]
    assert set(cat) == {"a", "b", "c", "d", "__missing__"}
    assert sum(cat.values()) == pytest.approx(1.0)
    assert cat["__missing__"] == pytest.approx(X["cat"].isna().mean())
    json.dumps(reference, allow_nan=False)  # JSON-serialisable


def test_reference_sample_is_capped_and_deterministic(serving_schema):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "num1": rng.normal(size=12_000),
            "num2": rng.integers(0, 3, size=12_000).astype(float),
            "cat": rng.choice(["a", "b"], size=12_000).astype(object),
        }
    )
    a, b = reference_stats(X, serving_schema), reference_stats(X, serving_schema)
    assert a == b
    assert sum(a["numeric"]["num1"]["sample"]["counts"]) == 5000
    assert a["numeric"]["num2"]["sample"]["values"] == [0.0, 1.0, 2.0]  # discrete values stay compact
    assert a != reference_stats(X, serving_schema, seed=1)
    # three distinct values: the quantile edges collapse to unique ones
    assert a["numeric"]["num2"]["edges"] == [0.0, 1.0, 2.0]


def test_psi():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * np.log(0.9 / 0.5) - 0.4 * np.log(0.1 / 0.5))
    assert np.isfinite(psi([1.0, 0.0], [0.0, 1.0]))  # empty cells are clipped


# --------------------------------------------------------------------------------------------
# Drift table
# --------------------------------------------------------------------------------------------


def test_an_unshifted_sample_does_not_drift(reference, stable):
    table = drift_table(reference, stable.copy())
    assert set(table["feature"]) == {"num1", "num2", "cat"}
    assert not table["drifted"].any(), table
    assert (table["psi"] < 0.1).all()
    assert (table["p_value"] > 0.01).all()
    assert table["psi"].is_monotonic_decreasing
    assert set(table["test"]) == {"ks", "chi2"}


def test_a_shifted_sample_drifts(reference, shifted):
    table = drift_table(reference, shifted.copy()).set_index("feature")
    assert table.loc["num1", "drifted"] and table.loc["num1", "psi"] > 0.5
    assert table.loc["cat", "drifted"]
    assert not table.loc["num2", "drifted"]
    assert table.loc["num1", "p_value"] < 1e-10 and table.loc["num1", "significant"]
    assert table.loc["cat", "p_value"] < 1e-10
    assert table.loc["num1", "mean_new"] > table.loc["num1", "mean_ref"] + 1.5


def _many_levels(n, seed, levels=400):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"city": [f"city_{i}" for i in rng.integers(0, levels, n)], "x": rng.normal(size=n)})


def test_a_small_sample_of_a_many_levelled_category_does_not_drift():
    """200 rows of the training data's own 400 cities drifted with PSI 2.5: most cells are empty
    by chance, and each empty cell adds to the PSI. A PSI within what sampling alone gives at
    this many rows (psi_noise) is not drift."""
    schema = Schema(
        target="y", numeric=["x"], categorical={"city": [f"city_{i}" for i in range(400)]}, features=["x", "city"]
    )
    reference = reference_stats(_many_levels(20000, 1), schema)
    for seed in range(2, 5):
        table = drift_table(reference, _many_levels(200, seed)).set_index("feature")
        assert table.loc["city", "psi"] > 1.0  # the PSI itself is large ...
        assert table.loc["city", "psi"] < table.loc["city", "psi_noise"]  # ... but no larger than chance
        assert not table["drifted"].any(), table
    # a real shift still drifts: 200 rows from 20 of the cities
    table = drift_table(reference, _many_levels(200, 7, levels=20)).set_index("feature")
    assert table.loc["city", "drifted"] and table.loc["city", "psi"] > table.loc["city", "psi_noise"]
    assert table.loc["city", "p_value"] < 1e-10


def test_psi_noise_is_about_cells_over_rows_for_well_filled_cells():
    expected = np.full(10, 0.1)
    median = drift_module.psi_noise(expected, 10000, level=0.5)
    assert median == pytest.approx(9 / 10000, rel=0.2)  # chi-square(9) / n
    assert drift_module.psi_noise(expected, 10000) > median  # the 99th percentile
    assert drift_module.psi_noise(expected, 10000) == drift_module.psi_noise(expected, 10000)  # seeded


def test_psi_noise_is_drawn_in_batches_of_bounded_size(monkeypatch):
    """1000 samples of a 100 000-level category were one array of several GB."""
    expected = np.full(50, 0.02)
    whole = drift_module.psi_noise(expected, 300, samples=200)
    monkeypatch.setattr(drift_module, "NOISE_BATCH_CELLS", 50 * 7)  # 7 samples at a time
    sizes = []
    make_rng = np.random.default_rng

    class Recording:
        def __init__(self, seed):
            self.rng = make_rng(seed)

        def multinomial(self, n, p, size=None):
            sizes.append(size)
            return self.rng.multinomial(n, p, size=size)

    monkeypatch.setattr(np.random, "default_rng", Recording)
    assert drift_module.psi_noise(expected, 300, samples=200) == whole  # the same draws, in batches
    assert max(sizes) == 7 and sum(sizes) == 200


def test_unseen_categories_and_missing_values_count(reference, stable):
    X = stable.copy()
    X.loc[:99, "cat"] = "brand-new"
    X.loc[100:299, "num2"] = np.nan
    table = drift_table(reference, X).set_index("feature")
    assert table.loc["cat", "unseen"] == 100
    assert table.loc["cat", "drifted"]
    assert table.loc["num2", "missing_new"] > 0.4 and table.loc["num2", "drifted"]


def test_thresholds_are_applied(reference, stable):
    table = drift_table(reference, stable.copy(), psi_threshold=1e-6, p_threshold=1.0)
    assert table["drifted"].all() and table["significant"].all()
    assert table.attrs["psi_threshold"] == 1e-6


def test_chunks_give_the_same_table_as_one_frame(reference, shifted):
    X = shifted.copy()
    whole = drift_table(reference, X)
    acc = DriftAccumulator(reference)
    for start in range(0, len(X), 37):
        acc.update(X.iloc[start : start + 37])
    pd.testing.assert_frame_equal(acc.table(), whole)


def test_ks_sample_of_new_values_is_bounded(reference, stable):
    X = pd.concat([stable.copy()] * 4, ignore_index=True)
    acc = DriftAccumulator(reference, ks_sample=300).update(X.iloc[:1000]).update(X.iloc[1000:])
    assert len(acc._values["num1"]) == 300
    assert not acc.table()["drifted"].any()


def test_drift_figure(reference, shifted):
    table = drift_table(reference, shifted.copy())
    fig = drift_figure(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.patches) == 3
    assert any(list(line.get_xdata()) == [0.2, 0.2] for line in ax.get_lines())
    assert "2 drifted" in ax.get_title()
    source = Path(drift_module.__file__).read_text()
    assert "pyplot" not in source


# --------------------------------------------------------------------------------------------
# drift_file and the command
# --------------------------------------------------------------------------------------------


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
    serving_data(n=500, seed=11, shift=0.3)[0].to_csv(src, index=False)  # num1's PSI 0.13: above chance, below 0.2
    report = tmp_path / "drift.json"
    assert run_cli(["drift", "--model", str(strict), "--input", str(src), "--report", str(report)]) == DRIFT_EXIT
    assert json.loads(report.read_text())["psi_threshold"] == 1e-4
    assert (
        run_cli(
            ["drift", "--model", str(strict), "--input", str(src), "--report", str(report), "--psi-threshold", "0.2"]
        )
        == 0
    )
    src_shifted = tmp_path / "shifted.csv"
    shifted.copy().to_csv(src_shifted, index=False)
    assert run_cli(["drift", "--model", str(lenient), "--input", str(src_shifted), "--report", str(report)]) == 0
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
    import shutil

    art = Path(shutil.copytree(model_dir, tmp_path / "model"))
    reference = json.loads((art / "reference.json").read_text())
    reference["numeric"]["num1"]["sample"] = [1.0, 2.0]  # an older layout
    rewrite_artifact(art, "reference.json", json.dumps(reference).encode())
    src = tmp_path / "new.csv"
    stable.copy().to_csv(src, index=False)
    with pytest.raises(ScoringError, match=r"reference\.json: not valid training statistics \(numeric feature 'num1'"):
        drift_file(art, src)


def test_validate_reference(reference):
    validate_reference(reference)
    with pytest.raises(ValueError, match="version"):
        validate_reference({**reference, "version": 99})
    broken = json.loads(json.dumps(reference))
    broken["numeric"]["num2"]["shares"] = broken["numeric"]["num2"]["shares"][:-1]
    with pytest.raises(ValueError, match="'num2'"):
        validate_reference(broken)


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
