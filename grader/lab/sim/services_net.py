"""Services, DNS and load balancers inside the simulated cluster: the state-holding side of
``grader.services``, ``grader.dns`` and the LB providers. ``SimulatedLab`` calls in here from a
few hooks (admission, store, delete, reset, destination resolution), so its own code stays small.

A probe to a name or a Service address is resolved in steps, each one a ``Hop`` of the trace:

1. ``dns``: pods ask kube-dns (its clusterIP, DNATed to a CoreDNS pod) -- that query is traffic,
   checked against NetworkPolicy like any other flow; nodes and outside machines use the node's
   resolver, which knows the outside world but not ``cluster.local``.
2. ``service`` / ``nodeport`` / ``load-balancer``: kube-proxy's rules (``grader.services.routing``)
   pick the eligible endpoints, one is chosen by the seeded balancer, SNAT is applied where
   kube-proxy applies it.
3. The last leg (source as the backend sees it → backend pod, targetPort) goes back to the lab's
   ``_deliver``, which evaluates NetworkPolicy on the pod after DNAT.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ...cni.divergences import SeenSource, external_service_ingress
from ...dns import ClusterZone, Lookup, resolve_in_pod, resolve_outside
from ...errors import FieldProblem, LabError
from ...gateway.routing import with_creation_time
from ...ingress import CLOUD_PROVIDER_KIND, IngressController, Placement, get_controller
from ...manifests import Manifest, ObjectKey
from ...model import Endpoint, EndpointKind, ExternalHost, Flow, Labels, Node, Pod, PodRef, Protocol
from ...model.cluster import ContainerPort, IPAddress
from ...model.gateway import Gateway, GatewayClass, HTTPRoute, ReferenceGrant
from ...model.ingress import Ingress, IngressClass
from ...model.services import Deployment, EndpointSlice, EndpointSliceEndpoint, EndpointSlicePort, Secret, Service, ServicePort, ServiceType, TrafficPolicy
from ...reachability import Hop, Verdict
from ...services import (
    SOURCE_RANGES_ANNOTATION,
    Allocator,
    Backend,
    Balancer,
    EndpointsInfo,
    ServiceInfo,
    backend_nodes,
    cloud_source_allowed,
    cloud_source_ranges,
    dns_service_ip,
    get_provider,
    healthy_lb_nodes,
    ignored_annotation_note,
    kubernetes_service_ip,
    port_endpoints,
    ready_pod_addresses,
    service_endpoints,
    source_allowed,
    via_cluster_ip,
    via_node,
)
from ...services.addresses import held_addresses
from ...services.providers import LoadBalancerProvider

if TYPE_CHECKING:
    from .lab import SimulatedLab

KUBE_DNS = ("kube-system", "kube-dns")
API_SERVER_PORT = 6443


@dataclass(frozen=True)
class Routed:
    """Where a connection ends up (after DNS, DNAT, SNAT), before the last leg's policy check."""

    endpoint: Endpoint | None
    port: int | None
    hops: tuple[Hop, ...] = ()
    failure: Verdict | None = None
    reason: str = ""
    source: Endpoint | None = None
    """The client as the endpoint sees it (after SNAT); None = the original source."""
    service: Service | None = None
    lookup: Lookup | None = None
    via: str | None = None
    """The node where kube-proxy DNATed the connection (NodePort/LoadBalancer paths): the last leg
    travels from that node to the endpoint, whatever address the endpoint sees as the client."""

    def with_hops(self, hops: Sequence[Hop]) -> Routed:
        return replace(self, hops=(*hops, *self.hops))


def _fail(verdict: Verdict, reason: str, hops: Sequence[Hop] = ()) -> Routed:
    return Routed(None, None, tuple(hops), verdict, reason)


def _manifest(kind: str, api: str, namespace: str, name: str, obj: Any, body: dict[str, Any] | None = None) -> Manifest:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return Manifest(ObjectKey(kind, namespace, name), api, body or {"apiVersion": api, "kind": kind, "metadata": meta}, obj)


class ServiceNetwork:
    def __init__(self, lab: SimulatedLab) -> None:
        self.lab = lab
        self.state = lab.state
        self.provider: LoadBalancerProvider = get_provider(getattr(lab, "load_balancer", None))
        self.allocator = Allocator(lab.profile.service_subnet)
        self.balancer = Balancer(seed=0)
        self.dns_balancer = Balancer(seed=1)
        self.system_keys: set[ObjectKey] = set()
        self.controllers: dict[str, IngressController] = {}
        self.ingress_addresses: dict[str, IPAddress] = {}
        """cloud-provider-kind: one Envoy (and address) per namespace with Ingresses."""
        self._pending: dict[ObjectKey, Manifest] = {}
        self.clock = 0
        """Seconds of a logical clock, one per apply: creation timestamps (route precedence ties)."""
        self.install_system()

    # -- reading the state -------------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Any]:
        return self.state.of_kind(kind)

    def in_order(self, kind: str) -> list[Any]:
        """Objects of a kind in creation order (the state's dict keeps insertion order)."""
        return [m.obj for k, m in self.state.objects.items() if k.kind == kind]

    def services(self) -> list[Service]:
        return self.of_kind("Service")

    def service(self, namespace: str, name: str) -> Service | None:
        m = self.state.objects.get(ObjectKey("Service", namespace, name))
        return m.obj if m is not None else None

    def services_map(self) -> dict[tuple[str, str], Service]:
        return {(s.namespace, s.name): s for s in self.services()}

    def slices(self) -> list[EndpointSlice]:
        return self.of_kind("EndpointSlice")

    def pods(self) -> list[Pod]:
        return self.state.pods()

    def secrets(self) -> dict[tuple[str, str], Secret]:
        return {(s.namespace, s.name): s for s in self.of_kind("Secret")}

    def ingress_classes(self) -> dict[str, IngressClass]:
        return {c.name: c for c in self.of_kind("IngressClass")}

    def gateway_classes(self) -> dict[str, GatewayClass]:
        return {c.name: c for c in self.of_kind("GatewayClass")}

    def gateways(self) -> dict[tuple[str, str], Gateway]:
        return {(g.namespace, g.name): g for g in self.of_kind("Gateway")}

    def grants(self) -> list[ReferenceGrant]:
        return self.of_kind("ReferenceGrant")

    def routes(self) -> list[HTTPRoute]:
        return self.in_order("HTTPRoute")

    # -- system objects ----------------------------------------------------------------------
    def install_system(self) -> None:
        """kube-dns and kubernetes Services, cloud-provider-kind's IngressClass and GatewayClass:
        what a fresh kind cluster with cloud-provider-kind running has."""
        cidr = self.lab.profile.service_subnet
        control = self.state.nodes[0]
        kube_dns = Service(
            "kube-system", "kube-dns", ServiceType.CLUSTER_IP,
            (ServicePort(53, "dns", Protocol.UDP, "dns"), ServicePort(53, "dns-tcp", Protocol.TCP, "dns-tcp"),
             ServicePort(9153, "metrics", Protocol.TCP, "metrics")),
            Labels({"k8s-app": "kube-dns"}), cluster_ip=dns_service_ip(cidr),
        )
        api = Service("default", "kubernetes", ServiceType.CLUSTER_IP, (ServicePort(443, API_SERVER_PORT, Protocol.TCP, "https"),),
                      None, cluster_ip=kubernetes_service_ip(cidr))
        api_slice = EndpointSlice("default", "kubernetes", "kubernetes", "IPv4", (EndpointSlicePort(API_SERVER_PORT, Protocol.TCP, "https"),),
                                  (EndpointSliceEndpoint((control.ip,), True, control.name),))
        objects = [
            _manifest("Service", "v1", "kube-system", "kube-dns", kube_dns),
            _manifest("Service", "v1", "default", "kubernetes", api),
            _manifest("EndpointSlice", "discovery.k8s.io/v1", "default", "kubernetes", api_slice),
        ]
        cpk = CLOUD_PROVIDER_KIND
        objects.append(_manifest("IngressClass", "networking.k8s.io/v1", "", cpk.class_name, IngressClass(cpk.class_name, cpk.controller, cpk.default_class)))
        objects.append(_manifest("GatewayClass", "gateway.networking.k8s.io/v1", "", "cloud-provider-kind",
                                 GatewayClass("cloud-provider-kind", "kind.sigs.k8s.io/gateway-controller")))
        self.controllers = {cpk.name: cpk}
        self.ingress_addresses = {}
        self.balancer.reset()
        self.dns_balancer.reset()
        self._sync_proxies()
        self._wire_nsg()
        for m in objects:
            self.state.put(m)
        self.system_keys = {m.key for m in objects}

    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> IngressController:
        """Run an in-cluster ingress controller: its namespace, pod, LoadBalancer Service, IngressClass."""
        ctl = get_controller(name)
        if ctl.placement is not Placement.POD:
            if default:
                self._set_default_class(ctl.class_name)
            return ctl
        assert ctl.namespace and ctl.pod_name and ctl.service_name
        from ...model import Namespace

        if ctl.namespace not in self.state.namespaces:
            self.state.ensure_namespace(Namespace(ctl.namespace))
        ports = (ContainerPort(80, Protocol.TCP, "http"), ContainerPort(443, Protocol.TCP, "https"), ContainerPort(10254, Protocol.TCP, "metrics"))
        # The kind flavour of the manifest schedules the controller on the control-plane node.
        pod = self.state.add_pod(Pod(ctl.namespace, ctl.pod_name, ctl.pod_labels, None, self.state.nodes[0].name, ports))
        self.state.system_pods.add(pod.ref)
        svc = Service(ctl.namespace, ctl.service_name, ServiceType.LOAD_BALANCER,
                      (ServicePort(80, "http", Protocol.TCP, "http"), ServicePort(443, "https", Protocol.TCP, "https")),
                      Labels({k: v for k, v in ctl.pod_labels.items()}), external_traffic_policy=TrafficPolicy.CLUSTER)
        svc_manifest = self._admit_service(_manifest("Service", "v1", ctl.namespace, ctl.service_name, svc), [])[0]
        cls = IngressClass(ctl.class_name, ctl.controller, default)
        if default:
            self._set_default_class(None)
        for m in (svc_manifest, _manifest("IngressClass", "networking.k8s.io/v1", "", ctl.class_name, cls)):
            self.state.put(m)
            self.system_keys.add(m.key)
        self.controllers[ctl.name] = ctl
        self._sync_proxies()
        return ctl

    def install_gateway_class(self, name: str) -> str:
        """The GatewayClass of a Gateway API implementation (``grader.gateway.implementations``), as its
        installation creates it; Gateways of the class then get their data plane (see _reconcile_gateway_pods)."""
        from ...gateway import get_implementation

        impl = get_implementation(name)
        m = _manifest("GatewayClass", "gateway.networking.k8s.io/v1", "", impl.class_name, GatewayClass(impl.class_name, impl.controller_name))
        self.state.put(m)
        self.system_keys.add(m.key)
        self._sync_proxies()
        return impl.class_name

    def _set_default_class(self, name: str | None) -> None:
        for key, m in list(self.state.objects.items()):
            if key.kind == "IngressClass":
                self.state.put(replace(m, obj=replace(m.obj, is_default=(m.obj.name == name))))

    # -- admission and storage ----------------------------------------------------------------
    def admission_problems(self, parsed: Sequence[Manifest]) -> list[FieldProblem]:
        """Allocate what the API server allocates, or say why it cannot; keeps the results for store()."""
        self._pending = {}
        self.clock += 1
        problems: list[FieldProblem] = []
        batch: list[Service] = []
        for m in parsed:
            if m.key.kind == "Service":
                admitted, found = self._admit_service(m, batch)
                problems += found
                if not found:
                    batch.append(admitted.obj)
                    self._pending[m.key] = admitted
            elif m.key.kind == "Ingress":
                admitted_ing, found = self._admit_ingress(m, parsed)
                problems += found
                self._pending[m.key] = admitted_ing
            elif m.key.kind == "Gateway":
                self._pending[m.key] = self._admit_gateway(m)
            elif m.key.kind == "HTTPRoute":
                self._pending[m.key] = replace(m, obj=with_creation_time(m.obj, self.state.objects.get(m.key), self.clock))
            elif m.key.kind in ("Pod", "Deployment") and m.key in self.system_keys:
                problems.append(FieldProblem(str(m.key), "", "is part of the cluster's system components; leave it alone"))
        return problems

    def _admit_service(self, m: Manifest, batch: Sequence[Service]) -> tuple[Manifest, list[FieldProblem]]:
        svc: Service = m.obj
        previous_m = self.state.objects.get(m.key)
        previous = previous_m.obj if previous_m is not None else None
        existing = [s for s in self.services() if (s.namespace, s.name) != (svc.namespace, svc.name)] + list(batch)
        allocated, problems = self.allocator.allocate(svc, existing, previous, str(m.key))
        if problems:
            return m, problems
        if allocated.type is ServiceType.LOAD_BALANCER:
            if previous is not None and previous.load_balancer_ip is not None and svc.requested_load_balancer_ip in (None, previous.load_balancer_ip) \
                    and svc.load_balancer_class == previous.load_balancer_class:
                ip: IPAddress | None = previous.load_balancer_ip
            else:
                ip, _ = self.provider.assign(allocated, self._node_network(), self.taken_addresses(exclude=m.key) | {s.load_balancer_ip for s in batch if s.load_balancer_ip})
            allocated = replace(allocated, load_balancer_ip=ip)
        return replace(m, obj=allocated), []

    def _admit_ingress(self, m: Manifest, parsed: Sequence[Manifest]) -> tuple[Manifest, list[FieldProblem]]:
        from ...ingress import default_class

        ing: Ingress = m.obj
        previous = self.state.objects.get(m.key)
        if ing.class_name is None and ing.class_annotation is None:
            if previous is not None and previous.obj.class_name is not None:
                # kubectl apply leaves a field the server set (the defaulted class) alone.
                return replace(m, obj=replace(ing, class_name=previous.obj.class_name)), []
            classes = dict(self.ingress_classes())
            classes.update({p.obj.name: p.obj for p in parsed if p.key.kind == "IngressClass"})
            chosen, problem = default_class(list(classes.values()))
            if problem:
                return m, [FieldProblem(str(m.key), "spec.ingressClassName", f"admission webhook DefaultIngressClass refused: {problem}")]
            if chosen is not None:
                return replace(m, obj=replace(ing, class_name=chosen.name)), []
        return m, []

    def _admit_gateway(self, m: Manifest) -> Manifest:
        gw: Gateway = m.obj
        previous = self.state.objects.get(m.key)
        if previous is not None and previous.obj.address is not None and previous.obj.class_name == gw.class_name:
            return replace(m, obj=replace(gw, address=previous.obj.address))
        classes = self.gateway_classes()
        gc = classes.get(gw.class_name)
        from ...gateway import by_controller

        impl = by_controller(gc.controller_name) if gc is not None else None
        if impl is None or impl.placement is not Placement.NODE_NETWORK:
            return m
        ip = next(self.provider.candidates(self._node_network(), self.taken_addresses(exclude=m.key)), None)
        return replace(m, obj=replace(gw, address=ip))

    def admitted(self, m: Manifest) -> Manifest:
        return self._pending.pop(m.key, m)

    def store(self, m: Manifest) -> bool:
        """Store kinds that have side effects (pods of a Deployment, a gateway's data plane)."""
        handled = self._store(m)
        if m.key.kind in ("Service", "Gateway", "GatewayClass", "Ingress", "IngressClass"):
            self._sync_proxies()
        return handled

    def _store(self, m: Manifest) -> bool:
        if m.key.kind == "Service":
            self.state.put(m)
            return True
        if m.key.kind == "Deployment":
            self._reconcile_deployment(m)
            return True
        if m.key.kind in ("Gateway", "GatewayClass"):
            self.state.put(m)
            self._reconcile_gateway_pods()
            return True
        if m.key.kind in ("Ingress", "IngressClass"):
            self.state.put(m)
            self._reconcile_ingress_addresses()
            return True
        return False

    def after_reset(self) -> None:
        """Re-derive what depends on other objects after the lab removed some of them."""
        self._reconcile_gateway_pods()
        self._reconcile_ingress_addresses()
        self.balancer.reset()
        self.dns_balancer.reset()
        self._sync_proxies()

    # -- Envoy containers next to the nodes, and the Azure NSG hook ------------------------------
    PROXY_PREFIX = "kindccm-"

    def _sync_proxies(self) -> None:
        """cloud-provider-kind's Envoy containers (one per LoadBalancer Service, per Gateway, per
        namespace with Ingresses) are machines on the node network: register them as hosts there,
        with the ports they listen on, so every part of the lab sees them (routing, refusal, sources)."""
        hosts = self.state.external_hosts
        for name in [n for n in hosts if n.startswith(self.PROXY_PREFIX)]:
            del hosts[name]
        wanted: list[ExternalHost] = []
        if self.provider.proxy:
            for svc in self.services():
                if svc.type is ServiceType.LOAD_BALANCER and svc.load_balancer_ip is not None:
                    ports = tuple(ContainerPort(p.port, p.protocol, p.name) for p in svc.ports)
                    wanted.append(ExternalHost(f"{self.PROXY_PREFIX}lb-{svc.namespace}-{svc.name}", svc.load_balancer_ip, "vnet",
                                               f"cloud-provider-kind Envoy for LoadBalancer Service {svc.ref}", ports))
        for gw in self.of_kind("Gateway"):
            if gw.address is not None:
                ports = tuple(sorted({ContainerPort(lst.port, Protocol.TCP, None) for lst in gw.listeners}, key=lambda c: c.port))
                wanted.append(ExternalHost(f"{self.PROXY_PREFIX}gw-{gw.namespace}-{gw.name}", gw.address, "vnet",
                                           f"cloud-provider-kind Envoy for Gateway {gw.ref}", ports))
        for ns, ip in self.ingress_addresses.items():
            wanted.append(ExternalHost(f"{self.PROXY_PREFIX}ingress-{ns}", ip, "vnet",
                                       f"cloud-provider-kind Envoy for the Ingresses of namespace {ns}",
                                       (ContainerPort(80, Protocol.TCP, "http"), ContainerPort(443, Protocol.TCP, "https"))))
        for h in wanted:
            hosts[h.name] = h
        self.state.touch()

    def _wire_nsg(self) -> None:
        """Give the NSG model (network-models' ``lab.network``, when present) the LoadBalancer frontends
        whose rules Azure adds; a no-op where that model does not exist."""
        net = getattr(self.lab, "network", None)
        if net is not None and hasattr(net, "load_balancers") and net.load_balancers != self.lb_frontends:
            net.load_balancers = self.lb_frontends

    def lb_frontends(self) -> list[Any]:
        """LoadBalancer Services as the Azure NSG model describes them (Azure provider only)."""
        try:
            from ...nsg import LoadBalancerFrontend, LoadBalancerPort  # type: ignore[attr-defined]
        except ImportError:
            return []
        if self.provider.name != "azure":
            return []
        out = []
        for svc in self.services():
            if svc.type is not ServiceType.LOAD_BALANCER or svc.load_balancer_ip is None:
                continue
            ann = svc.annotations
            out.append(LoadBalancerFrontend(
                svc.ref, svc.load_balancer_ip, tuple(LoadBalancerPort(p.port, p.protocol, p.node_port) for p in svc.ports),
                cloud_source_ranges(svc)[0], ann.get("service.beta.kubernetes.io/azure-load-balancer-internal") == "true",
                ann.get("service.beta.kubernetes.io/azure-disable-load-balancer-floating-ip") != "true",
                ann.get("service.beta.kubernetes.io/azure-deny-all-except-load-balancer-source-ranges") == "true",
            ))
        return out

    def on_delete(self, key: ObjectKey, manifest: Manifest | None) -> None:
        if key.kind == "Deployment" and manifest is not None:
            for name in manifest.obj.pods:
                self.state.remove_pod(PodRef(key.namespace, name))
        if key.kind in ("Gateway", "GatewayClass"):
            self._reconcile_gateway_pods()
        if key.kind in ("Ingress", "IngressClass"):
            self._reconcile_ingress_addresses()
        if key.kind in ("Service", "Gateway", "GatewayClass", "Ingress", "IngressClass", "Namespace"):
            self._sync_proxies()

    def _node_network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        from ...cni import NODE_NETWORK

        return NODE_NETWORK

    def taken_addresses(self, exclude: ObjectKey | None = None) -> set[IPAddress]:
        taken: set[IPAddress] = {n.ip for n in self.state.nodes} | {h.ip for h in self.state.external_hosts.values()}
        # Objects admitted in this apply but not stored yet hold their addresses too (grader/services/addresses.py).
        taken |= held_addresses((k.kind, m.obj) for k, m in [*self.state.objects.items(), *self._pending.items()] if k != exclude)
        taken |= set(self.ingress_addresses.values())
        net = self._node_network()
        taken.add(net[1])  # the docker network's gateway (the host)
        return taken

    def _reconcile_deployment(self, m: Manifest) -> None:
        from ...manifests.services import safe_encode, template_hash

        dep: Deployment = m.obj
        previous = self.state.objects.get(m.key)
        owned = list(previous.obj.pods) if previous is not None else []
        current = [p for p in (self.state.pod(PodRef(dep.namespace, n)) for n in owned) if p is not None]
        keep = [p for p in current if p.labels.get("pod-template-hash") == dep.template_hash]
        for p in current:
            if p not in keep:
                self.state.remove_pod(p.ref)  # a new template: the rollout replaces every pod
        # Scale down like a ReplicaSet: not-ready pods first, then the newest.
        keep.sort(key=lambda p: (not p.ready, owned.index(p.name) if p.name in owned else len(owned)))
        while len(keep) > dep.replicas:
            victim = keep.pop()
            self.state.remove_pod(victim.ref)
        names = [p.name for p in keep]
        labels = dep.template_labels.merged({"pod-template-hash": dep.template_hash})
        i = 0
        while len(names) < dep.replicas:
            suffix = safe_encode(template_hash({"n": f"{dep.namespace}/{dep.name}/{dep.template_hash}/{i}"}))[:5]
            name = f"{dep.name}-{dep.template_hash}-{suffix}"
            i += 1
            if name in names or self.state.pod(PodRef(dep.namespace, name)) is not None:
                continue
            self.state.add_pod(Pod(dep.namespace, name, labels, None, dep.node_name, dep.ports))
            names.append(name)
        ordered = tuple(n for n in owned if n in names) + tuple(n for n in names if n not in owned)
        self.state.put(replace(m, obj=replace(dep, pods=ordered)))

    def _reconcile_gateway_pods(self) -> None:
        """Pod data planes (approuting-istio): one Envoy pod and LoadBalancer Service per Gateway."""
        from ...gateway import implementation_for

        classes = self.gateway_classes()
        wanted: dict[ObjectKey, tuple[Gateway, Any]] = {}
        for gw in self.in_order("Gateway"):
            impl = implementation_for(gw, classes)
            if impl is not None and impl.placement is Placement.POD:
                wanted[ObjectKey("Service", gw.namespace, f"{gw.name}-{impl.deployment_suffix}")] = (gw, impl)
        for key in [k for k in self.system_keys if k.kind == "Service" and k.name.endswith("-approuting-istio")]:
            if key not in wanted:
                self.state.remove(key)
                self.state.remove_pod(PodRef(key.namespace, key.name))
                self.system_keys.discard(key)
        for key, (gw, _impl) in wanted.items():
            if key in self.state.objects:
                continue
            labels = Labels({"gateway.networking.k8s.io/gateway-name": gw.name})
            ports = tuple(sorted({ContainerPort(lst.port, Protocol.TCP, None) for lst in gw.listeners}, key=lambda c: c.port))
            pod = self.state.add_pod(Pod(gw.namespace, key.name, labels, None, None, ports))
            self.state.system_pods.add(pod.ref)
            sports = tuple(ServicePort(p.port, p.port, Protocol.TCP, f"p{p.port}") for p in ports)
            svc = Service(gw.namespace, key.name, ServiceType.LOAD_BALANCER, sports, labels, external_traffic_policy=TrafficPolicy.CLUSTER)
            admitted, problems = self._admit_service(_manifest("Service", "v1", gw.namespace, key.name, svc), [])
            if not problems:
                self.state.put(admitted)
                self.system_keys.add(key)

    def _reconcile_ingress_addresses(self) -> None:
        """cloud-provider-kind gives each namespace with Ingresses of its class one Gateway address."""
        from ...ingress import class_of

        classes = self.ingress_classes()
        namespaces = []
        for ing in self.in_order("Ingress"):
            if class_of(ing, CLOUD_PROVIDER_KIND, classes).served and ing.namespace not in namespaces:
                namespaces.append(ing.namespace)
        for ns in list(self.ingress_addresses):
            if ns not in namespaces:
                del self.ingress_addresses[ns]
        for ns in namespaces:
            if ns not in self.ingress_addresses:
                ip = next(self.provider.candidates(self._node_network(), self.taken_addresses()), None)
                if ip is not None:
                    self.ingress_addresses[ns] = ip

    # -- lessons' views -----------------------------------------------------------------------
    def service_infos(self, namespace: str | None = None) -> list[ServiceInfo]:
        pods = self.pods()
        slices = self.slices()
        out = []
        for svc in self.services():
            if namespace is not None and svc.namespace != namespace:
                continue
            ready = {b.label for pe in service_endpoints(svc, pods, slices) for b in pe.ready}
            out.append(ServiceInfo.of(svc, len(ready)))
        return out

    def find_service(self, name: str) -> Service:
        text = name.removeprefix("service/").removeprefix("svc/")
        ns, sep, svc_name = text.partition("/")
        if not sep:
            ns, svc_name = "default", text
        if "." in svc_name and not sep:
            svc_name, _, ns = svc_name.partition(".")
            ns = ns.split(".")[0]
        svc = self.service(ns, svc_name)
        if svc is None:
            known = ", ".join(s.ref for s in self.services())
            raise LabError(f"no Service {ns}/{svc_name}; Services: {known}")
        return svc

    def endpoints_info(self, name: str) -> EndpointsInfo:
        svc = self.find_service(name)
        return EndpointsInfo(svc.ref, service_endpoints(svc, self.pods(), self.slices()))

    def set_ready(self, pod: str, ready: bool) -> None:
        found = self.state.pod(PodRef.parse(pod))
        if found is None:
            raise LabError(f"no pod {pod}")
        self.state.add_pod(replace(found, ready=ready))

    def scale(self, deployment: str, replicas: int) -> list[str]:
        text = deployment.removeprefix("deployment/").removeprefix("deploy/")
        ns, sep, name = text.partition("/")
        if not sep:
            ns, name = "default", text
        m = self.state.objects.get(ObjectKey("Deployment", ns, name))
        if m is None:
            raise LabError(f"no Deployment {ns}/{name}")
        if replicas < 0:
            raise LabError("replicas must be 0 or more")
        self._reconcile_deployment(replace(m, obj=replace(m.obj, replicas=replicas)))
        return [f"{ns}/{p}" for p in self.state.objects[m.key].obj.pods]

    # -- DNS ---------------------------------------------------------------------------------
    def zone(self) -> ClusterZone:
        pods = self.pods()
        slices = self.slices()
        services = self.services()
        headless = {s.ref: [ip for _, ip in ready_pod_addresses(s, pods, slices)] for s in services if s.headless}
        upstream = {h.name: h.ip for h in self.state.external_hosts.values() if h.name != "host" and "." in h.name}
        return ClusterZone(services, list(self.state.namespaces), headless, upstream)

    def lookup(self, src: Endpoint, name: str) -> tuple[Lookup | None, Routed | None, list[Hop]]:
        """Resolve ``name`` as ``src`` would; a failure comes back as a DNS_FAILED ``Routed``."""
        zone = self.zone()
        if src.kind is EndpointKind.POD and src.pod is not None and not src.pod.host_network:
            kube_dns = self.service(*KUBE_DNS)
            if kube_dns is None or kube_dns.cluster_ip is None:
                return None, _fail(Verdict.DNS_FAILED, "there is no kube-dns Service, so pods have no DNS server"), []
            udp = kube_dns.port(53, Protocol.UDP)
            assert udp is not None
            ready = port_endpoints(kube_dns, udp, self.pods()).ready
            if not ready:
                return None, _fail(Verdict.DNS_FAILED, "kube-dns has no ready endpoints: every DNS query times out"), []
            server = self.dns_balancer.choice(ready)
            server_ep = self._backend_endpoint(server)
            verdict = self.evaluate(src, server_ep, 53, Protocol.UDP)
            via = f"kube-dns {kube_dns.cluster_ip}:53 → {server.label}"
            if not verdict.allowed:
                reason = (
                    f"DNS lookup of {name!r} failed: egress to kube-dns on 53/UDP is not allowed (the query to {via} is dropped by network policy).\n"
                    f"{verdict.explain()}\n"
                    "A pod whose egress is isolated needs an egress rule allowing UDP and TCP port 53 to kube-dns "
                    "(to: namespaceSelector kubernetes.io/metadata.name=kube-system, podSelector k8s-app=kube-dns); "
                    "without it every lookup times out, even when the destination itself is allowed."
                )
                return None, _fail(Verdict.DNS_FAILED, reason, [Hop("dns", f"query for {name!r} to {via} 53/UDP: dropped by NetworkPolicy")]), []
            tcp_note = ""
            if not self.evaluate(src, server_ep, 53, Protocol.TCP).allowed:
                tcp_note = " (53/TCP is blocked: answers too large for UDP would fail)"
            found = resolve_in_pod(zone, name, src.pod.namespace, src.name, via)
        else:
            found = resolve_outside(zone, name, src.label)
            via = found.resolver
            tcp_note = ""
        if not found.ok:
            return found, _fail(Verdict.DNS_FAILED, f"{name!r} does not resolve (NXDOMAIN)\n{found.explain()}",
                                [Hop("dns", f"{name!r}: NXDOMAIN after {len(found.answers)} quer{'y' if len(found.answers) == 1 else 'ies'} via {via}")]), []
        addresses = ", ".join(str(a) for a in found.addresses)
        final = found.final
        assert final is not None
        # The network model (network-models' ``lab.network``), when present, has the last word on
        # the DNS traffic itself: NSGs on the way to CoreDNS, Cilium's DNS proxy (which filters
        # names and records answers for toFQDNs).
        their_lookup = getattr(getattr(self.lab, "network", None), "lookup", None)
        if their_lookup is not None and src.kind is EndpointKind.POD:
            checked = their_lookup(src, final.query, found.addresses[0])
            if not checked.ok:
                return found, _fail(checked.verdict, checked.reason, list(checked.hops)), []
            extra = [h for h in checked.hops if "DNS proxy" in h.detail]
        else:
            extra = []
        tried = "" if len(found.answers) == 1 else f" after {len(found.answers)} queries (search path)"
        detail = f"{name!r} → {final.query} → {addresses}{tried} via {via}{tcp_note}"
        if final.note:
            detail += f"; {final.note}"
        return found, None, [Hop("dns", detail), *extra]

    def evaluate(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol) -> Any:
        """Policy verdict for one flow: the network model's combined evaluation (NetworkPolicy and
        Cilium policies) when the lab has one, else NetworkPolicy alone. Has ``allowed``/``explain()``."""
        evaluate = getattr(getattr(self.lab, "network", None), "evaluate", None)
        if evaluate is not None:
            return evaluate(src, dst, port, protocol)
        return self.lab.policy_engine().evaluate(Flow(src, dst, port, protocol))

    # -- L4 routing ----------------------------------------------------------------------------
    def resolve(self, src: Endpoint, destination: str, port: int | str | None, protocol: Protocol) -> Routed | None:
        """Route ``destination`` when it involves a name, a Service, a nodePort or a load balancer;
        None when it is a plain pod, node or external host the lab delivers to directly."""
        if "/" in destination:
            return None
        self._wire_nsg()
        if destination.startswith(self.PROXY_PREFIX):
            return None
        if destination.startswith("node:"):
            node_name, _, port_text = destination[5:].partition(":")
            node = self.state.node(node_name)
            if port_text:
                port = int(port_text) if port_text.isdigit() else port
            return self._to_node(src, node, port, protocol, [])
        if destination == "host" or (destination in self.state.external_hosts and "." not in destination):
            return None
        if destination in self.state.external_hosts:
            if src.kind is EndpointKind.POD and destination != "host":
                found, failed, hops = self.lookup(src, destination)
                if failed is not None:
                    return failed
                host = self.state.external_hosts[destination]
                return Routed(Endpoint.external(host.ip, host.name), self._external_port(host, port, protocol), tuple(hops))
            return None
        try:
            ip = ipaddress.ip_address(destination)
        except ValueError:
            found, failed, hops = self.lookup(src, destination)
            if failed is not None:
                return failed
            assert found is not None
            addresses = list(found.addresses)
            ip = self.dns_balancer.choice(addresses) if len(addresses) > 1 else addresses[0]
            routed = self.route_ip(src, ip, port, protocol)
            if routed is None:
                owner = self.state.owner_of(ip)
                endpoint = self._endpoint_of(owner, ip)
                if endpoint is None:
                    return _fail(Verdict.BLOCKED, f"{destination} resolves to {ip}, but nothing in the lab answers there (no route)", hops)
                return Routed(endpoint, self._default_port(endpoint, port, protocol), tuple(hops), lookup=found)
            return replace(routed.with_hops(hops), lookup=found)
        return self.route_ip(src, ip, port, protocol)

    def _external_port(self, host: ExternalHost, port: int | str | None, protocol: Protocol) -> int | None:
        if isinstance(port, int):
            return port
        if isinstance(port, str) and port.isdigit():
            return int(port)
        named = [c for c in host.ports if c.protocol == protocol and (port is None or c.name == port)]
        return named[0].port if named else None

    def _default_port(self, endpoint: Endpoint, port: int | str | None, protocol: Protocol) -> int | None:
        if isinstance(port, int):
            return port
        if isinstance(port, str) and port.isdigit():
            return int(port)
        if endpoint.pod is not None:
            if port is None:
                served = [c for c in endpoint.pod.ports if c.protocol == protocol]
                return served[0].port if served else None
            named = endpoint.pod.named_port(port, protocol)
            return named.port if named else None
        return None

    def _endpoint_of(self, owner: Any, ip: IPAddress) -> Endpoint | None:
        if isinstance(owner, Pod):
            return Endpoint.of_pod(owner)
        if isinstance(owner, ExternalHost):
            return Endpoint.external(owner.ip, owner.name)
        if isinstance(owner, Node):
            return Endpoint.of_node(owner)
        return None

    def route_ip(self, src: Endpoint, ip: IPAddress, port: int | str | None, protocol: Protocol) -> Routed | None:
        for svc in self.services():
            if svc.cluster_ip == ip:
                return self._to_cluster_ip(src, svc, port, protocol)
        for svc in self.services():
            if svc.load_balancer_ip == ip and svc.type is ServiceType.LOAD_BALANCER:
                return self._to_load_balancer(src, svc, port, protocol)
        for node in self.state.nodes:
            if node.ip == ip:
                return self._to_node(src, node, port, protocol, [])
        proxy = self.proxy_at(ip)
        if proxy is not None:
            label, ports = proxy
            number = int(port) if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else (80 if port is None else None)
            if number is None:
                return _fail(Verdict.PROBE_FAILED, f"{label} has no port named {port!r}")
            hops = []
            if src.kind is EndpointKind.POD:
                hops.append(Hop("egress", f"{src.label} → {ip}:{number} leaves the pod network; the node masquerades it to its own address"))
            return Routed(Endpoint.external(ip, label), number, tuple(hops))
        return None

    def proxy_at(self, ip: IPAddress) -> tuple[str, tuple[int, ...]] | None:
        """Envoy containers on the node network: cloud-provider-kind Gateways and Ingress gateways."""
        for gw in self.of_kind("Gateway"):
            if gw.address == ip:
                return f"{self.PROXY_PREFIX}gw-{gw.namespace}-{gw.name}", tuple(sorted({lst.port for lst in gw.listeners}))
        for ns, addr in self.ingress_addresses.items():
            if addr == ip:
                return f"{self.PROXY_PREFIX}ingress-{ns}", (80, 443)
        return None

    def listens(self, dst: Endpoint, port: int, protocol: Protocol) -> bool:
        """Whether something the Services layer models accepts ``port`` on ``dst`` (Envoy proxies, the API server)."""
        if protocol is not Protocol.TCP:
            return False
        proxy = self.proxy_at(dst.ip)
        if proxy is not None:
            return port in proxy[1]
        if dst.kind is EndpointKind.NODE and dst.node == self.state.nodes[0].name and port == API_SERVER_PORT:
            return True
        return False

    def _backend_endpoint(self, b: Backend) -> Endpoint:
        if b.pod is not None:
            pod = self.state.pod(b.pod)
            if pod is not None:
                return Endpoint.of_pod(pod)
        owner = self.state.owner_of(b.ip)
        endpoint = self._endpoint_of(owner, b.ip)
        return endpoint if endpoint is not None else Endpoint.external(b.ip)

    def _pick(self, svc: Service, sport: ServicePort, backends: Sequence[Backend], client: Endpoint) -> tuple[Backend, Endpoint, str]:
        chosen, note = self.balancer.pick(svc, sport.port, backends, str(client.ip))
        return chosen, self._backend_endpoint(chosen), note

    def _service_port(self, svc: Service, port: int | str | None, protocol: Protocol) -> ServicePort | None:
        return svc.port(port, protocol)

    def _dnat_hop(self, svc: Service, entry: str, sport: ServicePort, chosen: Backend, eligible: Sequence[Backend], note: str) -> Hop:
        n = len(eligible)
        detail = (f"{svc.ref} {entry} → DNAT to {chosen.label} {chosen.ip}:{chosen.port} "
                  f"(1 of {n} eligible endpoint{'s' if n != 1 else ''})")
        if note:
            detail += f"; {note}"
        return Hop("service", detail)

    def _to_cluster_ip(self, src: Endpoint, svc: Service, port: int | str | None, protocol: Protocol) -> Routed:
        sport = self._service_port(svc, port, protocol)
        address = str(svc.cluster_ip)
        if sport is None:
            listing = ", ".join(f"{p.port}/{p.protocol}" + (f" ({p.name})" if p.name else "") for p in svc.ports)
            wanted = "a port" if port is None else f"port {port}/{protocol}"
            why = f"Service {svc.ref} ({address}) has no {wanted} (its ports: {listing})"
            if port is None:
                return _fail(Verdict.PROBE_FAILED, why + ": name the port")
            if self.lab.profile.kube_proxy_mode == "nftables":
                # kube-proxy's nftables mode rejects packets to undefined ports of active ClusterIPs
                # (kubernetes pkg/proxy/nftables/README.md, kubernetes#122692, KEP-3866).
                return _fail(Verdict.REFUSED, why + ": kube-proxy's nftables mode rejects packets to ports a ClusterIP does not define")
            # iptables mode has no rule for it (and Cilium's eBPF service map no entry, cilium#13329): the
            # packet leaves for a virtual address nobody owns and is lost.
            return _fail(Verdict.BLOCKED, why + ": kube-proxy has no rule for it and the virtual IP answers nothing")
        if src.kind is EndpointKind.EXTERNAL:
            return _fail(Verdict.BLOCKED, (
                f"{address} is the clusterIP of {svc.ref}: a virtual address that only kube-proxy on the cluster's nodes "
                f"translates, so {src.label} has no route to it. From outside use a NodePort or LoadBalancer Service (or an Ingress/Gateway)."
            ))
        pe = port_endpoints(svc, sport, self.pods(), self.slices())
        elig = via_cluster_ip(svc, pe.backends, src.node)
        if elig.refused:
            return _fail(Verdict.REFUSED, elig.refused, [Hop("service", f"{svc.ref} {address}:{sport.port}: REJECT (no endpoints)")])
        if elig.dropped:
            return _fail(Verdict.BLOCKED, elig.dropped, [Hop("service", f"{svc.ref} {address}:{sport.port}: DROP (no local endpoints)")])
        chosen, dst, note = self._pick(svc, sport, elig.backends, src)
        hops = [self._dnat_hop(svc, f"clusterIP {address}:{sport.port}/{sport.protocol}", sport, chosen, elig.backends, "; ".join(x for x in (note, elig.note) if x))]
        seen = src
        if src.kind is EndpointKind.POD and dst.kind is EndpointKind.POD and dst.pod is not None and src.pod is not None and dst.pod.ref == src.pod.ref:
            node = self.state.node(src.node) if src.node else None
            if node is not None:
                seen = Endpoint.of_node(node)
                hops.append(Hop("snat", f"hairpin: {src.label} reached itself through its Service, so kube-proxy masquerades to {node.name} ({node.ip})"))
        # No "forward" hop here: kube-proxy DNATs on the client's node, and the route to the chosen
        # endpoint's node is the datapath trace that follows (after egress policy has judged it).
        return Routed(dst, chosen.port, tuple(hops), source=seen, service=svc)

    def _leg_check(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol, what: str) -> Routed | None:
        """Policy on a leg that is not the last one (a pod's egress to a node or a load balancer)."""
        if src.kind is not EndpointKind.POD:
            return None
        verdict = self.evaluate(src, dst, port, protocol)
        if verdict.allowed:
            return None
        return _fail(Verdict.BLOCKED, f"{what}: blocked by NetworkPolicy\n{verdict.explain()}", [Hop("policy", f"{src.label} → {dst.label} {port}/{protocol}: dropped")])

    def _to_node(self, src: Endpoint, node: Node, port: int | str | None, protocol: Protocol, hops: list[Hop]) -> Routed | None:
        """A connection to a node's address: a nodePort goes to its Service; anything else to the node."""
        number = int(port) if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else None
        if number is None:
            return None
        for svc in self.services():
            sport = svc.node_port(number, protocol)
            if sport is not None:
                return self._arrive_at_node(src, src, node, svc, sport, hops)
        return None

    def _arrive_at_node(self, src: Endpoint, client: Endpoint, node: Node, svc: Service, sport: ServicePort, hops: list[Hop], *, leg: bool = True) -> Routed:
        """``client`` (as the node sees it) reaches ``node``:nodePort of ``svc``; ``leg``: the client
        sent the packet to the node's address (its egress policy sees the node)."""
        node_ep = Endpoint.of_node(node)
        blocked = self._leg_check(src, node_ep, sport.node_port or 0, sport.protocol, f"{src.label} → {node.name}:{sport.node_port}") if leg else None
        if blocked is not None:
            return blocked.with_hops(hops)
        if leg:
            # The client's packet to the node address crosses the network first: route and NSGs.
            first_leg = getattr(getattr(self.lab, "network", None), "first_leg", None)
            if first_leg is not None:
                why, leg_hops = first_leg(src, node_ep, sport.node_port or 0, sport.protocol)
                hops = [*hops, *leg_hops]
                if why is not None:
                    return _fail(Verdict.BLOCKED, why, hops)
        hops = [*hops, Hop("nodeport", f"{node.name} {node.ip}:{sport.node_port}/{sport.protocol} → Service {svc.ref} port {sport.port}")]
        in_cluster = client.kind in (EndpointKind.POD, EndpointKind.NODE)
        pe = port_endpoints(svc, sport, self.pods(), self.slices())
        elig = via_node(svc, pe.backends, node.name, client_in_cluster=in_cluster)
        if elig.refused:
            return _fail(Verdict.REFUSED, elig.refused, hops)
        if elig.dropped:
            return _fail(Verdict.BLOCKED, elig.dropped, hops)
        chosen, dst, note = self._pick(svc, sport, elig.backends, client)
        hops.append(self._dnat_hop(svc, f"nodePort {sport.node_port} (port {sport.port}/{sport.protocol})", sport, chosen, elig.backends, note))
        seen = client
        snat, why = elig.snat, elig.note
        if snat and not in_cluster:
            # Which source the backend (and its ingress policy) sees depends on the datapath: kube-proxy
            # always masquerades, Cilium's kube-proxy replacement keeps the client for a local backend.
            view = external_service_ingress(self.lab.profile, external_traffic_policy="Cluster", backend_on_receiving_node=chosen.node == node.name)
            snat = view.seen_source is SeenSource.RECEIVING_NODE
            why = view.reason
        if snat or client.kind is EndpointKind.NODE:
            seen = node_ep
            hops.append(Hop("snat", f"{why or 'traffic from the node itself'}: source {client.ip} → {node.ip}"))
        elif why:
            hops.append(Hop("service", why))
        if chosen.node and chosen.node != node.name:
            hops.append(Hop("forward", f"{node.name} → {chosen.node} (the endpoint runs on another node)"))
        return Routed(dst, chosen.port, tuple(hops), source=seen, service=svc, via=node.name)

    def _to_load_balancer(self, src: Endpoint, svc: Service, port: int | str | None, protocol: Protocol) -> Routed:
        sport = self._service_port(svc, port, protocol)
        lb_ip = svc.load_balancer_ip
        assert lb_ip is not None
        if sport is None:
            return _fail(Verdict.BLOCKED if port is not None else Verdict.PROBE_FAILED,
                         f"load balancer {lb_ip} of {svc.ref} has no port {port}/{protocol}")
        provider = self.provider
        pe = port_endpoints(svc, sport, self.pods(), self.slices())
        workers = [n.name for n in backend_nodes(self.state.nodes)]
        lb_ep = Endpoint.external(lb_ip, f"load balancer {svc.ref}")
        if provider.proxy:
            # The client talks to the Envoy container; pods leave the pod network (the node masquerades).
            client_at_lb = src
            hops: list[Hop] = []
            blocked = self._leg_check(src, lb_ep, sport.port, protocol, f"{src.label} → load balancer {lb_ip}:{sport.port}")
            if blocked is not None:
                return blocked
            if src.kind is EndpointKind.POD and src.node:
                node = self.state.node(src.node)
                client_at_lb = Endpoint.of_node(node)
                hops.append(Hop("egress", f"{src.label} → {lb_ip} leaves the pod network: {node.name} masquerades it to {node.ip} "
                                          f"(ipMode: Proxy, so kube-proxy does not short-circuit the load-balancer address)"))
            denied = source_allowed(svc, client_at_lb.ip)
            if denied:
                return _fail(Verdict.BLOCKED, denied, [*hops, Hop("load-balancer", f"{lb_ip}:{sport.port}: source {client_at_lb.ip} refused by loadBalancerSourceRanges")])
            ignored = ignored_annotation_note(svc, provider.name)
            if ignored:
                hops.append(Hop("load-balancer", ignored))
            if sport.node_port is None:
                return _fail(Verdict.REFUSED, f"{svc.ref} has allocateLoadBalancerNodePorts: false, but {provider.name} forwards to nodePorts", hops)
            ready = pe.ready
            if not ready:
                reason = via_node(svc, pe.backends, workers[0], client_in_cluster=False).refused
                return _fail(Verdict.REFUSED, f"{reason}; Envoy accepts and then resets the connection", [*hops, Hop("load-balancer", f"{lb_ip}:{sport.port} ({provider.name} Envoy): every upstream refuses")])
            healthy, note = healthy_lb_nodes(svc, pe.backends, workers)
            if not healthy:
                return _fail(Verdict.REFUSED, f"{note}; Envoy has no healthy upstream and resets the connection", hops)
            node = self.state.node(self.balancer.choice(healthy))
            hops.append(Hop("load-balancer", f"{lb_ip}:{sport.port} ({provider.name} Envoy, ends the client's TCP connection, so backends "
                                              f"never see {client_at_lb.ip}) → {node.name} {node.ip}:{sport.node_port} ({note})"))
            return self._arrive_at_node(lb_ep, lb_ep, node, svc, sport, hops, leg=False)
        # Pass-through load balancer (ipMode VIP).
        if src.kind in (EndpointKind.POD, EndpointKind.NODE) and src.node:
            denied = source_allowed(svc, src.ip)
            if denied:
                return _fail(Verdict.BLOCKED, denied.replace("the load balancer drops it", f"kube-proxy on {src.node} drops it")
                             + " (kube-proxy enforces the ranges on the node too: add the pod CIDR if pods must use the address)")
            node = self.state.node(src.node)
            hops = [Hop("load-balancer", f"{lb_ip}:{sport.port}: kube-proxy on {node.name} handles the load-balancer address itself (ipMode: VIP)")]
            return self._arrive_at_node(src, src, node, svc, sport, hops, leg=False)
        denied = source_allowed(svc, src.ip)
        admit = getattr(getattr(self.lab, "network", None), "admit_from_load_balancer", None)
        nsg_modelled = admit is not None and getattr(self.lab.network, "nsg_attached", lambda: False)()
        if denied and not nsg_modelled:
            # No NSG in the model: kube-proxy on the node enforces the ranges (fact aks-lb-source-ranges).
            return _fail(Verdict.BLOCKED, denied.replace("the load balancer drops it", "kube-proxy on the node drops it"),
                         [Hop("load-balancer", f"{lb_ip}:{sport.port}: dropped (loadBalancerSourceRanges)")])
        cloud_denied = cloud_source_allowed(svc, src.ip) if not denied else ""
        if cloud_denied and not nsg_modelled:
            # Only the legacy annotation narrows the sources: kube-proxy ignores it, but Azure writes it
            # into the NSG allow rule it adds for the Service (cloud-provider-azure AllowedIPRanges).
            return _fail(Verdict.BLOCKED, cloud_denied.replace("the load balancer drops it", "the allow rule Azure adds to the node NSG "
                                                               "admits only those (kube-proxy does not read the annotation)"),
                         [Hop("load-balancer", f"{lb_ip}:{sport.port}: dropped by the NSG rule for {svc.ref} ({SOURCE_RANGES_ANNOTATION})")])
        healthy, note = healthy_lb_nodes(svc, pe.backends, workers)
        if not pe.ready:
            return _fail(Verdict.REFUSED, via_node(svc, pe.backends, workers[0], client_in_cluster=False).refused)
        if not healthy:
            return _fail(Verdict.BLOCKED, f"{note}: the load balancer has no healthy backend node and drops the connection")
        node = self.state.node(self.balancer.choice(healthy))
        hops = [Hop("load-balancer", f"{lb_ip}:{sport.port} ({provider.name}, pass-through) → {node.name} ({note})")]
        # Azure NSGs on the node see the client address and the frontend IP (network-models' NSG model, when present).
        # Azure writes loadBalancerSourceRanges into the allow rule it adds, so with an NSG attached the
        # NSG is what drops other sources (and kube-proxy would too).
        if admit is not None:
            decisions = list(admit(src.ip, lb_ip, sport.port, sport.protocol, node.name))
            hops += [Hop("nsg", d.render()) for d in decisions]
            dropped = next((d for d in decisions if not d.allowed), None)
            if dropped is not None:
                return _fail(Verdict.BLOCKED, f"dropped by an Azure NSG on {node.name}: {dropped.render()}", hops)
        if denied:
            return _fail(Verdict.BLOCKED, denied.replace("the load balancer drops it", f"kube-proxy on {node.name} drops it"), hops)
        return self._arrive_at_node(src, src, node, svc, sport, hops, leg=False)


__all__ = ["Routed", "ServiceNetwork"]
