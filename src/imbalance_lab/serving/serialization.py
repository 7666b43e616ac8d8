"""A fitted pipeline as skops bytes, and back, loading only the types it must.

:func:`dump_pipeline` serialises a pipeline with reproducible bytes (the same pipeline gives the
same bytes in any process) and refuses one that :func:`load_pipeline` would not load;
:func:`load_pipeline` loads only the types that the file needs *and* :data:`ALLOWLIST` permits:
any other type (a function such as ``posix.system``, a class from an unknown module) is refused
by name. skops, not pickle or joblib: loading a pickle runs whatever code it names.

``pandas.NA`` (the ``missing_values`` of the categorical imputers) cannot be restored by skops
(``NAType`` is a singleton without a usable state), so it is swapped for
:class:`PandasNAMarker` while dumping and swapped back after loading.

Files saved before the package was split into subpackages name this package's classes by their
old modules (``imbalance_lab.strategies.CheckedSampler``); :func:`load_pipeline` reads them under
their new names (:data:`MOVED_TYPES`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ArtifactError

log = logging.getLogger(__name__)

#: Types that skops does not trust by default but that the project's pipelines need: every
#: registry model (:data:`imbalance_lab.modeling.MODELS`) and every imbalance strategy
#: (:data:`imbalance_lab.modeling.STRATEGIES`: samplers, class weights, ensembles).
#: ``tests/serving/test_serialization.py`` checks that this is exactly what those pipelines need: add
#: a type here only together with the registry entry that needs it. Everything else is refused.
ALLOWLIST: frozenset[str] = frozenset(
    {
        # this package: the pandas.NA stand-in and the strategy wrappers (plain estimators)
        "imbalance_lab.serving.serialization.PandasNAMarker",
        "imbalance_lab.modeling.features.ColumnwiseImputer",
        "imbalance_lab.modeling.features.ColumnwiseScaler",
        "imbalance_lab.modeling.features.FrameTransformer",
        "imbalance_lab.modeling.features.OneHotLastColumns",
        "imbalance_lab.modeling.samplers.CheckedBalancedRandomForestClassifier",
        "imbalance_lab.modeling.samplers.CheckedEasyEnsembleClassifier",
        "imbalance_lab.modeling.samplers.CheckedSampler",
        "imbalance_lab.modeling.samplers.FoldPositiveWeight",
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
    }
)

#: This package's classes saved in artifacts, by the module they were defined in before the
#: package was split into subpackages -> the module that defines them now.
MOVED_TYPES: dict[tuple[str, str], str] = {
    ("imbalance_lab.artifact", "PandasNAMarker"): "imbalance_lab.serving.serialization",
    ("imbalance_lab.features", "OneHotLastColumns"): "imbalance_lab.modeling.features",
    ("imbalance_lab.strategies", "CheckedBalancedRandomForestClassifier"): "imbalance_lab.modeling.samplers",
    ("imbalance_lab.strategies", "CheckedEasyEnsembleClassifier"): "imbalance_lab.modeling.samplers",
    ("imbalance_lab.strategies", "CheckedSampler"): "imbalance_lab.modeling.samplers",
    ("imbalance_lab.strategies", "FoldPositiveWeight"): "imbalance_lab.modeling.samplers",
}


class PandasNAMarker:
    """Stands in for ``pandas.NA`` inside a saved pipeline (skops cannot restore ``NAType``)."""

    def __repr__(self) -> str:
        return "PandasNAMarker()"


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
            "imbalance_lab.serving.serialization.ALLOWLIST); build the model from the project's registries, or "
            "review the type and add it to ALLOWLIST with a test"
        )
    raise ArtifactError(
        f"{where}: refusing to load untrusted type(s) {names}; only the types in "
        "imbalance_lab.serving.serialization.ALLOWLIST are loaded: rebuild the model with the project's "
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
        raise ArtifactError(
            f"{where}: holds a {type(obj).__name__}, not a fitted classifier pipeline; re-run dvc repro"
        )
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


def _moved_types_renamed(data: bytes) -> bytes:
    """``data`` (a skops file) with the classes of :data:`MOVED_TYPES` under their current
    modules; the same bytes when it names none of them."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = json.loads(src.read("schema.json"))
        renamed = 0

        def walk(node: Any) -> None:
            nonlocal renamed
            if isinstance(node, dict):
                moved = MOVED_TYPES.get((node.get("__module__"), node.get("__class__")))
                if moved is not None:
                    node["__module__"] = moved
                    renamed += 1
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        if not renamed:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, json.dumps(schema, indent=2) if info.filename == "schema.json" else src.read(info))
    return out.getvalue()


def load_pipeline(data: bytes, *, where: str) -> Any:
    """Load a fitted pipeline from skops bytes written by :func:`dump_pipeline` (or by an earlier
    version of this package: :data:`MOVED_TYPES`).

    Parameters
    ----------
    data : bytes
        The skops file.
    where : str
        The file's name, for messages.

    Raises
    ------
    ArtifactError
        ``data`` is not a skops file, holds a type outside :data:`ALLOWLIST`, or does not load
        as a fitted classifier.
    """
    with contextlib.suppress(zipfile.BadZipFile, KeyError, ValueError):  # not a skops file: _untrusted says so
        data = _moved_types_renamed(data)
    untrusted = _untrusted(data, where=where)
    _check_allowed(untrusted, where=where)
    return _loads(data, untrusted, where=where)
