"""Namespaces, pods, nodes and ports: the cluster objects every engine reasons about."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import total_ordering

from .labels import Labels

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Protocol(StrEnum):
    """Transport protocols a NetworkPolicy port and a container port can name."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    @classmethod
    def parse(cls, value: str | Protocol) -> Protocol:
        try:
            return cls(str(value).upper())
        except ValueError:
            raise ValueError(f"unknown protocol {value!r}: expected TCP, UDP or SCTP") from None


@total_ordering
@dataclass(frozen=True, slots=True)
class PodRef:
    """``namespace/name``; sorts by namespace then name so tables are deterministic."""

    namespace: str
    name: str

    @classmethod
    def parse(cls, text: str | PodRef) -> PodRef:
        if isinstance(text, PodRef):
            return text
        ns, sep, name = str(text).partition("/")
        if not sep or not ns or not name or "/" in name:
            raise ValueError(f"{text!r} is not a pod reference: expected 'namespace/pod'")
        return cls(ns, name)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __lt__(self, other: PodRef) -> bool:
        return (self.namespace, self.name) < (other.namespace, other.name)


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A port a pod serves. ``name`` is what NetworkPolicy named ports and Service targetPorts resolve against."""

    port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None

    def render(self) -> str:
        label = f"{self.port}/{self.protocol}"
        return f"{label} ({self.name})" if self.name else label


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels = field(default_factory=Labels)

    def __post_init__(self) -> None:
        # The API server sets kubernetes.io/metadata.name on every namespace (since 1.21, GA 1.22).
        if self.labels.get("kubernetes.io/metadata.name") != self.name:
            object.__setattr__(
                self, "labels", self.labels.merged({"kubernetes.io/metadata.name": self.name})
            )


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    ip: IPAddress
    role: str = "worker"
    pod_cidr: IPNetwork | None = None


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    labels: Labels = field(default_factory=Labels)
    ip: IPAddress | None = None
    node: str | None = None
    ports: tuple[ContainerPort, ...] = ()
    ready: bool = True
    host_network: bool = False

    @property
    def ref(self) -> PodRef:
        return PodRef(self.namespace, self.name)

    def serves(self, port: int, protocol: Protocol) -> bool:
        return any(p.port == port and p.protocol == protocol for p in self.ports)

    def named_port(self, name: str, protocol: Protocol | None = None) -> ContainerPort | None:
        """The container port called ``name`` (with ``protocol``, when given)."""
        for p in self.ports:
            if p.name == name and (protocol is None or p.protocol == protocol):
                return p
        return None


@dataclass(frozen=True, slots=True)
class ExternalHost:
    """A machine outside the cluster that probes can start from or go to.

    ``where`` is ``host`` (the learner's machine: on Linux the kind network's gateway), ``vnet``
    (a VM on the node network, like a VM in the AKS cluster's virtual network) or ``internet``.
    """

    name: str
    ip: IPAddress
    where: str
    description: str = ""
    ports: tuple[ContainerPort, ...] = ()
