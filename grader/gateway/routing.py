"""How a Gateway routes one HTTP request: listener, route, rule, filters, backend.

Sources: kubernetes-sigs/gateway-api ``apis/v1/httproute_types.go`` and ``gateway_types.go``:

* Listener: the request's port; for HTTPS the SNI picks the listener (most specific hostname;
  a listener without hostname matches any), and the Host header must then match that listener,
  else 404 ("If no other Listener matches the Host, the Gateway MUST return a 404"). For HTTP the
  Host header picks it.
* Route hostnames are suffix matches for wildcards (``*.example.com`` matches
  ``a.b.example.com``, not ``example.com``).
* Precedence: the route with the longest matching non-wildcard hostname, then the longest matching
  hostname; then across rules: Exact path, longest PathPrefix, method match, most header
  matches, most query-param matches; then "The oldest Route based on creation timestamp", then
  "The Route appearing first in alphabetical order by {namespace}/{name}"; within a route, the
  first matching rule (``HTTPRouteRule.matches`` documentation). Creation timestamps have
  one-second resolution, so routes created in the same second tie and their names decide.
  No match: 404.
* PathPrefix matches element-wise (``/abc`` matches ``/abc/def``, not ``/abcd``; trailing slash
  ignored). Header names are case-insensitive. RegularExpression matches are implementation-
  specific; here a full match with Python ``re`` (Envoy uses RE2 full match).
* Filters: ``filters.py``; what the Gateway does with a request as a whole: ``forward.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..model.gateway import (
    HeaderMatchType,
    HTTPRoute,
    Listener,
    ListenerProtocol,
    PathMatchType,
    RouteMatch,
    RouteRule,
)


def gateway_host_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower(), host.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_match(match: RouteMatch, path: str) -> bool:
    path = path.split("?", 1)[0] or "/"
    if match.path.type is PathMatchType.EXACT:
        return path == match.path.value
    if match.path.type is PathMatchType.PATH_PREFIX:
        prefix = _elements(match.path.value)
        return _elements(path)[: len(prefix)] == prefix
    try:
        return re.fullmatch(match.path.value, path) is not None
    except re.error:
        return False


def request_matches(match: RouteMatch, method: str, path: str, headers: dict[str, str], query: dict[str, str]) -> bool:
    if not path_match(match, path):
        return False
    if match.method is not None and match.method != method.upper():
        return False
    for h in match.headers:
        value = headers.get(h.name.lower())
        if value is None:
            return False
        if h.type is HeaderMatchType.EXACT and value != h.value:
            return False
        if h.type is HeaderMatchType.REGULAR_EXPRESSION and re.fullmatch(h.value, value) is None:
            return False
    for q in match.query_params:
        value = query.get(q.name)
        if value is None or (q.type is HeaderMatchType.EXACT and value != q.value) or (
                q.type is HeaderMatchType.REGULAR_EXPRESSION and re.fullmatch(q.value, value) is None):
            return False
    return True


def match_rank(match: RouteMatch) -> tuple[int, int, int, int, int]:
    exact = 0 if match.path.type is PathMatchType.EXACT else 1
    prefix_len = -len(match.path.value) if match.path.type is not PathMatchType.REGULAR_EXPRESSION else 0
    return (exact, prefix_len, 0 if match.method else 1, -len(match.headers), -len(match.query_params))


def select_listener(listeners: Sequence[Listener], port: int, protocol: ListenerProtocol, name: str | None) -> Listener | None:
    """The listener on ``port``/``protocol`` whose hostname fits ``name`` best (SNI or Host)."""
    candidates = []
    for lst in listeners:
        if lst.port != port or lst.protocol is not protocol:
            continue
        if lst.hostname is None:
            candidates.append(((2, 0), lst))
        elif name and gateway_host_matches(lst.hostname, name):
            candidates.append(((1 if lst.hostname.startswith("*.") else 0, -len(lst.hostname)), lst))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def with_creation_time(route: HTTPRoute, previous: Any, now: int) -> HTTPRoute:
    """``route`` as stored: a new object is created at ``now``; an update keeps the creation time of
    ``previous`` (a stored manifest or route), as ``metadata.creationTimestamp`` never changes."""
    old = getattr(previous, "obj", previous)
    return replace(route, created=old.created if isinstance(old, HTTPRoute) else now)


@dataclass(frozen=True, slots=True)
class AttachedRoute:
    route: HTTPRoute
    hostnames: tuple[str, ...]
    """Effective hostnames on the listener (``()``: any host)."""
    created: int
    """The route's creation second (``HTTPRoute.created``); older wins a tie."""
    dropped: tuple[int, ...] = ()
    """Indexes of rules the implementation dropped (a filter it does not carry out): they never match."""


@dataclass(frozen=True, slots=True)
class RouteChoice:
    route: HTTPRoute
    rule_index: int
    rule: RouteRule
    match: RouteMatch
    hostname: str | None

    def describe(self) -> str:
        rule = self.rule.name or f"rules[{self.rule_index}]"
        host = self.hostname or "any host"
        return f"httproute {self.route.ref} {rule} ({host}; {self.match.render()})"


def choose_route(attached: Sequence[AttachedRoute], host: str, method: str, path: str, headers: dict[str, str], query: dict[str, str]) -> RouteChoice | None:
    best = None
    for ar in attached:
        if ar.hostnames:
            matching = [h for h in ar.hostnames if gateway_host_matches(h, host)]
            if not matching:
                continue
            exact = max((len(h) for h in matching if not h.startswith("*.")), default=0)
            longest = max(len(h) for h in matching)
            hostname = max(matching, key=len)
        else:
            exact = longest = 0
            hostname = None
        for i, rule in enumerate(ar.route.rules):
            if i in ar.dropped:
                continue
            for j, m in enumerate(rule.matches):
                if not request_matches(m, method, path, headers, query):
                    continue
                key = ((-exact, -longest), match_rank(m), ar.created, ar.route.ref, i, j)
                if best is None or key < best[0]:
                    best = (key, RouteChoice(ar.route, i, rule, m, hostname))
    return best[1] if best else None
