"""Endpoints of a Service, as the EndpointSlice controller computes them and kube-proxy uses them.

Rules (kubernetes ``pkg/controller/endpointslice`` and ``staging/src/k8s.io/endpointslice``;
kubernetes.io "Service" and "EndpointSlices" concept pages):

* The selector is matched against the labels of pods in the Service's own namespace. A Service
  without a selector gets no endpoints from the controller; its endpoints are the EndpointSlices
  you write, labelled ``kubernetes.io/service-name``.
* Pods without an IP are skipped. Not-ready pods are published with ``ready: false`` (unless
  ``publishNotReadyAddresses``, which marks every endpoint ready), and kube-proxy only sends
  traffic to ready endpoints.
* ``targetPort`` by number is used as is; by name it is looked up in *each* pod's container ports
  (with the Service port's protocol), so different pods may serve the same Service port on
  different numbers; a pod that has no container port with that name is left out of that port.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model import Pod, Protocol
from ..model.cluster import IPAddress
from ..model.services import EndpointSlice, Service, ServicePort


@dataclass(frozen=True, slots=True)
class Backend:
    """One endpoint for one Service port: where kube-proxy may DNAT a connection to."""

    ip: IPAddress
    port: int
    protocol: Protocol
    pod: str | None
    """``ns/name`` when a pod backs the endpoint (None for hand-written external endpoints)."""
    node: str | None
    ready: bool = True

    @property
    def label(self) -> str:
        return self.pod or str(self.ip)

    def render(self) -> str:
        state = "" if self.ready else " (not ready)"
        return f"{self.label} {self.ip}:{self.port}{state}"


@dataclass(frozen=True, slots=True)
class Exclusion:
    pod: str
    reason: str


@dataclass(frozen=True, slots=True)
class PortEndpoints:
    """The endpoints of one Service port."""

    port: ServicePort
    backends: tuple[Backend, ...]
    excluded: tuple[Exclusion, ...] = ()

    @property
    def ready(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if b.ready)

    @property
    def not_ready(self) -> tuple[Backend, ...]:
        return tuple(b for b in self.backends if not b.ready)


def _resolve_target(port: ServicePort, pod: Pod) -> int | None:
    if isinstance(port.target_port, int):
        return port.target_port
    named = pod.named_port(port.target_port, port.protocol)
    return named.port if named is not None else None


def selected_pods(service: Service, pods: Iterable[Pod]) -> list[Pod]:
    if service.selector is None:
        return []
    return sorted(
        (p for p in pods if p.namespace == service.namespace and all(p.labels.get(k) == v for k, v in service.selector.items())),
        key=lambda p: p.ref,
    )


def port_endpoints(service: Service, port: ServicePort, pods: Sequence[Pod], slices: Iterable[EndpointSlice] = ()) -> PortEndpoints:
    backends: list[Backend] = []
    excluded: list[Exclusion] = []
    if service.selector is not None:
        for pod in selected_pods(service, pods):
            if pod.ip is None:
                excluded.append(Exclusion(str(pod.ref), "has no IP yet"))
                continue
            number = _resolve_target(port, pod)
            if number is None:
                excluded.append(Exclusion(str(pod.ref), f"has no {port.protocol} container port named {port.target_port!r}"))
                continue
            ready = pod.ready or service.publish_not_ready_addresses
            backends.append(Backend(pod.ip, number, port.protocol, str(pod.ref), pod.node, ready))
    else:
        for es in sorted(slices, key=lambda s: s.name):
            if es.namespace != service.namespace or es.service_name != service.name:
                continue
            # An EndpointSlice port matches the Service port by name (both unnamed when the Service has one port).
            match = next((p for p in es.ports if (p.name or None) == (port.name or None) and p.protocol == port.protocol), None)
            if match is None:
                continue
            for ep in es.endpoints:
                for ip in ep.addresses:
                    backends.append(Backend(ip, match.port, port.protocol, ep.target, ep.node_name, ep.ready or service.publish_not_ready_addresses))
    return PortEndpoints(port, tuple(backends), tuple(excluded))


def service_endpoints(service: Service, pods: Sequence[Pod], slices: Iterable[EndpointSlice] = ()) -> tuple[PortEndpoints, ...]:
    slices = list(slices)
    return tuple(port_endpoints(service, p, pods, slices) for p in service.ports)


def ready_pod_addresses(service: Service, pods: Sequence[Pod], slices: Iterable[EndpointSlice] = ()) -> list[tuple[str | None, IPAddress]]:
    """Addresses a headless Service's DNS name returns: ready endpoints (all of them with
    ``publishNotReadyAddresses``), deduplicated across ports, sorted by address."""
    seen: dict[IPAddress, str | None] = {}
    if service.selector is not None:
        for pod in selected_pods(service, pods):
            if pod.ip is not None and (pod.ready or service.publish_not_ready_addresses):
                seen[pod.ip] = str(pod.ref)
    else:
        for pe in service_endpoints(service, pods, slices):
            for b in pe.ready:
                seen[b.ip] = b.pod
    return sorted(((ref, ip) for ip, ref in seen.items()), key=lambda t: (t[1].version, t[1]))
