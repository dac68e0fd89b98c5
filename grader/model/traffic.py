"""The parties of a flow: a pod, a node, or something outside the cluster."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .cluster import IPAddress, Node, Pod, Protocol


class EndpointKind(StrEnum):
    POD = "pod"
    NODE = "node"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Who sends or receives a flow. Only pods carry labels; nodes and external hosts are just IPs."""

    kind: EndpointKind
    ip: IPAddress
    name: str
    pod: Pod | None = None
    node: str | None = None
    """For a pod: the node it runs on. For a node: itself."""

    @classmethod
    def of_pod(cls, pod: Pod) -> Endpoint:
        if pod.ip is None:
            raise ValueError(f"pod {pod.ref} has no IP yet")
        return cls(EndpointKind.POD, pod.ip, str(pod.ref), pod, pod.node)

    @classmethod
    def of_node(cls, node: Node) -> Endpoint:
        return cls(EndpointKind.NODE, node.ip, f"node {node.name}", None, node.name)

    @classmethod
    def external(cls, ip: IPAddress, name: str = "") -> Endpoint:
        return cls(EndpointKind.EXTERNAL, ip, name or str(ip))

    @property
    def label(self) -> str:
        """``x/a``; ``node kind-worker (172.18.0.3)``; ``api.example.com (203.0.113.10)``."""
        if self.kind is EndpointKind.POD:
            return self.name
        return f"{self.name} ({self.ip})" if self.name != str(self.ip) else self.name


@dataclass(frozen=True, slots=True)
class Flow:
    """One connection attempt as the network policy layer sees it (after any DNAT)."""

    source: Endpoint
    destination: Endpoint
    port: int
    protocol: Protocol = Protocol.TCP

    @property
    def is_loopback(self) -> bool:
        return (
            self.source.kind is EndpointKind.POD
            and self.destination.kind is EndpointKind.POD
            and self.source.pod is not None
            and self.destination.pod is not None
            and self.source.pod.ref == self.destination.pod.ref
        )
