"""Helpers shared by the course tests (a module with a unique name: several test folders have a conftest)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"


def load_build():
    """``tools/build_lessons.py`` as a module (it imports ``tools/lessons``)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    return importlib.import_module("build_lessons")


def lesson_names() -> list[str]:
    return [lesson.name for lesson in load_build().LESSONS]
