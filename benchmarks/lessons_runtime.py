#!/usr/bin/env python3
"""How long each lesson takes on the simulated cluster, top to bottom, in a fresh kernel.

Prints, per lesson: wall time (kernel start to last cell), time spent inside cells, and the ratio
against a baseline notebook measured in the same run (one cell, ``import grader``), so a busy
machine shows up in the baseline rather than as a slow lesson. Target: every lesson under 10 s.

    python benchmarks/lessons_runtime.py [--repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0


def run(nb: nbformat.NotebookNode) -> tuple[float, float]:
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "course")}})
    start = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - start
    in_cells = 0.0
    for cell in nb.cells:
        ex = cell.metadata.get("execution")
        if ex and "iopub.execute_input" in ex and "shell.execute_reply" in ex:
            a = dt.datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
            b = dt.datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            in_cells += (b - a).total_seconds()
    return wall, in_cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (median is printed)")
    args = parser.parse_args()
    os.environ["NETLAB_BACKEND"] = "sim"
    baseline_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import grader")])
    lessons = sorted((ROOT / "course").glob("[0-9][0-9]-*.ipynb"))
    rows = []
    for label, load in [("baseline (import grader)", lambda: baseline_nb), *[(p.stem, lambda p=p: nbformat.read(p, as_version=4)) for p in lessons]]:
        times = [run(load()) for _ in range(args.repeat)]
        rows.append((label, statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)))
    base = rows[0][1]
    print(f"{'notebook':<32} {'wall s':>7} {'in cells s':>10} {'x baseline':>10}")
    worst = 0.0
    for label, wall, cells in rows:
        print(f"{label:<32} {wall:7.1f} {cells:10.1f} {wall / base:10.1f}")
        if label != rows[0][0]:
            worst = max(worst, wall)
    verdict = "ok" if worst < TARGET_SECONDS else "OVER TARGET"
    print(f"slowest lesson {worst:.1f} s (target < {TARGET_SECONDS:.0f} s): {verdict}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
