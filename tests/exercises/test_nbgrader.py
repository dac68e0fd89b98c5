"""The exercises through real nbgrader: generate_assignment, the Validator API, autograde with a
whole class of submissions (correct, blank, every wrong answer of the bank, tampering), feedback
and the grades CSV through the Makefile targets.

Each assignment gets a course of its own (a temporary folder with its own gradebook), graded once
for the whole run: one ``nbgrader autograde`` grades all its students (nbgrader grades one
notebook at a time; a kernel start per notebook dominates). pytest-xdist workers share the
courses and build them in parallel, each taking the next assignment nobody is building yet.
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

from support.kernels import KERNEL_STARTS, died_at_start
from support.nbcourse import BIN, Course, error_text, locked, nbgrader_env, try_locked
from support.nbtools import EXERCISES, flat, ROOT, SOLUTIONS, answers_of, nbg, points, read, grade_cells, with_answers
from support.tampers import ACCIDENTS, HOME_PLANTS, KERNEL_PATCH_TLS, LATE_MARKER, NOTEBOOK as TAMPER_NB
from support.tampers import PROBE_FILE, TAMPERS, UNSANDBOXED_CONTROL, VICTIM, base_submission
from support.wrong_answers import BANK
from support.wrong_answers_input import INPUT_BANK

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader")]

ASSIGNMENTS = sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir())
WARNINGS_CELL = ("import sys, warnings\n"
                 "if not sys.warnoptions:\n"
                 "    warnings.simplefilter('error')   # every later cell runs as under python -W error\n"
                 "print('warnoptions', sys.warnoptions, 'filter', warnings.filters[0][0])")
"""The first code cell of the correct submission: from there on any warning in the kernel is an
error, so a correct answer scores full only if the course raises none (nbgrader would score a
warning on stderr as a failure). The warnings test also grades one notebook with PYTHONWARNINGS=error."""


def _wrong_students() -> dict[str, dict[str, list[Any]]]:
    """Per notebook, students wrong-00, wrong-01, ...: student k gets the k-th wrong variant of every
    answer that has one (test cells grade one answer each, so variants do not interfere)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for a in ASSIGNMENTS:
        by_answer: dict[str, list[Any]] = {}
        for w in [*BANK, *INPUT_BANK]:
            if w.notebook == a:
                by_answer.setdefault(w.answer, []).append(w)
        depth = max((len(v) for v in by_answer.values()), default=0)
        out[a] = {f"wrong-{k:02d}": [v[k] for v in by_answer.values() if k < len(v)] for k in range(depth)}
    return out


WRONG = _wrong_students()


def _build_class(c: Course, a: str) -> None:
    """Submit the class of assignment ``a`` and autograde it.

    ``alice`` hands in the solutions (plus a cell that prints the kernel's warning options),
    ``blank`` the student version untouched, ``wrong-NN`` the bank's wrong answers, and for the
    tamper notebook ``tamper-*`` the cheating submissions, ``accident-*`` correct notebooks handled
    carelessly, and ``zz-victim`` (graded last) the solutions."""
    c.release()
    solution = read(SOLUTIONS / a / f"{a}.ipynb")
    exercise = nbformat.read(c.root / "exercises" / a / f"{a}.ipynb", as_version=4)
    alice = copy.deepcopy(solution)
    alice.cells.insert(1, nbformat.v4.new_code_cell(WARNINGS_CELL, id="warnings"))
    c.submit("alice", a, alice)
    c.submit("blank", a, exercise)
    answers = answers_of(solution)
    for student, variants in WRONG[a].items():
        c.submit(student, a, with_answers(exercise, {**answers, **{w.answer: w.yaml for w in variants}}))
    if a == TAMPER_NB:
        base = base_submission(exercise, answers)
        for t in TAMPERS:
            c.submit(f"tamper-{t.name}", a, t.build(base))
        correct = with_answers(exercise, answers)  # what a learner who got everything right hands in
        for accident in ACCIDENTS:
            c.submit(f"accident-{accident.name}", a, accident.build(correct))
        c.submit(VICTIM, a, solution)
    if a == KERNEL_PATCH_TLS.notebook:
        c.submit("tamper-kernel-tls", a, KERNEL_PATCH_TLS.build(exercise, answers))
    c.autograde(a)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """One folder for the whole run, even across pytest-xdist workers."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def _course_root(shared_dir: Path, a: str) -> Path:
    return shared_dir / f"nbgrader-class-{a}"


def _failure_file(shared_dir: Path, a: str) -> Path:
    return shared_dir / f"nbgrader-class-{a}.failed"


def _build_if_needed(shared_dir: Path, a: str) -> None:
    """Grade the class once; a class that fails to grade is recorded, not built again, and fails
    only the tests that read it (see ``GradedClasses``)."""
    root = _course_root(shared_dir, a)
    if (root / ".graded").exists() or _failure_file(shared_dir, a).exists():
        return
    shutil.rmtree(root, ignore_errors=True)
    try:
        _build_class(Course(root, assignments=[a]), a)
    except Exception as exc:  # noqa: BLE001 -- reported by every test that reads this class
        _failure_file(shared_dir, a).write_text(f"{type(exc).__name__}: {exc}")
        return
    (root / ".graded").touch()


class GradedClasses(dict):
    """Assignment -> its graded Course; reading a class that failed to grade fails that test with
    the reason (one broken class must not turn every test of the module into an error)."""

    def __init__(self, shared_dir: Path) -> None:
        super().__init__({a: Course(_course_root(shared_dir, a), create=False) for a in ASSIGNMENTS})
        self.failures = {a: _failure_file(shared_dir, a).read_text() for a in ASSIGNMENTS if _failure_file(shared_dir, a).exists()}

    def __getitem__(self, a: str) -> Course:
        if a in self.failures:
            pytest.fail(f"the class of {a} could not be graded:\n{self.failures[a]}", pytrace=False)
        return super().__getitem__(a)

    def items(self) -> Any:
        return [(a, self[a]) for a in self]


BUILD_ORDER = sorted(ASSIGNMENTS, key=lambda a: -(len(WRONG[a]) + (len(TAMPERS) + len(ACCIDENTS) if a == TAMPER_NB else 0)))
"""Biggest classes first, so the workers finish together."""


BUILDERS_PER_WORKER = 2
"""Classes a worker grades at once: nbgrader spends much of a notebook waiting on its kernel, so
two builds per CPU keep the machine busy."""


def _claim_and_build(shared_dir: Path) -> None:
    for a in BUILD_ORDER:
        with try_locked(shared_dir / f"nbgrader-class-{a}.lock") as mine:
            if mine:
                _build_if_needed(shared_dir, a)


@pytest.fixture(scope="session")
def courses(shared_dir: Path) -> GradedClasses:
    """Every assignment's graded class. A worker builds (two at a time) each class no other worker
    is building, then waits for the rest."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(BUILDERS_PER_WORKER) as pool:
        for done in [pool.submit(_claim_and_build, shared_dir) for _ in range(BUILDERS_PER_WORKER)]:
            done.result()
    for a in ASSIGNMENTS:
        with locked(shared_dir / f"nbgrader-class-{a}.lock"):
            _build_if_needed(shared_dir, a)  # waits for the worker building it; a no-op then
    return GradedClasses(shared_dir)


@pytest.fixture
def course_lock(shared_dir: Path) -> Any:
    """Held by tests that run nbgrader on a shared class again: ``course_lock(a)``."""
    return lambda a: locked(shared_dir / f"nbgrader-class-{a}.lock")


def test_generated_exercises_match_the_committed_ones(courses: dict[str, Course]) -> None:
    for a, course in courses.items():
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
                assert "apiVersion" not in cell.source and "10.244" not in cell.source and "priority" not in cell.source


def _validate(path: Path) -> dict[str, Any]:
    """nbgrader's Validator API, in a subprocess so that its kernel and config stay isolated."""
    code = (
        "import json, sys\n"
        "from traitlets.config import Config\n"
        "from nbgrader.validator import Validator\n"
        "print(json.dumps(Validator(config=Config()).validate(sys.argv[1])))\n"
    )
    for attempt in range(1, KERNEL_STARTS + 1):  # nbgrader's Validator does not start a dead kernel again
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600,
                              env=nbgrader_env(), cwd=path.parent, check=False)
        if proc.returncode == 0 or attempt == KERNEL_STARTS or not died_at_start(proc.stderr):
            break
    assert proc.returncode == 0, proc.stderr[-4000:]
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
def test_solutions_score_full_marks(courses: dict[str, Course], course_lock: Any, assignment: str) -> None:
    with course_lock(assignment):  # the warnings test grades alice again
        scores = courses[assignment].scores(assignment, "alice")
    expected = points(read(SOLUTIONS / assignment / f"{assignment}.ipynb"))
    assert scores == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_exercises_score_zero_without_crashing(courses: dict[str, Course], assignment: str) -> None:
    course = courses[assignment]
    scores = course.scores(assignment, "blank")
    assert scores and all(s == 0 for s in scores.values()), scores
    graded = course.graded(assignment, "blank")
    for gid, cell in grade_cells(graded).items():
        assert "is empty: write your YAML" in error_text(cell), gid


def _wrong_cases() -> list[Any]:
    return [pytest.param(a, student, id=f"{a}-{student}") for a in ASSIGNMENTS for student in WRONG[a]]


@pytest.mark.parametrize(("assignment", "student"), _wrong_cases())
def test_wrong_answers_lose_exactly_their_points_with_messages_naming_the_flow(courses: dict[str, Course], assignment: str, student: str) -> None:
    course = courses[assignment]
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
def test_tampering_earns_nothing(courses: dict[str, Course], tamper: Any) -> None:
    scores = courses[TAMPER_NB].scores(TAMPER_NB, f"tamper-{tamper.name}")
    full = points(read(SOLUTIONS / TAMPER_NB / f"{TAMPER_NB}.ipynb"))
    assert scores == {g: (full[g] if g in tamper.expect else 0.0) for g in full}


def test_the_classmate_graded_after_every_tamper_keeps_full_marks(courses: dict[str, Course]) -> None:
    scores = courses[TAMPER_NB].scores(TAMPER_NB, VICTIM)
    assert scores == points(read(SOLUTIONS / TAMPER_NB / f"{TAMPER_NB}.ipynb"))


def _printed(course: Course, student: str) -> str:
    """What the tamper's own cell (id ``tamper``) printed in the graded notebook."""
    cell = next(c for c in course.graded(TAMPER_NB, student).cells if c.get("id") == "tamper")
    return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)


def test_the_sandbox_hides_the_answer_key_and_the_other_submissions(courses: dict[str, Course]) -> None:
    course = courses[TAMPER_NB]
    assert "found 0" in _printed(course, "tamper-steal_answers")
    assert "rewrote" not in _printed(course, "tamper-rewrite_classmate")
    submitted = read(course.root / ".grading" / "submitted" / VICTIM / TAMPER_NB / f"{TAMPER_NB}.ipynb")
    assert answers_of(submitted) == answers_of(read(SOLUTIONS / TAMPER_NB / f"{TAMPER_NB}.ipynb"))


def test_the_grading_machinery_is_out_of_reach(courses: dict[str, Course]) -> None:
    """The gradebook does not exist inside the sandbox, the package and its bytecode are read-only,
    the home directory is a throw-away one, and a process left behind dies with the kernel."""
    import importlib.util
    import site
    import time

    from nbgrader.api import Gradebook

    import grader.checks.trusted as trusted

    course = courses[TAMPER_NB]
    late = course.root / ".grading" / "autograded" / "tamper-late_writer" / TAMPER_NB
    time.sleep(max(0.0, (late / f"{TAMPER_NB}.ipynb").stat().st_mtime + 6 - time.time()))  # the writer sleeps 4 s
    assert not (late / LATE_MARKER).exists()
    with Gradebook(f"sqlite:///{course.root / '.grading' / 'gradebook.db'}") as gb:
        for student in ("blank", "tamper-gradebook_write", "tamper-late_writer", VICTIM):
            assert all(g.manual_score is None for g in gb.find_submission_notebook(TAMPER_NB, TAMPER_NB, student).grades)
    assert not (Path(trusted.__file__).parent / PROBE_FILE).exists()
    printed = _printed(course, "tamper-forge_bytecode")
    assert "could not forge" in printed and "could not plant .pth" in printed and "forged" not in printed.replace("could not forge", "")
    assert not any((Path(d) / "zz_netlab_tamper.pth").exists() for d in site.getsitepackages())
    pyc = Path(importlib.util.cache_from_source(trusted.__file__))
    assert not pyc.exists() or "recheck(*a, **k)" not in pyc.read_bytes().decode("latin-1")
    assert "planted in /tmp/home" in _printed(course, "tamper-plant_home_config")
    assert not any((Path.home() / rel).exists() for rel in HOME_PLANTS)


@pytest.mark.parametrize("accident", ACCIDENTS, ids=lambda a: a.name)
def test_accidents_keep_every_point_they_did_not_lose(courses: dict[str, Course], accident: Any) -> None:
    course = courses[TAMPER_NB]
    student = f"accident-{accident.name}"
    full = points(read(SOLUTIONS / TAMPER_NB / f"{TAMPER_NB}.ipynb"))
    assert course.scores(TAMPER_NB, student) == {g: (0.0 if g in accident.lose else full[g]) for g in full}
    first = course.graded(TAMPER_NB, student).cells[0]
    if accident.note:
        assert first.cell_type == "markdown" and "Notes from grading" in first.source and accident.note in first.source
    else:
        assert "Notes from grading" not in first.source


def test_a_kernel_that_dies_part_way_says_so_in_the_cells_it_never_ran(courses: dict[str, Course]) -> None:
    graded = grade_cells(courses[TAMPER_NB].graded(TAMPER_NB, "accident-kernel_dies"))
    text = "".join(o.get("text", "") for o in graded["np_egress_inside"].outputs)
    assert "kernel stopped while running cell" in text and "still graded" in text


def test_without_the_sandbox_the_same_attacks_work(tmp_path: Path) -> None:
    """The control: graded with --VerifiedExecute.sandbox=none, the thief finds the answer key and
    scores full, and the classmate it rewrote loses points. So the sandbox is what stops them.
    A submission that is not a notebook at all still gets a feedback page saying why."""
    a = TAMPER_NB
    c = Course(tmp_path / "control", assignments=[a])
    c.release()
    exercise = nbformat.read(c.root / "exercises" / a / f"{a}.ipynb", as_version=4)
    solution = read(SOLUTIONS / a / f"{a}.ipynb")
    base = base_submission(exercise, answers_of(solution))
    for t in TAMPERS:
        if t.name in UNSANDBOXED_CONTROL:
            c.submit(f"tamper-{t.name}", a, t.build(base))
    c.submit(VICTIM, a, solution)
    broken = c.submit("broken-json", a, exercise)
    broken.write_text(broken.read_text()[:-200])
    unsandboxed = "--VerifiedExecute.sandbox=none"
    c.run("autograde", a, "--student", "tamper-steal_answers", unsandboxed)  # first, while the answer key is intact
    proc = c.run("autograde", a, unsandboxed, check=False)  # the rest; the rewriter blanks what it finds, answer key included
    assert proc.returncode != 0 and "broken-json" in proc.stdout + proc.stderr
    full = points(solution)
    assert c.scores(a, "tamper-steal_answers") == full
    assert sum(c.scores(a, VICTIM).values()) < sum(full.values())
    shutil.copy(ROOT / "Makefile", c.root / "Makefile")
    subprocess.run(["make", "-o", "install", f"VENV={BIN.parent}", "feedback"], cwd=c.root, env=nbgrader_env(),
                   capture_output=True, text=True, timeout=900, check=True)
    page = (c.root / ".grading" / "feedback" / "broken-json" / a / f"{a}.html").read_text()
    assert "could not be graded" in page and "not a readable notebook" in page


def test_patching_the_tls_check_in_the_kernel_earns_nothing(courses: dict[str, Course]) -> None:
    """The new kinds are computed outside the kernel too: a kernel that makes every certificate
    trusted and every HTTP expectation pass still loses the cells its wrong TLS answer loses."""
    a = KERNEL_PATCH_TLS.notebook
    scores = courses[a].scores(a, "tamper-kernel-tls")
    full = points(read(SOLUTIONS / a / f"{a}.ipynb"))
    assert scores == {g: (0.0 if g in KERNEL_PATCH_TLS.lose else full[g]) for g in full}


def test_failures_render_pictures_not_stderr(courses: dict[str, Course]) -> None:
    """A failing visible test shows its pictures and the message; a failing hidden test shows the
    wrong flows with their reasons but no picture of the hidden expectations."""
    graded = grade_cells(courses["07-network-policies"].graded("07-network-policies", "wrong-03"))
    cell = graded["np_default_deny_visible"]
    kinds = [o.get("output_type") for o in cell.outputs]
    assert "display_data" in kinds and kinds[-1] == "error"
    assert not any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.outputs)
    html = next(o["data"]["text/html"] for o in cell.outputs if o.get("output_type") == "display_data" and "✗" in o["data"].get("text/html", ""))
    assert "<table" in html and "untrusted/attacker" in html
    hidden = grade_cells(courses["07-network-policies"].graded("07-network-policies", "wrong-00"))["np_default_deny_all_in"]
    assert [o.get("output_type") for o in hidden.outputs] == ["error"]
    assert "expected BLOCKED, observed ALLOWED" in error_text(hidden)
    traceback = "\n".join(next(o for o in hidden.outputs if o["output_type"] == "error")["traceback"])
    assert "check.expect_matrix" not in traceback  # the hidden test source does not leak through the traceback
    requests = grade_cells(courses["03-ingress-gateway"].graded("03-ingress-gateway", "wrong-00"))["gw_visible"]
    table = "".join(o["data"].get("text/html", "") for o in requests.outputs if o.get("output_type") == "display_data")
    assert "Requests:" in table and "shop.example.com" in table and "✗" in table


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_answers_ran_with_warnings_as_errors(courses: dict[str, Course], course_lock: Any, assignment: str) -> None:
    """Alice's first cell turned every warning of the kernel into an error, and she still scored full
    (``test_solutions_score_full_marks``): nothing the course runs warns."""
    with course_lock(assignment):
        outputs = courses[assignment].graded(assignment, "alice").cells[1].outputs
    assert "filter error" in "".join(o.get("text", "") for o in outputs)


def test_a_correct_notebook_scores_full_with_pythonwarnings_error(courses: dict[str, Course], course_lock: Any) -> None:
    """The same with nbgrader and the kernel under PYTHONWARNINGS=error, on the notebook with the
    most libraries behind it (TLS, Ingress, Gateway). nbgrader itself trips over a SQLAlchemy warning
    when it *creates* a submission, so the class run created it; this run grades it again."""
    a = "03-ingress-gateway"
    course = courses[a]
    with course_lock(a):
        course.autograde(a, "--student", "alice", env={"PYTHONWARNINGS": "error"})
        assert course.scores(a, "alice") == points(read(SOLUTIONS / a / f"{a}.ipynb"))
        outputs = course.graded(a, "alice").cells[1].outputs
    assert "warnoptions ['error']" in "".join(o.get("text", "") for o in outputs)


def test_makefile_feedback_and_grades(courses: dict[str, Course], course_lock: Any) -> None:
    """`make feedback` and `make grades` on a graded course (the Makefile's own targets)."""
    course = courses[TAMPER_NB]
    with course_lock(TAMPER_NB):
        shutil.copy(ROOT / "Makefile", course.root / "Makefile")
        venv = str(BIN.parent)
        for target in ("feedback", "grades"):
            subprocess.run(["make", "-o", "install", f"VENV={venv}", target], cwd=course.root, env=nbgrader_env(),
                           capture_output=True, text=True, timeout=900, check=True)
    feedback = course.root / ".grading" / "feedback"
    graded = sorted(p.parent.name for p in (course.root / ".grading" / "autograded").glob(f"*/{TAMPER_NB}"))
    assert sorted(p.name for p in feedback.iterdir()) == graded  # every graded student has a page, accidents included
    page = (feedback / "wrong-00" / TAMPER_NB / f"{TAMPER_NB}.html").read_text()
    assert "expected BLOCKED, observed ALLOWED" in page
    assert "BEGIN HIDDEN TESTS" not in page and "check.expect_matrix" not in page
    with open(course.root / ".grading" / "grades.csv", newline="") as fh:
        rows = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(fh)}
    assert rows[(TAMPER_NB, "alice")] == sum(points(read(SOLUTIONS / TAMPER_NB / f"{TAMPER_NB}.ipynb")).values())
    assert rows[(TAMPER_NB, "blank")] == 0.0
    assert rows[(TAMPER_NB, "tamper-monkeypatch_verify")] == 3.0
    assert rows[(TAMPER_NB, VICTIM)] == rows[(TAMPER_NB, "alice")]


def test_grading_stops_loudly_without_a_sandbox_and_the_next_run_grades_it(tmp_path: Path) -> None:
    """No bubblewrap: nbgrader stops with exit 75 and says what to do, nothing of the submission is
    recorded, and a plain `nbgrader autograde` (no --force) once bwrap is back grades it."""
    a = TAMPER_NB
    c = Course(tmp_path / "nobwrap", assignments=[a])
    c.release()
    solution = read(SOLUTIONS / a / f"{a}.ipynb")
    c.submit("alice", a, solution)
    proc = c.run("autograde", a, env={"PATH": str(BIN)}, check=False)  # bwrap lives in /usr/bin
    assert proc.returncode == 75, proc.stderr[-2000:]
    assert "GRADING STOPPED" in proc.stderr and "apt-get install bubblewrap" in proc.stderr
    assert not (c.root / ".grading" / "autograded" / "alice" / a).exists()
    c.run("autograde", a)
    assert c.scores(a, "alice") == points(solution)
