"""The stage kernel: started at once, warmed up silently, shut down with its process gone."""

from __future__ import annotations

import json

from imbalance_lab.pipeline import kernel


def test_notebook_imports_are_the_modules_of_every_import_statement_in_order():
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "import not_code"},
            {"cell_type": "code", "source": ["import os\n", "import pandas as pd, numpy\n"]},
            {"cell_type": "code", "source": "%matplotlib inline\nimport skipped"},  # a magic: not Python
            {"cell_type": "code", "source": "from imbalance_lab import data\nfrom . import local\nimport os"},
            {"cell_type": "code", "source": "def f():\n    from sklearn.metrics import roc_auc_score\n"},
        ]
    }
    assert kernel.notebook_imports(nb) == ["os", "pandas", "numpy", "imbalance_lab", "sklearn.metrics"]


def test_warm_up_code_imports_in_its_own_namespace_and_ignores_failures():
    namespace: dict = {}
    exec(kernel.warm_up_code(["colorsys", "no_such_module_here"]), namespace)
    assert set(namespace) == {"__builtins__"}
    import sys

    assert "colorsys" in sys.modules


def test_warm_up_is_silent_and_the_kernel_process_is_gone_after_shutdown(tmp_path):
    """Warmed-up modules are imported before the first cell, which still gets execution count 1 and
    sees none of the warm-up's names; after shutdown the kernel process has exited."""
    stage_kernel = kernel.StageKernel(tmp_path, stderr_path=tmp_path / "kernel.log")
    try:
        stage_kernel.warm_up(["json", "wave"])
        kc = stage_kernel.manager.client(session=stage_kernel.manager.session.clone())
        kc.start_channels()
        run = stage_kernel._run_sync
        run(kc.wait_for_ready)(timeout=60)
        outputs = []
        reply = run(kc.execute_interactive)(
            "import sys\nprint(json.dumps(['wave' in sys.modules, 'importlib' in dir(), 'name' in dir()]))",
            timeout=60,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
        )
        assert reply["content"]["execution_count"] == 1
        assert reply["content"]["status"] == "error"  # json itself was not imported into the notebook's names
        reply = run(kc.execute_interactive)(
            "import json, sys\nprint(json.dumps(['wave' in sys.modules, 'importlib' in dir(), 'name' in dir()]))",
            timeout=60,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
        )
        assert reply["content"]["execution_count"] == 2
        assert json.loads("".join(outputs).strip().splitlines()[-1]) == [True, False, False]
    finally:
        stage_kernel.shutdown()
    assert stage_kernel.processes and all(p.poll() is not None for p in stage_kernel.processes)
    assert not stage_kernel.manager.has_kernel or not stage_kernel._run_sync(stage_kernel.manager.is_alive)()


def test_a_client_is_ready_when_the_kernel_answers_even_while_iopub_is_busy(tmp_path):
    """jupyter_client's client waits for 0.2 s without an IOPub message after the kernel's answer:
    while a kernel prints, it would wait until the printing stops (here 20 s)."""
    from jupyter_client.session import new_id

    stage_kernel = kernel.StageKernel(tmp_path)
    run = stage_kernel._run_sync
    try:
        kc = stage_kernel.manager.client(session=stage_kernel.manager.session.clone())
        kc.start_channels()
        run(kc.wait_for_ready)(timeout=60)
        reply = run(kc.execute_interactive)(
            "import threading, time\n"
            "def talk(until=time.monotonic() + 20):\n"
            "    while time.monotonic() < until and not stop.wait(0.02):\n"
            "        print(end='\\n', flush=True)\n"
            "stop = threading.Event()\n"
            "talker = threading.Thread(target=talk, daemon=True)\n"
            "talker.start()",
            timeout=60,
            output_hook=lambda msg: None,
        )
        assert reply["content"]["status"] == "ok"
        session = stage_kernel.manager.session.clone()
        session.session = new_id()  # its own identity: the kernel would hand kc's over to it
        other = stage_kernel.manager.client(session=session)
        other.start_channels()
        run(other.wait_for_ready)(timeout=60)
        out = []
        run(other.execute_interactive)(
            "import sys\nalive = talker.is_alive(); stop.set(); sys.stdout.write(f'talking {alive}\\n')",
            timeout=60,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")),
        )
        assert "talking True" in "".join(out)
    finally:
        stage_kernel.shutdown()


def test_shutdown_of_a_kernel_that_died_cleans_up(tmp_path):
    import os
    import signal

    stage_kernel = kernel.StageKernel(tmp_path)
    process = stage_kernel.processes[-1]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    stage_kernel.shutdown()  # nothing to wait for: no error
    assert process.poll() == -signal.SIGKILL


def test_a_finished_kernel_that_used_joblib_workers_exits_by_itself(tmp_path):
    """Asked to finish, a kernel whose cells ran joblib's workers exits by itself (status 0, where
    at a shutdown request it waited for the workers' resource tracker until it was terminated),
    and its workers end with it. As in a stage: warmed up, then the cells run by a client with
    the manager's session, as papermill's (the request to finish was lost when the warm-up's
    client shared that session's id)."""
    import time

    stage_kernel = kernel.StageKernel(tmp_path, stderr_path=tmp_path / "kernel.log")
    try:
        stage_kernel.warm_up(["json"])
        kc = stage_kernel.manager.client()
        kc.start_channels()
        run = stage_kernel._run_sync
        run(kc.wait_for_ready)(timeout=60)
        out = []
        reply = run(kc.execute_interactive)(
            "import os, time\nimport numpy as np\nfrom joblib import Parallel, delayed\n"
            "big = np.zeros((200_000, 10))  # 16 MB: memory-mapped for the workers\n"
            "pids = Parallel(n_jobs=2)(delayed(lambda a: time.sleep(0.1) or os.getpid())(big) for _ in range(6))\n"
            "print(sorted(set(pids) - {os.getpid()}))",
            timeout=120,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")),
        )
        assert reply["content"]["status"] == "ok"
        workers = json.loads("".join(out).strip())
        assert workers, "the test needs joblib's worker processes"
        kc.stop_channels()
        stage_kernel.finish()
    finally:
        stage_kernel.shutdown()
    assert stage_kernel.processes[-1].poll() == 0, "terminated, not exited by itself"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers), "joblib workers outlived the kernel"


def test_finish_of_a_kernel_that_died_cleans_up(tmp_path):
    import os
    import signal

    stage_kernel = kernel.StageKernel(tmp_path)
    process = stage_kernel.processes[-1]
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    stage_kernel.finish()
    stage_kernel.shutdown()
    assert process.poll() == -signal.SIGKILL


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is gone but for its exit status
        return fh.read().split(") ")[-1][0] != "Z"
