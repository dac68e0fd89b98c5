"""The command a real cluster runs for a simulated probe (``result.command``).

The simulated cluster answers from its model, but each result says what you would type on kind
(or any cluster) to see the same thing: the kind backend's own argv, built by the same functions
(:mod:`grader.reachability.commands`), in the same place:

* a pod source: ``kubectl exec -n <ns> <pod> -- …`` (the kind backend execs in the pod's first container);
* ``node:<name>``: the node's host-network probe pod in ``netlab-probes`` (``grader/kind/workloads.py``);
* ``vm.internal``: ``docker exec netlab-vm-internal …`` (``grader/kind/external.py``);
* ``host`` (this machine): curl as is, ``nc -z`` for a TCP connection (the kind backend uses
  Python's socket module for those, ``grader/kind/hostnet.py``, which does the same);
* internet hosts only answer on kind: no command.

Destinations are addressed as the kind backend addresses them (``grader/kind/lab.py``
``_destination``/``_port``): a pod by its IP, a node by its InternalIP, ``node:<name>:<port>`` as
the node's IP and that port, anything else (a Service name, an external host, an address) as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ...dns import Lookup
from ...dns.resolver import query_order
from ...errors import LabError
from ...model import Pod, Protocol
from ...reachability import ProbeResult
from ...reachability.endpoints import NodeName, NodePort, PodName, try_parse
from ...reachability.commands import (
    Command,
    connect,
    curl,
    dig,
    external_container,
    in_container,
    in_pod,
    on_node,
    plan,
)

if TYPE_CHECKING:
    from .state import ClusterState

PortSpec = int | str | None


def _place(state: ClusterState, source: str, command: Command) -> Command | None:
    """``command`` where the kind backend would run it for ``source``; None where it runs nothing."""
    host = state.external_hosts.get(source)
    if host is not None:
        if host.where == "host":
            return command
        if host.where == "vnet":
            return in_container(command, external_container(host.name))
        return None  # internet hosts only answer
    parsed = try_parse(source)
    if isinstance(parsed, NodeName):
        return on_node(command, parsed.node)
    if isinstance(parsed, PodName):
        pod = state.pod(parsed.ref)
        return None if pod is None else in_pod(command, pod.namespace, pod.name)
    return None


def _address(state: ClusterState, destination: str) -> tuple[str, Pod | None] | None:
    parsed = try_parse(destination)
    if isinstance(parsed, NodeName | NodePort):
        try:
            return str(state.node(parsed.node).ip), None
        except LabError:
            return None
    if isinstance(parsed, PodName):
        pod = state.pod(parsed.ref)
        return None if pod is None or pod.ip is None else (str(pod.ip), pod)
    return destination, None


def _port(pod: Pod | None, port: PortSpec, protocol: Protocol) -> int | None:
    if port is None:
        served = [c for c in (pod.ports if pod else ()) if c.protocol == protocol]
        return served[0].port if served else None
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    named = pod.named_port(port, protocol) if pod else None
    return named.port if named else None


def probe_command(state: ClusterState, source: str, destination: str, port: PortSpec, protocol: Protocol) -> Command | None:
    """What the kind backend execs for ``lab.probe(source, destination, port, protocol)``."""
    parsed = try_parse(destination)
    if isinstance(parsed, NodePort):  # node:<name>:<nodePort>, as both backends accept it
        destination, port = str(parsed.on), parsed.port
    found = _address(state, destination)
    if found is None:
        return None
    address, pod = found
    number = _port(pod, port, protocol)
    if number is None:
        return None
    host = state.external_hosts.get(source)
    if host is not None and host.where == "host":
        if protocol is not Protocol.TCP:
            return None
        line = ("nc", "-z", "-w", "1", address, str(number))
        return Command(line, line)
    return _place(state, source, connect(address, number, protocol))


def http_command(state: ClusterState, source: str, url: str, *, host: str | None, sni: str | None, method: str,
                 headers: Mapping[str, str] | None, resolve: str | None) -> Command | None:
    """What the kind backend runs for ``lab.http(...)``: curl, with lab names in ``resolve`` as addresses."""
    req = plan(url, host=host, sni=sni, method=method, headers=headers, resolve=resolve)
    if isinstance(req, str):
        return None
    target = req.connect_host
    if isinstance(try_parse(target), NodeName | NodePort | PodName):
        found = _address(state, target)
        if found is None:
            return None
        req = replace(req, connect_host=found[0])
    return _place(state, source, curl(req))


def lookup_command(state: ClusterState, source: str, found: Lookup) -> Command | None:
    """dig for each name of the source's search path, as the kind backend runs it."""
    if source in state.external_hosts:
        return None  # the kind backend asks this machine's resolver for host, and runs no dig outside the cluster
    return _place(state, source, dig(found.name, query_order(found.name, found.search, found.ndots)))


def with_command(result: ProbeResult, command: Command | None) -> ProbeResult:
    return result if command is None else replace(result, command=command)


__all__ = ["http_command", "lookup_command", "probe_command", "with_command"]
