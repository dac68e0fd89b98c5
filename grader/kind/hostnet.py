"""Layer-4 probes from the learner's machine (source ``host``), with the standard library.

They mirror ``agnhost connect`` (kubernetes ``test/images/agnhost/connect/connect.go``), which
the pods run: TCP = a handshake; UDP = send ``hostname`` (agnhost's default ``--udp-data``, which
``serve-hostname --udp`` and netexec's UDP server both answer) and wait for any reply. A refused
handshake or an ICMP port-unreachable is REFUSED, silence is BLOCKED, an unknown name DNS_FAILED.

On Linux the kind network (node addresses, cloud-provider-kind's load-balancer addresses) is a
Docker bridge the host is attached to, so these reach it. Docker Desktop (macOS, Windows, WSL2)
runs the containers in a VM whose networks the host cannot reach (kind
``site/content/docs/user/known-issues.md``: "the container networks are not exposed to the host and
you cannot reach the kind nodes via IP"). Which case holds is *measured* once per lab
(:func:`measure`: a TCP connect to the control plane's API server port on its node address), not
guessed from the OS (a WSL2 shell says "Linux"). When the kind network is out of reach, silence or
"no route" from the host says nothing about policy: such probes are PROBE_FAILED with that reason,
never BLOCKED (:meth:`HostReach.judge`).
"""

from __future__ import annotations

import errno
import ipaddress
import platform
import socket
from dataclasses import dataclass

from ..model import Protocol
from ..reachability import Verdict

UDP_PAYLOAD = b"hostname"


@dataclass(frozen=True, slots=True)
class HostReach:
    """Whether this machine reaches the kind network, measured once per lab."""

    reachable: bool
    reason: str
    networks: tuple[str, ...] = ()
    """The kind network's subnets (``docker network inspect kind``); empty: judge every address."""

    def covers(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return not self.networks or any(addr in ipaddress.ip_network(n, strict=False) for n in self.networks)

    def judge(self, verdict: Verdict, reason: str, ip: str) -> tuple[Verdict, str]:
        """A BLOCKED seen from a host that cannot reach ``ip``'s network is a probe that could not be made."""
        if verdict is Verdict.BLOCKED and not self.reachable and self.covers(ip):
            return Verdict.PROBE_FAILED, f"this machine cannot reach {ip} at all ({self.reason}); the probe says nothing about policy"
        return verdict, reason


def measure(node_ip: str, port: int = 6443, networks: tuple[str, ...] = (), timeout: float = 2.0) -> HostReach:
    """Connect to the control plane's API server on its node address (``InternalIP:6443``). It
    always listens there, so only a host that cannot reach the kind network fails."""
    target = f"{node_ip}:{port}"
    try:
        with socket.create_connection((node_ip, port), timeout=timeout):
            return HostReach(True, f"connected to the control plane at {target}", networks)
    except OSError as exc:
        what = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return HostReach(False, (f"a connection to the control plane at {target} failed ({what}): Docker runs the nodes in a VM "
                                 "whose networks this machine does not reach (Docker Desktop on macOS, Windows or WSL2). Probe "
                                 "from a pod or a node instead"), networks)


def _wsl() -> bool:
    try:
        with open("/proc/version", encoding="utf-8") as fh:
            return "microsoft" in fh.read().lower()
    except OSError:
        return False


def docker_desktop_note(address: str) -> str:
    if platform.system() in ("Darwin", "Windows") or _wsl():
        return (f" On Docker Desktop ({platform.system()}) the containers' networks are not reachable from the host, so {address} "
                "cannot answer here: probe from a pod or a node instead, or use a port cloud-provider-kind maps to the host.")
    return ""


def l4_probe(address: str, port: int, protocol: Protocol | str, timeout: float = 1.0, *, reach: HostReach | None = None) -> tuple[Verdict, str, str]:
    """(verdict, reason, what the server replied) for one connection attempt from this machine;
    with ``reach``, a BLOCKED towards a network this machine cannot reach is PROBE_FAILED."""
    verdict, reason, reply, ip = _l4_probe(address, port, protocol, timeout)
    if reach is not None and ip:
        verdict, reason = reach.judge(verdict, reason, ip)
    return verdict, reason, reply


def _l4_probe(address: str, port: int, protocol: Protocol | str, timeout: float) -> tuple[Verdict, str, str, str]:
    proto = Protocol.parse(protocol)
    if proto is Protocol.SCTP:
        return Verdict.PROBE_FAILED, "SCTP probes from the host are not supported (start SCTP probes from a pod)", "", ""
    kind = socket.SOCK_STREAM if proto is Protocol.TCP else socket.SOCK_DGRAM
    try:
        family, _, _, _, sockaddr = socket.getaddrinfo(address, port, type=kind)[0]
    except socket.gaierror as exc:
        return Verdict.DNS_FAILED, f"{address!r} does not resolve on this machine ({exc.strerror or exc})", "", ""
    ip = str(sockaddr[0])
    target = f"{ip}:{port}/{proto}"
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            if proto is Protocol.TCP:
                return Verdict.ALLOWED, f"connected to {target}", "", ip
            sock.send(UDP_PAYLOAD)
            reply = sock.recv(2048)
            return Verdict.ALLOWED, f"{target} replied", reply.decode("utf-8", "replace"), ip
        except TimeoutError:
            return Verdict.BLOCKED, f"no answer from {target} within {timeout:g}s: the packet was dropped on the way.{docker_desktop_note(ip)}", "", ip
        except ConnectionRefusedError:
            return Verdict.REFUSED, f"{target} refused: the packet arrived but nothing listens on that port", "", ip
        except OSError as exc:
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                # ICMP host/net unreachable: a REJECT on the way, a stale address, or no route at all (N3).
                return Verdict.BLOCKED, (f"rejected on the way to {target}: {exc.strerror} (a filter rejected it, or no route "
                                         f"leads there, or nothing has that address any more).{docker_desktop_note(ip)}"), "", ip
            return Verdict.PROBE_FAILED, f"the probe could not run: {exc}", "", ip


__all__ = ["UDP_PAYLOAD", "HostReach", "docker_desktop_note", "l4_probe", "measure"]
