"""Unit tests of imbalance_lab.data.sources: reading CSV, Parquet and SQL sources and their union."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import data
from imbalance_lab.data.sources import header_like_data


@pytest.fixture(scope="session")
def read():
    """``read(directory, **source) -> DataFrame``: :func:`imbalance_lab.data.read_source` of one
    source relative to ``directory``."""

    def read(directory, **source) -> pd.DataFrame:
        return data.read_source(source, base_dir=directory)[1]

    return read


SEPARATED = [(",", "data.csv"), (";", "data.csv"), ("\t", "data.tsv")]


@pytest.mark.parametrize("sep, name", SEPARATED)
@pytest.mark.parametrize("options", ["explicit", "auto", "default"])
def test_read_csv_separators_and_quoted_fields(tmp_path, sep, name, options, read, write):
    text = f'id{sep}note{sep}y\n1{sep}"a{sep}b"{sep}0\n2{sep}plain{sep}1\n3{sep}"x{sep}y{sep}z"{sep}0\n'
    source = {"path": write(tmp_path, name, text)}
    if options != "default":
        source["options"] = {"sep": sep if options == "explicit" else "auto"}
    df = read(tmp_path, **source)
    assert list(df.columns) == ["id", "note", "y"]
    assert df["note"].tolist() == [f"a{sep}b", "plain", f"x{sep}y{sep}z"]
    assert df["id"].tolist() == [1, 2, 3]


def test_read_csv_strips_column_names(tmp_path, read, write):
    df = read(tmp_path, path=write(tmp_path, "d.csv", "age, income\n39, <=50K\n"))
    assert list(df.columns) == ["age", "income"]


def test_wrong_separator_is_one_column(tmp_path, data_error, read, write):
    name = write(tmp_path, "semi.csv", "a;b;y\n1;2;0\n3;4;1\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": ","})
    assert "semi.csv" in msg and "only one column" in msg and "sep" in msg


def test_single_column_cannot_be_sniffed(tmp_path, data_error, read, write):
    name = write(tmp_path, "one.csv", "a\n1\n2\n")
    msg = data_error(read, tmp_path, path=name)
    assert "one.csv" in msg and "sep" in msg


def test_unknown_csv_option(tmp_path, data_error, read, write):
    name = write(tmp_path, "d.csv", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name, options={"delimiter": ","})
    assert "d.csv" in msg and "delimiter" in msg


def test_empty_file(tmp_path, data_error, read, write):
    name = write(tmp_path, "empty.csv", "")
    msg = data_error(read, tmp_path, path=name)
    assert "empty.csv" in msg and "empty" in msg and "prepare.sources" in msg


def test_header_only_file(tmp_path, clean_error, write):
    source, df = data.read_sources([{"path": write(tmp_path, "head.csv", "a,b,y\n")}], base_dir=tmp_path)
    assert len(df) == 0
    msg = clean_error(df, source=source)
    assert "head.csv" in msg and "no data rows" in msg


@pytest.mark.parametrize("header", ["a,b,a,y", "a, a,y"])
def test_duplicate_column_names(tmp_path, header, data_error, read, write):
    name = write(tmp_path, "dup.csv", f"{header}\n" + ",".join(["1"] * len(header.split(","))) + "\n")
    msg = data_error(read, tmp_path, path=name)
    assert "dup.csv" in msg and "duplicate" in msg and "'a'" in msg


def test_nonexistent_path(tmp_path, data_error, read):
    msg = data_error(read, tmp_path, path="missing/nope.csv")
    assert "missing/nope.csv" in msg and "not found" in msg and "prepare.sources" in msg


def test_unknown_file_extension(tmp_path, data_error, read, write):
    name = write(tmp_path, "data.xlsx", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name)
    assert "data.xlsx" in msg and "format" in msg


def test_format_overrides_extension(tmp_path, read, write):
    df = read(tmp_path, path=write(tmp_path, "data.dump", "a;y\n1;0\n2;1\n"), format="csv")
    assert df["y"].tolist() == [0, 1]


LATIN1 = "name,y\ncaf\xe9,1\nbar,0\n".encode("latin-1")


@pytest.mark.parametrize("options", [{}, {"sep": ","}])
def test_text_not_in_the_encoding(tmp_path, options, data_error, read):
    (tmp_path / "latin.csv").write_bytes(LATIN1)
    msg = data_error(read, tmp_path, path="latin.csv", options=options)
    assert "latin.csv" in msg and "utf-8" in msg and "encoding: latin-1" in msg


def test_undecodable_byte_past_the_sniffed_part(tmp_path, data_error, read):
    (tmp_path / "late.csv").write_bytes(b"a,y\n" + b"1,0\n" * 20000 + "\xe9,1\n".encode("latin-1"))
    msg = data_error(read, tmp_path, path="late.csv")
    assert "late.csv" in msg and "encoding: latin-1" in msg


def test_latin1_file_with_its_encoding(tmp_path, read):
    (tmp_path / "latin.csv").write_bytes(LATIN1)
    assert read(tmp_path, path="latin.csv", options={"encoding": "latin-1"})["name"].tolist() == ["café", "bar"]


def test_unknown_encoding(tmp_path, data_error, read, write):
    name = write(tmp_path, "d.csv", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name, options={"encoding": "latin-9x"})
    assert "d.csv" in msg and "'latin-9x'" in msg and "encoding:" in msg


@pytest.mark.parametrize("quotechar", ["''", ""])
def test_quotechar_of_several_characters(tmp_path, quotechar, data_error, read, write):
    name = write(tmp_path, "d.csv", "a,y\n1,0\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": ",", "quotechar": quotechar})
    assert "d.csv" in msg and "quote character" in msg and "quotechar:" in msg


@pytest.mark.parametrize(
    "sep, text", [("::", "a::note::y\n1::x y::0\n2::z::1\n"), (r"\s+", 'a  note y\n1 "x y"  0\n 2 z 1\n')]
)
def test_multi_character_and_regex_separators(tmp_path, sep, text, read, write):
    df = read(tmp_path, path=write(tmp_path, "d.txt", text), options={"sep": sep})
    assert list(df.columns) == ["a", "note", "y"]
    assert df["note"].tolist() == ["x y", "z"] and df["y"].tolist() == [0, 1]


def test_duplicate_column_names_with_a_multi_character_separator(tmp_path, data_error, read, write):
    name = write(tmp_path, "dup.txt", "a::b::a::y\n1::2::3::0\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": "::"})
    assert "dup.txt" in msg and "duplicate" in msg and "'a'" in msg


@pytest.mark.parametrize("where", ["absolute", "../outside.csv", "sub/../../outside.csv"])
def test_path_outside_the_raw_directory(tmp_path, where, data_error, write):
    raw = tmp_path / "raw"
    raw.mkdir()
    write(tmp_path, "outside.csv", "a,y\n1,0\n2,1\n")
    path = str(tmp_path / "outside.csv") if where == "absolute" else where
    msg = data_error(data.read_source, {"path": path}, base_dir=raw)
    assert path in msg and f"outside {raw.as_posix()}/" in msg and "relative to it" in msg


def test_path_with_dots_inside_the_raw_directory(tmp_path, read, write):
    (tmp_path / "sub").mkdir()
    write(tmp_path, "d.csv", "a,y\n1,0\n2,1\n")
    assert read(tmp_path, path="sub/../d.csv")["a"].tolist() == [1, 2]


def test_numbers_with_a_decimal_comma_read_with_the_option(tmp_path, clean, read, write):
    rows = "".join(f"{v};{i % 3 == 0:d}\n" for i, v in enumerate(["5,5", "12,25", "7"] * 8))
    df = read(tmp_path, path=write(tmp_path, "comma.csv", "amount;y\n" + rows), options={"sep": ";", "decimal": ","})
    out, schema, _ = clean(df)
    assert "amount" in schema.numeric and out["amount"].tolist()[:3] == [5.5, 12.25, 7.0]


def test_read_parquet(tmp_path, read):
    expected = pd.DataFrame({"x": [1.5, np.nan, 3.0], "colour": ["red", "blue", None], "y": [0, 1, 0]})
    expected.to_parquet(tmp_path / "d.parquet")
    pd.testing.assert_frame_equal(read(tmp_path, path="d.parquet"), expected, check_dtype=False)


def test_read_parquet_explicit_format(tmp_path, read):
    pd.DataFrame({"x": [1, 2], "y": [0, 1]}).to_parquet(tmp_path / "d.bin")
    assert read(tmp_path, path="d.bin", format="parquet")["x"].tolist() == [1, 2]


def test_corrupt_parquet(tmp_path, data_error, read, write):
    name = write(tmp_path, "d.parquet", "a,b\n1,2\n")
    msg = data_error(read, tmp_path, path=name)
    assert "d.parquet" in msg and "Parquet" in msg


def test_options_on_a_parquet_source_are_refused(tmp_path, data_error, frame):
    frame().to_parquet(tmp_path / "d.parquet")
    msg = data_error(data.read_source, {"path": "d.parquet", "options": {"sep": "auto"}}, base_dir=tmp_path)
    assert (
        msg
        == "d.parquet: options (sep) apply to CSV and Excel sources only; remove them from this Parquet source in prepare.sources"
    )


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


def test_sql_union_with_csv(tmp_path, sqlite_url, write):
    csv_name = write(tmp_path, "extra.csv", "age,city,y\n50,Tromsø,1\n")
    sources = [{"query": "select * from people order by age", "url_env": "TEST_LAB_DB_URL"}, {"path": csv_name}]
    _, df = data.read_sources(sources, base_dir=tmp_path)
    assert df["age"].tolist() == [25, 30, 41, 50]


def test_sql_env_var_unset(monkeypatch, data_error):
    monkeypatch.delenv("TEST_LAB_NO_SUCH_URL", raising=False)
    msg = data_error(data.read_source, {"query": "select 1", "url_env": "TEST_LAB_NO_SUCH_URL"})
    assert "TEST_LAB_NO_SUCH_URL" in msg and "not set" in msg


def test_sql_missing_table_hides_url(sqlite_url, tmp_path, data_error):
    msg = data_error(data.read_source, {"query": "select * from nope", "url_env": "TEST_LAB_DB_URL"})
    assert "TEST_LAB_DB_URL" in msg and "failed" in msg
    assert sqlite_url not in msg and str(tmp_path) not in msg


def test_sql_duplicate_column_names(sqlite_url, data_error):
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
def test_sql_unreachable_or_bad_url_hides_password(monkeypatch, url, data_error):
    monkeypatch.setenv("TEST_LAB_PG_URL", url)
    msg = data_error(data.read_source, {"query": "select 1", "url_env": "TEST_LAB_PG_URL"})
    assert "TEST_LAB_PG_URL" in msg
    assert "s3cretpw" not in msg and "127.0.0.1" not in msg and "labdb" not in msg


def test_sql_missing_driver_is_a_data_error(monkeypatch, data_error):
    monkeypatch.setenv("TEST_LAB_MY_URL", "mysql+mysqldb://lab:s3cretpw@127.0.0.1:1/labdb")
    msg = data_error(data.read_source, {"query": "select 1", "url_env": "TEST_LAB_MY_URL"})
    assert "driver" in msg and "s3cretpw" not in msg


def test_union_of_sources(tmp_path, write):
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
def test_union_column_mismatch(tmp_path, second, column, data_error, write):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n")
    b = write(tmp_path, "b.csv", second)
    msg = data_error(data.read_sources, [{"path": a}, {"path": b}], base_dir=tmp_path)
    assert "b.csv" in msg and "a.csv" in msg and column in msg and "schema" in msg


def test_union_numeric_vs_text(tmp_path, data_error, write):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n")
    b = write(tmp_path, "b.csv", "x,colour,y\none,red,0\n")
    msg = data_error(data.read_sources, [{"path": a}, {"path": b}], base_dir=tmp_path)
    assert "b.csv" in msg and "'x'" in msg and "text" in msg and "numeric" in msg


def test_union_of_a_boolean_column_with_and_without_blanks(tmp_path, clean, write):
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


def test_a_list_column_in_two_sources_is_one_line(tmp_path, clean_error, frame):
    for name in ("a", "b"):
        frame().assign(tags=[[1, 2]] * 24).to_parquet(tmp_path / f"{name}.parquet")
    name, df = data.read_sources([{"path": "a.parquet"}, {"path": "b.parquet"}], base_dir=tmp_path)
    assert "column 'tags' holds ndarray values" in clean_error(df, source=name)


def test_union_accepts_an_all_empty_column(tmp_path, write):
    a = write(tmp_path, "a.csv", "x,colour,y\n1,red,0\n")
    b = write(tmp_path, "b.csv", "x,colour,y\n2,,1\n")
    _, df = data.read_sources([{"path": a}, {"path": b}], base_dir=tmp_path)
    assert df["colour"].iloc[0] == "red" and pd.isna(df["colour"].iloc[1])


# --- where the header and the data are: header, names, skiprows, skipinitialspace -------------

CENSUS = "39, State-gov, 77516, <=50K\n50, Self-emp, 83311, >50K\n38, Private, 215646, <=50K\n"
NAMES = ["age", "workclass", "fnlwgt", "income"]


def test_a_file_without_a_header_row_is_read_with_names(tmp_path, read, write):
    name = write(tmp_path, "adult.csv", CENSUS)
    for options in ({"header": None, "names": NAMES}, {"names": NAMES}):  # names alone: no header row (pandas)
        df = read(tmp_path, path=name, options={**options, "sep": ",", "skipinitialspace": True})
        assert list(df.columns) == NAMES and df["age"].tolist() == [39, 50, 38]
        assert df["workclass"].tolist() == ["State-gov", "Self-emp", "Private"]  # no leading space


def test_names_replace_a_header_row_and_skiprows_skip_a_preamble(tmp_path, read, write):
    name = write(tmp_path, "export.csv", "exported 2024-05-01\n\nA,B\n1,x\n2,y\n")
    df = read(tmp_path, path=name, options={"skiprows": 2, "header": 0, "names": ["n", "t"], "sep": ","})
    assert list(df.columns) == ["n", "t"] and df["n"].tolist() == [1, 2]
    df = read(tmp_path, path=name, options={"skiprows": 1, "sep": ","})  # blank lines are not rows (pandas)
    assert list(df.columns) == ["A", "B"] and len(df) == 2
    df = read(tmp_path, path=name, options={"skiprows": 1, "header": 1, "sep": ","})
    assert list(df.columns) == ["1", "x"] and len(df) == 1


@pytest.mark.parametrize(
    "options, expected",
    [
        (
            {"header": None, "names": NAMES[:3]},
            "adult.csv: option names lists 3 name(s) but the first row has 4 columns",
        ),
        ({"header": 0, "names": [*NAMES, "x"]}, "option names lists 5 name(s) but the header row has 4 columns"),
        ({"header": None}, "header: null (no header row) needs the column names; set options: {header: null, names"),
        ({"names": ["a", "b ", "b", "c"]}, "option names lists ['b'] more than once"),
        ({"names": "age,income"}, "option names must be a list of column names"),
        ({"header": -1}, "option header must be the header's row number (0: the first row) or null"),
        ({"header": True}, "option header must be"),
        ({"skiprows": 1.5}, "option skiprows must be a number of lines to skip"),
        ({"skipinitialspace": "yes"}, "option skipinitialspace must be true or false, got 'yes'"),
        ({"skiprows": 9}, "no row at the header position; lower options skiprows or header"),
    ],
)
def test_bad_header_options_are_one_line(tmp_path, options, expected, data_error, read, write):
    name = write(tmp_path, "adult.csv", CENSUS)
    msg = data_error(read, tmp_path, path=name, options={"sep": ",", **options})
    assert expected in msg


def test_a_header_row_of_data_is_recognised(tmp_path, clean_error, read, write):
    df = read(tmp_path, path=write(tmp_path, "adult.csv", CENSUS), options={"sep": ","})
    assert data.header_like_data(df) == "'39', '77516' are numbers; '<=50K' also occur(s) as values below"
    msg = clean_error(df, source="adult.csv", target="income")
    assert "target column 'income' not found" in msg
    assert "the header row of adult.csv looks like data" in msg
    assert "set options: {header: null, names: [...]} for it in prepare.sources, one name per column (4)" in msg


def test_a_data_row_with_repeated_numbers_read_as_header_names_the_options(tmp_path, data_error, read, write):
    name = write(tmp_path, "adult.csv", "39,State-gov,0,0,<=50K\n50,Self-emp,0,0,>50K\n")
    msg = data_error(read, tmp_path, path=name, options={"sep": ","})
    assert "duplicate column name(s) ['0']" in msg and "3 of its 5 names are numbers" in msg
    assert "set options: {header: null, names: [...]}" in msg
    msg = data_error(read, tmp_path, path=write(tmp_path, "dup.csv", "a,b,a\n1,2,3\n"), options={"sep": ","})
    assert "header: null" not in msg


def test_a_real_header_does_not_look_like_data(frame):
    assert data.header_like_data(frame()) is None
    assert (
        data.header_like_data(pd.DataFrame({"2019": [1.5], "2020": [2.5], "name": ["x"]})) is not None
    )  # most are numbers
    assert data.header_like_data(pd.DataFrame({"2019": [1.5], "a": [1], "b": [2]})) is None


def test_a_header_less_second_source_is_named_in_the_schema_error(tmp_path, data_error, write):
    first = write(tmp_path, "a.csv", "age,workclass,fnlwgt,income\n" + CENSUS.replace(", ", ","))
    second = write(tmp_path, "b.csv", CENSUS.replace(", ", ","))
    msg = data_error(data.read_sources, [{"path": first}, {"path": second}], base_dir=tmp_path)
    assert "b.csv: schema disagrees with a.csv" in msg and "the header row of b.csv looks like data" in msg


# --- Excel -------------------------------------------------------------------------------------


def workbook(path, frames: dict) -> str:
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for sheet, df in frames.items():
            df.to_excel(book, sheet_name=sheet, index=False)
    return path.name


def test_read_excel_first_sheet_by_default_or_named_or_numbered(tmp_path, read, frame):
    df = frame(6).assign(when=pd.Timestamp("2024-01-31"))
    name = workbook(tmp_path / "book.xlsx", {"about": pd.DataFrame({"note": ["x"]}), "data": df})
    assert list(read(tmp_path, path=name).columns) == ["note"]
    for sheet in ("data", 1):
        out = read(tmp_path, path=name, options={"sheet": sheet})
        assert out["num"].tolist() == df["num"].tolist() and out["cat"].tolist() == df["cat"].tolist()
        assert pd.api.types.is_datetime64_any_dtype(out["when"])


def test_read_excel_header_options_and_format(tmp_path, read):
    raw = pd.DataFrame([[39, "State-gov", "<=50K"], [50, "Self-emp", ">50K"]])
    path = tmp_path / "sheet.bin"
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        raw.to_excel(book, index=False, header=False)
    df = read(tmp_path, path="sheet.bin", format="excel", options={"header": None, "names": ["age", "work", "income"]})
    assert list(df.columns) == ["age", "work", "income"] and df["age"].tolist() == [39, 50]


@pytest.mark.parametrize(
    "options, expected",
    [
        (
            {"sheet": "Data"},
            "book.xlsx: no sheet 'Data' in the workbook (sheets: ['data']); set options: {sheet: 'data'}",
        ),
        ({"sheet": 2}, "no sheet 2 in the workbook"),
        ({"sheet": 1.5}, "option sheet must be a sheet's name or its position"),
        (
            {"sep": ";"},
            "unknown Excel option(s) ['sep']; allowed: ['header', 'na_values', 'names', 'sheet', 'skiprows']",
        ),
        ({"names": ["a"]}, "book.xlsx (sheet 'data'): option names lists 1 name(s) but the first row has 3 columns"),
        ({"header": None}, "header: null (no header row) needs the column names"),
    ],
)
def test_bad_excel_options_are_one_line(tmp_path, options, expected, data_error, read, frame):
    name = workbook(tmp_path / "book.xlsx", {"data": frame(6)})
    assert expected in data_error(read, tmp_path, path=name, options=options)


def test_excel_duplicate_names_and_an_empty_sheet(tmp_path, data_error, read):
    name = workbook(tmp_path / "dup.xlsx", {"data": pd.DataFrame([[1, 2]], columns=["a", "a "])})
    assert "duplicate column name(s) ['a']" in data_error(read, tmp_path, path=name)
    name = workbook(tmp_path / "empty.xlsx", {"data": pd.DataFrame()})
    assert "no row at the header position" in data_error(read, tmp_path, path=name)


def test_a_file_that_is_not_a_workbook_or_an_old_xls(tmp_path, data_error, read, write):
    msg = data_error(read, tmp_path, path=write(tmp_path, "bad.xlsx", "hello"))
    assert (
        msg
        == "bad.xlsx: cannot read as an Excel workbook (BadZipFile); check the file, save it as .xlsx, or set format: csv for this source"
    )
    msg = data_error(read, tmp_path, path=write(tmp_path, "old.xls", "x"))
    assert "Excel 97-2003 workbook (.xls) is not read; save it as .xlsx" in msg


def test_commented_lines_before_a_header_less_file_are_not_its_first_row(tmp_path, read, write):
    name = write(tmp_path, "adult.csv", "# exported 2024\n39,State-gov,<=50K\n50,Private,>50K\n")
    options = {"sep": ",", "comment": "#", "header": None, "names": ["age", "wc", "inc"]}
    df = read(tmp_path, path=name, options=options)
    assert df["age"].tolist() == [39, 50] and df["wc"].tolist() == ["State-gov", "Private"]


def test_a_header_of_nan_and_inf_names_is_not_data():
    df = pd.DataFrame({"nan": [1.0, 2.0], "inf": [3.0, 4.0], "y": [0, 1]})
    assert header_like_data(df) is None


def test_excel_without_openpyxl_names_the_fix(tmp_path, read, frame, monkeypatch, data_error):
    name = workbook(tmp_path / "book.xlsx", {"data": frame(6)})

    def no_reader(*args, **kwargs):
        raise ImportError("Missing optional dependency 'openpyxl'")

    monkeypatch.setattr(pd, "ExcelFile", no_reader)
    message = data_error(read, tmp_path, path=name)
    assert message.endswith("book.xlsx: reading Excel needs openpyxl, which is not installed; run make env")
