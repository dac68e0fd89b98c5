"""A throw-away nbgrader course (config + solutions copied from the repo) driven through the real CLI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import nbformat

from support.nbtools import ROOT

BIN = Path(sys.executable).parent


def nbgrader_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs `alembic` from PATH
    env.pop("NETLAB_BACKEND", None)
    env.pop("NETLAB_LEDGER", None)
    env.update(extra or {})
    return env


@contextlib.contextmanager
def locked(path: Path, *, shared: bool = False) -> Iterator[None]:
    """A lock shared by pytest-xdist workers (a course built once, changed by one at a time);
    ``shared=True`` takes it in shared mode (many holders, none exclusive)."""
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def try_locked(path: Path) -> Iterator[bool]:
    """The exclusive lock if nobody holds it (yields True), else yields False at once."""
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Course:
    def __init__(self, root: Path, *, create: bool = True, assignments: list[str] | None = None) -> None:
        self.root = root
        if create:
            root.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
            if assignments is None:
                shutil.copytree(ROOT / "solutions", root / "solutions")
            else:
                for a in assignments:
                    shutil.copytree(ROOT / "solutions" / a, root / "solutions" / a)

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: int = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=self.root, env=nbgrader_env(env),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
        return proc

    def release(self) -> None:
        self.run("generate_assignment", "*", "--force")

    def submit(self, student: str, assignment: str, nb: Any) -> Path:
        path = self.root / ".grading" / "submitted" / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        return path

    def autograde(self, assignment: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("autograde", assignment, "--force", *extra, env=env)

    def scores(self, assignment: str, student: str) -> dict[str, float | None]:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / '.grading' / 'gradebook.db'}") as gb:
            sub = gb.find_submission_notebook(assignment, assignment, student)
            return {g.name: g.score for g in sub.grades}

    def graded(self, assignment: str, student: str) -> Any:
        return nbformat.read(self.root / ".grading" / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)


def error_text(cell: Any) -> str:
    """Every error output's text (the message a learner reads in the cell and in feedback)."""
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            parts.append(o.get("evalue", ""))
            parts.extend(o.get("traceback", []))
    return "\n".join(parts)
