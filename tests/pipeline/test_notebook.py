"""Unit tests of imbalance_lab.pipeline.notebook: what every stage notebook does first."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from imbalance_lab.io import figure_bytes as figure_png
from imbalance_lab.pipeline import notebook


def _figure() -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [0, 1, 0])
    ax.set_title("a curve")
    return fig


def test_outside_ipython_figures_are_left_alone():
    assert notebook.show_figures_as_png() is False


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def test_in_ipython_a_figure_is_shown_as_the_png_a_stage_saves(shell):
    """Without this, object-API figures (no pyplot backend) showed as '<Figure size ...>' only:
    the stage reports had no pictures."""
    fig = _figure()
    before, _ = shell.display_formatter.format(fig)
    assert "image/png" not in before and before["text/plain"].startswith("<Figure size")
    assert notebook.show_figures_as_png() is True
    shown, metadata = shell.display_formatter.format(fig)
    assert shown["image/png"] == figure_png(fig)
    assert metadata["image/png"] == {"alt": "a curve"}  # the HTML report's alternative text
    assert figure_png(_figure()) == figure_png(fig)  # the same figure gives the same bytes: reports are reproducible


def test_project_root_is_found_from_a_subdirectory(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    (tmp_path / "notebooks").mkdir()
    assert notebook.project_root(tmp_path / "notebooks") == tmp_path.resolve()
    with pytest.raises(FileNotFoundError, match="open the notebook inside the project"):
        notebook.project_root(tmp_path.parent)


def test_figure_alt_joins_the_titles():
    fig = Figure()
    fig.suptitle("Drift")
    fig.add_subplot(1, 2, 1).set_title("PSI")
    fig.add_subplot(1, 2, 2)
    assert notebook.figure_alt(fig) == "Drift; PSI"
    assert notebook.figure_alt(Figure()) == "figure"


def test_a_formatter_put_in_place_later_is_replaced_after_the_cell(shell):
    """matplotlib-inline registers its own PNG formatter when pyplot is first imported (the tune
    notebook's optuna plots); it showed those figures without alternative text."""
    assert notebook.show_figures_as_png() is True
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(Figure, lambda fig: b"inline's")
    shell.events.trigger("post_execute")
    shown, metadata = shell.display_formatter.format(_figure())
    assert shown["image/png"] == figure_png(_figure()) and metadata["image/png"] == {"alt": "a curve"}
    assert notebook.show_figures_as_png() is True  # again: still one hook
    assert len([f for f in shell.events.callbacks["post_execute"] if f is notebook._KEEP]) == 1
    assert len(shell.events.callbacks["post_execute"]) == len(set(shell.events.callbacks["post_execute"]))
