"""The model artifact: a directory that holds a fitted pipeline safely and verifiably.

Layout of an artifact directory::

    model.skops      the fitted pipeline, serialised with skops (never pickle or joblib)
    model.json       threshold, schema, params, data hashes, metrics, library versions and
                     the types that must be trusted to load model.skops
    reference.json   training reference statistics for drift checks (see :mod:`.drift`)
    MODEL_CARD.md    a human-readable model card
    manifest.json    the sha256 and size of every file above

:func:`save_model` writes the directory atomically (a temporary directory next to it, then a
rename) and checks that what it wrote can be loaded. :func:`load_model` verifies the manifest
before anything is parsed, and loads ``model.skops`` with ``skops.io.loads(trusted=...)``,
where the trusted types are those the file needs *and* :data:`ALLOWLIST` permits; any other
type (a function such as ``posix.system``, a class from an unknown module) is refused by name.

XGBoost: skops serialises ``XGBClassifier`` itself (support added in skops 0.4); the booster is
stored through ``Booster.__getstate__``, XGBoost's own buffer format (UBJSON since XGBoost 2.1),
so only ``xgboost.sklearn.XGBClassifier`` and ``xgboost.core.Booster`` need trusting.

``pandas.NA`` (the ``missing_values`` of the categorical imputers) cannot be restored by skops
(``NAType`` is a singleton without a usable state), so :func:`save_model` swaps it for a marker
object while dumping and :func:`load_model` swaps it back.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import platform
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from .errors import ImbalanceLabError
from .files import write_bytes

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

#: Types that skops does not trust by default but that the project's pipelines need: every
#: registry model (:data:`imbalance_lab.models.MODELS`) and every imbalance strategy
#: (:data:`imbalance_lab.strategies.STRATEGIES`: samplers, class weights, ensembles).
#: ``tests/test_artifact.py`` checks that this is exactly what those pipelines need: add a type
#: here only together with the registry entry that needs it. Everything else is refused.
ALLOWLIST: frozenset[str] = frozenset({
    # this package: the pandas.NA stand-in and the strategy wrappers (plain estimators)
    "imbalance_lab.artifact.PandasNAMarker",
    "imbalance_lab.features.OneHotLastColumns",
    "imbalance_lab.strategies.CheckedBalancedRandomForestClassifier",
    "imbalance_lab.strategies.CheckedEasyEnsembleClassifier",
    "imbalance_lab.strategies.CheckedSampler",
    "imbalance_lab.strategies.FoldPositiveWeight",
    # imbalanced-learn: the pipeline and the samplers
    "imblearn.combine._smote_enn.SMOTEENN",
    "imblearn.combine._smote_tomek.SMOTETomek",
    "imblearn.over_sampling._adasyn.ADASYN",
    "imblearn.over_sampling._random_over_sampler.RandomOverSampler",
    "imblearn.over_sampling._smote.base.SMOTE",
    "imblearn.over_sampling._smote.filter.BorderlineSMOTE",
    "imblearn.pipeline.Pipeline",
    "imblearn.under_sampling._prototype_selection._random_under_sampler.RandomUnderSampler",
    # numpy and the fitted internals of scikit-learn estimators
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    # xgboost: the estimator and its booster (XGBoost's own serialisation, not pickle)
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
})


class ArtifactError(ImbalanceLabError):
    """A model artifact that is missing, incomplete, modified or unsafe to load."""


class PandasNAMarker:
    """Stands in for ``pandas.NA`` inside a saved pipeline (skops cannot restore ``NAType``)."""

    def __repr__(self) -> str:
        return "PandasNAMarker()"


@dataclass(frozen=True)
class LoadedModel:
    """A verified, loaded artifact.

    Attributes
    ----------
    pipeline : imblearn Pipeline
        The fitted pipeline (preprocessing, model).
    threshold : float
        Decision threshold: a score at or above it is labelled positive.
    schema : dict
        The prepared data's schema the model was trained with.
    reference : dict
        Training reference statistics (:func:`imbalance_lab.drift.reference_stats`).
    meta : dict
        The whole of model.json.
    directory : Path
        Where the artifact was loaded from.
    """

    pipeline: Any
    threshold: float
    schema: dict[str, Any]
    reference: dict[str, Any]
    meta: dict[str, Any] = field(repr=False)
    directory: Path


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


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


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _is_na(value: Any) -> bool:
    return value is pd.NA


def _set(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, (dict, list)):
        container[key] = value
    else:
        setattr(container, key, value)


def _swap(obj: Any, match: Any, make: Any, seen: set[int], swaps: list[tuple[Any, Any, Any]]) -> None:
    """Replace values for which ``match(value)`` holds by ``make()`` in estimators, lists, dicts.

    Each replacement is recorded as ``(container, key, old value)`` so it can be undone.
    Tuples are walked but cannot be changed in place (a value directly inside one stays, and
    :func:`dump_pipeline` then refuses the pipeline).
    """
    from sklearn.base import BaseEstimator

    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, tuple):
        for value in obj:
            _swap(value, match, make, seen, swaps)
        return
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, list):
        items = list(enumerate(obj))
    elif isinstance(obj, BaseEstimator):
        items = list(vars(obj).items())
    else:
        return
    for key, value in items:
        if match(value):
            swaps.append((obj, key, value))
            _set(obj, key, make())
        else:
            _swap(value, match, make, seen, swaps)


def _undo(swaps: list[tuple[Any, Any, Any]]) -> None:
    for container, key, old in reversed(swaps):
        _set(container, key, old)


@contextlib.contextmanager
def _na_replaced(pipeline: Any) -> Iterator[None]:
    """Temporarily replace ``pandas.NA`` by :class:`PandasNAMarker` inside ``pipeline``."""
    swaps: list[tuple[Any, Any, Any]] = []
    try:
        _swap(pipeline, _is_na, PandasNAMarker, set(), swaps)
        yield
    finally:
        _undo(swaps)


def _restore_na(pipeline: Any) -> None:
    _swap(pipeline, lambda v: isinstance(v, PandasNAMarker), lambda: pd.NA, set(), [])


def _canonical_skops(data: bytes) -> bytes:
    """The same skops file with reproducible bytes.

    skops names array files after ``id()`` of the objects and byte blobs after random UUIDs,
    records the ids in schema.json and stamps the current time on every zip entry; this
    renumbers ids and files in order of appearance and fixes the timestamps, so the same
    pipeline gives the same bytes in any process.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        return _rewrite_skops(src)


def _rewrite_skops(src: zipfile.ZipFile) -> bytes:
    schema = json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    node[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str):
                    suffix = Path(value).suffix
                    node[key] = files.setdefault(value, f"{len(files) + 1:06d}{suffix}")
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    names = set(src.namelist()) - {"schema.json"}
    if names != set(files):
        raise ValueError("unexpected skops layout: files in the zip and in schema.json differ")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for old, new in sorted(files.items(), key=lambda kv: kv[1]):
            info = zipfile.ZipInfo(new, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(old), compresslevel=6)
        info = zipfile.ZipInfo("schema.json", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        dst.writestr(info, json.dumps(schema, indent=2), compresslevel=6)
    return out.getvalue()


def _untrusted(data: bytes, *, where: str) -> list[str]:
    import skops.io as sio

    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # not a zip, not a skops file, unknown protocol ...
        raise ArtifactError(
            f"{where}: not a skops model file ({type(exc).__name__}); re-run dvc repro or dvc pull"
        ) from None


def _check_allowed(untrusted: list[str], *, where: str, saving: bool = False) -> None:
    refused = [t for t in untrusted if t not in ALLOWLIST]
    if not refused:
        return
    names = ", ".join(repr(t) for t in refused)
    if saving:
        raise ArtifactError(
            f"{where}: holds type(s) {names} that load_model would refuse (not in "
            "imbalance_lab.artifact.ALLOWLIST); build the model from the project's registries, or "
            "review the type and add it to ALLOWLIST with a test"
        )
    raise ArtifactError(
        f"{where}: refusing to load untrusted type(s) {names}; only the types in "
        "imbalance_lab.artifact.ALLOWLIST are loaded: rebuild the model with the project's "
        "pipeline (or extend ALLOWLIST after reviewing the type)"
    )


def _loads(data: bytes, trusted: list[str], *, where: str) -> Any:
    import skops.io as sio

    try:
        obj = sio.loads(data, trusted=trusted)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ArtifactError(
            f"{where}: cannot load the model ({type(exc).__name__}{': ' + msg if msg else ''}); "
            "re-run dvc repro or dvc pull, with the library versions of model.json"
        ) from None
    _restore_na(obj)
    if not (hasattr(obj, "predict_proba") and hasattr(obj, "classes_")):
        raise ArtifactError(f"{where}: holds a {type(obj).__name__}, not a fitted classifier pipeline; re-run dvc repro")
    return obj


def dump_pipeline(pipeline: Any) -> tuple[bytes, list[str]]:
    """Serialise a fitted pipeline with skops.

    Returns
    -------
    (bytes, list of str)
        Reproducible skops bytes and the non-default types needed to load them.

    Raises
    ------
    ArtifactError
        If the pipeline holds a type outside :data:`ALLOWLIST` (it could not be loaded back)
        or the result does not load.
    """
    import skops.io as sio

    with _na_replaced(pipeline):
        raw = sio.dumps(pipeline)
    try:
        data = _canonical_skops(raw)
    except Exception as exc:  # a future skops layout: keep its own bytes
        log.warning("cannot make the skops file reproducible (%s); saving it as skops wrote it", exc)
        data = raw
    untrusted = _untrusted(data, where="pipeline")
    _check_allowed(untrusted, where="pipeline to save", saving=True)
    _loads(data, untrusted, where="pipeline just serialised")  # never save what cannot be loaded
    return data, untrusted


def file_manifest(files: dict[str, bytes]) -> dict[str, Any]:
    """The manifest for ``{file name: content}``."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": {name: {"sha256": sha256_bytes(data), "bytes": len(data)} for name, data in sorted(files.items())},
    }


def _json_bytes(obj: Any) -> bytes:
    """JSON with sorted keys, full float precision, NaN as null: the same object, the same bytes."""

    def clean(o: Any) -> Any:
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if hasattr(o, "item") and not isinstance(o, (str, bytes)):
            o = o.item()
        if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
            return None
        return o

    return (json.dumps(clean(obj), indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


# --------------------------------------------------------------------------------------------
# Model card
# --------------------------------------------------------------------------------------------


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key in sorted(d):
        value = d[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    if value is None:
        return "n/a"
    return str(value).replace("|", "\\|")


def _evaluation_lines(evaluation: dict[str, Any]) -> list[str]:
    """The model card's sentences on how its metrics were measured."""
    lines = []
    rows, positives = evaluation.get("test_rows"), evaluation.get("test_positives")
    if rows:
        share = f" (prevalence {positives / rows:.1%})" if positives is not None else ""
        lines.append(f"- Measured once, on the held-out test set: {rows} rows, {positives} positives{share}; "
                     "no choice (model, strategy, threshold) was made on it.")
    if evaluation.get("n_bootstrap"):
        confidence = float(evaluation.get("confidence", 0.95))
        lines.append(f"- `*_ci_low`, `*_ci_high`: {confidence:.0%} stratified bootstrap interval, bias-corrected and accelerated (BCa) "
                     f"({evaluation['n_bootstrap']} resamples of the test rows, positives and negatives separately).")
    if evaluation.get("top_k") is not None:
        k = evaluation["top_k"]
        what = f"the top {k:.0%} of rows by score" if k < 1 else f"the top {int(k)} rows by score"
        n = f" ({evaluation['top_k_rows']} rows)" if evaluation.get("top_k_rows") else ""
        lines.append(f"- `top_k_capture`, `top_k_lift`: the share of all positives in {what}{n}, and their "
                     "precision over the prevalence.")
    return lines


def model_card(
    *,
    name: str,
    schema: dict[str, Any],
    threshold: float,
    metrics: dict[str, Any],
    params: dict[str, Any],
    data_hashes: dict[str, str] | None = None,
    intended_use: str | None = None,
    limitations: list[str] | None = None,
    evaluation: dict[str, Any] | None = None,
) -> str:
    """Render a model card in Markdown.

    Parameters
    ----------
    name : str
        The model's name (e.g. the registry key).
    schema : dict
        The prepared data's schema (target, positive label, features).
    threshold : float
        The decision threshold.
    metrics : dict
        Evaluation results (nested dicts are flattened to dotted names).
    params : dict
        Training parameters (hyperparameters, imbalance strategy, seed ...).
    data_hashes : dict, optional
        File name -> hash of the data the model was trained and evaluated on.
    intended_use : str, optional
        Replaces the default "intended use" paragraph.
    limitations : list of str, optional
        Added to the default limitations.
    evaluation : dict, optional
        How the metrics were measured, to read them by: ``test_rows``, ``test_positives`` (the
        held-out test set), ``n_bootstrap`` and ``confidence`` (the intervals), ``top_k`` and
        ``top_k_rows`` (what ``top_k_*`` means), ``threshold_objective``.

    Returns
    -------
    str
        The card, ending with a newline.
    """
    target, positive = schema.get("target"), schema.get("positive_label")
    lines = [f"# Model card: {name}", ""]
    lines += ["## Intended use", ""]
    lines.append(intended_use or (
        f"Scores rows for the binary target `{target}` (positive label `{positive}`) and ranks them by "
        "the estimated probability of the positive class. Intended for prioritising cases for review "
        "on data drawn from the same population as the training data; not for automated decisions "
        "about individuals without human review."
    ))
    lines += ["", "Score a file: `imbalance-lab predict --model DIR --input FILE --output FILE`; "
              "check it for drift first: `imbalance-lab drift --model DIR --input FILE`.", ""]
    lines += ["## Data", ""]
    numeric = list(schema.get("numeric", []))
    categorical = dict(schema.get("categorical", {}))
    lines.append(f"- Target: `{target}`, positive label `{positive}`")
    lines.append(f"- Features: {len(schema.get('features', []))} ({len(numeric)} numeric, {len(categorical)} categorical)")
    if categorical:
        cats = ", ".join(f"`{c}` ({len(v)})" for c, v in categorical.items())
        lines.append(f"- Categorical features (number of categories): {cats}")
    if schema.get("id_columns"):
        ids = ", ".join(f"`{c}`" for c in schema["id_columns"])
        if schema.get("id_hash"):
            lines.append(f"- Identifier columns kept as a salted hash (not features; `predict` writes them hashed): {ids}")
        else:
            lines.append(f"- Identifier columns passed through (not features): {ids}")
    if schema.get("dropped_columns"):
        lines.append(f"- Dropped columns: {', '.join(f'`{c}`' for c in schema['dropped_columns'])}")
    if data_hashes:
        lines += ["", "| data file | hash |", "|---|---|"]
        lines += [f"| {_fmt(k)} | `{v}` |" for k, v in sorted(data_hashes.items())]
    lines += ["", "## Metrics", ""]
    rows = _flatten(metrics or {})
    if rows:
        lines += ["| metric | value |", "|---|---|"] + [f"| {_fmt(k)} | {_fmt(v)} |" for k, v in rows]
    else:
        lines.append("No metrics were recorded.")
    if evaluation:
        lines += ["", *_evaluation_lines(evaluation)]
    lines += ["", "## Decision threshold", ""]
    rule = ("No row is labelled positive: the threshold is above every possible score (predicting no positive "
            "was the cheapest choice)." if threshold > 1.0 else
            f"A row is labelled positive when its score is at least **{threshold:.6g}**.")
    objective = (evaluation or {}).get("threshold_objective")
    how = (f"chosen to optimise `{objective}` on the out-of-fold predictions of the training rows" if objective
           else "chosen on training data")
    lines.append(
        f"{rule} The threshold was {how}; when the share of positives or the costs of errors change, choose it again."
    )
    lines += ["", "## Limitations", ""]
    default_limits = [
        "Scores are only as good as the match between new data and the training data: check "
        "new data with `imbalance-lab drift` (exit status 3 means drift) before trusting the scores.",
        "Categories not seen in training are encoded as unknown; many of them degrade the scores.",
        "Scores rank cases; they are calibrated probabilities only if the model was calibrated.",
        "Metrics estimated on a small number of positives are uncertain; see the confidence "
        "intervals of the evaluation report.",
        "No fairness audit is part of this pipeline.",
    ]
    lines += [f"- {item}" for item in default_limits + list(limitations or [])]
    lines += ["", "## Training parameters", "", "```json",
              json.dumps(params or {}, indent=2, sort_keys=True, default=str), "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Save and load
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _atomic_directory(directory: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``directory`` when the block succeeds.

    The old directory (if any) is moved aside, the new one renamed into place and the old one
    removed; a reader sees the old artifact or the new one, never a mix or a partial one.
    """
    if directory.exists() and not directory.is_dir():
        raise ArtifactError(f"{directory}: exists and is not a directory; remove it or choose another path")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if directory.is_symlink():
            directory.unlink()  # the link only, never what it points to
        elif directory.exists():
            old = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".old"))
            os.rmdir(old)
            os.replace(directory, old)
        try:
            os.replace(tmp, directory)
        except BaseException:
            if old is not None:
                os.replace(old, directory)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_model(
    directory: str | Path,
    *,
    pipeline: Any,
    threshold: float,
    schema: dict[str, Any],
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
    schema : dict
        The prepared data's schema.
    reference : dict
        Training reference statistics from :func:`imbalance_lab.drift.reference_stats`.
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
        If the pipeline holds a type outside :data:`ALLOWLIST` or cannot be loaded back.
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
        "schema": schema,
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
            schema=schema, threshold=threshold, metrics=metrics, params=params, data_hashes=data_hashes,
        )
    files = {
        MODEL_FILE: model_bytes,
        META_FILE: _json_bytes(meta),
        REFERENCE_FILE: _json_bytes(reference),
        CARD_FILE: card_markdown.encode(),
    }
    with _atomic_directory(directory) as tmp:
        for name, data in files.items():
            write_bytes(tmp / name, data)
        write_bytes(tmp / MANIFEST_FILE, _json_bytes(file_manifest(files)))
    log.info("saved model artifact %s (%s, threshold %.4g)", directory, meta["estimator"], threshold)
    return directory


def _read_verified(directory: Path) -> dict[str, bytes]:
    """Read the artifact's files and check them against the manifest."""
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "not found"
        raise ArtifactError(f"{directory}: model directory {what}; train the model (dvc repro) or dvc pull")
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ArtifactError(f"{manifest_path}: missing; not a model artifact or an incomplete one, re-run dvc repro or dvc pull")
    try:
        manifest = json.loads(manifest_path.read_bytes())
        listed = manifest["files"]
        if not isinstance(listed, dict) or manifest.get("format") != FORMAT:
            raise TypeError
        hashes = {name: str(entry["sha256"]) for name, entry in listed.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArtifactError(f"{manifest_path}: not a valid manifest; the artifact was modified, re-run dvc repro or dvc pull") from None
    unknown = sorted(set(hashes) - set(ARTIFACT_FILES))
    if unknown:
        raise ArtifactError(f"{manifest_path}: lists unexpected file(s) {unknown}; the artifact was modified, re-run dvc repro or dvc pull")
    unlisted = [n for n in ARTIFACT_FILES if n not in hashes]
    if unlisted:
        raise ArtifactError(f"{manifest_path}: does not list {unlisted}; the artifact was modified, re-run dvc repro or dvc pull")
    contents = {}
    for name in ARTIFACT_FILES:
        path = directory / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ArtifactError(f"{path}: missing; the artifact is incomplete, re-run dvc repro or dvc pull") from None
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot read ({exc.strerror or type(exc).__name__}); check the file's permissions") from None
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
        is not a skops file, or it holds a type outside :data:`ALLOWLIST`.
    """
    directory = Path(directory)
    contents = _read_verified(directory)
    meta_path = directory / META_FILE
    try:
        meta = json.loads(contents[META_FILE])
        reference = json.loads(contents[REFERENCE_FILE])
    except ValueError:
        raise ArtifactError(f"{directory}: model.json or reference.json is not valid JSON; re-run dvc repro or dvc pull") from None
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
    where = str(directory / MODEL_FILE)
    data = contents[MODEL_FILE]
    untrusted = _untrusted(data, where=where)
    _check_allowed(untrusted, where=where)
    _check_versions(meta.get("versions", {}), directory)
    pipeline = _loads(data, untrusted, where=where)
    log.info("loaded model %s (%s)", directory, meta.get("estimator", type(pipeline).__name__))
    return LoadedModel(
        pipeline=pipeline,
        threshold=float(meta["threshold"]),
        schema=meta["schema"],
        reference=reference,
        meta=meta,
        directory=directory,
    )


__all__ = [
    "ALLOWLIST", "ArtifactError", "LoadedModel", "PandasNAMarker", "dump_pipeline", "file_manifest",
    "library_versions", "load_model", "model_card", "save_model",
]
