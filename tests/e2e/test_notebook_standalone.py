"""A source notebook runs top to bottom as it is, from notebooks/, like in JupyterLab."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from imbalance_lab.pipeline.kernel import kernel_manager_class as _kernel_manager_class
from tests.support import copy_project

pytestmark = pytest.mark.slow


def test_prepare_notebook_runs_with_its_defaults_from_the_notebooks_folder(tmp_path):
    root = copy_project(tmp_path / "proj")
    nb = nbformat.read(root / "notebooks" / "01_prepare.ipynb", as_version=4)
    NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=_kernel_manager_class(),
        timeout=600,
        resources={"metadata": {"path": str(root / "notebooks")}},
    ).execute()
    assert (root / "data" / "prepared" / "folds.parquet").exists()
    metrics = json.loads((root / "data" / "prepared" / "summary.json").read_text())
    assert metrics["rows"] == 5822 and metrics["train_rows"] + metrics["test_rows"] == 5822
    assert not list((root / "notebooks").glob("data")), "paths must resolve from the project root, not notebooks/"
