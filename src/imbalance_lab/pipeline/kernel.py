"""The stage kernel: this very interpreter started as the notebook's IPython kernel, its stderr
kept in a log file, its environment pointing at this project's code; and a check that it starts.

:class:`StageKernel` is the kernel of one stage run: the runner starts it before anything else,
so that the kernel's start-up and the notebook's imports (:func:`notebook_imports`, imported
silently by :meth:`StageKernel.warm_up`) overlap the runner's own imports and checks, and asks it
to exit once the notebook has run, before the reports are written, which then overlap its exit.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from ..progress import STAGE_ENV

PACKAGE = "imbalance_lab"
#: The project's Jupyter kernel (``make kernel`` registers it; the notebooks name it). The stage
#: runner starts the same interpreter without looking the name up.
KERNEL_NAME = "imbalance-lab"
#: Seconds the kernel check waits for the kernel to start and run the import.
KERNEL_TIMEOUT = 60.0
#: The stage kernel's arguments: IPython's history in memory, as nbclient starts its kernels.
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:",)
#: Seconds a stage kernel has to exit after a shutdown request: half of it before it is
#: terminated (SIGTERM), the other half before it is killed; nbclient's default.
SHUTDOWN_WAIT = 5.0
#: The same for a kernel asked to exit by itself once its notebook has run (:meth:`StageKernel.finish`).
#: Measured in the default pipeline: 0.5 to 1.3 s after the request (the most in the stages whose
#: joblib workers it ends); exiting with gigabytes of data takes longer, and waiting costs nothing
#: when it is quick, so it has 10 s before it is terminated.
FINISHED_WAIT = 20.0
#: Ends the kernel as ``exit`` typed in a cell does: its event loop stops and the process exits
#: like a Python program, running its exit handlers.
_EXIT = "get_ipython().ask_exit()"


#: Seconds a client waits for an IOPub message after the kernel's first reply, the sign that its
#: IOPub subscription is connected (it asks again otherwise); jupyter_client's value.
IOPUB_CHECK = 0.2


@functools.cache
def kernel_client_class() -> type:
    """jupyter_client's asynchronous kernel client, with a :meth:`wait_for_ready` that returns as
    soon as the kernel has answered.

    jupyter_client's waits, after the kernel's answer, until no IOPub message has come for 0.2 s:
    0.205 s measured against a round trip of 0.003 to 0.005 s, and a stage waits for the kernel
    twice (:meth:`StageKernel.warm_up`, then papermill), while the kernel has nothing to do. This
    one takes the messages already there instead; a client that runs code ignores IOPub messages
    of other requests (nbclient does).
    """
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
            """Wait until the kernel answers a kernel_info request and IOPub is connected.

            Raises
            ------
            RuntimeError
                The kernel died first, or did not answer within ``timeout`` seconds.
            """
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    pass
                else:
                    if reply["msg_type"] == "kernel_info_reply":
                        try:
                            await self.iopub_channel.get_msg(timeout=IOPUB_CHECK)
                        except Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(reply)
                            break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
            while True:  # the messages already there, without waiting for more
                try:
                    await self.iopub_channel.get_msg(timeout=0)
                except Empty:
                    break

    return ReadyKernelClient


def kernel_manager_class(stderr_path: Path | None = None) -> type:
    """A kernel manager that starts this very interpreter as the kernel, its clients made by
    :func:`kernel_client_class`; with ``stderr_path``, the
    kernel process's stderr is appended to that file instead of the terminal. (At shutdown
    ipykernel can print tracebacks from its closing sockets, e.g. ``ZMQError: Socket operation on
    non-socket``; they would break the one-line error of a failed stage.)"""
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class InterpreterKernelManager(AsyncKernelManager):
        """Starts an IPython kernel with this very interpreter, ignoring installed kernelspecs.

        ``processes`` holds the started kernel processes (``subprocess.Popen``), so that the exit
        status of a kernel that died can be reported after the manager has let go of it."""

        processes: ClassVar[list[Any]] = []
        #: The clients of this manager's kernels (nbclient's too), to close when it shuts down.
        clients: ClassVar[list[Any]] = []

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{"client_factory": kernel_client_class(), **kwargs})

        def client(self, **kwargs: Any) -> Any:
            kc = super().client(**kwargs)
            type(self).clients.append(kc)
            return kc

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if stderr_path is None:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            else:
                stderr_path.parent.mkdir(parents=True, exist_ok=True)
                with open(stderr_path, "ab") as fh:  # the kernel process keeps its own copy of the descriptor
                    await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": fh})
            process = getattr(self.provisioner, "process", None)
            if process is not None:
                type(self).processes.append(process)

        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    display_name=KERNEL_NAME,
                    language="python",
                    name=KERNEL_NAME,
                )
            return self._kernel_spec

    return InterpreterKernelManager


def notebook_imports(nb: dict[str, Any]) -> list[str]:
    """The modules a notebook's code cells import (``import a.b``, ``from a import x``: ``a.b``,
    ``a``), in order, each once; cells that are not plain Python (magics) are skipped.

    Parameters
    ----------
    nb : dict
        The notebook as JSON.
    """
    found: dict[str, None] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse(source if isinstance(source, str) else "".join(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found[node.module] = None
    return list(found)


#: Imports the modules of :meth:`StageKernel.warm_up`; an import that fails is left for the
#: notebook's own import to report.
_WARM_UP = """\
import importlib
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def warm_up_code(modules: Sequence[str]) -> str:
    """Code that imports ``modules`` in a namespace of its own (the notebook's stays untouched)."""
    return f"exec({_WARM_UP.format(modules=tuple(modules))!r}, {{}})"


class StageKernel:
    """The kernel of one stage run, started at once (:data:`KERNEL_NAME`, this interpreter) and
    shut down in two steps, so that the runner can work while it starts and while it exits.

    A kernel whose notebook has run is asked to exit by itself (:meth:`finish`), not sent a
    shutdown request: at a shutdown request ipykernel signals the kernel's child processes with
    SIGTERM until they are gone, and the resource trackers that joblib's workers start ignore
    it, so the kernel waited (up to 14 s of signals) until it was terminated, and its exit
    handlers never ran. Exiting by itself, it ends like a Python program: joblib stops its
    workers and deletes its temporary folders, and the trackers see it go.

    Parameters
    ----------
    root : Path
        The kernel's working directory (its environment is this process's:
        :func:`kernel_environment`).
    stderr_path : Path, optional
        The file the kernel process's stderr is appended to.
    """

    def __init__(self, root: Path, *, stderr_path: Path | None = None) -> None:
        from jupyter_client.utils import run_sync

        self._run_sync = run_sync  # nbclient's too: one event loop for this thread
        self.manager = kernel_manager_class(stderr_path)(kernel_name=KERNEL_NAME)
        self._shutdown_requested = False
        self._wait = SHUTDOWN_WAIT
        self._client: Any = None
        run_sync(self.manager.start_kernel)(cwd=str(root), extra_arguments=list(KERNEL_ARGUMENTS))

    @property
    def processes(self) -> list[Any]:
        """The kernel processes of this manager class (:func:`kernel_exit`)."""
        return type(self.manager).processes

    def warm_up(self, modules: Sequence[str]) -> None:
        """Once the kernel is up, have it import ``modules``; returns without waiting for them.

        The request is silent: it does not count as an execution (the notebook's execution
        counts stay as they were), its output reaches no cell, and it runs in a namespace of its
        own; the notebook's cells run after it. It is sent only once the kernel answers: an
        ipykernel that receives an execute request while it starts can leave its other clients
        waiting for replies that never come. The client has its own copy of the session (two
        clients sharing one would reject each other's IOPub messages as replayed).
        """
        if not modules:
            return
        kc = self._silent_client()
        try:
            self._run_sync(kc.wait_for_ready)(timeout=KERNEL_TIMEOUT)
        except RuntimeError:  # the kernel died or did not answer: running the notebook reports it
            return
        kc.execute(warm_up_code(modules), silent=True, store_history=False, allow_stdin=False, stop_on_error=False)

    def finish(self) -> None:
        """Once the notebook has run (to its end or to a cell's error), ask the kernel to exit by
        itself and return without waiting: :meth:`shutdown` waits up to :data:`FINISHED_WAIT`
        seconds for its process to end. The request is silent, like :meth:`warm_up`'s."""
        if self._shutdown_requested:
            return
        self._shutdown_requested = True
        self._wait = FINISHED_WAIT
        if self._run_sync(self.manager.is_alive)():
            self._silent_client().execute(_EXIT, silent=True, store_history=False, allow_stdin=False)

    def _silent_client(self) -> Any:
        """The kernel's client for silent requests, its shell and IOPub channels started (its
        ``wait_for_ready`` needs IOPub).

        It has its own session, with an id of its own: the id is the client's identity on the
        kernel's shell socket, and ipykernel hands an identity over to the client that connected
        last (``ROUTER_HANDOVER``), so a request this client sent after papermill's client (which
        has the manager's session) had connected was lost. (Two clients sharing one session
        would also reject each other's IOPub messages as replayed.)"""
        if self._client is None:
            from jupyter_client.session import new_id

            session = self.manager.session.clone()
            session.session = new_id()
            self._client = self.manager.client(session=session)
            self._client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
        return self._client

    def request_shutdown(self, *, wait: float = SHUTDOWN_WAIT) -> None:
        """Ask the kernel to shut down (a shutdown request), without waiting for it:
        :meth:`shutdown` waits up to ``wait`` seconds (:data:`SHUTDOWN_WAIT`)."""
        if self._shutdown_requested:
            return
        self._shutdown_requested = True
        self._wait = wait
        if self._run_sync(self.manager.is_alive)():
            self._run_sync(self.manager.request_shutdown)()

    def shutdown(self) -> None:
        """Shut the kernel down (unless :meth:`finish` or :meth:`request_shutdown` did) and wait
        until its process is gone (terminated or killed when it takes longer than they allowed);
        close its clients' channels."""
        try:
            self.request_shutdown()
            if self._run_sync(self.manager.is_alive)():
                self._run_sync(self.manager.finish_shutdown)(waittime=self._wait, pollinterval=0.02)
        finally:
            clients = type(self.manager).clients
            while clients:
                clients.pop().stop_channels()
            self._run_sync(self.manager.cleanup_resources)()


def kernel_exit(processes: list[Any]) -> str:
    """Describe how the last started kernel process ended, e.g. ``killed by SIGKILL``.

    Parameters
    ----------
    processes : list of subprocess.Popen
        The kernel processes a kernel manager started, last one last.
    """
    if not processes:
        return "exit status unknown"
    code = processes[-1].poll()
    if code is None:
        return "its process is still running but stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def kernel_environment(
    root: Path, environ: dict[str, str] | None = None, *, stage: str | None = None
) -> dict[str, str]:
    """The environment variables a stage kernel in ``root`` runs with (a copy of ``environ``,
    default ``os.environ``).

    The kernel must run this project's code: in a queued DVC experiment the project is a
    temporary copy, while the installed (editable) package points at the original checkout, so
    ``root/src`` goes first on ``PYTHONPATH``. With ``stage``, ``$IMBALANCE_LAB_STAGE`` names it
    (progress bars are then text the runner reads: :mod:`imbalance_lab.progress`).
    """
    env = dict(os.environ if environ is None else environ)
    if stage is not None:
        env[STAGE_ENV] = stage
    if (Path(root) / "src" / "imbalance_lab").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(root) / "src"), env.get("PYTHONPATH")]))
    return env


PROBE = (
    "import json, sys\nimport imbalance_lab\n"
    "print('IMBALANCE_LAB_PROBE ' + json.dumps({'file': imbalance_lab.__file__, 'python': sys.executable}))"
)


async def _probe_kernel(root: Path, timeout: float, stderr: Any) -> dict[str, Any]:
    """Start a kernel the runner's way in ``root``, run PROBE, shut it down. Returns the probe's
    JSON or {'error': ...}."""
    deadline = time.monotonic() + timeout
    left = lambda: max(0.1, deadline - time.monotonic())  # noqa: E731
    km = kernel_manager_class()(kernel_name=KERNEL_NAME)
    result: dict[str, Any] = {}
    try:
        await asyncio.wait_for(
            km.start_kernel(cwd=str(root), env=kernel_environment(root), stdout=subprocess.DEVNULL, stderr=stderr),
            left(),
        )
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=left())

            def hook(msg: dict[str, Any]) -> None:
                content = msg.get("content", {})
                if msg.get("msg_type") == "stream" and "IMBALANCE_LAB_PROBE " in content.get("text", ""):
                    line = next(ln for ln in content["text"].splitlines() if ln.startswith("IMBALANCE_LAB_PROBE "))
                    result.update(json.loads(line.split(" ", 1)[1]))
                elif msg.get("msg_type") == "error":
                    result["error"] = f"{content.get('ename')}: {content.get('evalue')}"

            reply = await kc.execute_interactive(
                PROBE, timeout=left(), output_hook=hook, allow_stdin=False, stop_on_error=True
            )
            if reply["content"].get("status") != "ok" and "error" not in result:
                c = reply["content"]
                result["error"] = f"{c.get('ename', 'error')}: {c.get('evalue', '')}"
        finally:
            kc.stop_channels()
    finally:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    return result


def check_kernel(root: Path, *, timeout: float = KERNEL_TIMEOUT) -> list[str]:
    """Problems starting the stage kernel (the runner's kernel manager: this interpreter's
    ipykernel, cwd ``root``) and importing imbalance_lab in it within ``timeout`` seconds, or
    importing it from somewhere other than ``root/src`` (a stage would then run that code while
    dvc.lock records this project's files)."""
    root = Path(root).resolve()
    start = time.monotonic()

    def too_slow(detail: str = "") -> list[str]:
        return [
            f"kernel: did not start and import imbalance_lab within {timeout:g} s{detail}; try "
            "`python -m ipykernel_launcher --help` and `python -c 'import imbalance_lab'` with this environment's "
            "python (or allow more time: --kernel-timeout)"
        ]

    with tempfile.TemporaryFile(mode="w+") as err:
        try:  # the timeout is a hard limit for the whole probe
            result = asyncio.run(asyncio.wait_for(_probe_kernel(root, timeout, err), timeout))
        except Exception as exc:
            err.seek(0)
            # the kernel's own log lines ([IPKernelApp] ...) are noise; its last other line says why it died
            lines = [ln for ln in err.read().splitlines() if ln.strip() and not ln.startswith("[")]
            detail = f"; the kernel said: {lines[-1].strip()}" if lines else ""
            if isinstance(exc, TimeoutError) or time.monotonic() - start >= timeout:
                return too_slow(detail)
            return [
                f"kernel: cannot start the stage kernel ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}){detail}; "
                "the stages would fail the same way (reinstall the environment: make env)"
            ]
    if time.monotonic() - start > timeout:
        return too_slow()
    if "error" in result:
        return [
            f"kernel: started but `import imbalance_lab` failed ({result['error']}); reinstall the package "
            "(make env) and check for a module shadowing it in the project directory"
        ]
    if "file" not in result:
        return ["kernel: started but did not report where imbalance_lab comes from; rerun with --debug"]
    imported = Path(result["file"]).resolve()
    expected = (root / "src" / PACKAGE / "__init__.py").resolve()
    if expected.exists() and imported != expected:
        return [
            f"kernel: imports imbalance_lab from {imported.parent}, not from this project's src/{PACKAGE}: stages would run "
            "that code while dvc.lock records this project's files; rename or remove what shadows it (a module or "
            "directory named imbalance_lab in the project directory, or on PYTHONPATH)"
        ]
    return []
