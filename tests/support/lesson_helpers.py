"""Helpers shared by the course tests (a module with a unique name: several test folders have a conftest)."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"


def load_build():
    """``tools/build_lessons.py`` as a module (it imports ``tools/lessons``)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    return importlib.import_module("build_lessons")


def lesson_names() -> list[str]:
    return [lesson.name for lesson in load_build().LESSONS]


KERNEL_STARTS = 3


@contextlib.contextmanager
def running_kernel(client: Any) -> Iterator[Any]:
    """``client.setup_kernel()`` for an nbclient ``NotebookClient``, starting the kernel again if it
    dies before it answers. With TCP, jupyter_client picks a free port and the kernel binds it a
    moment later; another process of the run (xdist workers, nbgrader's kernels) can take it in
    between (jupyter/jupyter_client#487). The course's nbgrader side retries the same way
    (``VerifiedExecute.kernel_start_retries``)."""
    with contextlib.ExitStack() as stack:
        for attempt in range(1, KERNEL_STARTS + 1):
            try:
                stack.enter_context(client.setup_kernel())
                break
            except RuntimeError as exc:
                if attempt == KERNEL_STARTS or "Kernel died before replying to kernel_info" not in str(exc):
                    raise
                client.km = None
        yield client


def run_all(client: Any) -> None:
    """Every cell of ``client.nb`` in one kernel, top to bottom (Run All)."""
    with running_kernel(client):
        for i, cell in enumerate(client.nb.cells):
            client.execute_cell(cell, i)
