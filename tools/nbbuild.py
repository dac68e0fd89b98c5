"""Small helpers to write nbgrader source notebooks with nbformat (no UI, deterministic output).

Used by ``tools/build_exercises.py``. Cells get fixed ids and fixed metadata so rebuilding gives
byte-identical files, which the sync test relies on.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_ID = re.compile(r"^[A-Za-z0-9_\-]+$")


def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False, points: float | None = None) -> dict:
    if not _ID.match(grade_id):
        raise ValueError(f"grade_id {grade_id!r} must match {_ID.pattern}")
    md: dict = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if grade:
        md["points"] = points
    return {"nbgrader": md}


def dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


@dataclass
class Notebook:
    slug: str
    cells: list = field(default_factory=list)
    grade_ids: set = field(default_factory=set)
    points: float = 0.0
    answers: list = field(default_factory=list)

    def _id(self, kind: str) -> str:
        return f"{kind}-{len(self.cells):02d}"

    def md(self, text: str) -> None:
        self.cells.append(new_markdown_cell(dedent(text), id=self._id("md")))

    def code(self, text: str) -> None:
        self.cells.append(new_code_cell(dedent(text), id=self._id("code")))

    def answer(self, name: str, solution: str, *, intro: str = "") -> None:
        """``name = \"\"\"<YAML>\"\"\"`` with the YAML between solution markers."""
        if name in self.grade_ids:
            raise ValueError(f"duplicate answer {name}")
        self.grade_ids.add(name)
        self.answers.append(name)
        body = dedent(solution)
        lines = [intro] if intro else []
        lines += [f'{name} = """', "### BEGIN SOLUTION", body, "### END SOLUTION", '"""']
        self.cells.append(new_code_cell("\n".join(lines), id=name, metadata=_nbgrader(name, solution=True)))

    def test(self, grade_id: str, points: float, title: str, ctor: str, *, visible: str = "", hidden: str = "") -> None:
        """A locked, graded test cell: builds a Check, adds (visible then hidden) expectations, verifies."""
        if grade_id in self.grade_ids:
            raise ValueError(f"duplicate grade_id {grade_id}")
        self.grade_ids.add(grade_id)
        self.points += points
        kind = "Hidden test" if hidden else "Visible test"
        plural = "s" if points != 1 else ""
        imports = "Check, lab_value" if "lab_value(" in visible + hidden else "Check"
        lines = [
            f"# {kind} — {points:g} point{plural}: {title}",
            f"from grader.checks import {imports}",
            f"check = Check({json.dumps(grade_id)}, {dedent(ctor)})",
        ]
        if visible:
            lines.append(dedent(visible))
        if hidden:
            lines += ["### BEGIN HIDDEN TESTS", dedent(hidden), "### END HIDDEN TESTS"]
        lines.append("check.verify()")
        self.cells.append(new_code_cell("\n".join(lines), id=grade_id,
                                        metadata=_nbgrader(grade_id, grade=True, locked=True, points=points)))

    def write(self, root: Path) -> Path:
        nb = new_notebook(cells=self.cells, metadata={
            "kernelspec": KERNELSPEC,
            "language_info": {"name": "python"},
        })
        nbformat.validate(nb)
        path = root / self.slug / f"{self.slug}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        return path
