"""DNS names in Cilium policy: the per-node DNS cache behind ``toFQDNs`` (``matchName`` /
``matchPattern`` themselves are model types, :class:`grader.model.cilium.FqdnSelector`).

Semantics (docs.cilium.io security/policy/language, "DNS based" and "DNS Policy and IP Discovery";
``pkg/fqdn/matchpattern``):

* names compare case-insensitively and as fully qualified (``api.example.com`` = ``api.example.com.``);
* ``matchName`` matches exactly that name;
* in ``matchPattern``, ``*`` stands for zero or more DNS characters *within one label*:
  ``*.example.com`` matches ``api.example.com`` but neither ``example.com`` nor ``a.b.example.com``;
  ``part*ial.com`` matches ``partial.com``; a pattern of ``*`` alone matches every name;
* a leading ``**.`` matches one or more labels (cilium/cilium#43420): ``**.example.com`` matches
  ``a.example.com`` and ``a.b.example.com`` (``grader.facts.fact("cilium-fqdn-double-star")``);
* ``toFQDNs`` allows the IPs Cilium's DNS proxy saw in answers for matching names. The proxy only
  sees a lookup that an egress rule with ``toPorts[].rules.dns`` sends through it; IPs are shared
  by every pod on the same node's agent ("For a given domain name, IPs from responses to all pods
  managed by a Cilium instance are allowed by policy").
"""

from __future__ import annotations

from collections import defaultdict

from ..model.cilium import NAME_RE, PATTERN_RE, FqdnSelector, normalize, pattern_regex
from ..model.cluster import IPAddress


class DnsCache:
    """What each node's Cilium agent learned from DNS answers its proxy saw: name -> addresses."""

    def __init__(self) -> None:
        self._by_node: dict[str, dict[str, set[IPAddress]]] = defaultdict(dict)

    def record(self, node: str, name: str, addresses: set[IPAddress] | frozenset[IPAddress]) -> None:
        self._by_node[node].setdefault(normalize(name), set()).update(addresses)

    def names_for(self, node: str, ip: IPAddress) -> list[str]:
        """Every name the node's proxy saw answered with ``ip``."""
        return sorted(n for n, ips in self._by_node.get(node, {}).items() if ip in ips)

    def entries(self, node: str) -> dict[str, frozenset[IPAddress]]:
        return {n: frozenset(ips) for n, ips in sorted(self._by_node.get(node, {}).items())}

    def clear(self) -> None:
        self._by_node.clear()


__all__ = ["NAME_RE", "PATTERN_RE", "DnsCache", "FqdnSelector", "normalize", "pattern_regex"]
