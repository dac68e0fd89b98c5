"""Gateway API (``gateway.networking.k8s.io/v1``): GatewayClass, Gateway, HTTPRoute, ReferenceGrant.

Field names and defaults follow the v1 Go types (``apis/v1/*_types.go`` of kubernetes-sigs/gateway-api,
v1.6): a listener's ``allowedRoutes`` defaults to ``{namespaces: {from: Same}}``, an HTTPRoute rule
without matches matches ``PathPrefix /``, a parentRef defaults to kind Gateway in the route's
namespace, a backendRef to kind Service with weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .cluster import IPAddress
from .labels import LabelSelector


class ListenerProtocol(StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TLS = "TLS"
    TCP = "TCP"
    UDP = "UDP"


class FromNamespaces(StrEnum):
    SAME = "Same"
    ALL = "All"
    SELECTOR = "Selector"


class PathMatchType(StrEnum):
    EXACT = "Exact"
    PATH_PREFIX = "PathPrefix"
    REGULAR_EXPRESSION = "RegularExpression"


class HeaderMatchType(StrEnum):
    EXACT = "Exact"
    REGULAR_EXPRESSION = "RegularExpression"


@dataclass(frozen=True, slots=True)
class GatewayClass:
    name: str
    controller_name: str


@dataclass(frozen=True, slots=True)
class SecretRef:
    name: str
    namespace: str
    kind: str = "Secret"
    group: str = ""


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    port: int
    protocol: ListenerProtocol
    hostname: str | None = None
    tls_mode: str | None = None
    """``Terminate`` or ``Passthrough`` (HTTPS/TLS listeners)."""
    certificate_refs: tuple[SecretRef, ...] = ()
    allowed_from: FromNamespaces = FromNamespaces.SAME
    allowed_selector: LabelSelector | None = None
    allowed_kinds: tuple[str, ...] = ()
    """Route kinds the listener allows; empty means the protocol's default (HTTPRoute for HTTP/HTTPS)."""


@dataclass(frozen=True, slots=True)
class Gateway:
    namespace: str
    name: str
    class_name: str
    listeners: tuple[Listener, ...]
    address: IPAddress | None = None
    """``status.addresses[0]``, assigned by the implementation (the lab fills it in)."""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ParentRef:
    name: str
    namespace: str
    kind: str = "Gateway"
    group: str = "gateway.networking.k8s.io"
    section_name: str | None = None
    port: int | None = None

    def render(self) -> str:
        text = f"{self.kind.lower()} {self.namespace}/{self.name}"
        if self.section_name:
            text += f" (listener {self.section_name})"
        if self.port:
            text += f" (port {self.port})"
        return text


@dataclass(frozen=True, slots=True)
class PathMatch:
    type: PathMatchType = PathMatchType.PATH_PREFIX
    value: str = "/"


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str
    value: str
    type: HeaderMatchType = HeaderMatchType.EXACT


@dataclass(frozen=True, slots=True)
class QueryParamMatch:
    name: str
    value: str
    type: HeaderMatchType = HeaderMatchType.EXACT


@dataclass(frozen=True, slots=True)
class RouteMatch:
    path: PathMatch = PathMatch()
    headers: tuple[HeaderMatch, ...] = ()
    query_params: tuple[QueryParamMatch, ...] = ()
    method: str | None = None

    def render(self) -> str:
        parts = [f"{self.path.type} {self.path.value}"]
        if self.method:
            parts.append(f"method {self.method}")
        parts += [f"header {h.name}={h.value}" for h in self.headers]
        parts += [f"query {q.name}={q.value}" for q in self.query_params]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class HeaderModifier:
    set: tuple[tuple[str, str], ...] = ()
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestRedirect:
    scheme: str | None = None
    hostname: str | None = None
    port: int | None = None
    status_code: int = 302
    path_type: str | None = None
    """``ReplaceFullPath`` or ``ReplacePrefixMatch``."""
    path_value: str | None = None


@dataclass(frozen=True, slots=True)
class URLRewrite:
    """``HTTPURLRewriteFilter``: the Host header and path the backend receives instead of the client's."""

    hostname: str | None = None
    path_type: str | None = None
    """``ReplaceFullPath`` or ``ReplacePrefixMatch``."""
    path_value: str | None = None


@dataclass(frozen=True, slots=True)
class RouteFilter:
    type: str
    """``RequestHeaderModifier``, ``ResponseHeaderModifier``, ``RequestRedirect``, ``URLRewrite``."""
    header_modifier: HeaderModifier | None = None
    redirect: RequestRedirect | None = None
    url_rewrite: URLRewrite | None = None


@dataclass(frozen=True, slots=True)
class BackendRef:
    name: str
    namespace: str
    port: int | None
    weight: int = 1
    kind: str = "Service"
    group: str = ""
    filters: tuple[RouteFilter, ...] = ()

    def render(self) -> str:
        kind = "" if self.kind == "Service" else f"{self.kind} "
        return f"{kind}{self.namespace}/{self.name}:{self.port}"


@dataclass(frozen=True, slots=True)
class RouteRule:
    matches: tuple[RouteMatch, ...] = (RouteMatch(),)
    filters: tuple[RouteFilter, ...] = ()
    backend_refs: tuple[BackendRef, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class HTTPRoute:
    namespace: str
    name: str
    parent_refs: tuple[ParentRef, ...]
    hostnames: tuple[str, ...] = ()
    rules: tuple[RouteRule, ...] = (RouteRule(),)
    created: int = 0
    """``metadata.creationTimestamp`` in whole seconds (the API server's resolution); the simulated
    cluster counts applies, so the routes of one apply share a second (route precedence ties)."""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class GrantFrom:
    group: str
    kind: str
    namespace: str


@dataclass(frozen=True, slots=True)
class GrantTo:
    group: str
    kind: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceGrant:
    namespace: str
    name: str
    from_: tuple[GrantFrom, ...]
    to: tuple[GrantTo, ...]

    def permits(self, from_group: str, from_kind: str, from_namespace: str, to_group: str, to_kind: str, to_name: str) -> bool:
        if not any(f.group == from_group and f.kind == from_kind and f.namespace == from_namespace for f in self.from_):
            return False
        return any(t.group == to_group and t.kind == to_kind and (t.name is None or t.name == to_name) for t in self.to)
