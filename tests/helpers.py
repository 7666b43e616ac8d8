"""Shared helpers for tests: a small hand-made data set, a copy of the project in a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT_FILES = ["src", "notebooks", "data/raw", "params.yaml", "dvc.yaml", ".dvc/config", ".dvc/plots", ".dvcignore",
                 "pyproject.toml", ".gitignore"]


def make_data(n: int, *, positives: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """A signal column, a noise column with missing values and a categorical one with missing values.

    The log-odds are linear in ``num1`` and in the category, so a logistic regression is well
    specified (its probabilities are calibrated at the prevalence it is trained at).

    Returns
    -------
    (X, y, schema)
        ``positives`` of the ``n`` labels are 1; ``schema`` is the frame's, as prepare writes it.
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, size=positives, replace=False)] = 1
    num1 = rng.normal(size=n) + 1.5 * y
    num2 = rng.normal(loc=3.0, scale=2.0, size=n)
    num2[rng.random(n) < 0.1] = np.nan
    cat = np.where(y == 1, rng.choice(["a", "b", "c"], size=n, p=[0.2, 0.2, 0.6]),
                   rng.choice(["a", "b", "c"], size=n, p=[0.45, 0.45, 0.1])).astype(object)
    cat[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame({"num1": num1, "num2": num2, "cat": pd.Series(cat, dtype=object)})
    schema = {"target": "y", "numeric": ["num1", "num2"], "categorical": {"cat": ["a", "b", "c"]},
              "features": ["num1", "num2", "cat"]}
    return X, y, schema


#: A small, fast configuration of the pipeline for end-to-end tests.
SMALL = {
    "prepare": {"n_splits": 3, "n_repeats": 1},
    "cross_validate": {"models": ["dummy", "logistic_regression"], "learning_curve_sizes": [0.5, 1.0], "n_jobs": 1},
    "tune": {"model": "logistic_regression", "n_trials": 4, "n_jobs": 1},
    "imbalance": {"strategies": ["none", "class_weight", "random_over", "smote", "threshold_moving"],
                  "ratio_sweep_points": 2, "n_jobs": 1},
    "evaluate": {"n_bootstrap": 200, "permutation_repeats": 2, "n_jobs": 1},
}


def env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's bin first, DVC offline."""
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["DVC_NO_ANALYTICS"] = "1"
    e.pop("IMBALANCE_LAB_DEBUG", None)
    return e


def run(cmd: list[str], cwd: Path, *, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run a command in ``cwd`` and return the completed process (stdout and stderr as text)."""
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def update_params(root: Path, changes: dict) -> None:
    """Merge ``changes`` (section -> {key: value}) into root/params.yaml."""
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(params.get(section), dict):
            params[section].update(values)
        else:
            params[section] = values
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def copy_project(dest: Path, *, git: bool = False, params: dict | None = None) -> Path:
    """Copy the project's source files (no outputs, no .venv) to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in PROJECT_FILES:
        src = ROOT / rel
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        elif src.exists():
            shutil.copy2(src, target)
    (dest / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    if params:
        update_params(dest, params)
    if git:
        run(["git", "init", "-q", "-b", "main"], dest)
        run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A"], dest)
        run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "init"], dest)
    return dest
