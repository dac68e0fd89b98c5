"""A kernel that dies before it answers (jupyter_client's port race, jupyter/jupyter_client#487,
seen in CI when four ``nbgrader autograde`` ran at once) must not drop a submission: VerifiedExecute
starts it again, and gives up with nbgrader's own per-submission error when it keeps dying.

The kernel here is real: a ``python3`` kernelspec on ``JUPYTER_PATH`` whose launcher exits at once
for its first N starts (counted in a file), then becomes ipykernel. The launcher and its count file
live outside any submission, where the sandbox cannot see them, so these runs grade without it
(``--VerifiedExecute.sandbox=none``): the retry is the same code either way. (Sandboxed kernels talk
over Unix sockets and do not meet the port race; the retry is for any other death at start.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support.nbcourse import Course
from support.nbtools import SOLUTIONS, points, read

pytestmark = pytest.mark.slow

A = "01-basics"
SOLUTION = SOLUTIONS / A / f"{A}.ipynb"
UNSANDBOXED = "--VerifiedExecute.sandbox=none"

LAUNCHER = """\
import os, sys
count_file = {count_file!r}
died = int(open(count_file).read()) if os.path.exists(count_file) else 0
if died < {deaths}:
    open(count_file, "w").write(str(died + 1))
    sys.exit(1)  # dies before binding its sockets, as a kernel whose port was taken does
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
"""


def _flaky_kernel(tmp_path: Path, deaths: int) -> tuple[dict[str, str], Path]:
    """A JUPYTER_PATH whose python3 kernel dies ``deaths`` times, and the file counting the deaths."""
    count_file = tmp_path / "deaths"
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER.format(count_file=str(count_file), deaths=deaths))
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(launcher), "-f", "{connection_file}"],
        "display_name": "Python 3 (dies at first)", "language": "python",
    }))
    return {"JUPYTER_PATH": str(tmp_path / "jupyter")}, count_file


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """One released assignment; each test submits the solutions as a student of its own."""
    course = Course(tmp_path_factory.mktemp("retry") / "course", assignments=[A])
    course.release()
    return course


def _submit_solutions(course: Course, student: str) -> None:
    course.submit(student, A, read(SOLUTION))


def test_a_kernel_that_dies_before_answering_is_started_again(course: Course, tmp_path: Path) -> None:
    env, deaths = _flaky_kernel(tmp_path, deaths=2)
    _submit_solutions(course, "alice")
    proc = course.autograde(A, "--student", "alice", UNSANDBOXED, env=env)
    assert deaths.read_text() == "2", "the kernelspec on JUPYTER_PATH was not the one nbgrader started"
    assert "did not start" in proc.stderr and "starting it again (2 of 2)" in proc.stderr
    assert course.scores(A, "alice") == points(read(SOLUTION))


def test_a_kernel_that_keeps_dying_fails_that_submission_with_nbgrader_s_error(course: Course, tmp_path: Path) -> None:
    env, deaths = _flaky_kernel(tmp_path, deaths=99)
    _submit_solutions(course, "bob")
    with pytest.raises(AssertionError) as failed:
        course.autograde(A, "--student", "bob", UNSANDBOXED, env=env)
    assert deaths.read_text() == "3"  # the first start and two more
    message = str(failed.value)
    assert "Kernel died before replying to kernel_info" in message
    assert "There was an error processing assignment '01-basics' for student 'bob'" in message
    assert not (course.root / ".grading" / "autograded" / "bob" / A).exists()
    course.run("autograde", A, "--student", "bob")  # no --force: the failed submission is still new
    assert course.scores(A, "bob") == points(read(SOLUTION))

