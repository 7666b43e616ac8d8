"""A throw-away PostgreSQL server for tests (Debian's packages; .ci/run installs them)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path

PASSWORD = "s3cret-Pw-9f2k"
#: Set to 1 (``.ci/run`` does) to make a missing server a failure instead of a skip.
REQUIRE_ENV = "IMBALANCE_LAB_REQUIRE_POSTGRES"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found; install them: apt-get install postgresql")
    return found[-1]


def require_server() -> None:
    """Skip the calling test when Debian's PostgreSQL server is not installed (a machine with only
    Python and git), with the reason and the fix; fail instead when ``$IMBALANCE_LAB_REQUIRE_POSTGRES``
    is 1, so CI never skips it."""
    import pytest

    if glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return
    reason = "PostgreSQL server binaries not found (apt-get install postgresql; .ci/run installs them)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}, and ${REQUIRE_ENV}=1 requires them")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Server:
    """initdb + pg_ctl start in a temporary directory; ``url`` has a password (md5 auth over TCP)."""

    def __init__(self, base: Path):
        self.dir = base / "pgdata"
        self.sock = base / "pgsock"
        self.port = _free_port()
        for d in (self.dir, self.sock):
            d.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(d, "postgres", "postgres")
        if os.geteuid() == 0:
            shutil.chown(base, "postgres", "postgres")
        _as_postgres([_bin("initdb"), "-D", str(self.dir), "-U", "postgres", "--auth-local=trust", "--auth-host=md5", "-E", "UTF8"])
        _as_postgres([_bin("pg_ctl"), "-D", str(self.dir), "-l", str(self.dir / "log"), "-w", "start",
                      "-o", f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=50"])
        psql = [_bin("psql"), "-h", str(self.sock), "-p", str(self.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        _as_postgres(psql + ["-c", f"CREATE USER lab PASSWORD '{PASSWORD}'"])
        _as_postgres(psql + ["-c", "CREATE DATABASE optuna OWNER lab"])
        self.url = f"postgresql://lab:{PASSWORD}@127.0.0.1:{self.port}/optuna"

    def stop(self) -> None:
        _as_postgres([_bin("pg_ctl"), "-D", str(self.dir), "-m", "immediate", "stop"])
