"""Layer-4 probes from the learner's machine (source ``host``), with the standard library.

They mirror ``agnhost connect`` (kubernetes ``test/images/agnhost/connect/connect.go``), which
the pods run: TCP = a handshake; UDP = send ``hostname`` (agnhost's default ``--udp-data``, which
``serve-hostname --udp`` and netexec's UDP server both answer) and wait for any reply. A refused
handshake or an ICMP port-unreachable is REFUSED, silence is BLOCKED, an unknown name DNS_FAILED.

On Linux the kind network (node addresses, cloud-provider-kind's load-balancer addresses) is a
Docker bridge the host is attached to, so these reach it. Docker Desktop (macOS, Windows) runs
the containers in a VM whose networks the host cannot reach (kind "Known issues"): the reason
then says so instead of leaving a bare timeout.
"""

from __future__ import annotations

import errno
import platform
import socket

from ..model import Protocol
from ..reachability import Verdict

UDP_PAYLOAD = b"hostname"


def docker_desktop_note(address: str) -> str:
    if platform.system() in ("Darwin", "Windows"):
        return (f" On Docker Desktop ({platform.system()}) the containers' networks are not reachable from the host, so {address} "
                "cannot answer here: probe from a pod or a node instead, or use a port cloud-provider-kind maps to the host.")
    return ""


def l4_probe(address: str, port: int, protocol: Protocol | str, timeout: float = 1.0) -> tuple[Verdict, str, str]:
    """(verdict, reason, what the server replied) for one connection attempt from this machine."""
    proto = Protocol.parse(protocol)
    if proto is Protocol.SCTP:
        return Verdict.PROBE_FAILED, "SCTP probes from the host are not supported (start SCTP probes from a pod)", ""
    kind = socket.SOCK_STREAM if proto is Protocol.TCP else socket.SOCK_DGRAM
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(address, port, type=kind)[0]
    except socket.gaierror as exc:
        return Verdict.DNS_FAILED, f"{address!r} does not resolve on this machine ({exc.strerror or exc})", ""
    ip = str(sockaddr[0])
    target = f"{ip}:{port}/{proto}"
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            if proto is Protocol.TCP:
                return Verdict.ALLOWED, f"connected to {target}", ""
            sock.send(UDP_PAYLOAD)
            reply = sock.recv(2048)
            return Verdict.ALLOWED, f"{target} replied", reply.decode("utf-8", "replace")
        except TimeoutError:
            return Verdict.BLOCKED, f"no answer from {target} within {timeout:g}s: the packet was dropped on the way.{docker_desktop_note(ip)}", ""
        except ConnectionRefusedError:
            return Verdict.REFUSED, f"{target} refused: the packet arrived but nothing listens on that port", ""
        except OSError as exc:
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                return Verdict.BLOCKED, f"rejected on the way to {target}: {exc.strerror}.{docker_desktop_note(ip)}", ""
            return Verdict.PROBE_FAILED, f"the probe could not run: {exc}", ""


__all__ = ["UDP_PAYLOAD", "docker_desktop_note", "l4_probe"]
