"""Fixtures for the kind backend's tests: fake tools on PATH, a private state directory."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FAKE = Path(__file__).with_name("fake_tools.py")
TOOLS = ("kind", "docker", "kubectl", "helm", "cilium")

CLIENT = r"""#!/bin/sh
# Fake $0 for netlab's tests: hands argv, stdin and KUBECONFIG to the fake tools running in the
# test process (tests/kind/fake_tools.py, through the FIFO $FAKE_SERVER) and replays the answer.
PATH=/usr/bin:/bin:$PATH
d=$(mktemp -d "$FAKE_DIR/call.XXXXXX") || exit 99
if [ "$#" -gt 0 ]; then printf '%s\000' "$@" > "$d/argv"; else : > "$d/argv"; fi
if [ -t 0 ]; then : > "$d/stdin"; else cat > "$d/stdin"; fi
if [ -n "${KUBECONFIG+set}" ]; then printf '%s' "$KUBECONFIG" > "$d/kubeconfig"; fi
mkfifo "$d/done"
printf '%s %s\n' "${0##*/}" "$d" > "$FAKE_SERVER"
read -r code < "$d/done"
cat "$d/out"
cat "$d/err" >&2
rm -rf "$d"
exit "$code"
"""
"""One POSIX sh process (plus mktemp/mkfifo/cat) per call instead of a Python interpreter per call."""


def _load_fakes() -> Any:
    spec = importlib.util.spec_from_file_location("netlab_fake_tools", FAKE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeServer:
    """Answers the clients' calls one at a time with ``fake_tools.run`` (read from the FIFO)."""

    def __init__(self, fifo: Path, env: dict[str, str]) -> None:
        self.fifo, self.env = fifo, env
        self.fakes = _load_fakes()
        os.mkfifo(fifo)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        fd = os.open(self.fifo, os.O_RDWR)  # read-write: no EOF between clients
        with os.fdopen(fd, "r", encoding="utf-8") as requests:
            for line in requests:
                if line.strip() == "STOP":
                    return
                tool, _, call = line.rstrip("\n").partition(" ")
                self._answer(tool, Path(call))

    def _answer(self, tool: str, call: Path) -> None:
        try:
            args = [a.decode() for a in (call / "argv").read_bytes().split(b"\0")[:-1]]
            stdin = (call / "stdin").read_text("utf-8")
            env = dict(self.env)
            if (call / "kubeconfig").exists():
                env["KUBECONFIG"] = (call / "kubeconfig").read_text("utf-8")
            code, out, err = self.fakes.run(tool, args, stdin or None, env)
        except Exception:  # noqa: BLE001 - a bug in a fake must show in the test, not hang the client
            code, out, err = 70, "", traceback.format_exc()
        try:
            (call / "out").write_text(out, "utf-8")
            (call / "err").write_text(err, "utf-8")
        except OSError:
            return
        # A client killed while waiting (a timeout in _run, as with a hanging `kind create`) never
        # opens its FIFO, and opening it for writing blocks until a reader comes: answer from a
        # daemon thread so such a client cannot hold up the next calls.
        threading.Thread(target=self._finish, args=(call / "done", code), daemon=True).start()

    @staticmethod
    def _finish(done: Path, code: int) -> None:
        with open(done, "w", encoding="utf-8") as fh:
            fh.write(f"{code}\n")

    def stop(self) -> None:
        with open(self.fifo, "w", encoding="utf-8") as fh:
            fh.write("STOP\n")
        self.thread.join(timeout=5)


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
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fakes]:
    """kind, docker, kubectl, helm and cilium on an otherwise empty PATH, plus NETLAB_STATE_DIR.

    Each is an executable the code under test runs through ``_run`` like the real tool (argv,
    stdin, environment, exit code, stdout/stderr); the behaviour lives in fake_tools.py."""
    f = Fakes(tmp_path)
    f.bin.mkdir()
    calls = tmp_path / "fake-calls"
    calls.mkdir()
    server = FakeServer(tmp_path / "fake-server", {"FAKE_STATE": str(f.state_file), "FAKE_LOG": str(f.log)})
    for tool in TOOLS:
        path = f.bin / tool
        path.write_text(CLIENT)
        path.chmod(0o755)
    monkeypatch.setenv("PATH", str(f.bin))
    monkeypatch.setenv("FAKE_STATE", str(f.state_file))
    monkeypatch.setenv("FAKE_LOG", str(f.log))
    monkeypatch.setenv("FAKE_DIR", str(calls))
    monkeypatch.setenv("FAKE_SERVER", str(server.fifo))
    monkeypatch.setenv("NETLAB_STATE_DIR", str(tmp_path / "netlab-state"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    yield f
    server.stop()


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    import grader.kind.installers as installers

    monkeypatch.setattr(installers.time, "sleep", lambda s: None)
    return lambda s: None
