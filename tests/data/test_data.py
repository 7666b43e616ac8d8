"""Unit tests for imbalance_lab.data with small hand-made files and frames."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data
from imbalance_lab.errors import DataError

# --- helpers -----------------------------------------------------------------------------------


def write(tmp_path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return name


def read(tmp_path, **source) -> pd.DataFrame:
    return data.read_source(source, base_dir=tmp_path)[1]


def data_error(func, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        func(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg, msg
    return msg


def frame(n: int = 24) -> pd.DataFrame:
    """n rows: a numeric and a text feature, target y with every third row positive."""
    return pd.DataFrame(
        {"num": np.arange(n, dtype=float), "cat": ["a", "b", "c"] * (n // 3), "y": [1, 0, 0] * (n // 3)}
    )


def clean(df: pd.DataFrame, **kw):
    args = {
        "source": "src.csv",
        "target": "y",
        "positive_label": 1,
        "categorical": [],
        "drop_columns": [],
        "hash_columns": [],
        "hash_salt": None,
        "drop_duplicates": False,
        "n_splits": 2,
        "test_size": 0.25,
    }
    args.update(kw)
    return data.validate_and_clean(df, **args)


def clean_error(df: pd.DataFrame, **kw) -> str:
    return data_error(clean, df, **kw)


# --- reading CSV -------------------------------------------------------------------------------

SEPARATED = [(",", "data.csv"), (";", "data.csv"), ("\t", "data.tsv")]


@pytest.mark.parametrize("sep, name", SEPARATED)
@pytest.mark.parametrize("options", ["explicit", "auto", "default"])
def test_read_csv_separators_and_quoted_fields(tmp_path, sep, name, options):
    text = f'id{sep}note{sep}y\n1{sep}"a{sep}b"{sep}0\n2{sep}plain{sep}1\n3{sep}"x{sep}y{sep}z"{sep}0\n'
    source = {"path": write(tmp_path, name, text)}
    if options != "default":
        source["options"] = {"sep": sep if options == "explicit" else "auto"}
    df = read(tmp_path, **source)
    assert list(df.columns) == ["id", "note", "y"]
    assert df["note"].tolist() == [f"a{sep}b", "plain", f"x{sep}y{sep}z"]
    assert df["id"].tolist() == [1, 2, 3]


def test_read_csv_strips_column_names(tmp_path):
    df = read(tmp_path, path=write(tmp_path, "d.csv", "age, income\n39, <=50K\n"))
    assert list(df.columns) == ["age", "income"]


def test_wrong_separator_is_one_column(tmp_path):
    name = write(tmp_path, "semi.csv", "a;b;y\n1;2;0\n3;4;1\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": ","})
    assert "semi.csv" in msg and "only one column" in msg and "sep" in msg


def test_single_column_cannot_be_sniffed(tmp_path):
    name = write(tmp_path, "one.csv", "a\n1\n2\n")
    msg = data_error(read, tmp_path, path=name)
    assert "one.csv" in msg and "sep" in msg


def test_unknown_csv_option(tmp_path):
    name = write(tmp_path, "d.csv", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name, options={"delimiter": ","})
    assert "d.csv" in msg and "delimiter" in msg


def test_empty_file(tmp_path):
    name = write(tmp_path, "empty.csv", "")
    msg = data_error(read, tmp_path, path=name)
    assert "empty.csv" in msg and "empty" in msg and "prepare.sources" in msg


def test_header_only_file(tmp_path):
    source, df = data.read_sources([{"path": write(tmp_path, "head.csv", "a,b,y\n")}], base_dir=tmp_path)
    assert len(df) == 0
    msg = clean_error(df, source=source)
    assert "head.csv" in msg and "no data rows" in msg


@pytest.mark.parametrize("header", ["a,b,a,y", "a, a,y"])
def test_duplicate_column_names(tmp_path, header):
    name = write(tmp_path, "dup.csv", f"{header}\n" + ",".join(["1"] * len(header.split(","))) + "\n")
    msg = data_error(read, tmp_path, path=name)
    assert "dup.csv" in msg and "duplicate" in msg and "'a'" in msg


def test_nonexistent_path(tmp_path):
    msg = data_error(read, tmp_path, path="missing/nope.csv")
    assert "missing/nope.csv" in msg and "not found" in msg and "prepare.sources" in msg


def test_unknown_file_extension(tmp_path):
    name = write(tmp_path, "data.xlsx", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name)
    assert "data.xlsx" in msg and "format" in msg


def test_format_overrides_extension(tmp_path):
    df = read(tmp_path, path=write(tmp_path, "data.dump", "a;y\n1;0\n2;1\n"), format="csv")
    assert df["y"].tolist() == [0, 1]


LATIN1 = "name,y\ncaf\xe9,1\nbar,0\n".encode("latin-1")


@pytest.mark.parametrize("options", [{}, {"sep": ","}])
def test_text_not_in_the_encoding(tmp_path, options):
    (tmp_path / "latin.csv").write_bytes(LATIN1)
    msg = data_error(read, tmp_path, path="latin.csv", options=options)
    assert "latin.csv" in msg and "utf-8" in msg and "encoding: latin-1" in msg


def test_undecodable_byte_past_the_sniffed_part(tmp_path):
    (tmp_path / "late.csv").write_bytes(b"a,y\n" + b"1,0\n" * 20000 + "\xe9,1\n".encode("latin-1"))
    msg = data_error(read, tmp_path, path="late.csv")
    assert "late.csv" in msg and "encoding: latin-1" in msg


def test_latin1_file_with_its_encoding(tmp_path):
    (tmp_path / "latin.csv").write_bytes(LATIN1)
    assert read(tmp_path, path="latin.csv", options={"encoding": "latin-1"})["name"].tolist() == ["café", "bar"]


def test_unknown_encoding(tmp_path):
    name = write(tmp_path, "d.csv", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name, options={"encoding": "latin-9x"})
    assert "d.csv" in msg and "'latin-9x'" in msg and "encoding:" in msg


@pytest.mark.parametrize("quotechar", ["''", ""])
def test_quotechar_of_several_characters(tmp_path, quotechar):
    name = write(tmp_path, "d.csv", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": ",", "quotechar": quotechar})
    assert "d.csv" in msg and "quote character" in msg and "quotechar:" in msg


@pytest.mark.parametrize(
    "sep, text", [("::", "a::note::y\n1::x y::0\n2::z::1\n"), (r"\s+", 'a  note y\n1 "x y"  0\n 2 z 1\n')]
)
def test_multi_character_and_regex_separators(tmp_path, sep, text):
    df = read(tmp_path, path=write(tmp_path, "d.txt", text), options={"sep": sep})
    assert list(df.columns) == ["a", "note", "y"]
    assert df["note"].tolist() == ["x y", "z"] and df["y"].tolist() == [0, 1]


def test_duplicate_column_names_with_a_multi_character_separator(tmp_path):
    name = write(tmp_path, "dup.txt", "a::b::a::y\n1::2::3::0\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": "::"})
    assert "dup.txt" in msg and "duplicate" in msg and "'a'" in msg


@pytest.mark.parametrize("where", ["absolute", "../outside.csv", "sub/../../outside.csv"])
def test_path_outside_the_raw_directory(tmp_path, where):
    raw = tmp_path / "raw"
    raw.mkdir()
    write(tmp_path, "outside.csv", "a,y\n1,0\n2,1\n")
    path = str(tmp_path / "outside.csv") if where == "absolute" else where
    msg = data_error(data.read_source, {"path": path}, base_dir=raw)
    assert path in msg and f"outside {raw.as_posix()}/" in msg and "relative to it" in msg


def test_path_with_dots_inside_the_raw_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "d.csv", "a,y\n1,0\n2,1\n")
    assert read(tmp_path, path="sub/../d.csv")["a"].tolist() == [1, 2]


# --- reading Parquet ---------------------------------------------------------------------------


def test_read_parquet(tmp_path):
    expected = pd.DataFrame({"x": [1.5, np.nan, 3.0], "colour": ["red", "blue", None], "y": [0, 1, 0]})
    expected.to_parquet(tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(read(tmp_path, path="d.parquet"), expected, check_dtype=False)


def test_read_parquet_explicit_format(tmp_path):
    pd.DataFrame({"x": [1, 2], "y": [0, 1]}).to_parquet(tmp_path / "d.bin")
    assert read(tmp_path, path="d.bin", format="parquet")["x"].tolist() == [1, 2]


def test_corrupt_parquet(tmp_path):
    name = write(tmp_path, "d.parquet", "a,b\n1,2\n")
    msg = data_error(read, tmp_path, path=name)
    assert "d.parquet" in msg and "Parquet" in msg


# --- reading SQL -------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch):
    db = tmp_path / "db.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table people (age integer, city text, y integer)")
        con.executemany("insert into people values (?, ?, ?)", [(30, "Oslo", 0), (41, "Bergen", 1), (25, None, 0)])
    con.close()
    url = f"sqlite:///{db}"
    monkeypatch.setenv("TEST_LAB_DB_URL", url)
    return url


def test_read_sql_from_env_url(sqlite_url):
    name, df = data.read_source({"query": "select * from people order by age", "url_env": "TEST_LAB_DB_URL"})
    assert "TEST_LAB_DB_URL" in name and sqlite_url not in name
    assert list(df.columns) == ["age", "city", "y"]
    assert df["age"].tolist() == [25, 30, 41]
    assert df["y"].tolist() == [0, 0, 1]


def test_sql_union_with_csv(tmp_path, sqlite_url):
    csv_name = write(tmp_path, "extra.csv", "age,city,y\n50,Tromsø,1\n")
    sources = [{"query": "select * from people order by age", "url_env": "TEST_LAB_DB_URL"}, {"path": csv_name}]
    _, df = data.read_sources(sources, base_dir=tmp_path)
    assert df["age"].tolist() == [25, 30, 41, 50]


def test_sql_env_var_unset(monkeypatch):
    monkeypatch.delenv("TEST_LAB_NO_SUCH_URL", raising=False)
    msg = data_error(data.read_source, {"query": "select 1", "url_env": "TEST_LAB_NO_SUCH_URL"})
    assert "TEST_LAB_NO_SUCH_URL" in msg and "not set" in msg


def test_sql_missing_table_hides_url(sqlite_url, tmp_path):
    msg = data_error(data.read_source, {"query": "select * from nope", "url_env": "TEST_LAB_DB_URL"})
    assert "TEST_LAB_DB_URL" in msg and "failed" in msg
    assert sqlite_url not in msg and str(tmp_path) not in msg


def test_sql_duplicate_column_names(sqlite_url):
    msg = data_error(data.read_source, {"query": "select age, y as age from people", "url_env": "TEST_LAB_DB_URL"})
    assert "duplicate" in msg and "'age'" in msg


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://lab:s3cretpw@127.0.0.1:1/labdb",
        "postgresql+psycopg2://lab:s3cretpw@127.0.0.1:1/labdb",
        "postgresql://lab:s3cretpw@127.0.0.1:notaport/labdb",
        "no-such-scheme-s3cretpw",
        "nosuchdialect://lab:s3cretpw@127.0.0.1:1/labdb",
    ],
)
def test_sql_unreachable_or_bad_url_hides_password(monkeypatch, url):
    monkeypatch.setenv("TEST_LAB_PG_URL", url)
    msg = data_error(data.read_source, {"query": "select 1", "url_env": "TEST_LAB_PG_URL"})
    assert "TEST_LAB_PG_URL" in msg
    assert "s3cretpw" not in msg and "127.0.0.1" not in msg and "labdb" not in msg


def test_sql_missing_driver_is_a_data_error(monkeypatch):
    monkeypatch.setenv("TEST_LAB_MY_URL", "mysql+mysqldb://lab:s3cretpw@127.0.0.1:1/labdb")
    msg = data_error(data.read_source, {"query": "select 1", "url_env": "TEST_LAB_MY_URL"})
    assert "driver" in msg and "s3cretpw" not in msg


# --- union of sources --------------------------------------------------------------------------


def test_union_of_sources(tmp_path):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n2,blue,1\n")
    b = write(tmp_path, "b.csv", "colour;y;x\ngreen;0;3\n")
    pd.DataFrame({"x": [4], "colour": ["red"], "y": [1]}).to_parquet(tmp_path / "c.parquet")
    name, df = data.read_sources([{"path": a}, {"path": b}, {"path": "c.parquet"}], base_dir=tmp_path)
    assert name == "a.csv + b.csv + c.parquet"
    assert list(df.columns) == ["x", "colour", "y"]
    assert df["x"].tolist() == [1, 2, 3, 4]
    assert df["colour"].tolist() == ["red", "blue", "green", "red"]
    assert df.index.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "second, column",
    [("x,y\n1,0\n", "colour"), ("x,colour,y,extra\n1,red,0,9\n", "extra")],
)
def test_union_column_mismatch(tmp_path, second, column):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n")
    b = write(tmp_path, "b.csv", second)
    msg = data_error(data.read_sources, [{"path": a}, {"path": b}], base_dir=tmp_path)
    assert "b.csv" in msg and "a.csv" in msg and column in msg and "schema" in msg


def test_union_numeric_vs_text(tmp_path):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n")
    b = write(tmp_path, "b.csv", "x,colour,y\none,red,0\n")
    msg = data_error(data.read_sources, [{"path": a}, {"path": b}], base_dir=tmp_path)
    assert "b.csv" in msg and "'x'" in msg and "text" in msg and "numeric" in msg


def test_union_of_a_boolean_column_with_and_without_blanks(tmp_path):
    """Without blanks pandas reads True/False as booleans, with blanks as text: they clashed."""
    a = write(tmp_path, "a.csv", "flag,colour,y\n" + "True,red,0\nFalse,blue,1\n" * 6)
    b = write(tmp_path, "b.csv", "flag,colour,y\n" + ",red,0\nTrue,red,1\n" * 6)
    name, df = data.read_sources([{"path": a}, {"path": b}], base_dir=tmp_path)
    out, schema, _ = clean(df, source=name, target="y")
    assert out["flag"].dtype == np.float64 and "flag" in schema.numeric
    assert out["flag"].tolist()[:2] == [1.0, 0.0] and np.isnan(out["flag"].iloc[12]) and out["flag"].iloc[13] == 1.0
    # declared categorical, the values stay True/False, with one source or two
    one = clean(data.read_sources([{"path": a}], base_dir=tmp_path)[1], categorical=["flag"])
    two = clean(df, categorical=["flag"])
    assert one[1].categorical["flag"] == two[1].categorical["flag"] == ["False", "True"]


def test_a_list_column_in_two_sources_is_one_line(tmp_path):
    for name in ("a", "b"):
        frame().assign(tags=[[1, 2]] * 24).to_parquet(tmp_path / f"{name}.parquet")
    name, df = data.read_sources([{"path": "a.parquet"}, {"path": "b.parquet"}], base_dir=tmp_path)
    assert "column 'tags' holds ndarray values" in clean_error(df, source=name)


def test_union_accepts_an_all_empty_column(tmp_path):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n")
    b = write(tmp_path, "b.csv", "x,colour,y\n2,,1\n")
    _, df = data.read_sources([{"path": a}, {"path": b}], base_dir=tmp_path)
    assert df["colour"].iloc[0] == "red" and pd.isna(df["colour"].iloc[1])


# --- validation errors -------------------------------------------------------------------------


def test_target_missing():
    msg = clean_error(frame(), target="Y")
    assert "src.csv" in msg and "'Y'" in msg and "prepare.target" in msg and "did you mean 'y'" in msg


def test_positive_label_never_occurs():
    msg = clean_error(frame(), positive_label="yes")
    assert "'yes'" in msg and "'y'" in msg and "prepare.positive_label" in msg


def test_one_class_only():
    msg = clean_error(frame().assign(y=1))
    assert "'y'" in msg and "only one class" in msg


def test_three_classes():
    msg = clean_error(frame().assign(y=[1, 0, 2] * 8))
    assert "'y'" in msg and "3 classes" in msg


def test_too_few_positives_for_n_splits():
    msg = clean_error(frame(), n_splits=7)  # 8 positives, 6 in training
    assert "src.csv" in msg and "8 positive" in msg and "prepare.n_splits" in msg


def test_too_few_negatives_for_n_splits():
    df = frame().assign(y=[1] * 21 + [0] * 3)
    msg = clean_error(df, n_splits=5, test_size=0.2)
    assert "3 negative" in msg and "prepare.n_splits" in msg


def test_enough_positives_passes():
    _, _, report = clean(frame(), n_splits=6)  # 8 positives, 6 in training
    assert report["positives"] == 8


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, np.array([0.5, 1.5])])
def test_a_column_of_lists_or_mappings_is_one_line(value):
    """A Parquet list column failed in the notebook with 'The truth value of an array ...'."""
    df = frame().assign(tags=[None, value] + [value] * 22)
    msg = clean_error(df)
    assert msg.startswith(f"src.csv: column 'tags' holds {type(value).__name__} values (first at data row 2)")
    assert "prepare.drop_columns" in msg


def test_a_parquet_list_column_end_to_end(tmp_path):
    frame().assign(tags=[[i, i + 1] for i in range(24)]).to_parquet(tmp_path / "d.parquet")
    name, df = data.read_source({"path": "d.parquet"}, base_dir=tmp_path)
    assert "holds ndarray values (first at data row 1)" in clean_error(df, source=name)


def test_options_on_a_parquet_source_are_refused(tmp_path):
    frame().to_parquet(tmp_path / "d.parquet")
    msg = data_error(data.read_source, {"path": "d.parquet", "options": {"sep": "auto"}}, base_dir=tmp_path)
    assert (
        msg
        == "d.parquet: options (sep) apply to CSV sources only; remove them from this Parquet source in prepare.sources"
    )


def test_all_empty_column():
    msg = clean_error(frame().assign(blank=np.nan))
    assert "'blank'" in msg and "prepare.drop_columns" in msg


def test_numeric_column_holding_some_text():
    df = frame().assign(num=[str(i) for i in range(23)] + ["n/a?"])
    msg = clean_error(df)
    assert "'num'" in msg and "'n/a?'" in msg and "prepare.categorical" in msg


def test_numbers_with_a_placeholder_for_missing_name_the_na_values_option():
    """10 % '?' in a measurement: it became a categorical with a level per number."""
    values = [f"{i * 0.37:.2f}" for i in range(90)] + ["?"] * 10
    df = pd.DataFrame({"x": values, "y": [1, 0, 0, 0] * 25})
    msg = clean_error(df)
    assert msg.startswith("src.csv: column 'x' is numeric but holds text '?' in 10 row(s) (first at data row 91)")
    assert "na_values: ['?']" in msg and "prepare.categorical" in msg
    # so does a single stray value among numbers, with the fix for it
    msg = clean_error(frame().assign(num=[str(i) for i in range(23)] + ["-"]))
    assert "na_values: ['-']" in msg


def test_true_false_text_with_blanks_is_numeric_like_booleans():
    """A boolean column written to CSV with blanks is read back as text: it was categorical, the
    same column without blanks numeric (and two such sources clashed)."""
    with_blanks, _, _ = clean(frame().assign(flag=["True", "false", None, " TRUE"] * 6))
    assert with_blanks["flag"].dtype == np.float64
    assert with_blanks["flag"].tolist()[:4][:2] == [1.0, 0.0] and np.isnan(with_blanks["flag"].iloc[2])
    without, schema, _ = clean(frame().assign(flag=[True, False, True, True] * 6))
    assert "flag" in schema.numeric
    assert with_blanks["flag"].fillna(1.0).tolist() == without["flag"].tolist()


def test_mostly_text_column_is_categorical_not_an_error():
    df = frame().assign(code=[str(i % 4) for i in range(20)] + ["x", "y", "x", "y"])
    out, schema, _ = clean(df)
    assert "code" in schema.categorical


def test_infinite_values():
    df = frame().assign(num=[np.inf] + list(range(22)) + [-np.inf])
    msg = clean_error(df)
    assert "'num'" in msg and "infinite" in msg and "2 row" in msg


def test_categorical_identifier_column():
    df = frame(27).assign(ref=[f"R{i:03d}" for i in range(27)])
    msg = clean_error(df)
    assert "'ref'" in msg and "prepare.drop_columns" in msg and "prepare.hash_columns" in msg


def test_small_distinct_text_column_is_not_an_identifier():
    df = frame(12).assign(ref=[f"R{i:03d}" for i in range(12)])
    _, schema, _ = clean(df, n_splits=2, test_size=0.25)
    assert "ref" in schema.categorical


def test_sparse_text_column_with_one_value_is_not_an_identifier():
    df = frame().assign(note=["seen"] + [None] * 23)
    _, schema, _ = clean(df)
    assert schema.categorical["note"] == ["seen"]


@pytest.mark.parametrize(
    "values, option",
    [
        (["5,5", "12,25", "7", None], '{decimal: ","}'),  # some plain integers parse already
        (["5,5", "12,25", "7,0", "0,125"], '{decimal: ","}'),  # none parse as they are
        (["1,234,567", "2,000,000", "300", None], '{thousands: ","}'),
        (["1.234,5", "2.000,25", "3,5", None], '{decimal: ",", thousands: "."}'),
    ],
)
def test_numbers_with_commas(tmp_path, values, option):
    rows = "".join(f"{'' if v is None else v};{i % 3 == 0:d}\n" for i, v in enumerate(values * 6))
    source, df = data.read_sources(
        [{"path": write(tmp_path, "comma.csv", "amount;y\n" + rows), "options": {"sep": ";"}}], base_dir=tmp_path
    )
    msg = clean_error(df, source=source)
    assert "comma.csv" in msg and "'amount'" in msg and f"options: {option}" in msg and "prepare.categorical" in msg


def test_numbers_with_a_decimal_comma_read_with_the_option(tmp_path):
    rows = "".join(f"{v};{i % 3 == 0:d}\n" for i, v in enumerate(["5,5", "12,25", "7"] * 8))
    df = read(tmp_path, path=write(tmp_path, "comma.csv", "amount;y\n" + rows), options={"sep": ";", "decimal": ","})
    out, schema, _ = clean(df)
    assert "amount" in schema.numeric and out["amount"].tolist()[:3] == [5.5, 12.25, 7.0]


@pytest.mark.parametrize("values", [["A-7", "B-2", "C-9"], ["yes", "no", "maybe"], ["red, blue", "red", "1,5"]])
def test_text_columns_are_not_numbers_with_commas(values):
    _, schema, _ = clean(frame().assign(code=values * 8))
    assert "code" in schema.categorical


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(pd.date_range("2024-01-01", periods=3, freq="D")),
        pd.Series(pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Oslo")),
        pd.Series(pd.to_timedelta([1, 2, 3], unit="D")),
        pd.Series([pd.Timestamp("2024-01-01").date(), None, pd.Timestamp("2024-03-01").date()], dtype=object),
    ],
)
def test_date_and_time_columns(values):
    df = frame().assign(when=pd.concat([values] * 8, ignore_index=True))
    msg = clean_error(df)
    assert "'when'" in msg and "prepare.drop_columns" in msg and "numeric features" in msg


@pytest.mark.parametrize(
    "text",
    [
        ["2024-01-05", "2024-02-11", None],
        ["05/01/2024", "11/02/2024", "01/03/2024"],
        ["2024-01-05 08:30", "2024-01-05T17:45:10Z", "2024-02-11"],
        ["08:30", "17:45", "23:59:59"],
    ],
)
def test_dates_and_times_written_as_text_are_date_columns(text):
    """A CSV's dates arrive as text: without this check they became a categorical of dates (or,
    all different, an 'identifier')."""
    df = frame().assign(when=pd.Series(text * 8, dtype="string"))
    msg = clean_error(df)
    assert f"column 'when' holds dates or times (text such as '{text[0]}')" in msg
    assert "prepare.drop_columns" in msg and "prepare.categorical" in msg
    _, schema, _ = clean(df, categorical=["when"])
    assert "when" in schema.categorical


@pytest.mark.parametrize(
    "text",
    [
        ["25-34", "35-44", "45-54"],
        ["3/5", "1/2", "2/3"],
        ["v1.2.10", "v1.3.0", "v2.0.1"],
        ["2024-01-05", "2024-02-11", "unknown"],
    ],
)
def test_text_that_only_partly_looks_like_dates_stays_categorical(text):
    _, schema, _ = clean(frame().assign(band=pd.Series(text * 8, dtype=object)))
    assert sorted(schema.categorical["band"]) == sorted(text)


def test_date_column_declared_categorical_is_a_category():
    when = pd.Series(pd.date_range("2024-01-01", periods=3, freq="MS"))
    _, schema, _ = clean(frame().assign(when=pd.concat([when] * 8, ignore_index=True)), categorical=["when"])
    assert schema.categorical["when"] == ["2024-01-01 00:00:00", "2024-02-01 00:00:00", "2024-03-01 00:00:00"]


def test_pandas_categorical_with_numeric_categories_is_categorical():
    out, schema, _ = clean(frame().assign(code=pd.Categorical([3, 1, 2] * 8)))
    assert schema.categorical["code"] == ["1", "2", "3"] and "code" not in schema.numeric
    assert isinstance(out["code"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("key", ["categorical", "drop_columns", "hash_columns"])
def test_declared_column_missing(key):
    msg = clean_error(frame(), **{key: ["nope"]}, hash_salt="salt")
    assert "'nope'" in msg and f"prepare.{key}" in msg


def test_target_declared_as_feature():
    msg = clean_error(frame(), categorical=["y"])
    assert "'y'" in msg and "prepare.categorical" in msg


def test_hash_columns_without_salt():
    df = frame().assign(cust=[f"C{i}" for i in range(24)])
    msg = clean_error(df, hash_columns=["cust"], hash_salt=None)
    assert "prepare.hash_columns" in msg and "prepare.hash_salt_env" in msg


def test_column_both_dropped_and_hashed():
    df = frame().assign(cust=[f"C{i}" for i in range(24)])
    msg = clean_error(df, hash_columns=["cust"], drop_columns=["cust"], hash_salt="s")
    assert "'cust'" in msg and "prepare.drop_columns" in msg and "prepare.hash_columns" in msg


# --- labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("positive", [" >50K", ">50K"])
def test_string_labels_with_leading_space(tmp_path, positive):
    rows = "".join(f"{20 + i}, {'>50K' if i % 3 == 0 else '<=50K'}\n" for i in range(24))
    _, df = data.read_sources([{"path": write(tmp_path, "adult.csv", "age, income\n" + rows)}], base_dir=tmp_path)
    assert df["income"].iloc[0] == " >50K"  # the raw value keeps its space
    out, schema, _ = clean(df, target="income", positive_label=positive)
    assert out["income"].tolist() == [1, 0, 0] * 8
    assert out["income"].dtype == np.int8


def test_yes_no_labels():
    out, schema, _ = clean(frame().assign(y=["yes", "no", "no"] * 8), positive_label="yes")
    assert out["y"].tolist() == [1, 0, 0] * 8 and out["y"].dtype == np.int8
    assert schema.positive_label == "yes"


def test_negative_class_can_be_the_positive_label():
    out, _, _ = clean(frame().assign(y=["yes", "no", "no"] * 8), positive_label="no", n_splits=2)
    assert out["y"].tolist() == [0, 1, 1] * 8


@pytest.mark.parametrize("values", [[1, 0, 0], ["1", "0", "0"], [1.0, 0.0, 0.0], ["1.0", "0", "0.0"]])
@pytest.mark.parametrize("positive", [1, "1", 1.0])
def test_numeric_labels_match_across_types(values, positive):
    out, schema, _ = clean(frame().assign(y=values * 8), positive_label=positive)
    assert out["y"].tolist() == [1, 0, 0] * 8
    assert out["y"].dtype == np.int8
    assert schema.positive_label == "1"


@pytest.mark.parametrize("positive, quoted", [(True, '"yes"'), (False, '"no"')])
def test_unquoted_yes_no_label_read_as_a_boolean(positive, quoted):
    msg = clean_error(frame().assign(y=["yes", "no", "no"] * 8), positive_label=positive)
    assert f"{positive!r} never occurs" in msg and f"quote it in params.yaml: positive_label: {quoted}" in msg


def test_boolean_label_of_numeric_classes_has_no_quoting_hint():
    msg = clean_error(frame(), positive_label=True)
    assert "never occurs" in msg and "quote it" not in msg


def test_boolean_labels():
    out, _, _ = clean(frame().assign(y=[True, False, False] * 8), positive_label=True)
    assert out["y"].tolist() == [1, 0, 0] * 8


# --- cleaning ----------------------------------------------------------------------------------


def test_clean_output_and_schema():
    out, schema, report = clean(frame())
    assert list(out.columns) == ["num", "cat", "y"]
    assert schema.numeric == ["num"] and schema.features == ["num", "cat"]
    assert report["rows_read"] == 24 and report["rows"] == 24 and report["positives"] == 8


@pytest.mark.parametrize(
    "name, values, why",
    [
        ("Unnamed: 0", list(range(24)), "pandas gives an unnamed column"),
        ("customer_no", [1000 + (i * 7) % 24 for i in range(24)], "numbers the rows"),  # shuffled, no gaps
        ("account", [float(5 + i) if i != 3 else np.nan for i in range(24)], None),  # a gap where one is missing
        ("tenure", [i // 2 for i in range(24)], None),  # repeats
        ("amount", [i * 1.5 for i in range(24)], None),  # not whole numbers
    ],
)
def test_columns_that_number_the_rows_are_reported(caplog, name, values, why):
    """A row index written by to_csv, on data sorted by the target, gave AP = 1.0 without a word."""
    with caplog.at_level("WARNING", logger="imbalance_lab.data"):
        out, schema, report = clean(frame().assign(num=np.arange(24) * 0.5, **{name: values}))
    assert name in schema.numeric  # still a feature: it may be one
    if why:
        assert report["suspected_identifiers"] == [name]
        assert why in caplog.text and f"'{name}'" in caplog.text and "prepare.drop_columns" in caplog.text
    else:
        assert report["suspected_identifiers"] == [] and not caplog.text


def test_constant_columns_dropped_and_reported():
    out, schema, report = clean(frame().assign(k=5.0, t="same"))
    assert "k" not in out.columns and "t" not in out.columns
    assert report["constant_columns_dropped"] == ["k", "t"]
    assert {"k", "t"} <= set(schema.dropped_columns)


def test_text_column_with_one_value_and_blanks_is_kept():
    df = frame().assign(flag=["on", None, None] * 8)
    out, schema, _ = clean(df)
    assert schema.categorical["flag"] == ["on"] and out["flag"].isna().sum() == 16


@pytest.mark.parametrize("drop", [False, True])
def test_duplicates_counted_and_dropped_only_when_asked(drop):
    df = pd.concat([frame(), frame().iloc[[0, 1, 4]]], ignore_index=True)
    out, _, report = clean(df, drop_duplicates=drop)
    assert report["duplicate_rows"] == 3
    assert report["duplicate_rows_dropped"] == (3 if drop else 0)
    assert len(out) == (24 if drop else 27) == report["rows"]
    assert out.duplicated().sum() == (0 if drop else 3)
    assert out.index.tolist() == list(range(len(out)))


def test_rows_with_missing_target_dropped_and_counted():
    df = frame().astype({"y": float})
    df.loc[[1, 5], "y"] = np.nan
    out, _, report = clean(df)
    assert report["rows_missing_target"] == 2 and report["rows_read"] == 24
    assert len(out) == 22 and 1.0 not in out["num"].tolist() and 5.0 not in out["num"].tolist()
    assert out["y"].sum() == 8


def test_drop_columns_never_in_output():
    df = frame().assign(email=[f"user{i}@example.org" for i in range(24)])
    out, schema, _ = clean(df, drop_columns=["email"])
    assert "email" not in out.columns and "email" not in schema.features
    assert "email" in schema.dropped_columns
    assert not out.astype(str).apply(lambda c: c.str.contains("@example.org")).any().any()


def test_hash_columns_replaced_by_salted_hash():
    ids = [f"CUST-{i:04d}" for i in range(24)]
    df = frame().assign(cust=ids)
    out_a, schema, _ = clean(df, hash_columns=["cust"], hash_salt="salt-a")
    out_a2, _, _ = clean(df, hash_columns=["cust"], hash_salt="salt-a")
    out_b, _, _ = clean(df, hash_columns=["cust"], hash_salt="salt-b")
    assert schema.id_columns == ["cust"] and "cust" not in schema.features
    assert out_a["cust"].tolist() == out_a2["cust"].tolist()  # deterministic
    assert out_a["cust"].nunique() == 24
    assert not set(out_a["cust"]) & set(out_b["cust"])  # another salt, other hashes
    text = out_a.astype(str).to_numpy().ravel()
    assert not any(i in cell for cell in text for i in ids)  # the raw id is nowhere
    assert not any("CUST" in str(c) for c in out_a.columns.difference(["cust"]))


def test_text_columns_become_sorted_categoricals():
    df = frame().assign(fruit=["pear", " apple", "fig", None] * 6)
    out, schema, _ = clean(df)
    assert isinstance(out["fruit"].dtype, pd.CategoricalDtype)
    assert list(out["fruit"].cat.categories) == ["apple", "fig", "pear"]
    assert schema.categorical["fruit"] == ["apple", "fig", "pear"]
    assert out["fruit"].isna().sum() == 6 and out["fruit"].iloc[1] == "apple"


def test_declared_numeric_column_becomes_categorical():
    out, schema, _ = clean(frame().assign(code=[3, 1, 2, 10] * 6), categorical=["code"])
    assert isinstance(out["code"].dtype, pd.CategoricalDtype)
    assert schema.categorical["code"] == ["1", "10", "2", "3"]
    assert "code" not in schema.numeric


def test_numeric_strings_become_float():
    df = frame().assign(score=[" 1.5", "2", None, "-3e2"] * 6)
    out, schema, _ = clean(df)
    assert out["score"].dtype == np.float64
    first = out["score"].tolist()[:4]
    assert first[0] == 1.5 and first[1] == 2.0 and np.isnan(first[2]) and first[3] == -300.0
    assert "score" in schema.numeric


def test_boolean_column_becomes_float():
    out, _, _ = clean(frame().assign(flag=[True, False] * 12))
    assert out["flag"].dtype == np.float64 and out["flag"].tolist()[:2] == [1.0, 0.0]


# --- holdout split -----------------------------------------------------------------------------


def labelled(n: int = 200, positives: int = 20) -> pd.DataFrame:
    y = np.zeros(n, dtype="int8")
    y[np.linspace(0, n - 1, positives).astype(int)] = 1
    return pd.DataFrame({"row": np.arange(n), "y": y})


@pytest.mark.parametrize("seed", range(8))
def test_split_holdout_is_stratified_disjoint_and_covering(seed):
    df = labelled()
    train, test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=seed)
    assert len(test) == 50 and len(train) == 150
    assert abs(int(test["y"].sum()) - 5) <= 1 and abs(int(train["y"].sum()) - 15) <= 1
    assert not set(train["row"]) & set(test["row"])
    assert sorted([*train["row"], *test["row"]]) == list(range(200))
    assert train["row"].is_monotonic_increasing and test["row"].is_monotonic_increasing
    assert train.index.tolist() == list(range(150))


def test_split_holdout_depends_on_seed_only():
    df = labelled()
    a_train, a_test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=7)
    b_train, b_test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=7)
    _, c_test = data.split_holdout(df, target="y", test_size=0.25, n_splits=2, source="s.csv", seed=8)
    pd.testing.assert_frame_equal(a_train, b_train)
    pd.testing.assert_frame_equal(a_test, b_test)
    assert set(a_test["row"]) != set(c_test["row"])


def test_split_holdout_class_without_a_test_row():
    """validate_and_clean's estimate gives the 7 positives a test row; scikit-learn's rounding does not."""
    df = pd.DataFrame({"x": np.arange(1000.0), "y": [1] * 7 + [0] * 993})
    out, _, _ = clean(df, n_splits=5, test_size=0.05)  # the early check passes
    msg = data_error(data.split_holdout, out, target="y", test_size=0.05, seed=42, n_splits=5, source="src.csv")
    assert "src.csv" in msg and "0 of the 7 positive" in msg and "test_size=0.05" in msg
    assert "raise prepare.test_size" in msg and "add positive rows" in msg


def test_split_holdout_class_with_too_few_training_rows():
    msg = data_error(data.split_holdout, labelled(), target="y", test_size=0.25, seed=0, n_splits=16, source="src.csv")
    assert "src.csv" in msg and "positive" in msg and "prepare.n_splits=16" in msg and "lower prepare.n_splits" in msg


def test_split_holdout_test_part_smaller_than_the_classes():
    df = labelled(30, 10)
    msg = data_error(data.split_holdout, df, target="y", test_size=0.02, seed=0, n_splits=2, source="src.csv")
    assert "src.csv" in msg and "test_size=0.02" in msg and "raise prepare.test_size" in msg


# --- folds -------------------------------------------------------------------------------------


def test_make_folds_assigns_each_row_once_per_repeat():
    y = labelled(100, 23)["y"]
    folds = data.make_folds(y, n_splits=5, n_repeats=3, seed=0)
    assert list(folds.columns) == ["repeat_0", "repeat_1", "repeat_2"] and len(folds) == 100
    for col in folds.columns:
        assert sorted(folds[col].unique()) == [0, 1, 2, 3, 4]
        assert folds[col].value_counts().tolist() == [20] * 5
        per_fold = y.groupby(folds[col].to_numpy()).sum()
        assert per_fold.max() - per_fold.min() <= 1 and per_fold.sum() == 23


def test_make_folds_deterministic_and_repeats_differ():
    y = labelled(100, 23)["y"]
    a = data.make_folds(y, n_splits=5, n_repeats=3, seed=0)
    pd.testing.assert_frame_equal(a, data.make_folds(y.to_numpy(), n_splits=5, n_repeats=3, seed=0))
    assert not a.equals(data.make_folds(y, n_splits=5, n_repeats=3, seed=1))
    assert not (a["repeat_0"] == a["repeat_1"]).all()
    assert not (a["repeat_1"] == a["repeat_2"]).all()


def test_iter_splits_train_and_validation_partition_rows():
    y = labelled(60, 12)["y"]
    folds = data.make_folds(y, n_splits=3, n_repeats=2, seed=3)
    splits = list(data.iter_splits(folds))
    assert [(r, k) for r, k, _, _ in splits] == [(r, k) for r in range(2) for k in range(3)]
    for r, k, train, val in splits:
        assert not set(train) & set(val)
        assert sorted([*train, *val]) == list(range(60))
        assert (folds[f"repeat_{r}"].to_numpy()[val] == k).all()


# --- split_xy ----------------------------------------------------------------------------------


def test_split_xy_categoricals_become_object_with_nan():
    out, schema, _ = clean(frame().assign(fruit=["pear", None, "fig"] * 8))
    X, y = data.split_xy(out, schema)
    assert list(X.columns) == schema.features and "y" not in X.columns
    assert X["fruit"].dtype == object and X["cat"].dtype == object
    assert X["fruit"].iloc[0] == "pear"
    missing = X["fruit"].iloc[1]
    assert isinstance(missing, float) and np.isnan(missing)
    assert X["num"].dtype == np.float64
    assert y.tolist() == [1, 0, 0] * 8 and np.issubdtype(y.dtype, np.integer)


# --- per-value mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([" a", None, "b ", " a", np.nan, "c"], dtype=object),
        pd.Series(pd.Categorical(["x ", None, "y", "x "])),
        pd.Series([1.0, np.nan, 2.5, 1.0]),
        pd.Series([1, 1.0, True, "1", None, " 1 "], dtype=object),  # mixed types: 1, 1.0 and True stay apart
    ],
)
def test_map_distinct_equals_a_per_row_map(values):
    from imbalance_lab.data.target import norm_label as _norm_label
    from imbalance_lab.data.values import map_distinct as _map_distinct
    from imbalance_lab.data.values import strip_text as _strip_text

    for func in (_strip_text, _norm_label):
        expected = [None if pd.isna(v) else func(v) for v in values]
        got = _map_distinct(values, func)
        assert got.index.equals(values.index)
        assert got.tolist() == expected
