"""grader.session: a notice once per JupyterLab session (the Jupyter server's lifetime), across
kernel restarts; every time outside Jupyter. Kernels are real child processes of this test
process, which plays the Jupyter server (as jupyter_client does, they get JPY_PARENT_PID)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONNECT = "import grader; grader.connect('kindnet')"


def kernel(code: str, runtime: Path, *, parent: int | None = None, wrap: bool = False) -> str:
    """Run ``code`` in a child process with a kernel's environment; ``wrap`` starts it from an
    intermediate process instead (a kernel of another server)."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "JUPYTER_RUNTIME_DIR": str(runtime),
           "JPY_PARENT_PID": str(parent or os.getpid())}
    argv = [sys.executable, "-c", code]
    if wrap:  # a different parent: a shell that waits for its child (a second server)
        argv = ["/bin/sh", "-c", '"$0" "$@"; exit $?', *argv]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True, timeout=120)
    assert done.stderr == ""
    return done.stdout


def test_first_time_once_per_server_across_kernel_restarts(tmp_path: Path) -> None:
    code = "from grader.session import first_time; print(first_time('a'), first_time('a'), first_time('b'))"
    assert kernel(code, tmp_path).split() == ["True", "False", "True"]
    assert kernel(code, tmp_path).split() == ["False", "False", "False"]  # a restarted kernel, same server
    assert len(list(tmp_path.glob("netlab-server-*.seen"))) == 2


def test_another_server_is_another_session(tmp_path: Path) -> None:
    code = "from grader.session import first_time, session_id; print(first_time('a'), session_id())"
    mine, theirs = kernel(code, tmp_path).split(), kernel(code, tmp_path, wrap=True).split()
    assert mine[0] == theirs[0] == "True" and mine[1] != theirs[1]


def test_markers_of_ended_servers_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "netlab-server-999999999-12345-0123456789abcdef.seen"  # no such process
    stale.write_text("")
    kernel("from grader.session import first_time; first_time('a')", tmp_path)
    assert not stale.exists()


def test_outside_jupyter_every_notice_is_shown(monkeypatch) -> None:
    from grader.session import first_time, session_id

    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    assert session_id() is None
    assert first_time("a") and first_time("a")


def test_connect_says_why_not_kind_once_per_session(tmp_path: Path) -> None:
    """Without Docker, the first lesson says why the simulated cluster is used; the next ones (and
    a restarted kernel) only say which cluster. A kind lab found by detection needs no notice."""
    env_path = tmp_path / "bin"
    env_path.mkdir()  # no docker on PATH here: detection says "Docker is not installed"
    code = f"import os; os.environ['PATH'] = {str(env_path)!r}; os.environ.pop('NETLAB_BACKEND', None); {CONNECT}; {CONNECT}"
    first = kernel(code, tmp_path).splitlines()
    assert first == ["netlab: profile kindnet on the simulated cluster (Docker is not installed; kind is not installed; kubectl is not "
                     "installed (cluster set-up runs kubectl); `netlab doctor` shows how to fix it, then `netlab up --profile kindnet` "
                     "for a real kind cluster)",
                     "netlab: profile kindnet on the simulated cluster"]
    assert kernel(code, tmp_path).splitlines() == ["netlab: profile kindnet on the simulated cluster"] * 2
    asked = kernel("import grader; grader.connect('kindnet', backend='sim')", tmp_path)
    assert asked.strip() == "netlab: profile kindnet on the simulated cluster (requested)"
