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
:class:`DriftAccumulator` does the same over chunks of a large file with bounded memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from .features import MISSING

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
    X: pd.DataFrame, schema: dict[str, Any], *, n_bins: int = 10, sample_size: int = 5000, seed: int = 0
) -> dict[str, Any]:
    """Reference statistics of the training features for later drift checks.

    Parameters
    ----------
    X : DataFrame
        Training features (as :func:`imbalance_lab.data.split_xy` returns them).
    schema : dict
        The prepared data's schema (``numeric`` and ``categorical`` columns).
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
    for col in schema["numeric"]:
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
    for col, categories in schema["categorical"].items():
        values = _category_values(X[col])
        counts = values.value_counts(dropna=True)
        shares = {str(c): float(counts.get(str(c), 0) / n) for c in categories}
        shares[MISSING] = float(values.isna().sum() / n)
        other = int(counts.drop(labels=[str(c) for c in categories], errors="ignore").sum())
        if other:
            shares[UNSEEN] = float(other / n)
        categorical[col] = {"shares": shares}
    return {"version": REFERENCE_VERSION, "rows": int(n), "n_bins": int(n_bins), "numeric": numeric,
            "categorical": categorical}


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
            ok = (len(ref["shares"]) == len(ref["edges"]) + 1 and isinstance(ref["missing_share"], (int, float))
                  and len(ref["sample"]["values"]) == len(ref["sample"]["counts"]))
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


def psi_noise(expected: np.ndarray, n: int, *, level: float = 0.99, seed: int = 0,
              samples: int = NOISE_SAMPLES) -> float:
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
    values = [_psi(p, rng.multinomial(n, p, size=min(batch, samples - start)) / n, EPSILON)
              for start in range(0, samples, batch)]
    return float(np.quantile(np.concatenate(values), level))


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
        self._cells = {c: [k for k in r["shares"] if k != UNSEEN] + [UNSEEN] for c, r in reference["categorical"].items()}
        self._counts = {c: dict.fromkeys(cells, 0) for c, cells in self._cells.items()}

    def update(self, X: pd.DataFrame) -> "DriftAccumulator":
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
        rows = []
        n = self.rows
        for col, ref in self.reference["numeric"].items():
            counts = self._bins[col]
            expected = np.append(ref["shares"], ref["missing_share"])
            actual = counts / n if n else np.full(len(counts), np.nan)
            sample = _sample(ref["sample"])
            new = self._values[col]
            if len(sample) and len(new):
                ks = stats.ks_2samp(sample, new)
                statistic, p_value = float(ks.statistic), float(ks.pvalue)
            else:
                statistic = p_value = math.nan
            rows.append({
                "feature": col, "kind": "numeric", "psi": psi(expected, actual) if n else math.nan,
                "psi_noise": psi_noise(expected, n, level=1 - p_threshold, seed=len(rows)) if n else math.nan,
                "test": "ks", "statistic": statistic, "p_value": p_value,
                "missing_ref": float(ref["missing_share"]), "missing_new": float(counts[-1] / n) if n else math.nan,
                "unseen": 0,
                "mean_ref": ref.get("mean"), "mean_new": float(new.mean()) if len(new) else math.nan,
            })
        for col, ref in self.reference["categorical"].items():
            cells = self._cells[col]
            observed = np.array([self._counts[col][c] for c in cells], dtype="float64")
            expected = np.array([ref["shares"].get(c, 0.0) for c in cells], dtype="float64")
            if n:
                actual = observed / n
                f_exp = np.clip(expected, EPSILON, None)
                f_exp = f_exp / f_exp.sum() * n
                chi = stats.chisquare(observed, f_exp)
                statistic, p_value, value = float(chi.statistic), float(chi.pvalue), psi(expected, actual)
            else:
                statistic = p_value = value = math.nan
            rows.append({
                "feature": col, "kind": "categorical", "psi": value,
                "psi_noise": psi_noise(expected, n, level=1 - p_threshold, seed=len(rows)) if n else math.nan,
                "test": "chi2",
                "statistic": statistic, "p_value": p_value,
                "missing_ref": float(ref["shares"].get(MISSING, 0.0)),
                "missing_new": float(self._counts[col][MISSING] / n) if n else math.nan,
                "unseen": int(self._counts[col][UNSEEN]),
                "mean_ref": math.nan, "mean_new": math.nan,
            })
        table = pd.DataFrame(rows, columns=[
            "feature", "kind", "psi", "psi_noise", "test", "statistic", "p_value", "missing_ref", "missing_new",
            "unseen", "mean_ref", "mean_new",
        ])
        table["mean_ref"] = pd.to_numeric(table["mean_ref"], errors="coerce")
        table["drifted"] = (table["psi"] > psi_threshold) & (table["psi"] > table["psi_noise"])
        table["significant"] = table["p_value"] < p_threshold
        table = table.sort_values(["psi", "feature"], ascending=[False, True], na_position="last").reset_index(drop=True)
        table.attrs.update(psi_threshold=float(psi_threshold), p_threshold=float(p_threshold), rows=int(n))
        return table


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
        NaN, as :func:`imbalance_lab.scoring.check_input` prepares them).
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


def drift_figure(table: pd.DataFrame, *, psi_threshold: float | None = None, max_features: int = 40) -> Figure:
    """Bar chart of the PSI per feature with the drift threshold.

    Parameters
    ----------
    table : DataFrame
        From :func:`drift_table`.
    psi_threshold : float, optional
        The threshold line; defaults to the one the table was made with.
    max_features : int
        Only the features with the largest PSI are shown when there are more.

    Returns
    -------
    matplotlib.figure.Figure
    """
    threshold = psi_threshold if psi_threshold is not None else table.attrs.get("psi_threshold", 0.2)
    shown = table.sort_values("psi", ascending=False, na_position="last").head(max_features).iloc[::-1]
    fig = Figure(figsize=(7.0, 1.2 + 0.28 * max(len(shown), 1)), layout="constrained")
    ax = fig.add_subplot()
    values = shown["psi"].fillna(0.0).to_numpy()
    colors = ["#c0392b" if d else "#4c72b0" for d in shown["drifted"]]
    ax.barh(np.arange(len(shown)), values, color=colors)
    ax.set_yticks(np.arange(len(shown)), shown["feature"].astype(str).tolist())
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    ax.set_xlabel("population stability index (PSI)")
    n_drifted = int(table["drifted"].sum())
    more = f" (top {len(shown)} of {len(table)})" if len(table) > len(shown) else ""
    ax.set_title(f"Drift per feature{more}: {n_drifted} drifted")
    ax.legend(loc="lower right")
    ax.set_xlim(0, max(float(values.max()) if len(values) else 0.0, threshold) * 1.1 + 1e-9)
    return fig
