"""Unit tests of imbalance_lab.data.target: the binary target and its positive label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data


def test_positive_label_never_occurs(clean_error, frame):
    msg = clean_error(frame(), positive_label="yes")
    assert "'yes'" in msg and "'y'" in msg and "prepare.positive_label" in msg


def test_one_class_only(clean_error, frame):
    msg = clean_error(frame().assign(y=1))
    assert "'y'" in msg and "only one class" in msg


def test_three_classes(clean_error, frame):
    msg = clean_error(frame().assign(y=[1, 0, 2] * 8))
    assert "'y'" in msg and "3 classes" in msg


@pytest.mark.parametrize("positive", [" >50K", ">50K"])
def test_string_labels_with_leading_space(tmp_path, positive, clean, write):
    rows = "".join(f"{20 + i}, {'>50K' if i % 3 == 0 else '<=50K'}\n" for i in range(24))
    _, df = data.read_sources([{"path": write(tmp_path, "adult.csv", "age, income\n" + rows)}], base_dir=tmp_path)
    assert df["income"].iloc[0] == " >50K"  # the raw value keeps its space
    out, schema, _ = clean(df, target="income", positive_label=positive)
    assert out["income"].tolist() == [1, 0, 0] * 8
    assert out["income"].dtype == np.int8


def test_yes_no_labels(clean, frame):
    out, schema, _ = clean(frame().assign(y=["yes", "no", "no"] * 8), positive_label="yes")
    assert out["y"].tolist() == [1, 0, 0] * 8 and out["y"].dtype == np.int8
    assert schema.positive_label == "yes"


def test_negative_class_can_be_the_positive_label(clean, frame):
    out, _, _ = clean(frame().assign(y=["yes", "no", "no"] * 8), positive_label="no", n_splits=2)
    assert out["y"].tolist() == [0, 1, 1] * 8


@pytest.mark.parametrize("values", [[1, 0, 0], ["1", "0", "0"], [1.0, 0.0, 0.0], ["1.0", "0", "0.0"]])
@pytest.mark.parametrize("positive", [1, "1", 1.0])
def test_numeric_labels_match_across_types(values, positive, clean, frame):
    out, schema, _ = clean(frame().assign(y=values * 8), positive_label=positive)
    assert out["y"].tolist() == [1, 0, 0] * 8
    assert out["y"].dtype == np.int8
    assert schema.positive_label == "1"


@pytest.mark.parametrize("positive, quoted", [(True, '"yes"'), (False, '"no"')])
def test_unquoted_yes_no_label_read_as_a_boolean(positive, quoted, clean_error, frame):
    msg = clean_error(frame().assign(y=["yes", "no", "no"] * 8), positive_label=positive)
    assert f"{positive!r} never occurs" in msg and f"quote it in params.yaml: positive_label: {quoted}" in msg


def test_boolean_label_of_numeric_classes_has_no_quoting_hint(clean_error, frame):
    msg = clean_error(frame(), positive_label=True)
    assert "never occurs" in msg and "quote it" not in msg


def test_boolean_labels(clean, frame):
    out, _, _ = clean(frame().assign(y=[True, False, False] * 8), positive_label=True)
    assert out["y"].tolist() == [1, 0, 0] * 8


# --- several labels per side, one-vs-rest, labels spelled two ways ----------------------------


def outcomes() -> pd.Series:
    return pd.Series([">50K", " <=50K", ">50K.", "<=50K.", " >50K", "<=50K", "<=50K"])


def test_label_lists_map_both_spellings():
    m = data.map_target(
        outcomes(), positive_label=[">50K", ">50K."], negative_label=["<=50K", "<=50K."], source="s", target="t"
    )
    assert m.y.tolist() == [1, 0, 1, 0, 1, 0, 0] and m.y.dtype == np.int8
    assert [(r["label"], r["rows"], r["side"]) for r in m.classes] == [
        (" >50K", 1, "positive"),
        (">50K", 1, "positive"),
        (">50K.", 1, "positive"),
        (" <=50K", 1, "negative"),
        ("<=50K", 2, "negative"),
        ("<=50K.", 1, "negative"),
    ]
    assert m.stripped == [" <=50K", " >50K"]


def test_negative_rest_is_one_vs_rest():
    values = pd.Series([1, 2, 3, 2, 1.0, 4])
    m = data.map_target(values, positive_label=2, negative_label="rest", source="s", target="age_class")
    assert m.y.tolist() == [0, 1, 0, 1, 0, 0]
    assert {r["class"]: r["side"] for r in m.classes} == {
        "1": "negative",
        "2": "positive",
        "3": "negative",
        "4": "negative",
    }


def test_a_label_in_neither_list_is_refused_with_its_rows(data_error):
    values = pd.Series(["a", "b", "c", "c", "b"])
    msg = data_error(data.map_target, values, positive_label="a", negative_label=["b"], source="s.csv", target="t")
    assert msg == (
        "s.csv: label(s) 'c' (2 rows) of target column 't' are in neither prepare.positive_label nor "
        "prepare.negative_label; add them to one of the two, or set negative_label: rest"
    )


def test_three_classes_without_negative_label_name_the_options(data_error):
    msg = data_error(data.map_target, pd.Series(["a", "b", "c"]), positive_label="a", source="s", target="t")
    assert "3 classes" in msg and "negative_label: rest" in msg and "map the classes to two" in msg


def test_no_listed_positive_label_occurs(data_error):
    msg = data_error(data.map_target, pd.Series(["a", "b"]), positive_label=["x", "y"], source="s", target="t")
    assert "none of the positive labels ['x', 'y'] occurs in target column 't'" in msg


def test_every_class_positive_is_refused(data_error):
    msg = data_error(data.map_target, pd.Series(["a", "b"]), positive_label=["a", "b"], source="s", target="t")
    assert "every class of target column 't'" in msg and "leave at least one class out" in msg


def test_a_listed_label_that_never_occurs_is_a_warning(caplog):
    values = pd.Series(["a", "b", "a"])
    m = data.map_target(values, positive_label=["a", "a."], negative_label=["b", "b."], source="s", target="t")
    assert m.y.tolist() == [1, 0, 1]
    assert "['a.', 'b.'] listed in params never occur" in caplog.text


def test_describe_target_counts_rows_per_label_and_notes_whitespace():
    m = data.map_target(outcomes(), positive_label=[">50K", ">50K."], negative_label="rest", source="s", target="t")
    text = data.describe_target(m)
    assert text.startswith("Target labels as written in the data, by side: positive: ` >50K` (1 row)")
    assert "negative: ` <=50K` (1 row), `<=50K` (2 rows), `<=50K.` (1 row)." in text
    assert "Surrounding whitespace in labels is ignored: ' <=50K', ' >50K'" in text
    clean = data.map_target(pd.Series(["a", "b"]), positive_label="a", source="s", target="t")
    assert "whitespace" not in data.describe_target(clean)


def test_validate_and_clean_takes_the_label_lists(clean, frame):
    df = frame().assign(y=["yes", "no", "maybe"] * 8)
    out, schema, report = clean(df, positive_label=["yes", "maybe"], negative_label="no")
    assert out["y"].tolist() == [1, 0, 1] * 8 and schema.positive_label == "yes, maybe"
    assert [r["side"] for r in report["target"].classes] == ["positive", "positive", "negative"]
