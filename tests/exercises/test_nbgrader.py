"""The exercises through real nbgrader: generate_assignment, the Validator API, autograde with a
whole class of submissions (correct, blank, every wrong answer of the bank, tampering), feedback
and the grades CSV through the Makefile targets.

One autograde run per assignment grades every student at once (nbgrader grades sequentially; a
kernel start per notebook dominates). The course lives in a temporary folder.
"""

from __future__ import annotations

import copy
import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbcourse import BIN, Course, error_text, locked, nbgrader_env
from nbtools import EXERCISES, flat, ROOT, SOLUTIONS, answers_of, nbg, points, read, grade_cells, with_answers
from tampers import NOTEBOOK as TAMPER_NB
from tampers import PROBE_FILE, TAMPERS, base_submission
from wrong_answers import BANK

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader")]

ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir())


def _wrong_students() -> dict[str, dict[str, list[Any]]]:
    """Per notebook, students wrong-00, wrong-01, ...: student k gets the k-th wrong variant of every
    answer that has one (test cells grade one answer each, so variants do not interfere)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for a in ASSIGNMENTS:
        by_answer: dict[str, list[Any]] = {}
        for w in BANK:
            if w.notebook == a:
                by_answer.setdefault(w.answer, []).append(w)
        depth = max((len(v) for v in by_answer.values()), default=0)
        out[a] = {f"wrong-{k:02d}": [v[k] for v in by_answer.values() if k < len(v)] for k in range(depth)}
    return out


WRONG = _wrong_students()


def _build_class(c: Course) -> None:
    c.release()
    for a in ASSIGNMENTS:
        solution = read(SOLUTIONS / a / f"{a}.ipynb")
        exercise = nbformat.read(c.root / "exercises" / a / f"{a}.ipynb", as_version=4)
        c.submit("alice", a, solution)
        c.submit("blank", a, exercise)
        strict = copy.deepcopy(solution)
        strict.cells.insert(1, nbformat.v4.new_code_cell("import sys\nprint('warnoptions', sys.warnoptions)", id="warnings"))
        c.submit("strict", a, strict)
        answers = answers_of(solution)
        for student, variants in WRONG[a].items():
            c.submit(student, a, with_answers(exercise, {**answers, **{w.answer: w.yaml for w in variants}}))
        if a == TAMPER_NB:
            base = base_submission(exercise, answers)
            for t in TAMPERS:
                c.submit(f"tamper-{t.name}", a, t.build(base))
    probe = Path(__import__("grader").__file__).parent / "checks" / PROBE_FILE
    try:
        for a in ASSIGNMENTS:
            c.autograde(a)
    finally:
        probe.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One graded class for the whole run, even across pytest-xdist workers (built by the first)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def course(shared_dir: Path) -> Course:
    root = shared_dir / "nbgrader-class"
    with locked(shared_dir / "nbgrader-class.lock"):
        if not (root / ".graded").exists():
            shutil.rmtree(root, ignore_errors=True)
            _build_class(Course(root))
            (root / ".graded").touch()
    return Course(root, create=False)


@pytest.fixture
def course_lock(shared_dir: Path) -> Any:
    """Held by tests that run nbgrader on the shared class again."""
    with locked(shared_dir / "nbgrader-class.lock"):
        yield


def test_generated_exercises_match_the_committed_ones(course: Course) -> None:
    for a in ASSIGNMENTS:
        generated = (course.root / "exercises" / a / f"{a}.ipynb").read_bytes()
        committed = (EXERCISES / a / f"{a}.ipynb").read_bytes()
        assert generated == committed, f"exercises/{a} is out of date: run `make release` and commit it"


def test_student_versions_carry_no_solutions_or_hidden_tests() -> None:
    for a in ASSIGNMENTS:
        text = (EXERCISES / a / f"{a}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        nb = read(EXERCISES / a / f"{a}.ipynb")
        for cell in nb.cells:
            if nbg(cell).get("solution"):
                assert "# YOUR ANSWER HERE (YAML)" in cell.source
                assert "apiVersion" not in cell.source and "10.244" not in cell.source


def _validate(path: Path) -> dict[str, Any]:
    """nbgrader's Validator API, in a subprocess so that its kernel and config stay isolated."""
    code = (
        "import json, sys\n"
        "from traitlets.config import Config\n"
        "from nbgrader.validator import Validator\n"
        "print(json.dumps(Validator(config=Config()).validate(sys.argv[1])))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600,
                          env=nbgrader_env(), cwd=path.parent, check=True)
    import json

    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_pass_every_test_in_the_validator(assignment: str) -> None:
    assert _validate(SOLUTIONS / assignment / f"{assignment}.ipynb") == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_exercises_fail_every_test_in_the_validator(assignment: str, tmp_path: Path) -> None:
    nb = read(EXERCISES / assignment / f"{assignment}.ipynb")
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    result = _validate(path)
    assert "changed" not in result
    failed = {re.search(r'Check\("([^"]+)"', c["source"]).group(1) for c in result["failed"]}  # type: ignore[union-attr]
    assert failed == set(grade_cells(nb))
    assert all("CheckFailed" in c["raw_error"] for c in result["failed"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_score_full_marks(course: Course, assignment: str) -> None:
    scores = course.scores(assignment, "alice")
    expected = points(read(SOLUTIONS / assignment / f"{assignment}.ipynb"))
    assert scores == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_exercises_score_zero_without_crashing(course: Course, assignment: str) -> None:
    scores = course.scores(assignment, "blank")
    assert scores and all(s == 0 for s in scores.values()), scores
    graded = course.graded(assignment, "blank")
    for gid, cell in grade_cells(graded).items():
        assert "is empty: write your YAML" in error_text(cell), gid


def _wrong_cases() -> list[Any]:
    return [pytest.param(a, student, id=f"{a}-{student}") for a in ASSIGNMENTS for student in WRONG[a]]


@pytest.mark.parametrize(("assignment", "student"), _wrong_cases())
def test_wrong_answers_lose_exactly_their_points_with_messages_naming_the_flow(course: Course, assignment: str, student: str) -> None:
    variants = WRONG[assignment][student]
    lose = set().union(*(w.lose for w in variants))
    scores = course.scores(assignment, student)
    full = points(read(SOLUTIONS / assignment / f"{assignment}.ipynb"))
    assert {g for g, s in scores.items() if s == 0} == lose
    assert all(scores[g] == full[g] for g in full if g not in lose)
    graded = grade_cells(course.graded(assignment, student))
    for w in variants:
        text = flat("\n".join(error_text(graded[g]) for g in w.lose))
        for fragment in w.mention:
            assert flat(fragment) in text, f"{w.label}: {fragment!r} not in the messages:\n{text[:3000]}"


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.name)
def test_tampering_earns_nothing(course: Course, tamper: Any) -> None:
    scores = course.scores(TAMPER_NB, f"tamper-{tamper.name}")
    full = points(read(SOLUTIONS / TAMPER_NB / f"{TAMPER_NB}.ipynb"))
    assert scores == {g: (full[g] if g in tamper.expect else 0.0) for g in full}


def test_tampering_with_the_grading_machinery_is_reported_and_undone(course: Course) -> None:
    from nbgrader.api import Gradebook

    graded = course.graded(TAMPER_NB, "tamper-gradebook_write")
    assert all("gradebook database was modified" in error_text(c) for c in grade_cells(graded).values())
    with Gradebook(f"sqlite:///{course.root / '.grading' / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(TAMPER_NB, TAMPER_NB, "alice")
        assert all(g.manual_score is None for g in sub.grades)  # the forged manual scores were rolled back
    graded = course.graded(TAMPER_NB, "tamper-grader_write")
    assert all("grader package or nbgrader_config.py changed" in error_text(c) for c in grade_cells(graded).values())


def test_kernel_side_forgery_is_caught_by_the_recheck(course: Course) -> None:
    graded = grade_cells(course.graded(TAMPER_NB, "tamper-forged_outcome"))
    text = error_text(graded["np_api_visible"])
    assert "Checked again outside the notebook's kernel" in text and "`api_from_frontend` is empty" in text


def test_failures_render_pictures_not_stderr(course: Course) -> None:
    graded = grade_cells(course.graded("07-network-policies", "wrong-00"))
    cell = graded["np_default_deny_all_in"]
    kinds = [o.get("output_type") for o in cell.outputs]
    assert "display_data" in kinds and "error" in kinds
    assert not any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.outputs)
    html = next(o["data"]["text/html"] for o in cell.outputs if o.get("output_type") == "display_data" and "✗" in o["data"].get("text/html", ""))
    assert "<table" in html and "untrusted/attacker" in html
    assert any("image/png" in o.get("data", {}) for o in cell.outputs)
    traceback = "\n".join(next(o for o in cell.outputs if o["output_type"] == "error")["traceback"])
    assert "check.expect_matrix" not in traceback  # the hidden test source does not leak through the traceback


def test_correct_answers_score_full_with_warnings_as_errors(course: Course, course_lock: None) -> None:
    """Student "strict" submitted the solutions plus a cell showing the kernel's warning options.
    nbgrader itself trips over a SQLAlchemy warning when it *creates* a submission, so the class
    run created it; this second run (nbgrader and the kernel under -W error) re-grades it."""
    for a in ASSIGNMENTS:
        course.autograde(a, "--student", "strict", env={"PYTHONWARNINGS": "error"})
        assert course.scores(a, "strict") == points(read(SOLUTIONS / a / f"{a}.ipynb"))
        outputs = course.graded(a, "strict").cells[1].outputs
        assert "warnoptions ['error']" in "".join(o.get("text", "") for o in outputs)


def test_makefile_feedback_and_grades(course: Course, course_lock: None) -> None:
    """`make feedback` and `make grades` on the graded course (the Makefile's own targets)."""
    shutil.copy(ROOT / "Makefile", course.root / "Makefile")
    venv = str(BIN.parent)
    for target in ("feedback", "grades"):
        subprocess.run(["make", "-o", "install", f"VENV={venv}", target], cwd=course.root, env=nbgrader_env(),
                       capture_output=True, text=True, timeout=900, check=True)
    page = (course.root / ".grading" / "feedback" / "wrong-00" / "07-network-policies" / "07-network-policies.html").read_text()
    assert "expected BLOCKED, observed ALLOWED" in page
    assert "BEGIN HIDDEN TESTS" not in page and "check.expect_matrix" not in page
    with open(course.root / ".grading" / "grades.csv", newline="") as fh:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(fh)}
    for a in ASSIGNMENTS:
        assert rows[(a, "alice")] == sum(points(read(SOLUTIONS / a / f"{a}.ipynb")).values())
        assert rows[(a, "blank")] == 0.0
    assert rows[(TAMPER_NB, "tamper-monkeypatch_verify")] == 3.0
