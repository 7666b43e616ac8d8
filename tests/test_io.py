"""Unit tests of imbalance_lab.io: atomic, deterministic files and one-line read errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from imbalance_lab import io as lab_io
from imbalance_lab.errors import ImbalanceLabError


def test_atomic_path_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "out" / "a.txt"
    with lab_io.atomic_path(target) as tmp:
        tmp.write_text("first")
    assert target.read_text() == "first"
    with pytest.raises(RuntimeError), lab_io.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "first" and os.listdir(target.parent) == ["a.txt"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~lab_io.UMASK)


def test_atomic_path_refuses_a_directory_in_one_line(tmp_path):
    with pytest.raises(ImbalanceLabError, match="is a directory; give a file name"), lab_io.atomic_path(tmp_path):
        pass


def test_atomic_directory_swaps_the_whole_directory(tmp_path):
    target = tmp_path / "d"
    with lab_io.atomic_directory(target) as tmp:
        (tmp / "old.txt").write_text("1")
    with lab_io.atomic_directory(target) as tmp:
        (tmp / "new.txt").write_text("2")
    assert os.listdir(target) == ["new.txt"]  # replaced, not merged
    with pytest.raises(RuntimeError), lab_io.atomic_directory(target) as tmp:
        (tmp / "half.txt").write_text("3")
        raise RuntimeError("killed")
    assert os.listdir(target) == ["new.txt"] and os.listdir(tmp_path) == ["d"]


def test_json_bytes_sorted_rounded_and_without_nan():
    obj = {"b": np.float64(0.123456789), "a": [float("nan"), np.int64(3), float("inf")]}
    assert lab_io.json_bytes(obj) == b'{\n  "a": [\n    null,\n    3,\n    null\n  ],\n  "b": 0.123457\n}\n'
    assert lab_io.json_bytes(obj, digits=None).endswith(b'"b": 0.123456789\n}\n')


def test_json_bytes_keeps_a_metrics_file_in_its_own_order(tmp_path):
    path = lab_io.write_json(
        tmp_path / "m.json", {"test_ap": 0.2, "test_roc_auc": 0.8, "threshold": 0.1}, sort_keys=False
    )
    assert list(lab_io.read_json(path)) == ["test_ap", "test_roc_auc", "threshold"]


def test_tables_and_figures_have_the_same_bytes_each_time(tmp_path):
    from matplotlib.figure import Figure

    df = pd.DataFrame({"x": [1.0, 2.123456789], "y": ["a", "b"]})
    assert (
        lab_io.write_parquet(tmp_path / "a.parquet", df).read_bytes()
        == lab_io.write_parquet(tmp_path / "b.parquet", df).read_bytes()
    )
    assert lab_io.write_csv(tmp_path / "a.csv", df).read_text() == "x,y\n1.0,a\n2.123457,b\n"
    fig = Figure()
    fig.subplots().plot([0, 1], [1, 0])
    for fmt in ("png", "svg", "pdf"):
        assert lab_io.figure_bytes(fig, format=fmt) == lab_io.figure_bytes(fig, format=fmt), fmt
    with pytest.raises(ValueError, match="not 'jpg'"):
        lab_io.figure_bytes(fig, format="jpg")


def test_a_figure_is_rendered_again_only_when_it_changed(monkeypatch):
    """A stage saves a figure and then shows it: one rendering, the same bytes as a fresh one; a
    change to the figure (or another format or dpi) renders it again."""
    from matplotlib.figure import Figure

    def figure():
        fig = Figure()
        fig.subplots().plot([0, 1], [1, 0])
        return fig

    fig = figure()
    renders = []
    savefig = fig.savefig
    monkeypatch.setattr(fig, "savefig", lambda *a, **k: renders.append(k["format"]) or savefig(*a, **k))
    first = lab_io.figure_bytes(fig)
    assert lab_io.figure_bytes(fig) == first and renders == ["png"]
    assert first == lab_io.figure_bytes(figure()), "kept bytes are a fresh rendering's"
    lab_io.figure_bytes(fig, format="svg")
    lab_io.figure_bytes(fig, format="svg", dpi=72)
    assert renders == ["png", "svg", "svg"]
    fig.axes[0].set_title("changed")
    changed = lab_io.figure_bytes(fig, format="svg", dpi=72)
    assert renders == ["png", "svg", "svg", "svg"]
    fresh = figure()
    fresh.axes[0].set_title("changed")
    assert changed == lab_io.figure_bytes(fresh, format="svg", dpi=72)


def test_a_pyplot_figure_is_rendered_each_time(monkeypatch):
    """optuna's plots are pyplot figures, whose second rendering can differ from the first: they
    are rendered each time they are saved or shown, as before."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        ax.plot([0, 1], [1, 0])
        renders = []
        savefig = fig.savefig
        monkeypatch.setattr(fig, "savefig", lambda *a, **k: renders.append(k["format"]) or savefig(*a, **k))
        lab_io.figure_bytes(fig)
        lab_io.figure_bytes(fig)
        assert renders == ["png", "png"]
    finally:
        plt.close(fig)


def test_sha256_of_a_file_and_of_its_bytes_agree(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert lab_io.sha256_file(path) == lab_io.sha256_bytes(path.read_bytes())


def test_read_yaml_reads_exponents_as_numbers_and_errors_in_one_line(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("alpha: 5e-2\nn: 1e3\n")
    assert lab_io.read_yaml(path) == {"alpha": 0.05, "n": 1000.0}
    path.write_text("a: [1,\nb: 2\n")
    with pytest.raises(ImbalanceLabError) as err:
        lab_io.read_yaml(path)
    assert "\n" not in str(err.value) and "is not valid YAML" in str(err.value)
    with pytest.raises(ImbalanceLabError, match="file not found; run from the project root"):
        lab_io.read_yaml(tmp_path / "missing.yaml")
    path.write_bytes(b"a: \xff\n")
    with pytest.raises(ImbalanceLabError, match="is not UTF-8 text; save it as UTF-8"):
        lab_io.read_yaml(path)


def test_parquet_reading_and_writing_give_pyarrows_freed_memory_back(tmp_path, monkeypatch):
    """read_parquet gives the frame pandas reads; both it and write_parquet release the pool."""
    import pyarrow

    df = pd.DataFrame({"x": np.arange(1000, dtype=float), "c": pd.Categorical(["a", "b"] * 500)})
    released = []

    class Pool:
        def release_unused(self):
            released.append(True)

    monkeypatch.setattr(pyarrow, "default_memory_pool", Pool)
    path = lab_io.write_parquet(tmp_path / "t.parquet", df)
    assert released == [True]
    pd.testing.assert_frame_equal(lab_io.read_parquet(path), pd.read_parquet(path))
    assert released == [True, True]


def test_release_arrow_memory_shrinks_the_process_after_a_read(tmp_path):
    """In a fresh process: read 800,000 rows x 20 float64 columns (122 MiB as a frame) with
    pandas, then release: the resident memory falls by at least half the frame's size."""
    import subprocess
    import sys

    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(800_000, 20)), columns=[f"x{j}" for j in range(20)]).to_parquet(
        tmp_path / "t.parquet", row_group_size=100_000
    )
    script = f"""
import os, pandas as pd
from imbalance_lab.io import release_arrow_memory
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
df = pd.read_parquet({str(tmp_path / "t.parquet")!r})
before = rss(); release_arrow_memory(); print(before - rss(), df.memory_usage().sum())
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    freed, frame = map(int, out.split())
    assert freed > 0.5 * frame, (freed, frame)
