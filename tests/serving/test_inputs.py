"""Unit tests of imbalance_lab.serving.inputs: new data checked against the model's schema and converted."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from imbalance_lab.errors import DataError, ScoringError
from imbalance_lab.serving import check_input, predict_file, score_frame


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


def test_missing_column_is_one_line_error_and_leaves_no_output(tmp_path, model_dir, new_data, write_input):
    src = write_input(new_data.drop(columns=["num2"]), tmp_path / "new.csv")
    with pytest.raises(ScoringError) as exc:
        predict_file(model_dir, src, tmp_path / "out.csv")
    message = str(exc.value)
    assert message.startswith(f"{src}: column 'num2' is missing; the model expects the columns 'num1', 'num2', 'cat'")
    assert "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_case_mismatch_is_hinted(tmp_path, model_dir, new_data, write_input):
    src = write_input(new_data.rename(columns={"num2": "NUM2"}), tmp_path / "new.parquet")
    with pytest.raises(ScoringError, match=r"column 'num2' is missing \(found 'NUM2': names are case-sensitive\)"):
        predict_file(model_dir, src, tmp_path / "out.csv")


def test_numeric_column_with_text_is_named_and_no_output_is_left(tmp_path, model_dir, new_data, write_input):
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


def test_a_model_with_date_features_scores_raw_rows_with_the_time_column(
    tmp_path, serving_data, fit_model, save_artifact
):
    """prepare.date_features derive <time>_<part> columns; new data in the raw format has only the
    time column, and predict derives them as prepare did."""
    from dataclasses import replace

    from imbalance_lab.data import Schema
    from imbalance_lab.data.times import date_features, parse_times

    X, y = serving_data(n=300, seed=4)
    X["signed_up"] = pd.date_range("2024-01-01", periods=len(X), freq="D").strftime("%Y-%m-%d")
    derived = date_features(
        parse_times(X["signed_up"], column="signed_up", source="t"),
        column="signed_up",
        features=["month", "weekday"],
        source="t",
    )
    train = pd.concat([X, derived], axis=1)
    base = Schema(
        target="y",
        numeric=["num1", "num2", "signed_up_month", "signed_up_weekday"],
        categorical={"cat": list("abcd")},
        features=["num1", "num2", "cat", "signed_up_month", "signed_up_weekday"],
        id_columns=["id"],
    )
    schema = replace(base, time_column="signed_up")
    pipeline = fit_model("logistic_regression", train, y, schema=schema)
    art = save_artifact(tmp_path / "model", pipeline, train, schema=schema)
    raw = tmp_path / "raw.csv"
    X.to_csv(raw, index=False)  # the time column, not the derived features
    predict_file(art, raw, tmp_path / "scores.csv")
    scores = pd.read_csv(tmp_path / "scores.csv")["score"].to_numpy()
    expected = pipeline.predict_proba(train[schema.features])[:, 1]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)
    checked = check_input(X.iloc[:5], schema, source="raw.csv", warn=False)
    assert checked.X["signed_up_month"].tolist() == [1.0] * 5 and "signed_up" not in checked.X
    bad = X.iloc[:5].assign(signed_up="not a date")
    with pytest.raises(
        DataError, match=r"raw\.csv: time column 'signed_up' holds no dates \(first value 'not a date'\)"
    ):
        check_input(bad, schema, source="raw.csv", warn=False)
