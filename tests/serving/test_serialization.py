"""Unit tests of imbalance_lab.serving.serialization: skops files that load only the allowed types."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import FunctionTransformer

from imbalance_lab.errors import ArtifactError
from imbalance_lab.modeling import MODELS, make_pipeline
from imbalance_lab.serving import artifact, serialization
from imbalance_lab.serving.artifact import load_model
from imbalance_lab.serving.serialization import ALLOWLIST, dump_pipeline


def test_pandas_na_is_restored_in_loaded_and_saved_pipeline(tmp_path, fitted, data, save_artifact):
    pipe = fitted["logistic_regression"]
    imputer = pipe.named_steps["preprocess"].named_transformers_["categorical"].named_steps["impute"]
    save_artifact(tmp_path / "m", pipe, data[0])
    assert imputer.missing_values is pd.NA  # the caller's pipeline is left as it was
    loaded = load_model(tmp_path / "m").pipeline
    restored = loaded.named_steps["preprocess"].named_transformers_["categorical"].named_steps["impute"]
    assert restored.missing_values is pd.NA
    # None in an object column is missing too (as with pd.NA), not a category of its own
    rows = pd.DataFrame({"num1": [0.0, 0.0], "num2": [5.0, 5.0], "cat": pd.Series([None, np.nan], dtype=object)})
    proba = loaded.predict_proba(rows)[:, 1]
    assert proba[0] == proba[1]


def _zip_without_schema() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a model")
    return buf.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(np.random.default_rng(0).bytes(4096), id="random-bytes"),
        pytest.param(b'{"threshold": 0.5, "model": "logistic_regression"}\n', id="json-file"),
        pytest.param(_zip_without_schema(), id="zip-without-schema"),
    ],
)
def test_a_file_that_is_not_a_model_is_refused(art, content, rewrite_artifact):
    rewrite_artifact(art, "model.skops", content)
    with pytest.raises(ArtifactError, match=r"model\.skops: not a skops model file"):
        load_model(art)


def test_a_skops_file_holding_something_else_is_refused(art, rewrite_artifact):
    rewrite_artifact(art, "model.skops", sio.dumps({"a": [1, 2, 3]}))
    with pytest.raises(ArtifactError, match="not a fitted classifier pipeline"):
        load_model(art)


CONSTRUCTED: list[str] = []


class Sneaky(TransformerMixin, BaseEstimator):
    """A custom class: loading it would run its code."""

    def fit_model(self, X, y=None):
        return self

    def transform(self, X):
        return X

    def __setstate__(self, state):
        CONSTRUCTED.append("Sneaky")
        self.__dict__.update(state)


def _with_step(fitted_pipe, step) -> Pipeline:
    pipe = Pipeline([("evil", step), *fitted_pipe.steps])
    return pipe


@pytest.mark.parametrize(
    "step, type_name",
    [
        (FunctionTransformer(func=os.system), f"{os.system.__module__}.system"),
        (Sneaky(), f"{__name__}.Sneaky"),
    ],
)
def test_untrusted_types_are_refused_by_name(art, fitted, step, type_name, rewrite_artifact):
    CONSTRUCTED.clear()
    forged = _with_step(fitted["logistic_regression"], step)
    with serialization._na_replaced(forged):  # as save_model does, so only the evil type is unknown
        rewrite_artifact(art, "model.skops", sio.dumps(forged))
    with pytest.raises(ArtifactError) as exc:
        load_model(art)
    message = str(exc.value)
    assert f"refusing to load untrusted type(s) '{type_name}'" in message
    assert "\n" not in message
    assert CONSTRUCTED == []  # refused before anything was constructed


def test_untrusted_types_cannot_be_saved(tmp_path, fitted, data, save_artifact):
    pipe = _with_step(fitted["logistic_regression"], Sneaky())
    with pytest.raises(ArtifactError, match=f"'{__name__}.Sneaky'"):
        save_artifact(tmp_path / "m", pipe, data[0])
    assert not (tmp_path / "m").exists()


def test_allowlist_is_exactly_what_the_project_pipelines_need(data, serving_schema, fast_params):
    """Every registry model, and every imbalance strategy (types of samplers and wrappers do not
    depend on the model, except FoldPositiveWeight around xgboost); SMOTE on > 15 features too."""
    from imbalance_lab import modeling as strategies

    X, y = data
    found: dict[str, str] = {}

    def collect(label, pipe, X=X[serving_schema.features]):
        for type_name in dump_pipeline(pipe.fit(X, y))[1]:  # raises if a type is not allowed
            found.setdefault(type_name, label)

    for name in MODELS:
        collect(name, make_pipeline(name, serving_schema, seed=0, params=fast_params.get(name)))
    for strategy in strategies.STRATEGIES:
        pipe = strategies.make_strategy_pipeline(strategy, "logistic_regression", serving_schema, seed=0)
        if strategy in ("balanced_random_forest", "easy_ensemble"):
            pipe.set_params(model__n_estimators=2)
        collect(strategy, pipe)
    collect(
        "class_weight/xgboost",
        strategies.make_strategy_pipeline(
            "class_weight", "xgboost", serving_schema, seed=0, model_params={"n_estimators": 30}
        ),
    )
    wide_schema = serving_schema.replace(
        numeric=[f"x{i}" for i in range(20)], features=[f"x{i}" for i in range(20)], categorical={}
    )
    wide = pd.DataFrame(np.random.default_rng(1).normal(size=(len(y), 20)), columns=wide_schema.features)
    collect(
        "smote/wide",
        make_pipeline(
            "logistic_regression",
            wide_schema,
            seed=0,
            sampler=strategies.CheckedSampler(SMOTE(random_state=0), strategy="smote"),
        ),
        wide,
    )
    assert sorted(found) == sorted(ALLOWLIST), {t: found.get(t, "not needed") for t in set(found) ^ ALLOWLIST}


SERVING = Path(artifact.__file__).parent


def test_no_pickle_or_joblib_anywhere_in_the_artifact_code():
    pattern = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|_pickle|joblib|cloudpickle|dill)\b", re.MULTILINE)
    for module in sorted(SERVING.glob("*.py")):
        source = module.read_text()
        assert not pattern.search(source), module
        assert "pickle.load" not in source and "joblib.load" not in source, module


def test_an_artifact_saved_by_the_flat_package_loads(art, data, rewrite_artifact, fit_model, save_artifact, tmp_path):
    """Before the subpackages, this package's classes were saved under their old modules
    (imbalance_lab.artifact.PandasNAMarker, imbalance_lab.strategies.CheckedSampler ...)."""
    from imblearn.over_sampling import RandomOverSampler

    from imbalance_lab.modeling import CheckedSampler

    X, y = data
    pipe = fit_model("logistic_regression", X, y, sampler=CheckedSampler(RandomOverSampler(random_state=0)))
    directory = save_artifact(tmp_path / "model", pipe, X)
    content = (directory / "model.skops").read_bytes()
    old = {
        "imbalance_lab.serving.serialization": "imbalance_lab.artifact",
        "imbalance_lab.modeling.samplers": "imbalance_lab.strategies",
    }
    with zipfile.ZipFile(io.BytesIO(content)) as src:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                payload = src.read(info)
                if info.filename == "schema.json":
                    text = payload.decode()
                    for new, before in old.items():
                        assert f'"{new}"' in text
                        text = text.replace(f'"{new}"', f'"{before}"')
                    payload = text.encode()
                dst.writestr(info, payload)
    rewrite_artifact(directory, "model.skops", out.getvalue())
    with zipfile.ZipFile(directory / "model.skops") as z:
        assert "imbalance_lab.strategies" in z.read("schema.json").decode()  # the old names, as saved then
    loaded = load_model(directory)
    features = X[loaded.schema.features]
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(features), pipe.predict_proba(features))
    assert isinstance(loaded.pipeline.named_steps["sample"], CheckedSampler)
