"""Probes from the learner's machine (source ``host``) with real sockets on this machine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from grader.kind.hostnet import UDP_PAYLOAD, docker_desktop_note, l4_probe
from grader.model import Protocol
from grader.reachability import Verdict


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


@pytest.fixture
def udp_hostname_server() -> Iterator[int]:
    """Answers any datagram with its name, like ``agnhost serve-hostname --udp``."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    stop = threading.Event()
    seen: list[bytes] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = s.recvfrom(2048)
            except OSError:
                continue
            seen.append(data)
            s.sendto(b"udp-server", peer)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield s.getsockname()[1]
    stop.set()
    t.join()
    s.close()
    assert seen and all(d == UDP_PAYLOAD for d in seen)  # what agnhost connect sends by default


def _free_port(kind: int) -> int:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_tcp_connect_refused_and_dns(tcp_listener: int) -> None:
    assert l4_probe("127.0.0.1", tcp_listener, "TCP")[0] is Verdict.ALLOWED
    verdict, reason, _ = l4_probe("127.0.0.1", _free_port(socket.SOCK_STREAM), Protocol.TCP)
    assert verdict is Verdict.REFUSED and "nothing listens" in reason
    assert l4_probe("web.shop.svc.cluster.local.invalid", 80, "TCP")[0] is Verdict.DNS_FAILED


def test_udp_reply_and_port_unreachable(udp_hostname_server: int) -> None:
    verdict, _, reply = l4_probe("127.0.0.1", udp_hostname_server, "UDP")
    assert verdict is Verdict.ALLOWED and reply == "udp-server"
    # nothing bound: the kernel answers ICMP port unreachable, which a connected UDP socket reports
    assert l4_probe("127.0.0.1", _free_port(socket.SOCK_DGRAM), "UDP")[0] is Verdict.REFUSED


def test_sctp_from_the_host_is_not_pretended() -> None:
    verdict, reason, _ = l4_probe("127.0.0.1", 80, "SCTP")
    assert verdict is Verdict.PROBE_FAILED and "SCTP" in reason


def test_docker_desktop_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import grader.kind.hostnet as hostnet

    monkeypatch.setattr(hostnet.platform, "system", lambda: "Darwin")
    assert "Docker Desktop" in docker_desktop_note("172.18.0.5")
    monkeypatch.setattr(hostnet.platform, "system", lambda: "Linux")
    assert docker_desktop_note("172.18.0.5") == ""


def test_unreachable_kind_network_makes_host_probes_probe_failed(tcp_listener: int) -> None:
    """C4: on Docker Desktop (macOS, Windows, WSL2) the host cannot reach the kind network, so every
    `host` probe timed out and read BLOCKED. The lab measures reachability once (a connect to the
    control plane's API port); when it fails, silence from those addresses is PROBE_FAILED."""
    from grader.kind.hostnet import HostReach, measure

    unreachable = measure("192.0.2.1", 6443, networks=("192.0.2.0/24",), timeout=0.3)  # RFC 5737 TEST-NET-1: nothing answers
    assert not unreachable.reachable and "Docker Desktop" in unreachable.reason
    before = l4_probe("192.0.2.10", 80, Protocol.TCP, timeout=0.3)[0]
    assert before in (Verdict.BLOCKED, Verdict.PROBE_FAILED)  # what the code before this issue said: BLOCKED on a dropped SYN
    verdict, reason, _ = l4_probe("192.0.2.10", 80, Protocol.TCP, timeout=0.3, reach=unreachable)
    assert verdict is Verdict.PROBE_FAILED and "cannot reach 192.0.2.10 at all" in reason
    # Outside the unreachable network nothing changes: a listener on this machine still answers.
    assert l4_probe("127.0.0.1", tcp_listener, Protocol.TCP, reach=unreachable)[0] is Verdict.ALLOWED
    reachable = measure("127.0.0.1", tcp_listener)
    assert reachable.reachable
    assert reachable.judge(Verdict.BLOCKED, "dropped", "192.0.2.10") == (Verdict.BLOCKED, "dropped")
    assert HostReach(False, "x", ("172.18.0.0/16",)).covers("172.18.3.4") and not HostReach(False, "x", ("172.18.0.0/16",)).covers("10.0.0.1")


def test_http_from_an_unreachable_host_is_probe_failed() -> None:
    """C4 for lab.http("host", ...): a timeout to an LB address the host cannot reach is PROBE_FAILED."""
    from grader.kind import webprobe
    from grader.kind.hostnet import HostReach

    req = webprobe.plan("http://172.18.0.7/clientip")
    assert isinstance(req, webprobe.HttpRequest)
    raw = webprobe.RawHttp(webprobe.Outcome.TIMEOUT, "timed out")
    assert webprobe.verdict_of(raw, req, "host")[0] is Verdict.BLOCKED
    reach = HostReach(False, "Docker Desktop", ("172.18.0.0/16",))
    verdict, reason = webprobe.verdict_of(raw, req, "host", reach=reach)
    assert verdict is Verdict.PROBE_FAILED and "cannot reach 172.18.0.7" in reason
