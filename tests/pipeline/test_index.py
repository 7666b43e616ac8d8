"""Unit tests of imbalance_lab.pipeline.index: reports/index.html, the study on one page."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from imbalance_lab.errors import ImbalanceLabError
from imbalance_lab.pipeline import index
from imbalance_lab.pipeline.notebook import HEADLINE_KEY

DVC_YAML = """
stages:
  prepare:
    cmd: imbalance-lab run prepare
    deps: [notebooks/01_prepare.ipynb]
    outs: [reports/notebooks/01_prepare.ipynb, reports/01_prepare.html]
  evaluate:
    cmd: imbalance-lab run evaluate
    deps: [notebooks/05_evaluate.ipynb]
    outs: [reports/notebooks/05_evaluate.ipynb, reports/05_evaluate.html]
  report:
    cmd: imbalance-lab report
    deps: [reports/notebooks]
    outs: [reports/index.html]
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    executed = new_notebook(
        cells=[
            new_code_cell(
                "show_headline(...)",
                outputs=[
                    new_output(
                        "display_data",
                        data={"text/markdown": "**5822 rows**"},
                        metadata={HEADLINE_KEY: {"line": "5822 rows & 348 positives"}},
                    ),
                    new_output(
                        "display_data",
                        data={"text/html": "<table><td>rows</td><td>5822</td></table>"},
                        metadata={HEADLINE_KEY: {"table": True}},
                    ),
                ],
            )
        ]
    )
    path = tmp_path / "reports" / "notebooks" / "01_prepare.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(executed, path)
    return tmp_path


def test_the_index_shows_each_stage_s_headline_and_links_its_report_and_notebook(project):
    page = index.index_html(project / "dvc.yaml").decode()
    assert page.startswith("<!DOCTYPE html>")
    assert (
        '<a href="01_prepare.html">prepare</a>' in page
        and '<a href="notebooks/01_prepare.ipynb">executed notebook</a>' in page
    )
    assert "5822 rows &amp; 348 positives" in page and "<table><td>rows</td><td>5822</td></table>" in page
    evaluate = page[page.index("<h2>evaluate</h2>") :]
    assert "not run yet" in evaluate and "href" not in evaluate.split("</section>")[0]
    assert page.index("prepare") < page.index("evaluate")  # in the order of the stages


def test_write_index_writes_reports_index_html_with_the_same_bytes_each_time(project):
    path = index.write_index(project / "dvc.yaml")
    assert path == project / "reports" / "index.html"
    first = path.read_bytes()
    index.write_index(project / "dvc.yaml")
    assert path.read_bytes() == first


def test_an_executed_notebook_that_is_not_a_notebook_is_one_line(project):
    (project / "reports" / "notebooks" / "01_prepare.ipynb").write_text("{not json")
    with pytest.raises(ImbalanceLabError) as err:
        index.index_html(project / "dvc.yaml")
    assert (
        "\n" not in str(err.value)
        and "01_prepare.ipynb: not a notebook" in str(err.value)
        and "dvc repro prepare" in str(err.value)
    )


def test_notebook_stages_are_the_stages_that_run_a_notebook():
    import yaml

    assert index.notebook_stages(yaml.safe_load(DVC_YAML)) == ["prepare", "evaluate"]
