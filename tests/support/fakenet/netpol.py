"""The fake CNI's NetworkPolicy evaluator: a small, independent reading of ``networking.k8s.io/v1``.

Written from the specification, not from ``grader.netpol`` (the engine under test), so that the
fake can disagree with it:

* https://kubernetes.io/docs/concepts/services-networking/network-policies/ ("The two sorts of pod
  isolation", "Behavior of to and from selectors", "Targeting a range of ports", ipBlock);
* the API reference, https://kubernetes.io/docs/reference/kubernetes-api/networking-resources/network-policy-v1/
  (NetworkPolicySpec, NetworkPolicyPeer, NetworkPolicyPort, IPBlock);
* ``policyTypes`` defaulting, kubernetes ``pkg/apis/networking/v1/defaults.go``
  (``SetDefaults_NetworkPolicy``: ``[Ingress]``, plus ``Egress`` when ``len(spec.egress) != 0``);
* label selectors, apimachinery ``pkg/labels/selector.go`` (``NotIn`` and ``DoesNotExist`` match a
  missing key; an empty selector matches everything).

A connection is accepted when the source's egress allows it (if the source is a pod its policies
isolate for egress) AND the destination's ingress allows it (if the destination is such a pod).
Addresses that belong to no pod match only ``ipBlock`` peers.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Fate(enum.Enum):
    ACCEPT = "accept"
    DROP = "drop"


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection: an address, and the pod behind it when there is one."""

    ip: str
    namespace: str | None = None
    """None: not a pod (a node, this machine, an external host)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[tuple[str, int, str], ...] = ()
    """(name, containerPort, protocol) of the pod's named container ports."""


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector against a label set (apimachinery ``pkg/labels/selector.go``)."""
    selector = selector or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], list(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"matchExpressions[].operator: {op!r} is not a label selector operator")
    return True


def policy_types(policy: Mapping[str, Any]) -> list[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if len(spec.get("egress") or []) != 0 else ["Ingress"]


def _peer_matches(peer: Mapping[str, Any], policy_ns: str, other: Endpoint, namespaces: Mapping[str, Mapping[str, str]]) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        ip = ipaddress.ip_address(other.ip)
        if ip not in ipaddress.ip_network(block["cidr"], strict=False):
            return False
        return not any(ip in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])
    if other.namespace is None:  # pod and namespace selectors select pods only
        return False
    if "namespaceSelector" in peer:
        ns_labels = {**namespaces.get(other.namespace, {}), "kubernetes.io/metadata.name": other.namespace}
        if not selects(peer["namespaceSelector"], ns_labels):
            return False
    elif other.namespace != policy_ns:  # podSelector alone: pods of the policy's own namespace
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], other.labels)


def _port_matches(rule_ports: Sequence[Mapping[str, Any]] | None, dst: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True  # "If this field is empty or missing, this rule matches all ports"
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        want = p.get("port")
        if want is None:
            return True  # every port of that protocol
        if isinstance(want, str) and not want.isdigit():  # a named port: resolved on the destination pod
            if any(name == want and proto == protocol and number == port for name, number, proto in dst.ports):
                return True
            continue
        low = int(want)
        high = int(p.get("endPort") or low)
        if low <= port <= high:
            return True
    return False


def _direction(policies: Iterable[Mapping[str, Any]], direction: str, subject: Endpoint, other: Endpoint, dst: Endpoint,
               port: int, protocol: str, namespaces: Mapping[str, Mapping[str, str]]) -> Fate:
    if subject.namespace is None:
        return Fate.ACCEPT
    selecting = [p for p in policies if (p.get("metadata") or {}).get("namespace") == subject.namespace
                 and direction in policy_types(p) and selects((p.get("spec") or {}).get("podSelector"), subject.labels)]
    if not selecting:
        return Fate.ACCEPT  # not isolated in this direction
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for p in selecting:
        ns = p["metadata"]["namespace"]
        for rule in (p.get("spec") or {}).get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(peer, ns, other, namespaces) for peer in peers):
                continue
            if _port_matches(rule.get("ports"), dst, port, protocol):
                return Fate.ACCEPT
    return Fate.DROP


def evaluate(policies: Sequence[Mapping[str, Any]], namespaces: Mapping[str, Mapping[str, str]], src: Endpoint, dst: Endpoint,
             port: int, protocol: str = "TCP") -> Fate:
    """The fate of a new connection ``src`` → ``dst``:``port``/``protocol`` under ``policies``."""
    if _direction(policies, "Egress", src, dst, dst, port, protocol, namespaces) is Fate.DROP:
        return Fate.DROP
    return _direction(policies, "Ingress", dst, src, dst, port, protocol, namespaces)


__all__ = ["Endpoint", "Fate", "evaluate", "policy_types", "selects"]
