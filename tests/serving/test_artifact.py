"""Unit tests of imbalance_lab.serving.artifact and .serialization: saving, verifying and safely
loading a model."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import zipfile
from importlib import metadata
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
from imbalance_lab.reporting import model_card
from imbalance_lab.serving import artifact, reference_stats, serialization
from imbalance_lab.serving.artifact import load_model
from imbalance_lab.serving.serialization import ALLOWLIST, dump_pipeline

SERVING = Path(artifact.__file__).parent


@pytest.fixture(scope="module")
def data(serving_data):
    return serving_data()


@pytest.fixture(scope="module")
def fitted(data, fit_model):
    X, y = data
    return {name: fit_model(name, X, y) for name in ("logistic_regression", "hist_gradient_boosting", "xgboost")}


@pytest.fixture(scope="module")
def saved(tmp_path_factory, fitted, data, save_artifact):
    """A saved logistic-regression artifact (copy it before modifying)."""
    return save_artifact(tmp_path_factory.mktemp("art") / "model", fitted["logistic_regression"], data[0])


@pytest.fixture
def art(tmp_path, saved):
    import shutil

    return Path(shutil.copytree(saved, tmp_path / "model"))


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, message",
    [
        (
            artifact.FORMAT_VERSION + 1,
            f"artifact format {artifact.FORMAT_VERSION + 1} is newer than this imbalance-lab "
            f"supports ({artifact.FORMAT_VERSION}); upgrade imbalance-lab",
        ),
        ("1", "'format_version' is not a whole number; re-run dvc repro or dvc pull"),
    ],
)
def test_an_artifact_of_another_format_version_is_refused(art, version, message, rewrite_artifact):
    meta = json.loads((art / "model.json").read_text())
    meta["format_version"] = version
    rewrite_artifact(art, "model.json", json.dumps(meta).encode())
    with pytest.raises(ArtifactError) as exc:
        artifact.load_model(art)
    assert str(exc.value) == f"{art / 'model.json'}: {message}"


def test_other_library_versions_load_with_a_warning(art, caplog, rewrite_artifact):
    meta = json.loads((art / "model.json").read_text())
    assert meta["versions"]["scikit-learn"] == artifact.library_versions()["scikit-learn"]
    meta["versions"]["scikit-learn"] = "0.1.0"
    rewrite_artifact(art, "model.json", json.dumps(meta).encode())
    with caplog.at_level(logging.WARNING, logger="imbalance_lab.serving.artifact"):
        artifact.load_model(art)
    assert f"saved with scikit-learn 0.1.0, loading with {artifact.library_versions()['scikit-learn']}" in caplog.text


@pytest.mark.parametrize("name", ["logistic_regression", "hist_gradient_boosting", "xgboost"])
def test_round_trip_gives_identical_probabilities(tmp_path, fitted, data, name, save_artifact, serving_schema):
    X, _ = data
    pipe = fitted[name]
    directory = save_artifact(tmp_path / "models" / "model", pipe, X, threshold=0.27)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        ["MODEL_CARD.md", "manifest.json", "model.json", "model.skops", "reference.json"]
    )
    loaded = load_model(directory)
    assert isinstance(loaded.pipeline, Pipeline)
    features = X[serving_schema.features]
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(features), pipe.predict_proba(features))
    # new rows with an unseen category and missing values too
    new = pd.DataFrame({"num1": [np.nan, 0.3], "num2": [1.0, np.nan], "cat": pd.Series(["zzz", None], dtype=object)})
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(new), pipe.predict_proba(new))
    assert loaded.threshold == 0.27
    assert loaded.schema == serving_schema
    assert loaded.reference == json.loads(json.dumps(reference_stats(X, serving_schema)))
    meta = loaded.meta
    assert meta["versions"]["skops"] == metadata.version("skops")
    assert meta["versions"]["scikit-learn"] == metadata.version("scikit-learn")
    assert set(meta["trusted_types"]) <= ALLOWLIST
    assert meta["metrics"]["cv"]["average_precision"] == 0.41
    assert meta["data_hashes"] == {"data/prepared/train.parquet": "md5:0123"}
    manifest = json.loads((directory / "manifest.json").read_text())
    assert set(manifest["files"]) == {"MODEL_CARD.md", "model.json", "model.skops", "reference.json"}
    if name == "xgboost":
        assert "xgboost.core.Booster" in meta["trusted_types"]


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


def test_same_inputs_give_the_same_bytes(tmp_path, fitted, data, save_artifact):
    pipe = fitted["xgboost"]
    a = save_artifact(tmp_path / "a", pipe, data[0])
    b = save_artifact(tmp_path / "b", pipe, data[0])
    for name in ("model.skops", "model.json", "reference.json", "MODEL_CARD.md", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    with zipfile.ZipFile(a / "model.skops") as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_save_replaces_an_existing_artifact_and_leaves_no_temporary_files(tmp_path, fitted, data, save_artifact):
    directory = save_artifact(tmp_path / "model", fitted["logistic_regression"], data[0], threshold=0.2)
    (directory / "stale.txt").write_text("from an earlier run")
    save_artifact(directory, fitted["xgboost"], data[0], threshold=0.6)
    assert load_model(directory).threshold == 0.6
    assert not (directory / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_failed_save_keeps_the_old_artifact(tmp_path, fitted, data, save_artifact):
    directory = save_artifact(tmp_path / "model", fitted["logistic_regression"], data[0], threshold=0.2)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    bad = Pipeline([("f", FunctionTransformer(func=os.system)), ("model", fitted["logistic_regression"])])
    with pytest.raises(ArtifactError, match="system"):
        save_artifact(directory, bad, data[0])
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_failure_while_writing_leaves_no_half_written_artifact(tmp_path, fitted, data, monkeypatch, save_artifact):
    directory = save_artifact(tmp_path / "model", fitted["logistic_regression"], data[0], threshold=0.2)
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    written = []
    real = artifact.write_bytes

    def failing(path, payload):
        written.append(Path(path).name)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return real(path, payload)

    monkeypatch.setattr(artifact, "write_bytes", failing)
    with pytest.raises(OSError, match="No space"):
        save_artifact(directory, fitted["xgboost"], data[0], threshold=0.7)
    assert len(written) == 3
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    monkeypatch.undo()
    assert load_model(directory).threshold == 0.2


def test_threshold_is_validated(tmp_path, fitted, data, save_artifact):
    with pytest.raises(ValueError, match="threshold"):
        save_artifact(tmp_path / "m", fitted["logistic_regression"], data[0], threshold=1.5)
    assert not (tmp_path / "m").exists()


def test_a_threshold_above_every_score_is_kept(tmp_path, fitted, data, save_artifact):
    """choose_threshold's "predict no positive" with a top score of exactly 1 is the smallest
    float above 1: saved, loaded back and applied, it labels nothing positive."""
    from imbalance_lab import evaluation
    from imbalance_lab import serving as scoring

    threshold = evaluation.choose_threshold([0, 1, 0], [1.0, 0.5, 0.2], objective="cost", cost_fp=5.0, cost_fn=1.0)
    assert threshold == artifact.NOTHING_POSITIVE > 1.0
    directory = save_artifact(tmp_path / "m", fitted["logistic_regression"], data[0], threshold=threshold)
    model = load_model(directory)
    assert model.threshold == threshold
    scored = scoring.score_frame(model, data[0])
    assert scored["label"].sum() == 0 and len(scored) == len(data[0])
    assert "No row is labelled positive" in (directory / "MODEL_CARD.md").read_text()
    with pytest.raises(ValueError, match="threshold"):
        save_artifact(tmp_path / "m2", fitted["logistic_regression"], data[0], threshold=math.nextafter(threshold, 2.0))


def test_model_card_is_written_and_given_card_is_kept(tmp_path, art, fitted, data, save_artifact):
    card = (art / "MODEL_CARD.md").read_text()
    for section in (
        "## Intended use",
        "## Data",
        "## Metrics",
        "## Decision threshold",
        "## Limitations",
        "## Training parameters",
    ):
        assert section in card
    assert "**0.3**" in card and "cv.average_precision | 0.41" in card and "md5:0123" in card
    directory = save_artifact(tmp_path / "m2", fitted["logistic_regression"], data[0], card_markdown="# Mine\n")
    assert (directory / "MODEL_CARD.md").read_text() == "# Mine\n"


def test_model_card_renders_values(serving_schema):
    card = model_card(
        name="xgb",
        schema=serving_schema,
        threshold=0.125,
        metrics={"ap": 0.5, "nested": {"auc": float("nan")}},
        params={"n_estimators": 10},
        limitations=["Only tested on 2024 data."],
    )
    assert card.startswith("# Model card: xgb\n")
    assert "at least **0.125**" in card
    assert "| nested.auc | n/a |" in card
    assert "- Only tested on 2024 data." in card
    assert '"n_estimators": 10' in card
    assert "`cat` (4)" in card and "`id`" in card


@pytest.mark.parametrize(
    "top_k, rows, said",
    [(0.2, 233, "the top 20% of rows by score (233 rows)"), (50, 50, "the top 50 rows by score (50 rows)")],
)
def test_model_card_says_how_its_metrics_were_measured(top_k, rows, said, serving_schema):
    """Without it a reader could not tell a test-set figure from a cross-validated one, what the
    intervals are, what k the top-k metrics use, or what the threshold optimises."""
    card = model_card(
        name="xgb",
        schema=serving_schema,
        threshold=0.125,
        metrics={"average_precision": 0.2},
        params={},
        evaluation={
            "test_rows": 1165,
            "test_positives": 70,
            "n_bootstrap": 1000,
            "confidence": 0.95,
            "top_k": top_k,
            "top_k_rows": rows,
            "threshold_objective": "f1",
        },
    )
    assert "- Measured once, on the held-out test set: 1165 rows, 70 positives (prevalence 6.0%)" in card
    assert "95% stratified bootstrap interval, bias-corrected and accelerated (BCa) (1000 resamples" in card
    assert f"the share of all positives in {said}" in card
    assert "The threshold was chosen to optimise `f1` on the out-of-fold predictions of the training rows" in card
    assert card.index("Measured once") < card.index("## Decision threshold")
    plain = model_card(name="xgb", schema=serving_schema, threshold=0.125, metrics={}, params={})
    assert "Measured once" not in plain and "The threshold was chosen on training data" in plain


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def test_a_flipped_byte_in_the_model_is_refused(art):
    path = art / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError) as exc:
        load_model(art)
    assert str(exc.value) == f"{path}: checksum mismatch; the artifact was modified, re-run dvc repro or dvc pull"
    assert "\n" not in str(exc.value)


def test_edited_model_json_is_refused(art):
    meta = json.loads((art / "model.json").read_text())
    meta["threshold"] = 0.01
    (art / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match=r"model\.json: checksum mismatch"):
        load_model(art)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["files"]["reference.json"].update(sha256="0" * 64), r"reference\.json: checksum mismatch"),
        (lambda m: m["files"].pop("model.skops"), r"does not list \['model\.skops'\]"),
        (lambda m: m["files"].update({"../evil.py": {"sha256": "0" * 64}}), "unexpected file"),
        (lambda m: m.pop("files"), "not a valid manifest"),
    ],
)
def test_edited_manifest_is_refused(art, edit, message):
    manifest = json.loads((art / "manifest.json").read_text())
    edit(manifest)
    (art / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        load_model(art)


def test_manifest_that_is_not_json_is_refused(art):
    (art / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match=r"manifest\.json: not a valid manifest"):
        load_model(art)


@pytest.mark.parametrize("name", ["model.skops", "reference.json", "manifest.json"])
def test_missing_file_is_refused(art, name):
    (art / name).unlink()
    with pytest.raises(ArtifactError, match=rf"{re.escape(name)}: missing"):
        load_model(art)


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="model directory not found"):
        load_model(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ArtifactError, match="not a directory"):
        load_model(tmp_path / "file")


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


def test_a_model_json_of_another_kind_is_refused(art, rewrite_artifact):
    rewrite_artifact(art, "model.json", json.dumps({"hello": 1}).encode())
    with pytest.raises(ArtifactError, match="not an imbalance-lab model description"):
        load_model(art)


# --------------------------------------------------------------------------------------------
# Untrusted types
# --------------------------------------------------------------------------------------------

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
