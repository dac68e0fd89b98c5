"""Feedback for the submissions nbgrader could not grade at all.

``nbgrader generate_feedback`` writes a page only for notebooks that autograde finished; a file
that is not a notebook (broken JSON, a truncated upload) or that made nbgrader fail leaves its
author with nothing. ``python -m grader.checks.feedback_gaps [COURSE_DIR]`` (run by ``make
feedback`` after nbgrader) writes each such submission a feedback page that says it scored 0 and
why, so nobody is left without an answer.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat


@dataclass(frozen=True)
class Gap:
    student: str
    assignment: str
    notebook: str
    submitted: Path
    reason: str
    graded: bool


def why_ungradable(path: Path) -> str:
    """What is wrong with a submitted file, in words its author can act on."""
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return f"the file is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]}); it may have been cut off while uploading"
    try:
        nbformat.validate(nbformat.reads(json.dumps(raw), as_version=4))
    except Exception as exc:  # noqa: BLE001 - any reason nbformat refuses it
        return f"the file is not a valid Jupyter notebook ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    return "grading failed for a reason that is not in the notebook's content; your instructor has the details in the grading log"


def course_directory(course_dir: Path) -> Any:
    """nbgrader's CourseDirectory as the course's ``nbgrader_config.py`` sets it up."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config_file = course_dir / "nbgrader_config.py"
    if not config_file.is_file():
        return CourseDirectory(root=str(course_dir))
    return CourseDirectory(config=PyFileConfigLoader(config_file.name, path=str(course_dir)).load_config())


NO_PAGE = ("your notebook was graded, but its feedback page could not be made (your score stands; "
           "ask your instructor for it)")


def gaps(course_dir: Path) -> list[Gap]:
    """Submitted notebooks with no feedback page: not graded at all (why: :func:`why_ungradable`),
    or graded but nbgrader's feedback failed on them (nbgrader's default folder layout, as configured)."""
    cd = course_directory(course_dir)
    out = []
    for path in sorted(Path(cd.format_path(cd.submitted_directory, "*", "*")).parent.parent.glob("*/*/*.ipynb")):
        student, assignment = path.parent.parent.name, path.parent.name
        graded = Path(cd.format_path(cd.autograded_directory, student, assignment)) / path.name
        page = Path(cd.format_path(cd.feedback_directory, student, assignment)) / f"{path.stem}.html"
        if not graded.exists():
            out.append(Gap(student, assignment, path.stem, path, why_ungradable(path), graded=False))
        elif not page.exists():
            out.append(Gap(student, assignment, path.stem, path, NO_PAGE, graded=True))
    return out


def page(gap: Gap) -> str:
    e = html.escape
    if gap.graded:
        return (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{e(gap.assignment)} / {e(gap.notebook)}: no feedback page</title></head>\n"
            "<body style='font-family: sans-serif; max-width: 50em; margin: 2em auto'>\n"
            f"<h1>{e(gap.notebook)}</h1>\n<p>{e(gap.reason[0].upper() + gap.reason[1:])}.</p>\n</body></html>\n")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{e(gap.assignment)} / {e(gap.notebook)}: could not be graded</title></head>\n"
        "<body style='font-family: sans-serif; max-width: 50em; margin: 2em auto'>\n"
        f"<h1>{e(gap.notebook)}: could not be graded</h1>\n"
        f"<p>Your submission of <b>{e(gap.assignment)}</b> scored <b>0</b> because {e(gap.reason)}.</p>\n"
        "<p>Open the notebook in JupyterLab, check that it opens and runs, and hand it in again; "
        "or ask your instructor, who can grade it once it is fixed.</p>\n</body></html>\n"
    )


def write_pages(course_dir: Path) -> list[Path]:
    cd = course_directory(course_dir)
    written = []
    for gap in gaps(course_dir):
        dest = Path(cd.format_path(cd.feedback_directory, gap.student, gap.assignment)) / f"{gap.notebook}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(page(gap), encoding="utf-8")
        written.append(dest)
    return written


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    course_dir = Path(args[0] if args else ".").resolve()
    for path in write_pages(course_dir):
        print(f"feedback page for a submission nbgrader could not grade or make a page for: {path.relative_to(course_dir)}")


if __name__ == "__main__":
    main()
