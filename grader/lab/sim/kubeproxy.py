"""kube-proxy (and kube-dns) of the simulated cluster: names, Service addresses, nodePorts and
load-balancer addresses routed hop by hop, each step a ``Hop`` of the trace:

1. ``dns``: pods ask kube-dns (its clusterIP, DNATed to a CoreDNS pod) -- that query is traffic,
   checked against NetworkPolicy like any other flow; nodes and outside machines use the node's
   resolver, which knows the outside world but not ``cluster.local``.
2. ``service`` / ``nodeport`` / ``load-balancer``: kube-proxy's rules (``grader.services.routing``)
   pick the eligible endpoints, one is chosen by the seeded balancer, SNAT is applied where
   kube-proxy applies it.
3. The last leg (source as the backend sees it → backend pod, targetPort) is delivered by
   ``SimNetwork.deliver`` (through ``traffic.Traffic``), which evaluates NetworkPolicy on the
   pod after DNAT.

It reads Services, EndpointSlices and pods from the :class:`~grader.lab.sim.controlplane.ControlPlane`
and evaluates flows through the network model (``SimNetwork``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ...cilium import CombinedVerdict
from ...cni import CniProfile
from ...cni.divergences import SeenSource, external_service_ingress
from ...dns import ClusterZone, Lookup, resolve_in_pod, resolve_outside
from ...model import Endpoint, EndpointKind, ExternalHost, Node, Pod, Protocol
from ...model.cluster import IPAddress
from ...model.services import Service, ServicePort, ServiceType
from ...reachability import Hop, Verdict
from ...reachability.endpoints import (
    Address,
    EndpointName,
    ExternalName,
    NodeName,
    NodePort,
    PodName,
)
from ...services import (
    SOURCE_RANGES_ANNOTATION,
    Backend,
    backend_nodes,
    cloud_source_allowed,
    healthy_lb_nodes,
    ignored_annotation_note,
    port_endpoints,
    ready_pod_addresses,
    source_allowed,
    via_cluster_ip,
    via_node,
)
from .controlplane import API_SERVER_PORT, KUBE_DNS, PROXY_PREFIX, ControlPlane
from .network import SimNetwork
from .state import ClusterState


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


class KubeProxy:
    """Routes names and Service addresses to the endpoint that receives the packet."""

    def __init__(self, control: ControlPlane, state: ClusterState, profile: CniProfile, network: SimNetwork) -> None:
        self.control = control
        self.state = state
        self.profile = profile
        self.network = network

    # -- DNS ---------------------------------------------------------------------------------
    def zone(self) -> ClusterZone:
        pods = self.control.pods()
        slices = self.control.slices()
        services = self.control.services()
        headless = {s.ref: [ip for _, ip in ready_pod_addresses(s, pods, slices)] for s in services if s.headless}
        upstream = {h.name: h.ip for h in self.state.external_hosts.values() if h.name != "host" and "." in h.name}
        return ClusterZone(services, list(self.state.namespaces), headless, upstream)

    def lookup(self, src: Endpoint, name: str) -> tuple[Lookup | None, Routed | None, list[Hop]]:
        """Resolve ``name`` as ``src`` would; a failure comes back as a DNS_FAILED ``Routed``."""
        zone = self.zone()
        if src.kind is EndpointKind.POD and src.pod is not None and not src.pod.host_network:
            kube_dns = self.control.service(*KUBE_DNS)
            if kube_dns is None or kube_dns.cluster_ip is None:
                return None, _fail(Verdict.DNS_FAILED, "there is no kube-dns Service, so pods have no DNS server"), []
            udp = kube_dns.port(53, Protocol.UDP)
            assert udp is not None
            ready = port_endpoints(kube_dns, udp, self.control.pods()).ready
            if not ready:
                return None, _fail(Verdict.DNS_FAILED, "kube-dns has no ready endpoints: every DNS query times out"), []
            server = self.control.dns_balancer.choice(ready)
            server_ep = self.backend_endpoint(server)
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
        # The network model has the last word on the DNS traffic itself: NSGs on the way to
        # CoreDNS, Cilium's DNS proxy (which filters names and records answers for toFQDNs).
        if src.kind is EndpointKind.POD:
            checked = self.network.lookup(src, final.query, found.addresses[0])
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

    def evaluate(self, src: Endpoint, dst: Endpoint, port: int, protocol: Protocol) -> CombinedVerdict:
        """Policy verdict for one flow: the network model's combined evaluation (NetworkPolicy and
        Cilium policies). Has ``allowed``/``explain()``."""
        return self.network.evaluate(src, dst, port, protocol)

    # -- L4 routing ----------------------------------------------------------------------------
    def resolve(self, src: Endpoint, destination: EndpointName, port: int | str | None, protocol: Protocol) -> Routed | None:
        """Route ``destination`` when it involves a name, a Service, a nodePort or a load balancer;
        None when it is a plain pod, node or external host the lab delivers to directly."""
        if isinstance(destination, PodName):
            return None
        self.control.wire_nsg()
        if isinstance(destination, NodeName | NodePort):
            node = self.state.node(destination.node)
            return self._to_node(src, node, destination.port if isinstance(destination, NodePort) else port, protocol, [])
        if isinstance(destination, Address):
            return self.route_ip(src, destination.ip, port, protocol)
        name = destination.name
        if isinstance(destination, ExternalName):
            if destination.is_host or self.control.is_proxy(name) or "." not in name or src.kind is not EndpointKind.POD:
                return None  # no DNS involved: the lab delivers to that machine directly
            found, failed, hops = self.lookup(src, name)
            if failed is not None:
                return failed
            host = self.state.external_hosts[name]
            return Routed(Endpoint.external(host.ip, host.name), self._external_port(host, port, protocol), tuple(hops))
        found, failed, hops = self.lookup(src, name)
        if failed is not None:
            return failed
        assert found is not None
        addresses = list(found.addresses)
        ip = self.control.dns_balancer.choice(addresses) if len(addresses) > 1 else addresses[0]
        routed = self.route_ip(src, ip, port, protocol)
        if routed is None:
            owner = self.state.owner_of(ip)
            endpoint = self._endpoint_of(owner, ip)
            if endpoint is None:
                return _fail(Verdict.BLOCKED, f"{name} resolves to {ip}, but nothing in the lab answers there (no route)", hops)
            return Routed(endpoint, self._default_port(endpoint, port, protocol), tuple(hops), lookup=found)
        return replace(routed.with_hops(hops), lookup=found)

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
        for svc in self.control.services():
            if svc.cluster_ip == ip:
                return self.to_cluster_ip(src, svc, port, protocol)
        for svc in self.control.services():
            if svc.load_balancer_ip == ip and svc.type is ServiceType.LOAD_BALANCER:
                return self._to_load_balancer(src, svc, port, protocol)
        for node in self.state.nodes:
            if node.ip == ip:
                return self._to_node(src, node, port, protocol, [])
        proxy = self.proxy_at(ip)
        if proxy is not None:
            label, _ports = proxy
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
        for gw in self.control.of_kind("Gateway"):
            if gw.address == ip:
                return f"{PROXY_PREFIX}gw-{gw.namespace}-{gw.name}", tuple(sorted({lst.port for lst in gw.listeners}))
        for ns, addr in self.control.ingress_addresses.items():
            if addr == ip:
                return f"{PROXY_PREFIX}ingress-{ns}", (80, 443)
        return None

    def listens(self, dst: Endpoint, port: int, protocol: Protocol) -> bool:
        """Whether something the Services layer models accepts ``port`` on ``dst`` (Envoy proxies, the API server)."""
        if protocol is not Protocol.TCP:
            return False
        proxy = self.proxy_at(dst.ip)
        if proxy is not None:
            return port in proxy[1]
        return dst.kind is EndpointKind.NODE and dst.node == self.state.nodes[0].name and port == API_SERVER_PORT

    def backend_endpoint(self, b: Backend) -> Endpoint:
        if b.pod is not None:
            pod = self.state.pod(b.pod)
            if pod is not None:
                return Endpoint.of_pod(pod)
        owner = self.state.owner_of(b.ip)
        endpoint = self._endpoint_of(owner, b.ip)
        return endpoint if endpoint is not None else Endpoint.external(b.ip)

    def _pick(self, svc: Service, sport: ServicePort, backends: Sequence[Backend], client: Endpoint) -> tuple[Backend, Endpoint, str]:
        chosen, note = self.control.balancer.pick(svc, sport.port, backends, str(client.ip))
        return chosen, self.backend_endpoint(chosen), note

    def _service_port(self, svc: Service, port: int | str | None, protocol: Protocol) -> ServicePort | None:
        return svc.port(port, protocol)

    def _dnat_hop(self, svc: Service, entry: str, sport: ServicePort, chosen: Backend, eligible: Sequence[Backend], note: str) -> Hop:
        n = len(eligible)
        detail = (f"{svc.ref} {entry} → DNAT to {chosen.label} {chosen.ip}:{chosen.port} "
                  f"(1 of {n} eligible endpoint{'s' if n != 1 else ''})")
        if note:
            detail += f"; {note}"
        return Hop("service", detail)

    def to_cluster_ip(self, src: Endpoint, svc: Service, port: int | str | None, protocol: Protocol) -> Routed:
        sport = self._service_port(svc, port, protocol)
        address = str(svc.cluster_ip)
        if sport is None:
            listing = ", ".join(f"{p.port}/{p.protocol}" + (f" ({p.name})" if p.name else "") for p in svc.ports)
            wanted = "a port" if port is None else f"port {port}/{protocol}"
            why = f"Service {svc.ref} ({address}) has no {wanted} (its ports: {listing})"
            if port is None:
                return _fail(Verdict.PROBE_FAILED, why + ": name the port")
            if self.profile.kube_proxy_mode == "nftables":
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
        pe = port_endpoints(svc, sport, self.control.pods(), self.control.slices())
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
        for svc in self.control.services():
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
            why, leg_hops = self.network.first_leg(src, node_ep, sport.node_port or 0, sport.protocol)
            hops = [*hops, *leg_hops]
            if why is not None:
                return _fail(Verdict.BLOCKED, why, hops)
        hops = [*hops, Hop("nodeport", f"{node.name} {node.ip}:{sport.node_port}/{sport.protocol} → Service {svc.ref} port {sport.port}")]
        in_cluster = client.kind in (EndpointKind.POD, EndpointKind.NODE)
        pe = port_endpoints(svc, sport, self.control.pods(), self.control.slices())
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
            view = external_service_ingress(self.profile, external_traffic_policy="Cluster", backend_on_receiving_node=chosen.node == node.name)
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
        provider = self.control.provider
        pe = port_endpoints(svc, sport, self.control.pods(), self.control.slices())
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
            node = self.state.node(self.control.balancer.choice(healthy))
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
        nsg_modelled = self.network.nsg_attached()
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
        node = self.state.node(self.control.balancer.choice(healthy))
        hops = [Hop("load-balancer", f"{lb_ip}:{sport.port} ({provider.name}, pass-through) → {node.name} ({note})")]
        # Azure NSGs on the node see the client address and the frontend IP (the NSG model of SimNetwork).
        # Azure writes loadBalancerSourceRanges into the allow rule it adds, so with an NSG attached the
        # NSG is what drops other sources (and kube-proxy would too).
        decisions = list(self.network.admit_from_load_balancer(src.ip, lb_ip, sport.port, sport.protocol, node.name))
        hops += [Hop("nsg", d.render()) for d in decisions]
        dropped = next((d for d in decisions if not d.allowed), None)
        if dropped is not None:
            return _fail(Verdict.BLOCKED, f"dropped by an Azure NSG on {node.name}: {dropped.render()}", hops)
        if denied:
            return _fail(Verdict.BLOCKED, denied.replace("the load balancer drops it", f"kube-proxy on {node.name} drops it"), hops)
        return self._arrive_at_node(src, src, node, svc, sport, hops, leg=False)


__all__ = ["KubeProxy", "Routed"]
