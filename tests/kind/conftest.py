"""Fixtures for the kind backend's tests: fake tools on PATH, a private state directory."""

from __future__ import annotations

import json
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FAKE = Path(__file__).with_name("fake_tools.py")
TOOLS = ("kind", "docker", "kubectl", "helm", "cilium")


class Fakes:
    """The fake tools' world: ``state`` (read/write) and ``calls`` (what ran, in order)."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.state_file = root / "fake-state.json"
        self.log = root / "fake-log.jsonl"

    @property
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else {}

    def set(self, **changes: Any) -> None:
        state = self.state
        state.update(changes)
        self.state_file.write_text(json.dumps(state))

    def calls(self, tool: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        rows = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [[r["tool"], *r["argv"]] for r in rows if tool is None or r["tool"] == tool]

    def records(self, tool: str | None = None) -> list[dict[str, Any]]:
        rows = [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []
        return [r for r in rows if tool is None or r["tool"] == tool]

    def clear_log(self) -> None:
        self.log.unlink(missing_ok=True)

    def remove(self, *tools: str) -> None:
        for tool in tools:
            (self.bin / tool).unlink(missing_ok=True)


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    """kind, docker, kubectl, helm and cilium on an otherwise empty PATH, plus NETLAB_STATE_DIR."""
    f = Fakes(tmp_path)
    f.bin.mkdir()
    # -S skips site (and the editable-install hooks): a third faster per call; PyYAML comes from
    # this interpreter's site-packages, added explicitly.
    source = f"import sys\nsys.path.append({sysconfig.get_paths()['purelib']!r})\n" + FAKE.read_text()
    for tool in TOOLS:
        path = f.bin / tool
        path.write_text(f"#!{sys.executable} -S\n{source}")
        path.chmod(0o755)
    monkeypatch.setenv("PATH", str(f.bin))
    monkeypatch.setenv("FAKE_STATE", str(f.state_file))
    monkeypatch.setenv("FAKE_LOG", str(f.log))
    monkeypatch.setenv("NETLAB_STATE_DIR", str(tmp_path / "netlab-state"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return f


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    import grader.kind.installers as installers

    monkeypatch.setattr(installers.time, "sleep", lambda s: None)
    return lambda s: None
