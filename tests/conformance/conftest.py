"""``make conformance``: the run's report, the order of the kind scenarios, and tearing clusters down.

* The kind scenarios run profile by profile; after a profile's last scenario its cluster is deleted
  (``netlab down``) unless ``NETLAB_CONFORMANCE_KEEP=1``, so at most one course cluster (3 nodes)
  runs at a time (review R11: five profiles kept alive are 15 node containers).
* With ``NETLAB_CONFORMANCE_REPORT=<path without suffix>`` (``make conformance`` sets it) the session
  writes ``<path>.md`` and ``<path>.json`` (tests/conformance/conformance_report.py).
* Every simulated-vs-kind disagreement is also printed in the terminal summary.
"""

from __future__ import annotations

import os
from pathlib import Path
import pytest

from conformance.conformance_report import REPORT, kind_order, kind_profile

_LAST_OF_PROFILE: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _LAST_OF_PROFILE.clear()
    _LAST_OF_PROFILE.update(kind_order(items))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    prof = kind_profile(item)
    if prof is None or _LAST_OF_PROFILE.get(prof) != item.nodeid:
        return
    if not item.module.forget_kind_lab(prof):  # type: ignore[attr-defined]
        return
    if os.environ.get("NETLAB_CONFORMANCE_KEEP", "") not in ("", "0"):
        REPORT.deleted(prof, False)
        return
    from grader.kind.cluster import KindCluster

    KindCluster(prof, progress=False).delete()
    REPORT.deleted(prof, True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    base = os.environ.get("NETLAB_CONFORMANCE_REPORT")
    if base and REPORT.profiles:
        REPORT.write(Path(base))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = [(p.profile, d) for p in REPORT.profiles.values() for d in p.disagreements]
    if found:
        terminalreporter.section("simulated vs kind disagreements")
        for profile, d in found:
            terminalreporter.write_line(f"[{profile}] {d.scenario}: {d.label}: simulated {d.simulated}, kind {d.kind}")
    base = os.environ.get("NETLAB_CONFORMANCE_REPORT")
    if base and REPORT.profiles:
        terminalreporter.write_line(f"conformance report: {base}.md, {base}.json")
