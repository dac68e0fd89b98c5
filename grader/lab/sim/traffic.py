"""From endpoint names to packets in the simulated cluster: the collaborator that ``SimulatedLab``
(``probe``, connections) and the HTTP side (``web.WebClient``) share.

* :meth:`Traffic.source` — the machine a probe starts from (pod, node, external host);
* :meth:`Traffic.resolve` — where a destination name ends up after DNS and kube-proxy's DNAT
  (``kubeproxy.KubeProxy``), or the endpoint itself for a pod, node, host or address;
* :meth:`Traffic.deliver` — the last leg through the network model (``network.SimNetwork``):
  route, SNAT, NetworkPolicy and Cilium policy, NSGs, something listening.

Names are parsed by :func:`grader.reachability.endpoints.parse_endpoint` only.
"""

from __future__ import annotations

from ...errors import LabError
from ...model import Endpoint, ExternalHost, Pod, Protocol
from ...reachability import Hop, Probe, ProbeResult, Verdict
from ...reachability.endpoints import (
    Address,
    DnsName,
    EndpointName,
    ExternalName,
    NodeName,
    NodePort,
    PodName,
    parse_endpoint,
)
from ..base import PortSpec
from .kubeproxy import KubeProxy, Routed
from .network import SimNetwork
from .state import ClusterState


class Traffic:
    def __init__(self, state: ClusterState, kube_proxy: KubeProxy, network: SimNetwork) -> None:
        self.state = state
        self.kube_proxy = kube_proxy
        self.network = network

    def parse(self, text: str, field: str = "endpoint") -> EndpointName:
        """``text`` in the endpoint grammar, with this lab's external hosts known by name."""
        return parse_endpoint(text, external=self.state.external_hosts, field=field)

    def source(self, name: str) -> Endpoint:
        """The endpoint a probe from ``name`` starts at; LabError for an unknown one."""
        parsed = self.parse(name, "source")
        if isinstance(parsed, ExternalName) and parsed.name in self.state.external_hosts:
            host = self.state.external_hosts[parsed.name]
            return Endpoint.external(host.ip, host.name)
        if isinstance(parsed, NodeName):
            return Endpoint.of_node(self.state.node(parsed.node))
        if isinstance(parsed, PodName):
            pod = self.state.pod(parsed.ref)
            if pod is None:
                known = ", ".join(f"pod/{p.ref}" for p in self.state.pods(include_system=False))
                raise LabError(f"no pod/{parsed}; known: {known}")
            return Endpoint.of_pod(pod)
        raise LabError(f"unknown source {name!r}: expected 'namespace/pod', 'node:<name>' or an external host ({', '.join(self.state.external_hosts)})")

    def resolve(self, source: Endpoint, destination: str, port: PortSpec, protocol: Protocol) -> Routed:
        """Turn a destination name into the endpoint that receives the packet (after DNAT)."""
        parsed = self.parse(destination, "destination")
        routed = self.kube_proxy.resolve(source, parsed, port, protocol)
        if routed is not None:
            return routed
        endpoint = self._endpoint(parsed)
        if isinstance(endpoint, Routed):
            return endpoint
        return Routed(endpoint, _port_number(endpoint, port, protocol))

    def _endpoint(self, parsed: EndpointName) -> Endpoint | Routed:
        if isinstance(parsed, ExternalName) and parsed.name in self.state.external_hosts:
            host = self.state.external_hosts[parsed.name]
            return Endpoint.external(host.ip, host.name)
        if isinstance(parsed, NodeName | NodePort):
            return Endpoint.of_node(self.state.node(parsed.node))
        if isinstance(parsed, PodName):
            pod = self.state.pod(parsed.ref)
            if pod is None:
                raise LabError(f"no pod/{parsed}")
            return Endpoint.of_pod(pod)
        if isinstance(parsed, Address):
            owner = self.state.owner_of(parsed.ip)
            if isinstance(owner, Pod):
                return Endpoint.of_pod(owner)
            if isinstance(owner, ExternalHost):
                return Endpoint.external(owner.ip, owner.name)
            if owner is not None:
                return Endpoint.of_node(owner)
            return Routed(None, None, failure=Verdict.BLOCKED, reason=f"nothing in the lab answers at {parsed.ip} (no route)")
        assert isinstance(parsed, DnsName | ExternalName)  # kube-proxy resolves every name
        return Routed(None, None, failure=Verdict.DNS_FAILED, reason=f"{parsed.name!r} does not resolve (NXDOMAIN)")

    def deliver(self, probe: Probe, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol, hops: tuple[Hop, ...],
                *, via: str | None = None, established: ProbeResult | None = None) -> ProbeResult:
        """``src`` is the client as ``dst`` sees it (after any SNAT); ``via`` is the node where kube-proxy
        DNATed a NodePort/LoadBalancer connection: the last leg is traced from there."""
        return self.network.deliver(probe, src, dst, port, protocol, hops, via=via, established=established)


def _port_number(endpoint: Endpoint, port: PortSpec, protocol: Protocol) -> int | None:
    if port is None:
        if endpoint.pod is not None:
            served = [c for c in endpoint.pod.ports if c.protocol == protocol]
            return served[0].port if served else None
        return None
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    if endpoint.pod is None:
        return None
    named = endpoint.pod.named_port(port, protocol)
    return named.port if named is not None else None


__all__ = ["Traffic"]
