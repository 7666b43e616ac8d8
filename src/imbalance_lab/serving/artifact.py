"""The model artifact: a directory that holds a fitted pipeline safely and verifiably.

Layout of an artifact directory::

    model.skops      the fitted pipeline, serialised with skops (never pickle or joblib)
    model.json       threshold, schema, params, data hashes, metrics, library versions and
                     the types that must be trusted to load model.skops
    reference.json   training reference statistics for drift checks (:mod:`.drift`)
    MODEL_CARD.md    a human-readable model card
    manifest.json    the sha256 and size of every file above

:func:`save_model` writes the directory atomically (a temporary directory next to it, then a
rename) and checks that what it wrote can be loaded. :func:`load_model` verifies the manifest
before anything is parsed, then loads ``model.skops`` trusting only the types it must
(:mod:`imbalance_lab.serving.serialization`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ..data.schema import Schema
from ..errors import ArtifactError
from ..io import atomic_directory, json_bytes, sha256_bytes, write_bytes
from ..reporting.model_card import model_card
from .serialization import dump_pipeline, load_pipeline

log = logging.getLogger(__name__)

FORMAT = "imbalance-lab-model"
FORMAT_VERSION = 1

MODEL_FILE = "model.skops"
META_FILE = "model.json"
REFERENCE_FILE = "reference.json"
CARD_FILE = "MODEL_CARD.md"
MANIFEST_FILE = "manifest.json"
#: Every file of an artifact except the manifest, which lists their hashes.
ARTIFACT_FILES = (MODEL_FILE, META_FILE, REFERENCE_FILE, CARD_FILE)

#: The highest threshold a model can have: the smallest float above 1 (no score reaches it).
NOTHING_POSITIVE = math.nextafter(1.0, math.inf)

#: Libraries whose versions are recorded in model.json and compared on load.
VERSIONED = ("scikit-learn", "imbalanced-learn", "xgboost", "skops", "numpy", "scipy", "pandas")


@dataclass(frozen=True)
class LoadedModel:
    """A verified, loaded artifact.

    Attributes
    ----------
    pipeline : imblearn Pipeline
        The fitted pipeline (preprocessing, model).
    threshold : float
        Decision threshold: a score at or above it is labelled positive.
    schema : Schema
        The prepared data's schema the model was trained with.
    reference : dict
        Training reference statistics (:func:`imbalance_lab.serving.drift.reference_stats`).
    meta : dict
        The whole of model.json.
    directory : Path
        Where the artifact was loaded from.
    """

    pipeline: Any
    threshold: float
    schema: Schema
    reference: dict[str, Any]
    meta: dict[str, Any] = field(repr=False)
    directory: Path


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries a saved model depends on (``None`` if absent)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    if versions.get("xgboost") is None:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions["xgboost"] = metadata.version("xgboost-cpu")
    return versions


def file_manifest(files: dict[str, bytes]) -> dict[str, Any]:
    """The manifest for ``{file name: content}``."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": {name: {"sha256": sha256_bytes(data), "bytes": len(data)} for name, data in sorted(files.items())},
    }


def save_model(
    directory: str | Path,
    *,
    pipeline: Any,
    threshold: float,
    schema: Schema,
    reference: dict[str, Any],
    params: dict[str, Any],
    data_hashes: dict[str, str],
    metrics: dict[str, Any],
    card_markdown: str | None = None,
) -> Path:
    """Write a model artifact directory atomically.

    Parameters
    ----------
    directory : str or Path
        The artifact directory; replaced as a whole if it exists.
    pipeline : fitted pipeline
        The fitted (imblearn or sklearn) pipeline; must have ``predict_proba``.
    threshold : float
        Decision threshold in [0, 1].
    schema : Schema
        The prepared data's schema.
    reference : dict
        Training reference statistics from :func:`imbalance_lab.serving.drift.reference_stats`.
    params : dict
        Training parameters (model name, hyperparameters, strategy, seed ...).
    data_hashes : dict
        Data file -> hash (e.g. the DVC md5 of the prepared data).
    metrics : dict
        Evaluation results to record.
    card_markdown : str, optional
        The model card; rendered by :func:`model_card` when omitted.

    Returns
    -------
    Path
        The artifact directory.

    Raises
    ------
    ArtifactError
        If the pipeline holds a type outside
        :data:`~imbalance_lab.serving.serialization.ALLOWLIST` or cannot be loaded back.
    """
    directory = Path(directory)
    threshold = float(threshold)
    # the smallest float above 1 is a threshold too: no score reaches it (a cost objective that
    # finds predicting no positive cheapest, with a score of exactly 1, chooses it)
    if not (math.isfinite(threshold) and 0.0 <= threshold <= NOTHING_POSITIVE):
        raise ValueError(f"threshold must be within [0, 1] (or {NOTHING_POSITIVE!r}: no positive), got {threshold}")
    if not hasattr(pipeline, "predict_proba"):
        raise ValueError(f"pipeline must have predict_proba, got {type(pipeline).__name__}")
    if not hasattr(pipeline, "classes_"):
        raise ValueError("pipeline must be fitted before it is saved")
    if directory.exists() and not directory.is_dir():
        raise ArtifactError(f"{directory}: exists and is not a directory; remove it or choose another path")
    model_bytes, trusted = dump_pipeline(pipeline)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "threshold": threshold,
        "schema": schema.to_dict(),
        "params": params,
        "data_hashes": data_hashes,
        "metrics": metrics,
        "versions": library_versions(),
        "trusted_types": trusted,
        "pipeline": [name for name, _ in getattr(pipeline, "steps", [])],
        "estimator": type(getattr(pipeline, "steps", [(None, pipeline)])[-1][1]).__name__,
    }
    if card_markdown is None:
        card_markdown = model_card(
            name=str(params.get("model", meta["estimator"])) if isinstance(params, dict) else meta["estimator"],
            schema=schema,
            threshold=threshold,
            metrics=metrics,
            params=params,
            data_hashes=data_hashes,
        )
    files = {
        MODEL_FILE: model_bytes,
        META_FILE: json_bytes(meta, digits=None),
        REFERENCE_FILE: json_bytes(reference, digits=None),
        CARD_FILE: card_markdown.encode(),
    }
    with atomic_directory(directory, error=ArtifactError) as tmp:
        for name, data in files.items():
            write_bytes(tmp / name, data)
        write_bytes(tmp / MANIFEST_FILE, json_bytes(file_manifest(files), digits=None))
    log.info("saved model artifact %s (%s, threshold %.4g)", directory, meta["estimator"], threshold)
    return directory


def _read_verified(directory: Path) -> dict[str, bytes]:
    """Read the artifact's files and check them against the manifest."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "not found"
        raise ArtifactError(f"{directory}: model directory {what}; train the model (dvc repro) or dvc pull")
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ArtifactError(
            f"{manifest_path}: missing; not a model artifact or an incomplete one, re-run dvc repro or dvc pull"
        )
    try:
        manifest = json.loads(manifest_path.read_bytes())
        listed = manifest["files"]
        if not isinstance(listed, dict) or manifest.get("format") != FORMAT:
            raise TypeError
        hashes = {name: str(entry["sha256"]) for name, entry in listed.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArtifactError(
            f"{manifest_path}: not a valid manifest; the artifact was modified, re-run dvc repro or dvc pull"
        ) from None
    unknown = sorted(set(hashes) - set(ARTIFACT_FILES))
    if unknown:
        raise ArtifactError(
            f"{manifest_path}: lists unexpected file(s) {unknown}; the artifact was modified, re-run dvc repro or dvc pull"
        )
    unlisted = [n for n in ARTIFACT_FILES if n not in hashes]
    if unlisted:
        raise ArtifactError(
            f"{manifest_path}: does not list {unlisted}; the artifact was modified, re-run dvc repro or dvc pull"
        )
    contents = {}
    for name in ARTIFACT_FILES:
        path = directory / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"{path}: missing; the artifact is incomplete, re-run dvc repro or dvc pull") from None
        except OSError as exc:
            raise ArtifactError(
                f"{path}: cannot read ({exc.strerror or type(exc).__name__}); check the file's permissions"
            ) from None
        if sha256_bytes(data) != hashes[name]:
            raise ArtifactError(f"{path}: checksum mismatch; the artifact was modified, re-run dvc repro or dvc pull")
        contents[name] = data
    return contents


def _check_versions(recorded: dict[str, Any], where: Path) -> None:
    installed = library_versions()
    for lib in VERSIONED:
        was, now = recorded.get(lib), installed.get(lib)
        if was and now and was != now:
            log.warning("%s: saved with %s %s, loading with %s; predictions may differ", where, lib, was, now)


def load_model(directory: str | Path) -> LoadedModel:
    """Verify and load a model artifact.

    Parameters
    ----------
    directory : str or Path
        A directory written by :func:`save_model`.

    Returns
    -------
    LoadedModel

    Raises
    ------
    ArtifactError
        If the directory or a file is missing, a file does not match the manifest, model.skops
        is not a skops file, or it holds a type outside
        :data:`~imbalance_lab.serving.serialization.ALLOWLIST`.
    """
    directory = Path(directory)
    contents = _read_verified(directory)
    meta_path = directory / META_FILE
    try:
        meta = json.loads(contents[META_FILE])
        reference = json.loads(contents[REFERENCE_FILE])
    except ValueError:
        raise ArtifactError(
            f"{directory}: model.json or reference.json is not valid JSON; re-run dvc repro or dvc pull"
        ) from None
    if not isinstance(reference, dict):
        raise ArtifactError(f"{directory / REFERENCE_FILE}: not reference statistics; re-run dvc repro or dvc pull")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_path}: not an imbalance-lab model description; re-run dvc repro or dvc pull")
    if not isinstance(meta.get("format_version", 0), int):
        raise ArtifactError(f"{meta_path}: 'format_version' is not a whole number; re-run dvc repro or dvc pull")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ArtifactError(
            f"{meta_path}: artifact format {meta.get('format_version')} is newer than this imbalance-lab "
            f"supports ({FORMAT_VERSION}); upgrade imbalance-lab"
        )
    for key in ("threshold", "schema"):
        if key not in meta:
            raise ArtifactError(f"{meta_path}: '{key}' is missing; re-run dvc repro or dvc pull")
    try:
        schema = Schema.from_dict(meta["schema"])
    except (TypeError, ValueError) as exc:
        raise ArtifactError(
            f"{meta_path}: 'schema' is not a data schema ({exc}); re-run dvc repro or dvc pull"
        ) from None
    _check_versions(meta.get("versions", {}), directory)
    pipeline = load_pipeline(contents[MODEL_FILE], where=str(directory / MODEL_FILE))
    log.info("loaded model %s (%s)", directory, meta.get("estimator", type(pipeline).__name__))
    return LoadedModel(
        pipeline=pipeline,
        threshold=float(meta["threshold"]),
        schema=schema,
        reference=reference,
        meta=meta,
        directory=directory,
    )
