"""Unit tests of imbalance_lab.data.target: the binary target and its positive label."""

from __future__ import annotations

import numpy as np
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
