"""Helpers of the tests that run the project's commands: a copy of the project in a temporary
directory, subprocesses run the way DVC runs the stages, and a throw-away PostgreSQL server.

Plain functions, for the end-to-end tests' own helpers; ``conftest.py`` offers them as fixtures.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: What a copy of the project holds: its sources, not its outputs or environment.
PROJECT_FILES = [
    "src",
    "notebooks",
    "data/raw",
    "params.yaml",
    "dvc.yaml",
    ".dvc/config",
    ".dvc/plots",
    ".dvcignore",
    "pyproject.toml",
    ".gitignore",
]
#: A small, fast configuration of the pipeline for end-to-end tests.
SMALL = {
    "prepare": {"n_splits": 3, "n_repeats": 1},
    "cross_validate": {"models": ["dummy", "logistic_regression"], "learning_curve_sizes": [0.5, 1.0]},
    "tune": {"model": "logistic_regression", "n_trials": 4},
    "imbalance": {
        "strategies": ["none", "class_weight", "random_over", "smote", "threshold_moving"],
        "ratio_sweep_points": 2,
    },
    "evaluate": {"n_bootstrap": 200, "permutation_repeats": 2},
}


# --------------------------------------------------------------------------------------------
# The project and its commands
# --------------------------------------------------------------------------------------------


def env() -> dict[str, str]:
    """The environment for subprocesses: this interpreter's bin first, DVC offline."""
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["DVC_NO_ANALYTICS"] = "1"
    e.pop("IMBALANCE_LAB_DEBUG", None)
    return e


def run(
    cmd: list[str], cwd: Path, *, check: bool = True, timeout: int = 900, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run a command in ``cwd`` with :func:`env` (and ``extra_env``); returns the completed process
    (stdout and stderr as text)."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env={**env(), **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def update_params(root: Path, changes: dict[str, Any]) -> None:
    """Merge ``changes`` (section -> {key: value}) into root/params.yaml."""
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in changes.items():
        if isinstance(values, dict) and isinstance(params.get(section), dict):
            params[section].update(values)
        else:
            params[section] = values
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def copy_project(dest: Path, *, git: bool = False, params: dict[str, Any] | None = None) -> Path:
    """Copy the project's source files (no outputs, no .venv) to ``dest``; with ``git``, commit them."""
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


# --------------------------------------------------------------------------------------------
# A Dask cluster on localhost
# --------------------------------------------------------------------------------------------


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class DaskCluster:
    """``dask scheduler`` and ``dask worker`` processes on localhost, as on real machines: each
    command in a process group of its own (a worker's nanny and worker process die together), on
    free ports, one thread per worker. Use it as a context manager: every process is killed on
    exit, whatever happened."""

    def __init__(self, base: Path, *, n_workers: int = 2, timeout: float = 60.0) -> None:
        self.base, self.n_workers, self.timeout = base, n_workers, timeout
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        with open(self.base / f"{name}.log", "wb") as log:  # the process keeps its own descriptor
            return subprocess.Popen(
                cmd, env=env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def __enter__(self) -> DaskCluster:
        self.base.mkdir(parents=True, exist_ok=True)
        port = self.address.rsplit(":", 1)[1]
        try:
            self.scheduler = self._start(
                "scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"]
            )
            for i in range(self.n_workers):
                name = f"w{i}"
                self.workers[name] = self._start(
                    name,
                    [str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--name", name, "--no-dashboard"]
                    + ["--local-directory", str(self.base / name), "--death-timeout", "60"],
                )
            self.wait_for_workers(self.n_workers)
        except BaseException:
            self.__exit__()
            raise
        return self

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=self.timeout, set_as_default=False)

    def wait_for_workers(self, n: int) -> None:
        with self.client() as client:
            client.wait_for_workers(n, timeout=self.timeout)

    def kill(self, name: str) -> None:
        """SIGKILL a worker (its nanny and worker processes), as a machine that dies."""
        _kill_group(self.workers[name])

    def __exit__(self, *exc: Any) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is not None:
                _kill_group(proc)


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------

#: Set to 1 (``.ci/run`` does) to make a missing server a failure instead of a skip.
REQUIRE_POSTGRES_ENV = "IMBALANCE_LAB_REQUIRE_POSTGRES"


@contextlib.contextmanager
def local_dask_cluster(*, processes: bool) -> Any:
    """A ``distributed.LocalCluster`` of two one-thread workers (worker processes under nannies, as
    ``dask worker`` starts them, or threads of this process); yields its address. Afterwards the
    clients this process connected are closed and the record of data sent to workers is cleared."""
    import distributed

    from imbalance_lab.evaluation import parallel

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0"
    ) as local:
        yield local.scheduler_address
    for client in parallel._CLIENTS.values():
        client.close()
    parallel._CLIENTS.clear()
    parallel._SCATTERED.clear()


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found; install them: apt-get install postgresql")
    return found[-1]


def require_server() -> None:
    """Skip the calling test when Debian's PostgreSQL server is not installed (a machine with only
    Python and git), with the reason and the fix; fail instead when ``$IMBALANCE_LAB_REQUIRE_POSTGRES``
    is 1, so CI never skips it."""
    if glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return
    reason = "PostgreSQL server binaries not found (apt-get install postgresql; .ci/run installs them)"
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{reason}, and ${REQUIRE_POSTGRES_ENV}=1 requires them")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Server:
    """initdb + pg_ctl start in a temporary directory; ``url`` has a password (md5 auth over TCP)."""

    PASSWORD = "s3cret-Pw-9f2k"

    def __init__(self, base: Path) -> None:
        self.dir = base / "pgdata"
        self.sock = base / "pgsock"
        self.port = free_port()
        for d in (self.dir, self.sock):
            d.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(d, "postgres", "postgres")
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        _as_postgres(
            [
                _postgres_bin("initdb"),
                "-D",
                str(self.dir),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=md5",
                "-E",
                "UTF8",
            ]
        )
        _as_postgres(
            [
                _postgres_bin("pg_ctl"),
                "-D",
                str(self.dir),
                "-l",
                str(self.dir / "log"),
                "-w",
                "start",
                "-o",
                f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=50",
            ]
        )
        psql = [
            _postgres_bin("psql"),
            "-h",
            str(self.sock),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
        ]
        _as_postgres(psql + ["-c", f"CREATE USER lab PASSWORD '{self.PASSWORD}'"])
        _as_postgres(psql + ["-c", "CREATE DATABASE optuna OWNER lab"])
        self.url = f"postgresql://lab:{self.PASSWORD}@127.0.0.1:{self.port}/optuna"

    def stop(self) -> None:
        _as_postgres([_postgres_bin("pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop"])


# --------------------------------------------------------------------------------------------
# A real browser: Debian's chromium and chromedriver, driven by Selenium
# --------------------------------------------------------------------------------------------

REQUIRE_BROWSER_ENV = "IMBALANCE_LAB_REQUIRE_BROWSER"
#: Where browser tests keep their screenshots (``$IMBALANCE_LAB_TEST_ARTIFACTS``, default
#: ``.imbalance-lab/test-artifacts`` in the project).
ARTIFACTS = Path(os.environ.get("IMBALANCE_LAB_TEST_ARTIFACTS", ROOT / ".imbalance-lab" / "test-artifacts"))
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromedriver")


def browser() -> Any:
    """A headless Chromium driven by Selenium (1400 x 1000). Skips the calling test when Debian's
    chromium and chromium-driver are not installed, and fails instead when
    ``$IMBALANCE_LAB_REQUIRE_BROWSER`` is 1 (CI installs them)."""
    missing = [path for path in CHROMIUM if not os.path.exists(path)]
    if missing:
        reason = f"{', '.join(missing)} not found (apt-get install chromium chromium-driver; .ci/run installs them)"
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"{reason}, and ${REQUIRE_BROWSER_ENV}=1 requires them")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMIUM[1]), options=options)


def screenshot(driver: Any, name: str) -> Path:
    """Save what the browser shows as ``ARTIFACTS/name`` (PNG) and return the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    assert driver.save_screenshot(str(path)), f"no screenshot {path}"
    return path
