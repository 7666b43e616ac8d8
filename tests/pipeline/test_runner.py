"""The stage runner: parameters injected, volatile metadata removed, errors as one line."""

from __future__ import annotations

import json
import os
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from imbalance_lab.data import PREPARED_FILES
from imbalance_lab.errors import ImbalanceLabError, StageError, user_error_names
from imbalance_lab.pipeline import kernel, report, runner, stages
from imbalance_lab.pipeline import outputs as transactions
from imbalance_lab.pipeline.params import load_params


def test_read_stage_finds_notebook_reports_and_paths(project_root):
    info = stages.read_stage("prepare", dvc_file=project_root / "dvc.yaml")
    assert info["notebook"] == "notebooks/01_prepare.ipynb"
    assert info["report"] == "reports/notebooks/01_prepare.ipynb" and info["html"] == "reports/01_prepare.html"
    assert {"raw_dir", "prepared_dir", "prepare_plots_dir"} == set(info["path_keys"])
    assert "oof_path" not in info["path_keys"]


def test_read_stage_unknown_stage_is_one_line_error(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages:\n  a:\n    cmd: x\n")
    with pytest.raises(ImbalanceLabError, match="no stage 'b'; stages are a"):
        stages.read_stage("b", dvc_file=tmp_path / "dvc.yaml")


def test_notebook_parameters_are_seed_section_and_stage_paths(project_root):
    params = load_params(project_root / "params.yaml")
    info = stages.read_stage("prepare", dvc_file=project_root / "dvc.yaml")
    got = stages.notebook_parameters(params, stage="prepare", paths=info["paths"])
    assert got == {"seed": params["seed"], **params["prepare"], **info["paths"]}
    assert got["prepared_dir"] == "data/prepared"


def test_read_stage_rejects_undeclared_path(tmp_path):
    (tmp_path / "dvc.yaml").write_text(
        "vars:\n  - paths: {a: x}\nstages:\n  s:\n    cmd: c\n    deps:\n      - notebooks/s.ipynb\n"
        "      - ${paths.nope}\n    outs: [reports/s.ipynb, reports/s.html]\n"
    )
    with pytest.raises(ImbalanceLabError, match="nope"):
        stages.read_stage("s", dvc_file=tmp_path / "dvc.yaml")


def _files(directory):
    """Every file under ``directory`` and its bytes."""
    return {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def _executed_notebook():
    nb = new_notebook()
    cell = new_code_cell("x = 1", id="a")
    cell.metadata["papermill"] = {"start_time": "2026-01-01T00:00:00", "duration": 1.5, "status": "completed"}
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.1Z"}
    cell.outputs = [
        new_output(
            "stream",
            name="stderr",
            text="INFO x: start\n\rfolds:  50%|#####     | 5/10 [00:02<00:02,  2.1it/s]\r          \rINFO x: done\n",
        ),
        new_output("stream", name="stderr", text="\rfit: 100%|##########| 3/3 [00:01<00:00, 2.9it/s]\n"),
        new_output("stream", name="stdout", text="result 1\n"),
    ]
    injected = new_code_cell("seed = 1", id="random-uuid-1234")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [cell, injected]
    nb.metadata["papermill"] = {
        "start_time": "t0",
        "end_time": "t1",
        "duration": 3.0,
        "input_path": "/a",
        "output_path": "/b",
        "environment_variables": {},
        "parameters": {"seed": 1},
        "version": "2.7.0",
    }
    return nb


def test_clean_notebook_removes_volatile_metadata_and_progress_bars():
    nb = report.clean_notebook(_executed_notebook())
    assert nb.metadata["papermill"] == {"parameters": {"seed": 1}}
    cell, injected = nb.cells
    assert "papermill" not in cell.metadata and "execution" not in cell.metadata
    texts = [o.get("text") for o in cell.outputs]
    assert texts == ["INFO x: start\nINFO x: done\n", "result 1\n"]  # the bar-only output is gone
    assert injected["id"] == "injected-parameters"


def test_clean_notebook_is_deterministic_across_timings():
    a, b = _executed_notebook(), _executed_notebook()
    b.cells[0].metadata["papermill"]["duration"] = 99.0
    b.metadata["papermill"]["end_time"] = "t9"
    b.cells[0].outputs[0]["text"] = b.cells[0].outputs[0]["text"].replace("2.1it/s", "7.7it/s")
    assert nbformat.writes(report.clean_notebook(a)) == nbformat.writes(report.clean_notebook(b))


def test_kernel_is_this_interpreter():
    km = kernel.kernel_manager_class()()
    assert km.kernel_spec.argv[0] == sys.executable
    assert km.kernel_spec.argv[1:3] == ["-m", "ipykernel_launcher"]


def test_kernel_stderr_goes_to_the_log_file(tmp_path):
    """The kernel process's own stderr (not cell output) is appended to the stage's log file."""
    import asyncio

    log_file = tmp_path / "logs" / "stage.log"
    log_file.parent.mkdir()
    log_file.write_bytes(b"earlier run\n")

    async def write_to_process_stderr() -> None:
        km = kernel.kernel_manager_class(log_file)(kernel_name="python3")
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            await kc.execute_interactive("import os; os.write(2, b'from the kernel process\\n')", timeout=60)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(write_to_process_stderr())
    text = log_file.read_text()
    assert text.startswith("earlier run\n") and "from the kernel process" in text


@pytest.fixture
def kernels(monkeypatch):
    """The stage kernels run_stage starts in the test; after it, every kernel process must be gone."""
    started = []

    class Recorded(kernel.StageKernel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(runner, "StageKernel", Recorded)
    yield started
    assert started, "run_stage started no kernel"
    for stage_kernel in started:
        assert all(p.poll() is not None for p in stage_kernel.processes), "a kernel process outlived its stage"


@pytest.fixture(scope="module")
def small_project(tmp_path_factory, copy_project, update_params):
    root = copy_project(tmp_path_factory.mktemp("proj"))
    # a small data set: the first 1500 rows of the default data
    raw = root / "data" / "raw" / "caravan_train.csv"
    raw.write_text("".join(raw.read_text().splitlines(keepends=True)[:1501]))
    update_params(root, {"prepare": {"n_splits": 3, "n_repeats": 1}})
    return root


def test_run_stage_writes_clean_reproducible_reports(small_project, kernels, monkeypatch):
    monkeypatch.chdir(small_project)
    monkeypatch.setenv("PYTHONPATH", "")  # run_stage sets it for the kernel; restored after the test
    runner.run_stage("prepare", root=small_project)
    report = small_project / "reports" / "notebooks" / "01_prepare.ipynb"
    first = report.read_bytes()
    data_first = (small_project / "data" / "prepared" / "train.parquet").read_bytes()
    nb = json.loads(first)
    assert set(nb["metadata"]["papermill"]) <= {"parameters", "default_parameters"}
    assert all("papermill" not in c["metadata"] and "execution" not in c["metadata"] for c in nb["cells"])
    assert nb["metadata"]["papermill"]["parameters"]["n_splits"] == 3
    assert os.environ["PYTHONPATH"].split(os.pathsep)[0] == str(small_project / "src"), (
        "the kernel runs the project's own code"
    )
    assert (small_project / "reports" / "01_prepare.html").read_bytes().startswith(b"<!DOCTYPE html>")
    runner.run_stage("prepare", root=small_project)
    assert report.read_bytes() == first, "the executed notebook must be byte-identical when nothing changed"
    assert (small_project / "data" / "prepared" / "train.parquet").read_bytes() == data_first


def test_run_stage_input_error_is_one_line_and_writes_nothing(
    small_project, kernels, monkeypatch, tmp_path, update_params
):
    monkeypatch.chdir(small_project)
    monkeypatch.setenv("PYTHONPATH", "")
    params = (small_project / "params.yaml").read_text()
    reports = _files(small_project / "reports")
    prepared = _files(small_project / "data" / "prepared")
    assert len(prepared) == len(PREPARED_FILES)
    try:
        update_params(small_project, {"prepare": {"target": "NOT_A_COLUMN"}})
        with pytest.raises(ImbalanceLabError) as err:
            runner.run_stage("prepare", root=small_project)
    finally:
        (small_project / "params.yaml").write_text(params)
    msg = str(err.value)
    assert "\n" not in msg and "NOT_A_COLUMN" in msg and "prepare.target" in msg
    assert _files(small_project / "reports") == reports
    assert _files(small_project / "data" / "prepared") == prepared
    assert (small_project / ".imbalance-lab" / "failed" / "prepare.ipynb").exists()
    assert not (small_project / ".imbalance-lab" / "backup" / "prepare").exists()


def test_run_stage_validates_every_section_before_any_work(small_project, kernels, monkeypatch, update_params):
    """A wrong key in a later stage's section stops the first stage, before its notebook runs."""
    monkeypatch.chdir(small_project)
    monkeypatch.setenv("PYTHONPATH", "")
    params = (small_project / "params.yaml").read_text()
    failed = small_project / ".imbalance-lab" / "failed" / "prepare.ipynb"
    failed.unlink(missing_ok=True)
    try:
        update_params(small_project, {"evaluate": {"n_boostrap": 100}})
        with pytest.raises(ImbalanceLabError, match="n_boostrap") as err:
            runner.run_stage("prepare", root=small_project)
    finally:
        (small_project / "params.yaml").write_text(params)
    assert "\n" not in str(err.value) and "n_bootstrap" in str(err.value)  # names the key and suggests the right one
    assert not failed.exists(), "the notebook must not have started"


def test_a_kernel_that_dies_gives_one_line_and_keeps_the_outputs(small_project, kernels, monkeypatch):
    """A kernel killed mid-stage (as the out-of-memory killer does) is reported in one line with how it
    ended and where its log is; the stage's earlier outputs are put back."""
    monkeypatch.chdir(small_project)
    monkeypatch.setenv("PYTHONPATH", "")
    nb_path = small_project / "notebooks" / "01_prepare.ipynb"
    source = nb_path.read_text()
    reports = _files(small_project / "reports")
    prepared = _files(small_project / "data" / "prepared")
    assert len(prepared) == len(PREPARED_FILES)
    nb = json.loads(source)
    nb["cells"].insert(
        len(nb["cells"]) - 1,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "kill-kernel",
            "metadata": {},
            "outputs": [],
            "source": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        },
    )
    try:
        nb_path.write_text(json.dumps(nb))
        with pytest.raises(StageError) as err:
            runner.run_stage("prepare", root=small_project)
    finally:
        nb_path.write_text(source)
    msg = str(err.value)
    assert "\n" not in msg
    assert "kernel died (killed by SIGKILL)" in msg and "memory" in msg and "IMBALANCE_LAB_N_JOBS" in msg
    assert ".imbalance-lab/logs/prepare.log" in msg and ".imbalance-lab/failed/prepare.ipynb" in msg
    assert (small_project / ".imbalance-lab" / "failed" / "prepare.ipynb").exists()
    assert _files(small_project / "reports") == reports
    assert _files(small_project / "data" / "prepared") == prepared
    assert not (small_project / ".imbalance-lab" / "backup" / "prepare").exists()


def test_kernel_exit_describes_how_the_process_ended():
    class Ended:
        def __init__(self, code):
            self.code = code

        def poll(self):
            return self.code

    assert kernel.kernel_exit([]) == "exit status unknown"
    assert kernel.kernel_exit([Ended(0), Ended(-9)]) == "killed by SIGKILL"
    assert kernel.kernel_exit([Ended(-6)]) == "killed by SIGABRT"
    assert kernel.kernel_exit([Ended(3)]) == "exit code 3"
    assert "still running" in kernel.kernel_exit([Ended(None)])


def test_outputs_set_aside_by_a_killed_run_are_restored_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "plots" / "x"
    out.mkdir(parents=True)
    (out / "a.png").write_text("old")
    transactions.set_aside("s", ["plots/x", "metrics/m.json"])
    assert not out.exists()
    # the killed run had written a partial new output
    out.mkdir()
    (out / "partial.png").write_text("new")
    transactions.set_aside("s", ["plots/x", "metrics/m.json"])  # the next run: restore, then set aside again
    transactions.restore("s", ["plots/x", "metrics/m.json"])  # ... and that run fails too
    assert sorted(p.name for p in out.iterdir()) == ["a.png"] and (out / "a.png").read_text() == "old"
    assert not (tmp_path / "metrics" / "m.json").exists()


def test_outputs_a_failed_run_created_are_removed(tmp_path, monkeypatch):
    """A failed tune left its new trials.csv behind: the stage's outputs must be as they were,
    including the ones that did not exist."""
    monkeypatch.chdir(tmp_path)
    outputs = ["data/old.csv", "data/new.csv", "plots/new", "reports/r.html"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "old.csv").write_text("old")
    transactions.set_aside("s", outputs)
    # the run writes every output, then fails
    for name in ("data/old.csv", "data/new.csv", "reports/r.html"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("partial")
    (tmp_path / "plots" / "new").mkdir(parents=True)
    (tmp_path / "plots" / "new" / "a.png").write_text("partial")
    transactions.restore("s", outputs)
    assert (tmp_path / "data" / "old.csv").read_text() == "old"
    assert not any((tmp_path / name).exists() for name in ("data/new.csv", "plots/new", "reports/r.html"))
    assert not (tmp_path / ".imbalance-lab" / "backup" / "s").exists()
    # kept out of the way, not deleted (after a killed run and a dvc checkout they may be good copies)
    discarded = tmp_path / ".imbalance-lab" / "discarded" / "s"
    assert (discarded / "data" / "new.csv").read_text() == "partial" and (
        discarded / "plots" / "new" / "a.png"
    ).exists()


def test_outputs_a_killed_run_created_are_removed_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    transactions.set_aside("s", ["data/new.csv"])
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "new.csv").write_text("partial")  # then SIGKILL: nothing cleans up
    transactions.set_aside("s", ["data/new.csv"])  # the next run starts
    assert not (tmp_path / "data" / "new.csv").exists()
    transactions.restore("s", ["data/new.csv"])  # ... and fails: the killed run's file is not put back
    assert not (tmp_path / "data" / "new.csv").exists()


def test_restore_without_a_run_in_progress_leaves_every_output(tmp_path, monkeypatch):
    """After a successful run there is no backup area: nothing may be removed then."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "out.csv").write_text("result")
    transactions.restore("s", ["data/out.csv"])
    transactions.set_aside("s", ["data/out.csv"])
    (tmp_path / "data" / "out.csv").write_text("new result")
    transactions.discard_backup("s")  # the run succeeded
    transactions.set_aside("s", ["data/out.csv"])  # and the next one starts
    transactions.restore("s", ["data/out.csv"])  # ... and fails
    assert (tmp_path / "data" / "out.csv").read_text() == "new result"


def test_user_errors_of_every_module_are_recognised():
    names = user_error_names()
    assert {
        "ImbalanceLabError",
        "DataError",
        "ParamsError",
        "StrategyError",
        "TuneError",
        "ArtifactError",
        "ScoringError",
    } <= names
    assert "StageError" in names and "ValueError" not in names


def test_render_html_keeps_a_figures_alternative_text():
    """JupyterLab's HTML template drops it (nbconvert then warns and writes 'No description has
    been provided for this image')."""
    import base64

    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig")
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"image/png": png, "text/plain": "<Figure>"},
            metadata={"image/png": {"alt": "Class balance & <prevalence>"}},
        )
    ]
    nb.cells = [cell]
    html = report.render_html(nb).decode()
    assert f'<img alt="Class balance &amp; &lt;prevalence&gt;" src="data:image/png;base64,{png}"/>' in html
    assert "No description has been provided" not in html


def test_in_background_returns_the_result_or_raises_the_error_where_it_is_used():
    import threading

    started = threading.Event()

    def make():
        started.set()
        return threading.current_thread().name

    result = runner._in_background(make)
    assert started.wait(10) and result() == "in-background"

    def fail():
        raise ImportError("no nbconvert here")

    failing = runner._in_background(fail)  # nothing raised yet
    with pytest.raises(ImportError, match="no nbconvert here"):
        failing()
