"""Optuna (TPE and a pruner, the tune stage's objective) against scikit-learn's
RandomizedSearchCV over the same XGBoost search space, the same model and the same stored folds.

Both sides evaluate exactly the tune stage's objective: the mean average precision over the
stored folds of XGBoost with early stopping on an inner split of each training fold
(:func:`imbalance_lab.tuning.fit_fold`). For the random search that model is wrapped as a
scikit-learn estimator (:class:`EarlyStoppedXGBoost`), so a hyperparameter set scores the same
on both sides (``tests/bench/test_tune_efficiency.py`` checks it). What each side does per fit
differs as the tools do: Optuna's trials are the tune stage's, which preprocess each fold and
build XGBoost's matrices of it once for all trials; the random search, as scikit-learn runs it,
fits the whole pipeline, preprocessing and matrices included, every time. Both use the
machine's cores the same way: ``--cores`` fits at a time, one thread a fit (the random search
with ``n_jobs=cores``; Optuna fitting a trial's folds ``cores`` at a time from a queue, as the
tune stage does).

The random search runs first, with ``--candidates`` candidates; then Optuna runs until its best
value reaches the random search's best, or until it has used as much time as the whole random
search. Prints, for each side, the best value and the time it needed to reach the random
search's best (for the random search: when the candidate that holds it had its last fold scored),
the spread of the candidates' scores, and the ratio of the two times (target: Optuna in at most
one third of the random search's time). Everything printed is measured in this one run, on the prepared default data (``dvc repro
prepare``); run it on a quiet machine.

With several seeds (``--seed 42 1 2 3``) it runs once per seed and sums up: each seed's
ratio, their median and in how many runs the target was met. On this data the ratio depends
much on the seed (the random search's best of 100 noisy candidates is partly luck), so one
seed's ratio says little; see the README.

Optuna uses ``tune.pruner`` from params.yaml unless ``--pruner`` names others: with several
(``--pruner wilcoxon median``), Optuna runs once with each, one after the other, against the
same random search, and the summary has a line per pruner.

``--rescore N`` then scores again, with N other model seeds (the seed of XGBoost's row and column
sampling and of the early-stopping split), the random search's best candidate, Optuna's best
complete trial at the target time (a third of the random search's time to its best) and
Optuna's best overall, and prints the mean and sd of each over those seeds: how good the
settings each side picked are, apart from the luck of the one seed they were picked with.

Usage: python bench/tune_efficiency.py [--candidates 100] [--cores 2] [--seed 42 [1 2 3 ...]]
                                       [--pruner wilcoxon|median|hyperband|none [...]] [--rescore 10]
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np
import optuna
import pandas as pd
from scipy.stats import loguniform, randint, uniform
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import RandomizedSearchCV

from imbalance_lab import data, tuning

#: Optuna's time to reach the random search's best, as a share of the random search's (the issue's target).
TARGET = 1 / 3

SPACE = {  # the same distributions as tuning.SEARCH_SPACES["xgboost"]
    "learning_rate": loguniform(0.01, 0.3),
    "max_depth": randint(2, 9),
    "min_child_weight": loguniform(0.5, 20.0),
    "subsample": uniform(0.5, 0.5),
    "colsample_bytree": uniform(0.3, 0.7),
    "reg_lambda": loguniform(1e-3, 10.0),
    "reg_alpha": loguniform(1e-3, 10.0),
    "gamma": uniform(0.0, 5.0),
}


class EarlyStoppedXGBoost(ClassifierMixin, BaseEstimator):
    """The tune stage's trial model as a scikit-learn estimator: ``fit`` does what a trial does
    on a training fold (:func:`imbalance_lab.tuning.fit_fold`: preprocessing, early stopping on
    an inner split), with one thread."""

    def __init__(
        self,
        *,
        schema: data.Schema | None = None,
        seed: int = 0,
        learning_rate: float = 0.1,
        max_depth: int = 6,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        reg_alpha: float = 0.0,
        gamma: float = 0.0,
    ) -> None:
        self.schema = schema
        self.seed = seed
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.gamma = gamma

    def fit(self, X: pd.DataFrame, y: Any) -> EarlyStoppedXGBoost:
        y = np.asarray(y)
        params = {name: getattr(self, name) for name in SPACE}
        self.pipeline_, self.n_trees_ = tuning.fit_fold(
            "xgboost", params, self.schema, X, y, np.arange(len(y)), seed=self.seed, n_jobs=1
        )
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(X)


def _finished_at(estimator: Any, X: Any, y: Any) -> float:
    """A "scorer" that records when a fold's scoring ends (epoch seconds: one clock for every
    worker process), so the random search's timeline is measured, not estimated."""
    return time.time()


def random_search(
    X: pd.DataFrame, y: np.ndarray, splits: list, schema: data.Schema, *, candidates: int, cores: int, seed: int
) -> tuple[pd.DataFrame, float]:
    """Run the random search.

    Returns
    -------
    (candidates, seconds)
        Per candidate, in candidate order: ``params``, ``mean_score`` (mean AP over the folds),
        ``std_score`` and ``done_seconds`` (when its last fold was scored, from the start); and
        the whole search's seconds.
    """
    search = RandomizedSearchCV(
        EarlyStoppedXGBoost(schema=schema, seed=seed),
        SPACE,
        n_iter=candidates,
        scoring={"ap": "average_precision", "done": _finished_at},
        refit=False,
        cv=splits,
        n_jobs=cores,
        random_state=seed,
        error_score="raise",
    )
    t0 = time.time()
    search.fit(X, y)
    seconds = time.time() - t0
    res = search.cv_results_
    done = np.max([res[f"split{k}_test_done"] for k in range(len(splits))], axis=0) - t0
    return pd.DataFrame(
        {
            "params": res["params"],
            "mean_score": res["mean_test_ap"],
            "std_score": res["std_test_ap"],
            "done_seconds": done,
        }
    ), seconds


def optuna_search(
    task: tuning.TuneTask, *, target: float, budget_seconds: float, seed: int, n_folds: int, pruner: str
) -> tuple[optuna.Study, float | None, float]:
    """TPE and ``pruner`` (the tune stage's sampler and pruner) one trial at a time, until the
    best value reaches ``target`` or ``budget_seconds`` have passed. Returns the study, the
    seconds at which it reached the target (None if it did not) and the seconds it ran."""
    study = optuna.create_study(
        direction="maximize", sampler=tuning.make_sampler(seed), pruner=tuning.make_pruner(pruner, n_folds=n_folds)
    )
    storage = tuning.Storage(study._storage, "memory", "", "memory")
    t0 = time.perf_counter()
    reached_at = None
    while time.perf_counter() - t0 < budget_seconds:
        tuning.work(study, storage, task, n_trials=len(study.trials) + 1, progress=False)
        if any(t.state.name == "COMPLETE" for t in study.trials) and study.best_value >= target:
            reached_at = time.perf_counter() - t0
            break
    return study, reached_at, time.perf_counter() - t0


def rescore(
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: list,
    schema: data.Schema,
    *,
    seeds: list[int],
    cores: int,
) -> list[float]:
    """The mean AP over ``splits`` of XGBoost with ``params``, fitted as a tune trial does
    (:func:`imbalance_lab.tuning.fit_fold`) with each model seed in ``seeds``; ``cores``
    fits at a time, one thread each."""
    from joblib import Parallel, delayed
    from sklearn.metrics import average_precision_score

    def fold_score(s: int, train: np.ndarray, val: np.ndarray) -> float:
        pipe, _ = tuning.fit_fold("xgboost", params, schema, X, y, train, seed=s, n_jobs=1)
        proba = pipe.predict_proba(X.iloc[val])[:, 1]
        return float(average_precision_score(y[val], proba))

    scores = Parallel(n_jobs=cores)(delayed(fold_score)(s, tr, va) for s in seeds for tr, va in splits)
    return [float(np.mean(scores[i * len(splits) : (i + 1) * len(splits)])) for i in range(len(seeds))]


def best_complete_by(study: optuna.Study, seconds: float) -> optuna.trial.FrozenTrial | None:
    """The best complete trial of ``study`` among those that ended within ``seconds`` of its
    first trial's start (None if none had)."""
    trials = study.get_trials(deepcopy=False)
    if not trials:
        return None
    t0 = min(t.datetime_start for t in trials if t.datetime_start is not None)
    done = [t for t in trials if t.state.name == "COMPLETE" and (t.datetime_complete - t0).total_seconds() <= seconds]
    best = max if study.direction == optuna.study.StudyDirection.MAXIMIZE else min
    return best(done, key=lambda t: t.value) if done else None


def compare(
    X: pd.DataFrame,
    y: np.ndarray,
    folds: pd.DataFrame,
    schema: data.Schema,
    *,
    candidates: int,
    cores: int,
    seed: int,
    pruners: list[str],
    rescore_seeds: int = 0,
    echo: Any = print,
) -> list[dict[str, Any]]:
    """One side-by-side run with one seed (the random search's sampling, the models' seeds and
    TPE's seed): the random search once, then Optuna once per pruner in ``pruners`` (names as
    ``tune.pruner``) against it, one after the other, printing as it goes.

    Returns
    -------
    list of dict
        Per pruner, the figures: ``seed``, ``pruner``, ``random_best``, ``random_reach``,
        ``random_seconds``, ``optuna_best``, ``optuna_reach`` (None if it did not get there),
        ``optuna_seconds``, ``trials`` (per state), ``trials_within_target`` (how many of Optuna's
        trials, at their mean duration, fit in the target time: a third of ``random_reach``) and
        ``ratio`` (None if Optuna did not get there);
        with ``rescore_seeds``, also ``rescored``: for "random best", "optuna best at target time"
        and "optuna best", the mean AP with each of ``rescore_seeds`` other model seeds (None if
        Optuna had no complete trial by the target time).
    """
    splits = [(tr, va) for _, _, tr, va in data.iter_splits(folds)]
    found, random_seconds = random_search(X, y, splits, schema, candidates=candidates, cores=cores, seed=seed)
    random_best = float(found["mean_score"].max())
    best_index = int(found["mean_score"].idxmax())
    # candidates finish out of order with several workers: the best is reached when the first
    # candidate holding it is done
    random_reach = float(found.loc[found["mean_score"] >= random_best, "done_seconds"].min())
    echo(
        f"random search: {candidates} candidates x {len(splits)} folds, {cores} fits at a time: "
        f"best mean AP {random_best:.4f} (candidate {best_index + 1}), reached after {random_reach:.1f} s "
        f"of {random_seconds:.1f} s"
    )
    q = found["mean_score"].quantile([0.0, 0.5, 0.9, 1.0])
    echo(
        f"  candidates' mean AP: min {q[0.0]:.4f}, median {q[0.5]:.4f}, 90th percentile {q[0.9]:.4f}, "
        f"max {q[1.0]:.4f}; a candidate's AP varies from fold to fold with a median sd of "
        f"{found['std_score'].median():.4f}"
    )

    runs = []
    for pruner in pruners:
        # a fresh task: preprocessing shared across trials is part of each Optuna run's time
        task = tuning.TuneTask(
            model="xgboost", schema=schema, X=X, y=y, folds=folds, metric="average_precision", seed=seed, n_jobs=cores
        )
        study, reached_at, optuna_seconds = optuna_search(
            task, target=random_best, budget_seconds=random_seconds, seed=seed, n_folds=len(splits), pruner=pruner
        )
        states = pd.Series([t.state.name.lower() for t in study.trials]).value_counts().to_dict()
        echo(
            f"optuna TPE + {pruner} pruner: {len(study.trials)} trials {states}, best mean AP "
            f"{study.best_value:.4f}, {optuna_seconds:.1f} s"
        )
        # how many trials the target leaves Optuna: the first n_startup_trials are random draws
        per_trial = optuna_seconds / len(study.trials)
        within = TARGET * random_reach / per_trial
        echo(
            f"  the target time ({TARGET:.3f} x {random_reach:.1f} s = {TARGET * random_reach:.1f} s) is the time of "
            f"{within:.1f} of these trials ({per_trial:.2f} s each on average), the first "
            f"{tuning.N_STARTUP_TRIALS} of which are TPE's random start-up draws"
        )
        ratio = None
        if reached_at is None:
            echo(f"  did not reach {random_best:.4f} within the random search's whole time ({random_seconds:.1f} s)")
        else:
            ratio = reached_at / random_reach
            echo(f"  reached {random_best:.4f} after {reached_at:.1f} s (trial {len(study.trials)})")
            echo(
                f"  ratio of the times to reach it, optuna ({pruner}) / random search: {ratio:.3f} "
                f"(target <= {TARGET:.3f})"
            )
        run = {
            "seed": seed,
            "pruner": pruner,
            "random_best": random_best,
            "random_reach": random_reach,
            "random_seconds": random_seconds,
            "optuna_best": float(study.best_value),
            "optuna_reach": reached_at,
            "optuna_seconds": optuna_seconds,
            "trials": states,
            "trials_within_target": within,
            "ratio": ratio,
        }
        if rescore_seeds:
            seeds = [seed + 1000 + i for i in range(rescore_seeds)]
            at_target = best_complete_by(study, TARGET * random_reach)
            picks = {
                "random best": dict(found.loc[best_index, "params"]),
                "optuna best at target time": at_target.params if at_target else None,
                "optuna best": study.best_params,
            }
            run["rescored"] = {}
            for name, params in picks.items():
                values = None if params is None else rescore(params, X, y, splits, schema, seeds=seeds, cores=cores)
                run["rescored"][name] = values
                shown = (
                    "no complete trial by then"
                    if values is None
                    else f"mean AP {np.mean(values):.4f} (sd {np.std(values, ddof=1) if len(values) > 1 else 0.0:.4f})"
                )
                echo(f"  re-scored with {len(seeds)} other model seeds: {name}: {shown}")
        runs.append(run)
    return runs


def summary(runs: list[dict[str, Any]]) -> list[str]:
    """One line per pruner over the seeds: each seed's ratio, their median and how many met the
    target. A run where Optuna did not get there counts as missing the target (ratio shown as
    "> r": the random search's whole time over the time it needed to reach its best); when such
    runs are half or more, there is no median to show."""
    lines = []
    for pruner in dict.fromkeys(r["pruner"] for r in runs):
        shown, values = [], []
        for r in (r for r in runs if r["pruner"] == pruner):
            if r["ratio"] is None:
                bound = r["random_seconds"] / r["random_reach"]
                shown.append(f"seed {r['seed']}: > {bound:.3f}")
                values.append(np.inf)
            else:
                shown.append(f"seed {r['seed']}: {r['ratio']:.3f}")
                values.append(r["ratio"])
        met = sum(v <= TARGET for v in values)
        median = np.median(values)
        median = (
            f"median {median:.3f}"
            if np.isfinite(median)
            else "no median (Optuna never got there in half the runs or more)"
        )
        lines.append(
            f"{pruner} pruner, ratios over {len(values)} seeds: {'; '.join(shown)}; {median}; "
            f"target (<= {TARGET:.3f}) met in {met} of {len(values)}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--cores", type=int, default=2, help="fits at a time (both sides)")
    parser.add_argument(
        "--seed",
        type=int,
        nargs="+",
        default=[42],
        help="one side-by-side run per seed; with several, a last line sums up the ratios",
    )
    parser.add_argument(
        "--pruner",
        choices=["wilcoxon", "median", "hyperband", "none"],
        nargs="+",
        help="Optuna's pruner, or several to compare against the same random search "
        "(default: tune.pruner in params.yaml)",
    )
    parser.add_argument(
        "--rescore",
        type=int,
        default=0,
        metavar="N",
        help="score each side's picks again with N other model seeds (default 0: no)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    import yaml

    from imbalance_lab.pipeline.stages import pipeline_paths

    paths = pipeline_paths(yaml.safe_load(open("dvc.yaml")))
    prepared = data.read_prepared(paths["prepared_dir"])
    folds, schema = prepared.folds, prepared.schema
    X, y = data.split_xy(prepared.train, schema)
    pruners = args.pruner or [yaml.safe_load(open("params.yaml"))["tune"]["pruner"]]
    runs = []
    for seed in args.seed:
        if len(args.seed) > 1:
            print(f"--- seed {seed}", flush=True)
        runs.extend(
            compare(
                X,
                y,
                folds,
                schema,
                candidates=args.candidates,
                cores=args.cores,
                seed=seed,
                pruners=pruners,
                rescore_seeds=args.rescore,
                echo=lambda line: print(line, flush=True),
            )
        )
    if len(args.seed) > 1:
        for line in summary(runs):
            print(line)


if __name__ == "__main__":
    main()
