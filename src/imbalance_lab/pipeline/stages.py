"""The stages as dvc.yaml declares them: each stage's notebook, reports, outputs and the
``${paths.*}`` it uses (every path of the pipeline is declared once, in dvc.yaml's ``vars``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ImbalanceLabError
from ..io import read_yaml

PATH_REF = re.compile(r"\$\{paths\.([A-Za-z0-9_]+)\}")
#: Outputs written in place and never set aside: the Optuna study must survive a killed run.
KEPT_IN_PLACE = frozenset({"study_journal_path"})


def pipeline_paths(dvc: dict[str, Any]) -> dict[str, str]:
    """The ``paths`` mapping declared in dvc.yaml's ``vars``."""
    for entry in dvc.get("vars", []) or []:
        if isinstance(entry, dict) and "paths" in entry:
            return dict(entry["paths"])
    return {}


def read_stage(stage: str, *, dvc_file: str | Path = "dvc.yaml") -> dict[str, Any]:
    """The stage's notebook, reports and the paths it references in dvc.yaml.

    Returns
    -------
    dict
        ``notebook``, ``report``, ``html`` (raw strings, possibly ``${paths.*}``),
        ``path_keys`` (sorted) and ``paths`` (name -> path for those keys).
    """
    dvc = read_yaml(dvc_file, hint="run from the project root or pass --dvc-file")
    if not isinstance(dvc, dict):
        raise ImbalanceLabError(f"{dvc_file}: is not a mapping with 'stages'; fix the file")
    declared = pipeline_paths(dvc)
    stages = dvc.get("stages", {})
    if stage not in stages:
        raise ImbalanceLabError(f"{dvc_file}: no stage '{stage}'; stages are {', '.join(stages)}")
    spec = stages[stage]
    deps = [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])]
    outs = [o if isinstance(o, str) else next(iter(o)) for o in spec.get("outs", [])]
    notebooks = [d for d in deps if d.startswith("notebooks/") and d.endswith(".ipynb")]
    reports = [o for o in outs if o.endswith(".ipynb")]
    htmls = [o for o in outs if o.endswith(".html")]
    if len(notebooks) != 1 or len(reports) != 1 or len(htmls) != 1:
        raise ImbalanceLabError(
            f"{dvc_file}: stage '{stage}' needs exactly one notebooks/*.ipynb dependency and one .ipynb "
            "and one .html output; fix the stage"
        )
    text = yaml.safe_dump({k: spec.get(k) for k in ("deps", "outs", "metrics", "plots")})
    keys = sorted(set(PATH_REF.findall(text)))
    missing = [k for k in keys if k not in declared]
    if missing:
        raise ImbalanceLabError(
            f"{dvc_file}: stage '{stage}' uses paths {missing} that vars.paths does not declare; add them"
        )
    resolve = lambda p: PATH_REF.sub(lambda m: declared[m.group(1)], p)  # noqa: E731
    declared_outs = outs + [
        m if isinstance(m, str) else next(iter(m)) for k in ("metrics", "plots") for m in spec.get(k, []) or []
    ]
    in_place = {declared[k] for k in KEPT_IN_PLACE if k in declared}
    return {
        "notebook": resolve(notebooks[0]),
        "report": resolve(reports[0]),
        "html": resolve(htmls[0]),
        "path_keys": keys,
        "paths": {k: declared[k] for k in keys},
        "outputs": [o for o in map(resolve, declared_outs) if o not in in_place],
    }


def notebook_parameters(params: dict[str, Any], *, stage: str, paths: dict[str, str]) -> dict[str, Any]:
    """The parameters injected into a stage's notebook: seed, its params section, its paths."""
    return {"seed": params["seed"], **params[stage], **paths}
