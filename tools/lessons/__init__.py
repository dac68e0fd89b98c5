"""The course's lessons as data: each ``lNN_*.py`` module defines ``LESSON``, a list of cells.

``tools/build_lessons.py`` turns them into ``course/NN-slug.ipynb`` (no outputs) and
``course/FACTS.md``. Edit the lessons here, never the notebooks: a test fails when the committed
notebooks differ from what this source generates.

Conventions every lesson follows (checked by ``tests/course/test_lessons_source.py``):
- the first cell is the title with "What you will learn" (learning objectives);
- one "On AKS" section that cites dated facts with ``grader.fact(id).cite()``;
- "Predict, then run" moments before the cells whose result is worth guessing;
- at least one picture (topology drawing, heatmap);
- a link to the graded exercise, ``../exercises/NN-topic/NN-topic.ipynb``;
- a setup cell that makes every later cell safe to re-run.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

PREDICT = "**Predict, then run.**"
"""The marker that opens every predict-then-run moment (tests count them)."""


MACHINE_STATE = "machine-state"
"""Tag of cells whose output reports the machine (versions, free memory): it may differ between runs."""


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    source: str
    tags: tuple[str, ...] = ()


def md(text: str) -> Cell:
    return Cell("markdown", textwrap.dedent(text).strip("\n"))


def code(text: str, *, tags: tuple[str, ...] = ()) -> Cell:
    return Cell("code", textwrap.dedent(text).strip("\n"), tags)


def predict(question: str) -> Cell:
    """A predict-then-run prompt: the learner writes a guess before running the next cell."""
    return md(f"{PREDICT} {textwrap.dedent(question).strip()}")


@dataclass(frozen=True)
class Lesson:
    number: int
    slug: str
    title: str
    exercise: str | None
    """``NN-topic`` of the graded exercise (``exercises/NN-topic/NN-topic.ipynb``)."""
    cells: list[Cell] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.number:02d}-{self.slug}"

    @property
    def exercise_link(self) -> str | None:
        return f"../exercises/{self.exercise}/{self.exercise}.ipynb" if self.exercise else None
