"""DNS names in Cilium policy: ``matchName`` / ``matchPattern`` and the per-node DNS cache behind ``toFQDNs``.

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

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from ..model.cluster import IPAddress

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
