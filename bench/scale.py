"""How the pipeline scales with the number of rows: wall time and peak memory per stage.

For each size (``--rows``, default 1e5 and 1e6):

1. generates a synthetic data set with numpy (seeded): 50 features, of which 8 text categorical
   columns with 5 to 50 levels and 42 numeric ones (normal, log-normal, counts, uniform, some with
   missing values), about 1 % positives with a learnable signal (a logistic model of a few
   numeric features, two categoricals and an interaction), written as Parquet into ``data/raw``
   of a temporary copy of the project (``tests.support.copy_project``);
2. merges the large-data profile (``bench/large_profile.yaml``) and the sources, target and
   categorical columns of the generated data into that copy's params.yaml;
3. runs every stage's command (``imbalance-lab run STAGE``, in dvc.yaml order) as a subprocess
   and measures its wall time and its peak memory: the largest sum of the resident set sizes of
   the stage's process tree (the runner, the notebook kernel and joblib workers), polled from
   /proc every 0.5 s, and the largest single process (``ru_maxrss`` from ``os.wait4``);

then prints a table per size, the growth ratios between consecutive sizes (time and memory) and
the totals. Everything printed is measured in this one run; run it on a quiet machine (the load
average at the start and the end of each size is printed) and compare ratios, not absolute times.

The summed RSS counts pages shared between processes (libraries, joblib's memory-mapped arrays)
once per process, so it overstates the real footprint a little; the PSS column (proportional set
size, shared pages split between the processes) is the closer measure of what the stage costs.

Usage::

    python bench/scale.py                      # 1e5 and 1e6 rows
    python bench/scale.py --rows 1e5           # just the smallest, to shake out failures
    python bench/scale.py --rows 1e5 1e6 4e6 --json results.json --keep
    python bench/scale.py --rows 1e5 --set imbalance.override=smote   # one param changed
    # a run longer than a sitting, in parts: the stages so far, then the rest on the same copy
    python bench/scale.py --rows 1e7 --workdir ~/scale --keep --stages prepare cross_validate tune
    python bench/scale.py --rows 1e7 --workdir ~/scale --keep --resume

Each size's measurements are saved in its copy (``bench-logs/results.json``) after every stage.
``--resume`` (with ``--workdir``) reuses a kept copy: it neither copies the project nor generates
the data again, runs only the stages without a successful measurement and prints the table of all
of them, with the time each stage started (parts run on different days are not comparable in
time; the memory peaks are). It refuses a copy made with another seed, ``--set`` or ``--code``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import BIN, copy_project, env, update_params  # noqa: E402

PROFILE = ROOT / "bench" / "large_profile.yaml"
PAGE = os.sysconf("SC_PAGE_SIZE")
POLL_SECONDS = 0.5
GIB = 1024**3  # memory is printed in GiB (2**30 bytes)

# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------

N_NUMERIC = 42
#: Levels of the categorical columns.
CAT_LEVELS = (5, 8, 12, 15, 20, 30, 40, 50)
#: Numeric columns with missing values and their missing share.
MISSING = {3: 0.02, 7: 0.05, 11: 0.10, 15: 0.20, 19: 0.30, 23: 0.01, 27: 0.08, 31: 0.15}
#: Categorical columns with missing values and their missing share.
CAT_MISSING = {1: 0.03, 5: 0.10}
TARGET = "is_positive"
PREVALENCE = 0.01
CHUNK_ROWS = 250_000


def _numeric_columns(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    cols = []
    for j in range(N_NUMERIC):
        kind = j % 4
        if kind == 0:
            v = rng.normal(0.0, 1.0, n)
        elif kind == 1:
            v = rng.lognormal(0.0, 1.0, n)
        elif kind == 2:
            v = rng.poisson(3.0, n).astype("float64")
        else:
            v = rng.uniform(-5.0, 5.0, n)
        cols.append(v)
    return cols


def _logit(num: list[np.ndarray], cats: list[np.ndarray]) -> np.ndarray:
    """The signal: a few numeric features, two categoricals and one interaction."""
    z = (
        0.9 * num[0]
        + 0.5 * np.log1p(num[1])
        - 0.25 * (num[2] - 3.0)
        + 0.15 * num[3]
        + 0.6 * (num[4] > 1.0)
        + 0.4 * num[0] * (num[8] > 0)
    )
    # category effects: level k of column 0 adds (k - 2) / 3; even levels of column 2 add 0.7
    z += (cats[0] - 2) / 3.0 + 0.7 * (cats[2] % 2 == 0)
    return z


def _intercept(seed: int) -> float:
    """The intercept that gives PREVALENCE positives (bisection on a seeded sample)."""
    rng = np.random.default_rng([seed, 10**6])
    n = 400_000
    num = _numeric_columns(rng, n)
    cats = [rng.integers(0, k, n) for k in CAT_LEVELS]
    z = _logit(num, cats)
    lo, hi = -20.0, 5.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(z + mid)))) > PREVALENCE:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def generate(path: Path, n_rows: int, *, seed: int = 0) -> dict:
    """Write ``n_rows`` synthetic rows to a Parquet file, in chunks (bounded memory).

    Returns
    -------
    dict
        ``rows``, ``positives``, ``categorical`` (the column names), ``target``, ``bytes``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    b0 = _intercept(seed)
    num_names = [f"num_{j:02d}" for j in range(N_NUMERIC)]
    cat_names = [f"cat_{i}" for i in range(len(CAT_LEVELS))]
    # interleave: a categorical every 6 columns
    order = []
    ci = 0
    for j, name in enumerate(num_names):
        order.append(name)
        if j % 6 == 5 and ci < len(cat_names):
            order.append(cat_names[ci])
            ci += 1
    order += cat_names[ci:]
    levels = [pa.array([f"{name}_level_{k:02d}" for k in range(n)]) for name, n in zip(cat_names, CAT_LEVELS)]
    writer = None
    positives = 0
    try:
        for start in range(0, n_rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, n_rows - start)
            rng = np.random.default_rng([seed, start // CHUNK_ROWS])
            num = _numeric_columns(rng, n)
            cats = [rng.integers(0, k, n) for k in CAT_LEVELS]
            p = 1 / (1 + np.exp(-(_logit(num, cats) + b0)))
            y = (rng.random(n) < p).astype("int64")
            positives += int(y.sum())
            arrays = {}
            for j, (name, v) in enumerate(zip(num_names, num)):
                if j in MISSING:
                    v = np.where(rng.random(n) < MISSING[j], np.nan, v)
                arrays[name] = pa.array(v, from_pandas=True)
            for i, (name, codes) in enumerate(zip(cat_names, cats)):
                mask = rng.random(n) < CAT_MISSING[i] if i in CAT_MISSING else None
                arrays[name] = pc.take(levels[i], pa.array(codes, mask=mask))
            arrays[TARGET] = pa.array(y)
            table = pa.table({name: arrays[name] for name in order + [TARGET]})
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=CHUNK_ROWS)
    finally:
        if writer is not None:
            writer.close()
    return {
        "rows": n_rows,
        "positives": positives,
        "categorical": cat_names,
        "target": TARGET,
        "bytes": path.stat().st_size,
    }


# --------------------------------------------------------------------------------------------
# Measuring a process tree
# --------------------------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after the last ')'
        ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _rss_pss(pid: int) -> tuple[int, int]:
    """Resident and proportional set size of one process, in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            rss = pss = 0
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
            return rss, pss
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as fh:
            rss = int(fh.read().split()[1]) * PAGE
        return rss, rss
    except OSError:
        return 0, 0


def role(pid: int) -> str:
    """What a process of a stage is: the runner, the notebook's kernel, a worker (joblib's loky
    processes) or another program (its command's name)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            command = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "ipykernel" in command:
        return "kernel"
    if "loky" in command or "joblib" in command:
        return "worker"
    if "imbalance-lab run" in command:
        return "runner"
    return Path(command.split(" ", 1)[0]).name or "?"


class TreeMonitor(threading.Thread):
    """Polls the summed RSS and PSS of a process tree; keeps the peaks, the largest fan-out and,
    at the PSS peak, each process's share (``peak_parts``: (role, PSS bytes), largest first)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = self.peak_pss = 0
        self.max_procs = 0
        self.peak_parts: list[tuple[str, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pids = _tree(self.pid)
            sizes = [_rss_pss(p) for p in pids]
            self.peak_rss = max(self.peak_rss, sum(s[0] for s in sizes))
            pss = sum(s[1] for s in sizes)
            if pss > self.peak_pss:
                self.peak_pss = pss
                parts = [(role(p), s[1]) for p, s in zip(pids, sizes) if s[1] >= 32 * 2**20]
                self.peak_parts = sorted(parts, key=lambda part: -part[1])
            self.max_procs = max(self.max_procs, sum(1 for s in sizes if s[0]))
            self._halt.wait(POLL_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_stage(stage: str, cwd: Path, log_dir: Path, *, timeout: float) -> dict:
    """Run the stage's command (:func:`stage_command`) in ``cwd``; return wall seconds, peaks and
    the exit status."""
    started = _now()
    out = open(log_dir / f"{stage}.log", "wb")
    # the package is installed in editable mode: run the copy's snapshot of src/ instead, so edits
    # made to the repository while the benchmark runs do not leak into it
    stage_env = {**env(), "PYTHONPATH": str(cwd / "src")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        stage_command(stage),
        cwd=cwd,
        env=stage_env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    monitor = TreeMonitor(proc.pid)
    monitor.start()
    timed_out = False
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - t0 > timeout:
            timed_out = True
            os.killpg(proc.pid, 9)  # the stage's own process group (start_new_session)
            pid, status, rusage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    monitor.stop()
    out.close()
    return {
        "stage": stage,
        "started": started,
        "seconds": wall,
        "peak_tree_rss": monitor.peak_rss,
        "peak_tree_pss": monitor.peak_pss,
        "max_process_rss": rusage.ru_maxrss * 1024,
        "processes": monitor.max_procs,
        "peak_pss_by_process": [{"role": r, "pss": b} for r, b in monitor.peak_parts],
        "returncode": proc.returncode,
        "timed_out": timed_out,
    }


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def stages_in_order() -> list[str]:
    return list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])


def stage_command(stage: str) -> list[str]:
    """The stage's ``cmd`` in dvc.yaml (``imbalance-lab run STAGE``, ``imbalance-lab report``),
    with the environment's ``imbalance-lab``."""
    command = shlex.split(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage]["cmd"])
    return [str(BIN / command[0]), *command[1:]]


def parse_override(text: str) -> tuple[str, str, object]:
    """``SECTION.KEY=VALUE`` (VALUE in YAML, as for ``dvc exp run -S``) as (section, key, value)."""
    name, sep, value = text.partition("=")
    section, dot, key = name.partition(".")
    if not sep or not dot or not section or not key or "." in key:
        raise argparse.ArgumentTypeError(f"--set {text!r}: expected SECTION.KEY=VALUE, e.g. imbalance.override=smote")
    return section, key, yaml.safe_load(value)


def profile_changes(meta: dict, raw_name: str, overrides: list[tuple[str, str, object]] = ()) -> dict:
    """The large profile, the generated data's columns and ``--set`` overrides, by params.yaml section."""
    changes = yaml.safe_load(PROFILE.read_text())
    for section, key, value in overrides:
        changes.setdefault(section, {})[key] = value
    changes.setdefault("prepare", {}).update(
        {
            "sources": [{"path": raw_name}],
            "target": meta["target"],
            "positive_label": 1,
            "categorical": meta["categorical"],
            "drop_columns": [],
            "hash_columns": [],
        }
    )
    return changes


def run_size(
    n_rows: int,
    work: Path,
    *,
    seed: int,
    timeout: float,
    stages: list[str],
    code: Path | None = None,
    overrides: list[tuple[str, str, object]] = (),
    resume: bool = False,
) -> dict:
    project = work / f"rows_{n_rows}"
    log_dir = project / "bench-logs"
    settings = {
        "seed": seed,
        "code": str(code) if code else None,
        "overrides": [f"{section}.{key}={json.dumps(value)}" for section, key, value in overrides],
    }
    record = load_record(log_dir) if resume else None
    if record is not None:
        check_resumable(record, settings, n_rows, log_dir / RECORD)
        record["parts"] = record.get("parts", 1) + 1
        print(
            f"\n== {n_rows:,} rows: resuming {project} (made {record['made']} from {record['commit']}); "
            f"measured already: {', '.join(record_done(record)) or 'nothing'}; load average "
            f"{os.getloadavg()[0]:.2f}",
            flush=True,
        )
    else:
        if project.exists():
            shutil.rmtree(project)
        commit = source_version()  # of the files copied now (generating the data takes a while)
        copy_project(project)
        if code is not None:  # another version of the code (e.g. `git archive <commit> src notebooks`)
            for part in ("src", "notebooks"):
                shutil.rmtree(project / part)
                shutil.copytree(code / part, project / part, ignore=shutil.ignore_patterns("__pycache__"))
        raw = project / "data" / "raw"
        for f in raw.iterdir():  # the default data set is not used
            f.unlink() if f.is_file() else shutil.rmtree(f)
        t0 = time.perf_counter()
        meta = generate(raw / "synthetic.parquet", n_rows, seed=seed)
        gen_seconds = time.perf_counter() - t0
        update_params(project, profile_changes(meta, "synthetic.parquet", overrides))
        log_dir.mkdir()
        record = {
            "rows": n_rows,
            "positives": meta["positives"],
            "parquet_bytes": meta["bytes"],
            "project": str(project),
            "made": _now(),
            "parts": 1,
            "commit": commit,
            **settings,
            "load_start": os.getloadavg()[0],
            "load_end": None,
            "stages": [],
        }
        save_record(log_dir, record)
        print(
            f"\n== {n_rows:,} rows: {meta['positives']:,} positives ({meta['positives'] / n_rows:.2%}), "
            f"parquet {meta['bytes'] / 1024**2:.0f} MB, generated in {gen_seconds:.1f} s; load average "
            f"{os.getloadavg()[0]:.2f}; project {project}",
            flush=True,
        )
    done = set(record_done(record))
    order = stages_in_order()
    for stage in stages:
        if stage in done:
            continue
        r = run_stage(stage, project, log_dir, timeout=timeout)
        record["stages"] = sorted(
            [s for s in record["stages"] if s["stage"] != stage] + [r], key=lambda s: order.index(s["stage"])
        )
        record["load_end"] = os.getloadavg()[0]
        save_record(log_dir, record)
        print(
            f"   {stage:<15} {r['seconds']:8.1f} s  tree RSS {r['peak_tree_rss'] / GIB:5.2f} GiB  "
            f"PSS {r['peak_tree_pss'] / GIB:5.2f} GiB  largest process {r['max_process_rss'] / GIB:5.2f} GiB"
            + f"  (at the peak: {breakdown(r)})"
            + (
                ""
                if r["returncode"] == 0
                else f"  FAILED ({r['returncode']}{', timeout' if r['timed_out'] else ''}; "
                f"see {log_dir / (stage + '.log')})"
            ),
            flush=True,
        )
        if r["returncode"] != 0:
            break
    record["load_end"] = os.getloadavg()[0]
    return record


# --------------------------------------------------------------------------------------------
# A size's record in its copy, for --resume
# --------------------------------------------------------------------------------------------

RECORD = "results.json"


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def source_version() -> str:
    """The repository's commit, ``+changes`` when the working tree differs from it."""
    git = ["git", "-C", str(ROOT)]
    try:
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "src", "notebooks", "params.yaml", "dvc.yaml"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def save_record(log_dir: Path, record: dict) -> None:
    """Write the size's record to ``log_dir/results.json`` (a whole file or the previous one)."""
    tmp = log_dir / (RECORD + ".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(log_dir / RECORD)


def load_record(log_dir: Path) -> dict | None:
    path = log_dir / RECORD
    return json.loads(path.read_text()) if path.exists() else None


def record_done(record: dict) -> list[str]:
    """The stages of ``record`` measured to a successful end."""
    return [s["stage"] for s in record["stages"] if s["returncode"] == 0]


def check_resumable(record: dict, settings: dict, n_rows: int, path: Path) -> None:
    """Stop with one line when the kept copy was made for other rows or other settings."""
    if record["rows"] != n_rows:
        raise SystemExit(f"{path}: made for {record['rows']:,} rows, not {n_rows:,}; use another --workdir")
    for key, value in settings.items():
        if record.get(key) != value:
            raise SystemExit(
                f"{path}: made with {key} {record.get(key)!r}, not {value!r}; "
                f"resume with the same --seed, --set and --code, or run without --resume"
            )


def breakdown(r: dict) -> str:
    """The processes' PSS at a stage's peak, e.g. ``kernel 0.67 + worker 1.19 + worker 1.16 GiB``."""
    parts = r.get("peak_pss_by_process") or []
    return " + ".join(f"{p['role']} {p['pss'] / GIB:.2f}" for p in parts) + " GiB" if parts else "-"


def print_table(res: dict) -> None:
    if not res["stages"]:
        return
    print(
        f"\n{res['rows']:,} rows ({res['positives']:,} positives); load average at the end {res['load_end']:.2f}"
        + (f"; code {res['commit']}" if res.get("commit") else "")
    )
    print(
        f"  {'stage':<15} {'wall s':>9} {'tree RSS GiB':>13} {'tree PSS GiB':>13} {'max proc GiB':>13} {'procs':>6}"
        "   PSS per process at the peak"
    )
    for r in res["stages"]:
        flag = "" if r["returncode"] == 0 else "  FAILED"
        print(
            f"  {r['stage']:<15} {r['seconds']:9.1f} {r['peak_tree_rss'] / GIB:13.2f} {r['peak_tree_pss'] / GIB:13.2f} "
            f"{r['max_process_rss'] / GIB:13.2f} {r['processes']:6d}{flag}   {breakdown(r)}"
            + (f"   started {r.get('started', '?')[:16]}" if res.get("parts", 1) > 1 else "")
        )
    total = sum(r["seconds"] for r in res["stages"])
    peak = max(r["peak_tree_rss"] for r in res["stages"])
    peak_pss = max(r["peak_tree_pss"] for r in res["stages"])
    peak_proc = max(r["max_process_rss"] for r in res["stages"])
    print(
        f"  {'total / peak':<15} {total:9.1f} {peak / GIB:13.2f} {peak_pss / GIB:13.2f} {peak_proc / GIB:13.2f}"
        f"   ({total / 60:.1f} min)"
    )


def print_ratios(a: dict, b: dict) -> None:
    print(f"\ngrowth {b['rows']:,} / {a['rows']:,} rows (x{b['rows'] / a['rows']:g}):")
    print(f"  {'stage':<15} {'time ratio':>11} {'RSS ratio':>10}")
    by_stage = {r["stage"]: r for r in a["stages"]}
    for r in b["stages"]:
        s = by_stage.get(r["stage"])
        if s is None:
            continue
        print(f"  {r['stage']:<15} {r['seconds'] / s['seconds']:11.2f} {r['peak_tree_rss'] / s['peak_tree_rss']:10.2f}")
    ta, tb = (sum(r["seconds"] for r in x["stages"]) for x in (a, b))
    ma, mb = (max(r["peak_tree_rss"] for r in x["stages"]) for x in (a, b))
    print(f"  {'total / peak':<15} {tb / ta:11.2f} {mb / ma:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", nargs="+", type=float, default=[1e5, 1e6], help="sizes to run, e.g. 1e5 1e6 4e6 (default: 1e5 1e6)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the project copies go (default: a temporary directory)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the project copies (outputs, logs) afterwards")
    parser.add_argument("--stages", nargs="+", default=None, help="run only these stages (in dvc.yaml order)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the copies kept in --workdir: run only the stages not yet measured to a successful end",
    )
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per stage before it is killed")
    parser.add_argument(
        "--set",
        dest="overrides",
        type=parse_override,
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="change one param of the profile (VALUE in YAML), e.g. --set imbalance.override=smote; "
        "the results are then not the large profile's: the header line lists the changes",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements to this file")
    parser.add_argument(
        "--code",
        type=Path,
        default=None,
        help="run this version of src/ and notebooks/ instead of the working tree's, e.g. a directory "
        "filled by `git archive <commit> src notebooks | tar -x -C DIR` (to compare versions)",
    )
    args = parser.parse_args()

    order = stages_in_order()
    stages = [s for s in order if args.stages is None or s in args.stages]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="imbalance-lab-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"profile {PROFILE.relative_to(ROOT)}; {os.cpu_count()} CPUs; stages: {', '.join(stages)}"
        + (f"; code from {args.code}" if args.code else "")
        + "".join(f"; {section}.{key}={json.dumps(value)}" for section, key, value in args.overrides)
    )
    if args.resume and args.workdir is None:
        parser.error("--resume needs --workdir: the directory of the kept copies")
    all_results = []
    try:
        for rows in args.rows:
            res = run_size(
                int(rows),
                work,
                seed=args.seed,
                timeout=args.timeout,
                stages=stages,
                code=args.code,
                overrides=args.overrides,
                resume=args.resume,
            )
            all_results.append(res)
            if any(r["returncode"] != 0 for r in res["stages"]):
                print(f"a stage failed: stopping here; the project is kept in {res['project']}")
                break
            if not args.keep:
                shutil.rmtree(res["project"], ignore_errors=True)
    finally:
        for res in all_results:
            print_table(res)
        for a, b in itertools.pairwise(all_results):
            print_ratios(a, b)
        if args.json:
            args.json.write_text(json.dumps(all_results, indent=2) + "\n")
        failed = any(r["returncode"] != 0 for res in all_results for r in res["stages"])
        if not args.keep and not failed and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
