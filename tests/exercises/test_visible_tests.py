"""The student versions' visible tests teach: a typical mistake fails one of them before grading.

``exercises/`` holds what learners run: test cells with the hidden part cut out by nbgrader. Each
entry of the wrong-answer bank flagged ``visible`` is a typical mistake (the OR peer instead of
AND, a default deny that blocks both directions, a numeric targetPort, a load balancer that hides
the client address, DNS forgotten or open to all of kube-system...). Here those cells run, as
the trusted re-check runs them (``grader.checks.trusted.recheck``), with the mistake in place of the
solution: at least one visible cell must fail, naming a flow, and only cells the mistake also loses
when graded. Fast: no kernel, no nbgrader.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from support.nbtools import EXERCISES, SOLUTIONS, answer_cells, answers_of, as_cell_text, grade_cells, notebooks, read, run_checks
from support.wrong_answers import BANK

STUDENT = {p.parent.name: read(p) for p in notebooks(EXERCISES)}
SOLUTION_ANSWERS = {p.parent.name: answers_of(read(p)) for p in notebooks(SOLUTIONS)}
TYPICAL = [w for w in BANK if w.visible]


def _format(nb: Any, answer: str) -> str:
    cells = [c.source for c in grade_cells(nb).values() if f'answer="{answer}"' in c.source]
    m = re.search(r'format="(\w+)"', cells[0]) if cells else None
    return m.group(1) if m else "manifests"


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_solutions_pass_the_student_versions_visible_tests(name: str) -> None:
    results = run_checks(STUDENT[name], SOLUTION_ANSWERS[name])
    assert set(results) == set(grade_cells(STUDENT[name]))
    assert {g: r["message"] for g, r in results.items() if not r["passed"]} == {}


@pytest.mark.parametrize("wrong", TYPICAL, ids=lambda w: f"{w.notebook}/{w.answer}: {w.label}")
def test_a_typical_mistake_fails_a_visible_test(wrong) -> None:  # type: ignore[no-untyped-def]
    nb = STUDENT[wrong.notebook]
    assert "BEGIN HIDDEN TESTS" not in "".join(c.source for c in grade_cells(nb).values())
    answers = {**SOLUTION_ANSWERS[wrong.notebook], wrong.answer: as_cell_text(wrong.yaml)}
    results = run_checks(nb, answers, only=wrong.answer)
    failed = {g for g, r in results.items() if not r["passed"]}
    assert failed, f"every visible test of `{wrong.answer}` passes with this mistake: Validate would say Success!"
    assert failed <= wrong.lose, f"visible tests fail that grading does not take points for: {failed - wrong.lose}"
    assert any("→" in results[g]["message"] for g in failed), "the visible failure names no flow"


def test_every_answer_graded_by_traffic_has_a_typical_mistake_the_visible_tests_catch() -> None:
    """Answers graded by flows (manifests, NSG rules); ``values`` answers (addresses, numbers) cannot
    show a wrong value without giving the right one away."""
    missing = [f"{name}/{answer}" for name, nb in STUDENT.items() for answer in answer_cells(nb)
               if _format(nb, answer) != "values" and not any(w.notebook == name and w.answer == answer for w in TYPICAL)]
    assert missing == []


def test_the_prompts_say_to_work_task_by_task() -> None:
    """Run All stops at the first failing test cell: the shared prompt text and every task say so."""
    for name, nb in STUDENT.items():
        markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
        assert any("Work task by task" in m and "Run All" in m for m in markdown), name
        tasks = [m for m in markdown if m.startswith("## Task ")]
        assert tasks and all("Run All stops at the first failing test" in m.splitlines()[-1] for m in tasks), name
