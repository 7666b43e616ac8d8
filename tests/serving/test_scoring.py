"""Unit tests of imbalance_lab.serving.scoring: scoring frames and files, and the predict command."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.errors import ScoringError
from imbalance_lab.serving import load_model, predict_file, score_frame


def test_score_frame_matches_the_pipeline(model, new_data, expected_scores, model_threshold):
    out = score_frame(model, new_data)
    assert list(out.columns) == ["id", "score", "label"]
    np.testing.assert_array_equal(out["score"].to_numpy(), expected_scores(model, new_data))
    np.testing.assert_array_equal(out["label"].to_numpy(), (out["score"] >= model_threshold).astype(int).to_numpy())
    assert out["id"].tolist() == new_data["id"].tolist()
    assert 0 < out["label"].sum() < len(out)


def test_score_frame_without_id_column(model, new_data):
    out = score_frame(model, new_data.drop(columns=["id"]))
    assert list(out.columns) == ["score", "label"]


def test_label_is_one_exactly_at_the_threshold(model, new_data):
    first = score_frame(model, new_data.iloc[:1])
    at = load_model(model.directory)
    object.__setattr__(at, "threshold", float(first["score"].iloc[0]))
    assert score_frame(at, new_data.iloc[:1])["label"].tolist() == [1]
    object.__setattr__(at, "threshold", float(np.nextafter(first["score"].iloc[0], 1.0)))
    assert score_frame(at, new_data.iloc[:1])["label"].tolist() == [0]


@pytest.mark.parametrize("in_suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("out_suffix", [".csv", ".parquet"])
def test_predict_file_chunked_equals_one_shot_equals_pipeline(
    tmp_path,
    model_dir,
    model,
    new_data,
    in_suffix,
    out_suffix,
    expected_scores,
    model_threshold,
    read_output,
    write_input,
):
    src = write_input(new_data, tmp_path / f"new{in_suffix}")
    chunked = predict_file(model_dir, src, tmp_path / f"chunked{out_suffix}", chunksize=64)
    whole = predict_file(model_dir, src, tmp_path / f"whole{out_suffix}", chunksize=100_000)
    a, b = read_output(tmp_path / f"chunked{out_suffix}"), read_output(tmp_path / f"whole{out_suffix}")
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["id", "score", "label"]
    assert a["id"].tolist() == new_data["id"].tolist()
    expected = expected_scores(model, new_data)
    if in_suffix == ".parquet" and out_suffix == ".parquet":
        np.testing.assert_array_equal(a["score"].to_numpy(), expected)
    else:  # through CSV text
        np.testing.assert_allclose(a["score"].to_numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(a["label"].to_numpy(), (a["score"].to_numpy() >= model_threshold).astype(int))
    assert chunked == {**whole, "output": chunked["output"]}
    assert chunked["rows"] == len(new_data)
    assert chunked["positives"] == int(a["label"].sum())
    assert chunked["unseen_categories"] == {"cat": 2}
    assert chunked["extra_columns"] == ["notes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [src.name, f"chunked{out_suffix}", f"whole{out_suffix}"]
    )


def test_predict_file_warns_about_extra_columns(tmp_path, model_dir, new_data, caplog, write_input):
    src = write_input(new_data, tmp_path / "new.csv")
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.scoring"):
        predict_file(model_dir, src, tmp_path / "out.csv", chunksize=50)
    warnings = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert warnings == [f"{src}: ignoring 1 column(s) the model does not use: 'notes'"]  # once, not per chunk
    assert any("not seen in training: cat 2" in r.getMessage() for r in caplog.records)


def test_predict_file_names_the_id_column_it_cannot_find(
    tmp_path, model_dir, new_data, caplog, read_output, write_input
):
    src = write_input(new_data.rename(columns={"id": "customer"}), tmp_path / "new.csv")
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.scoring"):
        predict_file(model_dir, src, tmp_path / "out.csv", chunksize=100)
    assert list(read_output(tmp_path / "out.csv").columns) == ["score", "label"]
    lost = [r.getMessage() for r in caplog.records if "id column" in r.getMessage()]
    assert len(lost) == 1 and "'id' are not in the input" in lost[0] and "--id-column NAME" in lost[0], lost


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_file_writes_the_id_column_it_is_given(tmp_path, model_dir, new_data, suffix, caplog, write_input):
    renamed = new_data.rename(columns={"id": "customer"})
    src = write_input(renamed, tmp_path / f"new{suffix}")
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.scoring"):
        summary = predict_file(model_dir, src, tmp_path / "out.csv", chunksize=64, id_columns=["customer", "notes"])
    out = pd.read_csv(tmp_path / "out.csv", dtype={"customer": str})
    assert list(out.columns) == ["customer", "notes", "score", "label"]
    assert out["customer"].tolist() == renamed["customer"].tolist() and (out["notes"] == "free text").all()
    assert summary["extra_columns"] == []
    assert not [r for r in caplog.records if "id column" in r.getMessage() or "ignoring" in r.getMessage()]
    same = predict_file(model_dir, write_input(new_data, tmp_path / f"orig{suffix}"), tmp_path / "orig_scores.csv")
    np.testing.assert_array_equal(out["score"], pd.read_csv(tmp_path / "orig_scores.csv")["score"])
    assert same["rows"] == summary["rows"]


def test_predict_file_id_column_not_in_the_input(tmp_path, model_dir, new_data, write_input):
    src = write_input(new_data, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match=r"new.csv: the id column 'customer' is not in the input .*--id-column"):
        predict_file(model_dir, src, tmp_path / "out.csv", id_columns=["customer"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_predict_command_id_column_option(tmp_path, model_dir, new_data, run_cli, write_input):
    src = write_input(new_data.rename(columns={"id": "customer"}), tmp_path / "new.parquet")
    assert (
        run_cli(
            [
                "predict",
                "--model",
                str(model_dir),
                "--input",
                str(src),
                "--output",
                str(tmp_path / "o.parquet"),
                "--id-column",
                "customer",
            ]
        )
        == 0
    )
    assert pd.read_parquet(tmp_path / "o.parquet")["customer"].tolist() == new_data["id"].tolist()


def test_predict_command(tmp_path, model_dir, model, new_data, run_cli, expected_scores, write_input):
    src = write_input(new_data, tmp_path / "new.parquet")
    out = tmp_path / "scores" / "out.parquet"
    status = run_cli(
        ["predict", "--model", str(model_dir), "--input", str(src), "--output", str(out), "--chunksize", "100"]
    )
    assert status == 0
    np.testing.assert_array_equal(pd.read_parquet(out)["score"].to_numpy(), expected_scores(model, new_data))


def test_predict_command_errors_are_one_line_with_status_2(tmp_path, model_dir, capsys, run_cli):
    status = run_cli(
        [
            "predict",
            "--model",
            str(model_dir),
            "--input",
            str(tmp_path / "nope.csv"),
            "--output",
            str(tmp_path / "out.csv"),
        ]
    )
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: {tmp_path / 'nope.csv'}: input file not found; check the path"


def test_predict_command_with_a_broken_model(tmp_path, new_data, capsys, run_cli, write_input):
    src = write_input(new_data, tmp_path / "new.csv")
    status = run_cli(
        ["predict", "--model", str(tmp_path / "no-model"), "--input", str(src), "--output", str(tmp_path / "out.csv")]
    )
    assert status == 2
    assert "model directory not found" in capsys.readouterr().err


def test_predict_command_rejects_a_bad_chunksize(tmp_path, model_dir, run_cli):
    with pytest.raises(SystemExit) as exc:
        run_cli(["predict", "--model", str(model_dir), "--input", "x.csv", "--output", "y.csv", "--chunksize", "0"])
    assert exc.value.code == 2
