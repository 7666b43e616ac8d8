"""Unit tests of imbalance_lab.serving.files: reading new data's CSV and Parquet files, writing the scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.errors import ScoringError
from imbalance_lab.serving import predict_file
from imbalance_lab.serving.files import file_format


def test_semicolon_csv_is_read(tmp_path, model_dir, model, new_data, expected_scores):
    src = tmp_path / "new.csv"
    new_data.to_csv(src, index=False, sep=";")
    predict_file(model_dir, src, tmp_path / "out.parquet", chunksize=100)
    np.testing.assert_allclose(
        pd.read_parquet(tmp_path / "out.parquet")["score"], expected_scores(model, new_data), rtol=1e-12
    )


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_compressed_csv_separator_is_sniffed(tmp_path, model_dir, model, new_data, suffix, sep, expected_scores):
    src = tmp_path / f"new{suffix}"
    new_data.to_csv(src, index=False, sep=sep)  # pandas compresses by the suffix
    predict_file(model_dir, src, tmp_path / "out.parquet", chunksize=100)
    np.testing.assert_allclose(
        pd.read_parquet(tmp_path / "out.parquet")["score"], expected_scores(model, new_data), rtol=1e-12
    )


def test_header_only_input_gives_an_empty_output(tmp_path, model_dir, new_data, write_input):
    src = write_input(new_data.iloc[:0], tmp_path / "new.csv")
    summary = predict_file(model_dir, src, tmp_path / "out.csv")
    assert summary["rows"] == 0 and summary["positives"] == 0
    assert list(pd.read_csv(tmp_path / "out.csv").columns) == ["id", "score", "label"]


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


def test_quoted_separators_and_newlines_are_not_field_count_errors(
    tmp_path, model_dir, model, new_data, expected_scores, read_output, write_input
):
    df = new_data.copy()
    df["notes"] = "a, b\nc"
    src = write_input(df, tmp_path / "new.csv")
    assert '"a, b\nc"' in src.read_text()
    predict_file(model_dir, src, tmp_path / "out.csv")
    out = read_output(tmp_path / "out.csv")
    assert len(out) == len(df)
    np.testing.assert_allclose(out["score"].to_numpy(), expected_scores(model, new_data), rtol=0, atol=1e-15)


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


def test_output_format_is_checked_before_reading(tmp_path, model_dir, new_data, write_input):
    src = write_input(new_data, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match=r"out\.xlsx: cannot tell the output format"):
        predict_file(model_dir, src, tmp_path / "out.xlsx")


@pytest.mark.parametrize("name", ["out.csv.zip", "out.csv.zst", "out.parquet.gz"])
def test_compressions_that_are_not_written_are_refused_before_reading(tmp_path, model_dir, new_data, name, write_input):
    src = write_input(new_data, tmp_path / "new.csv")
    with pytest.raises(ScoringError, match=rf"{name}: cannot write (CSV|PARQUET) compressed as"):
        predict_file(model_dir, src, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


@pytest.mark.parametrize("same", ["same path", "other spelling", "hard link"])
def test_the_input_file_is_never_the_output(tmp_path, model_dir, new_data, same, write_input):
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


def test_an_existing_output_is_untouched_when_scoring_fails(tmp_path, model_dir, new_data, write_input):
    out = tmp_path / "out.csv"
    out.write_text("previous scores\n")
    src = write_input(new_data.drop(columns=["cat"]), tmp_path / "new.csv")
    with pytest.raises(ScoringError, match="column 'cat' is missing"):
        predict_file(model_dir, src, out)
    assert out.read_text() == "previous scores\n"


@pytest.mark.parametrize("out_name", ["out.csv", "out.parquet"])
def test_an_existing_output_is_untouched_when_a_later_chunk_fails(tmp_path, model_dir, new_data, out_name, write_input):
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


@pytest.mark.parametrize("suffix, magic", [(".csv.gz", b"\x1f\x8b"), (".csv.bz2", b"BZh"), (".csv.xz", b"\xfd7zXZ")])
def test_compressed_csv_output_is_compressed(
    tmp_path, model_dir, model, new_data, suffix, magic, expected_scores, write_input
):
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


@pytest.mark.parametrize(
    "name, expected",
    [
        ("scores.csv", "csv"),
        ("scores.parquet.csv", "csv"),
        ("scores.csv.parquet", "parquet"),
        ("scores.parquet.csv.gz", "csv"),
        ("scores.v2.pq", "parquet"),
        ("scores.2026.csv.zip", "csv"),
    ],
)
def test_the_last_suffix_decides_the_format(name, expected):
    assert file_format(name, role="output") == expected


@pytest.mark.parametrize("name", ["scores.csv.json", "scores", "scores.gz"])
def test_a_name_whose_last_suffix_is_no_format_is_refused(name):
    with pytest.raises(ScoringError, match="cannot tell the output format"):
        file_format(name, role="output")


def test_parquet_inner_suffix_still_writes_csv(tmp_path, model_dir, model, new_data, expected_scores, write_input):
    src = write_input(new_data, tmp_path / "new.parquet")
    out = tmp_path / "scores.parquet.csv"
    predict_file(model_dir, src, out, chunksize=100)
    assert not out.read_bytes().startswith(b"PAR1")
    scores = pd.read_csv(out, dtype={"id": str})
    np.testing.assert_allclose(scores["score"].to_numpy(), expected_scores(model, new_data), rtol=0, atol=1e-15)
