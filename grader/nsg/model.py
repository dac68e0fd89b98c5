"""Azure network security groups: rules, default rules, service tags, evaluation. **An Azure model.**

kind has no NSG; the simulated cluster attaches this model to its node subnet / node NICs so a
lesson can show what AKS does. Everything here follows the Azure documentation:

* "Azure network security groups overview" (learn.microsoft.com/azure/virtual-network/
  network-security-groups-overview): priority 100-4096, lower number first, processing stops at
  the first match; five-tuple matching; stateful flow records (a reply needs no rule, and rule
  changes only affect new connections); the default rules AllowVNetInBound 65000,
  AllowAzureLoadBalancerInBound 65001, DenyAllInbound 65500, AllowVnetOutBound 65000,
  AllowInternetOutBound 65001, DenyAllOutBound 65500; "Any" protocol covers TCP, UDP and ICMP;
  augmented rules with several addresses/ports but at most one service tag.
* "How network security groups filter network traffic" (…/network-security-group-how-it-works):
  inbound, the subnet's NSG first, then the NIC's; outbound, the NIC's first, then the subnet's;
  intra-subnet traffic included; traffic must pass both.
* "Virtual network service tags" (…/service-tags-overview): VirtualNetwork = the VNet address space,
  connected and peered spaces, the host's virtual IP and prefixes on user-defined routes;
  AzureLoadBalancer = the host's virtual IP 168.63.129.16 where health probes come from;
  Internet = the address space outside the virtual network reachable on the public internet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..model import Protocol
from ..model.cluster import IPAddress, IPNetwork

PRIORITY_MIN = 100
PRIORITY_MAX = 4096
AZURE_HOST_VIP = ipaddress.ip_network("168.63.129.16/32")
"""Azure's virtual host IP: DHCP, DNS, health probes (member of AzureLoadBalancer and VirtualNetwork)."""

NON_INTERNET = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
))
"""Private and special IPv4 space: never part of the Internet tag. The RFC 5737 documentation ranges
stand in for public addresses in this lab, so they count as internet."""


class NsgDirection(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


class Access(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class NsgProtocol(StrEnum):
    TCP = "Tcp"
    UDP = "Udp"
    ICMP = "Icmp"
    ESP = "Esp"
    AH = "Ah"
    ANY = "*"

    def matches(self, protocol: Protocol) -> bool:
        if self is NsgProtocol.ANY:
            return True  # the Azure cloud provider relies on "*" for SCTP Services too
        return (self is NsgProtocol.TCP and protocol is Protocol.TCP) or (self is NsgProtocol.UDP and protocol is Protocol.UDP)


class ServiceTag(StrEnum):
    VIRTUAL_NETWORK = "VirtualNetwork"
    AZURE_LOAD_BALANCER = "AzureLoadBalancer"
    INTERNET = "Internet"


@dataclass(frozen=True, slots=True)
class TagSpace:
    """What the service tags stand for in one virtual network."""

    virtual_network: tuple[IPNetwork, ...]
    azure_load_balancer: tuple[IPNetwork, ...] = (AZURE_HOST_VIP,)

    def in_virtual_network(self, ip: IPAddress) -> bool:
        return _contains(self.virtual_network, ip)

    def is_internet(self, ip: IPAddress) -> bool:
        return not self.in_virtual_network(ip) and not _contains(NON_INTERNET, ip)

    def matches(self, tag: ServiceTag, ip: IPAddress) -> bool:
        if tag is ServiceTag.VIRTUAL_NETWORK:
            return self.in_virtual_network(ip)
        if tag is ServiceTag.AZURE_LOAD_BALANCER:
            return _contains(self.azure_load_balancer, ip)
        return self.is_internet(ip)


def _contains(networks: Iterable[IPNetwork], ip: IPAddress) -> bool:
    return any(ip.version == n.version and ip in n for n in networks)


@dataclass(frozen=True, slots=True)
class AddressPrefix:
    """``*``, an address or CIDR, or a service tag."""

    text: str
    network: IPNetwork | None = None
    tag: ServiceTag | None = None

    @property
    def is_any(self) -> bool:
        return self.network is None and self.tag is None

    def matches(self, ip: IPAddress, tags: TagSpace) -> bool:
        if self.tag is not None:
            return tags.matches(self.tag, ip)
        if self.network is not None:
            return ip.version == self.network.version and ip in self.network
        return True


ANY_PREFIX = AddressPrefix("*")


@dataclass(frozen=True, slots=True)
class PortRange:
    low: int = 0
    high: int = 65535

    @property
    def text(self) -> str:
        if (self.low, self.high) == (0, 65535):
            return "*"
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"

    def contains(self, port: int) -> bool:
        return self.low <= port <= self.high


ANY_PORT = PortRange()


@dataclass(frozen=True, slots=True)
class FiveTuple:
    """A packet as an NSG sees it: after inbound DNAT of public IPs, before outbound SNAT to a public IP."""

    src: IPAddress
    src_port: int
    dst: IPAddress
    dst_port: int
    protocol: Protocol

    def render(self) -> str:
        return f"{self.protocol} {self.src}:{self.src_port} → {self.dst}:{self.dst_port}"


@dataclass(frozen=True, slots=True)
class SecurityRule:
    name: str
    priority: int
    direction: NsgDirection
    access: Access
    protocol: NsgProtocol
    source: tuple[AddressPrefix, ...] = (ANY_PREFIX,)
    source_ports: tuple[PortRange, ...] = (ANY_PORT,)
    destination: tuple[AddressPrefix, ...] = (ANY_PREFIX,)
    destination_ports: tuple[PortRange, ...] = (ANY_PORT,)
    description: str = ""
    default: bool = False
    """One of Azure's six default rules (cannot be removed, only overridden by a lower priority number)."""

    def matches(self, packet: FiveTuple, tags: TagSpace) -> bool:
        return (
            self.protocol.matches(packet.protocol)
            and any(p.matches(packet.src, tags) for p in self.source)
            and any(p.matches(packet.dst, tags) for p in self.destination)
            and any(r.contains(packet.src_port) for r in self.source_ports)
            and any(r.contains(packet.dst_port) for r in self.destination_ports)
        )

    def render(self) -> str:
        src = ",".join(p.text for p in self.source)
        dst = ",".join(p.text for p in self.destination)
        sports = ",".join(r.text for r in self.source_ports)
        dports = ",".join(r.text for r in self.destination_ports)
        return (f"{self.priority:>5} {self.name:<32} {self.direction.value:<8} {self.access.value:<5} "
                f"{self.protocol.value:<4} {src}:{sports} → {dst}:{dports}")


DEFAULT_RULES: tuple[SecurityRule, ...] = (
    SecurityRule("AllowVnetInBound", 65000, NsgDirection.INBOUND, Access.ALLOW, NsgProtocol.ANY,
                 (AddressPrefix("VirtualNetwork", tag=ServiceTag.VIRTUAL_NETWORK),), (ANY_PORT,),
                 (AddressPrefix("VirtualNetwork", tag=ServiceTag.VIRTUAL_NETWORK),), (ANY_PORT,),
                 "Allow inbound traffic from all VMs in VNET", True),
    SecurityRule("AllowAzureLoadBalancerInBound", 65001, NsgDirection.INBOUND, Access.ALLOW, NsgProtocol.ANY,
                 (AddressPrefix("AzureLoadBalancer", tag=ServiceTag.AZURE_LOAD_BALANCER),), (ANY_PORT,),
                 (AddressPrefix("0.0.0.0/0", ipaddress.ip_network("0.0.0.0/0")),), (ANY_PORT,),
                 "Allow inbound traffic from azure load balancer", True),
    SecurityRule("DenyAllInBound", 65500, NsgDirection.INBOUND, Access.DENY, NsgProtocol.ANY,
                 (AddressPrefix("0.0.0.0/0", ipaddress.ip_network("0.0.0.0/0")),), (ANY_PORT,),
                 (AddressPrefix("0.0.0.0/0", ipaddress.ip_network("0.0.0.0/0")),), (ANY_PORT,),
                 "Deny all inbound traffic", True),
    SecurityRule("AllowVnetOutBound", 65000, NsgDirection.OUTBOUND, Access.ALLOW, NsgProtocol.ANY,
                 (AddressPrefix("VirtualNetwork", tag=ServiceTag.VIRTUAL_NETWORK),), (ANY_PORT,),
                 (AddressPrefix("VirtualNetwork", tag=ServiceTag.VIRTUAL_NETWORK),), (ANY_PORT,),
                 "Allow outbound traffic from all VMs to all VMs in VNET", True),
    SecurityRule("AllowInternetOutBound", 65001, NsgDirection.OUTBOUND, Access.ALLOW, NsgProtocol.ANY,
                 (AddressPrefix("0.0.0.0/0", ipaddress.ip_network("0.0.0.0/0")),), (ANY_PORT,),
                 (AddressPrefix("Internet", tag=ServiceTag.INTERNET),), (ANY_PORT,),
                 "Allow outbound traffic from all VMs to Internet", True),
    SecurityRule("DenyAllOutBound", 65500, NsgDirection.OUTBOUND, Access.DENY, NsgProtocol.ANY,
                 (AddressPrefix("0.0.0.0/0", ipaddress.ip_network("0.0.0.0/0")),), (ANY_PORT,),
                 (AddressPrefix("0.0.0.0/0", ipaddress.ip_network("0.0.0.0/0")),), (ANY_PORT,),
                 "Deny all outbound traffic", True),
)


@dataclass(frozen=True, slots=True)
class NetworkSecurityGroup:
    """An NSG: the rules you wrote; Azure's default rules are always added behind them."""

    name: str
    rules: tuple[SecurityRule, ...] = ()

    def effective_rules(self, direction: NsgDirection, extra: Iterable[SecurityRule] = ()) -> tuple[SecurityRule, ...]:
        """The rules Azure processes for ``direction``, in order: yours (and ``extra``, e.g. rules
        a LoadBalancer Service added) by priority, then the defaults."""
        mine = [r for r in (*self.rules, *extra) if r.direction is direction]
        defaults = [r for r in DEFAULT_RULES if r.direction is direction]
        return tuple(sorted(mine, key=lambda r: (r.priority, r.name)) + defaults)

    def with_rules(self, rules: Iterable[SecurityRule]) -> NetworkSecurityGroup:
        return NetworkSecurityGroup(self.name, tuple(rules))

    def render(self, extra: Iterable[SecurityRule] = ()) -> str:
        extra = tuple(extra)
        lines = [f"NSG {self.name} (Azure model; kind has no NSG)"]
        for d in NsgDirection:
            lines.append(f"  {d.value}:")
            lines += ["    " + r.render() for r in self.effective_rules(d, extra)]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class NsgDecision:
    nsg: str
    scope: str
    """``subnet`` or ``nic <node>``: where the NSG is associated."""
    direction: NsgDirection
    packet: FiveTuple
    rule: SecurityRule

    @property
    def allowed(self) -> bool:
        return self.rule.access is Access.ALLOW

    def render(self) -> str:
        kind = "default rule " if self.rule.default else ""
        return (f"NSG {self.nsg} ({self.scope}) {self.direction.value.lower()} {self.packet.render()}: "
                f"{self.rule.access.value.upper()} by {kind}{self.rule.name} (priority {self.rule.priority})")


def evaluate(nsg: NetworkSecurityGroup, direction: NsgDirection, packet: FiveTuple, tags: TagSpace, *,
             scope: str = "subnet", extra: Iterable[SecurityRule] = ()) -> NsgDecision:
    """The first rule (lowest priority number) that matches decides; the defaults end every list, so one always does."""
    for rule in nsg.effective_rules(direction, extra):
        if rule.matches(packet, tags):
            return NsgDecision(nsg.name, scope, direction, packet, rule)
    raise AssertionError("the default DenyAll rules match every packet")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Attachment:
    """NSGs associated with one node: its subnet's and its NIC's (either may be absent)."""

    subnet: NetworkSecurityGroup | None = None
    nic: NetworkSecurityGroup | None = None
    subnet_extra: tuple[SecurityRule, ...] = ()
    nic_extra: tuple[SecurityRule, ...] = ()


def evaluate_attachment(attachment: Attachment, node: str, direction: NsgDirection, packet: FiveTuple,
                        tags: TagSpace) -> tuple[NsgDecision, ...]:
    """Inbound: subnet NSG, then NIC NSG; outbound: NIC, then subnet. Processing stops at the first deny."""
    order: list[tuple[NetworkSecurityGroup | None, str, tuple[SecurityRule, ...]]] = [
        (attachment.subnet, "subnet", attachment.subnet_extra),
        (attachment.nic, f"NIC of {node}", attachment.nic_extra),
    ]
    if direction is NsgDirection.OUTBOUND:
        order.reverse()
    decisions = []
    for nsg, scope, extra in order:
        if nsg is None:
            continue
        decision = evaluate(nsg, direction, packet, tags, scope=scope, extra=extra)
        decisions.append(decision)
        if not decision.allowed:
            break
    return tuple(decisions)
