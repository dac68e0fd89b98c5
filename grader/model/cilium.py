"""CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy (``cilium.io/v2``), the subset the lab models
(types only: the parser is ``grader.manifests.cilium``, the semantics ``grader.cilium``).

Field meanings follow docs.cilium.io "Layer 3 Examples", "Layer 4 Examples", "Layer 7 Examples"
(DNS) and "Using Kubernetes Constructs in Policy", and ``pkg/policy/api`` (``Rule``,
``IngressRule``, ``EgressRule``, ``PortRule``, ``EnableDefaultDeny``):

* ``endpointSelector`` selects pods; in a CiliumNetworkPolicy only pods of the policy's namespace.
* A direction is default-deny for a selected pod when the policy has rules for it (or
  ``enableDefaultDeny`` says so); rules of all policies - CiliumNetworkPolicy, clusterwide, and
  Kubernetes NetworkPolicy - are unioned allow-lists.
* In one rule the L3 peers (``toEndpoints``, ``toCIDR``/``toCIDRSet``, ``toEntities``, ``toFQDNs``)
  are OR-ed and AND-ed with ``toPorts``; a rule with ports but no L3 peers allows those ports to
  every peer; an empty rule ``{}`` allows nothing.
* ``fromEndpoints``/``toEndpoints`` without a namespace label select the policy's namespace
  (CiliumNetworkPolicy only); CIDR rules never match pods or nodes; entities name groups
  (``world``, ``cluster``, ``host``, ``remote-node``, ``kube-apiserver``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from .cluster import Protocol
from .labels import LabelSelector
from .networkpolicy import IPBlock

NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
SERVICEACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount"
CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"


NAME_RE = re.compile(r"^([-a-zA-Z0-9_]+[.]?)+$")
"""The CRD's pattern for ``matchName`` (FQDNSelector)."""
PATTERN_RE = re.compile(r"^([-a-zA-Z0-9_*]+[.]?)+$")
"""The CRD's pattern for ``matchPattern``."""
_DNS_CHARS = "[-a-z0-9_]"


def normalize(name: str) -> str:
    return name.strip().lower().rstrip(".")


@cache
def pattern_regex(pattern: str) -> re.Pattern[str]:
    p = normalize(pattern)
    if p == "*":
        return re.compile(rf"^({_DNS_CHARS}+\.)*{_DNS_CHARS}+$")
    prefix = ""
    if p.startswith("**."):
        prefix = rf"({_DNS_CHARS}+\.)+"
        p = p[3:]
    body = "".join(f"{_DNS_CHARS}*" if ch == "*" else re.escape(ch) for ch in p)
    return re.compile(f"^{prefix}{body}$")


@dataclass(frozen=True, slots=True)
class FqdnSelector:
    """One ``toFQDNs`` or ``rules.dns`` entry: exactly one of ``match_name`` / ``match_pattern``."""

    match_name: str | None = None
    match_pattern: str | None = None

    def matches(self, name: str) -> bool:
        n = normalize(name)
        if self.match_name is not None:
            return n == normalize(self.match_name)
        assert self.match_pattern is not None
        return bool(pattern_regex(self.match_pattern).match(n))

    def render(self) -> str:
        return f"matchName {self.match_name}" if self.match_name is not None else f"matchPattern {self.match_pattern}"



class Entity(StrEnum):
    WORLD = "world"
    CLUSTER = "cluster"
    HOST = "host"
    REMOTE_NODE = "remote-node"
    KUBE_APISERVER = "kube-apiserver"
    ALL = "all"
    HEALTH = "health"
    INIT = "init"
    UNMANAGED = "unmanaged"
    INGRESS = "ingress"


class CiliumProtocol(StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"
    ANY = "ANY"

    def matches(self, protocol: Protocol) -> bool:
        return self is CiliumProtocol.ANY or self.value == protocol.value


@dataclass(frozen=True, slots=True)
class EndpointSelector:
    selector: LabelSelector
    """Over Cilium endpoint labels (source prefixes such as ``k8s:`` already stripped)."""
    namespace: str | None = None
    """Set when the selector is limited to one namespace (the policy's, for a CiliumNetworkPolicy)."""
    ignored: tuple[str, ...] = ()
    """Keys the policy wrote but Cilium ignores here (namespace labels in a namespaced policy)."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.namespace is not None and labels.get(NAMESPACE_LABEL) != self.namespace:
            return False
        return self.selector.matches(labels)

    def render(self) -> str:
        text = self.selector.render()
        if self.namespace is not None and NAMESPACE_LABEL not in text:
            text = f"{text} in namespace {self.namespace}"
        return text


@dataclass(frozen=True, slots=True)
class CidrRule(IPBlock):
    """toCIDR / toCIDRSet: the same containment as a NetworkPolicy ipBlock (cidr minus except)."""

    def render(self) -> str:
        return str(self.cidr) + (f" except {', '.join(map(str, self.except_))}" if self.except_ else "")


@dataclass(frozen=True, slots=True)
class PortProtocol:
    port: int | str | None
    """A number, a port name, or None (every port; ``"0"`` in YAML)."""
    protocol: CiliumProtocol = CiliumProtocol.ANY
    end_port: int | None = None

    def render(self) -> str:
        port = "any" if self.port is None else (f"{self.port}-{self.end_port}" if self.end_port else str(self.port))
        return f"{port}/{self.protocol.value}"


@dataclass(frozen=True, slots=True)
class PortRule:
    ports: tuple[PortProtocol, ...] = ()
    dns: tuple[FqdnSelector, ...] | None = None
    """``rules.dns``: None when the port rule has no L7 section (traffic is not sent to the DNS proxy)."""

    def render(self) -> str:
        text = ", ".join(p.render() for p in self.ports) or "any port"
        if self.dns is not None:
            text += " with DNS rules [" + "; ".join(s.render() for s in self.dns) + "]"
        return text


@dataclass(frozen=True, slots=True)
class CiliumRule:
    """One ingress or egress rule. ``None`` fields were not written."""

    endpoints: tuple[EndpointSelector, ...] | None = None
    cidrs: tuple[CidrRule, ...] | None = None
    entities: tuple[Entity, ...] | None = None
    fqdns: tuple[FqdnSelector, ...] | None = None
    ports: tuple[PortRule, ...] = ()

    @property
    def has_l3(self) -> bool:
        return any(x for x in (self.endpoints, self.cidrs, self.entities, self.fqdns))

    @property
    def is_empty(self) -> bool:
        return not self.has_l3 and not self.ports

    def render_peers(self, direction: str) -> str:
        key = "from" if direction == "ingress" else "to"
        parts = []
        if self.endpoints:
            parts.append(f"{key}Endpoints [" + "; ".join(e.render() for e in self.endpoints) + "]")
        if self.cidrs:
            parts.append(f"{key}CIDR [" + "; ".join(c.render() for c in self.cidrs) + "]")
        if self.entities:
            parts.append(f"{key}Entities [" + ", ".join(e.value for e in self.entities) + "]")
        if self.fqdns:
            parts.append("toFQDNs [" + "; ".join(f.render() for f in self.fqdns) + "]")
        return " or ".join(parts) if parts else "every peer"


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """One rule set (``spec`` or an element of ``specs``)."""

    endpoint_selector: EndpointSelector
    ingress: tuple[CiliumRule, ...] = ()
    egress: tuple[CiliumRule, ...] = ()
    default_deny_ingress: bool = False
    default_deny_egress: bool = False
    path: str = "spec"


@dataclass(frozen=True, slots=True)
class CiliumNetworkPolicy:
    kind: str
    """``CiliumNetworkPolicy`` or ``CiliumClusterwideNetworkPolicy``."""
    namespace: str
    """The policy's namespace; empty for a clusterwide policy."""
    name: str
    specs: tuple[PolicySpec, ...]

    @property
    def ref(self) -> str:
        short = "cnp" if self.kind == "CiliumNetworkPolicy" else "ccnp"
        return f"{short} {self.namespace}/{self.name}" if self.namespace else f"{short} {self.name}"
