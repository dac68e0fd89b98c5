"""The sandbox grading runs a submission's kernel in (grader/checks/sandbox.py), with real bubblewrap.

These run a real sandboxed Python and check what it can and cannot reach; the nbgrader tests
(test_nbgrader.py) run whole classes of submissions through it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.checks import sandbox
from grader.checks.sandbox import Sandbox, SandboxUnavailable

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed: apt-get install bubblewrap")


def _run(box: Sandbox, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(box.argv([sys.executable, "-c", code]), capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    work, private = tmp_path / "course" / "autograded" / "alice" / "a1", tmp_path / "private"
    work.mkdir(parents=True)
    private.mkdir()
    (tmp_path / "course" / "solutions").mkdir()
    (tmp_path / "course" / "solutions" / "answers.txt").write_text("the answer key")
    (tmp_path / "course" / "autograded" / "bob").mkdir()
    return Sandbox.for_submission(work, private, {"NETLAB_LEDGER": str(private / "ledger.jsonl")})


@pytest.mark.slow  # starts a sandboxed Python
@needs_bwrap
def test_the_kernel_sees_only_its_folder_the_environment_and_the_package(box: Sandbox, tmp_path: Path) -> None:
    code = (
        "import os, json, sys, grader\n"
        "open('mine.txt', 'w').write('ok')\n"
        "open(os.environ['NETLAB_LEDGER'], 'w').write('{}')\n"
        "def can_write(p):\n"
        "    try:\n"
        "        open(p, 'w').write('x'); return True\n"
        "    except OSError:\n"
        "        return False\n"
        "print(json.dumps({'cwd': os.getcwd(), 'up': sorted(os.listdir('..')), 'course': sorted(os.listdir('../../..')),\n"
        "  'uid': os.getuid(), 'home': sorted(os.listdir(os.path.expanduser('~'))), 'env': sorted(os.environ),\n"
        "  'grader': grader.__file__, 'write_pkg': can_write(os.path.join(os.path.dirname(grader.__file__), 'x.py')),\n"
        "  'write_env': can_write(os.path.join(sys.prefix, 'x.pth'))}))\n"
    )
    proc = _run(box, code)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["cwd"] == str(box.workdir) and (box.workdir / "mine.txt").read_text() == "ok"
    assert seen["up"] == ["a1"] and seen["course"] == ["autograded"]  # no solutions/, no bob
    assert seen["uid"] == sandbox.SANDBOX_UID and seen["home"] == []
    assert (box.private / "ledger.jsonl").read_text() == "{}"
    assert not seen["write_pkg"] and not seen["write_env"]
    assert "KUBECONFIG" not in seen["env"] and "PYTHONSTARTUP" not in seen["env"] and "NETLAB_LEDGER" in seen["env"]


@pytest.mark.slow  # starts a sandboxed Python
@needs_bwrap
def test_no_network_inside(box: Sandbox) -> None:
    """A server on this machine's loopback is not reachable from the sandbox (a new network namespace)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[object] = []
    server.settimeout(10)
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\n"
            "except OSError as exc:\n    print('refused', exc)\n")
    try:
        proc = _run(box, code)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("refused")
        # the control: the same code outside the sandbox connects
        outside = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
        assert outside.stdout.startswith("connected")
    finally:
        server.close()


@pytest.mark.slow  # starts a sandboxed Python
@needs_bwrap
def test_processes_left_behind_die_with_the_sandbox(box: Sandbox) -> None:
    code = (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(2); open(\"late.txt\", \"w\").write(\"alive\")'],\n"
        "                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print('started')\n"
    )
    proc = _run(box, code)
    assert proc.stdout.strip() == "started"
    time.sleep(3)
    assert not (box.workdir / "late.txt").exists()


def test_a_missing_bwrap_is_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.probe.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        with pytest.raises(SandboxUnavailable, match=r"apt-get install bubblewrap.*--VerifiedExecute.sandbox=none"):
            sandbox.probe()
    finally:
        sandbox.probe.cache_clear()


def test_the_command_line_binds_read_only_what_it_must_and_clears_the_environment(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Grading on kind (NETLAB_BACKEND=kind) still gives the kernel the simulated cluster: only the
    re-check outside talks to the cluster. Secrets of the grader's environment do not get in."""
    monkeypatch.setenv("NETLAB_BACKEND", "kind")
    monkeypatch.setenv("KUBECONFIG", "/root/.kube/config")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    argv = box.argv(["python", "-c", "pass"])
    joined = " ".join(argv)
    assert argv[0] == "bwrap" and argv[-3:] == ["python", "-c", "pass"]
    assert "--unshare-all" in argv and "--die-with-parent" in argv and "--clearenv" in argv
    assert f"--bind {box.workdir} {box.workdir}" in joined and f"--bind {box.private} {box.private}" in joined
    assert f"--ro-bind {sandbox.grader_package_dir()} " in joined or any(
        f"--ro-bind {p} " in joined for p in map(str, sandbox.grader_package_dir().parents))
    assert "--setenv NETLAB_BACKEND sim" in joined and "--setenv HOME /tmp/home" in joined
    assert "KUBECONFIG" not in joined and "--setenv PYTHONWARNINGS error" in joined
    assert str(box.workdir.parent.parent.parent / "solutions") not in joined


@pytest.mark.slow  # starts a sandboxed kernel
@needs_bwrap
def test_a_sandboxed_kernel_is_killed_at_shutdown_with_everything_it_started(box: Sandbox) -> None:
    """Shutdown kills the sandbox at once: the notebook's atexit hooks never run, a process it left
    behind dies with it, and what it wrote before (the ledger) stays."""
    import asyncio

    from grader.checks.sandbox import SandboxedKernelManager

    code = (
        "import atexit, subprocess, sys, os\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1.5); open(\"late.txt\", \"w\").write(\"alive\")'],\n"
        "                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "atexit.register(lambda: open('atexit.txt', 'w').write('ran'))\n"
        "open(os.environ['NETLAB_LEDGER'], 'a').write('{}\\n')\n"
    )

    async def run() -> float:
        km = SandboxedKernelManager(sandbox=box, kernel_name="python3")
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
        start = time.perf_counter()
        await km.shutdown_kernel()
        elapsed = time.perf_counter() - start
        assert not await km.is_alive()
        return elapsed

    elapsed = asyncio.run(run())
    time.sleep(2.5)
    assert not (box.workdir / "late.txt").exists()
    assert not (box.workdir / "atexit.txt").exists()
    assert (box.private / "ledger.jsonl").read_text() == "{}\n"
    assert elapsed < 5  # a graceful shutdown would wait for the kernel; a kill does not (generous bound for a loaded machine)


@pytest.mark.slow  # starts a sandboxed kernel
@needs_bwrap
def test_a_sandboxed_kernel_imports_grader_while_it_would_sit_idle_and_leaves_no_trace(box: Sandbox) -> None:
    """The grading kernel imports ``grader`` in a background thread as it starts (every exercise
    imports it; the kernel idles 0.2 s while jupyter_client drains its IOPub channel): the first cell
    finds it imported without asking for it, the notebook's namespace holds no name of the preload
    and its startup file's folder is not left on ``sys.path``, and nothing is printed."""
    import asyncio

    from grader.checks.sandbox import PRELOAD, SandboxedKernelManager

    probe = (
        "import sys, threading, time\n"
        "deadline = time.monotonic() + 30\n"
        "while any(t.name == 'netlab-preload' for t in threading.enumerate()) and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
        "print(sorted(k for k in sys.modules if k == 'grader' or k.startswith('grader.lab')))\n"
        "print(sorted(k for k in globals() if 'netlab' in k or k == '__file__'))\n"
        f"print({str(PRELOAD.parent)!r} in sys.path, time.monotonic() < deadline)\n"
    )

    async def run() -> list[dict]:
        km = SandboxedKernelManager(sandbox=box, kernel_name="python3")
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        outputs: list[dict] = []
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(probe, timeout=60, output_hook=lambda m: outputs.append(m))
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            await km.shutdown_kernel()
        return outputs

    streams = [m["content"] for m in asyncio.run(run()) if m["msg_type"] == "stream"]
    assert all(s["name"] == "stdout" for s in streams), streams
    lines = "".join(s["text"] for s in streams).splitlines()
    assert "'grader'" in lines[0] and "'grader.lab.sim'" in lines[0], lines
    assert lines[1:] == ["[]", "False True"], lines  # the preload thread ended (well before 30 s)
