"""Cilium DNS name matching, case by case.

Source: docs.cilium.io security/policy/language "DNS based": ``*.cilium.io`` matches
``sub.cilium.io`` but not ``cilium.io`` or ``sub.sub.cilium.io``; ``part*ial.com`` matches
``partial.com`` and ``part-extra-ial.com``; ``*`` alone matches all names; names are FQDNs and
compared case-insensitively (``pkg/fqdn/matchpattern``); leading ``**.`` = one or more labels
(cilium/cilium#43420).
"""

from __future__ import annotations

import pytest

from grader.cilium import FqdnSelector
from grader.cilium.fqdn import DnsCache

PATTERNS = [
    ("*.example.com", "api.example.com", True),
    ("*.example.com", "example.com", False),            # the docs' edge case: the wildcard needs a label
    ("*.example.com", "a.b.example.com", False),         # '*' never crosses a '.'
    ("*.example.com", "api.example.com.", True),         # FQDN form with the trailing dot
    ("*.example.com", "API.Example.COM", True),          # case-insensitive
    ("*.example.com", "api.example.net", False),
    ("*.example.com", "apiexample.com", False),
    ("part*ial.com", "partial.com", True),
    ("part*ial.com", "part-extra-ial.com", True),
    ("part*ial.com", "part.ial.com", False),
    ("api.*.com", "api.example.com", True),
    ("api.*.com", "api.com", False),
    ("*", "api.example.com", True),
    ("*", "localhost", True),
    ("**.example.com", "a.example.com", True),
    ("**.example.com", "a.b.example.com", True),
    ("**.example.com", "example.com", False),
    ("special*service.api.cilium.io", "special-region1-service.api.cilium.io", True),   # the docs' DNS example
    ("special*service.api.cilium.io", "region1-service.api.cilium.io", False),
]


@pytest.mark.parametrize(("pattern", "name", "matches"), PATTERNS)
def test_match_pattern(pattern: str, name: str, matches: bool) -> None:
    assert FqdnSelector(match_pattern=pattern).matches(name) is matches


@pytest.mark.parametrize(("match_name", "name", "matches"), [
    ("api.example.com", "api.example.com", True),
    ("api.example.com", "API.EXAMPLE.COM.", True),
    ("api.example.com", "v2.api.example.com", False),
    ("example.com", "api.example.com", False),
])
def test_match_name_is_exact(match_name: str, name: str, matches: bool) -> None:
    assert FqdnSelector(match_name=match_name).matches(name) is matches


def test_dns_cache_is_per_node_and_maps_addresses_back_to_names() -> None:
    import ipaddress

    cache = DnsCache()
    ip = ipaddress.ip_address("203.0.113.10")
    cache.record("kind-worker", "API.example.com.", frozenset({ip}))
    assert cache.names_for("kind-worker", ip) == ["api.example.com"]
    assert cache.names_for("kind-worker2", ip) == []
    cache.clear()
    assert cache.names_for("kind-worker", ip) == []
