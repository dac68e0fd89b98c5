"""Autograde throughput: seconds per submitted notebook, against an empty notebook in the same run.

    python benchmarks/autograde_throughput.py [--students N] [--repeat R] [--floor]

Builds a throw-away course from this repository's nbgrader_config.py and solutions/, adds an
assignment ``00-empty`` whose notebook has no code, submits every assignment for N students (the
correct answers), and times ``nbgrader autograde <assignment>`` for each. The empty notebook's time
is nbgrader's own cost (CLI start, sanitising, one sandboxed kernel start, the gradebook); the
difference is what running the exercise and its checks costs. Each assignment is also graded for N
students who hand in the student version untouched (blank answers): the same cells run, every check
fails fast, so "correct / blank" is what grading a correct answer costs beyond running the notebook
(the checks run outside the kernel, while it runs). The empty assignment is graded right before each
assignment, and each assignment is compared with that base; R rounds of these pairs, and the median
ratio is reported with its range: on a shared machine the speed drifts by tens of percent over the
minutes a run takes, so a single run, or the best of each, says little (one unscored run first warms
the disk cache). Also times the trusted re-check alone (the fresh process that grades every test cell outside
the kernel; during autograde it runs while the kernel runs). Target: every assignment at most 1.3x
the empty one.

With ``--floor``, each assignment also has a skeleton: the same cells with the same nbgrader
metadata, every code cell ``pass``, graded in the same rounds. It costs what nbgrader, nbclient and
ipykernel spend per cell of that notebook (validating cell metadata, the gradebook rows, one
execute round trip per cell), which no course code can avoid; the rest of the assignment's cost is
this course's: the lab, the probes, the pictures and the re-check.

Two measures: wall seconds (what one grader waits; it swings by half when other jobs share the
machine) and CPU seconds, user + system, of nbgrader and every process it waited for: the
sandboxed kernels, bubblewrap, the re-check (what grading many notebooks costs; hardly moved by
other jobs, but the re-check's CPU counts in full although it overlaps the kernel's run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Run:
    wall: float
    """Seconds of the whole ``nbgrader autograde`` command."""
    cpu: float
    """CPU seconds, user + system, of nbgrader and every process it waited for: the sandboxed
    kernels, bubblewrap, the re-check. It moves less than wall time when other jobs share the
    machine; the re-check's CPU counts in full although it overlaps the kernel's run."""
    kernel: float
    """Mean seconds of one sandboxed kernel, start to kill."""


class Rounds:
    """Every run of each assignment, in round order."""

    def __init__(self) -> None:
        self.runs: dict[str, list[Run]] = {}

    def add(self, key: str, wall: float, cpu: float, kernel: float) -> None:
        self.runs.setdefault(key, []).append(Run(wall, cpu, kernel))

    def median(self, key: str, what: str) -> float:
        return median(getattr(r, what) for r in self.runs[key])

    def ratios(self, key: str, base: Rounds, what: str) -> list[float]:
        """Per round: this run over the base run right before it."""
        return [getattr(r, what) / getattr(b, what) for r, b in zip(self.runs[key], base.runs[key], strict=True)]


KERNEL_LOG = re.compile(r": kernel ([0-9.]+) s, then the re-check")
"""VerifiedExecute's INFO line per notebook: the sandboxed kernel's seconds, start to kill."""


def nbgrader(course: Path, *args: str) -> tuple[float, float, float]:
    """(wall, cpu, mean kernel) seconds of one nbgrader command."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("NETLAB_BACKEND", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"nbgrader {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    kernels = [float(k) for k in KERNEL_LOG.findall(proc.stderr)]
    kernel = sum(kernels) / len(kernels) if kernels else 0.0
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), kernel


def recheck_seconds(notebook: Path) -> float:
    from grader.checks.client import bootstrap_argv

    nb = nbformat.read(notebook, as_version=4)
    cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    answers = [c.source for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    payload = json.dumps({"cells": [{"grade_id": c.metadata.nbgrader.grade_id, "source": c.source} for c in cells],
                          "ledger": None, "answer_sources": answers})
    start = time.perf_counter()
    proc = subprocess.run(bootstrap_argv("recheck"), input=payload, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    results = json.loads(proc.stdout)
    assert all(r["passed"] for r in results.values()), results
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help=(
        "rounds: each grades the empty notebook and then each assignment, and the ratio of that pair is "
        "taken; the median of R rounds is reported (a shared machine is noisy)"))
    parser.add_argument("--floor", action="store_true", help=(
        "also grade a skeleton of each assignment (its cells, every code cell `pass`): nbgrader's own cost per cell"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netlab-bench-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions", course / "solutions")
        empty = course / "solutions" / "00-empty" / "00-empty.ipynb"
        empty.parent.mkdir()
        nbformat.write(new_notebook(cells=[new_markdown_cell("Nothing to run.", id="only")],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), empty)
        assignments = sorted(p.name for p in (course / "solutions").iterdir() if p.is_dir())
        skeletons = {a: f"{a}-skeleton" for a in assignments if a != "00-empty"} if args.floor else {}
        for a, skeleton in skeletons.items():
            write_skeleton(course / "solutions" / a / f"{a}.ipynb", course / "solutions" / skeleton / f"{skeleton}.ipynb")
        nbgrader(course, "generate_assignment", "*", "--force")
        for a in [*assignments, *skeletons.values()]:
            for s in range(args.students):
                for who, folder in (("student", "solutions"), ("blank", "exercises")):
                    dest = course / ".grading" / "submitted" / f"{who}{s:02d}" / a
                    dest.mkdir(parents=True)
                    shutil.copy(course / folder / a / f"{a}.ipynb", dest)
        graded, blank, empty_next_to, floor = Rounds(), Rounds(), Rounds(), Rounds()
        nbgrader(course, "autograde", "00-empty", "--student", "student*", "--force")  # warms the disk cache; not counted
        for _ in range(args.repeat):
            for a in assignments:
                if a == "00-empty":
                    continue
                # the empty notebook right before each assignment: the base it is compared with (a
                # shared machine drifts by tens of percent over the minutes a run takes)
                empty_next_to.add(a, *nbgrader(course, "autograde", "00-empty", "--student", "student*", "--force"))
                if a in skeletons:
                    floor.add(a, *nbgrader(course, "autograde", skeletons[a], "--student", "student*", "--force"))
                graded.add(a, *nbgrader(course, "autograde", a, "--student", "student*", "--force"))
        for a in assignments:
            if a != "00-empty":
                blank.add(a, *nbgrader(course, "autograde", a, "--student", "blank*", "--force"))
        n = args.students
        load = os.getloadavg()[0]
        print(f"autograde, {n} submissions per assignment, median of {args.repeat} rounds; seconds per notebook (CLI "
              f"start amortised); load average {load:.1f} on {os.cpu_count()} CPUs")
        print(f"{'assignment':22} {'wall s':>7} {'x empty':>7} {'(range)':>11} {'cpu s':>7} {'x empty':>7} {'x blank':>7} "
              f"{'kernel s':>8} {'re-check s':>10}" + (f" {'skeleton x empty':>16}" if skeletons else ""))
        base = [x for a in empty_next_to.runs for x in empty_next_to.runs[a]]
        print(f"{'00-empty':22} {median(r.wall for r in base) / n:7.2f} {1:7.2f} {'':>11} {median(r.cpu for r in base) / n:7.2f} "
              f"{1:7.2f} {'':>7} {median(r.kernel for r in base):8.2f} {0:10.2f}")
        worst_wall = worst_cpu = 0.0
        for a in assignments:
            if a == "00-empty":
                continue
            walls, cpus = graded.ratios(a, empty_next_to, "wall"), graded.ratios(a, empty_next_to, "cpu")
            worst_wall, worst_cpu = max(worst_wall, median(walls)), max(worst_cpu, median(cpus))
            rc = recheck_seconds(course / "solutions" / a / f"{a}.ipynb")
            spread = f"{min(walls):.2f}-{max(walls):.2f}"
            print(f"{a:22} {graded.median(a, 'wall') / n:7.2f} {median(walls):7.2f} {spread:>11} {graded.median(a, 'cpu') / n:7.2f} "
                  f"{median(cpus):7.2f} {graded.median(a, 'cpu') / blank.median(a, 'cpu'):7.2f} {graded.median(a, 'kernel'):8.2f} {rc:10.2f}"
                  + (f" {median(floor.ratios(a, empty_next_to, 'wall')):16.2f}" if a in skeletons else ""))
        print(f"largest median ratio to the empty notebook: wall {worst_wall:.2f}, cpu {worst_cpu:.2f} (target: at most 1.30)")
        print("x empty: the assignment against the empty notebook graded right before it, median over the rounds "
              "(range: the lowest and highest round)")
        print("x blank: CPU of grading the correct answers / CPU of grading the untouched student version")
        print("kernel s: the sandboxed kernel per notebook, from its start to its kill (the rest is nbgrader's own work)")
        if skeletons:
            print("skeleton x empty: wall time of the same cells doing nothing (every code cell `pass`) against the same empty "
                  "notebook, median: what nbgrader and ipykernel cost for that many cells")


def write_skeleton(source: Path, dest: Path) -> None:
    """The notebook's cells with their nbgrader metadata, every code cell ``pass``."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "pass"
    dest.parent.mkdir(parents=True)
    nbformat.write(nb, dest)


if __name__ == "__main__":
    main()
