"""Services, EndpointSlices, Deployments and Secrets as immutable, already-defaulted objects.

The parsers in ``grader.manifests.services`` apply the API server's defaulting
(``pkg/apis/core/v1/defaults.go`` SetDefaults_Service), so engines never guess: every port has a
protocol and a targetPort, every NodePort/LoadBalancer Service an externalTrafficPolicy, every
non-ExternalName Service an internalTrafficPolicy. Allocated values (clusterIP, nodePorts,
healthCheckNodePort, the load balancer address) are filled in by the lab at admission time, exactly
when the API server (and the cloud controller, for the LB address) would fill them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .cluster import ContainerPort, IPAddress, IPNetwork, Protocol
from .labels import Labels, LabelSelector


class ServiceType(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_NAME = "ExternalName"


class TrafficPolicy(StrEnum):
    CLUSTER = "Cluster"
    LOCAL = "Local"


class SessionAffinity(StrEnum):
    NONE = "None"
    CLIENT_IP = "ClientIP"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One entry of ``spec.ports``. ``target_port`` is a number or a container-port name."""

    port: int
    target_port: int | str
    protocol: Protocol = Protocol.TCP
    name: str | None = None
    node_port: int | None = None
    """Requested by the manifest, or allocated by the lab (NodePort/LoadBalancer Services)."""
    app_protocol: str | None = None

    def render(self) -> str:
        text = f"{self.port}"
        if self.node_port:
            text += f":{self.node_port}"
        text += f"/{self.protocol}"
        target = f" → {self.target_port}"
        return (f"{self.name} " if self.name else "") + text + target


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: ServiceType = ServiceType.CLUSTER_IP
    ports: tuple[ServicePort, ...] = ()
    selector: Labels | None = None
    """``None``: no selector (endpoints come from EndpointSlices you write). ``Labels()`` would
    select every pod of the namespace, as an empty ``spec.selector`` map does."""
    cluster_ip: IPAddress | None = None
    """Allocated (or requested) virtual IP; ``None`` for headless and ExternalName Services."""
    headless: bool = False
    external_name: str | None = None
    session_affinity: SessionAffinity = SessionAffinity.NONE
    affinity_timeout: int = 10800
    external_traffic_policy: TrafficPolicy | None = None
    internal_traffic_policy: TrafficPolicy | None = TrafficPolicy.CLUSTER
    publish_not_ready_addresses: bool = False
    load_balancer_source_ranges: tuple[IPNetwork, ...] = ()
    load_balancer_class: str | None = None
    requested_load_balancer_ip: IPAddress | None = None
    """Deprecated ``spec.loadBalancerIP``: honoured by cloud-provider-kind when free on the pool."""
    allocate_load_balancer_node_ports: bool = True
    health_check_node_port: int | None = None
    load_balancer_ip: IPAddress | None = None
    """``status.loadBalancer.ingress[0].ip``, set by the load-balancer provider."""
    requested_cluster_ip: IPAddress | None = None
    annotations: Labels = field(default_factory=Labels)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def dns_name(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def externally_accessible(self) -> bool:
        return self.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)

    def port(self, port: int | str | None, protocol: Protocol | None = None) -> ServicePort | None:
        """The Service port called ``port`` (name) or numbered ``port``; the only port when ``None``."""
        candidates = [p for p in self.ports if protocol is None or p.protocol == protocol]
        if port is None:
            return candidates[0] if len(candidates) == 1 else None
        if isinstance(port, str) and not port.isdigit():
            return next((p for p in candidates if p.name == port), None)
        number = int(port)
        return next((p for p in candidates if p.port == number), None)

    def node_port(self, number: int, protocol: Protocol) -> ServicePort | None:
        return next((p for p in self.ports if p.node_port == number and p.protocol == protocol), None)


@dataclass(frozen=True, slots=True)
class EndpointSliceEndpoint:
    addresses: tuple[IPAddress, ...]
    ready: bool = True
    node_name: str | None = None
    target: str | None = None
    """``ns/pod`` when the endpoint is a pod (``targetRef``)."""


@dataclass(frozen=True, slots=True)
class EndpointSlicePort:
    port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    """A hand-written EndpointSlice (``discovery.k8s.io/v1``) for a Service without a selector."""

    namespace: str
    name: str
    service_name: str | None
    """The ``kubernetes.io/service-name`` label: which Service these endpoints belong to."""
    address_type: str
    ports: tuple[EndpointSlicePort, ...]
    endpoints: tuple[EndpointSliceEndpoint, ...]
    managed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Deployment:
    """``apps/v1`` Deployment, reduced to what changes the network: replicas, labels, ports, placement."""

    namespace: str
    name: str
    replicas: int
    selector: LabelSelector
    template_labels: Labels
    ports: tuple[ContainerPort, ...] = ()
    node_name: str | None = None
    template_hash: str = ""
    """``pod-template-hash``: changes when the pod template changes (a rollout)."""
    pods: tuple[str, ...] = ()
    """Names of the pods the Deployment owns (filled in by the lab, like a ReplicaSet's status)."""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Secret:
    namespace: str
    name: str
    type: str
    data: tuple[tuple[str, bytes], ...] = ()

    def get(self, key: str) -> bytes | None:
        return next((v for k, v in self.data if k == key), None)

    @property
    def as_dict(self) -> Mapping[str, bytes]:
        return dict(self.data)
