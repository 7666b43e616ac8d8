"""Score new data with a saved model.

:func:`predict_file` reads CSV or Parquet in chunks (bounded memory), checks every chunk against
the model's schema (:func:`imbalance_lab.serving.inputs.check_input`) and stops with a one-line
:class:`~imbalance_lab.errors.ScoringError` naming the file and column (or line) when the data
does not fit. The scores go to a temporary file that is renamed at the end, so a failed run
leaves no partial output and an existing file as it was.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.ids import ID_HASH, SALT_ENV, hash_ids
from ..errors import ScoringError
from ..io import atomic_path
from .artifact import LoadedModel, load_model
from .files import InputFile, OutputFile, output_format
from .inputs import CheckedInput, check_input, short_list

log = logging.getLogger(__name__)

DEFAULT_CHUNKSIZE = 100_000
#: Environment variable holding the salt of ``prepare.hash_columns`` (the prepare stage's,
#: :data:`imbalance_lab.data.ids.SALT_ENV`); ``predict --salt-env`` names another.
DEFAULT_SALT_ENV = SALT_ENV


def _positive_column(pipeline: Any) -> int:
    classes = [int(c) if isinstance(c, (int, np.integer)) else c for c in pipeline.classes_]
    if 1 not in classes:
        raise ScoringError(f"the model's classes are {classes}, without the positive class 1; re-train the model")
    return classes.index(1)


def positive_scores(model: LoadedModel, X: pd.DataFrame) -> np.ndarray:
    """The model's probability of the positive class for checked features ``X`` (float64)."""
    if not len(X):
        return np.empty(0, dtype="float64")
    return model.pipeline.predict_proba(X)[:, _positive_column(model.pipeline)].astype("float64")


def _score_checked(model: LoadedModel, checked: CheckedInput) -> pd.DataFrame:
    out = checked.ids.copy()
    score = positive_scores(model, checked.X)
    out["score"] = score
    out["label"] = (score >= model.threshold).astype("int8")
    return out


def score_frame(model: LoadedModel, df: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
    """Score new rows.

    Parameters
    ----------
    model : LoadedModel
        From :func:`imbalance_lab.serving.load_model`.
    df : DataFrame
        New rows with the schema's feature columns (extra columns are ignored).
    source : str
        Name of the data, for messages.

    Returns
    -------
    DataFrame
        The schema's id columns present in ``df``, ``score`` (probability of the positive
        class) and ``label`` (1 when ``score >= model.threshold``, else 0).
    """
    return _score_checked(model, check_input(df, model.schema, source=source))


def _progress(total: int | None, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="rows", unit_scale=True, desc=desc, disable=None, leave=False)


def scan(
    model: LoadedModel, source: InputFile, visit: Callable[[CheckedInput, pd.DataFrame], None], *, desc: str
) -> dict[str, Any]:
    """Check every chunk of ``source`` and pass it to ``visit``; returns counts."""
    if source.extra_columns:
        log.warning(
            "%s: ignoring %d column(s) the model does not use: %s",
            source.path,
            len(source.extra_columns),
            short_list(source.extra_columns),
        )
    rows = 0
    unseen = dict.fromkeys(model.schema.categorical, 0)
    with _progress(source.total, desc) as bar:
        for chunk in source.chunks():
            checked = check_input(
                chunk, model.schema, source=str(source.path), row_offset=rows, warn=False, id_columns=source.id_columns
            )
            visit(checked, chunk)
            rows += len(chunk)
            for col, n in checked.unseen.items():
                unseen[col] += n
            bar.update(len(chunk))
    if any(unseen.values()):
        log.warning(
            "%s: values of categories not seen in training: %s",
            source.path,
            ", ".join(f"{c} {n}" for c, n in unseen.items() if n),
        )
    return {"rows": rows, "unseen_categories": unseen, "extra_columns": source.extra_columns}


def _id_salt(model: LoadedModel, source: InputFile, *, salt_env: str, keep_ids: bool) -> str | None:
    """The salt for the input's id columns, or None when they are written as they are."""
    method = model.schema.id_hash
    if keep_ids or not method or not source.id_columns:
        return None
    if method != ID_HASH:
        raise ScoringError(
            f"{model.directory}: the model's id columns were hashed as {method!r}, which this imbalance-lab "
            f"cannot reproduce ({ID_HASH!r}); upgrade imbalance-lab or pass --keep-ids"
        )
    salt = os.environ.get(salt_env)
    if not salt:
        raise ScoringError(
            f"{source.path}: the model keeps the id column(s) {short_list(source.id_columns)} as a salted hash but "
            f"${salt_env} is unset or empty; export it with the salt prepare used (or name the variable with "
            "--salt-env), or pass --keep-ids to write the ids as they are"
        )
    return salt


def predict_file(
    model_dir: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    *,
    chunksize: int = DEFAULT_CHUNKSIZE,
    salt_env: str = DEFAULT_SALT_ENV,
    keep_ids: bool = False,
    id_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Score a CSV or Parquet file in chunks and write the scores.

    Parameters
    ----------
    model_dir : str or Path
        A model artifact directory (:func:`imbalance_lab.serving.save_model`).
    input_path : str or Path
        ``*.csv`` (separator detected; ``*.tsv`` and compressed CSV too) or ``*.parquet``.
    output_path : str or Path
        ``*.csv`` (``*.csv.gz``, ``*.csv.bz2``, ``*.csv.xz`` compressed) or ``*.parquet``, not
        the input file: the id columns of the input (schema ``id_columns``),
        ``score`` and ``label``, one row per input row in input order. Written to a temporary
        file and renamed at the end: on error nothing is left behind.
    chunksize : int
        Rows read, checked and scored at a time.
    salt_env : str
        When the model's schema says its id columns are salted hashes (``prepare.hash_columns``),
        they are hashed the same way with the salt in this environment variable, so the output
        holds the hashes the prepared data holds and never the raw ids.
    keep_ids : bool
        Write the id columns as they are in the input (e.g. prepared data, already hashed).
    id_columns : sequence of str, optional
        The input's columns to write as ids, instead of the schema's ``id_columns`` (for
        new data whose id column has another name). Hashed like the schema's when the model
        keeps its ids hashed, unless ``keep_ids``.

    Returns
    -------
    dict
        ``rows``, ``positives`` (rows labelled 1), ``threshold``, ``unseen_categories``
        (column -> count), ``extra_columns``, ``input``, ``output``.
    """
    if chunksize < 1:
        raise ValueError(f"chunksize must be positive, got {chunksize}")
    input_path, output_path = Path(input_path), Path(output_path)
    out_format = output_format(output_path, input_path=input_path)
    model = load_model(model_dir)
    source = InputFile(input_path, model.schema, chunksize=chunksize, id_columns=id_columns)
    if id_columns is None:
        lost = [c for c in model.schema.id_columns if c not in source.id_columns]
        if lost:
            log.warning(
                "%s: the model's id column(s) %s are not in the input, so the output has no %s (its rows "
                "are in input order); pass --id-column NAME to write another column as the id",
                input_path,
                short_list(lost),
                "ids" if len(lost) == len(model.schema.id_columns) else "column(s) " + short_list(lost),
            )
    salt = _id_salt(model, source, salt_env=salt_env, keep_ids=keep_ids)
    if salt is not None:
        source.ids_as_text = False  # read them as prepare read the raw data
    positives = 0
    columns = [*source.id_columns, "score", "label"]
    with atomic_path(output_path, error=ScoringError) as tmp:
        out = OutputFile(tmp, out_format, suffix=output_path.suffix)
        try:

            def visit(checked: CheckedInput, _chunk: pd.DataFrame) -> None:
                nonlocal positives
                scored = _score_checked(model, checked)
                if salt is not None:
                    for col in source.id_columns:
                        scored[col] = hash_ids(scored[col], salt)
                positives += int(scored["label"].sum())
                out.write(scored)

            counts = scan(model, source, visit, desc=f"scoring {input_path.name}")
            if counts["rows"] == 0:
                out.write(
                    pd.DataFrame(
                        {
                            c: pd.Series(dtype="float64" if c == "score" else "int8" if c == "label" else "object")
                            for c in columns
                        }
                    )
                )
        finally:
            out.close()
    summary = {
        "input": str(input_path),
        "output": str(output_path),
        "threshold": model.threshold,
        "positives": positives,
        **counts,
    }
    log.info(
        "%s: scored %d row(s), %d labelled positive (threshold %.4g); wrote %s",
        input_path,
        counts["rows"],
        positives,
        model.threshold,
        output_path,
    )
    return summary
