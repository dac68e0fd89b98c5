"""Cilium policy semantics, and their union with Kubernetes NetworkPolicy on a Cilium cluster.

Cilium turns every NetworkPolicy and every CiliumNetworkPolicy that selects an endpoint into one
allow-list per direction ("Policies are additive"; docs.cilium.io security/policy/intro and
language). So on a Cilium profile:

* a pod is default-deny in a direction when *any* policy of either kind selects it for that
  direction (a NetworkPolicy with that policyType; a Cilium policy with rules in that direction or
  ``enableDefaultDeny``);
* a connection is allowed in that direction when any rule of any of them allows it;
* ingress from the pod's own node is always allowed ("Kubernetes will automatically allow all
  communication from the local host of all local endpoints", Cilium ``--allow-localhost``);
* both directions must allow, as for NetworkPolicy.

Peers as Cilium identifies them: pods by their labels plus ``io.kubernetes.pod.namespace`` and
``io.cilium.k8s.namespace.labels.*``; nodes as ``host`` (the subject's own node) or ``remote-node``,
the control-plane node also as ``kube-apiserver``; everything outside the cluster as ``world``,
which CIDR and FQDN rules subdivide (they never match pods or nodes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..model import Direction, Endpoint, EndpointKind, Flow, Namespace, Pod, Protocol
from ..model.cilium import (
    CLUSTER_LABEL,
    NAMESPACE_LABEL,
    NAMESPACE_LABELS_PREFIX,
    SERVICEACCOUNT_LABEL,
    CiliumNetworkPolicy,
    CiliumRule,
    Entity,
    PolicySpec,
    PortProtocol,
    PortRule,
)
from ..netpol import NetworkPolicyEngine
from ..netpol.engine import DirectionVerdict, FlowVerdict
from .fqdn import DnsCache, FqdnSelector


def endpoint_labels(pod: Pod, namespaces: Mapping[str, Namespace]) -> dict[str, str]:
    """The labels of a pod's Cilium identity (``cilium-dbg identity get`` shows the same set)."""
    labels = dict(pod.labels)
    labels[NAMESPACE_LABEL] = pod.namespace
    labels[SERVICEACCOUNT_LABEL] = "default"
    labels[CLUSTER_LABEL] = "default"
    ns = namespaces.get(pod.namespace) or Namespace(pod.namespace)
    for k, v in ns.labels.items():
        labels[NAMESPACE_LABELS_PREFIX + k] = v
    return labels


@dataclass(frozen=True, slots=True)
class CiliumMatch:
    policy: str
    rule: str
    """``spec.egress[1]``."""
    peer: str
    port: str
    dns: tuple[FqdnSelector, ...] | None = None
    """The DNS rules of the port rule that matched (None: no L7 section, the proxy does not filter)."""

    def render(self) -> str:
        return f"{self.policy} {self.rule} ({self.peer}; {self.port})"


@dataclass(frozen=True, slots=True)
class CiliumDirection:
    direction: Direction
    subject: str
    isolated_by: tuple[str, ...] = ()
    allowed_by: tuple[CiliumMatch, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class CiliumPolicyEngine:
    policies: Iterable[CiliumNetworkPolicy]
    namespaces: Mapping[str, Namespace]
    apiserver_nodes: frozenset[str] = frozenset()
    dns_cache: DnsCache = field(default_factory=DnsCache)

    def __post_init__(self) -> None:
        self.policies = tuple(sorted(self.policies, key=lambda p: (p.namespace, p.name, p.kind)))

    def selecting(self, pod: Pod, direction: Direction) -> list[tuple[CiliumNetworkPolicy, PolicySpec]]:
        labels = endpoint_labels(pod, self.namespaces)
        out = []
        for policy in self.policies:
            for spec in policy.specs:
                denies = spec.default_deny_ingress if direction is Direction.INGRESS else spec.default_deny_egress
                rules = spec.ingress if direction is Direction.INGRESS else spec.egress
                if (denies or rules) and spec.endpoint_selector.matches(labels):
                    out.append((policy, spec))
        return out

    def isolating(self, pod: Pod, direction: Direction) -> tuple[str, ...]:
        out = []
        for policy, spec in self.selecting(pod, direction):
            denies = spec.default_deny_ingress if direction is Direction.INGRESS else spec.default_deny_egress
            if denies and policy.ref not in out:
                out.append(policy.ref)
        return tuple(out)

    # -- matching ------------------------------------------------------------------------------
    def _peer_text(self, rule: CiliumRule, subject: Pod, peer: Endpoint, direction: Direction) -> str | None:
        """Why ``rule`` selects ``peer`` (None when it does not)."""
        key = "from" if direction is Direction.INGRESS else "to"
        if rule.is_empty:
            return None
        if not rule.has_l3:
            return "any peer (L4-only rule)"
        if rule.endpoints and peer.kind is EndpointKind.POD and peer.pod is not None:
            labels = endpoint_labels(peer.pod, self.namespaces)
            for i, sel in enumerate(rule.endpoints):
                if sel.matches(labels):
                    return f"{key}Endpoints[{i}] {sel.render()}"
        if rule.entities:
            for entity in rule.entities:
                if self._entity_matches(entity, subject, peer):
                    return f"{key}Entities {entity.value}"
        if peer.kind is EndpointKind.EXTERNAL:
            for cidr in rule.cidrs or ():
                if cidr.contains(peer.ip):
                    return f"{key}CIDR {cidr.render()}"
            if rule.fqdns and subject.node is not None:
                names = self.dns_cache.names_for(subject.node, peer.ip)
                for fqdn in rule.fqdns:
                    hit = next((n for n in names if fqdn.matches(n)), None)
                    if hit is not None:
                        return f"toFQDNs {fqdn.render()} ({peer.ip} is an address the DNS proxy on {subject.node} saw for {hit})"
        return None

    def _entity_matches(self, entity: Entity, subject: Pod, peer: Endpoint) -> bool:
        if entity is Entity.ALL:
            return True
        if entity is Entity.WORLD:
            return peer.kind is EndpointKind.EXTERNAL
        if entity is Entity.CLUSTER:
            return peer.kind in (EndpointKind.POD, EndpointKind.NODE)
        if peer.kind is not EndpointKind.NODE:
            return False
        if entity is Entity.HOST:
            return peer.node == subject.node
        if entity is Entity.REMOTE_NODE:
            return peer.node != subject.node
        if entity is Entity.KUBE_APISERVER:
            return peer.node in self.apiserver_nodes
        return False  # health, init, unmanaged, ingress: no such endpoints in the simulated cluster

    @staticmethod
    def _port_matches(pp: PortProtocol, number: int, protocol: Protocol, destination: Pod | None) -> bool:
        if not pp.protocol.matches(protocol):
            return False
        if pp.port is None:
            return True
        if isinstance(pp.port, int):
            return pp.port <= number <= pp.end_port if pp.end_port else pp.port == number
        if destination is None:
            return False
        proto = None if pp.protocol.value == "ANY" else protocol
        named = destination.named_port(pp.port, proto)
        return named is not None and named.port == number and named.protocol == protocol

    def _ports_text(self, rule: CiliumRule, number: int, protocol: Protocol, destination: Pod | None) -> tuple[str, PortRule | None] | None:
        if not rule.ports:
            return "any port", None
        for pr in rule.ports:
            if not pr.ports:
                return f"toPorts {pr.render()}", pr
            for pp in pr.ports:
                if self._port_matches(pp, number, protocol, destination):
                    return f"toPorts {pp.render()}" + (" (DNS rules)" if pr.dns is not None else ""), pr
        return None

    def evaluate_direction(self, subject: Pod, peer: Endpoint, port: int, protocol: Protocol, direction: Direction,
                           destination: Pod | None) -> CiliumDirection:
        selected = self.selecting(subject, direction)
        isolated = self.isolating(subject, direction)
        matches: list[CiliumMatch] = []
        notes: list[str] = []
        for policy, spec in selected:
            rules = spec.ingress if direction is Direction.INGRESS else spec.egress
            key = "ingress" if direction is Direction.INGRESS else "egress"
            for i, rule in enumerate(rules):
                path = f"{spec.path}.{key}[{i}]"
                if rule.is_empty:
                    continue
                ports = self._ports_text(rule, port, protocol, destination)
                if ports is None:
                    continue
                peer_text = self._peer_text(rule, subject, peer, direction)
                if peer_text is None:
                    if rule.fqdns and peer.kind is EndpointKind.EXTERNAL:
                        seen = self.dns_cache.names_for(subject.node, peer.ip) if subject.node else []
                        if seen:
                            notes.append(f"{policy.ref} {path} has toFQDNs, and the DNS proxy on {subject.node} saw {peer.ip} for "
                                         f"{', '.join(seen)}, which none of its selectors matches")
                        else:
                            notes.append(f"{policy.ref} {path} has toFQDNs, but the DNS proxy on {subject.node} has seen no answer "
                                         f"with {peer.ip}: toFQDNs only allows addresses from lookups the proxy saw, and only a "
                                         "DNS rule (toPorts rules.dns) sends lookups through the proxy")
                    if rule.cidrs and peer.kind in (EndpointKind.POD, EndpointKind.NODE):
                        notes.append(f"{policy.ref} {path}: CIDR rules never match pods or nodes in Cilium")
                    continue
                text, port_rule = ports
                matches.append(CiliumMatch(policy.ref, path, peer_text, text, port_rule.dns if port_rule is not None else None))
            for sel in spec.endpoint_selector.ignored:
                notes.append(f"{policy.ref}: {sel} is ignored in a namespaced CiliumNetworkPolicy")
        return CiliumDirection(direction, str(subject.ref), isolated, tuple(matches), tuple(dict.fromkeys(notes)))


# -- union with NetworkPolicy ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CombinedDirection:
    direction: Direction
    subject: str
    np: DirectionVerdict
    cnp: CiliumDirection | None = None
    exemption: str = ""

    @property
    def isolated_by(self) -> tuple[str, ...]:
        return tuple(self.np.isolated_by) + (self.cnp.isolated_by if self.cnp else ())

    @property
    def allowed(self) -> bool:
        if not self.isolated_by or self.exemption or self.np.exemption:
            return True
        return bool(self.np.allowed_by) or bool(self.cnp and self.cnp.allowed_by)

    def explain(self, peer_label: str, port_label: str) -> str:
        if self.cnp is None:
            return self.np.explain(peer_label, port_label)
        word = "ingress to" if self.direction is Direction.INGRESS else "egress from"
        head = f"{word} {self.subject}"
        isolated = self.isolated_by
        if not isolated:
            kind = self.direction.value
            return f"{head}: allowed, not isolated (no NetworkPolicy or Cilium policy with {kind} rules selects it)"
        iso = f"isolated by {', '.join(isolated)}"
        if self.exemption or self.np.exemption:
            return f"{head}: allowed, {self.exemption or self.np.exemption} ({iso})"
        allowed = [m.render() for m in self.np.allowed_by] + [m.render() for m in self.cnp.allowed_by]
        if allowed:
            return f"{head}: allowed by {'; '.join(allowed)} ({iso})"
        key = "ingress" if self.direction is Direction.INGRESS else "egress"
        text = f"{head}: BLOCKED, {iso}, and no {key} rule of these policies allows {peer_label} on {port_label}"
        notes = list(self.np.notes) + list(self.cnp.notes)
        if notes:
            text += " [" + "; ".join(notes) + "]"
        return text

    def dns_proxy(self) -> tuple[bool, tuple[FqdnSelector, ...] | None]:
        """(whether Cilium's DNS proxy sees this flow, the names it lets through: None = every name).

        A port with DNS rules is redirected to the proxy; rules that allow the same traffic without an
        L7 section widen the proxy's filter to every name (Cilium merges them into an L7 wildcard)."""
        if self.cnp is None:
            return False, None
        dns_matches = [m for m in self.cnp.allowed_by if m.dns is not None]
        if not dns_matches:
            return False, None
        wildcard = any(m.dns is None for m in self.cnp.allowed_by) or bool(self.np.allowed_by)
        if wildcard:
            return True, None
        selectors: list[FqdnSelector] = []
        for m in dns_matches:
            assert m.dns is not None
            selectors += [s for s in m.dns if s not in selectors]
        return True, tuple(selectors)


class CombinedVerdict(FlowVerdict[CombinedDirection]):
    """A decision of NetworkPolicy and Cilium policies together."""

    __slots__ = ()


def evaluate(np_engine: NetworkPolicyEngine, cnp_engine: CiliumPolicyEngine | None, flow: Flow,
             *, ingress_source: Endpoint | None = None) -> CombinedVerdict:
    """Egress at the source pod and ingress at the destination pod, NetworkPolicy ∪ Cilium policy.

    ``ingress_source`` is the source as the destination sees it (after SNAT); egress always judges
    the original flow, since it is enforced on the source pod before any translation."""
    src_seen = ingress_source or flow.source
    both = np_engine.evaluate(flow)
    np_out = both.egress
    np_in = both.ingress
    if src_seen != flow.source and flow.destination.kind is EndpointKind.POD:
        np_in = np_engine.evaluate(Flow(src_seen, flow.destination, flow.port, flow.protocol)).ingress
    dest_pod = flow.destination.pod
    egress = ingress = None
    if np_out is not None:
        assert flow.source.pod is not None
        cnp = (cnp_engine.evaluate_direction(flow.source.pod, flow.destination, flow.port, flow.protocol, Direction.EGRESS, dest_pod)
               if cnp_engine is not None else None)
        egress = CombinedDirection(Direction.EGRESS, np_out.subject, np_out, cnp)
    if np_in is not None:
        assert flow.destination.pod is not None
        subject = flow.destination.pod
        cnp = (cnp_engine.evaluate_direction(subject, src_seen, flow.port, flow.protocol, Direction.INGRESS, dest_pod)
               if cnp_engine is not None else None)
        exemption = ""
        if cnp is not None and cnp.isolated_by and src_seen.kind is EndpointKind.NODE and src_seen.node == subject.node:
            exemption = "traffic from the pod's own node is always allowed (Cilium allow-localhost)"
        ingress = CombinedDirection(Direction.INGRESS, np_in.subject, np_in, cnp, exemption)
    return CombinedVerdict(flow, egress, ingress, flow.is_loopback)
