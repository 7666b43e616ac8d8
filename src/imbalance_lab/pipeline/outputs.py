"""Transactional outputs: a stage that fails leaves its earlier outputs as they were.

Every output of a stage (all are ``persist: true`` in dvc.yaml, so DVC does not delete them
first) is moved aside before the notebook runs (:func:`set_aside`) and moved back if it fails
(:func:`restore`); outputs that did not exist before are moved out of the way. A run killed
outright leaves the set-aside outputs in ``.imbalance-lab/backup/<stage>``; the next run of the
stage restores them first.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from ..io import write_bytes

log = logging.getLogger(__name__)

BACKUP_DIR = Path(".imbalance-lab") / "backup"


def _backup_path(stage: str, output: str) -> Path:
    return BACKUP_DIR / stage / output


#: In a stage's backup area: the outputs that did not exist when the run started (a failed
#: run's new files there are moved out of the way, so the stage's outputs are as they were).
ABSENT_FILE = ".absent.json"


#: Where those files go (``<stage>/<output>``, replacing the previous ones), not deleted: after a
#: killed run and a ``dvc checkout`` they may be good copies.
DISCARDED_DIR = Path(".imbalance-lab") / "discarded"


def set_aside(stage: str, outputs: list[str]) -> None:
    """Move the stage's existing outputs into the backup area (restoring a killed run's first)
    and record which outputs did not exist."""
    restore(stage, outputs)
    area = BACKUP_DIR / stage
    area.mkdir(parents=True, exist_ok=True)
    absent = [out for out in outputs if not os.path.lexists(out)]
    write_bytes(area / ABSENT_FILE, (json.dumps(absent) + "\n").encode())  # before anything moves
    for out in outputs:
        if os.path.lexists(out):
            target = _backup_path(stage, out)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(out, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def restore(stage: str, outputs: list[str]) -> None:
    """Put set-aside outputs back, replacing whatever a failed or killed run left there, and
    move the outputs such a run created that did not exist before it to
    :data:`DISCARDED_DIR`. Does nothing when no run of the stage set its outputs aside."""
    area = BACKUP_DIR / stage
    if not area.is_dir():
        return
    record = area / ABSENT_FILE
    absent = set(json.loads(record.read_text())) if record.exists() else set()
    for out in outputs:
        saved = _backup_path(stage, out)
        final = Path(out)
        if saved.exists():
            _remove(final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved, final)
        elif out in absent and os.path.lexists(final):
            kept = DISCARDED_DIR / stage / out
            _remove(kept)
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final, kept)
            log.warning("%s: %s did not exist before the run that failed or was killed; moved to %s", stage, out, kept)
    shutil.rmtree(area, ignore_errors=True)


def discard_backup(stage: str) -> None:
    """Forget the set-aside outputs after a successful run."""
    shutil.rmtree(BACKUP_DIR / stage, ignore_errors=True)
