"""Unit tests of imbalance_lab.evaluation.cross_validation on the shared synthetic data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from imbalance_lab import evaluation as ev
from imbalance_lab.data import Schema, iter_splits, make_folds
from imbalance_lab.evaluation import cross_validation
from imbalance_lab.modeling import make_pipeline


@pytest.fixture(scope="module")
def cv_logistic(dataset):
    X, y, schema, folds = dataset
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    return ev.cross_validate(pipe, X, y, folds, top_k_fraction=0.1)


def test_cross_validate_shapes(dataset, cv_logistic):
    X, y, _, folds = dataset
    res = cv_logistic
    assert len(res.scores) == 6 and len(res.timings) == 6
    assert list(res.scores[["repeat", "fold"]].itertuples(index=False, name=None)) == [
        (r, k) for r in range(2) for k in range(3)
    ]
    for col in (
        "average_precision",
        "roc_auc",
        "brier",
        "log_loss",
        "capture_at_k",
        "threshold",
        "precision",
        "recall",
        "f1",
        "balanced_accuracy",
        "mcc",
        "geometric_mean",
    ):
        assert col in res.scores.columns
        assert res.scores[col].notna().all()
    assert list(res.oof.columns) == ["row", "repeat", "fold", "y_true", "y_score"]
    assert len(res.oof) == 2 * len(X)
    assert set(res.timings.columns) == {"repeat", "fold", "fit_seconds", "predict_seconds"}
    assert (res.timings["fit_seconds"] > 0).all() and (res.timings["predict_seconds"] > 0).all()
    assert res.oof["y_score"].between(0, 1).all()
    # the model learns something on this data
    assert res.scores["roc_auc"].mean() > 0.7


def test_cross_validate_oof_rows_once_per_repeat(dataset, cv_logistic):
    X, y, _, folds = dataset
    oof = cv_logistic.oof
    for r, part in oof.groupby("repeat"):
        assert np.array_equal(np.sort(part["row"].to_numpy()), np.arange(len(X)))
        by_row = part.set_index("row").sort_index()
        assert np.array_equal(by_row["fold"].to_numpy(), folds[f"repeat_{r}"].to_numpy())
        assert np.array_equal(by_row["y_true"].to_numpy(), y)


def test_cross_validate_oof_scores_match_a_manual_fit(dataset, cv_logistic):
    X, y, schema, folds = dataset
    r, k, train, val = list(iter_splits(folds))[4]
    pipe = make_pipeline("logistic_regression", schema, seed=0).fit(X.iloc[train], y[train])
    expected = pipe.predict_proba(X.iloc[val])[:, 1]
    mine = cv_logistic.oof[(cv_logistic.oof["repeat"] == r) & (cv_logistic.oof["fold"] == k)]
    assert np.array_equal(mine["row"].to_numpy(), val)
    np.testing.assert_allclose(mine["y_score"].to_numpy(), expected, rtol=1e-9)


def test_cross_validate_threshold_cross_fitted(dataset, cv_logistic):
    oof, scores = cv_logistic.oof, cv_logistic.scores
    own_differs = 0
    for _, row in scores.iterrows():
        same = oof["repeat"] == row["repeat"]
        others = oof[same & (oof["fold"] != row["fold"])]
        mine = oof[same & (oof["fold"] == row["fold"])]
        expected = ev.choose_threshold(others["y_true"], others["y_score"], objective="f1")
        assert row["threshold"] == expected
        own = ev.choose_threshold(mine["y_true"], mine["y_score"], objective="f1")
        own_differs += own != expected
        metrics = ev.score_predictions(mine["y_true"], mine["y_score"], threshold=expected, top_k_fraction=0.1)
        for name, value in metrics.items():
            assert row[name] == pytest.approx(value, nan_ok=True), name
    assert own_differs > 0  # the check above distinguishes cross-fitted from own-fold thresholds


def test_cross_validate_cost_objective(dataset):
    X, y, schema, folds = dataset
    pipe = make_pipeline("dummy", schema, seed=0)
    res = ev.cross_validate(pipe, X, y, folds.iloc[:, :1], threshold_objective="cost")
    # the prior is ~0.1 for every row: predicting all positive costs ~270 FP, nothing costs ~30 FN
    assert (res.scores["recall"] == 0).all()
    assert (res.scores["threshold"] > res.oof["y_score"].max()).all()


def test_cross_validate_deterministic_and_parallel(dataset, cv_logistic):
    X, y, schema, folds = dataset
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    again = ev.cross_validate(pipe, X, y, folds)
    pd.testing.assert_frame_equal(again.scores, cv_logistic.scores)
    pd.testing.assert_frame_equal(again.oof, cv_logistic.oof)
    # processes (loky) with the first repeat only: its scores depend on that repeat alone
    parallel = ev.cross_validate(pipe, X, y, folds.iloc[:, :1], n_jobs=2)
    pd.testing.assert_frame_equal(parallel.scores, cv_logistic.scores.iloc[:3])
    pd.testing.assert_frame_equal(parallel.oof, cv_logistic.oof.iloc[: len(X)])


def test_cross_validate_models_stacks(dataset):
    X, y, schema, folds = dataset
    one_repeat = folds.iloc[:, :1]
    pipes = {
        "dummy": make_pipeline("dummy", schema, seed=0),
        "lr": make_pipeline("logistic_regression", schema, seed=0),
    }
    res = ev.cross_validate_models(pipes, X, y, one_repeat)
    assert list(res.scores.columns[:3]) == ["model", "repeat", "fold"]
    assert list(res.scores["model"]) == ["dummy"] * 3 + ["lr"] * 3
    assert len(res.oof) == 2 * len(X) and res.oof.columns[0] == "model"
    assert list(res.timings.columns[:3]) == ["model", "repeat", "fold"]
    # dummy has no skill: AUC 0.5 on every fold
    np.testing.assert_allclose(res.scores.loc[res.scores["model"] == "dummy", "roc_auc"], 0.5)


def test_cross_validate_models_oof_in_compact_types(dataset, tmp_path):
    X, y, schema, folds = dataset
    pipes = {
        "lr": make_pipeline("logistic_regression", schema, seed=0),
        "dummy": make_pipeline("dummy", schema, seed=0),
    }
    res = ev.cross_validate_models(pipes, X, y, folds)
    oof = res.oof
    assert isinstance(oof["model"].dtype, pd.CategoricalDtype)
    assert list(oof["model"].unique()) == ["lr", "dummy"]  # the pipelines' order
    # sorted by name, as strings would be
    assert list(oof.sort_values("model", kind="stable")["model"].unique()) == ["dummy", "lr"]
    # y_score keeps the predicted type (float64 from these models, float32 from XGBoost)
    assert {c: str(oof[c].dtype) for c in oof.columns[1:-1]} == {
        "row": "int32",
        "repeat": "int16",
        "fold": "int16",
        "y_true": "int8",
    }
    np.testing.assert_array_equal(oof["y_true"], y[oof["row"]])
    # the same values, model by model, as one pipeline's cross-validation (equal fits: same seed)
    alone = ev.cross_validate(pipes["lr"], X, y, folds)
    part = oof[oof["model"] == "lr"].drop(columns="model").reset_index(drop=True)
    pd.testing.assert_frame_equal(part, alone.oof)
    groups = [name for name, _ in oof.groupby("model", sort=False)]
    assert groups == ["lr", "dummy"]
    # the types survive the parquet file the stages write and the next stage reads
    path = tmp_path / "oof.parquet"
    oof.to_parquet(path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), oof)


def test_oof_frame_widens_row_for_large_data():
    small = cross_validation.build_oof_frame(np.array([3, 1]), 1, 2, np.array([0, 1]), np.array([0.2, 0.7]), n_rows=10)
    assert str(small["row"].dtype) == "int32"
    large = cross_validation.build_oof_frame(
        np.array([2**31 + 5]), 0, 0, np.array([1]), np.array([0.9]), n_rows=2**31 + 6
    )
    assert str(large["row"].dtype) == "int64" and large["row"].iloc[0] == 2**31 + 5
    assert list(small["repeat"]) == [1, 1] and list(small["fold"]) == [2, 2]


def test_scores_at_threshold_per_fold():
    oof = pd.DataFrame(
        {
            "model": ["m"] * 6,
            "repeat": [0] * 6,
            "fold": [0, 0, 0, 1, 1, 1],
            "y_true": [1, 0, 0, 1, 1, 0],
            "y_score": [0.6, 0.7, 0.2, 0.4, 0.9, 0.1],
        }
    )
    got = ev.scores_at_threshold(oof, threshold=0.5).set_index("fold")
    assert got.loc[0, "precision"] == pytest.approx(0.5) and got.loc[0, "recall"] == pytest.approx(1.0)
    assert got.loc[1, "precision"] == pytest.approx(1.0) and got.loc[1, "recall"] == pytest.approx(0.5)


class ProbeClassifier(ClassifierMixin, BaseEstimator):
    """Returns, as the "probability", one column of the preprocessed input it is given.

    The out-of-fold scores then reveal exactly how each validation row was transformed, i.e.
    which imputation median and scaler mean / sd were fitted.
    """

    def __init__(self, column: int = 0):
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        self.n_fit_ = X.shape[0]
        return self

    def predict_proba(self, X):
        v = np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=float)[:, self.column]
        return np.column_stack([1 - v, v])


def test_preprocessing_fitted_inside_each_fold():
    n = 120
    rng = np.random.default_rng(1)
    y = np.zeros(n, int)
    y[::6] = 1
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=5)
    fold = folds["repeat_0"].to_numpy()
    # the statistics of this feature differ strongly between folds: fitting the imputer or
    # the scaler on all rows would give different transformed values
    x = rng.normal(size=n) + 50.0 * fold**2
    x[rng.random(n) < 0.15] = np.nan
    X = pd.DataFrame({"x": x, "z": rng.normal(size=n), "cat": rng.choice(["u", "v"], size=n).astype(object)})
    schema = Schema(target="y", numeric=["x", "z"], categorical={"cat": ["u", "v"]}, features=["x", "z", "cat"])

    pipe = make_pipeline("logistic_regression", schema, seed=0)  # imputer + indicator + scaler
    pipe.set_params(model=ProbeClassifier(column=0))
    res = ev.cross_validate(pipe, X, y, folds)

    names = list(pipe[:-1].fit(X, y).get_feature_names_out())
    assert names[0] == "x" and "missingindicator_x" in names

    for _, k, train, val in iter_splits(folds):
        xt = x[train]
        median = np.nanmedian(xt)
        imputed = np.where(np.isnan(xt), median, xt)
        mean, sd = imputed.mean(), imputed.std()
        expected = (np.where(np.isnan(x[val]), median, x[val]) - mean) / sd
        got = res.oof[res.oof["fold"] == k].sort_values("row")["y_score"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)

        # the statistics fitted on all rows are really different (so this test can fail)
        all_median = np.nanmedian(x)
        all_imputed = np.where(np.isnan(x), all_median, x)
        leaky = (np.where(np.isnan(x[val]), all_median, x[val]) - all_imputed.mean()) / all_imputed.std()
        assert not np.allclose(leaky, expected, atol=1e-3)


def test_fitted_pipeline_statistics_come_from_the_training_part(make_dataset):
    X, y, schema = make_dataset(n=150, seed=3)
    X.loc[X.index[:50], "num2"] += 100.0  # the first third looks very different
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=1)
    fitted = []

    def recording_fit_predict(estimator, X_, y_, train, val):
        proba, fit_s, pred_s = cross_validation.fit_and_predict(estimator, X_, y_, train, val)
        model = clone(estimator).fit(X_.iloc[train], y_[train])  # the same fit, kept to inspect it
        fitted.append((train, model))
        np.testing.assert_allclose(model.predict_proba(X_.iloc[val])[:, 1], proba)
        return proba, fit_s, pred_s

    pipe = make_pipeline("logistic_regression", schema, seed=0)
    ev.cross_validate(pipe, X, y, folds, fit_predict=recording_fit_predict)
    assert len(fitted) == 3
    for train, model in fitted:
        numeric = model.named_steps["preprocess"].named_transformers_["numeric"]
        medians = numeric.named_steps["impute"].statistics_
        np.testing.assert_allclose(medians, X.iloc[train][["num1", "num2"]].median().to_numpy())
        assert not np.allclose(medians[1], X["num2"].median())
        scaler = numeric.named_steps["scale"]
        imputed = X.iloc[train][["num1", "num2"]].fillna(X.iloc[train][["num1", "num2"]].median())
        np.testing.assert_allclose(scaler.mean_[:2], imputed.mean().to_numpy())


def test_fits_dispatched_longest_first_results_in_order(dataset, fresh_caches, monkeypatch):
    """An over-sampler's fits (about twice the rows) go first, each pipeline's splits in order; the
    results are those of dispatching in the pipelines' order, in the pipelines' order."""
    from imbalance_lab.modeling import make_strategy_pipeline

    X, y, schema, folds = dataset
    one_repeat = folds.iloc[:, :1]
    pipes = {
        name: make_strategy_pipeline(name, "logistic_regression", schema, seed=0)
        for name in ("none", "random_under", "random_over", "class_weight")
    }
    names = {id(est): name for name, est in pipes.items()}
    dispatched = []
    fit = cross_validation.fit_predict_prefitted

    def recording(est, *args):
        dispatched.append(names[id(est)])
        return fit(est, *args)

    monkeypatch.setattr(cross_validation, "fit_predict_prefitted", recording)
    res = ev.cross_validate_models(pipes, X, y, one_repeat)
    assert dispatched == ["random_over"] * 3 + ["none"] * 3 + ["class_weight"] * 3 + ["random_under"] * 3
    assert list(cross_validation.longest_first(list(pipes.values()), y, 3)[:4]) == [(2, 0), (2, 1), (2, 2), (0, 0)]

    monkeypatch.setattr(
        cross_validation,
        "longest_first",
        lambda pipelines, _y, n: [(i, j) for i in range(len(pipelines)) for j in range(n)],
    )
    fresh_caches.caches._MODEL_CACHE.clear()
    fresh_caches.caches._PREPROCESS_CACHE.clear()
    dispatched.clear()
    in_order = ev.cross_validate_models(pipes, X, y, one_repeat)
    assert dispatched[:3] == ["none"] * 3
    pd.testing.assert_frame_equal(res.scores, in_order.scores)
    pd.testing.assert_frame_equal(res.oof, in_order.oof)
    assert list(res.scores["model"]) == [name for name in pipes for _ in range(3)]
