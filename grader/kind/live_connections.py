"""Long-lived connections on a real cluster: a client process in the source pod holds one
connection open (``grader.kind.connections`` builds its commands and reads its output), so a
lesson can show what a later policy change does to an established connection.

Declared collaborators: the :class:`~grader.kind.probe.Prober` (the source pod, default ports),
an ``exec`` callable, and from the Services part the address a destination is dialled at
(``l4_target``) and the pod that named itself in an answer (``pod_named``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import LabError
from ..lab.base import PortSpec
from ..model import PodRef, Protocol
from ..reachability import Hop, Probe, ProbeResult, Verdict
from ..reachability.commands import host_port
from ..reachability.endpoints import HOST, PodName, pod_namespace, try_parse
from . import connections
from .kubeapi import Exec
from .probe import Prober
from .services_api import namespace_hint


class LiveConnections:
    def __init__(self, prober: Prober, exec_: Exec, l4_target: Callable[[str, PortSpec], tuple[str, int]],
                 pod_named: Callable[[str, Sequence[str]], str | None]) -> None:
        self.prober = prober
        self.exec = exec_
        self.l4_target = l4_target
        self.pod_named = pod_named
        self._connections: dict[int, connections.LiveConnection] = {}

    def open_connection(self, source: str, destination: str, port: int | str | None = None, protocol: Protocol | str = Protocol.TCP) -> connections.LiveConnection:
        """Start a client process in ``source`` that holds one connection open (see ``grader.kind.connections``)."""
        proto = Protocol.parse(protocol)
        probe = Probe(source, destination, port, proto)
        if proto is Protocol.SCTP:
            raise LabError("open_connection supports TCP and UDP on a real cluster")
        if source == HOST:
            raise LabError("open_connection starts from a pod or a node on a real cluster (the client process lives there)")
        src = self.prober.running_source(source)
        target, number = self.l4_target(destination, port if port is not None else self._default_port(destination, proto))
        conn_id = max(self._connections, default=0) + 1
        prefix = connections.prefix_for(conn_id)
        pod = src.pod
        code, _, err, exec_error = self.exec(pod.namespace, pod.name, src.container, connections.start_command(prefix, target, number, proto))
        if code != 0:
            raise LabError(f"could not start the client process in {source}: {exec_error or err.strip() or f'exit {code}'}")
        pending = connections.LiveConnection(conn_id, probe, ProbeResult(probe, Verdict.UNKNOWN, "opening"), str(pod.ref), src.container, prefix, target, number)
        first = self._send(pending, first=True)
        opened = connections.LiveConnection(conn_id, probe, first, str(pod.ref), src.container, prefix, target, number)
        self._connections[conn_id] = opened
        return opened

    def _default_port(self, destination: str, proto: Protocol) -> int | None:
        if isinstance(try_parse(destination), PodName):
            _, pod, _ = self.prober.destination(destination, None)
            return self.prober.port(pod, None, proto)
        return None

    def _get_connection(self, connection: Any) -> connections.LiveConnection:
        key = connection.id if isinstance(connection, connections.LiveConnection) else int(connection)
        found = self._connections.get(key)
        if found is None:
            raise LabError(f"no open connection #{key}")
        return found

    def send(self, connection: Any) -> ProbeResult:
        """Send a request on an open connection and say whether an answer came back on it."""
        c = self._get_connection(connection)
        if not c.established:
            return ProbeResult(c.probe, Verdict.PROBE_FAILED, f"connection #{c.id} was never established ({c.result.verdict.name})")
        return self._send(c, first=False)

    def _send(self, c: connections.LiveConnection, *, first: bool) -> ProbeResult:
        ref = PodRef.parse(c.pod)
        ns, name = ref.namespace, ref.name
        code, out, err, exec_error = self.exec(ns, name, c.container, connections.send_command(c.prefix, c.host, c.probe.protocol, first=first), timeout=connections.SEND_TIMEOUT + 15)
        if code is None:
            return ProbeResult(c.probe, Verdict.PROBE_FAILED, f"connection #{c.id}: could not reach the client process ({exec_error or err.strip()})")
        outcome = connections.parse_send(out, c.probe.protocol, first=first)
        dest = c.probe.destination
        hints = [h for h in (namespace_hint(dest, ns), pod_namespace(dest)) if h]
        who = self.pod_named(outcome.hostname, hints) if outcome.hostname else None
        hops = (Hop("connection", f"#{c.id}: {c.pod} → {host_port(c.host, c.port)}/{c.probe.protocol} held by a client process in the pod"),)
        return ProbeResult(c.probe, outcome.verdict, f"connection #{c.id}: {outcome.reason}", answered_by=who, hops=hops)

    def close_connection(self, connection: Any) -> None:
        c = self._get_connection(connection)
        ref = PodRef.parse(c.pod)
        self.exec(ref.namespace, ref.name, c.container, connections.close_command(c.prefix))
        del self._connections[c.id]

    def connections(self) -> list[connections.LiveConnection]:
        return [self._connections[k] for k in sorted(self._connections)]

    def close_all(self) -> None:
        """Stop every client process (a reset); a pod that is gone already took its process with it."""
        for conn_id in list(self._connections):
            try:
                self.close_connection(conn_id)
            except Exception:  # noqa: BLE001 - the pod (and the process in it) may be gone already
                self._connections.pop(conn_id, None)


__all__ = ["LiveConnections"]
