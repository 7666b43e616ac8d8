"""Fixed cost of executing one notebook: the papermill CLI against this project's runner.

Runs a trivial notebook (a parameters cell and `x = 1`) several times each way and prints the
mean wall time and the ratio, all measured in this one run:

* ``papermill`` CLI: a new process per notebook (imports papermill, nbformat, jsonschema ...);
* runner, cold: a new process that imports papermill the runner's way (without
  ``rfc3987_syntax``) and executes the notebook with the interpreter's kernel;
* runner, warm: a further notebook in the same process (the import is paid once).

Both new-process figures are timed from outside, interpreter start-up included (the cold
runner's is the process's wall time less its second, warm notebook, which it times itself).

Usage: python bench/notebook_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

RUNNER_SNIPPET = """
import sys, time
from imbalance_lab.pipeline.kernel import kernel_manager_class
from imbalance_lab.pipeline.runner import import_papermill
pm = import_papermill()
def run(i):
    pm.execute_notebook(sys.argv[1], sys.argv[2] + f".{i}.ipynb", parameters={"x": 2}, kernel_name="python3",
                        kernel_manager_class=kernel_manager_class(), progress_bar=False,
                        request_save_on_cell_execute=False)
run(0)
t1 = time.perf_counter()
run(1)
print(time.perf_counter() - t1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nb-overhead-"))
    nb = new_notebook(cells=[new_code_cell("x = 1", metadata={"tags": ["parameters"]}), new_code_cell("y = x + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp / "trivial.ipynb"
    nbformat.write(nb, src)
    papermill = str(Path(sys.executable).parent / "papermill")

    cli, cold, warm = [], [], []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        subprocess.run(
            [papermill, str(src), str(tmp / f"cli{i}.ipynb"), "-p", "x", "2", "--no-progress-bar"],
            check=True,
            capture_output=True,
        )
        cli.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", RUNNER_SNIPPET, str(src), str(tmp / f"run{i}")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        whole = time.perf_counter() - t0
        warm.append(float(out[-1]))
        cold.append(whole - warm[-1])  # start-up, imports and the first notebook
    m_cli, m_cold, m_warm = (statistics.mean(v) for v in (cli, cold, warm))
    print(f"papermill CLI, new process per notebook: {m_cli:.2f} s (runs: {', '.join(f'{v:.2f}' for v in cli)})")
    print(f"runner, first notebook in a process:     {m_cold:.2f} s (runs: {', '.join(f'{v:.2f}' for v in cold)})")
    print(f"runner, next notebook in the process:    {m_warm:.2f} s (runs: {', '.join(f'{v:.2f}' for v in warm)})")
    print(f"ratio CLI / runner first: {m_cli / m_cold:.2f}; CLI / runner next: {m_cli / m_warm:.2f}")


if __name__ == "__main__":
    main()
