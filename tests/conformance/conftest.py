"""Print every simulated-vs-kind disagreement at the end of a conformance run."""

from __future__ import annotations

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    import importlib

    try:
        module = importlib.import_module("test_conformance")
    except ImportError:
        return
    found = getattr(module, "DISAGREEMENTS", [])
    if found:
        terminalreporter.section("simulated vs kind disagreements")
        for line in found:
            terminalreporter.write_line(line)
