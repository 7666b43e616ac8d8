"""Data and prediction drift: compare new data with the training data's reference statistics.

:func:`drift_table` compares new data (and the model's scores on it) with the reference saved in
the model artifact (:mod:`.drift_reference`), one row per feature and one for the scores:

* the population stability index (PSI) over the feature's cells: below and above the training
  range, one cell per training value of a low-cardinality feature or quantile bins otherwise,
  missing values; the training categories, missing and unseen values of a categorical feature;
* a distance that knows scale: the Wasserstein distance in training standard deviations for a
  numeric feature with many values (and the scores), the Jensen-Shannon distance over the cells
  of a categorical or low-cardinality one;
* the two-sample Kolmogorov-Smirnov test (numeric) or the chi-square test (categorical), reported
  as ``significant``: with many rows they flag negligible shifts, so they do not decide.

**The decision rule.** A feature (or the scores) has ``drifted`` when its PSI exceeds the PSI
threshold (0.2, the usual "significant shift") *or* its distance exceeds the distance threshold
(0.1, Evidently's default for both distances), *and* that measure also exceeds its noise
allowance: the value that two samples of the training distribution of these sizes (the
reference's rows and the batch's rows) exceed by chance with probability
``false_alarm_rate / (2 x the number of rows of the table)`` (Bonferroni over both measures of
every feature), simulated from the training shares (:func:`noise_allowances`). So an unshifted
batch raises an alarm in at most about ``false_alarm_rate`` (2 %) of checks at any size, while a
small batch of a feature with many categories, whose PSI is large by chance alone, does not.
:class:`DriftAccumulator` does this over chunks of a large file with bounded memory, and
:func:`drift_file` runs it on a CSV or Parquet file (``imbalance-lab drift``).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ScoringError
from ..io import atomic_path, figure_bytes, json_bytes
from ..modeling.features import MISSING
from ..reporting.figures import drift_figure
from .artifact import load_model
from .drift_reference import UNSEEN, as_categories, as_numbers, cell_counts, n_cells, validate_reference
from .drift_statistics import EPSILON, js_distance, noise_allowance, psi, scaled_wasserstein
from .files import InputFile, check_output
from .scoring import DEFAULT_CHUNKSIZE, positive_scores, scan

#: Exit status of ``imbalance-lab drift`` when a feature or the scores drifted.
DRIFT_EXIT = 3
#: PSI above which a feature may drift, for a model saved without `evaluate.psi_threshold`.
DEFAULT_PSI_THRESHOLD = 0.2
#: Distance (Wasserstein in standard deviations, or Jensen-Shannon) above which a feature may drift.
DISTANCE_THRESHOLD = 0.1
#: Share of unshifted batches allowed to raise an alarm (all features and the scores together):
#: one in 50, a margin below the 5 % that bench/drift_power.py holds it to, for what the
#: allowances leave out (held-out rows are a sample themselves; the simulated tails are estimates).
FALSE_ALARM_RATE = 0.02
#: At most this many non-missing new values per numeric feature enter the KS test and the
#: Wasserstein distance (a seeded random sample when there are more).
KS_SAMPLE = 100_000
#: The row of the model's scores in the drift table.
PREDICTION = "(model score)"

#: The columns of the drift table (:func:`drift_table`), before ``drifted`` and ``significant``.
TABLE_COLUMNS = [
    "feature",
    "kind",
    "cells",
    "psi",
    "psi_noise",
    "distance_name",
    "distance",
    "distance_noise",
    "out_of_range",
    "test",
    "statistic",
    "p_value",
    "missing_ref",
    "missing_new",
    "unseen",
    "mean_ref",
    "mean_new",
]


def _numeric_refs(reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The numeric features' references, then the scores' (under :data:`PREDICTION`) if kept."""
    refs = dict(reference["numeric"])
    if reference.get("prediction") is not None:
        refs[PREDICTION] = reference["prediction"]
    return refs


def _distance_name(ref: dict[str, Any]) -> str:
    return "wasserstein" if ref.get("binning") == "quantiles" else "jensen_shannon"


def _category_cells(ref: dict[str, Any]) -> list[str]:
    return [k for k in ref["shares"] if k != UNSEEN] + [UNSEEN]


def noise_allowances(
    reference: dict[str, Any],
    n: int,
    *,
    scored: bool = True,
    false_alarm_rate: float = FALSE_ALARM_RATE,
    ks_sample: int = KS_SAMPLE,
) -> dict[str, tuple[float, float]]:
    """Each feature's (and the scores') noise allowances of the PSI and the distance for a batch
    of ``n`` rows: ``{feature: (psi_noise, distance_noise)}`` (see the module's decision rule).
    They depend on the reference and ``n`` only, so checks of many batches of one size can share them."""
    numeric = _numeric_refs(reference) if scored else dict(reference["numeric"])
    decisions = 2 * (len(numeric) + len(reference["categorical"]))
    level = 1.0 - false_alarm_rate / max(decisions, 1)
    out: dict[str, tuple[float, float]] = {}
    for i, (col, ref) in enumerate(numeric.items()):
        n_ref = int(ref.get("rows", reference["rows"]))
        n_sample = min(round(n * (1.0 - ref["missing_share"])), ks_sample)
        out[col] = noise_allowance(
            np.append(ref["shares"], ref["missing_share"]),
            n=n,
            n_ref=n_ref,
            level=level,
            seed=i,
            distance=_distance_name(ref),
            sample=ref["sample"],
            std=ref.get("std"),
            n_sample=max(n_sample, 1),
        )
    for i, (col, ref) in enumerate(reference["categorical"].items(), start=len(numeric)):
        shares = [ref["shares"].get(c, 0.0) for c in _category_cells(ref)]
        out[col] = noise_allowance(
            shares, n=n, n_ref=int(reference["rows"]), level=level, seed=i, distance="jensen_shannon"
        )
    return out


class DriftAccumulator:
    """Counts and samples of new data (and of the model's scores), fed chunk by chunk, for :meth:`table`.

    Parameters
    ----------
    reference : dict
        From :func:`imbalance_lab.serving.drift_reference.reference_stats`.
    ks_sample : int
        At most this many new values per numeric feature are kept for the KS test and the
        Wasserstein distance.
    seed : int
        Seed of that sample; the result does not depend on how the data is chunked.
    """

    def __init__(self, reference: dict[str, Any], *, ks_sample: int = KS_SAMPLE, seed: int = 0) -> None:
        validate_reference(reference)
        self.reference = reference
        self.ks_sample = int(ks_sample)
        self.rows = 0
        self.scored_rows = 0
        self.flagged = 0
        self._refs = _numeric_refs(reference)
        self._bins = {c: np.zeros(n_cells(r) + 1, dtype="int64") for c, r in self._refs.items()}
        self._rngs = {c: np.random.default_rng([seed, i]) for i, c in enumerate(self._refs)}
        self._keys = {c: np.empty(0) for c in self._refs}
        self._values = {c: np.empty(0) for c in self._refs}
        self._cells = {c: _category_cells(r) for c, r in reference["categorical"].items()}
        self._counts = {c: dict.fromkeys(cells, 0) for c, cells in self._cells.items()}

    def _add(self, col: str, values: np.ndarray) -> None:
        self._bins[col] += cell_counts(values, self._refs[col])
        present = values[~np.isnan(values)]
        keys = np.concatenate([self._keys[col], self._rngs[col].random(len(present))])
        kept = np.concatenate([self._values[col], present])
        if len(keys) > self.ks_sample:  # keep the values with the smallest random keys
            idx = np.argpartition(keys, self.ks_sample)[: self.ks_sample]
            keys, kept = keys[idx], kept[idx]
        self._keys[col], self._values[col] = keys, kept

    def update(self, X: pd.DataFrame, *, scores: np.ndarray | None = None) -> DriftAccumulator:
        """Add a chunk of new data (every reference feature must be a column) and, optionally,
        the model's scores of its rows; returns self."""
        missing = [c for c in [*self.reference["numeric"], *self._cells] if c not in X.columns]
        if missing:
            raise ValueError(f"column(s) {missing} of the reference are missing from the new data")
        self.rows += len(X)
        for col in self.reference["numeric"]:
            self._add(col, as_numbers(X[col]))
        for col, counts in self._counts.items():
            values = as_categories(X[col])
            counts[MISSING] += int(values.isna().sum())
            for value, count in values.value_counts(dropna=True).items():
                key = value if value in counts and value not in (MISSING, UNSEEN) else UNSEEN
                counts[key] += int(count)
        if scores is not None and PREDICTION in self._refs:
            scores = np.asarray(scores, dtype="float64")
            if len(scores) != len(X):
                raise ValueError(f"{len(scores)} scores for {len(X)} rows")
            self._add(PREDICTION, scores)
            self.scored_rows += len(scores)
            self.flagged += int((scores >= self._refs[PREDICTION]["threshold"]).sum())
        return self

    @property
    def scored(self) -> bool:
        """Whether the scores of every row were added (the table then has the scores' row)."""
        return PREDICTION in self._refs and self.rows > 0 and self.scored_rows == self.rows

    def table(
        self,
        *,
        psi_threshold: float = DEFAULT_PSI_THRESHOLD,
        distance_threshold: float = DISTANCE_THRESHOLD,
        p_threshold: float = 0.01,
        false_alarm_rate: float = FALSE_ALARM_RATE,
        noise: dict[str, tuple[float, float]] | None = None,
    ) -> pd.DataFrame:
        """The drift table of the data added so far (see :func:`drift_table`); ``noise`` from
        :func:`noise_allowances` for this many rows, computed when not given."""
        if noise is None and self.rows:
            noise = noise_allowances(
                self.reference,
                self.rows,
                scored=self.scored,
                false_alarm_rate=false_alarm_rate,
                ks_sample=self.ks_sample,
            )
        columns = [c for c in self._refs if c != PREDICTION or self.scored]
        rows = [self._numeric_row(col, noise=noise) for col in columns]
        rows += [self._categorical_row(col, noise=noise) for col in self.reference["categorical"]]
        table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        for col in ("mean_ref", "out_of_range", "statistic", "p_value"):
            table[col] = pd.to_numeric(table[col], errors="coerce")
        by_psi = (table["psi"] > psi_threshold) & (table["psi"] > table["psi_noise"])
        by_distance = (table["distance"] > distance_threshold) & (table["distance"] > table["distance_noise"])
        table["drifted"] = by_psi | by_distance
        table["significant"] = table["p_value"] < p_threshold
        severity = np.fmax(table["psi"] / psi_threshold, table["distance"] / distance_threshold)
        table = table.assign(_severity=severity.fillna(0.0))
        table = table.sort_values(["drifted", "_severity", "feature"], ascending=[False, False, True])
        table = table.drop(columns="_severity").reset_index(drop=True)
        table.attrs.update(
            psi_threshold=float(psi_threshold),
            distance_threshold=float(distance_threshold),
            p_threshold=float(p_threshold),
            false_alarm_rate=float(false_alarm_rate),
            rows=int(self.rows),
            prediction=self._prediction_summary(table) if self.scored else None,
        )
        return table

    def _numeric_row(self, col: str, *, noise: dict[str, tuple[float, float]] | None) -> dict[str, Any]:
        """A numeric feature's (or the scores') row: PSI, distance and KS test."""
        ref, counts, n = self._refs[col], self._bins[col], self.rows
        expected = np.append(ref["shares"], ref["missing_share"])
        actual = counts / n if n else np.full(len(counts), np.nan)
        sample_values = np.asarray(ref["sample"]["values"], dtype="float64")
        sample_counts = np.asarray(ref["sample"]["counts"], dtype="int64")
        new = self._values[col]
        name = _distance_name(ref)
        if not n:
            distance = math.nan
        elif name == "wasserstein":
            distance = scaled_wasserstein(sample_values, sample_counts, new, std=ref.get("std"))
        else:
            distance = js_distance(expected, actual)
        if len(sample_values) and len(new):
            reference_sample = np.repeat(sample_values, sample_counts)
            # the exact p-value costs seconds with 10 000 tied values; the asymptotic one is as good there
            method = "auto" if len(reference_sample) * len(new) <= 1_000_000 else "asymp"
            ks = stats.ks_2samp(reference_sample, new, method=method)
            statistic, p_value = float(ks.statistic), float(ks.pvalue)
        else:
            statistic = p_value = math.nan
        psi_noise, distance_noise = noise[col] if noise else (math.nan, math.nan)
        return {
            "feature": col,
            "kind": "prediction" if col == PREDICTION else "numeric",
            "cells": ref["binning"],
            "psi": psi(expected, actual) if n else math.nan,
            "psi_noise": psi_noise,
            "distance_name": name,
            "distance": distance,
            "distance_noise": distance_noise,
            "out_of_range": float((counts[0] + counts[-2]) / n) if n else math.nan,
            "test": "ks",
            "statistic": statistic,
            "p_value": p_value,
            "missing_ref": float(ref["missing_share"]),
            "missing_new": float(counts[-1] / n) if n else math.nan,
            "unseen": 0,
            "mean_ref": ref.get("mean"),
            "mean_new": float(new.mean()) if len(new) else math.nan,
        }

    def _categorical_row(self, col: str, *, noise: dict[str, tuple[float, float]] | None) -> dict[str, Any]:
        """A categorical feature's row: PSI and Jensen-Shannon distance over its cells, chi-square test."""
        ref, cells, n = self.reference["categorical"][col], self._cells[col], self.rows
        observed = np.array([self._counts[col][c] for c in cells], dtype="float64")
        expected = np.array([ref["shares"].get(c, 0.0) for c in cells], dtype="float64")
        if n:
            f_exp = np.clip(expected, EPSILON, None)
            chi = stats.chisquare(observed, f_exp / f_exp.sum() * n)
            statistic, p_value = float(chi.statistic), float(chi.pvalue)
            value, distance = psi(expected, observed / n), js_distance(expected, observed / n)
        else:
            statistic = p_value = value = distance = math.nan
        psi_noise, distance_noise = noise[col] if noise else (math.nan, math.nan)
        return {
            "feature": col,
            "kind": "categorical",
            "cells": "categories",
            "psi": value,
            "psi_noise": psi_noise,
            "distance_name": "jensen_shannon",
            "distance": distance,
            "distance_noise": distance_noise,
            "out_of_range": math.nan,
            "test": "chi2",
            "statistic": statistic,
            "p_value": p_value,
            "missing_ref": float(ref["shares"].get(MISSING, 0.0)),
            "missing_new": float(self._counts[col][MISSING] / n) if n else math.nan,
            "unseen": int(self._counts[col][UNSEEN]),
            "mean_ref": math.nan,
            "mean_new": math.nan,
        }

    def _prediction_summary(self, table: pd.DataFrame) -> dict[str, Any]:
        ref = self._refs[PREDICTION]
        row = table.loc[table["feature"] == PREDICTION].iloc[0]
        summary = {
            "threshold": float(ref["threshold"]),
            "flagged_share_ref": float(ref["flagged_share"]),
            "flagged_share_new": float(self.flagged / self.scored_rows),
            "precision_ref": ref.get("precision"),
            "recall_ref": ref.get("recall"),
            "positive_share_ref": float(ref["positive_share"]),
            "drifted": bool(row["drifted"]),
        }
        summary["note"] = prediction_note(summary)
        return summary


def prediction_note(summary: dict[str, Any]) -> str:
    """What the change in the share of flagged rows means for precision at the deployed threshold.

    Parameters
    ----------
    summary : dict
        ``threshold``, ``flagged_share_ref`` (training rows out of fold), ``flagged_share_new``,
        ``precision_ref`` (may be None) and ``drifted``.
    """
    ref, new, t = summary["flagged_share_ref"], summary["flagged_share_new"], summary["threshold"]
    line = f"{new:.1%} of the rows score at or above the threshold {t:.3g} against {ref:.1%} of the training rows out of fold"
    precision = summary.get("precision_ref")
    if precision is None or ref <= 0 or new <= 0 or math.isclose(new, ref, rel_tol=0.1):
        return line + (": about the same share." if ref > 0 and math.isclose(new, ref, rel_tol=0.1) else ".")
    if new > ref:
        return (
            f"{line}. If positives are no more common than in training, the extra flags are false "
            f"alarms and precision at the threshold falls from {precision:.2f} to about {precision * ref / new:.2f}; "
            "if they are more common, precision rises instead. Check the labels of a sample before acting."
        )
    return (
        f"{line}. If positives are as common as in training, the model now misses some it used to flag "
        f"(recall falls to at most {new / ref:.0%} of its training value); precision ({precision:.2f} in training) "
        "tells little until labels arrive."
    )


def drift_table(
    reference: dict[str, Any],
    X_new: pd.DataFrame,
    *,
    scores: np.ndarray | None = None,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    distance_threshold: float = DISTANCE_THRESHOLD,
    p_threshold: float = 0.01,
    false_alarm_rate: float = FALSE_ALARM_RATE,
    noise: dict[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Per-feature (and prediction) drift of new data against the training reference.

    Parameters
    ----------
    reference : dict
        From :func:`imbalance_lab.serving.drift_reference.reference_stats`.
    X_new : DataFrame
        New data with every reference feature as a column (categoricals as text, missing as
        NaN, as :func:`imbalance_lab.serving.inputs.check_input` prepares them).
    scores : array-like, optional
        The model's scores of these rows; with a reference that keeps the training scores, the
        table gets their row (:data:`PREDICTION`).
    psi_threshold, distance_threshold : float
        The thresholds of the decision rule (see the module's docstring).
    p_threshold : float
        A test p-value below this is ``significant`` (informational).
    false_alarm_rate : float
        Share of unshifted batches allowed to raise an alarm; sets the noise allowances.
    noise : dict, optional
        :func:`noise_allowances` for ``len(X_new)`` rows (computed when not given).

    Returns
    -------
    DataFrame
        One row per feature, drifted ones first, then by how far past its threshold the PSI or
        the distance is: ``feature, kind ("numeric", "categorical" or "prediction"), cells
        ("values", "quantiles" or "categories"), psi, psi_noise, distance_name ("wasserstein" or
        "jensen_shannon"), distance, distance_noise, out_of_range (share of rows outside the
        training range), test ("ks" or "chi2"), statistic, p_value, missing_ref, missing_new,
        unseen (new values of categories not seen in training), mean_ref, mean_new, drifted,
        significant``. The thresholds, the row count and the scores' summary (``prediction``,
        with a sentence on what it means for precision) are in ``table.attrs``.
    """
    return (
        DriftAccumulator(reference)
        .update(X_new, scores=scores)
        .table(
            psi_threshold=psi_threshold,
            distance_threshold=distance_threshold,
            p_threshold=p_threshold,
            false_alarm_rate=false_alarm_rate,
            noise=noise,
        )
    )


def drift_file(
    model_dir: str | Path,
    input_path: str | Path,
    *,
    report_path: str | Path | None = None,
    figure_path: str | Path | None = None,
    psi_threshold: float | None = None,
    distance_threshold: float = DISTANCE_THRESHOLD,
    p_threshold: float = 0.01,
    chunksize: int = DEFAULT_CHUNKSIZE,
) -> tuple[pd.DataFrame, bool]:
    """Compare a CSV or Parquet file with the model's training data.

    Parameters
    ----------
    model_dir : str or Path
        A model artifact directory.
    input_path : str or Path
        New data (``*.csv`` or ``*.parquet``), read in chunks.
    report_path : str or Path, optional
        Where to write the JSON report (thresholds, rows, drifted features, the table).
    figure_path : str or Path, optional
        Where to write the chart of the PSI and the distance per feature (``*.png``, ``*.svg``
        or ``*.pdf``). The report and the figure are checked before the input is read, and
        replace existing files only when both are written.
    psi_threshold : float, optional
        The PSI threshold of the decision rule. Default: the one the model was trained with
        (``evaluate.psi_threshold``, kept in the model's params), else 0.2.
    distance_threshold : float
        The distance threshold of the decision rule.
    p_threshold : float
        See :func:`drift_table`.
    chunksize : int
        Rows read at a time.

    Returns
    -------
    (DataFrame, bool)
        The drift table and whether any feature (or the scores) drifted.
    """
    input_path = Path(input_path)
    report_path = None if report_path is None else Path(report_path)
    figure_path = None if figure_path is None else Path(figure_path)
    if report_path is not None:
        check_output(report_path, input_path=input_path, hint="a file name for the JSON report")
    figure_format = None
    if figure_path is not None:
        check_output(figure_path, input_path=input_path, hint="a file name ending in .png, .svg or .pdf")
        figure_format = figure_path.suffix.lower().lstrip(".")
        if figure_format not in ("png", "svg", "pdf"):
            raise ScoringError(
                f"{figure_path}: cannot tell the figure format from the file name; name it *.png, *.svg or *.pdf"
            )
        if report_path is not None and (report_path.resolve() == figure_path.resolve()):
            raise ScoringError(f"{figure_path}: is also the report's path; give the report and the figure two names")
    model = load_model(model_dir)
    if psi_threshold is None:
        psi_threshold = float((model.meta.get("params") or {}).get("psi_threshold", DEFAULT_PSI_THRESHOLD))
    if not psi_threshold > 0:
        raise ScoringError(f"--psi-threshold must be positive, got {psi_threshold}")
    if not distance_threshold > 0:
        raise ScoringError(f"--distance-threshold must be positive, got {distance_threshold}")
    try:
        acc = DriftAccumulator(model.reference)
    except ValueError as exc:
        raise ScoringError(
            f"{model.directory / 'reference.json'}: not valid training statistics ({exc}); "
            "re-train the model (dvc repro evaluate) to check drift"
        ) from None
    if not model.reference["numeric"] and not model.reference["categorical"]:
        raise ScoringError(f"{model.directory / 'reference.json'}: holds no training statistics; re-train the model")
    source = InputFile(input_path, model.schema, chunksize=chunksize)
    # both outputs go to temporary files made before the scan (so an unwritable directory stops
    # it before any work) and replace their targets only when both are written
    with contextlib.ExitStack() as stack:
        report_tmp = (
            stack.enter_context(atomic_path(report_path, error=ScoringError)) if report_path is not None else None
        )
        figure_tmp = (
            stack.enter_context(atomic_path(figure_path, error=ScoringError)) if figure_path is not None else None
        )

        def visit(checked: Any, _chunk: pd.DataFrame) -> None:
            scores = positive_scores(model, checked.X) if model.reference.get("prediction") else None
            acc.update(checked.X, scores=scores)

        counts = scan(model, source, visit, desc=f"drift {input_path.name}")
        if counts["rows"] == 0:
            raise ScoringError(f"{input_path}: no data rows; drift needs rows to compare")
        table = acc.table(psi_threshold=psi_threshold, distance_threshold=distance_threshold, p_threshold=p_threshold)
        drifted = bool(table["drifted"].any())
        if report_tmp is not None:
            report = {
                "input": str(input_path),
                "model": str(model.directory),
                "rows": counts["rows"],
                "psi_threshold": psi_threshold,
                "distance_threshold": distance_threshold,
                "false_alarm_rate": table.attrs["false_alarm_rate"],
                "p_threshold": p_threshold,
                "drifted": drifted,
                "drifted_features": table.loc[table["drifted"] & (table["kind"] != "prediction"), "feature"].tolist(),
                "prediction": table.attrs["prediction"],
                "unseen_categories": counts["unseen_categories"],
                "features": table.to_dict(orient="records"),
            }
            report_tmp.write_bytes(json_bytes(report))
        if figure_tmp is not None:
            figure = drift_figure(table)
            figure_tmp.write_bytes(figure_bytes(figure, format=figure_format, dpi=120))
    return table, drifted
