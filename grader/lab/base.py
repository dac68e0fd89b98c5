"""The one Lab API. The simulated cluster and the kind backend both implement it, so lessons,
exercises and grading call the same methods whichever backend answers.

Endpoint names accepted by ``probe`` (both backends):
    ``ns/pod``          a pod
    ``node:<name>``     a node (host network)
    an IP address      whatever owns it (pod, node, Service clusterIP, load-balancer address,
                       Gateway address, external host)
    a DNS name         resolved as the source would resolve it (``web``, ``web.shop``,
                       ``web.shop.svc.cluster.local``, ``api.example.com``); from a pod the
                       lookup is itself traffic to kube-dns, checked against NetworkPolicy
    ``node:<name>:<nodePort>`` or a node IP with a nodePort: that Service's NodePort
    ``host`` / named external hosts (network-model issue)
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from ..cni import CniProfile
from ..dns import Lookup
from ..errors import LabError
from ..manifests import ManifestSource, ObjectKey, parse_manifests
from ..model import ExternalHost, Namespace, Pod, Protocol
from ..reachability import (
    Comparison,
    Probe,
    ProbeResult,
    Reachability,
    ReachabilityMatrix,
)
from ..services import Distribution, EndpointsInfo
from ..topology import Topology
from .results import ServiceList

PortSpec = int | str | None
Cell = tuple[str, str]
"""(source, destination) of one matrix cell."""


def object_key(text: str) -> ObjectKey:
    """``kind/namespace/name`` (or ``kind/name`` in default) as a key; LabError when it is not one."""
    try:
        return ObjectKey.parse(text)
    except ValueError as exc:
        raise LabError(str(exc)) from None


class Lab(ABC):
    """A cluster a learner can deploy to, apply manifests to, and probe."""

    backend: ClassVar[str]
    profile: CniProfile

    # -- state -----------------------------------------------------------------------------
    @abstractmethod
    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        """Create the topology's namespaces and pods (idempotent) and apply its policies."""

    @abstractmethod
    def apply(self, manifests: ManifestSource, *, namespace: str = "default") -> list[ObjectKey]:
        """Validate, then create or replace every object. Raises ManifestError (nothing applied) on bad input."""

    @abstractmethod
    def delete(self, what: ManifestSource | ObjectKey | str | Iterable[ObjectKey | str], *, missing_ok: bool = False) -> list[ObjectKey]:
        """Delete objects named by manifests, ObjectKeys or ``kind/ns/name`` strings."""

    @abstractmethod
    def label(self, target: str, labels: Mapping[str, str | None]) -> None:
        """Change labels of a pod (``ns/pod``) or a namespace (``namespace/<name>``); ``None`` removes a key."""

    @abstractmethod
    def reset(self, *, keep_topology: bool = False) -> None:
        """Remove what the course created: everything, or only what was applied after ``deploy``."""

    @abstractmethod
    def pods(self, namespace: str | None = None) -> list[Pod]:
        """Pods sorted by namespace/name (system pods included only when their namespace is asked for)."""

    @abstractmethod
    def namespaces(self) -> list[Namespace]: ...

    @abstractmethod
    def objects(self, kind: str | None = None) -> list[ObjectKey]: ...

    @abstractmethod
    def external_hosts(self) -> list[ExternalHost]:
        """Machines outside the cluster that probes can start from or go to (``host``, ``vm.internal``,
        ``api.example.com``, ``blocked.example.net``), with the addresses they have on this backend.
        Empty where the lab knows none (a cluster you brought)."""

    # -- traffic ---------------------------------------------------------------------------
    @abstractmethod
    def probe(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> ProbeResult:
        """Try one connection and say what happened and why. Never raises for unknown endpoints:
        those come back as PROBE_FAILED (or DNS_FAILED for names) with the reason."""

    def probe_all(self, probes: Iterable[Probe]) -> list[ProbeResult]:
        return [self.probe(p.source, p.destination, p.port, p.protocol) for p in probes]

    # -- matrices: written once, over one hook -----------------------------------------------------
    @abstractmethod
    def _probe_cells(self, cells: Sequence[Cell], port: PortSpec, protocol: Protocol) -> dict[Cell, ProbeResult]:
        """The one thing a backend adds to ``matrix``: probe every (source, destination) cell on
        ``port``/``protocol`` and answer one result per cell (a cell that could not be probed is
        PROBE_FAILED with the reason). The simulated cluster may take a fast path over the policy
        engine; the live backend probes in parallel from one pod snapshot."""

    def matrix(
        self, port: int | str, protocol: Protocol | str = Protocol.TCP, *,
        sources: Sequence[str] | None = None, destinations: Sequence[str] | None = None,
        namespaces: Sequence[str] | None = None,
    ) -> ReachabilityMatrix:
        """Probe every source to every destination on one port/protocol. Sources and destinations
        default to the lab's pods (in ``namespaces`` when given); both are sorted."""
        proto = Protocol.parse(protocol)
        default = [str(p.ref) for p in self.pods() if namespaces is None or p.namespace in namespaces] \
            if sources is None or destinations is None else []
        srcs = tuple(sorted(sources if sources is not None else default))
        dsts = tuple(sorted(destinations if destinations is not None else default))
        cells = [(s, d) for s in srcs for d in dsts]
        results = self._probe_cells(cells, port, proto) if cells else {}
        missing = [c for c in cells if c not in results]
        if missing:
            raise LabError(f"the {self.backend} backend answered no result for {len(missing)} cell(s), first {missing[0]}")
        return ReachabilityMatrix(port, proto, srcs, dsts, {c: results[c] for c in cells})

    def matrices(
        self, ports: Sequence[tuple[int, Protocol | str]] | None = None, *, namespaces: Sequence[str] | None = None,
    ) -> list[ReachabilityMatrix]:
        """One matrix per port/protocol; by default every port the destination pods declare
        (each matrix then has as columns only the pods that declare that port)."""
        pods = [p for p in self.pods() if namespaces is None or p.namespace in namespaces]
        sources = [str(p.ref) for p in pods]
        if ports is not None:
            return [self.matrix(port, proto, sources=sources, destinations=sources) for port, proto in ports]
        declared = sorted({(c.port, c.protocol) for p in pods for c in p.ports}, key=lambda t: (t[1], t[0]))
        out = []
        for port, proto in declared:
            dests = [str(p.ref) for p in pods if p.serves(port, proto)]
            out.append(self.matrix(port, proto, sources=sources, destinations=dests))
        return out

    def check(self, expected: Reachability, *, timeout: float | None = None) -> Comparison:
        """Observe the expected matrix and compare. ``_settle`` decides how long to keep observing:
        once on the simulated cluster; a live cluster re-probes until it holds or ``timeout`` passes."""
        port = expected.port if expected.port is not None else 80

        def observe() -> Comparison:
            return expected.compare(self.matrix(port, expected.protocol, sources=expected.sources, destinations=expected.destinations))

        return self._settle(expected, observe, timeout)

    def _settle(self, expected: Reachability, observe: Callable[[], Comparison], timeout: float | None) -> Comparison:
        """One observation (the simulated cluster changes only when told to)."""
        return observe()

    # -- Services, DNS, load balancing, Ingress, Gateway API -----------------------------------------
    @abstractmethod
    def http(
        self, source: str, url: str, *, host: str | None = None, sni: str | None = None, method: str = "GET",
        headers: Mapping[str, str] | None = None, ca: Any = None, resolve: str | None = None, now: dt.datetime | None = None,
    ) -> ProbeResult:
        """An HTTP(S) request from a pod, a node, ``host`` or an external host. ``result.http``
        (``HttpExchange``) has the status, who served it, the certificate and whether ``ca`` trusts it."""

    @abstractmethod
    def nslookup(self, source: str, name: str) -> Lookup:
        """Resolve ``name`` as ``source`` does (search path, ndots), with every query and its answer."""

    @abstractmethod
    def services(self, namespace: str | None = None) -> ServiceList:
        """Services as ``kubectl get svc -o wide`` lists them (rows of ``ServiceInfo``)."""

    @abstractmethod
    def endpoints(self, service: str) -> EndpointsInfo:
        """The endpoints of ``ns/name``: ready, not ready, and pods left out (with why)."""

    @abstractmethod
    def distribution(
        self, source: str, destination: str, port: int | str | None = None, *, requests: int = 100,
        protocol: Protocol | str = Protocol.TCP, host: str | None = None, resolve: str | None = None,
    ) -> Distribution:
        """N connections (or HTTP requests, for a URL) → which pod answered how often."""

    @abstractmethod
    def set_ready(self, pod: str, ready: bool = True) -> None:
        """Make a pod pass or fail its readiness probe."""

    @abstractmethod
    def scale(self, deployment: str, replicas: int) -> list[str]:
        """``kubectl scale``; returns the Deployment's pods."""

    @abstractmethod
    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> str:
        """Run an in-cluster ingress controller; returns its IngressClass name."""

    def install_gateway_class(self, name: str = "approuting-istio") -> str:
        """Run a Gateway API implementation whose Gateways are pods in the cluster; returns its GatewayClass."""
        from ..errors import LabError

        raise LabError(f"install_gateway_class() is not available on the {type(self).__name__} backend")

    @abstractmethod
    def address(self, what: str) -> str | None:
        """External address of ``service/``, ``ingress/`` or ``gateway/<ns>/<name>`` (None while pending)."""

    @abstractmethod
    def status(self, what: str) -> Any:
        """Conditions of ``httproute/``, ``gateway/``, ``gatewayclass/`` or ``ingress/<ns>/<name>``, explained."""

    # -- what tests and lessons read about nodes and Services ---------------------------------------
    @abstractmethod
    def node_ip(self, node: str) -> str:
        """The InternalIP of ``node`` (a course node name, e.g. ``kind-worker``); LabError for an unknown node."""

    @abstractmethod
    def cluster_ip(self, service: str) -> str | None:
        """The clusterIP of ``service/<ns>/<name>`` (None for a headless Service)."""

    @abstractmethod
    def node_ports(self, service: str) -> dict[str, int]:
        """The nodePorts of ``service/<ns>/<name>`` by port name (or by port number as text when
        unnamed); empty for a ClusterIP Service."""

    # -- long-lived connections and NSGs ---------------------------------------------------------
    @abstractmethod
    def open_connection(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> object:
        """Open a long-lived connection to observe what later policy changes do to it (see ``send``)."""

    @abstractmethod
    def send(self, connection: Any) -> ProbeResult:
        """Send on a connection from ``open_connection``."""

    @abstractmethod
    def close_connection(self, connection: Any) -> None: ...

    @abstractmethod
    def connections(self) -> list[Any]:
        """Open connections, oldest first."""

    @abstractmethod
    def attach_nsg(self, rules: object, *, to: str = "subnet", name: str | None = None) -> object:
        """Associate an Azure network security group with the node subnet or a node's NIC (a backend
        without an NSG model raises LabError saying what to use instead)."""

    @abstractmethod
    def detach_nsg(self, to: str = "subnet") -> None: ...

    @abstractmethod
    def nsg_rules(self, to: str = "subnet") -> object: ...

    def _keys_of(self, what: object) -> list[ObjectKey]:
        """What ``delete`` was given, as keys: an ObjectKey, a ``kind/ns/name`` string, a list of
        those, or manifests (YAML text, a path, mappings)."""
        def looks_like_key(item: object) -> bool:
            return isinstance(item, ObjectKey) or (isinstance(item, str) and "\n" not in item and ":" not in item and item.count("/") in (1, 2))

        def key(item: ObjectKey | str) -> ObjectKey:
            return item if isinstance(item, ObjectKey) else object_key(item)

        if looks_like_key(what):
            return [key(what)]  # type: ignore[arg-type]
        if isinstance(what, Iterable) and not isinstance(what, (str, bytes, Mapping)):
            items = list(what)
            if items and all(looks_like_key(i) for i in items):
                return [key(i) for i in items]
            what = items
        return [m.key for m in parse_manifests(what)]  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend={self.backend} profile={self.profile.name}>"
