"""Unit tests of imbalance_lab.evaluation.statistics on hand-computed examples."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    roc_auc_score,
)

from imbalance_lab import evaluation as ev
from imbalance_lab.data import make_folds
from imbalance_lab.evaluation import statistics

A_SCORES = [0.80, 0.82, 0.79, 0.85, 0.81, 0.83]
B_SCORES = [0.78, 0.80, 0.80, 0.81, 0.79, 0.80]


def test_corrected_ttest_hand_computed():
    # differences a - b: [0.02, 0.02, -0.01, 0.04, 0.02, 0.03]; mean 0.12 / 6 = 0.02
    # deviations: 0, 0, -0.03, 0.02, 0, 0.01 -> sum of squares 0.0014; variance (J-1=5) 0.00028
    # J = 6 (3 folds x 2 repeats), n_test/n_train = 1/2 -> factor 1/6 + 1/2 = 2/3
    # t = 0.02 / sqrt(2/3 * 0.00028) = 0.02 / 0.0136626... = 1.46385...
    t, p = ev.corrected_ttest(A_SCORES, B_SCORES, ratio=0.5)
    assert t == pytest.approx(0.02 / math.sqrt(2 / 3 * 0.00028), rel=1e-9)
    assert t == pytest.approx(1.4638501, rel=1e-7)
    assert p == pytest.approx(2 * stats.t.sf(1.4638501094228, 5), rel=1e-7)
    assert p == pytest.approx(0.2031107, rel=1e-6)
    # the naive paired t would be 0.02 / sqrt(0.00028 / 6) = 2.93: the correction matters
    naive = stats.ttest_rel(A_SCORES, B_SCORES)
    assert naive.statistic == pytest.approx(0.02 / math.sqrt(0.00028 / 6), rel=1e-7)
    assert p > naive.pvalue
    # antisymmetric
    t2, p2 = ev.corrected_ttest(B_SCORES, A_SCORES, ratio=0.5)
    assert t2 == pytest.approx(-t) and p2 == pytest.approx(p)


def test_corrected_ttest_zero_variance():
    assert ev.corrected_ttest([0.5, 0.25, 0.75], [0.5, 0.25, 0.75], ratio=0.25) == (0.0, 1.0)
    t, p = ev.corrected_ttest([0.75, 0.5, 1.0], [0.5, 0.25, 0.75], ratio=0.25)  # exactly +0.25 each
    assert t == math.inf and p == 0.0
    t, p = ev.corrected_ttest([0.5, 0.25, 0.75], [0.75, 0.5, 1.0], ratio=0.25)
    assert t == -math.inf and p == 0.0
    with pytest.raises(ValueError):
        ev.corrected_ttest([0.5], [0.4], ratio=0.25)


def test_corrected_ci_hand_computed():
    values = [0.70, 0.74, 0.72, 0.78, 0.76, 0.74]
    # mean 4.44 / 6 = 0.74; squares of deviations 16e-4 + 0 + 4e-4 + 16e-4 + 4e-4 + 0 = 40e-4;
    # variance 40e-4 / 5 = 8e-4; sd = 0.0282843; corrected se = sqrt((1/6 + 1/2) * 8e-4) = 0.0230940
    # t_{0.975, 5} = 2.5705818 -> half width 0.0593650
    mean, sd, low, high = ev.corrected_ci(values, ratio=0.5)
    assert mean == pytest.approx(0.74)
    assert sd == pytest.approx(math.sqrt(8e-4))
    assert low == pytest.approx(0.74 - 0.0593650446, abs=1e-9)
    assert high == pytest.approx(0.74 + 0.0593650446, abs=1e-9)
    # wider than the naive t interval mean +- t * sd / sqrt(J) (half width 0.0296825)
    naive_low, naive_high = stats.t.interval(0.95, 5, loc=0.74, scale=math.sqrt(8e-4) / math.sqrt(6))
    assert naive_high - naive_low == pytest.approx(2 * 0.0296825223, abs=1e-9)
    assert low < naive_low and high > naive_high
    # other confidence level
    _, _, low90, high90 = ev.corrected_ci(values, ratio=0.5, confidence=0.9)
    assert high90 - 0.74 == pytest.approx(stats.t.ppf(0.95, 5) * math.sqrt(2 / 3 * 8e-4))


def test_corrected_ci_ignores_nan_and_short_inputs():
    mean, sd, low, high = ev.corrected_ci([0.70, np.nan, 0.74, 0.72, 0.78, 0.76, 0.74], ratio=0.5)
    assert mean == pytest.approx(0.74) and high == pytest.approx(0.74 + 0.0593650446)
    mean, sd, low, high = ev.corrected_ci([0.3], ratio=0.5)
    assert mean == 0.3 and math.isnan(sd) and math.isnan(low) and math.isnan(high)
    assert math.isnan(ev.corrected_ci([], ratio=0.5)[0])


def test_fold_size_ratio():
    y = np.r_[np.ones(10, int), np.zeros(40, int)]
    assert ev.fold_size_ratio(make_folds(y, n_splits=5, n_repeats=2, seed=0)) == pytest.approx(1 / 4)
    assert ev.fold_size_ratio(make_folds(y, n_splits=2, n_repeats=1, seed=0)) == pytest.approx(1.0)


def test_holm_hand_computed():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    adjusted = ev.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_capped_and_monotone():
    p = np.array([0.2, 0.5, 0.01, 0.3, 0.02, 0.04])
    adjusted = ev.holm(p)
    assert np.all(adjusted <= 1.0) and np.all(adjusted >= p)
    # capped: 0.2 * 3 = 0.6, 0.3 * 2 = 0.6, 0.5 * 1 -> 0.6 (monotone), 0.01 * 6 = 0.06
    np.testing.assert_allclose(adjusted, [0.6, 0.6, 0.06, 0.6, 0.1, 0.16])
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)
    np.testing.assert_allclose(ev.holm([0.4, 0.9, 0.6]), [1.0, 1.0, 1.0])
    assert ev.holm([]).shape == (0,)


def _score_table(metric: str, per_model: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for model, values in per_model.items():
        for i, v in enumerate(values):
            rows.append({"model": model, "repeat": i // 3, "fold": i % 3, metric: v})
    return pd.DataFrame(rows)


def test_summarize_hand_made():
    scores = _score_table("average_precision", {"A": [0.70, 0.74, 0.72, 0.78, 0.76, 0.74], "B": A_SCORES})
    scores["brier"] = np.linspace(0.1, 0.2, len(scores))
    summary = ev.summarize(scores, metrics=["average_precision", "brier"], ratio=0.5)
    assert list(summary.index) == ["A", "B"]
    assert set(summary.columns) == {
        f"{m}_{s}" for m in ("average_precision", "brier") for s in ("mean", "sd", "ci_low", "ci_high")
    }
    assert summary.loc["A", "average_precision_mean"] == pytest.approx(0.74)
    assert summary.loc["A", "average_precision_ci_low"] == pytest.approx(0.74 - 0.0593650446)
    assert summary.loc["B", "average_precision_mean"] == pytest.approx(np.mean(A_SCORES))
    assert summary.loc["B", "brier_sd"] == pytest.approx(np.std(scores["brier"][6:], ddof=1))


def test_compare_with_higher_is_better_pairs_by_fold():
    c_scores = [a + d for a, d in zip(A_SCORES, [0.10, 0.11, 0.09, 0.10, 0.10, 0.11])]
    d_scores = [a - d for a, d in zip(A_SCORES, [0.20, 0.21, 0.19, 0.20, 0.22, 0.20])]
    scores = _score_table("average_precision", {"A": A_SCORES, "B": B_SCORES, "C": c_scores, "D": d_scores})
    scores = scores.sample(frac=1.0, random_state=3).reset_index(drop=True)  # pairing must use repeat/fold
    table = ev.compare_with(scores, reference="A", metric="average_precision", ratio=0.5)
    assert list(table.columns) == ["difference", "t", "p_value", "p_holm", "verdict"]
    assert set(table.index) == {"B", "C", "D"}
    assert table.loc["B", "difference"] == pytest.approx(-0.02)
    assert table.loc["B", "t"] == pytest.approx(-1.4638501, rel=1e-6)
    assert table.loc["B", "p_value"] == pytest.approx(0.2031107, rel=1e-6)
    np.testing.assert_allclose(table["p_holm"].to_numpy(), ev.holm(table["p_value"].to_numpy()))
    assert table.loc["B", "verdict"] == "indistinguishable"
    assert table.loc["C", "verdict"] == "better" and table.loc["C", "difference"] > 0
    assert table.loc["D", "verdict"] == "worse" and table.loc["D", "difference"] < 0


def test_compare_with_lower_is_better():
    ref = [0.10, 0.12, 0.11, 0.10, 0.13, 0.12]
    lower = [v - d for v, d in zip(ref, [0.03, 0.031, 0.029, 0.03, 0.032, 0.03])]
    higher = [v + d for v, d in zip(ref, [0.03, 0.031, 0.029, 0.03, 0.032, 0.03])]
    for metric in ("brier", "log_loss"):
        scores = _score_table(metric, {"ref": ref, "lower": lower, "higher": higher})
        table = ev.compare_with(scores, reference="ref", metric=metric, ratio=0.5)
        assert table.loc["lower", "difference"] == pytest.approx(0.0303333, rel=1e-4)  # losses flipped
        assert table.loc["lower", "t"] > 0
        assert table.loc["lower", "verdict"] == "better"
        assert table.loc["higher", "difference"] < 0 and table.loc["higher", "verdict"] == "worse"
    # the same numbers as a higher-is-better metric flip the verdicts
    scores = _score_table("roc_auc", {"ref": ref, "lower": lower, "higher": higher})
    table = ev.compare_with(scores, reference="ref", metric="roc_auc", ratio=0.5)
    assert table.loc["lower", "verdict"] == "worse" and table.loc["higher", "verdict"] == "better"


def test_compare_with_only_reference():
    table = ev.compare_with(_score_table("f1", {"A": A_SCORES}), reference="A", metric="f1", ratio=0.5)
    assert len(table) == 0


def test_best_model_direction():
    summary = pd.DataFrame(
        {"average_precision_mean": [0.3, 0.5, 0.5], "brier_mean": [0.08, 0.05, 0.09], "log_loss_mean": [0.3, 0.2, 0.1]},
        index=pd.Index(["x", "y", "z"], name="model"),
    )
    assert ev.best_model(summary, metric="average_precision") == "y"  # tie: first
    assert ev.best_model(summary, metric="brier") == "y"
    assert ev.best_model(summary, metric="log_loss") == "z"


def test_bootstrap_ci_covers_the_estimate_and_narrows_with_data():
    rng = np.random.default_rng(3)

    def sample(n):
        y = (rng.random(n) < 0.1).astype(int)
        s = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
        return y, s

    y, s = sample(500)
    est, lo, hi = ev.bootstrap_ci(y, s, average_precision_score, n_boot=300, seed=1)
    assert est == pytest.approx(average_precision_score(y, s))
    assert lo < est < hi
    assert (lo, hi) == ev.bootstrap_ci(y, s, average_precision_score, n_boot=300, seed=1)[1:], "seeded: reproducible"
    y2, s2 = sample(5000)
    _, lo2, hi2 = ev.bootstrap_ci(y2, s2, average_precision_score, n_boot=300, seed=1)
    assert hi2 - lo2 < (hi - lo) * 0.7


def test_bootstrap_replicates_keep_the_prevalence():
    y = np.array([1] * 5 + [0] * 45)
    seen = []
    ev.bootstrap_ci(y, np.linspace(0, 1, 50), lambda t, _: seen.append(t.mean()) or 0.0, n_boot=20, seed=0)
    assert set(seen[:20]) == {0.1}  # the replicates (then the estimate and the jackknife)
    assert len(seen) == 20 + 1 + 50


def test_bca_interval_matches_scipy():
    """The stratified BCa interval against scipy.stats.bootstrap's (not stratified; with half the
    rows positive, stratifying hardly changes ROC AUC's replicates)."""
    from scipy import stats

    rng = np.random.default_rng(0)
    y = (rng.random(600) < 0.5).astype(int)
    s = np.clip(0.25 * y + rng.random(600) * 0.75, 0, 1)
    _, lo, hi = ev.bootstrap_ci(y, s, roc_auc_score, n_boot=3000, seed=1)
    ref = stats.bootstrap(
        (y, s), roc_auc_score, paired=True, vectorized=False, n_resamples=3000, method="BCa", random_state=2
    ).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.003) and hi == pytest.approx(ref.high, abs=0.003)


def test_bca_levels_by_hand():
    from scipy import stats

    # replicates symmetric about the estimate and a symmetric jackknife: the percentile levels
    assert ev.bca_levels([1, 2, 3, 4], 2.5, [1.0, 2.0, 3.0]) == pytest.approx((0.025, 0.975))
    # 3 of 4 replicates above the estimate: z0 = ppf(0.25) < 0, both levels move down
    low, high = ev.bca_levels([1, 2, 3, 4], 1.5, [1.0, 2.0, 3.0])
    z0 = stats.norm.ppf(0.25)
    assert low == pytest.approx(stats.norm.cdf(2 * z0 + stats.norm.ppf(0.025)))
    assert high == pytest.approx(stats.norm.cdf(2 * z0 + stats.norm.ppf(0.975)))
    assert ev.bca_levels([2, 3], 1.0, [1.0, 2.0]) == pytest.approx((0.025, 0.975))  # all above: percentile


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bca_moves_the_interval_against_the_replicates_bias(seed):
    """Average precision's replicates need not centre on the estimate (a resample repeats rows):
    on the stored test predictions 57.5 % lay above it and the percentile interval sat too high.
    BCa shifts the interval away from the side where most replicates lie."""
    rng = np.random.default_rng(seed)
    y = (rng.random(1200) < 0.06).astype(int)
    s = np.clip(0.6 * y + rng.random(1200), 0, 1)  # about as separable as the default data's test set
    replicates = []

    def recording(t, u):
        value = average_precision_score(t, u)
        replicates.append(value)
        return value

    est, lo, hi = ev.bootstrap_ci(y, s, recording, n_boot=1000, seed=3)
    above = np.mean(np.asarray(replicates[:1000]) > est)
    _, p_lo, p_hi = ev.bootstrap_ci(y, s, average_precision_score, n_boot=1000, seed=3, method="percentile")
    assert abs(above - 0.5) > 0.02  # the case this is about
    assert np.sign((lo + hi) - (p_lo + p_hi)) == -np.sign(above - 0.5)
    assert lo < est < hi
    with pytest.raises(ValueError, match="unknown bootstrap method"):
        ev.bootstrap_ci(y, s, average_precision_score, method="basic")


def test_grouped_jackknife_above_the_group_count(monkeypatch):
    monkeypatch.setattr(statistics, "JACKKNIFE_GROUPS", 10)
    y = np.array([1] * 20 + [0] * 80)
    calls = []
    values = statistics._jackknife(
        y, np.linspace(0, 1, 100), lambda t, _: calls.append((len(t), t.sum())) or 0.0, seed=0
    )
    assert len(values) == 10 and set(calls) == {(90, 18)}  # each group: 2 positives and 8 negatives


def _tied_rows(rng, n):
    """Labels and scores with many ties (scores rounded to 0 to 3 decimals)."""
    y = (rng.random(n) < rng.uniform(0.02, 0.6)).astype(int)
    return y, np.round(rng.random(n), int(rng.integers(0, 4)))


@pytest.mark.parametrize("metric", [average_precision_score, roc_auc_score])
def test_counted_metric_equals_scikit_learn_on_the_rows_it_counts(metric):
    """Bit for bit, on multisets with repeated, missing and tied rows in any order; a multiset
    with one class gets scikit-learn's own answer."""
    rng = np.random.default_rng(7)
    compared = one_class = 0
    for _ in range(400):
        n = int(rng.integers(2, 200))
        y, s = _tied_rows(rng, n)
        counted = statistics.CountedMetric.of(metric, y, s)
        if counted is None:  # a single class drawn
            assert len(np.unique(y)) < 2
            continue
        counts = rng.integers(0, 3, n)
        counts[rng.integers(n)] += 1
        rows = rng.permutation(np.repeat(np.arange(n), counts))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's warnings on a multiset with one class
            expected = metric(y[rows], s[rows])
            value = counted(counts)
        one_class += len(np.unique(y[rows])) < 2
        assert value == expected or (np.isnan(value) and np.isnan(expected))
        compared += 1
    assert compared > 300 and one_class > 0


def test_counted_metric_only_for_its_metrics_and_binary_labels():
    y, s = np.array([0, 1, 0, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    assert statistics.CountedMetric.of(roc_auc_score, y, s) is not None
    assert statistics.CountedMetric.of(lambda t, u: roc_auc_score(t, u), y, s) is None
    assert statistics.CountedMetric.of(roc_auc_score, y * 2, s) is None  # labels 0 and 2
    assert statistics.CountedMetric.of(roc_auc_score, np.zeros(4, dtype=int), s) is None
    assert statistics.CountedMetric.of(roc_auc_score, y, np.array([0.1, np.nan, 0.3, 0.8])) is None


@pytest.mark.parametrize("n", [300, 1500])  # a jackknife of rows, and one of groups
@pytest.mark.parametrize("metric", [average_precision_score, roc_auc_score])
def test_bootstrap_ci_counted_is_the_metric_on_each_replicate(metric, n):
    """The counted replicates and jackknife give the interval that calling the metric on each
    resample gives (a wrapper is not counted), to the last bit."""
    y, s = _tied_rows(np.random.default_rng(n), n)
    y[:3] = [0, 1, 1]
    assert ev.bootstrap_ci(y, s, metric, n_boot=200, seed=5) == ev.bootstrap_ci(
        y, s, lambda t, u: metric(t, u), n_boot=200, seed=5
    )
