"""The model card: a human-readable Markdown page saved with every model artifact."""

from __future__ import annotations

import json
import math
from typing import Any

from ..data.schema import Schema


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


def out_of_time_sentence(schema: Schema) -> str:
    """What an out-of-time test set means for the metrics (``schema.test_from`` set), else ''."""
    if schema.test_from is None:
        return ""
    return (
        f"**The test set is out of time**: the rows with `{schema.time_column}` from {schema.test_from} on (the "
        "latest period); the model was trained and validated on earlier rows only, so the test metrics "
        "estimate how it does on a period it never saw."
    )


def _evaluation_lines(evaluation: dict[str, Any]) -> list[str]:
    """The model card's sentences on how its metrics were measured."""
    lines = []
    rows, positives = evaluation.get("test_rows"), evaluation.get("test_positives")
    if rows:
        share = f" (prevalence {positives / rows:.1%})" if positives is not None else ""
        lines.append(
            f"- Measured once, on the held-out test set: {rows} rows, {positives} positives{share}; "
            "no choice (model, strategy, threshold) was made on it."
        )
    if evaluation.get("n_bootstrap"):
        confidence = float(evaluation.get("confidence", 0.95))
        lines.append(
            f"- `*_ci_low`, `*_ci_high`: {confidence:.0%} stratified bootstrap interval, bias-corrected and accelerated (BCa) "
            f"({evaluation['n_bootstrap']} resamples of the test rows, positives and negatives separately)."
        )
    if evaluation.get("top_k") is not None:
        k = evaluation["top_k"]
        what = f"the top {k:.0%} of rows by score" if k < 1 else f"the top {int(k)} rows by score"
        n = f" ({evaluation['top_k_rows']} rows)" if evaluation.get("top_k_rows") else ""
        lines.append(
            f"- `top_k_capture`, `top_k_lift`: the share of all positives in {what}{n}, and their "
            "precision over the prevalence."
        )
    return lines


def model_card(
    *,
    name: str,
    schema: Schema,
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
    schema : Schema
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
    lines = [f"# Model card: {name}", "", "## Intended use", ""]
    lines.append(intended_use or _default_use(schema))
    lines += [
        "",
        "Score a file: `imbalance-lab predict --model DIR --input FILE --output FILE`; "
        "check it for drift first: `imbalance-lab drift --model DIR --input FILE`.",
        "",
    ]
    lines += ["## Data", "", *_data_lines(schema, data_hashes)]
    lines += ["", "## Metrics", ""]
    rows = _flatten(metrics or {})
    if rows:
        lines += ["| metric | value |", "|---|---|"] + [f"| {_fmt(k)} | {_fmt(v)} |" for k, v in rows]
    else:
        lines.append("No metrics were recorded.")
    if evaluation:
        lines += ["", *_evaluation_lines(evaluation)]
    if schema.test_from is not None:
        lines += ["", out_of_time_sentence(schema)]
    lines += [
        "",
        "## Decision threshold",
        "",
        _threshold_sentence(threshold, (evaluation or {}).get("threshold_objective")),
    ]
    lines += ["", "## Limitations", ""]
    lines += [f"- {item}" for item in DEFAULT_LIMITATIONS + list(limitations or [])]
    lines += [
        "",
        "## Training parameters",
        "",
        "```json",
        json.dumps(params or {}, indent=2, sort_keys=True, default=str),
        "```",
        "",
    ]
    return "\n".join(lines)


#: What every model card says its model cannot do.
DEFAULT_LIMITATIONS = [
    "Scores are only as good as the match between new data and the training data: check "
    "new data with `imbalance-lab drift` (exit status 3 means drift) before trusting the scores.",
    "Categories not seen in training are encoded as unknown; many of them degrade the scores.",
    "Scores rank cases; they are calibrated probabilities only if the model was calibrated.",
    "Metrics estimated on a small number of positives are uncertain; see the confidence "
    "intervals of the evaluation report.",
    "No fairness audit is part of this pipeline.",
]


def _default_use(schema: Schema) -> str:
    return (
        f"Scores rows for the binary target `{schema.target}` (positive label `{schema.positive_label}`) and ranks "
        "them by the estimated probability of the positive class. Intended for prioritising cases for review "
        "on data drawn from the same population as the training data; not for automated decisions "
        "about individuals without human review."
    )


def _data_lines(schema: Schema, data_hashes: dict[str, str] | None) -> list[str]:
    """The card's lines on the target, the features, the id and dropped columns and the data hashes."""
    numeric, categorical = list(schema.numeric), dict(schema.categorical)
    lines = [
        f"- Target: `{schema.target}`, positive label `{schema.positive_label}`",
        f"- Features: {len(schema.features)} ({len(numeric)} numeric, {len(categorical)} categorical)",
    ]
    if categorical:
        cats = ", ".join(f"`{c}` ({len(v)})" for c, v in categorical.items())
        lines.append(f"- Categorical features (number of categories): {cats}")
    if schema.id_columns:
        ids = ", ".join(f"`{c}`" for c in schema.id_columns)
        if schema.id_hash:
            lines.append(
                f"- Identifier columns kept as a salted hash (not features; `predict` writes them hashed): {ids}"
            )
        else:
            lines.append(f"- Identifier columns passed through (not features): {ids}")
    if schema.dropped_columns:
        lines.append(f"- Dropped columns: {', '.join(f'`{c}`' for c in schema.dropped_columns)}")
    if data_hashes:
        lines += ["", "| data file | hash |", "|---|---|"]
        lines += [f"| {_fmt(k)} | `{v}` |" for k, v in sorted(data_hashes.items())]
    return lines


def _threshold_sentence(threshold: float, objective: str | None) -> str:
    rule = (
        "No row is labelled positive: the threshold is above every possible score (predicting no positive "
        "was the cheapest choice)."
        if threshold > 1.0
        else f"A row is labelled positive when its score is at least **{threshold:.6g}**."
    )
    how = (
        f"chosen to optimise `{objective}` on the out-of-fold predictions of the training rows"
        if objective
        else "chosen on training data"
    )
    return (
        f"{rule} The threshold was {how}; when the share of positives or the costs of errors change, choose it again."
    )
