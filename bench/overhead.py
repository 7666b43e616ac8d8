"""Overhead of the pipeline machinery (DVC, papermill, a kernel and reports per stage) against
the same computations in one plain Python process, and the time of a no-op `dvc repro`.

Everything is measured in this one run, in temporary copies of the project (tests.support):

1. ``dvc repro`` from scratch in one copy (default params: about 8 minutes on 2 cores);
2. the same five notebooks in another copy, each with its stage's injected parameters
   (papermill ``prepare_only``) converted to Python (nbconvert's PythonExporter) and executed
   in order in one Python process: no DVC, papermill, kernel or reports;
2b. the same scripts in a third copy, each in a Python process of its own: what one process a
   stage costs by itself (the interpreter, the libraries' imports and joblib's workers, paid
   per stage as in the pipeline), and the time a stage kernel takes to answer (median of
   ``--repeats`` starts): what is left, the machinery beyond the kernel's start and the
   imports, is the part the runner controls; and, inside the one ``dvc repro`` run (the
   seconds its stages' logs give each line), each stage's time outside its notebook's cells
   (the runner, the kernel's start, papermill, the reports) and what is left of the run for DVC
   and the report stage: no variation of the computation between runs comes into these
   (proposed target: their sum at most 2.5 s a stage, the median of three ``--quick`` runs);
3. in the first copy, now up to date: a no-op ``dvc repro`` and ``dvc status`` (median of
   ``--repeats``), ``dvc --version`` (interpreter start and DVC's imports), and one instrumented
   no-op ``dvc repro`` that splits its time into imports, YAML parsing, templating
   (``${...}`` in dvc.yaml), stage checks and the rest.

Prints the wall times and the ratio of the first two (target: at most 1.10) and the no-op times (target: no-op
``dvc repro`` at most 1.5 s). ``--quick`` uses the small params of the end-to-end tests.

Usage: python bench/overhead.py [--quick] [--repeats 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import SMALL, copy_project  # noqa: E402
from tests.support import env as helper_env  # noqa: E402

#: Executes converted notebooks (argv[1:]) in order in this one process; prints stage -> seconds.
PLAIN_RUNNER = r"""
import json, os, sys, time
t0 = time.perf_counter()
times = {}
from IPython.display import display
for script in sys.argv[1:]:
    stage = os.path.basename(script).split(".")[0]
    t = time.perf_counter()
    code = compile(open(script).read(), script, "exec")
    exec(code, {"__name__": "__main__", "display": display})
    times[stage] = time.perf_counter() - t
    import matplotlib.pyplot as plt
    plt.close("all")
times["total"] = time.perf_counter() - t0
print("PLAIN_TIMES " + json.dumps(times), file=sys.stderr)
"""

#: Starts a stage kernel in the project argv[1] as the runner does and waits for its first answer.
KERNEL_START = r"""
import sys, time
from pathlib import Path
from jupyter_client.utils import run_sync
from imbalance_lab.pipeline.kernel import StageKernel
t0 = time.perf_counter()
kernel = StageKernel(Path(sys.argv[1]))
kc = kernel.manager.client()
kc.start_channels()
run_sync(kc.wait_for_ready)(timeout=60)
print(f"KERNEL_READY {time.perf_counter() - t0:.3f}", file=sys.stderr)
kernel.shutdown()
"""

#: A no-op `dvc repro` (or any dvc command in argv) with its time split by exclusive timers.
NOOP_PROFILE = r"""
import collections, json, sys, time
t0 = time.perf_counter()
import dvc.utils.serialize._yaml as y
import dvc.utils.strictyaml as sy
from dvc.parsing import DataResolver, EntryDefinition
from dvc.stage import Stage
import ruamel.yaml.main as rym
totals = collections.defaultdict(float)
counts = collections.Counter()
stack = []

def timed(category, fn, label=None):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        stack.append(0.0)
        try:
            return fn(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - start
            children = stack.pop()
            totals[category] += elapsed - children
            if stack:
                stack[-1] += elapsed
            if label:
                counts[label(*args, **kwargs)] += 1
    return wrapper

y.parse_yaml = sy.parse_yaml = timed("yaml", y.parse_yaml, lambda text, path, *a, **k: str(path).rsplit("/", 1)[-1])
DataResolver.__init__ = timed("templating", DataResolver.__init__)
EntryDefinition.resolve_stage = timed("templating", EntryDefinition.resolve_stage)
Stage.changed = timed("stage checks", Stage.changed)
Stage.status = timed("stage checks", Stage.status)
from dvc.cli import main
t1 = time.perf_counter()
main(sys.argv[1:])
t2 = time.perf_counter()
print("NOOP_PROFILE " + json.dumps({"imports": t1 - t0, "command": t2 - t1, **totals, "parsed": dict(counts),
                                    "c_yaml": rym.CParser is not None}), file=sys.stderr)
"""


#: Outputs both sides must write byte for byte alike (same params, same seeds).
COMPARED = [
    "data/prepared/train.parquet",
    "data/prepared/folds.parquet",
    "data/prepared/summary.json",
    "metrics/cross_validate.json",
    "models/best_params.json",
    "metrics/imbalance.json",
    "models/strategy.json",
    "metrics/evaluate.json",
    "data/evaluation/test_predictions.parquet",
]


def subprocess_env() -> dict[str, str]:
    env = helper_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as `make`: bytecode is written and reused
    env["MPLBACKEND"] = "Agg"
    return env


def timed_run(cmd: list[str], cwd: Path, *, log: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=subprocess_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if log is not None:
        log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}) in {cwd}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    return elapsed, proc


def convert_notebooks(root: Path, out_dir: Path) -> list[Path]:
    """Each stage's notebook with its injected parameters, as a Python script, in pipeline order."""
    import yaml
    from nbconvert import PythonExporter

    from imbalance_lab.pipeline.index import notebook_stages
    from imbalance_lab.pipeline.params import load_params
    from imbalance_lab.pipeline.runner import import_papermill
    from imbalance_lab.pipeline.stages import notebook_parameters, read_stage

    pm = import_papermill()
    out_dir.mkdir(parents=True, exist_ok=True)
    stages = notebook_stages(yaml.safe_load((root / "dvc.yaml").read_text()))  # the report stage runs none
    scripts = []
    cwd = os.getcwd()
    os.chdir(root)  # params and paths are relative to the project, as for the runner
    try:
        for i, stage in enumerate(stages):
            params = load_params("params.yaml", sections=[stage])
            info = read_stage(stage, dvc_file="dvc.yaml")
            parameters = notebook_parameters(params, stage=stage, paths=info["paths"])
            prepared = out_dir / f"{stage}.ipynb"
            pm.execute_notebook(
                info["notebook"],
                str(prepared),
                parameters=parameters,
                prepare_only=True,
                kernel_name="imbalance-lab",
                progress_bar=False,
            )
            source, _ = PythonExporter().from_filename(str(prepared))
            script = out_dir / f"{stage}.{i}.py"
            script.write_text(source)
            scripts.append(script)
    finally:
        os.chdir(cwd)
    return scripts


def logged_times(root: Path, stage: str) -> tuple[float, float, float]:
    """A stage's time before its notebook's first cell, in its cells (the first one's start to
    the last one's end) and after them, read off the seconds that start its log's lines
    (``.imbalance-lab/logs/STAGE.log``)."""
    lines = (root / ".imbalance-lab" / "logs" / f"{stage}.log").read_text().splitlines()
    at = lambda text: [float(ln.split()[0]) for ln in lines if text in ln]  # noqa: E731
    first, last, whole = (
        at("INFO papermill: Executing Cell")[0],
        at("INFO papermill: Ending Cell")[-1],
        at(f"# {stage}: done")[-1],
    )
    return first, last - first, whole - last


def stage_of(script: Path) -> str:
    """The stage of a converted notebook (``prepare.0.py``: ``prepare``)."""
    return script.name.split(".")[0]


def kernel_start(python: str, root: Path) -> float:
    """Seconds from starting a stage kernel in ``root`` (the runner's way) to its first answer."""
    _, proc = timed_run([python, "-c", KERNEL_START, str(root)], root)
    return float(next(ln for ln in proc.stderr.splitlines() if ln.startswith("KERNEL_READY ")).split()[1])


def median_time(cmd: list[str], cwd: Path, repeats: int) -> tuple[float, list[float]]:
    runs = [timed_run(cmd, cwd)[0] for _ in range(repeats)]
    return statistics.median(runs), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small params (the end-to-end tests'): a smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each no-op command (median)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies (their paths are printed)")
    args = parser.parse_args()

    params = SMALL if args.quick else None
    work = Path(tempfile.mkdtemp(prefix="overhead-"))
    bin_dir = Path(sys.executable).parent
    dvc = str(bin_dir / "dvc")
    python = sys.executable
    print(f"{'quick (small params)' if args.quick else 'default params'}; working in {work}", flush=True)
    try:
        # warm the page cache and bytecode for both sides alike
        subprocess.run(
            [python, "-c", "import sklearn, pandas, xgboost, optuna, matplotlib.pyplot, imblearn, dvc.cli"],
            env=subprocess_env(),
            check=True,
        )

        via_dvc = copy_project(work / "dvc", git=True, params=params)
        t_dvc, _ = timed_run([dvc, "repro"], via_dvc, log=work / "dvc_repro.log")
        print(f"pipeline from scratch, `dvc repro`:           {t_dvc:8.1f} s", flush=True)

        plain = copy_project(work / "plain", params=params)
        scripts = convert_notebooks(plain, work / "scripts")
        t_plain, proc = timed_run([python, "-c", PLAIN_RUNNER, *map(str, scripts)], plain, log=work / "plain.log")
        stages = json.loads(
            next(ln for ln in proc.stderr.splitlines() if ln.startswith("PLAIN_TIMES ")).split(" ", 1)[1]
        )
        print(
            f"same computations, one plain Python process:  {t_plain:8.1f} s "
            f"({', '.join(f'{k} {v:.1f}' for k, v in stages.items() if k != 'total')} s; the first includes the imports)",
            flush=True,
        )
        differ = [rel for rel in COMPARED if (via_dvc / rel).read_bytes() != (plain / rel).read_bytes()]
        print(
            f"outputs of both sides identical: {'yes' if not differ else 'NO, differ: ' + ', '.join(differ)} "
            f"({len(COMPARED)} files compared)",
            flush=True,
        )
        print(
            f"ratio dvc repro / plain: {t_dvc / t_plain:.2f} (target <= 1.10); overhead {t_dvc - t_plain:.1f} s "
            f"for {len(scripts)} stages ({(t_dvc - t_plain) / len(scripts):.1f} s per stage)",
            flush=True,
        )

        each = copy_project(work / "each", params=params)
        each_times = [
            timed_run([python, "-c", PLAIN_RUNNER, str(script)], each, log=work / f"each.{script.stem}.log")[0]
            for script in scripts
        ]
        t_each = sum(each_times)
        print(
            f"same computations, a plain process a stage:  {t_each:8.1f} s "
            f"({', '.join(f'{stage_of(s)} {t:.1f}' for s, t in zip(scripts, each_times))} s)",
            flush=True,
        )
        differ = [rel for rel in COMPARED if (via_dvc / rel).read_bytes() != (each / rel).read_bytes()]
        print(f"outputs identical to `dvc repro`'s: {'yes' if not differ else 'NO, differ: ' + ', '.join(differ)}")
        kernel_runs = [kernel_start(python, via_dvc) for _ in range(args.repeats)]
        kernel = statistics.median(kernel_runs)
        beyond = (t_dvc - t_each) / len(scripts)
        print(
            f"a process a stage costs {(t_each - t_plain) / len(scripts):.1f} s a stage more than one process "
            f"(imports, joblib's workers); a stage kernel answers after {kernel:.2f} s (runs "
            f"{', '.join(f'{r:.2f}' for r in kernel_runs)}); machinery beyond a process a stage {beyond:.2f} s "
            f"a stage, beyond the kernel's start too {beyond - kernel:.2f} s",
            flush=True,
        )

        logged = {stage_of(script): logged_times(via_dvc, stage_of(script)) for script in scripts}
        before, after = (sum(t[i] for t in logged.values()) / len(logged) for i in (0, 2))
        rest = t_dvc - sum(sum(t) for t in logged.values())
        print(
            f"inside the `dvc repro` run, from the stages' logs: outside the cells {before + after:.2f} s a stage, "
            f"{before:.2f} before the first and {after:.2f} after the last ("
            + ", ".join(f"{stage} {b:.2f} + {a:.2f} of {b + c + a:.1f}" for stage, (b, c, a) in logged.items())
            + f" s); DVC and the report stage {rest:.1f} s ({rest / len(logged):.2f} s a stage); machinery "
            f"in this run {before + after + rest / len(logged):.2f} s a stage (proposed target <= 2.5 s)",
            flush=True,
        )

        out = timed_run([dvc, "repro"], via_dvc)[1].stdout
        assert "Running stage" not in out, out
        noop, noop_runs = median_time([dvc, "repro"], via_dvc, args.repeats)
        status, status_runs = median_time([dvc, "status"], via_dvc, args.repeats)
        version, _ = median_time([dvc, "--version"], via_dvc, args.repeats)
        fmt = lambda runs: ", ".join(f"{r:.2f}" for r in runs)  # noqa: E731
        print(f"no-op `dvc repro`: {noop:.2f} s (target <= 1.5 s; runs {fmt(noop_runs)})")
        print(f"`dvc status`:      {status:.2f} s (runs {fmt(status_runs)})")
        print(f"`dvc --version`:   {version:.2f} s (interpreter start and DVC's imports)")

        _, proc = timed_run([python, "-c", NOOP_PROFILE, "repro"], via_dvc)
        prof = json.loads(
            next(ln for ln in proc.stderr.splitlines() if ln.startswith("NOOP_PROFILE ")).split(" ", 1)[1]
        )
        parts = {k: prof.get(k, 0.0) for k in ("yaml", "templating", "stage checks")}
        rest = prof["command"] - sum(parts.values())
        parsed = ", ".join(f"{name} {n}x" for name, n in sorted(prof["parsed"].items()))
        print(f"where one no-op `dvc repro` spends {prof['imports'] + prof['command']:.2f} s (exclusive times):")
        print(f"  imports before the command       {prof['imports']:.2f} s")
        print(
            f"  YAML parsing                     {parts['yaml']:.2f} s ({parsed}; "
            f"{'C parser' if prof['c_yaml'] else 'pure Python: ruamel.yaml has no C parser here (ruamel.yaml.clib not installed)'})"
        )
        print(f"  templating of dvc.yaml           {parts['templating']:.2f} s")
        print(f"  stage checks (deps/outs hashes)  {parts['stage checks']:.2f} s")
        print(f"  the rest (repo, index and graph, lazy imports, git, locks)  {rest:.2f} s")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
