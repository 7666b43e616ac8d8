"""Unit tests of imbalance_lab.pipeline.console: what a stage shows on the terminal and logs."""

from __future__ import annotations

import io
import logging
import re
import time

import pytest

from imbalance_lab.pipeline import console as C

TQDM = (
    "\rfolds:   0%|          | 0/10 [00:00<?, ?it/s]"
    "\rfolds:  40%|####      | 4/10 [00:01<00:02,  2.1it/s]"
    "\rfolds:  70%|#######   | 7/10 [00:02<00:01,  2.1it/s]"
)


def test_parse_progress_takes_the_last_bar_of_a_chunk():
    assert C.parse_progress(TQDM) == C.Progress("folds", 7, 10)
    assert C.parse_progress("5 pipelines x 10 folds:  42%|####2     | 21/50 [00:08<00:11]") == C.Progress(
        "5 pipelines x 10 folds", 21, 50
    )
    assert C.parse_progress("INFO imbalance_lab: 40% of the rows") is None
    assert C.parse_progress("") is None


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_a_pipe_gets_a_line_per_quarter_of_a_long_bar_and_per_half_of_a_short_one():
    out = io.StringIO()
    console = C.StageConsole("tune", stream=out, interactive=False)
    for n in range(41):
        console.progress(C.Progress("trials", n, 40))
    for n in range(5):
        console.progress(C.Progress("bootstrap", n, 4))
    assert _lines(out) == [
        "  trials: 10/40",
        "  trials: 20/40",
        "  trials: 30/40",
        "  trials: 40/40",
        "  bootstrap: 2/4",
        "  bootstrap: 4/4",
    ]


def test_a_terminal_gets_the_bar_redrawn_in_place_and_cleared_before_the_next_line():
    out = io.StringIO()
    console = C.StageConsole("cross_validate", stream=out, interactive=True)
    console.start("running notebooks/02_cross_validate.ipynb")
    console.progress(C.Progress("folds", 5, 10))
    console.progress(C.Progress("folds", 10, 10))
    console.done("best random_forest, AP 0.156 [0.103, 0.208]", 48.4)
    text = out.getvalue()
    assert text.count("\n") == 2  # the bar never adds a line
    assert "\r\x1b[K  folds [############............] 5/10" in text
    assert text.endswith("\r\x1b[Kcross_validate: best random_forest, AP 0.156 [0.103, 0.208], 48 s\n")


def test_end_lines_give_the_headline_and_the_duration_or_the_log():
    out = io.StringIO()
    console = C.StageConsole("prepare", stream=out, interactive=False)
    console.done(None, 3.2)
    console.failed(7.6, C.LOG_DIR / "prepare.log")
    assert _lines(out) == ["prepare: 3 s", "prepare: failed after 8 s; its log is .imbalance-lab/logs/prepare.log"]


@pytest.mark.parametrize("verbose", [False, True])
def test_stage_log_sends_the_notebooks_output_to_the_log_and_its_bars_to_the_console(tmp_path, caplog, verbose):
    out = io.StringIO()
    console = C.StageConsole("imbalance", stream=out, interactive=False)
    log = tmp_path / "logs" / "imbalance.log"
    log.parent.mkdir()
    log.write_text("an older run's log\n")
    runner_logger = logging.getLogger("imbalance_lab.pipeline.runner")
    before = (runner_logger.propagate, logging.getLogger("papermill").propagate)
    with caplog.at_level(logging.INFO), C.stage_log(log, console, verbose=verbose):
        logging.getLogger("papermill").info("Executing Cell 3")
        logging.getLogger("papermill").warning("pipelines:  50%|#####     | 5/10 [00:01<00:01]")
        runner_logger.info("wrote reports/04_imbalance.html")
    text = log.read_text()
    assert text.startswith("# imbalance, ") and "an older run's log" not in text
    assert "INFO papermill: Executing Cell 3" in text and "INFO imbalance_lab.pipeline.runner: wrote" in text
    assert re.search(r"^ +\d\.\d{3} INFO papermill: Executing Cell 3$", text, re.M)  # seconds since the block began
    assert _lines(out) == ["  pipelines: 5/10"]
    assert ("Executing Cell 3" in caplog.text) is verbose  # the terminal sees it only when asked
    assert (runner_logger.propagate, logging.getLogger("papermill").propagate) == before


def test_verbose_from_env(monkeypatch):
    monkeypatch.delenv(C.VERBOSE_ENV, raising=False)
    assert not C.verbose_from_env()
    monkeypatch.setenv(C.VERBOSE_ENV, "0")
    assert not C.verbose_from_env()
    monkeypatch.setenv(C.VERBOSE_ENV, "1")
    assert C.verbose_from_env()


def test_stage_log_lines_start_with_the_seconds_since_the_stage_began(tmp_path):
    console = C.StageConsole("prepare", stream=io.StringIO(), interactive=False)
    log = tmp_path / "prepare.log"
    with C.stage_log(log, console, since=time.time() - 100.0):
        logging.getLogger("papermill").info("Executing Cell 1")
        logging.getLogger("papermill").info("Ending Cell 1")
    first, second = (line.split(None, 1) for line in log.read_text().splitlines()[1:])
    assert first[1] == "INFO papermill: Executing Cell 1" and second[1] == "INFO papermill: Ending Cell 1"
    assert 100.0 <= float(first[0]) <= float(second[0]) < 110.0
