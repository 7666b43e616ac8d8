"""Data drift: compare new data with reference statistics of the training data.

:func:`reference_stats` summarises the training features once (saved in the model artifact's
reference.json); :func:`drift_table` compares new data with it, feature by feature:

* numeric features: the population stability index (PSI) over quantile bins of the training
  data plus a missing-value bin, and the two-sample Kolmogorov-Smirnov test against a stored
  sample of training values;
* categorical features: the PSI over the training categories plus a missing and an "unseen"
  cell, and a chi-square goodness-of-fit test of the counts against the training shares.

A feature is ``drifted`` when its PSI exceeds the threshold (0.2 is the usual "significant
shift" rule of thumb; 0.1-0.2 is a moderate one) and the PSI that sampling alone gives at this
many rows (``psi_noise``, :func:`psi_noise`): a small batch of a feature with many categories
leaves most cells empty by chance, and 200 rows of the training data's own 400 cities had a PSI
of 2.5. The tests' p-values are reported as well
(``significant``); with many rows they flag even negligible shifts, so they do not decide.
:class:`DriftAccumulator` does the same over chunks of a large file with bounded memory, and
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

from ..data.schema import Schema
from ..errors import ScoringError
from ..io import atomic_path, figure_bytes, json_bytes
from ..modeling.features import MISSING
from ..reporting.figures import drift_figure
from .artifact import load_model
from .files import InputFile, check_output
from .scoring import DEFAULT_CHUNKSIZE, scan

#: Exit status of ``imbalance-lab drift`` when at least one feature drifted.
DRIFT_EXIT = 3
#: PSI above which a feature drifts, for a model saved without `evaluate.psi_threshold`.
DEFAULT_PSI_THRESHOLD = 0.2

#: Cell of values not seen in training (categorical features).
UNSEEN = "__unseen__"


#: Shares are clipped at this value in the PSI and the chi-square test (empty cells).
EPSILON = 1e-4


#: At most this many non-missing new values per numeric feature enter the KS test (a seeded
#: random sample when there are more).
KS_SAMPLE = 100_000


REFERENCE_VERSION = 1


def _numeric(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (``len(edges) + 1`` bins, left-closed) followed by the missing count."""
    present = values[~np.isnan(values)]
    idx = np.searchsorted(edges, present, side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype("int64")
    return np.append(counts, len(values) - len(present))


def _category_values(values: pd.Series) -> pd.Series:
    """Values as text, missing as NaN (the form categoricals are compared in)."""
    return values.astype(object).map(lambda v: np.nan if pd.isna(v) else str(v))


def reference_stats(
    X: pd.DataFrame, schema: Schema, *, n_bins: int = 10, sample_size: int = 5000, seed: int = 0
) -> dict[str, Any]:
    """Reference statistics of the training features for later drift checks.

    Parameters
    ----------
    X : DataFrame
        Training features (as :func:`imbalance_lab.data.split_xy` returns them).
    schema : Schema
        The prepared data's schema (its ``numeric`` and ``categorical`` columns).
    n_bins : int
        Number of quantile bins per numeric feature (fewer when values repeat).
    sample_size : int
        At most this many non-missing values per numeric feature are kept for the KS test.
    seed : int
        Seed of that sample (the same data gives the same sample).

    Returns
    -------
    dict
        JSON-serialisable: ``{"version", "rows", "n_bins", "numeric": {col: {"edges",
        "shares", "missing_share", "sample": {"values", "counts"}, "mean", "std"}},
        "categorical": {col: {"shares": {category: share, "__missing__": share}}}}``;
        ``shares`` of numeric features are per bin, bins split at ``edges`` (left-closed);
        the KS sample is stored as its distinct values and their counts.
    """
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2, got {n_bins}")
    n = len(X)
    if n == 0:
        raise ValueError("cannot compute reference statistics of an empty frame")
    rng = np.random.default_rng(seed)
    numeric: dict[str, Any] = {}
    for col in schema.numeric:
        values = _numeric(X[col])
        present = values[~np.isnan(values)]
        if len(present):
            quantiles = np.quantile(present, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
            edges = np.unique(quantiles)
        else:
            edges = np.array([], dtype="float64")
        counts = _bin_counts(values, edges)
        sample = rng.choice(present, size=sample_size, replace=False) if len(present) > sample_size else present
        sample_values, sample_counts = np.unique(sample, return_counts=True)  # compact for discrete data
        numeric[col] = {
            "edges": edges.tolist(),
            "shares": (counts[:-1] / n).tolist(),
            "missing_share": float(counts[-1] / n),
            "sample": {"values": sample_values.tolist(), "counts": sample_counts.tolist()},
            "mean": float(present.mean()) if len(present) else None,
            "std": float(present.std(ddof=1)) if len(present) > 1 else None,
        }
    categorical: dict[str, Any] = {}
    for col, categories in schema.categorical.items():
        values = _category_values(X[col])
        counts = values.value_counts(dropna=True)
        shares = {str(c): float(counts.get(str(c), 0) / n) for c in categories}
        shares[MISSING] = float(values.isna().sum() / n)
        other = int(counts.drop(labels=[str(c) for c in categories], errors="ignore").sum())
        if other:
            shares[UNSEEN] = float(other / n)
        categorical[col] = {"shares": shares}
    return {
        "version": REFERENCE_VERSION,
        "rows": int(n),
        "n_bins": int(n_bins),
        "numeric": numeric,
        "categorical": categorical,
    }


def validate_reference(reference: Any) -> None:
    """Raise ``ValueError`` naming the first problem if ``reference`` is not from :func:`reference_stats`."""
    if not isinstance(reference, dict) or reference.get("version") != REFERENCE_VERSION:
        version = reference.get("version") if isinstance(reference, dict) else None
        raise ValueError(f"reference statistics version {version!r}, expected {REFERENCE_VERSION}")
    numeric, categorical = reference.get("numeric"), reference.get("categorical")
    if not isinstance(numeric, dict) or not isinstance(categorical, dict):
        raise ValueError("'numeric' and 'categorical' must be mappings")
    for col, ref in numeric.items():
        try:
            ok = (
                len(ref["shares"]) == len(ref["edges"]) + 1
                and isinstance(ref["missing_share"], (int, float))
                and len(ref["sample"]["values"]) == len(ref["sample"]["counts"])
            )
        except (KeyError, TypeError):
            ok = False
        if not ok:
            raise ValueError(f"numeric feature {col!r}: edges, shares, missing_share or sample are malformed")
    for col, ref in categorical.items():
        if not isinstance(ref, dict) or not isinstance(ref.get("shares"), dict):
            raise ValueError(f"categorical feature {col!r}: shares are malformed")


def _sample(stored: dict[str, list[Any]]) -> np.ndarray:
    return np.repeat(np.asarray(stored["values"], dtype="float64"), np.asarray(stored["counts"], dtype="int64"))


def _psi(expected: np.ndarray, actual: np.ndarray, epsilon: float) -> np.ndarray:
    """PSI along the last axis (one value per row of a 2-d ``actual``)."""
    e = np.clip(np.asarray(expected, dtype="float64"), epsilon, None)
    a = np.clip(np.asarray(actual, dtype="float64"), epsilon, None)
    return np.sum((a - e) * np.log(a / e), axis=-1)


def psi(expected: np.ndarray, actual: np.ndarray, *, epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors (shares clipped at ``epsilon``)."""
    return float(_psi(expected, actual, epsilon))


#: Samples drawn from the training shares for :func:`psi_noise`.
NOISE_SAMPLES = 1000


#: At most this many cells (samples x categories) are drawn at once (about 8 MB a copy).
NOISE_BATCH_CELLS = 1_000_000


def psi_noise(
    expected: np.ndarray, n: int, *, level: float = 0.99, seed: int = 0, samples: int = NOISE_SAMPLES
) -> float:
    """The PSI that ``n`` rows drawn from the training shares themselves exceed with
    probability ``1 - level``: the ``level`` quantile of the PSI of ``samples`` multinomial
    samples (seeded) against ``expected``. About (cells - 1) / n when every cell is well filled,
    far more when cells are empty by chance.

    Parameters
    ----------
    expected : array-like
        The training shares of the cells (summing to 1).
    n : int
        Rows of the new data.
    """
    p = np.clip(np.asarray(expected, dtype="float64"), 0.0, None)
    p = p / p.sum()
    rng = np.random.default_rng(seed)
    batch = max(1, min(samples, NOISE_BATCH_CELLS // len(p)))  # bounded memory for many categories
    values = [
        _psi(p, rng.multinomial(n, p, size=min(batch, samples - start)) / n, EPSILON)
        for start in range(0, samples, batch)
    ]
    return float(np.quantile(np.concatenate(values), level))


#: The columns of the drift table (:func:`drift_table`), before ``drifted`` and ``significant``.
TABLE_COLUMNS = [
    "feature",
    "kind",
    "psi",
    "psi_noise",
    "test",
    "statistic",
    "p_value",
    "missing_ref",
    "missing_new",
    "unseen",
    "mean_ref",
    "mean_new",
]


class DriftAccumulator:
    """Counts and samples of new data, fed chunk by chunk, for :meth:`table`.

    Parameters
    ----------
    reference : dict
        From :func:`reference_stats`.
    ks_sample : int
        At most this many new values per numeric feature are kept for the KS test.
    seed : int
        Seed of that sample; the result does not depend on how the data is chunked.
    """

    def __init__(self, reference: dict[str, Any], *, ks_sample: int = KS_SAMPLE, seed: int = 0) -> None:
        validate_reference(reference)
        self.reference = reference
        self.ks_sample = int(ks_sample)
        self.rows = 0
        self._edges = {c: np.asarray(r["edges"], dtype="float64") for c, r in reference["numeric"].items()}
        self._bins = {c: np.zeros(len(e) + 2, dtype="int64") for c, e in self._edges.items()}
        self._rngs = {c: np.random.default_rng([seed, i]) for i, c in enumerate(reference["numeric"])}
        self._keys = {c: np.empty(0) for c in reference["numeric"]}
        self._values = {c: np.empty(0) for c in reference["numeric"]}
        self._cells = {
            c: [k for k in r["shares"] if k != UNSEEN] + [UNSEEN] for c, r in reference["categorical"].items()
        }
        self._counts = {c: dict.fromkeys(cells, 0) for c, cells in self._cells.items()}

    def update(self, X: pd.DataFrame) -> DriftAccumulator:
        """Add a chunk of new data (every reference feature must be a column); returns self."""
        missing = [c for c in [*self._edges, *self._cells] if c not in X.columns]
        if missing:
            raise ValueError(f"column(s) {missing} of the reference are missing from the new data")
        self.rows += len(X)
        for col, edges in self._edges.items():
            values = _numeric(X[col])
            self._bins[col] += _bin_counts(values, edges)
            present = values[~np.isnan(values)]
            keys = np.concatenate([self._keys[col], self._rngs[col].random(len(present))])
            kept = np.concatenate([self._values[col], present])
            if len(keys) > self.ks_sample:  # keep the values with the smallest random keys
                idx = np.argpartition(keys, self.ks_sample)[: self.ks_sample]
                keys, kept = keys[idx], kept[idx]
            self._keys[col], self._values[col] = keys, kept
        for col, counts in self._counts.items():
            values = _category_values(X[col])
            counts[MISSING] += int(values.isna().sum())
            for value, count in values.value_counts(dropna=True).items():
                key = value if value in counts and value not in (MISSING, UNSEEN) else UNSEEN
                counts[key] += int(count)
        return self

    def table(self, *, psi_threshold: float = 0.2, p_threshold: float = 0.01) -> pd.DataFrame:
        """The drift table of the data added so far (see :func:`drift_table`)."""
        rows = [
            self._numeric_row(col, seed=i, level=1 - p_threshold) for i, col in enumerate(self.reference["numeric"])
        ]
        rows += [
            self._categorical_row(col, seed=len(rows) + i, level=1 - p_threshold)
            for i, col in enumerate(self.reference["categorical"])
        ]
        table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
        table["mean_ref"] = pd.to_numeric(table["mean_ref"], errors="coerce")
        table["drifted"] = (table["psi"] > psi_threshold) & (table["psi"] > table["psi_noise"])
        table["significant"] = table["p_value"] < p_threshold
        table = table.sort_values(["psi", "feature"], ascending=[False, True], na_position="last")
        table = table.reset_index(drop=True)
        table.attrs.update(psi_threshold=float(psi_threshold), p_threshold=float(p_threshold), rows=int(self.rows))
        return table

    def _numeric_row(self, col: str, *, seed: int, level: float) -> dict[str, Any]:
        """A numeric feature's row of the table: PSI over its bins and the KS test on the samples."""
        ref, counts, n = self.reference["numeric"][col], self._bins[col], self.rows
        expected = np.append(ref["shares"], ref["missing_share"])
        actual = counts / n if n else np.full(len(counts), np.nan)
        sample = _sample(ref["sample"])
        new = self._values[col]
        if len(sample) and len(new):
            ks = stats.ks_2samp(sample, new)
            statistic, p_value = float(ks.statistic), float(ks.pvalue)
        else:
            statistic = p_value = math.nan
        return {
            "feature": col,
            "kind": "numeric",
            "psi": psi(expected, actual) if n else math.nan,
            "psi_noise": psi_noise(expected, n, level=level, seed=seed) if n else math.nan,
            "test": "ks",
            "statistic": statistic,
            "p_value": p_value,
            "missing_ref": float(ref["missing_share"]),
            "missing_new": float(counts[-1] / n) if n else math.nan,
            "unseen": 0,
            "mean_ref": ref.get("mean"),
            "mean_new": float(new.mean()) if len(new) else math.nan,
        }

    def _categorical_row(self, col: str, *, seed: int, level: float) -> dict[str, Any]:
        """A categorical feature's row of the table: PSI over its cells and the chi-square test."""
        ref, cells, n = self.reference["categorical"][col], self._cells[col], self.rows
        observed = np.array([self._counts[col][c] for c in cells], dtype="float64")
        expected = np.array([ref["shares"].get(c, 0.0) for c in cells], dtype="float64")
        if n:
            f_exp = np.clip(expected, EPSILON, None)
            chi = stats.chisquare(observed, f_exp / f_exp.sum() * n)
            statistic, p_value, value = float(chi.statistic), float(chi.pvalue), psi(expected, observed / n)
        else:
            statistic = p_value = value = math.nan
        return {
            "feature": col,
            "kind": "categorical",
            "psi": value,
            "psi_noise": psi_noise(expected, n, level=level, seed=seed) if n else math.nan,
            "test": "chi2",
            "statistic": statistic,
            "p_value": p_value,
            "missing_ref": float(ref["shares"].get(MISSING, 0.0)),
            "missing_new": float(self._counts[col][MISSING] / n) if n else math.nan,
            "unseen": int(self._counts[col][UNSEEN]),
            "mean_ref": math.nan,
            "mean_new": math.nan,
        }


def drift_table(
    reference: dict[str, Any], X_new: pd.DataFrame, *, psi_threshold: float = 0.2, p_threshold: float = 0.01
) -> pd.DataFrame:
    """Per-feature drift of new data against the training reference.

    Parameters
    ----------
    reference : dict
        From :func:`reference_stats`.
    X_new : DataFrame
        New data with every reference feature as a column (categoricals as text, missing as
        NaN, as :func:`imbalance_lab.serving.inputs.check_input` prepares them).
    psi_threshold : float
        A feature whose PSI exceeds this and its ``psi_noise`` is ``drifted``.
    p_threshold : float
        A feature whose test p-value is below this is ``significant`` (informational);
        ``psi_noise`` is the PSI that sampling alone exceeds with this probability.

    Returns
    -------
    DataFrame
        One row per feature, sorted by PSI (largest first): ``feature, kind, psi, psi_noise,
        test ("ks" or "chi2"), statistic, p_value, missing_ref, missing_new, unseen (new values of
        categories not seen in training), mean_ref, mean_new, drifted, significant``. The
        thresholds and the row count are in ``table.attrs``.
    """
    return DriftAccumulator(reference).update(X_new).table(psi_threshold=psi_threshold, p_threshold=p_threshold)


def drift_file(
    model_dir: str | Path,
    input_path: str | Path,
    *,
    report_path: str | Path | None = None,
    figure_path: str | Path | None = None,
    psi_threshold: float | None = None,
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
        Where to write the PSI bar chart (``*.png``, ``*.svg`` or ``*.pdf``). The report and the
        figure are checked before the input is read, and replace existing files only when both
        are written.
    psi_threshold : float, optional
        A feature drifts when its PSI exceeds this. Default: the threshold the model was trained
        with (``evaluate.psi_threshold``, kept in the model's params), else 0.2.
    p_threshold : float
        See :func:`drift_table`.
    chunksize : int
        Rows read at a time.

    Returns
    -------
    (DataFrame, bool)
        The drift table and whether any feature drifted.
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
    try:
        acc = DriftAccumulator(model.reference)
    except ValueError as exc:
        raise ScoringError(
            f"{model.directory / 'reference.json'}: not valid training statistics ({exc}); re-train the model"
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
        counts = scan(model, source, lambda checked, _chunk: acc.update(checked.X), desc=f"drift {input_path.name}")
        if counts["rows"] == 0:
            raise ScoringError(f"{input_path}: no data rows; drift needs rows to compare")
        table = acc.table(psi_threshold=psi_threshold, p_threshold=p_threshold)
        drifted = bool(table["drifted"].any())
        if report_tmp is not None:
            report = {
                "input": str(input_path),
                "model": str(model.directory),
                "rows": counts["rows"],
                "psi_threshold": psi_threshold,
                "p_threshold": p_threshold,
                "drifted": drifted,
                "drifted_features": table.loc[table["drifted"], "feature"].tolist(),
                "unseen_categories": counts["unseen_categories"],
                "features": table.to_dict(orient="records"),
            }
            report_tmp.write_bytes(json_bytes(report))
        if figure_tmp is not None:
            figure = drift_figure(table, psi_threshold=psi_threshold)
            figure_tmp.write_bytes(figure_bytes(figure, format=figure_format, dpi=120))
    return table, drifted
