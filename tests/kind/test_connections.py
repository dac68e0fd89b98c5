"""Long-lived connections (grader.kind.connections): the shell scripts the lab execs in a pod, run
here for real with /bin/sh, setsid and tail against a local keep-alive HTTP server. Only ``nc``
is a stand-in (this machine has none): a small relay that behaves like OpenBSD nc for these uses
(connect, copy stdin to the socket and the socket to stdout, ``nc: connect to ... failed: <why>``).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.fake_apiserver import FAKE_NC

from grader.kind import connections as conn
from grader.model import Protocol
from grader.reachability import Verdict

pytestmark = [
    pytest.mark.slow,  # real scripts with timeouts: in make test, not in make test-fast
    pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid (util-linux or busybox) to run the scripts for real"),
]



class Toggle(http.server.BaseHTTPRequestHandler):
    """netexec-like: keep-alive HTTP/1.1, /hostname answers "web"; while ``answering`` is clear
    requests get no answer (as if packets on the connection were dropped)."""

    protocol_version = "HTTP/1.1"
    answering = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.answering.wait(5):
            return
        body = b"web"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[int]:
    Toggle.answering.set()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Toggle)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield srv.server_address[1]
    Toggle.answering.set()
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nc = bin_dir / "nc"
    nc.write_text(FAKE_NC.format(python=sys.executable))
    nc.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def run(cmd: list[str], env: dict[str, str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30, check=True).stdout


def test_a_connection_keeps_one_socket_until_closed(tmp_path: Path, env: dict[str, str], server: int) -> None:
    prefix = str(tmp_path / "netlab-conn-1")
    pgid = int(run(conn.start_command(prefix, "127.0.0.1", server, Protocol.TCP), env).strip())
    first = conn.parse_send(run(conn.send_command(prefix, "127.0.0.1", Protocol.TCP, timeout=2, first=True), env), Protocol.TCP, first=True)
    assert first.verdict is Verdict.ALLOWED and first.hostname == "web"
    again = conn.parse_send(run(conn.send_command(prefix, "127.0.0.1", Protocol.TCP, timeout=2), env), Protocol.TCP, first=False)
    assert again.verdict is Verdict.ALLOWED and "established connection still carries traffic" in again.reason
    Toggle.answering.clear()  # packets on the connection are now "dropped"
    silent = conn.parse_send(run(conn.send_command(prefix, "127.0.0.1", Protocol.TCP, timeout=1), env), Protocol.TCP, first=False)
    assert silent.verdict is Verdict.BLOCKED and "no answer on the established connection" in silent.reason
    Toggle.answering.set()
    os.killpg(pgid, 0)  # the client process group is alive
    run(conn.close_command(prefix), env)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("close_connection left the client process running")
    assert not list(tmp_path.glob("netlab-conn-1.*"))


def test_refused_and_reset_connections(tmp_path: Path, env: dict[str, str]) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    prefix = str(tmp_path / "netlab-conn-2")
    run(conn.start_command(prefix, "127.0.0.1", port, Protocol.TCP), env)
    time.sleep(0.5)  # nc has failed and said so before the first request
    refused = conn.parse_send(run(conn.send_command(prefix, "127.0.0.1", Protocol.TCP, timeout=1, first=True), env), Protocol.TCP, first=True)
    assert refused.verdict is Verdict.REFUSED and "Connection refused" in refused.reason
    run(conn.close_command(prefix), env)


def test_parse_send_outcomes() -> None:
    dns = "nc: getaddrinfo for host \"nope\" port 80: Name does not resolve\n@@netlab-closed 1\n@@netlab-state gone"
    assert conn.parse_send(dns, Protocol.TCP, first=True).verdict is Verdict.DNS_FAILED
    closed = "\n@@netlab-closed 0\n@@netlab-state gone"
    assert conn.parse_send(closed, Protocol.TCP, first=False).verdict is Verdict.REFUSED
    udp = "web-7d9f\n@@netlab-state alive"
    got = conn.parse_send(udp, Protocol.UDP, first=True)
    assert got.verdict is Verdict.ALLOWED and got.hostname == "web-7d9f"
    assert conn.parse_send("\n@@netlab-state alive", Protocol.TCP, first=True).verdict is Verdict.BLOCKED


def test_a_container_without_nc_is_probe_failed(tmp_path: Path, server: int) -> None:
    """L3: in a pod whose image has no `nc`, the shell prints `nc: not found` and exits 127; that used
    to read ALLOWED ("connected; the server answered")."""
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    assert shutil.which("nc", path=env["PATH"]) is None
    prefix = str(tmp_path / "netlab-conn-3")
    run(conn.start_command(prefix, "127.0.0.1", server, Protocol.TCP), env)
    time.sleep(0.3)
    out = run(conn.send_command(prefix, "127.0.0.1", Protocol.TCP, timeout=1, first=True), env)
    got = conn.parse_send(out, Protocol.TCP, first=True)
    assert got.verdict is Verdict.PROBE_FAILED and "open_connection needs `nc`" in got.reason, out
    run(conn.close_command(prefix), env)


def test_a_usage_error_or_a_non_http_answer_is_probe_failed() -> None:
    """L3: nc's usage error used to read BLOCKED; bytes that are no HTTP answer used to read ALLOWED."""
    usage = "nc: invalid option -- 'z'\nusage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval]\n@@netlab-closed 1\n@@netlab-state gone"
    assert conn.parse_send(usage, Protocol.TCP, first=True).verdict is Verdict.PROBE_FAILED
    other = "SSH-2.0-OpenSSH_9.6\n@@netlab-state alive"
    got = conn.parse_send(other, Protocol.TCP, first=True)
    assert got.verdict is Verdict.PROBE_FAILED and "not an HTTP server" in got.reason
    http = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nweb\n@@netlab-state alive"
    assert conn.parse_send(http, Protocol.TCP, first=True).verdict is Verdict.ALLOWED
