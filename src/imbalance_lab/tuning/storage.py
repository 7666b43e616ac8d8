"""Where a study lives, and the locks that let several processes share it.

An embedded journal file by default (declared once in dvc.yaml, kept across runs), or a
database whose URL is read from an environment variable (never from params.yaml). Trials are
created under a lock (a PostgreSQL advisory lock, or a file lock for the journal and SQLite), so
concurrent processes never create more trials than asked for.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from ..errors import TuneError

#: The environment variable that may hold a database URL for the study (a database shared with
#: ``imbalance-lab tune-worker`` processes on other machines); unset, the study is a journal file.
#: Never in params.yaml or an output: the URL holds a password.
STORAGE_ENV = "IMBALANCE_LAB_OPTUNA_STORAGE"
#: Seconds between heartbeats of a running trial (database storage).
HEARTBEAT_SECONDS = 10
#: A trial without a heartbeat for this long belongs to a dead process: it is failed and replaced.
GRACE_SECONDS = 60
#: PostgreSQL advisory lock key serialising the creation of Optuna's tables.
SCHEMA_LOCK_KEY = 0x1B_A1A7CE


@dataclass
class Storage:
    """Where a study lives.

    Attributes
    ----------
    storage : optuna storage
    kind : str
        "journal" (embedded file) or the database dialect ("postgresql", "sqlite", ...).
    lock_key : str
        Path of the lock file (file storages) or the URL (databases); never written to outputs.
    description : str
        A secret-free description for reports, e.g. "env:IMBALANCE_LAB_OPTUNA_STORAGE (postgresql)".
    """

    storage: Any
    kind: str
    lock_key: str
    description: str


class JournalFlock:
    """The journal file's write lock: an ``fcntl.flock`` on ``path``, which the operating system
    releases when its holder dies.

    Optuna's default journal lock is a symlink ``<journal>.lock`` that a SIGKILLed writer leaves
    behind. Its grace period cannot break it when the journal path is relative (``stat`` follows
    the link relative to its own directory, fails, and the waiter retries forever): a run killed
    while appending to the study would make every later run hang. A flock has no stale state.
    Local file systems only; for several machines use database storage.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._held = threading.local()

    def acquire(self) -> bool:
        """Wait for the lock and hold it (Optuna's lock interface)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._held.fd = fd
        return True

    def release(self) -> None:
        """Release the lock this thread holds."""
        fd = getattr(self._held, "fd", None)
        if fd is None:
            raise RuntimeError(f"{self.path}: lock released but not held")
        self._held.fd = None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def open_storage(*, journal_path: str | Path, storage_env: str) -> Storage:
    """The study storage: a database if ``$storage_env`` holds a URL, else the journal file."""
    url = os.environ.get(storage_env, "").strip()
    if not url:
        path = Path(journal_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        backend = JournalFileBackend(str(path), lock_obj=JournalFlock(str(path) + ".flock"))
        return Storage(JournalStorage(backend), "journal", str(path) + ".create-lock", f"journal file {path}")
    import sqlalchemy

    # the journal file is a DVC output of the stage: it must exist with a database too (as it
    # is: the embedded store keeps its own studies)
    Path(journal_path).parent.mkdir(parents=True, exist_ok=True)
    Path(journal_path).touch(exist_ok=True)
    try:
        dialect = sqlalchemy.engine.make_url(url).get_backend_name()
    except Exception:
        raise TuneError(
            f"${storage_env} does not hold a valid database URL (e.g. postgresql://user:pw@host/db); fix it"
        ) from None
    if dialect == "postgresql" and "+" not in url.split("://", 1)[0]:
        url = url.replace("postgresql://", "postgresql+psycopg2://", 1)
    for attempt in range(6):
        try:
            with _schema_lock(url, dialect):
                storage = optuna.storages.RDBStorage(
                    url,
                    heartbeat_interval=HEARTBEAT_SECONDS,
                    grace_period=GRACE_SECONDS,
                    engine_kwargs={"pool_pre_ping": True},
                )
            break
        except Exception as exc:
            kind = type(getattr(exc, "orig", None) or exc).__name__
            # processes starting together race to create Optuna's tables: retry those collisions
            if kind in ("UniqueViolation", "IntegrityError", "DuplicateTable", "DuplicateObject") and attempt < 5:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise TuneError(
                f"the Optuna storage from ${storage_env} ({dialect}) cannot be opened ({kind}); "
                "check that the server is reachable and the URL is right"
            ) from None
    return Storage(storage, dialect, url, f"env:{storage_env} ({dialect})")


@contextlib.contextmanager
def _advisory_lock(url: str, key: int) -> Iterator[None]:
    """Hold the PostgreSQL session-level advisory lock ``key`` on a connection of its own."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        engine.dispose()


@contextlib.contextmanager
def _schema_lock(url: str, dialect: str) -> Iterator[None]:
    """Processes that open a new PostgreSQL storage at once race to create Optuna's tables:
    serialise that with an advisory lock (other databases: retries only)."""
    if dialect != "postgresql":
        yield
        return
    with _advisory_lock(url, SCHEMA_LOCK_KEY):
        yield


@contextlib.contextmanager
def creation_lock(storage: Storage, name: str) -> Iterator[None]:
    """Serialise trial creation among all processes of a study."""
    if storage.kind == "postgresql":
        with _advisory_lock(storage.lock_key, int(hashlib.sha256(name.encode()).hexdigest()[:15], 16)):
            yield
        return
    if storage.kind == "sqlite":
        lock_path = sqlalchemy_path(storage.lock_key) + ".create-lock"
    elif storage.kind == "journal":
        lock_path = storage.lock_key
    else:  # other databases: no cross-process lock; at most a few extra trials under races
        yield
        return
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def journal_owner(storage: Storage) -> Iterator[None]:
    """Hold the journal study's ownership for a run of the stage: an exclusive, non-blocking
    ``flock`` (released by the operating system when its holder dies), so a second run (the
    notebook open in JupyterLab while ``dvc repro`` runs the stage) stops with a one-line error
    instead of failing the first run's trials as a killed run's. Databases need none."""
    if storage.kind != "journal":
        yield
        return
    path = storage.lock_key.removesuffix(".create-lock") + ".owner-lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TuneError(
                f"{storage.description} is in use by another run of the tune stage; wait for it "
                f"to end or stop it, or give this run a database storage (${STORAGE_ENV})"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sqlalchemy_path(url: str) -> str:
    """The file of a SQLite URL."""
    import sqlalchemy

    return sqlalchemy.engine.make_url(url).database or "optuna.sqlite"
