"""The study's identity follows what the trials compute, not how the code is spelled.

* Moving a function between modules or rewording an error message leaves the study's name as it
  is; changing a hyperparameter range changes it (both on a copy of the package, in a fresh
  interpreter).
* A small probe study, run with the tune stage's sampler, pruner and trial code on the shared
  synthetic data set, must give the trials recorded in ``trial_probe.json`` for the current
  :data:`imbalance_lab.tuning.study.TRIAL_CODE_VERSION`: a change to what trials compute that does
  not raise the version fails here. After raising it, record the probe again::

      IMBALANCE_LAB_RECORD_PROBE=1 python -m pytest tests/tuning/test_study_identity.py
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from imbalance_lab.data import make_folds
from imbalance_lab.tuning import SEARCH_SPACES, TuneTask, make_pruner, make_sampler, study, work
from imbalance_lab.tuning.storage import Storage

PACKAGE = Path(study.__file__).resolve().parents[1]
PROBE_FILE = Path(__file__).with_name("trial_probe.json")
RECORD_ENV = "IMBALANCE_LAB_RECORD_PROBE"
#: Trials of the probe study per model: enough for TPE to model the results after its random
#: start-up trials on the fast model, a few start-up trials on the boosting models.
PROBE_TRIALS = {"logistic_regression": 12, "xgboost": 3, "hist_gradient_boosting": 3}
#: Probe values agree to this many decimals (other CPUs round the last bits of a fit differently).
DECIMALS = 4

NAME_SCRIPT = """
from imbalance_lab.tuning import study
tune = {"model": "xgboost", "metric": "average_precision", "n_trials": 40, "timeout": None, "pruner": "wilcoxon",
        "max_trees": 2000}
print(study.study_name(tune=tune, seed=42, data_fingerprint="d", code=study.trial_code(), n_folds=10, n_jobs=2))
"""


def _study_name_of(package: Path) -> str:
    """The study name a fresh interpreter computes with the package at ``package``."""
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    out = subprocess.run([sys.executable, "-c", NAME_SCRIPT], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "src" / "imbalance_lab"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_moving_code_and_rewording_a_message_keep_the_study(package_copy):
    before = _study_name_of(package_copy)
    # fold_order moves from the objective to the sampler module (the objective imports it from there)
    objective, sampler = package_copy / "tuning" / "objective.py", package_copy / "tuning" / "sampler.py"
    source = objective.read_text()
    start = source.index("def fold_order(")
    end = source.index("\ndef ", start + 1)
    objective.write_text(source[:start] + source[end + 1 :])
    sampler.write_text(sampler.read_text() + "\n\n" + source[start:end])
    _edit(objective, "from .sampler import trial_slot", "from .sampler import fold_order, trial_slot")
    # and an error message of the search spaces is reworded
    _edit(package_copy / "tuning" / "space.py", "cannot be tuned; use one of", "has no search space; tune one of")
    assert _study_name_of(package_copy) == before


def test_changing_a_hyperparameter_range_starts_a_new_study(package_copy):
    before = _study_name_of(package_copy)
    _edit(
        package_copy / "tuning" / "space.py",
        '"max_depth": IntDistribution(2, 8)',
        '"max_depth": IntDistribution(2, 10)',
    )
    assert _study_name_of(package_copy) != before


def _probe(make_dataset, model: str) -> list[dict]:
    """The trials of a probe study of ``model``: the tune stage's sampler, Wilcoxon pruner and
    trial code, on 120 rows and 2 x 3 folds."""
    X, y, schema = make_dataset(120, positives=24, seed=0)
    folds = make_folds(y, n_splits=3, n_repeats=2, seed=0)
    task = TuneTask(
        model=model, schema=schema, X=X, y=y, folds=folds, metric="average_precision", seed=0, n_jobs=1, max_trees=50
    )
    probe = optuna.create_study(
        direction="maximize", sampler=make_sampler(0), pruner=make_pruner("wilcoxon", n_folds=6)
    )
    work(probe, Storage(probe._storage, "memory", "", "memory"), task, n_trials=PROBE_TRIALS[model], progress=False)
    return [
        {
            "state": t.state.name,
            "params": {k: float(f"{v:.10g}") if isinstance(v, float) else v for k, v in t.params.items()},
            "intermediate": {str(k): round(v, DECIMALS) for k, v in t.intermediate_values.items()},
            "value": round(t.value, DECIMALS),
            "n_trees": t.user_attrs.get("n_trees"),
        }
        for t in probe.trials
    ]


def _differences(recorded: list[dict], now: list[dict], model: str) -> list[str]:
    found = []
    for number, (a, b) in enumerate(zip(recorded, now)):
        for key in ("state", "params", "n_trees"):
            if a[key] != b[key]:
                found.append(f"{model} trial {number}: {key} {a[key]} -> {b[key]}")
        for key in ("intermediate", "value"):
            x, y = (a[key], b[key]) if key == "intermediate" else ({"": a[key]}, {"": b[key]})
            if x.keys() != y.keys() or any(not math.isclose(x[k], y[k], abs_tol=2 * 10**-DECIMALS) for k in x):
                found.append(f"{model} trial {number}: {key} {a[key]} -> {b[key]}")
    if len(recorded) != len(now):
        found.append(f"{model}: {len(recorded)} trials -> {len(now)}")
    return found


def test_the_probe_study_gives_the_trials_recorded_for_this_trial_code_version(make_dataset):
    assert set(PROBE_TRIALS) == set(SEARCH_SPACES)
    now = {model: _probe(make_dataset, model) for model in PROBE_TRIALS}
    if os.environ.get(RECORD_ENV) == "1":
        PROBE_FILE.write_text(
            json.dumps({"trial_code_version": study.TRIAL_CODE_VERSION, "trials": now}, indent=1, sort_keys=True) + "\n"
        )
        pytest.skip(f"recorded {PROBE_FILE.name} for trial code version {study.TRIAL_CODE_VERSION}")
    recorded = json.loads(PROBE_FILE.read_text())
    how = f"record the probe: {RECORD_ENV}=1 python -m pytest {Path(__file__).relative_to(PACKAGE.parents[1])}"
    assert recorded["trial_code_version"] == study.TRIAL_CODE_VERSION, (
        f"TRIAL_CODE_VERSION is {study.TRIAL_CODE_VERSION} but {PROBE_FILE.name} was recorded for "
        f"{recorded['trial_code_version']}; {how}"
    )
    changes = [d for model in PROBE_TRIALS for d in _differences(recorded["trials"][model], now[model], model)]
    assert not changes, (
        "what the trials compute changed while tuning.study.TRIAL_CODE_VERSION did not, so the tune stage would "
        f"resume studies of the old code; raise it and {how}. Changes: " + "; ".join(changes[:5])
    )
