"""NetworkPolicy semantics (``networking.k8s.io/v1``), one flow at a time, with the reason why.

The rules implemented here, with their source (kubernetes.io "Network Policies" concept page and
the API reference for NetworkPolicySpec):

* A pod is *isolated* for ingress (egress) when at least one policy in its namespace selects it
  and lists Ingress (Egress) in ``policyTypes``. A non-isolated direction allows everything.
* Policies are additive: an isolated pod accepts a connection when any rule of any isolating
  policy allows it. There are no deny rules and no ordering.
* A connection needs both: egress allowed at the source pod AND ingress allowed at the
  destination pod.
* A rule with no peers matches every peer; a rule with no ports matches every port.
* In one peer, ``podSelector`` AND ``namespaceSelector``; separate peers are OR.
  ``podSelector`` alone means pods of the policy's namespace; ``namespaceSelector`` alone means
  every pod of the selected namespaces.
* ``ipBlock`` matches by IP address (cidr minus except). Whether it matches in-cluster pod IPs
  is implementation-defined; kindnet (kube-network-policies) and Calico match them, as upstream's
  "should allow egress access to server in CIDR block" test expects. Cilium does not (see
  ``ipblock_matches_cluster``).
* Named ports resolve against the *destination* pod's container ports with the same protocol.
* "Traffic to and from the node where a Pod is running is always allowed" (NetworkPolicy concept
  page, "Behavior of to and from selectors"): ingress from the pod's own node is allowed.
* Pod-to-itself follows the same rules; upstream e2e ignores it because CNIs disagree
  (kubernetes#95879), so results flag it as loopback.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from typing import Protocol as TypingProtocol

from ..model import (
    Direction,
    Endpoint,
    EndpointKind,
    Flow,
    Namespace,
    NetworkPolicy,
    Peer,
    Pod,
    PolicyPort,
    Protocol,
    Rule,
)


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """Which rule let a flow through, rendered for a learner."""

    policy: str
    direction: Direction
    rule_index: int
    peer: str
    port: str

    def render(self) -> str:
        key = "ingress" if self.direction is Direction.INGRESS else "egress"
        return f"{self.policy} {key}[{self.rule_index}] ({self.peer}; {self.port})"


@dataclass(frozen=True, slots=True)
class DirectionVerdict:
    direction: Direction
    subject: str
    """The pod this half of the decision is about (the source for egress, the destination for ingress)."""
    isolated_by: tuple[str, ...] = ()
    allowed_by: tuple[RuleMatch, ...] = ()
    exemption: str = ""
    """Why the flow is allowed regardless of policies (e.g. from the pod's own node)."""
    notes: tuple[str, ...] = ()
    """Near misses worth telling a learner (a named port that does not resolve, ...)."""

    @property
    def allowed(self) -> bool:
        return not self.isolated_by or bool(self.allowed_by) or bool(self.exemption)

    def explain(self, peer_label: str, port_label: str) -> str:
        word = "ingress to" if self.direction is Direction.INGRESS else "egress from"
        head = f"{word} {self.subject}"
        if not self.isolated_by:
            kind = self.direction.value
            return f"{head}: allowed, not isolated (no NetworkPolicy with {kind} selects it)"
        isolated = f"isolated by {', '.join(self.isolated_by)}"
        if self.exemption:
            return f"{head}: allowed, {self.exemption} ({isolated})"
        if self.allowed_by:
            return f"{head}: allowed by {'; '.join(m.render() for m in self.allowed_by)} ({isolated})"
        key = "ingress" if self.direction is Direction.INGRESS else "egress"
        text = f"{head}: BLOCKED, {isolated}, and no {key} rule of these policies allows {peer_label} on {port_label}"
        if self.notes:
            text += " [" + "; ".join(self.notes) + "]"
        return text


class _DirectionVerdict(TypingProtocol):
    @property
    def allowed(self) -> bool: ...

    def explain(self, peer_label: str, port_label: str) -> str: ...


D = TypeVar("D", bound=_DirectionVerdict)


@dataclass(frozen=True, slots=True)
class FlowVerdict(Generic[D]):
    """One flow's decision: egress at the source pod AND ingress at the destination pod.

    ``D`` is the per-direction verdict: ``DirectionVerdict`` for NetworkPolicy alone
    (``PolicyVerdict``), ``cilium.CombinedDirection`` where Cilium policies join in.
    """

    flow: Flow
    egress: D | None
    """None when the source is not a pod (network policy only governs pods)."""
    ingress: D | None
    """None when the destination is not a pod."""
    loopback: bool = False

    @property
    def allowed(self) -> bool:
        return all(d is None or d.allowed for d in (self.egress, self.ingress))

    def explain(self) -> str:
        """Both halves, one line each."""
        port_label = f"{self.flow.port}/{self.flow.protocol}"
        lines = []
        if self.egress is not None:
            lines.append(self.egress.explain(self.flow.destination.label, port_label))
        if self.ingress is not None:
            lines.append(self.ingress.explain(self.flow.source.label, port_label))
        if not lines:
            lines.append("no pod on either side: network policy does not apply")
        if self.loopback:
            lines.append("note: pod-to-itself (loopback); CNIs differ here, upstream tests ignore it")
        return "\n".join(lines)


class PolicyVerdict(FlowVerdict[DirectionVerdict]):
    """A NetworkPolicy-only decision."""

    __slots__ = ()


def port_matches(port: PolicyPort, number: int, protocol: Protocol, destination: Pod | None) -> bool:
    if port.protocol != protocol:
        return False
    if port.port is None:
        return True
    if isinstance(port.port, int):
        if port.end_port is not None:
            return port.port <= number <= port.end_port
        return port.port == number
    if destination is None:
        return False  # a named port needs a destination pod to resolve against
    resolved = destination.named_port(port.port, protocol)
    return resolved is not None and resolved.port == number


def _ports_match(rule: Rule, number: int, protocol: Protocol, destination: Pod | None) -> PolicyPort | bool | None:
    """The matching port entry; True when the rule has no ports (all); None when nothing matches."""
    if not rule.ports:
        return True
    for p in rule.ports:
        if port_matches(p, number, protocol, destination):
            return p
    return None


@dataclass
class NetworkPolicyEngine:
    """Evaluates flows against a set of policies. Build one per cluster state; it is cheap."""

    policies: Iterable[NetworkPolicy]
    namespaces: Mapping[str, Namespace]
    ipblock_matches_cluster: bool = True
    """False models Cilium: ipBlock never selects pod or node addresses, even 0.0.0.0/0
    (docs.cilium.io "Layer 3 Examples", IP/CIDR based; AKS "Azure CNI powered by Cilium" limitations)."""
    egress_named_ports: Mapping[tuple[str, Protocol], tuple[int, ...]] | None = None
    """Set to model Cilium before 1.20 (cilium/cilium#30003): a named port in an *egress* rule is
    looked up across every pod of the cluster (name -> numbers); when the name maps to more than one
    number the whole rule is skipped. None (the spec): it resolves against the destination pod."""
    _by_namespace: dict[str, list[NetworkPolicy]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.policies = tuple(sorted(self.policies, key=lambda p: (p.namespace, p.name)))
        by_ns: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for p in self.policies:
            by_ns[p.namespace].append(p)
        self._by_namespace = dict(by_ns)

    # -- selection -------------------------------------------------------------------------
    def isolating(self, pod: Pod, direction: Direction) -> list[NetworkPolicy]:
        return [
            p
            for p in self._by_namespace.get(pod.namespace, ())
            if p.affects(direction) and p.pod_selector.matches(pod.labels)
        ]

    def peer_matches(self, peer: Peer, policy_namespace: str, other: Endpoint) -> bool:
        if peer.ip_block is not None:
            if not self.ipblock_matches_cluster and other.kind is not EndpointKind.EXTERNAL:
                return False
            return peer.ip_block.contains(other.ip)
        if other.kind is not EndpointKind.POD or other.pod is None:
            return False  # selectors only ever select pods
        pod = other.pod
        if peer.namespace_selector is None:
            if pod.namespace != policy_namespace:
                return False
        else:
            ns = self.namespaces.get(pod.namespace)
            ns_labels = ns.labels if ns is not None else Namespace(pod.namespace).labels
            if not peer.namespace_selector.matches(ns_labels):
                return False
        return peer.pod_selector is None or peer.pod_selector.matches(pod.labels)

    # -- evaluation ------------------------------------------------------------------------
    def _direction(self, flow: Flow, direction: Direction) -> DirectionVerdict:
        subject_ep = flow.destination if direction is Direction.INGRESS else flow.source
        other = flow.source if direction is Direction.INGRESS else flow.destination
        assert subject_ep.pod is not None
        subject = subject_ep.pod
        isolating = self.isolating(subject, direction)
        if not isolating:
            return DirectionVerdict(direction, str(subject.ref))
        names = tuple(p.ref for p in isolating)
        if (
            direction is Direction.INGRESS
            and other.kind is EndpointKind.NODE
            and other.node is not None
            and other.node == subject.node
        ):
            return DirectionVerdict(direction, str(subject.ref), names, (), "traffic from the pod's own node is always allowed")
        dest_pod = flow.destination.pod
        matches: list[RuleMatch] = []
        notes: list[str] = []
        for policy in isolating:
            for i, rule in enumerate(policy.rules(direction)):
                port_hit: PolicyPort | bool | None
                if direction is Direction.EGRESS and self.egress_named_ports is not None and any(isinstance(p.port, str) for p in rule.ports):
                    port_hit, legacy_note = _legacy_egress_ports(rule, flow, self.egress_named_ports)
                    if port_hit is None:
                        if legacy_note:
                            notes.append(f"{policy.ref} egress[{i}]: {legacy_note}")
                        continue
                else:
                    port_hit = _ports_match(rule, flow.port, flow.protocol, dest_pod)
                if port_hit is None:
                    notes.extend(_named_port_notes(rule, flow, dest_pod, policy, direction, i))
                    continue
                peer_text = _peer_match_text(self, rule, policy.namespace, other, "from" if direction is Direction.INGRESS else "to")
                if peer_text is None:
                    notes.extend(self._ipblock_notes(rule, policy, direction, i, other))
                    continue
                port_text = "any port" if port_hit is True else f"port {port_hit.render()}"  # type: ignore[union-attr]
                matches.append(RuleMatch(policy.ref, direction, i, peer_text, port_text))
        return DirectionVerdict(direction, str(subject.ref), names, tuple(matches), "", tuple(dict.fromkeys(notes)))

    def _ipblock_notes(self, rule: Rule, policy: NetworkPolicy, direction: Direction, index: int, other: Endpoint) -> list[str]:
        """The CNI divergence worth naming: an ipBlock that contains the peer's address but cannot
        select it, because this CNI (Cilium) never matches pods or nodes with ipBlock."""
        if self.ipblock_matches_cluster or other.kind is EndpointKind.EXTERNAL:
            return []
        key = "ingress" if direction is Direction.INGRESS else "egress"
        what = "pod" if other.kind is EndpointKind.POD else "node"
        return [
            f"{policy.ref} {key}[{index}] has ipBlock {peer.ip_block.cidr}, which contains {other.ip}, but this CNI never matches "
            f"{what} addresses with ipBlock (Cilium): select pods with namespaceSelector/podSelector"
            for peer in rule.peers if peer.ip_block is not None and peer.ip_block.contains(other.ip)
        ]

    def evaluate(self, flow: Flow) -> PolicyVerdict:
        egress = self._direction(flow, Direction.EGRESS) if flow.source.kind is EndpointKind.POD else None
        ingress = self._direction(flow, Direction.INGRESS) if flow.destination.kind is EndpointKind.POD else None
        return PolicyVerdict(flow, egress, ingress, flow.is_loopback)


def _legacy_egress_ports(rule: Rule, flow: Flow, names: Mapping[tuple[str, Protocol], tuple[int, ...]]) -> tuple[PolicyPort | None, str]:
    """Cilium < 1.20 egress named ports: cluster-wide lookup; a conflicting name skips the rule (cilium#30003, #12567)."""
    for p in rule.ports:
        if isinstance(p.port, str):
            numbers = names.get((p.port, p.protocol), ())
            if len(numbers) > 1:
                listed = ", ".join(map(str, numbers))
                return None, (f"port name {p.port!r} maps to {listed} across the cluster, so Cilium before 1.20 skips this "
                              "egress rule (cilium/cilium#30003; use port numbers)")
    for p in rule.ports:
        if p.protocol != flow.protocol:
            continue
        if isinstance(p.port, str):
            numbers = names.get((p.port, p.protocol), ())
            if numbers and numbers[0] == flow.port:
                return p, ""
        elif port_matches(p, flow.port, flow.protocol, None):
            return p, ""
    return None, ""


def _peer_match_text(engine: NetworkPolicyEngine, rule: Rule, policy_ns: str, other: Endpoint, key: str) -> str | None:
    if not rule.peers:
        return f"no {key} list: every peer"
    for j, peer in enumerate(rule.peers):
        if engine.peer_matches(peer, policy_ns, other):
            return f"{key}[{j}] {peer.render()}"
    return None


def _named_port_notes(rule: Rule, flow: Flow, dest: Pod | None, policy: NetworkPolicy, direction: Direction, index: int) -> list[str]:
    notes = []
    key = "ingress" if direction is Direction.INGRESS else "egress"
    for p in rule.ports:
        if isinstance(p.port, str) and p.protocol == flow.protocol:
            if dest is None:
                notes.append(f"{policy.ref} {key}[{index}] names port {p.port!r}, which only resolves on a destination pod")
            elif dest.named_port(p.port, p.protocol) is None:
                notes.append(f"{policy.ref} {key}[{index}] names port {p.port!r}, but {dest.ref} has no {p.protocol} port with that name")
    return notes
