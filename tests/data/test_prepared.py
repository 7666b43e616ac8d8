"""Unit tests of imbalance_lab.data.prepared: the prepared-data directory, written as a whole."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from imbalance_lab import data


@pytest.fixture
def prepared(make_dataset):
    X, y, schema = make_dataset(60, ids=True)
    rows = X.assign(**{schema.target: y})
    train, test = rows.iloc[:45].reset_index(drop=True), rows.iloc[45:].reset_index(drop=True)
    folds = data.make_folds(train[schema.target], n_splits=3, n_repeats=2, seed=1)
    return data.PreparedData(train, folds, schema.replace(n_splits=3, n_repeats=2), test=test)


def test_what_is_written_is_read_back(tmp_path, prepared):
    directory = tmp_path / "prepared"
    assert data.write_prepared(directory, prepared, summary={"rows": 60}) == directory
    assert sorted(os.listdir(directory)) == sorted(data.PREPARED_FILES.values())
    back = data.read_prepared(directory, test=True)
    pd.testing.assert_frame_equal(back.train, prepared.train, check_dtype=False)  # text may come back as str
    pd.testing.assert_frame_equal(back.test, prepared.test, check_dtype=False)
    pd.testing.assert_frame_equal(back.folds, prepared.folds)
    assert back.schema == prepared.schema
    assert data.read_prepared_summary(directory) == {"rows": 60}


def test_the_test_rows_are_read_only_when_asked(tmp_path, prepared):
    data.write_prepared(tmp_path / "p", prepared, summary={})
    assert data.read_prepared(tmp_path / "p").test is None


def test_the_same_data_gives_the_same_bytes(tmp_path, prepared):
    data.write_prepared(tmp_path / "a", prepared, summary={"rows": 60})
    data.write_prepared(tmp_path / "b", prepared, summary={"rows": 60})
    for name in data.PREPARED_FILES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_failed_write_leaves_the_old_directory_whole(tmp_path, prepared):
    directory = tmp_path / "prepared"
    data.write_prepared(directory, prepared, summary={"rows": 60})
    before = {name: (directory / name).read_bytes() for name in os.listdir(directory)}
    broken = data.PreparedData(prepared.train, prepared.folds, prepared.schema, test=object())  # not a frame
    with pytest.raises(AttributeError):
        data.write_prepared(directory, broken, summary={"rows": 1})
    assert {name: (directory / name).read_bytes() for name in os.listdir(directory)} == before
    assert sorted(os.listdir(tmp_path)) == ["prepared"]  # no temporary directory left


def test_writing_needs_the_test_rows(tmp_path, prepared):
    with pytest.raises(ValueError, match="test rows"):
        data.write_prepared(
            tmp_path / "p", data.PreparedData(prepared.train, prepared.folds, prepared.schema), summary={}
        )
    assert not (tmp_path / "p").exists()


def test_prepared_file_names_each_part():
    assert str(data.prepared_file("data/prepared", "folds")) == "data/prepared/folds.parquet"
    with pytest.raises(ValueError, match="unknown part 'labels'"):
        data.prepared_file("data/prepared", "labels")
