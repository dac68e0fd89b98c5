"""The NSG rules a LoadBalancer Service makes AKS add (Azure model; kind has no NSG).

"Creating a LoadBalancer Service makes Azure create the load balancer, its rules, and the NSG rules
needed" (learn.microsoft.com/azure/aks/concepts-network). What those rules are comes from the Azure
cloud provider (kubernetes-sigs/cloud-provider-azure, ``pkg/provider/loadbalancer/accesscontrol.go``
and ``securitygroup/securitygroup.go``):

* one *allow* rule per (protocol, allowed sources, destination ports), named
  ``k8s-azure-lb_allow_IPv4_<md5 of protocol_sources_ports>``, Inbound, source port ``*``,
  destination = the frontend IP(s) (Services with the same sources and ports share a rule and its
  destination list grows), destination ports = the Service ports (the node ports instead when the
  floating IP is disabled); priorities from 500 upwards, the first free one;
* sources: the ``Internet`` service tag unless the Service narrows them; ``spec.loadBalancerSourceRanges``
  (or the ``azure-allowed-ip-ranges`` annotation) gives one rule with those prefixes instead;
  ``azure-allowed-service-tags`` gives one rule per tag; an internal load balancer gets no Internet
  rule (the VNet is already allowed by AllowVnetInBound);
* with ``service.beta.kubernetes.io/azure-deny-all-except-load-balancer-source-ranges: "true"`` and
  source ranges, a ``k8s-azure-lb_deny-all_IPv4`` rule denies everything else to the frontend IPs,
  at the highest free priority below 4096, so even VNet traffic is limited;
* Kubernetes protocol TCP → ``Tcp``, UDP → ``Udp``, SCTP → ``*``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from ..facts import fact
from ..model import Protocol
from ..model.cluster import IPAddress, IPNetwork
from .model import ANY_PORT, Access, AddressPrefix, NsgDirection, NsgProtocol, PortRange, SecurityRule, ServiceTag

ALL_IPV4 = ipaddress.ip_network("0.0.0.0/0")


@dataclass(frozen=True, slots=True)
class LoadBalancerPort:
    port: int
    protocol: Protocol = Protocol.TCP
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class LoadBalancerFrontend:
    """The minimal description of a LoadBalancer Service the NSG rules depend on."""

    service: str
    """``namespace/name``."""
    frontend_ip: IPAddress
    ports: tuple[LoadBalancerPort, ...]
    source_ranges: tuple[IPNetwork, ...] = ()
    """``spec.loadBalancerSourceRanges``."""
    internal: bool = False
    """``service.beta.kubernetes.io/azure-load-balancer-internal: "true"``."""
    floating_ip: bool = True
    """AKS enables the floating IP on LB rules (destination stays the frontend IP); the
    ``azure-disable-load-balancer-floating-ip`` annotation turns it off (destination ports become node ports)."""
    deny_all_except_source_ranges: bool = False
    allowed_service_tags: tuple[str, ...] = ()


@dataclass
class _AllowRule:
    protocol: NsgProtocol
    sources: tuple[str, ...]
    ports: tuple[int, ...]
    destinations: list[IPAddress]


def _priorities() -> tuple[int, int]:
    value = fact("azure-nsg-lb-rule-priorities").value
    return int(value["min"]), int(value["max"])


def _prefix_name() -> str:
    return str(fact("azure-nsg-lb-rule-priorities").value["name_prefix"])


def _nsg_protocol(protocol: Protocol) -> NsgProtocol:
    return {Protocol.TCP: NsgProtocol.TCP, Protocol.UDP: NsgProtocol.UDP}.get(protocol, NsgProtocol.ANY)


def allow_rule_name(protocol: NsgProtocol, sources: Iterable[str], ports: Iterable[int]) -> str:
    """``GenerateAllowSecurityRuleName``: md5 over protocol, sorted sources and sorted ports (as strings)."""
    src = ",".join(sorted(sources))
    dst = ",".join(sorted(str(p) for p in ports))
    digest = hashlib.md5("_".join([protocol.value, src, dst]).encode(), usedforsecurity=False).hexdigest()
    return "_".join([_prefix_name(), "allow", "IPv4", digest])


def _allows_internet(lb: LoadBalancerFrontend) -> bool:
    """``AccessControl.IsAllowFromInternet``."""
    if lb.allowed_service_tags:
        return False
    if lb.source_ranges and not any(r == ALL_IPV4 for r in lb.source_ranges):
        return False
    if not lb.internal:
        return True
    return bool(lb.source_ranges)


def load_balancer_rules(frontends: Iterable[LoadBalancerFrontend], taken_priorities: Iterable[int] = ()) -> tuple[SecurityRule, ...]:
    """The rules the cloud provider adds for these LoadBalancer Services, given priorities already in use."""
    low, high = _priorities()
    used = set(taken_priorities)
    allow: dict[str, _AllowRule] = {}
    order: list[str] = []
    deny_targets: list[IPAddress] = []
    for lb in sorted(frontends, key=lambda f: f.service):
        by_protocol: dict[NsgProtocol, list[int]] = {}
        for p in lb.ports:
            dst_port = p.port if lb.floating_ip or p.node_port is None else p.node_port
            by_protocol.setdefault(_nsg_protocol(p.protocol), []).append(dst_port)
        source_sets: list[tuple[str, ...]] = [(t,) for t in lb.allowed_service_tags]
        if _allows_internet(lb):
            source_sets.append((ServiceTag.INTERNET.value,))
        ranges = [r for r in lb.source_ranges if r != ALL_IPV4]
        if ranges:
            source_sets.append(tuple(str(r) for r in sorted(ranges, key=lambda n: (n.version, n))))
        for protocol in (NsgProtocol.TCP, NsgProtocol.UDP, NsgProtocol.ANY):
            if protocol not in by_protocol:
                continue
            ports = tuple(sorted(set(by_protocol[protocol])))
            for sources in source_sets:
                name = allow_rule_name(protocol, sources, ports)
                if name not in allow:
                    allow[name] = _AllowRule(protocol, sources, ports, [])
                    order.append(name)
                if lb.frontend_ip not in allow[name].destinations:
                    allow[name].destinations.append(lb.frontend_ip)
        if lb.deny_all_except_source_ranges and lb.source_ranges:
            deny_targets.append(lb.frontend_ip)
    rules = []
    for name in order:
        priority = next(p for p in range(low, high) if p not in used)
        used.add(priority)
        spec = allow[name]
        dsts = spec.destinations
        rules.append(SecurityRule(
            name, priority, NsgDirection.INBOUND, Access.ALLOW, spec.protocol,
            tuple(_source_prefix(s) for s in spec.sources), (ANY_PORT,),
            tuple(AddressPrefix(str(ip), ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")) for ip in sorted(dsts)),
            tuple(PortRange(p, p) for p in sorted(spec.ports, key=str)),
            f"added by the Azure cloud provider for LoadBalancer Service(s) at {', '.join(str(d) for d in sorted(dsts))}",
        ))
    if deny_targets:
        priority = next(p for p in range(high - 1, low - 1, -1) if p not in used)
        rules.append(SecurityRule(
            "_".join([_prefix_name(), "deny-all", "IPv4"]), priority, NsgDirection.INBOUND, Access.DENY, NsgProtocol.ANY,
            (AddressPrefix("*"),), (ANY_PORT,),
            tuple(AddressPrefix(str(ip), ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")) for ip in sorted(deny_targets)),
            (ANY_PORT,), "added because of azure-deny-all-except-load-balancer-source-ranges",
        ))
    return tuple(rules)


def _source_prefix(text: str) -> AddressPrefix:
    for tag in ServiceTag:
        if text.lower() == tag.value.lower():
            return AddressPrefix(tag.value, tag=tag)
    try:
        return AddressPrefix(text, ipaddress.ip_network(text))
    except ValueError:
        raise ValueError(f"service tag {text!r} is not modelled in the simulated cluster; supported: "
                         f"{', '.join(t.value for t in ServiceTag)}") from None
