"""Starting Jupyter kernels in tests, with a second try when one dies before it answers.

With TCP, jupyter_client picks a free port and the kernel binds it a moment later; another process
of the run (xdist workers, nbgrader's kernels) can take it in between (jupyter/jupyter_client#487),
and the kernel dies before replying to kernel_info. The course's nbgrader side starts such a kernel
again itself (``VerifiedExecute.kernel_start_retries``); these helpers do the same for the kernels
tests start directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

KERNEL_STARTS = 3
"""Starts tried before a kernel that dies at start is a failure."""


def died_at_start(error_text: str) -> bool:
    """Whether an error (an exception's text, a process's stderr) is a kernel dying before it answered."""
    return "Kernel died before replying to kernel_info" in error_text


@contextlib.contextmanager
def running_kernel(client: Any) -> Iterator[Any]:
    """``client.setup_kernel()`` for an nbclient ``NotebookClient``, starting the kernel again if it
    dies before it answers."""
    with contextlib.ExitStack() as stack:
        for attempt in range(1, KERNEL_STARTS + 1):
            try:
                stack.enter_context(client.setup_kernel())
                break
            except RuntimeError as exc:
                if attempt == KERNEL_STARTS or not died_at_start(str(exc)):
                    raise
                client.km = None
        yield client


def execute_cells(client: Any) -> None:
    """Every cell of ``client.nb``, top to bottom, in the client's running kernel."""
    for i, cell in enumerate(client.nb.cells):
        client.execute_cell(cell, i)


def run_all(client: Any) -> None:
    """Run All: every cell of ``client.nb`` in a kernel of its own."""
    with running_kernel(client):
        execute_cells(client)
