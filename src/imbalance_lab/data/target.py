"""The binary target: the declared positive label(s) against the negative one(s), as 0/1: the one
other class, a list of labels, or every other class (one-vs-rest)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .values import map_distinct

log = logging.getLogger(__name__)


def norm_label(value: Any) -> str:
    """A label as text, spelled one way: ``1``, ``1.0`` and ``"1"`` are ``"1"``; booleans and their
    text are ``"true"`` and ``"false"``; other text is stripped."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    try:  # "1", "1.0" and 1 are the same label
        number = float(text)
    except ValueError:
        return text.lower() if text.lower() in ("true", "false") else text
    return str(int(number)) if number.is_integer() else repr(number)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TargetMapping:
    """The target column mapped to 0/1.

    Attributes
    ----------
    y : Series
        0/1 (int8), aligned with the values.
    classes : list of dict
        Per label as written in the data: ``label`` (the text, or the number as text), ``class``
        (the label as compared with params: whitespace stripped, ``1.0`` as ``1``), ``rows`` and
        ``side`` (``positive`` or ``negative``); positives first, then by label.
    stripped : list of str
        Labels written with surrounding whitespace (ignored when matching).
    """

    y: pd.Series
    classes: list[dict[str, Any]]
    stripped: list[str]


def _labels(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _positive_missing(positive_label: Any, classes: list[str], *, source: str, target: str) -> DataError:
    """No positive label occurs: the classes there are, and the YAML boolean hint."""
    hint = ""
    text_classes = not all(_is_number(c) or c in ("true", "false") for c in classes)
    if isinstance(positive_label, (bool, np.bool_)) and text_classes:  # YAML: unquoted yes/no are booleans
        words = ("yes", "y", "on") if positive_label else ("no", "n", "off")
        meant = next((c for c in classes if c.lower() in words), words[0])
        hint = f' (quote it in params.yaml: positive_label: "{meant}")'
    what = (
        f"positive label {positive_label!r} never occurs"
        if not isinstance(positive_label, (list, tuple))
        else f"none of the positive labels {list(positive_label)!r} occurs"
    )
    return DataError(
        f"{source}: {what} in target column '{target}' (values: {classes[:10]}); "
        f"set prepare.positive_label to one of them{hint}"
    )


def _negative_classes(
    classes: list[str], positives: set[str], negative_label: Any, counts: dict[str, int], *, source: str, target: str
) -> set[str]:
    """The classes on the negative side, or the one-line error that says why there are none."""
    others = [c for c in classes if c not in positives]
    if not others:
        raise DataError(
            f"{source}: every class of target column '{target}' ({classes[:10]}) is a positive label; "
            "leave at least one class out of prepare.positive_label"
        )
    if negative_label == "rest":
        return set(others)
    if negative_label is None:
        if len(others) != 1:
            raise DataError(
                f"{source}: target column '{target}' has {len(classes)} classes {classes[:10]}; a binary target "
                "with exactly two classes is needed: set negative_label: rest in prepare (every class but the "
                "positive one(s) is negative), list each side's labels in positive_label and negative_label, or "
                "filter the rows or map the classes to two before the pipeline"
            )
        return set(others)
    negatives = {norm_label(v) for v in _labels(negative_label)}
    neither = [c for c in others if c not in negatives]
    if neither:
        rows = ", ".join(f"{c!r} ({counts[c]} row{'s' if counts[c] != 1 else ''})" for c in neither[:5])
        raise DataError(
            f"{source}: label(s) {rows} of target column '{target}' are in neither prepare.positive_label nor "
            "prepare.negative_label; add them to one of the two, or set negative_label: rest"
        )
    return negatives & set(others)


def map_target(
    values: pd.Series, *, positive_label: Any, negative_label: Any = None, source: str, target: str
) -> TargetMapping:
    """Map a target column to 0/1: the positive label(s) against the negative one(s).

    Parameters
    ----------
    values : Series
        The target column (no missing values).
    positive_label : scalar or list
        The label(s) counted as positive.
    negative_label : scalar, list, "rest" or None
        The label(s) counted as negative; ``"rest"``: every other class; None: the one other
        class (an error when there are more).
    source, target : str
        Names for messages.

    Raises
    ------
    DataError
        One class only, no positive label present, no negative class, more than two classes without
        ``negative_label``, or a class in neither list.
    """
    written = map_distinct(values, lambda v: v if isinstance(v, str) else norm_label(v))
    labels = map_distinct(written, norm_label)
    classes = sorted(labels.unique())
    counts = {str(k): int(v) for k, v in labels.value_counts(sort=False).items()}
    if len(classes) == 1:  # before the label check: the fix is more rows, not another label
        raise DataError(
            f"{source}: target column '{target}' has only one class ({classes[0]!r}); a binary target "
            "needs rows of both classes: add rows of the other class, or check prepare.target"
        )
    listed = {norm_label(v) for v in _labels(positive_label)}
    positives = listed & set(classes)
    if not positives:
        raise _positive_missing(positive_label, classes, source=source, target=target)
    negatives = _negative_classes(classes, positives, negative_label, counts, source=source, target=target)
    listed_negative = set() if negative_label in (None, "rest") else {norm_label(v) for v in _labels(negative_label)}
    absent = sorted((listed | listed_negative) - set(classes))
    if absent:
        log.warning("%s: label(s) %s listed in params never occur in target column '%s'", source, absent, target)
    table = []
    for label, rows in written.value_counts(sort=False).items():
        cls = norm_label(label)
        table.append({"label": str(label), "class": cls, "rows": int(rows), "side": _side(cls, positives, negatives)})
    table.sort(key=lambda r: (r["side"] != "positive", r["label"]))
    stripped = sorted(r["label"] for r in table if r["label"] != r["label"].strip())
    return TargetMapping((labels.isin(positives)).astype("int8"), table, stripped)


def _side(cls: str, positives: set[str], negatives: set[str]) -> str:
    return "positive" if cls in positives else "negative" if cls in negatives else "none"


def encode_target(
    values: pd.Series, *, positive_label: Any, source: str, target: str, negative_label: Any = None
) -> pd.Series:
    """Map a target column to 0/1 with the declared positive label(s) (:func:`map_target`'s ``y``).

    Raises a :class:`DataError` when the label never occurs or the classes do not map to two sides.
    """
    return map_target(
        values, positive_label=positive_label, negative_label=negative_label, source=source, target=target
    ).y


def describe_target(mapping: TargetMapping) -> str:
    """One paragraph (Markdown) on how the target's labels were mapped, for the prepare report."""
    sides = {}
    for row in mapping.classes:
        rows = f"{row['rows']} row{'s' if row['rows'] != 1 else ''}"
        sides.setdefault(row["side"], []).append(f"`{row['label']}` ({rows})")
    text = "; ".join(f"{side}: {', '.join(labels)}" for side, labels in sides.items())
    note = f"Target labels as written in the data, by side: {text}."
    if mapping.stripped:
        shown = ", ".join(repr(label) for label in mapping.stripped[:10])
        note += f" Surrounding whitespace in labels is ignored: {shown} matched as written without it."
    return note
