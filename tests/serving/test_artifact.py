"""Unit tests of imbalance_lab.serving.artifact: saving, verifying and loading a model's directory."""

from __future__ import annotations

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
from imblearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from imbalance_lab.errors import ArtifactError
from imbalance_lab.serving import artifact, reference_stats
from imbalance_lab.serving.artifact import load_model
from imbalance_lab.serving.serialization import ALLOWLIST


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


def test_a_model_json_of_another_kind_is_refused(art, rewrite_artifact):
    rewrite_artifact(art, "model.json", json.dumps({"hello": 1}).encode())
    with pytest.raises(ArtifactError, match="not an imbalance-lab model description"):
        load_model(art)
