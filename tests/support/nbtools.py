"""Helpers shared by the exercise tests: read notebooks, swap answers, run checks in-process."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
STUB = "# YOUR ANSWER HERE (YAML)"


def notebooks(folder: Path = SOLUTIONS) -> list[Path]:
    return sorted(folder.glob("*/*.ipynb"))


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def nbg(cell: Any) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def answer_cells(nb: Any) -> dict[str, Any]:
    return {nbg(c)["grade_id"]: c for c in nb.cells if nbg(c).get("solution") and c.cell_type == "code"}


def grade_cells(nb: Any) -> dict[str, Any]:
    return {nbg(c)["grade_id"]: c for c in nb.cells if nbg(c).get("grade") and not nbg(c).get("solution")}


def answers_of(nb: Any) -> dict[str, str]:
    """Execute only the answer cells (they just assign YAML text) and collect the answers."""
    out: dict[str, str] = {}
    for name, cell in answer_cells(nb).items():
        scope: dict[str, Any] = {}
        exec(cell.source, scope)  # noqa: S102 - our own notebooks
        out[name] = "\n".join(line for line in scope[name].splitlines() if "SOLUTION" not in line) + "\n"
    return out


def answer_source(name: str, yaml_text: str) -> str:
    return f'{name} = """\n{yaml_text.strip(chr(10))}\n"""'


def as_cell_text(yaml_text: str) -> str:
    """The string an answer cell holding ``yaml_text`` assigns (a newline first: YAML line N is cell line N)."""
    return "\n" + yaml_text.strip("\n") + "\n"


def with_answers(nb: Any, replacements: dict[str, str]) -> Any:
    """A copy of ``nb`` whose answer cells hold the given YAML texts."""
    nb = copy.deepcopy(nb)
    cells = answer_cells(nb)
    for name, text in replacements.items():
        cells[name].source = answer_source(name, text)
    return nb


def points(nb: Any) -> dict[str, float]:
    return {gid: float(nbg(c)["points"]) for gid, c in grade_cells(nb).items()}


def answers_used(cell_source: str) -> list[str]:
    m = re.search(r"answers?=\"(\w+)\"", cell_source)
    return [m.group(1)] if m else []


def run_checks(nb: Any, answers: dict[str, str], only: str | None = None) -> dict[str, dict[str, Any]]:
    """Run every test cell (with hidden tests), or those grading answer ``only``, in trusted mode in this process."""
    from grader.checks.trusted import recheck

    cells = [{"grade_id": gid, "source": c.source} for gid, c in grade_cells(nb).items()
             if only is None or answers_used(c.source) == [only]]
    ledger = {c["grade_id"]: dict(answers) for c in cells}
    return recheck(cells, ledger)


def flat(text: str) -> str:
    """Whitespace collapsed: messages wrap long explanations over several lines."""
    return " ".join(text.split())


def assert_loses_exactly(nb: Any, wrong: Any) -> None:
    """A bank entry (tests/support/wrong_answers*.py) in place of its answer, the solution's other
    answers: exactly ``wrong.lose`` of the test cells grading that answer fail, naming ``wrong.mention``."""
    answers = answers_of(nb)
    assert wrong.answer in answers
    answers[wrong.answer] = as_cell_text(wrong.yaml)
    results = run_checks(nb, answers, only=wrong.answer)  # each test cell grades one answer (test_exercises checks it)
    lost = {g for g, r in results.items() if not r["passed"]}
    assert lost == wrong.lose
    text = flat("\n".join(results[g]["message"] for g in lost))
    for fragment in wrong.mention:
        assert flat(fragment) in text
