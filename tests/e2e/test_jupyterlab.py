"""JupyterLab in a real browser: the prepare notebook opens with the project's kernel, runs all its
cells and shows no error (a screenshot is kept as a test artefact)."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.support import browser, copy_project, env, screenshot

pytestmark = pytest.mark.slow

NOTEBOOK = "notebooks/01_prepare.ipynb"
#: The open notebook, through the JupyterLab application (``--LabApp.expose_app_in_browser``).
STATE = """
const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
if (!w || !w.context || w.context.path !== arguments[0] || !w.sessionContext.session) return null;
const kernel = w.sessionContext.session.kernel;
const cells = w.content.widgets.filter(c => c.model.type === 'code');
return {
  kernel: kernel ? kernel.name : null,
  status: kernel ? kernel.status : null,
  executed: cells.filter(c => c.model.executionCount !== null).length,
  cells: cells.length,
  errors: cells.flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)),
};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what, condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a copy of the project (as `make lab` does): its URL and root."""
    root = copy_project(tmp_path / "proj")
    port, token = _free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [
            "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True", "--ServerApp.ip=127.0.0.1", "--ServerApp.allow_root=True",
        ],
        cwd=root, env=env(), stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "w"),
    )  # fmt: skip

    def ready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                return r.status == 200
        except OSError:
            return server.poll() is not None and pytest.fail((tmp_path / "lab.log").read_text()[-2000:])

    try:
        _wait("JupyterLab's server", ready, 120)
        yield f"http://127.0.0.1:{port}", token, root
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_prepare_notebook_runs_in_jupyterlab_with_the_project_kernel(lab):
    url, token, root = lab
    driver = browser()
    try:
        driver.get(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        state = _wait(
            "the notebook and its kernel",
            lambda: (s := driver.execute_script(STATE, NOTEBOOK)) and s["status"] == "idle" and s,
            180,
        )
        assert state["kernel"] == "imbalance-lab", state
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
        state = _wait(
            "every cell run",
            lambda: (
                (s := driver.execute_script(STATE, NOTEBOOK))
                and s["executed"] == s["cells"]
                and s["status"] == "idle"
                and s
            ),
            300,
        )
        screenshot(driver, "jupyterlab_01_prepare.png")
        assert state["errors"] == [], state["errors"]
    finally:
        driver.quit()
    summary = json.loads((root / "data" / "prepared" / "summary.json").read_text())
    assert summary["rows"] == 5822  # the notebook ran from the project root, on the default data


@pytest.mark.parametrize("required", ["1", None])
def test_a_missing_browser_skips_unless_required(monkeypatch, required):
    from tests import support

    monkeypatch.setattr(support.os.path, "exists", lambda path: False)
    if required:
        monkeypatch.setenv(support.REQUIRE_BROWSER_ENV, required)
    else:
        monkeypatch.delenv(support.REQUIRE_BROWSER_ENV, raising=False)
    outcome = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(outcome, match=r"/usr/bin/chromium, /usr/bin/chromedriver not found \(apt-get install chromium"):
        browser()
