"""Load and validate params.yaml.

params.yaml has one section per stage (named after the stage) and a top-level ``seed``.
(The pipeline's files are declared once in dvc.yaml's ``vars``, not here: they are structure,
not parameters, and would clutter ``dvc exp show``.) Every key is validated before any work
starts: an unknown key, a missing key or a wrong type is an error that names the key and says
what to do. The choices of a key (models, strategies, metrics, pruners) are the registries'
names, read from the registries themselves.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.ids import SALT_ENV
from ..data.target import norm_label
from ..data.times import DATE_FEATURES, SPLITS
from ..errors import ParamsError
from ..evaluation.metrics import CROSS_VALIDATE_METRICS, IMBALANCE_METRICS, TUNE_METRICS
from ..evaluation.thresholds import THRESHOLD_OBJECTIVES
from ..io import read_yaml
from ..modeling.models import MODELS, RESERVED_MODEL_PARAMS
from ..modeling.strategies import STRATEGIES
from ..tuning.pruners import PRUNERS
from ..tuning.space import TUNABLE_MODELS
from ..tuning.storage import STORAGE_ENV
from .settings import N_JOBS_ENV

PARAMS_FILE = "params.yaml"
MODEL_NAMES = tuple(MODELS)
STRATEGY_NAMES = tuple(STRATEGIES)


@dataclass(frozen=True)
class Key:
    """Specification of one params key.

    Parameters
    ----------
    types : tuple of type
        Accepted Python types (after YAML parsing). ``bool`` is never accepted for ``int``
        or ``float`` unless listed.
    check : callable, optional
        ``check(value) -> str | None``; returns a problem description or None.
    optional : bool
        The key may be left out of params.yaml; it then takes ``default``. (Optional keys stay out
        of the committed params.yaml: every key there is a column of ``dvc exp show``.)
    default : object
        The value of an optional key left out.
    """

    types: tuple[type, ...]
    check: Callable[[Any], str | None] | None = None
    optional: bool = False
    default: Any = None


def _between(lo: float, hi: float, *, inclusive: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        ok = lo <= value <= hi if inclusive else lo < value < hi
        bracket = ("[", "]") if inclusive else ("(", ")")
        return None if ok else f"must be in {bracket[0]}{lo}, {hi}{bracket[1]}"

    return check


def _at_least(lo: float) -> Callable[[Any], str | None]:
    return lambda value: None if value >= lo else f"must be at least {lo}"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda value: None if value in choices else f"must be one of {', '.join(choices)}"


def _list_of(kind: type, choices: tuple[str, ...] | None = None) -> Callable[[Any], str | None]:
    def check(value: list) -> str | None:
        for item in value:
            if not isinstance(item, kind) or (isinstance(item, bool) and kind is not bool):
                return f"must be a list of {kind.__name__}, got item {item!r}"
            if choices is not None and item not in choices:
                return f"has unknown item {item!r}; known: {', '.join(choices)}"
        return None

    return check


def _sources_check(value: list) -> str | None:
    if not value:
        return "must list at least one source"
    allowed = {"path", "format", "options", "query", "url_env"}
    for i, src in enumerate(value):
        if not isinstance(src, dict):
            return f"item {i} must be a mapping with 'path' (CSV/Parquet) or 'query' and 'url_env' (SQL)"
        unknown = set(src) - allowed
        if unknown:
            return f"item {i} has unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
        if ("path" in src) == ("query" in src):
            return f"item {i} needs exactly one of 'path' or 'query'"
        for field in ("path", "query", "url_env"):
            if field in src and not (isinstance(src[field], str) and src[field].strip()):
                return f"item {i}: {field} must be a non-empty string, got {src[field]!r}"
        if "query" in src and not src.get("url_env"):
            return f"item {i} is a SQL query and needs 'url_env', the environment variable holding the database URL"
        if src.get("format") not in (None, "csv", "parquet", "excel"):
            return f"item {i}: format must be csv, parquet or excel, got {src.get('format')!r}"
        if "options" in src and not isinstance(src["options"], dict):
            return f"item {i}: options must be a mapping"
    return None


def _labels_check(value: Any) -> str | None:
    """One label (text, number or boolean) or a non-empty list of them."""
    if not isinstance(value, list):
        return None
    if not value:
        return "must be one label or a non-empty list of labels"
    bad = [v for v in value if not isinstance(v, (str, int, float, bool))]
    return f"must list labels (text or numbers), got item {bad[0]!r}" if bad else None


def _model_params_check(value: dict) -> str | None:
    problem = _list_of(str, MODEL_NAMES)(list(value))
    if problem:
        return problem
    for name, kwargs in value.items():
        if kwargs is not None and not isinstance(kwargs, dict):
            return f"'{name}' must map parameter names to values, got {kwargs!r}"
        reserved = [k for k in (kwargs or {}) if k in RESERVED_MODEL_PARAMS]
        if reserved:
            return (
                f"must not set '{name}.{reserved[0]}': the pipeline sets it (seeds from 'seed', threads from "
                f"${N_JOBS_ENV}); remove it"
            )
    return None


SPEC: dict[str, Any] = {
    "seed": Key((int,), _at_least(0)),
    "prepare": {
        "sources": Key((list,), _sources_check),
        "target": Key((str,)),
        "positive_label": Key((str, int, float, bool, list), _labels_check),
        # optional keys (absent from the committed params.yaml; see its comments and docs/own-data.md)
        "negative_label": Key((str, int, float, bool, list, type(None)), _labels_check, optional=True),
        "categorical": Key((list,), _list_of(str)),
        "drop_columns": Key((list,), _list_of(str)),
        "hash_columns": Key((list,), _list_of(str)),
        "drop_duplicates": Key((bool,)),
        "test_size": Key((float,), _between(0.0, 0.9)),
        "n_splits": Key((int,), _at_least(2)),
        "n_repeats": Key((int,), _at_least(1)),
        "split": Key((str,), _one_of(*SPLITS), optional=True, default=SPLITS[0]),
        "time_column": Key(
            (str, type(None)),
            lambda v: None if v is None or v.strip() else "must name a column or be null",
            optional=True,
        ),
        "date_features": Key((list,), _list_of(str, DATE_FEATURES), optional=True, default=[]),
        "time_format": Key(
            (str, type(None)),
            lambda v: None if v is None or "%" in v else "must be a strftime format such as '%d/%m/%Y', or null",
            optional=True,
        ),
    },
    "cross_validate": {
        "models": Key(
            (list,), lambda v: _list_of(str, MODEL_NAMES)(v) or (None if v else "must name at least one model")
        ),
        "model_params": Key((dict,), _model_params_check),
        "selection_metric": Key((str,), _one_of(*CROSS_VALIDATE_METRICS)),
        "top_k_fraction": Key((float,), _between(0.0, 1.0)),
        "alpha": Key((float,), _between(0.0, 0.5)),
        "learning_curve_sizes": Key(
            (list,),
            lambda v: (
                None
                if v and all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= 1 for x in v)
                else "must be a non-empty list of fractions in (0, 1]"
            ),
        ),
    },
    "tune": {
        "model": Key((str,), _one_of(*TUNABLE_MODELS)),
        "metric": Key((str,), _one_of(*TUNE_METRICS)),
        "n_trials": Key((int,), _at_least(1)),
        "timeout": Key(
            (int, float, type(None)),
            lambda v: None if v is None or v > 0 else "must be a positive number of seconds or null",
        ),
        "pruner": Key((str,), _one_of(*PRUNERS)),
        "max_trees": Key((int,), _at_least(1)),
    },
    "imbalance": {
        "strategies": Key(
            (list,),
            lambda v: (
                _list_of(str, STRATEGY_NAMES)(v) or (None if "none" in v else "must include 'none' (the baseline)")
            ),
        ),
        "metric": Key((str,), _one_of(*IMBALANCE_METRICS)),
        # two classes: imbalanced-learn's other names either mean "auto" or nothing for one kind of sampler
        "sampling_strategy": Key(
            (str, float),
            lambda v: (
                None
                if v == "auto" or (isinstance(v, float) and 0 < v <= 1)
                else "must be auto (balance the classes) or a minority/majority ratio in (0, 1]"
            ),
        ),
        "k_neighbors": Key((int,), _at_least(1)),
        "alpha": Key((float,), _between(0.0, 0.5)),
        "ratio_sweep_points": Key((int,), _at_least(2)),
        "override": Key(
            (str, type(None)),
            lambda v: (
                None if v is None or v in STRATEGY_NAMES else f"must be null or one of {', '.join(STRATEGY_NAMES)}"
            ),
        ),
    },
    "evaluate": {
        "threshold_objective": Key((str,), _one_of(*THRESHOLD_OBJECTIVES)),
        "cost_fp": Key((float,), lambda v: None if v > 0 else "must be positive"),
        "cost_fn": Key((float,), lambda v: None if v > 0 else "must be positive"),
        "target": Key((float,), lambda v: None if 0 < v <= 1 else "must be in (0, 1]"),
        "top_k": Key((float, int), lambda v: None if v > 0 else "must be a fraction in (0, 1) or a count of rows"),
        "n_bootstrap": Key((int,), _at_least(100)),
        "permutation_repeats": Key((int,), _at_least(1)),
        "psi_threshold": Key((float,), lambda v: None if v > 0 else "must be positive"),
    },
}


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def _check_value(qualified: str, key: Key, value: Any) -> None:
    accepted = key.types
    is_bool = isinstance(value, bool)
    if float in accepted and int not in accepted and isinstance(value, int) and not is_bool:
        value = float(value)
    if not isinstance(value, accepted) or (is_bool and bool not in accepted):
        raise ParamsError(
            f"params.yaml: '{qualified}' must be {_type_name(accepted)}, got {value!r} "
            f"({type(value).__name__}); set it to a {_type_name(accepted)} value"
        )
    if key.check is not None:
        problem = key.check(value)
        if problem:
            raise ParamsError(f"params.yaml: '{qualified}' {problem} (got {value!r}); fix the value")


#: Keys that params.yaml once had and that are settings of the machine now (environment
#: variables): they changed no result, yet cluttered ``dvc exp show`` and reran stages.
MOVED_TO_ENVIRONMENT = {
    "n_jobs": f"set ${N_JOBS_ENV} (the cores a stage uses; default all)",
    "storage_env": f"put the database URL in ${STORAGE_ENV}",
    "hash_salt_env": f"put the salt in ${SALT_ENV}",
}


def _unknown(qualified: str, known: list[str]) -> ParamsError:
    leaf = qualified.rsplit(".", 1)[-1]
    if leaf in MOVED_TO_ENVIRONMENT:
        return ParamsError(
            f"params.yaml: '{qualified}' is a setting of the machine now, not a param; remove it and "
            f"{MOVED_TO_ENVIRONMENT[leaf]}"
        )
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return ParamsError(
        f"params.yaml: unknown key '{qualified}'; {hint}rename or remove it (known keys: {', '.join(known)})"
    )


def validate_params(params: dict[str, Any], *, sections: list[str] | None = None) -> dict[str, Any]:
    """Validate a parsed params mapping and return it with numbers normalised.

    Parameters
    ----------
    params : dict
        The parsed params.yaml.
    sections : list of str, optional
        Only validate these stage sections (plus ``seed``). Default: all.

    Returns
    -------
    dict
        The same mapping, with integers given for float keys converted to float.

    Raises
    ------
    ParamsError
        Naming the first wrong, missing or unknown key.
    """
    if not isinstance(params, dict):
        raise ParamsError("params.yaml: the file must be a mapping of sections; see README")
    for top in params:
        if top not in SPEC:
            raise _unknown(str(top), list(SPEC))
    wanted = list(SPEC) if sections is None else ["seed", *sections]
    for section in wanted:
        if section not in SPEC:
            raise ParamsError(
                f"params.yaml: no params section is defined for stage '{section}'; "
                f"known: {', '.join(k for k, v in SPEC.items() if isinstance(v, dict))}"
            )
    out = dict(params)
    for section in wanted:
        spec = SPEC[section]
        if section not in params:
            raise ParamsError(f"params.yaml: missing section '{section}'; add it (see README)")
        value = params[section]
        if isinstance(spec, Key):
            _check_value(section, spec, value)
            continue
        if not isinstance(value, dict):
            raise ParamsError(f"params.yaml: '{section}' must be a mapping of keys, got {type(value).__name__}")
        for key in value:
            if key not in spec:
                raise _unknown(f"{section}.{key}", list(spec))
        normalised = {}
        for key, key_spec in spec.items():
            if key not in value and key_spec.optional:
                normalised[key] = copy.deepcopy(key_spec.default)
                continue
            if key not in value:
                raise ParamsError(f"params.yaml: missing key '{section}.{key}'; add it (see README)")
            _check_value(f"{section}.{key}", key_spec, value[key])
            v = value[key]
            if key == "learning_curve_sizes":  # an int 1 would be an absolute size for scikit-learn
                v = [float(x) for x in v]
            normalised[key] = (
                float(v)
                if float in key_spec.types
                and int not in key_spec.types
                and isinstance(v, int)
                and not isinstance(v, bool)
                else v
            )
        out[section] = normalised
        _check_section(section, normalised)
    return out


def optional_defaults(section: str) -> dict[str, Any]:
    """The optional keys of a params section and the values they take when left out."""
    spec = SPEC.get(section)
    if not isinstance(spec, dict):
        return {}
    return {key: copy.deepcopy(k.default) for key, k in spec.items() if k.optional}


def _label_set(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _check_prepare(values: dict[str, Any]) -> None:
    """The prepare keys that depend on each other: the time split and the two label lists."""
    if values["split"] == "time" and values["time_column"] is None:
        raise ParamsError(
            "params.yaml: 'prepare.split' is time but 'prepare.time_column' is not set; "
            "set time_column to the column that dates the rows, or split: stratified"
        )
    if values["date_features"] and values["time_column"] is None:
        raise ParamsError(
            "params.yaml: 'prepare.date_features' needs 'prepare.time_column' (the dates they are derived from); "
            "set time_column or remove date_features"
        )
    if values["time_column"] is not None and values["time_column"] == values["target"]:
        raise ParamsError("params.yaml: 'prepare.time_column' is the target; set it to the column that dates the rows")
    negative = values["negative_label"]
    if negative is None or negative == "rest":
        return
    both = sorted(
        {norm_label(v) for v in _label_set(values["positive_label"])} & {norm_label(v) for v in _label_set(negative)}
    )
    if both:
        raise ParamsError(
            f"params.yaml: label(s) {both} are in both 'prepare.positive_label' and 'prepare.negative_label'; "
            "keep each label on one side"
        )


def _check_section(section: str, values: dict[str, Any]) -> None:
    """Checks that involve several keys of one section."""
    if section == "prepare":
        _check_prepare(values)
    if section == "imbalance" and values["override"] is not None and values["override"] not in values["strategies"]:
        raise ParamsError(
            f"params.yaml: 'imbalance.override' is {values['override']!r}, which is not in 'imbalance.strategies' "
            f"({', '.join(values['strategies'])}); add it to the strategies or set override to null"
        )


def load_params(path: str | Path = PARAMS_FILE, *, sections: list[str] | None = None) -> dict[str, Any]:
    """Read and validate params.yaml.

    Parameters
    ----------
    path : str or Path
        The params file.
    sections : list of str, optional
        Stage sections to validate; default all.

    Returns
    -------
    dict
        The validated params.
    """
    params = read_yaml(path, error=ParamsError, hint="run from the project root or pass --params")
    return validate_params(params, sections=sections)
