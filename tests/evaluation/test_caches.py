"""Unit tests of imbalance_lab.evaluation.caches: shared preprocessing and kept fits give the numbers of plain fits."""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from imbalance_lab import evaluation as ev
from imbalance_lab.data import Schema, iter_splits, make_folds
from imbalance_lab.evaluation import caches, cross_validation
from imbalance_lab.modeling import CheckedSampler, features, make_pipeline, make_strategy_pipeline
from imbalance_lab.modeling.features import FrameTransformer, transform_rows


def _plain_fit_predict(estimator, X, y, train, val):
    """The straightforward path: not ``cross_validation.fit_and_predict`` itself, so no cache is used."""
    return cross_validation.fit_and_predict(estimator, X, y, train, val)


def _shared_pipelines(schema):
    from imblearn.over_sampling import RandomOverSampler

    return {
        # dummy and hist_gradient_boosting share the ordinal preprocessing
        "dummy": make_pipeline("dummy", schema, seed=0),
        "hgb": make_pipeline("hist_gradient_boosting", schema, seed=0, params={"max_iter": 5}),
        # the three below share the one-hot + scaling preprocessing; "lr_again" is "lr" under
        # another name (the kept-model path), "over" adds a sampler after the shared step
        "lr": make_pipeline("logistic_regression", schema, seed=0),
        "lr_again": make_pipeline("logistic_regression", schema, seed=0),
        "over": make_pipeline("logistic_regression", schema, seed=0, sampler=RandomOverSampler(random_state=0)),
    }


def test_cross_validate_models_shared_caches_match_plain_fits(small_data, fresh_caches):
    X, y, schema, folds = small_data
    pipes = _shared_pipelines(schema)
    res = ev.cross_validate_models(pipes, X, y, folds)

    # the fast paths really ran: one preprocessing per (preprocessing, fold), one kept model
    # per distinct (pipeline, fold) -- lr and lr_again share theirs
    assert len(caches._PREPROCESS_CACHE) == 2 * 3
    assert len(caches._MODEL_CACHE) == 4 * 3
    for name, pipe in pipes.items():
        for r, k, train, val in iter_splits(folds):
            with threadpool_limits(limits=1):  # as in cross-validation (and fast on a busy machine)
                expected = clone(pipe).fit(X.iloc[train], y[train]).predict_proba(X.iloc[val])[:, 1]
            mine = res.oof[(res.oof["model"] == name) & (res.oof["repeat"] == r) & (res.oof["fold"] == k)]
            assert np.array_equal(mine["row"].to_numpy(), val)
            assert np.array_equal(mine["y_score"].to_numpy(), expected), (name, r, k)
        plain = ev.cross_validate(pipe, X, y, folds, fit_predict=_plain_fit_predict)
        pd.testing.assert_frame_equal(
            res.scores[res.scores["model"] == name].drop(columns="model").reset_index(drop=True),
            plain.scores,
            check_exact=True,
        )
        pd.testing.assert_frame_equal(
            res.oof[res.oof["model"] == name].drop(columns="model").reset_index(drop=True), plain.oof, check_exact=True
        )
    t = res.timings
    assert list(t.columns) == ["model", "repeat", "fold", "fit_seconds", "predict_seconds"]
    assert len(t) == len(pipes) * 3 and (t["fit_seconds"] > 0).all() and (t["predict_seconds"] > 0).all()
    # the duplicate was not refitted: it reports the measured fit of the first
    assert np.array_equal(
        t.loc[t["model"] == "lr_again", "fit_seconds"].to_numpy(), t.loc[t["model"] == "lr", "fit_seconds"].to_numpy()
    )


def test_cross_validate_models_second_call_hits_the_caches(small_data, fresh_caches):
    X, y, schema, folds = small_data
    pipes = {n: p for n, p in _shared_pipelines(schema).items() if n in ("dummy", "lr", "lr_again")}
    first = ev.cross_validate_models(pipes, X, y, folds)
    kept = dict(caches._MODEL_CACHE)
    second = ev.cross_validate_models(pipes, X, y, folds)
    assert dict(caches._MODEL_CACHE).keys() == kept.keys()  # nothing refitted
    pd.testing.assert_frame_equal(second.scores, first.scores, check_exact=True)
    pd.testing.assert_frame_equal(second.oof, first.oof, check_exact=True)
    # a kept model reports the fit time measured when it was fitted
    pd.testing.assert_series_equal(second.timings["fit_seconds"], first.timings["fit_seconds"], check_exact=True)
    # the same frame again through cross_validate (one pipeline, same caches)
    single = ev.cross_validate(pipes["lr"], X, y, folds)
    pd.testing.assert_frame_equal(
        single.oof, first.oof[first.oof["model"] == "lr"].drop(columns="model").reset_index(drop=True), check_exact=True
    )


def test_cross_validate_models_concurrent_workers_match_sequential(small_data, fresh_caches):
    # threads instead of processes (fast to start); scheduling with jobs dispatched ahead of
    # their results (the duplicate waits for its first) is the same as with processes. Processes
    # are covered by test_cross_validation.py::test_cross_validate_deterministic_and_parallel.
    import joblib

    X, y, schema, folds = small_data
    pipes = {n: p for n, p in _shared_pipelines(schema).items() if n in ("dummy", "lr", "lr_again")}
    with joblib.parallel_config(backend="threading"):
        parallel = ev.cross_validate_models(pipes, X, y, folds, n_jobs=2)
    caches._PREPROCESS_CACHE.clear()
    caches._MODEL_CACHE.clear()
    sequential = ev.cross_validate_models(pipes, X, y, folds, n_jobs=1)
    pd.testing.assert_frame_equal(parallel.scores, sequential.scores, check_exact=True)
    pd.testing.assert_frame_equal(parallel.oof, sequential.oof, check_exact=True)


def test_cross_validate_models_kept_model_evicted_while_its_job_runs(small_data, fresh_caches, monkeypatch):
    import joblib

    X, y, schema, folds = small_data
    pipes = {
        "dummy": make_pipeline("dummy", schema, seed=0),
        "lr": make_pipeline("logistic_regression", schema, seed=0),
    }
    monkeypatch.setattr(caches, "MODEL_CACHE_SIZE", 1)  # stands for: more new fits than the cache holds
    with joblib.parallel_config(backend="threading"):
        first = ev.cross_validate_models(pipes, X, y, folds, n_jobs=2)  # keeps lr's last fold only
        # lr fold 2 is dispatched as a cache hit before lr folds 0 and 1, kept on collection, evict it
        again = ev.cross_validate_models({"lr": pipes["lr"], "dummy": pipes["dummy"]}, X, y, folds, n_jobs=2)
    pd.testing.assert_frame_equal(
        again.oof.sort_values(["model", "fold", "row"]).reset_index(drop=True),
        first.oof.sort_values(["model", "fold", "row"]).reset_index(drop=True),
    )


def test_cross_validate_object_column_of_numbers_like_plain_fits(fresh_caches):
    rng = np.random.default_rng(0)
    n = 60
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame({"num": rng.normal(size=n), "code": pd.Series(rng.choice([1, 2, 3], size=n), dtype=object)})
    schema = Schema(target="y", numeric=["num"], categorical={"code": ["1", "2", "3"]}, features=["num", "code"])
    folds = make_folds(y, n_splits=3, n_repeats=1, seed=0)
    pipe = make_pipeline("logistic_regression", schema, seed=0)
    plain = ev.cross_validate(pipe, X, y, folds, fit_predict=_plain_fit_predict)
    shared = ev.cross_validate(pipe, X, y, folds)
    pd.testing.assert_frame_equal(shared.oof, plain.oof, check_exact=True)


#: Weak references to the preprocessed rows :func:`caches.fit_rest` made, for the model below.
_PREPROCESSED: list = []


class _FitAfterTheRowsAreGone(LogisticRegression):
    """Logistic regression that fails if the preprocessed rows still exist when it is fitted."""

    def fit(self, X, y, sample_weight=None):
        assert _PREPROCESSED and all(ref() is None for ref in _PREPROCESSED), "the preprocessed rows are still held"
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize(
    "strategy,model",
    [("smote", "xgboost"), ("smote", "logistic_regression"), ("class_weight", "xgboost"), ("none", "dummy")],
)
def test_fit_rest_fits_what_the_pipeline_fits(small_data, strategy, model):
    """The rest of a pipeline (sampler, one-hot step, per-fold weight, model) fitted step by step
    predicts what ``Pipeline.fit`` on the preprocessed rows predicts."""
    X, y, schema, folds = small_data
    _, _, train, val = next(iter(iter_splits(folds)))
    pipe = make_strategy_pipeline(
        strategy, model, schema, seed=1, model_params={"n_estimators": 5} if model == "xgboost" else None
    )
    preprocess, _ = caches.fit_preprocessing(caches.shared_preprocessing(pipe), X, y, train)
    expected = caches.rest_of(pipe).fit(transform_rows(preprocess, X, train), y[train])
    got = caches.fit_rest(pipe, preprocess, X, y, train)
    assert [name for name, _ in got.steps] == [name for name, _ in expected.steps]
    rows = transform_rows(preprocess, X, val)
    assert np.array_equal(got.predict_proba(rows), expected.predict_proba(rows))


def test_fit_rest_lets_the_preprocessed_rows_go_before_the_model_fits(small_data, monkeypatch):
    """Once the sampler has made its rows, the preprocessed ones are freed (``Pipeline.fit`` keeps
    its input until the model is fitted)."""
    X, y, schema, folds = small_data
    _, _, train, _ = next(iter(iter_splits(folds)))
    pipe = make_strategy_pipeline("random_under", "logistic_regression", schema, seed=1)
    pipe.steps[-1] = ("model", _FitAfterTheRowsAreGone())
    preprocess, _ = caches.fit_preprocessing(caches.shared_preprocessing(pipe), X, y, train)
    transform = FrameTransformer.transform_rows

    def recorded(step, X, rows):
        out = transform(step, X, rows)
        _PREPROCESSED.append(weakref.ref(out))
        return out

    monkeypatch.setattr(FrameTransformer, "transform_rows", recorded)
    _PREPROCESSED.clear()
    caches.fit_rest(pipe, preprocess, X, y, train)
    assert len(_PREPROCESSED) == 1
    with pytest.raises(AssertionError, match="still held"):
        caches.rest_of(pipe).fit(recorded(preprocess, X, train), y[train])


@pytest.mark.parametrize("model", ["xgboost", "logistic_regression"])
def test_fit_rest_smote_never_holds_the_whole_preprocessed_fold(small_data, model, monkeypatch):
    """With SMOTE first, the fold is transformed chunk by chunk into SMOTE-NC's output: no call
    transforms all the training rows at once (only the positive rows are transformed together),
    and the fit predicts what ``Pipeline.fit`` on the preprocessed rows predicts."""
    X, y, schema, folds = small_data
    _, _, train, val = next(iter(iter_splits(folds)))
    pipe = make_strategy_pipeline(
        "smote", model, schema, seed=2, model_params={"n_estimators": 5} if model == "xgboost" else None
    )
    preprocess, _ = caches.fit_preprocessing(caches.shared_preprocessing(pipe), X, y, train)
    expected = caches.rest_of(pipe).fit(transform_rows(preprocess, X, train), y[train])
    transform, sizes = FrameTransformer.transform_rows, []

    def recorded(step, X, rows):
        sizes.append(len(rows))
        return transform(step, X, rows)

    monkeypatch.setattr(features, "TRANSFORM_CHUNK_ROWS", 32)
    monkeypatch.setattr(FrameTransformer, "transform_rows", recorded)
    got = caches.fit_rest(pipe, preprocess, X, y, train)
    assert sizes == [int(y[train].sum())]
    monkeypatch.undo()
    rows = transform_rows(preprocess, X, val)
    assert np.array_equal(got.predict_proba(rows), expected.predict_proba(rows))


def test_fit_rest_lets_the_resampled_rows_go_before_xgboost_grows_its_trees(small_data, monkeypatch):
    """XGBoost trains on its quantised matrix; SMOTE's output, twice the fold, is freed first
    (``XGBClassifier.fit`` holds its input until it returns). Same predictions as the plain fit."""
    import xgboost.sklearn

    X, y, schema, folds = small_data
    _, _, train, val = next(iter(iter_splits(folds)))
    pipe = make_strategy_pipeline("smote", "xgboost", schema, seed=2, model_params={"n_estimators": 5})
    preprocess, _ = caches.fit_preprocessing(caches.shared_preprocessing(pipe), X, y, train)
    expected = caches.rest_of(pipe).fit(transform_rows(preprocess, X, train), y[train])
    resample, train_booster, resampled = CheckedSampler.fit_resample, xgboost.sklearn.train, []

    def recorded(step, X, y):
        Xr, yr = resample(step, X, y)
        resampled.append(weakref.ref(Xr))
        return Xr, yr

    def train_after_the_rows_are_gone(*args, **kwargs):
        assert resampled and resampled[0]() is None, "the resampled rows are still held"
        return train_booster(*args, **kwargs)

    monkeypatch.setattr(CheckedSampler, "fit_resample", recorded)
    monkeypatch.setattr(xgboost.sklearn, "train", train_after_the_rows_are_gone)
    got = caches.fit_rest(pipe, preprocess, X, y, train)
    resampled.clear()
    with pytest.raises(AssertionError, match="still held"):
        caches.rest_of(pipe).fit(transform_rows(preprocess, X, train), y[train])
    monkeypatch.undo()
    rows = transform_rows(preprocess, X, val)
    assert np.array_equal(got.predict_proba(rows), expected.predict_proba(rows))
