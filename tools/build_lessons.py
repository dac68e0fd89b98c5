#!/usr/bin/env python3
"""Generate the course's lesson notebooks and its dated-facts page from reviewable source.

    python tools/build_lessons.py           # write course/NN-slug.ipynb, course/FACTS.md, course/README.md
    python tools/build_lessons.py --check   # exit 1 (listing the files) when they are out of date

Lessons live in ``tools/lessons/lNN_*.py`` as lists of cells, so a change to a lesson is a
readable diff there. Notebooks are written without outputs, with deterministic cell ids (a hash of
each cell's text) and fixed metadata, so regenerating them changes only what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COURSE = ROOT / "course"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import nbformat  # noqa: E402
import yaml  # noqa: E402
from lessons import Cell, Lesson, md  # noqa: E402
from lessons import l00_setup, l01_basics, l02_services, l03_ingress, l04_network_models, l05_egress, l06_nsg, l07_policies, l08_capstone  # noqa: E402

LESSONS: list[Lesson] = [l00_setup.LESSON, l01_basics.LESSON, l02_services.LESSON, l03_ingress.LESSON, l04_network_models.LESSON, l05_egress.LESSON, l06_nsg.LESSON, l07_policies.LESSON, l08_capstone.LESSON]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
CITE = re.compile(r"\bcite\(([^)]*)\)")
FACT_CALL = re.compile(r"""\bfact\(\s*["']([a-z0-9][a-z0-9-]*)["']\s*\)""")
FACT_ID = re.compile(r"""["']([a-z0-9][a-z0-9-]*)["']""")


def lesson_by_number(number: int) -> Lesson | None:
    return next((lesson for lesson in LESSONS if lesson.number == number), None)


def footer(lesson: Lesson) -> Cell:
    lines = ["## Where next"]
    if lesson.exercise_link:
        what = "your first graded exercise" if lesson.number == 0 else "the graded exercise for this lesson"
        lines.append(f"- Practise: [{lesson.exercise}]({lesson.exercise_link}), {what}. Its checks send real probes "
                     "and tell you which flow is wrong and why.")
    following = sorted((x for x in LESSONS if x.number > lesson.number), key=lambda x: x.number)
    if following:
        nxt = following[0]
        lines.append(f"- Next lesson: [{nxt.number}. {nxt.title}]({nxt.name}.ipynb).")
    lines.append("- Every dated fact this course cites, with its source: [FACTS.md](FACTS.md).")
    return md("\n".join(lines))


def cell_id(lesson: Lesson, cell: Cell, seen: set[str]) -> str:
    digest = hashlib.sha1(f"{lesson.name}\0{cell.kind}\0{cell.source}".encode()).hexdigest()
    base = f"{cell.kind[:2]}-{digest[:10]}"
    ident, n = base, 1
    while ident in seen:
        n += 1
        ident = f"{base}-{n}"
    seen.add(ident)
    return ident


def notebook(lesson: Lesson) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = nbformat.from_dict({
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "netlab": {"lesson": lesson.number, "generated_by": "tools/build_lessons.py"},
    })
    seen: set[str] = set()
    for cell in [*lesson.cells, footer(lesson)]:
        ident = cell_id(lesson, cell, seen)
        if cell.kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.source, id=ident))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell.source, id=ident, metadata={"tags": list(cell.tags)} if cell.tags else {}))
    nbformat.validate(nb)
    return nb


def render_notebook(lesson: Lesson) -> str:
    return nbformat.writes(notebook(lesson)) + "\n"


def cited_facts(lesson: Lesson) -> list[str]:
    """Fact ids a lesson's code cells use, through ``cite("id", ...)`` or ``fact("id")``, in order."""
    found: list[str] = []
    for cell in lesson.cells:
        if cell.kind != "code":
            continue
        hits = [
            (call.start(1) + fid.start(1), fid.group(1))
            for call in CITE.finditer(cell.source) for fid in FACT_ID.finditer(call.group(1))
        ]
        hits += [(m.start(1), m.group(1)) for m in FACT_CALL.finditer(cell.source)]
        for _, f in sorted(hits):
            if f not in found:
                found.append(f)
    return found


def _value(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def facts_markdown() -> str:
    raw = yaml.safe_load((ROOT / "grader" / "data" / "facts.yaml").read_text("utf-8"))
    users: dict[str, list[Lesson]] = {}
    for lesson in LESSONS:
        for fid in cited_facts(lesson):
            users.setdefault(fid, []).append(lesson)
    lines = [
        "# Dated facts",
        "",
        "Versions, dates and defaults age. This course keeps every one of them in a single file,",
        "`grader/data/facts.yaml`, each with the date its source said it and the source itself; lessons",
        "cite them by id (`cite(\"kube-proxy-nftables-ga\")` in a lesson prints the line with its date).",
        "",
        f"Facts last reviewed: **{raw['reviewed']}**. This page is generated by `tools/build_lessons.py`",
        "from that file: edit the YAML, then run `python tools/build_lessons.py`.",
        "",
        "| id | fact | value | as of | sources | cited in |",
        "|---|---|---|---|---|---|",
    ]
    for fid, body in sorted(raw["facts"].items()):
        sources = "<br>".join(f"<{s}>" for s in body["sources"])
        cited = ", ".join(f"[{x.number}]({x.name}.ipynb)" for x in users.get(fid, [])) or "—"
        lines.append(
            f"| `{fid}` | {_cell(body['text'])} | {_cell(_value(body['value']))} | {body['as_of']} | {sources} | {cited} |"
        )
    return "\n".join(lines) + "\n"


def objectives(lesson: Lesson) -> list[str]:
    """The learning objectives of a lesson (the bullets after "What you will learn")."""
    text = lesson.cells[0].source.split("**What you will learn**", 1)[-1]
    items: list[str] = []
    for line in text.splitlines():
        if line.startswith("- "):
            items.append(line[2:].strip())
        elif line.startswith("  ") and items:
            items[-1] += " " + line.strip()
    return items


def index_markdown() -> str:
    lines = [
        "# The course",
        "",
        "Open the lessons in order; each one runs top to bottom on the simulated cluster in seconds, or",
        "on a real kind cluster when Docker is available (lesson 0 explains how to choose).",
        "",
    ]
    for lesson in sorted(LESSONS, key=lambda x: x.number):
        lines.append(f"## [{lesson.number}. {lesson.title}]({lesson.name}.ipynb)")
        lines.append("")
        lines += [f"- {item}" for item in objectives(lesson)]
        if lesson.exercise_link and lesson.number > 0:
            lines += ["", f"Graded exercise: [{lesson.exercise}]({lesson.exercise_link})"]
        lines.append("")
    lines += ["Dated facts (versions, retirements, defaults) with their sources: [FACTS.md](FACTS.md).", ""]
    lines.append("This page is generated by `tools/build_lessons.py`; edit `tools/lessons/`, not the notebooks.")
    return "\n".join(lines) + "\n"


def outputs() -> dict[Path, str]:
    files = {COURSE / f"{lesson.name}.ipynb": render_notebook(lesson) for lesson in LESSONS}
    files[COURSE / "FACTS.md"] = facts_markdown()
    files[COURSE / "README.md"] = index_markdown()
    return files


def stale() -> list[Path]:
    return [path for path, text in outputs().items() if not path.is_file() or path.read_text("utf-8") != text]


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when generated files are out of date")
    args = parser.parse_args(argv)
    if args.check:
        out = stale()
        for path in out:
            print(f"out of date: {_show(path)} (run: python tools/build_lessons.py)")
        return 1 if out else 0
    COURSE.mkdir(exist_ok=True)
    for path, text in outputs().items():
        if not path.is_file() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
            print(f"wrote {_show(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
