"""Unit tests of imbalance_lab.pipeline.params with hand-made params dicts (no params.yaml needed)."""

from __future__ import annotations

import copy

import pytest
import yaml

from imbalance_lab.errors import ParamsError
from imbalance_lab.modeling.strategies import STRATEGIES
from imbalance_lab.pipeline import params as P

EXAMPLE = {
    "seed": 42,
    "prepare": {
        "sources": [{"path": "train.csv", "options": {"sep": ","}}, {"query": "select * from t", "url_env": "DB_URL"}],
        "target": "y",
        "positive_label": 1,
        "categorical": ["colour"],
        "drop_columns": ["name"],
        "hash_columns": ["customer_id"],
        "drop_duplicates": False,
        "test_size": 0.2,
        "n_splits": 5,
        "n_repeats": 2,
    },
    "cross_validate": {
        "models": ["dummy", "logistic_regression"],
        "model_params": {"logistic_regression": {"C": 1.0}, "dummy": None},
        "selection_metric": "average_precision",
        "top_k_fraction": 0.1,
        "alpha": 0.05,
        "learning_curve_sizes": [0.25, 0.5, 1.0],
    },
    "tune": {
        "model": "xgboost",
        "metric": "average_precision",
        "n_trials": 40,
        "timeout": None,
        "pruner": "wilcoxon",
        "max_trees": 2000,
    },
    "imbalance": {
        "strategies": list(STRATEGIES),  # every registered strategy
        "metric": "average_precision",
        "sampling_strategy": "auto",
        "k_neighbors": 5,
        "alpha": 0.05,
        "ratio_sweep_points": 5,
        "override": None,
    },
    "evaluate": {
        "threshold_objective": "f1",
        "cost_fp": 1.0,
        "cost_fn": 10.0,
        "target": 0.5,
        "top_k": 0.2,
        "n_bootstrap": 1000,
        "permutation_repeats": 5,
        "psi_threshold": 0.2,
    },
}


@pytest.fixture
def valid() -> dict:
    """A complete, valid params dict for the sections currently in params.SPEC."""
    missing = [s for s in P.SPEC if s not in EXAMPLE]
    assert not missing, f"update EXAMPLE in this test for new params sections {missing}"
    return copy.deepcopy({s: EXAMPLE[s] for s in P.SPEC})


def set_key(params: dict, qualified: str, value) -> dict:
    *section, key = qualified.split(".")
    (params[section[0]] if section else params)[key] = value
    return params


def error(params, **kw) -> str:
    with pytest.raises(ParamsError) as info:
        P.validate_params(params, **kw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


SECTION_KEYS = [
    f"{s}.{k}" for s, spec in P.SPEC.items() if isinstance(spec, dict) for k, key in spec.items() if not key.optional
]


def with_defaults(params: dict) -> dict:
    """``params`` with the optional keys' defaults filled in, as validate_params returns them."""
    return {s: {**P.optional_defaults(s), **v} if isinstance(v, dict) else v for s, v in params.items()}


# --- valid input -----------------------------------------------------------------------------


def test_example_covers_every_required_spec_key(valid):
    for section, spec in P.SPEC.items():
        if isinstance(spec, dict):
            assert set(valid[section]) == {k for k, key in spec.items() if not key.optional}, section


def test_valid_params_pass_unchanged_with_the_optional_defaults_added(valid):
    out = P.validate_params(copy.deepcopy(valid))
    assert out == with_defaults(valid)
    assert P.optional_defaults("prepare") == {
        "negative_label": None,
        "split": "stratified",
        "time_column": None,
        "date_features": [],
        "time_format": None,
    }


def test_optional_defaults_are_copies():
    P.optional_defaults("prepare")["date_features"].append("month")
    assert P.optional_defaults("prepare")["date_features"] == [] and P.optional_defaults("seed") == {}


@pytest.mark.parametrize(
    "changes",
    [
        {"positive_label": [">50K", ">50K."], "negative_label": ["<=50K", "<=50K."]},
        {"positive_label": "a", "negative_label": "rest"},
        {"negative_label": 0},
        {"split": "time", "time_column": "signup", "date_features": ["month", "weekday"]},
        {"time_column": "signup", "date_features": ["year"]},
    ],
)
def test_optional_prepare_keys_are_taken(valid, changes):
    valid["prepare"].update(changes)
    out = P.validate_params(copy.deepcopy(valid))
    assert out["prepare"] == with_defaults(valid)["prepare"]


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"split": "random"}, "'prepare.split' must be one of stratified, time"),
        ({"split": "time"}, "'prepare.time_column' is not set"),
        ({"date_features": ["month"]}, "'prepare.date_features' needs 'prepare.time_column'"),
        ({"time_column": "signup", "date_features": ["fortnight"]}, "unknown item 'fortnight'"),
        ({"time_column": "signup", "time_format": "dd/mm/yyyy"}, "must be a strftime format such as '%d/%m/%Y'"),
        ({"time_column": "y"}, "'prepare.time_column' is the target"),
        ({"time_column": " "}, "must name a column or be null"),
        ({"positive_label": []}, "non-empty list of labels"),
        ({"positive_label": [1, {"a": 2}]}, "got item {'a': 2}"),
        ({"negative_label": {"a": 1}}, "'prepare.negative_label' must be"),
        ({"positive_label": ["a", "b"], "negative_label": ["b ", "c"]}, "label(s) ['b'] are in both"),
    ],
)
def test_bad_optional_prepare_keys(valid, changes, expected):
    valid["prepare"].update(changes)
    assert expected in error(valid)


def test_validate_only_requested_sections(valid):
    del valid["cross_validate"]
    out = P.validate_params(valid, sections=["prepare"])
    assert out["prepare"]["n_splits"] == 5


def test_unknown_stage_section_requested(valid):
    msg = error(valid, sections=["deploy"])
    assert "'deploy'" in msg and "prepare" in msg


def test_int_for_float_key_is_normalised(valid, monkeypatch):
    monkeypatch.setitem(P.SPEC["prepare"], "test_size", P.Key((float,), P._between(0.0, 5.0)))
    valid["prepare"]["test_size"] = 1
    out = P.validate_params(valid)
    assert out["prepare"]["test_size"] == 1.0 and type(out["prepare"]["test_size"]) is float


def test_int_learning_curve_size_is_normalised_to_float(valid):
    valid["cross_validate"]["learning_curve_sizes"] = [0.5, 1]
    out = P.validate_params(valid)
    assert out["cross_validate"]["learning_curve_sizes"] == [0.5, 1.0]
    assert all(type(x) is float for x in out["cross_validate"]["learning_curve_sizes"])


@pytest.mark.parametrize("label", [1, "1", 1.0, True, " >50K"])
def test_positive_label_keeps_its_type(valid, label):
    valid["prepare"]["positive_label"] = label
    out = P.validate_params(valid)
    assert out["prepare"]["positive_label"] == label
    assert type(out["prepare"]["positive_label"]) is type(label)


# --- unknown and missing keys ------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_near_one(valid):
    valid["seeds"] = 1
    msg = error(valid)
    assert "unknown key 'seeds'" in msg and "did you mean 'seed'" in msg


def test_unknown_section_key_suggests_the_near_one(valid):
    valid["prepare"]["n_split"] = 5
    msg = error(valid)
    assert "'prepare.n_split'" in msg and "did you mean 'n_splits'" in msg


def test_unknown_section_key_without_near_match(valid):
    valid["cross_validate"]["zzzz"] = 1
    msg = error(valid)
    assert "'cross_validate.zzzz'" in msg and "did you mean" not in msg


@pytest.mark.parametrize(
    "qualified, variable",
    [
        ("cross_validate.n_jobs", "IMBALANCE_LAB_N_JOBS"),
        ("evaluate.n_jobs", "IMBALANCE_LAB_N_JOBS"),
        ("tune.storage_env", "IMBALANCE_LAB_OPTUNA_STORAGE"),
        ("prepare.hash_salt_env", "IMBALANCE_LAB_SALT"),
    ],
)
def test_a_key_that_became_an_environment_variable_names_the_variable(valid, qualified, variable):
    set_key(valid, qualified, 2)
    msg = error(valid)
    assert f"'{qualified}' is a setting of the machine now" in msg and f"${variable}" in msg


def test_params_yaml_holds_no_machine_setting(project_root):
    params = yaml.safe_load((project_root / "params.yaml").read_text())
    leaves = [f"{s}.{k}" for s, v in params.items() if isinstance(v, dict) for k in v]
    assert not [q for q in leaves if q.rsplit(".", 1)[-1] in P.MOVED_TO_ENVIRONMENT]
    P.validate_params(params)


@pytest.mark.parametrize("qualified", SECTION_KEYS)
def test_missing_key_is_named(valid, qualified):
    section, key = qualified.split(".")
    del valid[section][key]
    assert f"missing key '{qualified}'" in error(valid)


@pytest.mark.parametrize("section", list(P.SPEC))
def test_missing_section_is_named(valid, section):
    del valid[section]
    assert f"'{section}'" in error(valid)


def test_params_must_be_a_mapping():
    assert "mapping" in error([1, 2])


def test_section_must_be_a_mapping(valid):
    valid["prepare"] = ["test_size", 0.2]
    assert "'prepare' must be a mapping" in error(valid)


# --- types and ranges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "qualified, value",
    [
        ("seed", "42"),
        ("seed", True),
        ("seed", 4.2),
        ("prepare.n_splits", "5"),
        ("prepare.n_splits", True),
        ("prepare.n_splits", 5.0),
        ("prepare.n_repeats", None),
        ("prepare.test_size", "0.2"),
        ("prepare.test_size", False),
        ("prepare.drop_duplicates", "no"),
        ("prepare.drop_duplicates", 0),
        ("prepare.target", 3),
        ("prepare.positive_label", None),
        ("prepare.categorical", "colour"),
        ("prepare.categorical", ["colour", 3]),
        ("prepare.drop_columns", [True]),
        ("prepare.sources", {"path": "a.csv"}),
        ("cross_validate.models", "dummy"),
        ("cross_validate.model_params", []),
        ("cross_validate.alpha", "0.05"),
    ],
)
def test_wrong_type_names_the_key(valid, qualified, value):
    set_key(valid, qualified, value)
    assert f"'{qualified}'" in error(valid)


@pytest.mark.parametrize(
    "qualified, value",
    [
        ("seed", -1),
        ("prepare.test_size", 0.0),
        ("prepare.test_size", 0.95),
        ("prepare.test_size", -0.1),
        ("prepare.test_size", float("nan")),
        ("prepare.n_splits", 1),
        ("prepare.n_repeats", 0),
        ("cross_validate.models", []),
        ("cross_validate.models", ["svm"]),
        ("cross_validate.model_params", {"svm": {}}),
        ("cross_validate.model_params", {"dummy": 5}),
        ("cross_validate.model_params", {"random_forest": {"n_jobs": 2}}),  # crashed the stage: given twice
        ("cross_validate.model_params", {"xgboost": {"random_state": 1}}),
        ("cross_validate.selection_metric", "accuracy"),
        ("cross_validate.top_k_fraction", 1.0),
        ("cross_validate.top_k_fraction", 0.0),
        ("cross_validate.alpha", 0.5),
        ("cross_validate.learning_curve_sizes", []),
        ("cross_validate.learning_curve_sizes", [0.0, 0.5]),
        ("cross_validate.learning_curve_sizes", [0.5, 1.5]),
        ("cross_validate.learning_curve_sizes", [0.5, True]),
        ("cross_validate.learning_curve_sizes", [0.5, "1"]),
        ("imbalance.sampling_strategy", "minority"),  # with two classes: same as auto, or nothing for an under-sampler
        ("imbalance.sampling_strategy", "not majority"),
        ("imbalance.sampling_strategy", 0.0),
        ("imbalance.sampling_strategy", 1.5),
        ("evaluate.target", 0.0),
        ("evaluate.target", 1.01),
    ],
)
def test_out_of_range_names_the_key(valid, qualified, value):
    set_key(valid, qualified, value)
    assert f"'{qualified}'" in error(valid)


def test_override_must_be_one_of_the_strategies(valid):
    valid["imbalance"]["strategies"] = ["none", "smote"]
    valid["imbalance"]["override"] = "smote"
    assert P.validate_params(valid)["imbalance"]["override"] == "smote"
    valid["imbalance"]["override"] = "adasyn"  # a known strategy, but not compared
    msg = error(valid)
    assert (
        "'imbalance.override'" in msg
        and "'adasyn'" in msg
        and "imbalance.strategies" in msg
        and "set override to null" in msg
    )


def test_out_of_range_message_gives_the_bounds(valid):
    valid["prepare"]["test_size"] = 0.95
    msg = error(valid)
    assert "(0.0, 0.9)" in msg and "0.95" in msg


@pytest.mark.parametrize(
    "sources, expected",
    [
        ([], "at least one source"),
        (["train.csv"], "item 0"),
        ([{}], "item 0"),
        ([{"path": "a.csv", "query": "select 1", "url_env": "DB"}], "exactly one of 'path' or 'query'"),
        ([{"path": "a.csv"}, {"query": "select 1"}], "item 1"),
        ([{"query": "select 1", "url_env": ""}], "url_env"),
        ([{"path": "a.xlsx", "format": "xlsx"}], "format must be csv, parquet or excel"),
        ([{"path": "a.csv", "options": "sep=;"}], "options"),
        ([{"path": "a.csv", "separator": ";"}], "separator"),
        ([{"path": 5}], "path"),
        ([{"path": "  "}], "path"),
        ([{"query": ["select 1"], "url_env": "DB"}], "query"),
    ],
)
def test_bad_sources_entries(valid, sources, expected):
    valid["prepare"]["sources"] = sources
    msg = error(valid)
    assert "'prepare.sources'" in msg and expected in msg


# --- load_params -------------------------------------------------------------------------------


def test_load_params_reads_and_validates(tmp_path, valid):
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump(valid))
    assert P.load_params(f) == with_defaults(valid)


def test_load_params_validates_the_file(tmp_path, valid):
    valid["prepare"]["n_splits"] = 1
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump(valid))
    with pytest.raises(ParamsError, match=r"'prepare\.n_splits'"):
        P.load_params(f)


@pytest.mark.parametrize("text, value", [("5e-2", 0.05), ("1E-1", 0.1), ("2.5e-1", 0.25)])
def test_load_params_reads_exponent_floats_as_dvc_does(tmp_path, valid, text, value):
    """YAML 1.1 (PyYAML) made '5e-2' a string, and validation said "must be float, got '5e-2'";
    DVC (YAML 1.2) reads it as 0.05, so the pipeline must too."""
    f = tmp_path / "params.yaml"
    f.write_text(yaml.safe_dump(valid).replace("top_k_fraction: 0.1", f"top_k_fraction: {text}"))
    assert f"top_k_fraction: {text}" in f.read_text()
    assert P.load_params(f)["cross_validate"]["top_k_fraction"] == value


def test_load_params_invalid_yaml_names_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("seed: 42\ncross_validate: {}\nprepare: target: y\n")
    with pytest.raises(ParamsError) as info:
        P.load_params(f)
    msg = str(info.value)
    assert str(f) in msg and "line 3" in msg and "\n" not in msg


def test_load_params_missing_file(tmp_path):
    f = tmp_path / "nope.yaml"
    with pytest.raises(ParamsError, match="file not found") as info:
        P.load_params(f)
    assert str(f) in str(info.value)


def test_load_params_empty_file(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_text("")
    with pytest.raises(ParamsError, match="mapping"):
        P.load_params(f)


def test_load_params_not_utf8(tmp_path):
    f = tmp_path / "params.yaml"
    f.write_bytes(b"seed: 42\ntarget: \xff\xfe\n")
    with pytest.raises(ParamsError) as info:
        P.load_params(f)
    assert str(f) in str(info.value)


def test_the_large_data_profile_is_valid_params(project_root):
    params = yaml.safe_load((project_root / "params.yaml").read_text())
    profile = yaml.safe_load((project_root / "bench" / "large_profile.yaml").read_text())
    for section, values in profile.items():
        params[section].update(values)
    P.validate_params(params)
