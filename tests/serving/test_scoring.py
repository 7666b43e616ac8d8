"""Unit tests of imbalance_lab.serving.scoring and .inputs: checking input, scoring files, the
predict command."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.errors import ScoringError
from imbalance_lab.serving import check_input, load_model, predict_file, score_frame

THRESHOLD = 0.3


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, fit_model, save_artifact, serving_data):
    X, y = serving_data()
    pipe = fit_model("logistic_regression", X, y)
    return save_artifact(tmp_path_factory.mktemp("scoring") / "model", pipe, X, threshold=THRESHOLD)


@pytest.fixture(scope="module")
def model(model_dir):
    return load_model(model_dir)


@pytest.fixture(scope="module")
def new_data(serving_data):
    """Rows to score: an id, an extra column, two unseen categories, missing values."""
    X, _ = serving_data(n=230, seed=7)
    X["notes"] = "free text"
    X.loc[[5, 17], "cat"] = "zzz"
    return X


def expected_scores(model, df: pd.DataFrame) -> np.ndarray:
    X = df[model.schema.features].copy()
    X["cat"] = X["cat"].astype(object).where(X["cat"].notna(), np.nan)
    return model.pipeline.predict_proba(X)[:, 1]


def write_input(df: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def read_output(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"id": str})


# --------------------------------------------------------------------------------------------
# check_input and score_frame
# --------------------------------------------------------------------------------------------


def test_check_input_converts_and_reports(new_data, caplog, serving_schema):
    df = new_data.copy()
    df["num1"] = df["num1"].map(repr)  # numbers as text are fine
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.scoring"):
        checked = check_input(df, serving_schema, source="new.csv")
    assert list(checked.X.columns) == serving_schema.features
    assert checked.X["num1"].dtype == "float64"
    np.testing.assert_array_equal(checked.X["num1"].to_numpy(), new_data["num1"].to_numpy())
    assert checked.X["cat"].dtype == object
    assert checked.X["cat"].isna().sum() == new_data["cat"].isna().sum()
    assert checked.extra_columns == ["notes"]
    assert checked.unseen == {"cat": 2}
    assert list(checked.ids.columns) == ["id"]
    assert "new.csv: ignoring 1 column(s) the model does not use: 'notes'" in caplog.text


def test_categories_are_spelled_like_the_training_categories(serving_schema):
    schema = serving_schema.replace(numeric=[], features=["code"], categorical={"code": ["1", "7", "12", "x"]})
    df = pd.DataFrame({"code": [7, 7.0, "07", " x ", 12.0, 3, None]}, dtype=object)
    checked = check_input(df, schema, source="f.csv")
    assert checked.X["code"].tolist()[:6] == ["7", "7", "7", "x", "12", "3"]
    assert pd.isna(checked.X["code"].iloc[6])
    assert checked.unseen == {"code": 1}


def test_score_frame_matches_the_pipeline(model, new_data):
    out = score_frame(model, new_data)
    assert list(out.columns) == ["id", "score", "label"]
    np.testing.assert_array_equal(out["score"].to_numpy(), expected_scores(model, new_data))
    np.testing.assert_array_equal(out["label"].to_numpy(), (out["score"] >= THRESHOLD).astype(int).to_numpy())
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


# --------------------------------------------------------------------------------------------
# predict_file
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("in_suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("out_suffix", [".csv", ".parquet"])
def test_predict_file_chunked_equals_one_shot_equals_pipeline(
    tmp_path, model_dir, model, new_data, in_suffix, out_suffix
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
    np.testing.assert_array_equal(a["label"].to_numpy(), (a["score"].to_numpy() >= THRESHOLD).astype(int))
    assert chunked == {**whole, "output": chunked["output"]}
    assert chunked["rows"] == len(new_data)
    assert chunked["positives"] == int(a["label"].sum())
    assert chunked["unseen_categories"] == {"cat": 2}
    assert chunked["extra_columns"] == ["notes"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [src.name, f"chunked{out_suffix}", f"whole{out_suffix}"]
    )


def test_predict_file_warns_about_extra_columns(tmp_path, model_dir, new_data, caplog):
    src = write_input(new_data, tmp_path / "new.csv")
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.scoring"):
        predict_file(model_dir, src, tmp_path / "out.csv", chunksize=50)
    warnings = [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]
    assert warnings == [f"{src}: ignoring 1 column(s) the model does not use: 'notes'"]  # once, not per chunk
    assert any("not seen in training: cat 2" in r.getMessage() for r in caplog.records)


def test_predict_file_names_the_id_column_it_cannot_find(tmp_path, model_dir, new_data, caplog):
    src = write_input(new_data.rename(columns={"id": "customer"}), tmp_path / "new.csv")
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.scoring"):
        predict_file(model_dir, src, tmp_path / "out.csv", chunksize=100)
    assert list(read_output(tmp_path / "out.csv").columns) == ["score", "label"]
    lost = [r.getMessage() for r in caplog.records if "id column" in r.getMessage()]
    assert len(lost) == 1 and "'id' are not in the input" in lost[0] and "--id-column NAME" in lost[0], lost


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_file_writes_the_id_column_it_is_given(tmp_path, model_dir, new_data, suffix, caplog):
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


def test_predict_file_id_column_not_in_the_input(tmp_path, model_dir, new_data):
    src = write_input(new_data, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match=r"new.csv: the id column 'customer' is not in the input .*--id-column"):
        predict_file(model_dir, src, tmp_path / "out.csv", id_columns=["customer"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_predict_command_id_column_option(tmp_path, model_dir, new_data, run_cli):
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


def test_semicolon_csv_is_read(tmp_path, model_dir, model, new_data):
    src = tmp_path / "new.csv"
    new_data.to_csv(src, index=False, sep=";")
    predict_file(model_dir, src, tmp_path / "out.parquet", chunksize=100)
    np.testing.assert_allclose(
        pd.read_parquet(tmp_path / "out.parquet")["score"], expected_scores(model, new_data), rtol=1e-12
    )


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_compressed_csv_separator_is_sniffed(tmp_path, model_dir, model, new_data, suffix, sep):
    src = tmp_path / f"new{suffix}"
    new_data.to_csv(src, index=False, sep=sep)  # pandas compresses by the suffix
    predict_file(model_dir, src, tmp_path / "out.parquet", chunksize=100)
    np.testing.assert_allclose(
        pd.read_parquet(tmp_path / "out.parquet")["score"], expected_scores(model, new_data), rtol=1e-12
    )


def test_missing_column_is_one_line_error_and_leaves_no_output(tmp_path, model_dir, new_data):
    src = write_input(new_data.drop(columns=["num2"]), tmp_path / "new.csv")
    with pytest.raises(ScoringError) as exc:
        predict_file(model_dir, src, tmp_path / "out.csv")
    message = str(exc.value)
    assert message.startswith(f"{src}: column 'num2' is missing; the model expects the columns 'num1', 'num2', 'cat'")
    assert "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_case_mismatch_is_hinted(tmp_path, model_dir, new_data):
    src = write_input(new_data.rename(columns={"num2": "NUM2"}), tmp_path / "new.parquet")
    with pytest.raises(ScoringError, match=r"column 'num2' is missing \(found 'NUM2': names are case-sensitive\)"):
        predict_file(model_dir, src, tmp_path / "out.csv")


def test_numeric_column_with_text_is_named_and_no_output_is_left(tmp_path, model_dir, new_data):
    df = new_data.astype({"num1": object})
    df.loc[150, "num1"] = "abc"
    src = write_input(df, tmp_path / "new.csv")
    out = tmp_path / "out.parquet"
    with pytest.raises(ScoringError) as exc:
        predict_file(model_dir, src, out, chunksize=64)  # the bad row is in the third chunk
    message = str(exc.value)
    assert message.startswith(f"{src}: column 'num1' is numeric in the model but holds text 'abc'")
    assert "first at data row 151" in message
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


@pytest.mark.parametrize("dtype", [object, "str"])
def test_numbers_as_text_with_blanks_score_like_numbers_and_bad_text_is_named(model, new_data, dtype):
    """A numeric column read as text with missing values (pandas 3 gives it the str dtype)
    crashed with AttributeError: 'float' object has no attribute 'lower'."""
    numbers = new_data.copy()
    numbers.loc[[2, 5], "num1"] = np.nan
    text = numbers.astype({"num1": object})
    text["num1"] = [None if pd.isna(v) else repr(float(v)) for v in numbers["num1"]]
    text = text.astype({"num1": dtype})
    assert text["num1"].isna().sum() == 2
    pd.testing.assert_frame_equal(score_frame(model, text), score_frame(model, numbers))
    text.loc[7, "num1"] = "-"
    with pytest.raises(ScoringError, match=r"column 'num1' is numeric in the model but holds text '-' in 1 row\(s\)"):
        score_frame(model, text)


def test_a_decimal_comma_is_named_with_its_fix(model, new_data):
    text = new_data.astype({"num1": object})
    text.loc[4, "num1"] = "0,34"
    with pytest.raises(
        ScoringError,
        match=r"holds text '0,34' in 1 row\(s\) .*; write numbers with a '\.' for decimals and no thousands",
    ):
        score_frame(model, text)


def test_true_false_text_in_a_numeric_column_scores_as_one_and_zero(model, new_data):
    """A boolean column written to CSV comes back as True/False text (blanks where missing)."""
    numbers = new_data.copy()
    numbers["num1"] = [np.nan if i % 7 == 0 else float(i % 2) for i in range(len(numbers))]
    text = numbers.astype({"num1": object})
    text["num1"] = [None if pd.isna(v) else ("True" if v else "false") for v in numbers["num1"]]
    pd.testing.assert_frame_equal(score_frame(model, text), score_frame(model, numbers))


def test_infinite_values_are_refused(model, new_data):
    df = new_data.copy()
    df.loc[3, "num2"] = np.inf
    with pytest.raises(ScoringError, match="column 'num2' holds infinite values in 1 row"):
        score_frame(model, df)


def test_an_existing_output_is_untouched_when_scoring_fails(tmp_path, model_dir, new_data):
    out = tmp_path / "out.csv"
    out.write_text("previous scores\n")
    src = write_input(new_data.drop(columns=["cat"]), tmp_path / "new.csv")
    with pytest.raises(ScoringError, match="column 'cat' is missing"):
        predict_file(model_dir, src, out)
    assert out.read_text() == "previous scores\n"


@pytest.mark.parametrize("out_name", ["out.csv", "out.parquet"])
def test_an_existing_output_is_untouched_when_a_later_chunk_fails(tmp_path, model_dir, new_data, out_name):
    """Two chunks are scored and written to the temporary file before the third fails."""
    out = tmp_path / out_name
    out.write_bytes(b"previous scores\n")
    df = new_data.astype({"num1": object})
    df.loc[150, "num1"] = "abc"
    src = write_input(df, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match="holds text 'abc'"):
        predict_file(model_dir, src, out, chunksize=64)
    assert out.read_bytes() == b"previous scores\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", out_name]


@pytest.mark.parametrize("same", ["same path", "other spelling", "hard link"])
def test_the_input_file_is_never_the_output(tmp_path, model_dir, new_data, same):
    src = write_input(new_data, tmp_path / "new.csv")
    before = src.read_bytes()
    if same == "same path":
        out = src
    elif same == "other spelling":
        out = tmp_path / "sub" / ".." / "new.csv"
        (tmp_path / "sub").mkdir()
    else:
        out = tmp_path / "linked.csv"
        out.hardlink_to(src)
    with pytest.raises(ScoringError, match=r"is the input file; choose another output path"):
        predict_file(model_dir, src, out)
    assert src.read_bytes() == before


def _with_row(df: pd.DataFrame, path: Path, *, row: int, fields: int) -> Path:
    """Write ``df`` as CSV with data row ``row`` (0-based) given one field more (fields=+1) or
    cut to its first ``fields`` fields (fields < 0: that many fewer)."""
    lines = df.to_csv(index=False, lineterminator="\n").splitlines()
    values = lines[row + 1].split(",")
    lines[row + 1] = ",".join(values[:2] + ["7"] + values[2:] if fields == 1 else values[:fields])
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("fields, count", [(1, 6), (-1, 4), (-3, 2)])
def test_a_row_with_more_or_fewer_fields_than_the_header_is_named(tmp_path, model_dir, new_data, fields, count):
    """pandas reads such rows silently when only some columns are read: a stray separator moves
    values into other columns, a short row is padded with missing values."""
    df = new_data[["id", "num1", "num2", "cat", "notes"]]
    src = _with_row(df, tmp_path / "new.csv", row=99, fields=fields)
    with pytest.raises(ScoringError) as exc:
        predict_file(model_dir, src, tmp_path / "out.csv")
    assert str(exc.value) == (
        f"{src}: line 101 has {count} fields, the header 5; fix or remove that row "
        "(a separator inside an unquoted value, or a truncated file)"
    )
    assert not (tmp_path / "out.csv").exists()


def test_a_truncated_compressed_csv_is_named(tmp_path, model_dir, new_data):
    import gzip

    text = new_data.to_csv(index=False, lineterminator="\n")
    cut = text[: text.index("\n", len(text) // 2) + 12]  # the last row ends after a few characters
    src = tmp_path / "new.csv.gz"
    src.write_bytes(gzip.compress(cut.encode()))
    with pytest.raises(ScoringError, match=rf"line {cut.count(chr(10)) + 1} has \d fields, the header 5"):
        predict_file(model_dir, src, tmp_path / "out.csv")


def test_quoted_separators_and_newlines_are_not_field_count_errors(tmp_path, model_dir, model, new_data):
    df = new_data.copy()
    df["notes"] = "a, b\nc"
    src = write_input(df, tmp_path / "new.csv")
    assert '"a, b\nc"' in src.read_text()
    predict_file(model_dir, src, tmp_path / "out.csv")
    out = read_output(tmp_path / "out.csv")
    assert len(out) == len(df)
    np.testing.assert_allclose(out["score"].to_numpy(), expected_scores(model, new_data), rtol=0, atol=1e-15)


@pytest.mark.parametrize("suffix, magic", [(".csv.gz", b"\x1f\x8b"), (".csv.bz2", b"BZh"), (".csv.xz", b"\xfd7zXZ")])
def test_compressed_csv_output_is_compressed(tmp_path, model_dir, model, new_data, suffix, magic):
    src = write_input(new_data, tmp_path / "new.parquet")
    out = tmp_path / f"out{suffix}"
    predict_file(model_dir, src, out, chunksize=100)
    assert out.read_bytes().startswith(magic)
    scores = pd.read_csv(out, dtype={"id": str})
    assert scores["id"].tolist() == new_data["id"].tolist()
    np.testing.assert_allclose(scores["score"].to_numpy(), expected_scores(model, new_data), rtol=0, atol=1e-15)
    again = tmp_path / f"again{suffix}"
    predict_file(model_dir, src, again, chunksize=100)
    assert again.read_bytes() == out.read_bytes()  # no time or temporary file name inside


@pytest.mark.parametrize("name", ["out.csv.zip", "out.csv.zst", "out.parquet.gz"])
def test_compressions_that_are_not_written_are_refused_before_reading(tmp_path, model_dir, new_data, name):
    src = write_input(new_data, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match=rf"{name}: cannot write (CSV|PARQUET) compressed as"):
        predict_file(model_dir, src, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_header_only_input_gives_an_empty_output(tmp_path, model_dir, new_data):
    src = write_input(new_data.iloc[:0], tmp_path / "new.csv")
    summary = predict_file(model_dir, src, tmp_path / "out.csv")
    assert summary["rows"] == 0 and summary["positives"] == 0
    assert list(pd.read_csv(tmp_path / "out.csv").columns) == ["id", "score", "label"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.csv", None, "input file not found"),
        ("data.json", b"{}", "cannot tell the input format from the file name"),
        ("data.parquet", b"a,b\n1,2\n", "cannot read as PARQUET"),
        ("empty.csv", b"", "the file is empty"),
        ("latin1.csv", "num1,num2,cat\n1,2,\xe9t\xe9\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unreadable_inputs_are_one_line_errors_naming_the_file(tmp_path, model_dir, name, content, message):
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    with pytest.raises(ScoringError) as exc:
        predict_file(model_dir, src, tmp_path / "out.csv")
    assert str(exc.value).startswith(f"{src}: ")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "out.csv").exists()


def test_output_format_is_checked_before_reading(tmp_path, model_dir, new_data):
    src = write_input(new_data, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match=r"out\.xlsx: cannot tell the output format"):
        predict_file(model_dir, src, tmp_path / "out.xlsx")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def test_predict_command(tmp_path, model_dir, model, new_data, run_cli):
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


def test_predict_command_with_a_broken_model(tmp_path, new_data, capsys, run_cli):
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
