"""Unit tests of imbalance_lab.pipeline.report: an executed notebook made into a report a reader
can read (headline first, code folded, parameters once)."""

from __future__ import annotations

import copy

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from imbalance_lab.pipeline import report
from imbalance_lab.pipeline.notebook import HEADLINE_KEY

LINE = "best random_forest, AP 0.156 [0.103, 0.208]"


def executed_stage_notebook():
    """A notebook as papermill leaves it: title, defaults, injected parameters, work, headline."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 2. Cross-validate", id="title"),
            new_code_cell("alpha = 0.0123\nmodels = ['dummy']", id="defaults", metadata={"tags": ["parameters"]}),
            new_code_cell(
                "alpha = 0.0456\nmodels = ['dummy', 'xgboost']",
                id="injected",
                metadata={"tags": ["injected-parameters"]},
            ),
            new_code_cell(
                "scores = cross_validate()",
                id="work",
                outputs=[new_output("stream", name="stdout", text="fold scores\n")],
            ),
            new_code_cell(
                "show_headline(line, table)",
                id="end",
                outputs=[
                    new_output(
                        "display_data",
                        data={"text/markdown": f"**{LINE}**", "text/plain": "<Markdown>"},
                        metadata={HEADLINE_KEY: {"line": LINE}},
                    ),
                    new_output(
                        "display_data",
                        data={
                            "text/html": "<table><tr><td>cv_ap</td><td>0.156</td></tr></table>",
                            "text/plain": "cv_ap 0.156",
                        },
                        metadata={HEADLINE_KEY: {"table": True}},
                    ),
                ],
            ),
        ]
    )
    nbformat.validate(nb)
    return nb


def test_headline_of_finds_the_line_the_notebook_displayed():
    assert report.headline_of(executed_stage_notebook()) == LINE
    assert report.headline_of(new_notebook(cells=[new_code_cell("1")])) is None


def test_report_view_puts_the_headline_under_the_title_and_the_parameters_once():
    view = report.report_view(executed_stage_notebook())
    assert [c["id"] for c in view.cells] == ["title", "headline", "injected", "work", "end"]
    top = view.cells[1]
    assert top.source == "" and [HEADLINE_KEY in o["metadata"] for o in top.outputs] == [True, True]
    assert view.cells[-1].outputs == []  # shown at the top, not twice
    assert view.cells[3].outputs[0]["text"] == "fold scores\n"


def test_the_html_report_opens_with_the_headline_and_folds_every_code_cell():
    page = report.render_html(executed_stage_notebook()).decode()
    assert page.startswith("<!DOCTYPE html>")
    headline, first_code = page.index(LINE), page.index('<details class="il-code">')
    assert page.index("2. Cross-validate") < headline < first_code
    assert page.index("cv_ap") < first_code  # the headline table too
    assert page.count('<details class="il-code">') == 3  # injected parameters, work, end; never open
    assert "<summary>parameters of this run</summary>" in page
    assert "0.0456" in page and "0.0123" not in page  # the run's values, once (the source is highlighted)
    assert "max-width: min(100%, 960px)" in page


def test_rendering_leaves_the_executed_notebook_as_it_was():
    nb = executed_stage_notebook()
    before = copy.deepcopy(nb)
    report.render_html(copy.deepcopy(nb))
    assert nb == before


def test_a_ready_exporter_renders_one_report_after_another_as_a_new_exporter_does():
    exporter = report.html_exporter()
    other = new_notebook(cells=[new_markdown_cell("# 1. Prepare", id="t"), new_code_cell("rows = 10", id="c")])
    for nb in (executed_stage_notebook(), other, executed_stage_notebook()):
        assert report.render_html(copy.deepcopy(nb), exporter=exporter) == report.render_html(copy.deepcopy(nb))


def test_code_shown_in_a_report_is_escaped():
    """The lab template's sanitizer is not run on highlighted code: the highlighting escapes it."""
    nb = new_notebook(cells=[new_code_cell('note = "<script>alert(1)</script><img src=x onerror=y>"', id="c")])
    page = report.render_html(nb).decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
