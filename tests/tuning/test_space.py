"""Unit tests of imbalance_lab.tuning.space: the search spaces."""

from __future__ import annotations

import optuna
import pytest

from imbalance_lab.data import iter_splits
from imbalance_lab.errors import TuneError
from imbalance_lab.tuning import space

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("model", space.TUNABLE_MODELS)
def test_search_spaces_sample_valid_params_that_fit(model, task, fit_predict_fold):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(3):
        trial = study.ask()
        params = space.suggest_params(trial, model)
        dists = trial.distributions
        assert set(params) == set(dists)
        for name, value in params.items():
            assert dists[name]._contains(dists[name].to_internal_repr(value))
    _, _, train, val = next(iter_splits(task.folds))
    proba, trees = fit_predict_fold(model, params, task.schema, task.X, task.y, train, val, seed=0)
    assert proba.shape == (len(val),) and ((proba >= 0) & (proba <= 1)).all()
    assert (trees is None) == (space.trees_param(model) is None)
    if trees is not None:
        assert 1 <= trees < 2000


def test_unknown_model_is_a_one_line_error():
    with pytest.raises(TuneError, match=r"tune\.model 'dummy' cannot be tuned"):
        space.suggest_params(optuna.create_study().ask(), "dummy")
