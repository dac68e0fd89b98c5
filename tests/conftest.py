"""Repository-wide test hooks. Keep small.

``live`` tests need a Docker engine and kind; where those are missing every such test is skipped
with the one-line reason ``grader.kind.environment.usable()`` gives.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = [item for item in items if item.get_closest_marker("live")]
    if not live:
        return
    from grader.kind.environment import usable

    ok, why = usable()
    if ok:
        return
    skip = pytest.mark.skip(reason=why.splitlines()[0])
    for item in live:
        item.add_marker(skip)
