"""Unit tests of imbalance_lab.evaluation.importance: permutation importance equals scikit-learn's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from imbalance_lab import evaluation as ev
from imbalance_lab.data import Schema
from imbalance_lab.modeling import make_pipeline


def _importance_data():
    """Numeric with missing values, a numeric column missing in every fit row (the imputer drops
    it, its indicator stays), text with NaN/None, a rare (infrequent) and an unseen category, a
    pandas ``str`` column and a column the pipeline does not use."""
    rng = np.random.default_rng(5)
    n = 160
    y = (rng.random(n) < 0.25).astype(int)
    y[:4] = [0, 1, 0, 1]
    num = rng.normal(size=n) + y
    num[rng.random(n) < 0.15] = np.nan
    late = rng.normal(size=n) - 0.5 * y
    late[:100] = np.nan
    cat = np.where(
        y == 1,
        rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.2, 0.2]),
        rng.choice(["a", "b", "c"], size=n, p=[0.2, 0.4, 0.4]),
    ).astype(object)
    cat[rng.random(n) < 0.1] = None
    cat[rng.random(n) < 0.05] = np.nan
    cat[[5, 17, 40]] = "rare"
    cat[130] = "unseen"
    X = pd.DataFrame(
        {
            "num": num,
            "late": late,
            "cat": pd.Series(cat, dtype=object),
            "unused": rng.normal(size=n),
            "txt": pd.Series(rng.choice(["p", "q"], size=n), dtype="str"),
        }
    )
    schema = Schema(
        target="y",
        numeric=["num", "late"],
        categorical={"cat": ["a", "b", "c"], "txt": ["p", "q"]},
        features=["num", "late", "cat", "txt"],
    )
    return X, y, schema


@pytest.fixture
def sklearn_importance(monkeypatch):
    """scikit-learn's permutation_importance, and a list of the calls evaluation makes to it."""
    import sklearn.inspection

    original = sklearn.inspection.permutation_importance
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(sklearn.inspection, "permutation_importance", spy)
    return original, calls


def _assert_same_importances(got, expected):
    for key in ("importances", "importances_mean", "importances_std"):
        assert got[key].shape == expected[key].shape
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize(
    "model, sampler", [("logistic_regression", False), ("logistic_regression", True), ("xgboost", False)]
)
@pytest.mark.parametrize("scoring, seed", [("average_precision", 0), ("neg_log_loss", 3)])
def test_permutation_importance_fast_path_equals_sklearn(sklearn_importance, model, sampler, scoring, seed):
    from imblearn.over_sampling import RandomOverSampler

    original, calls = sklearn_importance
    X, y, schema = _importance_data()
    pipe = make_pipeline(
        model,
        schema,
        seed=0,
        sampler=RandomOverSampler(random_state=0) if sampler else None,
        params={"n_estimators": 10} if model == "xgboost" else None,
    )
    pipe.fit(X.iloc[:100], y[:100])
    X_test, y_test = X.iloc[100:], y[100:]
    got = ev.permutation_importance(pipe, X_test, y_test, scoring=scoring, n_repeats=3, random_state=seed)
    assert not calls, "the fast path was not taken"
    expected = original(pipe, X_test, y_test, scoring=scoring, n_repeats=3, random_state=seed)
    _assert_same_importances(got, expected)
    assert np.all(got["importances"][list(X.columns).index("unused")] == 0)
    assert np.any(got["importances"] != 0)


class _MixingScaler(StandardScaler):
    """A scaler whose outputs mix input columns (the fast path must notice and not assume)."""

    def transform(self, X, copy=None):
        Xt = super().transform(X, copy=copy)
        return Xt + 0.5 * Xt[:, ::-1]


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("replacement", ["pca", "mixing_scaler"])
def test_permutation_importance_falls_back_to_sklearn(sklearn_importance, replacement):
    from sklearn.decomposition import PCA

    original, calls = sklearn_importance
    X, y, schema = _importance_data()
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    # pca: a step the fast path does not know; mixing_scaler: a known class that mixes columns
    # anyway, caught by the check on a sample
    pipe.set_params(
        preprocess__numeric__scale=PCA(n_components=3, random_state=0) if replacement == "pca" else _MixingScaler()
    )
    pipe.fit(X.iloc[:100], y[:100])
    X_test, y_test = X.iloc[100:], y[100:]
    import contextlib

    from imbalance_lab.evaluation import parallel

    inside = []
    real = parallel.local_workers

    @contextlib.contextmanager
    def recording():
        with real():
            inside.append(len(calls))
            yield

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parallel, "local_workers", recording)
        got = ev.permutation_importance(pipe, X_test, y_test, n_repeats=3, random_state=0)
    assert len(calls) == 1, "scikit-learn's function was not used"
    assert inside == [0], "scikit-learn's workers must start under local_workers (they end with the stage)"
    expected = original(pipe, X_test, y_test, scoring="average_precision", n_repeats=3, random_state=0)
    _assert_same_importances(got, expected)
