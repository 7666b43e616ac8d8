"""The binary target: the declared positive label against the other class, as 0/1."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .values import map_distinct


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


def encode_target(values: pd.Series, *, positive_label: Any, source: str, target: str) -> pd.Series:
    """Map a target column to 0/1 with the declared positive label.

    Raises a :class:`DataError` when the label never occurs or there are not exactly two classes.
    """
    labels = map_distinct(values, norm_label)
    classes = sorted(labels.unique())
    positive = norm_label(positive_label)
    if len(classes) == 1:  # before the label check: the fix is more rows, not another label
        raise DataError(
            f"{source}: target column '{target}' has only one class ({classes[0]!r}); a binary target "
            "needs rows of both classes: add rows of the other class, or check prepare.target"
        )
    if positive not in classes:
        hint = ""
        text_classes = not all(_is_number(c) or c in ("true", "false") for c in classes)
        if isinstance(positive_label, (bool, np.bool_)) and text_classes:  # YAML: unquoted yes/no are booleans
            words = ("yes", "y", "on") if positive_label else ("no", "n", "off")
            meant = next((c for c in classes if c.lower() in words), words[0])
            hint = f' (quote it in params.yaml: positive_label: "{meant}")'
        raise DataError(
            f"{source}: positive label {positive_label!r} never occurs in target column '{target}' "
            f"(values: {classes[:10]}); set prepare.positive_label to one of them{hint}"
        )
    if len(classes) != 2:
        raise DataError(
            f"{source}: target column '{target}' has {len(classes)} classes {classes[:10]}; a binary target "
            "with exactly two classes is needed: filter the rows or map the classes to two before the pipeline"
        )
    return (labels == positive).astype("int8")
