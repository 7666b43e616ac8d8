"""Optuna (TPE + median pruning, the tune stage's objective) against scikit-learn's
RandomizedSearchCV over the same XGBoost search space and the same stored folds.

Both sides run one after the other in this process, on the prepared default data
(data/prepared/, from `dvc repro prepare`), each fit with the same number of threads. Prints, for
each side, the best mean average precision and the time it needed; then the time Optuna needed
to reach the random search's best score, and the ratio (target: Optuna in at most one third of
the random search's time).

Random search has no early stopping, so its space fixes the number of trees (300, the registry
default); Optuna's trials stop adding trees on an inner split, as in the tune stage.

Usage: python bench/tune_efficiency.py [--candidates 100] [--optuna-trials 100]
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import optuna
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.model_selection import RandomizedSearchCV
from threadpoolctl import threadpool_limits

from imbalance_lab import data, files, tuning
from imbalance_lab.models import make_pipeline
from imbalance_lab.runner import pipeline_paths

SPACE = {  # the same ranges as tuning.suggest_params("xgboost")
    "model__learning_rate": loguniform(0.01, 0.3),
    "model__max_depth": randint(2, 9),
    "model__min_child_weight": loguniform(0.5, 20.0),
    "model__subsample": uniform(0.5, 0.5),
    "model__colsample_bytree": uniform(0.3, 0.7),
    "model__reg_lambda": loguniform(1e-3, 10.0),
    "model__reg_alpha": loguniform(1e-3, 10.0),
    "model__gamma": uniform(0.0, 5.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--optuna-trials", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    import yaml

    paths = pipeline_paths(yaml.safe_load(open("dvc.yaml")))
    train = pd.read_parquet(paths["train_path"])
    folds = pd.read_parquet(paths["folds_path"])
    schema = files.read_json(paths["schema_path"])
    X, y = data.split_xy(train, schema)
    splits = [(tr, va) for _, _, tr, va in data.iter_splits(folds)]

    # --- random search ---------------------------------------------------------------------
    search = RandomizedSearchCV(make_pipeline("xgboost", schema, seed=args.seed, n_jobs=args.threads), SPACE,
                                n_iter=args.candidates, scoring="average_precision", cv=splits, n_jobs=1,
                                random_state=args.seed, refit=False)
    t0 = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        search.fit(X, y)
    random_seconds = time.perf_counter() - t0
    res = search.cv_results_
    per_candidate = (res["mean_fit_time"] + res["mean_score_time"]) * len(splits)
    elapsed = np.cumsum(per_candidate) * random_seconds / per_candidate.sum()
    best_so_far = np.maximum.accumulate(res["mean_test_score"])
    random_best = float(best_so_far[-1])
    random_reach = float(elapsed[int(np.argmax(best_so_far >= random_best))])

    # --- Optuna ------------------------------------------------------------------------------
    task = tuning.TuneTask(model="xgboost", schema=schema, X=X, y=y, folds=folds, metric="average_precision",
                           seed=args.seed, n_jobs=args.threads)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=args.seed, n_startup_trials=10, multivariate=True),
                                pruner=tuning.make_pruner("median", n_folds=len(splits)))
    storage = tuning.Storage(study._storage, "memory", "", "memory")
    reached_at = None
    t0 = time.perf_counter()
    for _ in range(args.optuna_trials):
        tuning.work(study, storage, task, n_trials=len(study.trials) + 1, progress=False)
        best = study.best_value if any(t.state.name == "COMPLETE" for t in study.trials) else -np.inf
        if reached_at is None and best >= random_best:
            reached_at = time.perf_counter() - t0
    optuna_seconds = time.perf_counter() - t0
    states = pd.Series([t.state.name for t in study.trials]).value_counts().to_dict()

    print(f"random search: {args.candidates} candidates x {len(splits)} folds, best AP {random_best:.4f}, "
          f"{random_seconds:.0f} s in all, best reached after {random_reach:.0f} s")
    print(f"optuna TPE + median pruning: {len(study.trials)} trials ({states}), best AP {study.best_value:.4f}, "
          f"{optuna_seconds:.0f} s in all")
    if reached_at is None:
        print("optuna did not reach the random search's best score within its trials")
    else:
        print(f"optuna reached the random search's best ({random_best:.4f}) after {reached_at:.0f} s")
        print(f"ratio optuna / random search time to that score: {reached_at / random_reach:.3f} "
              f"(against the random search's whole run: {reached_at / random_seconds:.3f})")


if __name__ == "__main__":
    main()
