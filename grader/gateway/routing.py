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
  matches, most query-param matches; then the oldest route, then ``namespace/name``
  alphabetically; within a route, the first rule. No match: 404.
* PathPrefix matches element-wise (``/abc`` matches ``/abc/def``, not ``/abcd``; trailing slash
  ignored). Header names are case-insensitive. RegularExpression matches are implementation-
  specific; here a full match with Python ``re`` (Envoy uses RE2 full match).
* Filters: RequestRedirect builds ``Location`` (scheme, hostname, port -- the well-known port of a
  new scheme, else the listener's; default ports omitted -- and path via ReplaceFullPath or
  ReplacePrefixMatch), RequestHeaderModifier / ResponseHeaderModifier set, add, remove.
* backendRefs: weighted choice (weight 0 gets nothing); an invalid backend answers 500; a backend
  Service without ready endpoints 503.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..model.gateway import (
    BackendRef,
    HeaderMatchType,
    HeaderModifier,
    HTTPRoute,
    Listener,
    ListenerProtocol,
    PathMatchType,
    RouteFilter,
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


@dataclass(frozen=True, slots=True)
class AttachedRoute:
    route: HTTPRoute
    hostnames: tuple[str, ...]
    """Effective hostnames on the listener (``()``: any host)."""
    order: int
    """Creation order (older first)."""


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
            for j, m in enumerate(rule.matches):
                if not request_matches(m, method, path, headers, query):
                    continue
                key = ((-exact, -longest), match_rank(m), ar.order, ar.route.ref, i, j)
                if best is None or key < best[0]:
                    best = (key, RouteChoice(ar.route, i, rule, m, hostname))
    return best[1] if best else None


def apply_header_modifier(headers: list[tuple[str, str]], mod: HeaderModifier | None) -> list[tuple[str, str]]:
    if mod is None:
        return headers
    out = [(k, v) for k, v in headers if k.lower() not in {r.lower() for r in mod.remove}]
    for name, value in mod.set:
        out = [(k, v) for k, v in out if k.lower() != name.lower()] + [(name, value)]
    for name, value in mod.add:
        existing = [i for i, (k, _) in enumerate(out) if k.lower() == name.lower()]
        if existing:
            k, v = out[existing[0]]
            out[existing[0]] = (k, f"{v},{value}")
        else:
            out.append((name, value))
    return out


def redirect_location(f: RouteFilter, scheme: str, host: str, listener_port: int, path: str, match: RouteMatch) -> str:
    assert f.redirect is not None
    r = f.redirect
    new_scheme = r.scheme or scheme
    hostname = r.hostname or host.split(":")[0]
    if r.port is not None:
        port = r.port
    elif r.scheme is not None:
        port = 443 if new_scheme == "https" else 80
    else:
        port = listener_port
    path_only, _, query = path.partition("?")
    if r.path_type == "ReplaceFullPath" and r.path_value is not None:
        path_only = r.path_value
    elif r.path_type == "ReplacePrefixMatch" and r.path_value is not None:
        prefix = match.path.value.rstrip("/")
        rest = path_only[len(prefix):] if path_only.startswith(prefix) else path_only
        path_only = (r.path_value.rstrip("/") + rest) or "/"
        if not path_only.startswith("/"):
            path_only = "/" + path_only
    default = (new_scheme == "http" and port == 80) or (new_scheme == "https" and port == 443)
    authority = hostname if default else f"{hostname}:{port}"
    return f"{new_scheme}://{authority}{path_only}" + (f"?{query}" if query else "")


@dataclass(frozen=True, slots=True)
class BackendChoice:
    backend: BackendRef | None
    reason: str = ""


def filters_of(rule: RouteRule, backend: BackendRef | None) -> tuple[RouteFilter, ...]:
    return rule.filters + (backend.filters if backend is not None else ())


@dataclass(frozen=True)
class Forward:
    """What the gateway sends upstream (after filters) and adds to the response."""

    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())
