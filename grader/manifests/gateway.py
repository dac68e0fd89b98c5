"""Gateway API (``gateway.networking.k8s.io/v1``) kinds, validated by hand.

kubernetes-validate has no schema for CRDs, so this module checks what the CRDs' OpenAPI schema and
CEL rules check (kubernetes-sigs/gateway-api ``apis/v1/*_types.go``, standard channel, v1.6): field
types, enums, required fields, unknown fields (kubectl's default ``--validate=strict`` rejects
them), list limits, and the cross-field rules a learner can trip over (HTTPS listeners need
``tls``; HTTP listeners may not have it; RequestRedirect may not be combined with backendRefs;
a Service backendRef needs a port; listener names and port/protocol/hostname combinations are
unique). Defaults follow the kubebuilder markers of the same types.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..model.gateway import (
    BackendRef,
    FromNamespaces,
    Gateway,
    GatewayClass,
    GrantFrom,
    GrantTo,
    HeaderMatch,
    HeaderMatchType,
    HeaderModifier,
    HTTPRoute,
    Listener,
    ListenerProtocol,
    ParentRef,
    PathMatch,
    PathMatchType,
    QueryParamMatch,
    ReferenceGrant,
    RequestRedirect,
    RouteFilter,
    RouteMatch,
    RouteRule,
    SecretRef,
    URLRewrite,
)
from .documents import Document
from .bounded_yaml import shown
from .validation import Problems, parse_metadata, parse_selector, port_number_errors

GROUP = "gateway.networking.k8s.io"
_SECTION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
_CONTROLLER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
_PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
FILTER_TYPES = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef", "CORS")
MODELLED_FILTERS = ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite")
"""Filter types the simulated cluster carries out. The CRD accepts the others too, but a filter that
is accepted and silently does nothing would mislead, so they are refused with a field-path error
(cloud-provider-kind drops a rule with a filter it does not implement, ``pkg/gateway/httproute.go``
``findUnsupportedFilter``)."""


def _keys(raw: Any, allowed: Sequence[str], path: list[str | int], problems: Problems) -> Mapping[str, Any]:
    """The mapping itself, after reporting fields the CRD schema does not know (strict validation)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(path, f"expected an object, got {type(raw).__name__} {shown(raw)}")
        return {}
    extra = sorted(set(raw) - set(allowed))
    if extra:
        problems.add(path, f"unknown field {', '.join(repr(e) for e in extra)}; expected one of: {', '.join(sorted(allowed))}")
    return raw


def _list(raw: Any, path: list[str | int], problems: Problems, max_items: int | None = None) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(path, f"expected a list, got {type(raw).__name__}")
        return []
    if max_items is not None and len(raw) > max_items:
        problems.add(path, f"must have at most {max_items} items")
    return raw


def hostname_errors(value: str) -> list[str]:
    """Gateway API ``Hostname``: RFC 1123 hostname, optionally ``*.``-prefixed, never an IP."""
    try:
        ipaddress.ip_address(value)
        return ["must be a hostname, IP addresses are not allowed"]
    except ValueError:
        pass
    if len(value) > 253 or not _HOSTNAME.match(value):
        return ["must be a lowercase RFC 1123 hostname, optionally prefixed by a wildcard label ('*.')"]
    return []


def _port(raw: Any, path: list[str | int], problems: Problems) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        problems.add(path, f"expected a port number, got {shown(raw)}")
        return None
    for msg in port_number_errors(raw):
        problems.add(path, f"invalid port {raw}: {msg}")
    return raw


def _section_name(value: Any, path: list[str | int], problems: Problems) -> str:
    text = str(value or "")
    if not text or len(text) > 253 or not _SECTION_NAME.match(text):
        problems.add(path, f"invalid name {shown(text)}: must be a lowercase RFC 1123 subdomain")
    return text


def parse_gateway_class(doc: Document, default_namespace: str) -> GatewayClass:
    problems = Problems(doc.label)
    _, name = parse_metadata(doc.body, problems, namespaced=False, default_namespace=default_namespace)
    spec = _keys(doc.body.get("spec"), ("controllerName", "parametersRef", "description"), ["spec"], problems)
    controller = str(spec.get("controllerName") or "")
    if not controller:
        problems.add(["spec", "controllerName"], "controllerName is required")
    elif not _CONTROLLER.match(controller):
        problems.add(["spec", "controllerName"], f"{shown(controller)} must be a domain-prefixed path (e.g. example.com/gateway-controller)")
    problems.raise_if_any()
    return GatewayClass(name, controller)


def _listener(raw: Any, i: int, namespace: str, problems: Problems) -> Listener | None:
    path: list[str | int] = ["spec", "listeners", i]
    raw = _keys(raw, ("name", "hostname", "port", "protocol", "tls", "allowedRoutes"), path, problems)
    name = _section_name(raw.get("name"), [*path, "name"], problems)
    port = _port(raw.get("port"), [*path, "port"], problems)
    if raw.get("port") is None:
        problems.add([*path, "port"], "port is required")
    proto_text = raw.get("protocol")
    protocol = None
    try:
        protocol = ListenerProtocol(proto_text)
    except ValueError:
        problems.add([*path, "protocol"], f"unsupported value {shown(proto_text)}: core protocols are HTTP, HTTPS, TLS, TCP, UDP")
    hostname = raw.get("hostname")
    if hostname is not None:
        for msg in hostname_errors(str(hostname)):
            problems.add([*path, "hostname"], f"invalid value {shown(hostname)}: {msg}")
        if protocol in (ListenerProtocol.TCP, ListenerProtocol.UDP):
            problems.add([*path, "hostname"], "hostname must not be specified for protocols ['TCP', 'UDP']")
    tls = _keys(raw.get("tls"), ("mode", "certificateRefs", "options", "frontendValidation"), [*path, "tls"], problems)
    mode = None
    refs: list[SecretRef] = []
    if raw.get("tls") is not None:
        if protocol in (ListenerProtocol.HTTP, ListenerProtocol.TCP, ListenerProtocol.UDP):
            problems.add([*path, "tls"], "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']")
        mode = str(tls.get("mode") or "Terminate")
        if mode not in ("Terminate", "Passthrough"):
            problems.add([*path, "tls", "mode"], f'unsupported value {shown(mode)}: supported values: "Passthrough", "Terminate"')
        for j, ref in enumerate(_list(tls.get("certificateRefs"), [*path, "tls", "certificateRefs"], problems, 64)):
            rpath: list[str | int] = [*path, "tls", "certificateRefs", j]
            ref = _keys(ref, ("group", "kind", "name", "namespace"), rpath, problems)
            if not ref.get("name"):
                problems.add([*rpath, "name"], "name is required")
            refs.append(SecretRef(str(ref.get("name") or ""), str(ref.get("namespace") or namespace), str(ref.get("kind") or "Secret"), str(ref.get("group") or "")))
        if mode == "Terminate" and not refs and not tls.get("options"):
            problems.add([*path, "tls", "certificateRefs"], "certificateRefs or options must be specified when mode is Terminate")
    elif protocol is ListenerProtocol.HTTPS:
        problems.add([*path, "tls"], "tls must be specified for protocol HTTPS (Gateway API v1.6 makes this a validation error)")
    elif protocol is ListenerProtocol.TLS:
        problems.add([*path, "tls"], "tls mode must be set for protocol TLS")
    allowed = _keys(raw.get("allowedRoutes"), ("namespaces", "kinds"), [*path, "allowedRoutes"], problems)
    ns_raw = _keys(allowed.get("namespaces"), ("from", "selector"), [*path, "allowedRoutes", "namespaces"], problems)
    try:
        from_ = FromNamespaces(ns_raw.get("from") or "Same")
    except ValueError:
        problems.add([*path, "allowedRoutes", "namespaces", "from"], f'unsupported value {shown(ns_raw.get("from"))}: supported values: "All", "Same", "Selector"')
        from_ = FromNamespaces.SAME
    selector = None
    if from_ is FromNamespaces.SELECTOR:
        if ns_raw.get("selector") is None:
            problems.add([*path, "allowedRoutes", "namespaces", "selector"], "selector must be specified when from is Selector")
        selector = parse_selector(ns_raw.get("selector"), [*path, "allowedRoutes", "namespaces", "selector"], problems)
    kinds = []
    for j, kind in enumerate(_list(allowed.get("kinds"), [*path, "allowedRoutes", "kinds"], problems, 8)):
        kind = _keys(kind, ("group", "kind"), [*path, "allowedRoutes", "kinds", j], problems)
        kinds.append(str(kind.get("kind") or ""))
    if protocol is None or port is None:
        return None
    return Listener(name, port, protocol, str(hostname) if hostname else None, mode, tuple(refs), from_, selector, tuple(kinds))


def parse_gateway(doc: Document, default_namespace: str) -> Gateway:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    spec = _keys(doc.body.get("spec"), ("gatewayClassName", "listeners", "addresses", "infrastructure", "backendTLS", "allowedListeners", "tls", "defaultScope"), ["spec"], problems)
    class_name = str(spec.get("gatewayClassName") or "")
    if not class_name:
        problems.add(["spec", "gatewayClassName"], "gatewayClassName is required")
    raw_listeners = _list(spec.get("listeners"), ["spec", "listeners"], problems, 64)
    if not raw_listeners:
        problems.add(["spec", "listeners"], "at least one listener is required")
    listeners = []
    names: set[str] = set()
    combos: set[tuple[int, str, str]] = set()
    for i, raw in enumerate(raw_listeners):
        listener = _listener(raw, i, namespace, problems)
        if listener is None:
            continue
        if listener.name in names:
            problems.add(["spec", "listeners", i, "name"], f"Listener name {shown(listener.name)} must be unique within the Gateway")
        names.add(listener.name)
        combo = (listener.port, str(listener.protocol), listener.hostname or "")
        if combo in combos:
            problems.add(["spec", "listeners", i], "Combination of port, protocol and hostname must be unique for each listener")
        combos.add(combo)
        listeners.append(listener)
    if spec.get("addresses"):
        problems.add(["spec", "addresses"], "requesting specific addresses is not modelled by the simulated cluster; the implementation assigns one")
    problems.raise_if_any()
    return Gateway(namespace, name, class_name, tuple(listeners))


def _parent_ref(raw: Any, path: list[str | int], namespace: str, problems: Problems) -> ParentRef:
    raw = _keys(raw, ("group", "kind", "namespace", "name", "sectionName", "port"), path, problems)
    if not raw.get("name"):
        problems.add([*path, "name"], "name is required")
    section = raw.get("sectionName")
    if section is not None:
        _section_name(section, [*path, "sectionName"], problems)
    group = raw.get("group")
    return ParentRef(str(raw.get("name") or ""), str(raw.get("namespace") or namespace), str(raw.get("kind") or "Gateway"),
                     GROUP if group is None else str(group), str(section) if section else None,
                     _port(raw.get("port"), [*path, "port"], problems))


def _header_modifier(raw: Any, path: list[str | int], problems: Problems) -> HeaderModifier:
    raw = _keys(raw, ("set", "add", "remove"), path, problems)
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for key in ("set", "add"):
        items = []
        seen: set[str] = set()
        for j, h in enumerate(_list(raw.get(key), [*path, key], problems, 16)):
            h = _keys(h, ("name", "value"), [*path, key, j], problems)
            hname = str(h.get("name") or "")
            if not _HEADER_NAME.match(hname):
                problems.add([*path, key, j, "name"], f"invalid header name {shown(hname)}")
            if hname.lower() in seen:
                problems.add([*path, key], "header name must be unique within the list (case-insensitive)")
            seen.add(hname.lower())
            items.append((hname, str(h.get("value") or "")))
        out[key] = tuple(items)
    remove = tuple(str(r) for r in _list(raw.get("remove"), [*path, "remove"], problems, 16))
    return HeaderModifier(out["set"], out["add"], remove)


_FILTER_FIELDS = {"requestHeaderModifier": "RequestHeaderModifier", "responseHeaderModifier": "ResponseHeaderModifier",
                  "requestMirror": "RequestMirror", "requestRedirect": "RequestRedirect", "urlRewrite": "URLRewrite",
                  "extensionRef": "ExtensionRef", "cors": "CORS"}


def _filter(raw: Any, path: list[str | int], problems: Problems) -> RouteFilter | None:
    raw = _keys(raw, ("type", "requestHeaderModifier", "responseHeaderModifier", "requestMirror", "requestRedirect", "urlRewrite", "extensionRef", "cors"), path, problems)
    ftype = str(raw.get("type") or "")
    if ftype not in FILTER_TYPES:
        problems.add([*path, "type"], f"unsupported value {shown(ftype)}: supported values: {', '.join(FILTER_TYPES)}")
        return None
    if ftype not in MODELLED_FILTERS:
        problems.add([*path, "type"], f"{ftype} is not supported by this course's simulated cluster (the Gateway API allows it, "
                                      f"but it is not modelled here); filters it carries out: {', '.join(MODELLED_FILTERS)}")
        return None
    field_name = next(f for f, t in _FILTER_FIELDS.items() if t == ftype)
    for other, other_type in _FILTER_FIELDS.items():
        if other != field_name and raw.get(other) is not None:
            problems.add(path, f"filter.{other} must be nil if the filter.type is not {other_type}")
    if raw.get(field_name) is None:
        problems.add(path, f"filter.{field_name} must be specified for {ftype} filter.type")
        return None
    if ftype in ("RequestHeaderModifier", "ResponseHeaderModifier"):
        return RouteFilter(ftype, header_modifier=_header_modifier(raw[field_name], [*path, field_name], problems))
    if ftype == "RequestRedirect":
        rpath: list[str | int] = [*path, "requestRedirect"]
        rr = _keys(raw[field_name], ("scheme", "hostname", "path", "port", "statusCode"), rpath, problems)
        scheme = rr.get("scheme")
        if scheme is not None and scheme not in ("http", "https"):
            problems.add([*rpath, "scheme"], f'unsupported value {shown(scheme)}: supported values: "http", "https"')
        hostname = rr.get("hostname")
        if hostname is not None and ("*" in str(hostname) or hostname_errors(str(hostname))):
            problems.add([*rpath, "hostname"], f"invalid value {shown(hostname)}: must be a precise hostname (no wildcard)")
        code = rr.get("statusCode", 302)
        if code not in (301, 302, 303, 307, 308):
            problems.add([*rpath, "statusCode"], f"unsupported value {shown(code)}: supported values: 301, 302, 303, 307, 308")
        ptype, pvalue = _path_modifier(rr.get("path"), [*rpath, "path"], problems)
        return RouteFilter(ftype, redirect=RequestRedirect(scheme, hostname, _port(rr.get("port"), [*rpath, "port"], problems), int(code) if isinstance(code, int) else 302, ptype, pvalue))
    # URLRewrite (HTTPURLRewriteFilter): hostname is a PreciseHostname, path an HTTPPathModifier.
    wpath: list[str | int] = [*path, "urlRewrite"]
    rw = _keys(raw[field_name], ("hostname", "path"), wpath, problems)
    hostname = rw.get("hostname")
    if hostname is not None and ("*" in str(hostname) or hostname_errors(str(hostname))):
        problems.add([*wpath, "hostname"], f"invalid value {shown(hostname)}: must be a precise hostname (no wildcard)")
    ptype, pvalue = _path_modifier(rw.get("path"), [*wpath, "path"], problems)
    return RouteFilter(ftype, url_rewrite=URLRewrite(str(hostname) if hostname is not None else None, ptype, pvalue))


def _path_modifier(raw: Any, path: list[str | int], problems: Problems) -> tuple[str | None, str | None]:
    """``HTTPPathModifier`` (and its CEL rules), shared by RequestRedirect and URLRewrite."""
    if raw is None:
        return None, None
    p = _keys(raw, ("type", "replaceFullPath", "replacePrefixMatch"), path, problems)
    ptype = p.get("type")
    if ptype not in ("ReplaceFullPath", "ReplacePrefixMatch"):
        problems.add([*path, "type"], f'unsupported value {shown(ptype)}: supported values: "ReplaceFullPath", "ReplacePrefixMatch"')
        return None, None
    for fname, ftype in (("replaceFullPath", "ReplaceFullPath"), ("replacePrefixMatch", "ReplacePrefixMatch")):
        if ptype == ftype and p.get(fname) is None:
            problems.add(path, f"{fname} must be specified when type is set to '{ftype}'")
        if ptype != ftype and p.get(fname) is not None:
            problems.add(path, f"type must be '{ftype}' when {fname} is set")
    value = p.get("replaceFullPath") if ptype == "ReplaceFullPath" else p.get("replacePrefixMatch")
    if value is not None and len(str(value)) > 1024:
        problems.add(path, "the replacement path must have at most 1024 characters")
    return str(ptype), (str(value) if value is not None else None)


def _match(raw: Any, path: list[str | int], problems: Problems) -> RouteMatch:
    raw = _keys(raw, ("path", "headers", "queryParams", "method"), path, problems)
    p = _keys(raw.get("path"), ("type", "value"), [*path, "path"], problems)
    try:
        ptype = PathMatchType(p.get("type") or "PathPrefix")
    except ValueError:
        problems.add([*path, "path", "type"], f'unsupported value {shown(p.get("type"))}: supported values: "Exact", "PathPrefix", "RegularExpression"')
        ptype = PathMatchType.PATH_PREFIX
    value = str(p.get("value") if p.get("value") is not None else "/")
    if ptype in (PathMatchType.EXACT, PathMatchType.PATH_PREFIX):
        if not value.startswith("/"):
            problems.add([*path, "path", "value"], "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']")
        elif "//" in value:
            problems.add([*path, "path", "value"], "must not contain '//' when type one of ['Exact', 'PathPrefix']")
        elif not _PATH_CHARS.match(value):
            problems.add([*path, "path", "value"], "must only contain valid characters for types ['Exact', 'PathPrefix']")
        for bad in ("/./", "/../", "%2f", "%2F", "#"):
            if bad in value:
                problems.add([*path, "path", "value"], f"must not contain '{bad}' when type one of ['Exact', 'PathPrefix']")
        for suffix in ("/..", "/."):
            if value.endswith(suffix):
                problems.add([*path, "path", "value"], f"must not end with '{suffix}' when type one of ['Exact', 'PathPrefix']")
    headers = []
    for key, cls, limit in (("headers", HeaderMatch, 16), ("queryParams", QueryParamMatch, 16)):
        seen: set[str] = set()
        for j, h in enumerate(_list(raw.get(key), [*path, key], problems, limit)):
            h = _keys(h, ("type", "name", "value"), [*path, key, j], problems)
            hname = str(h.get("name") or "")
            if not hname or (key == "headers" and not _HEADER_NAME.match(hname)):
                problems.add([*path, key, j, "name"], f"invalid name {shown(hname)}")
            lowered = hname.lower() if key == "headers" else hname
            if lowered in seen:
                problems.add([*path, key], f"{key} must have unique names")
            seen.add(lowered)
            try:
                htype = HeaderMatchType(h.get("type") or "Exact")
            except ValueError:
                problems.add([*path, key, j, "type"], f'unsupported value {shown(h.get("type"))}: supported values: "Exact", "RegularExpression"')
                htype = HeaderMatchType.EXACT
            if htype is HeaderMatchType.REGULAR_EXPRESSION:
                try:
                    re.compile(str(h.get("value") or ""))
                except re.error as exc:
                    problems.add([*path, key, j, "value"], f"invalid regular expression: {exc}")
            headers.append(cls(hname, str(h.get("value") or ""), htype))
    method = raw.get("method")
    if method is not None and method not in METHODS:
        problems.add([*path, "method"], f"unsupported value {shown(method)}: supported values: {', '.join(METHODS)}")
    return RouteMatch(
        PathMatch(ptype, value),
        tuple(h for h in headers if isinstance(h, HeaderMatch)),
        tuple(h for h in headers if isinstance(h, QueryParamMatch)),
        method,
    )


def _backend_ref(raw: Any, path: list[str | int], namespace: str, problems: Problems) -> BackendRef:
    raw = _keys(raw, ("group", "kind", "name", "namespace", "port", "weight", "filters"), path, problems)
    if not raw.get("name"):
        problems.add([*path, "name"], "name is required")
    kind = str(raw.get("kind") or "Service")
    group = str(raw.get("group") or "")
    port = _port(raw.get("port"), [*path, "port"], problems)
    if port is None and kind == "Service" and group in ("", "core"):
        problems.add(path, "Must have port for Service reference")
    weight = raw.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 1_000_000:
        problems.add([*path, "weight"], f"must be between 0 and 1000000, got {shown(weight)}")
        weight = 1
    filters = tuple(f for j, r in enumerate(_list(raw.get("filters"), [*path, "filters"], problems, 16))
                    if (f := _filter(r, [*path, "filters", j], problems)) is not None)
    return BackendRef(str(raw.get("name") or ""), str(raw.get("namespace") or namespace), port, weight, kind, group, filters)


def parse_http_route(doc: Document, default_namespace: str) -> HTTPRoute:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    spec = _keys(doc.body.get("spec"), ("parentRefs", "hostnames", "rules", "useDefaultGateways"), ["spec"], problems)
    parents = tuple(_parent_ref(r, ["spec", "parentRefs", i], namespace, problems)
                    for i, r in enumerate(_list(spec.get("parentRefs"), ["spec", "parentRefs"], problems, 32)))
    hostnames = []
    for i, h in enumerate(_list(spec.get("hostnames"), ["spec", "hostnames"], problems, 16)):
        for msg in hostname_errors(str(h)):
            problems.add(["spec", "hostnames", i], f"invalid value {shown(h)}: {msg}")
        hostnames.append(str(h))
    rules = []
    raw_rules = _list(spec.get("rules"), ["spec", "rules"], problems, 16)
    for i, raw in enumerate(raw_rules or [{}]):
        rpath: list[str | int] = ["spec", "rules", i]
        raw = _keys(raw, ("name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence"), rpath, problems)
        matches = tuple(_match(m, [*rpath, "matches", j], problems) for j, m in enumerate(_list(raw.get("matches"), [*rpath, "matches"], problems, 64)))
        filters = tuple(f for j, r in enumerate(_list(raw.get("filters"), [*rpath, "filters"], problems, 16))
                        if (f := _filter(r, [*rpath, "filters", j], problems)) is not None)
        types = [f.type for f in filters]
        for t in set(types):
            if types.count(t) > 1 and t != "RequestMirror":
                problems.add([*rpath, "filters"], f"{t} filter cannot be repeated")
        if "RequestRedirect" in types and "URLRewrite" in types:
            problems.add([*rpath, "filters"], "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both")
        backends = tuple(_backend_ref(b, [*rpath, "backendRefs", j], namespace, problems)
                         for j, b in enumerate(_list(raw.get("backendRefs"), [*rpath, "backendRefs"], problems, 16)))
        if backends and "RequestRedirect" in types:
            problems.add(rpath, "RequestRedirect filter must not be used together with backendRefs")
        one_prefix = len(matches) == 1 and matches[0].path.type is PathMatchType.PATH_PREFIX
        for f in filters:
            if f.redirect is not None and f.redirect.path_type == "ReplacePrefixMatch" and not one_prefix:
                problems.add(rpath, "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified")
            if f.url_rewrite is not None and f.url_rewrite.path_type == "ReplacePrefixMatch" and not one_prefix:
                problems.add(rpath, "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified")
        for b in backends:
            for f in b.filters:
                kind = "RequestRedirect" if f.redirect is not None else "URLRewrite" if f.url_rewrite is not None else ""
                modifier = f.redirect or f.url_rewrite
                if modifier is not None and modifier.path_type == "ReplacePrefixMatch" and not one_prefix:
                    problems.add(rpath, f"Within backendRefs, when using {kind} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified")
        rules.append(RouteRule(matches or (RouteMatch(),), filters, backends, raw.get("name")))
    total = sum(len(r.matches) for r in rules)
    if total > 128:
        problems.add(["spec", "rules"], "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128")
    problems.raise_if_any()
    return HTTPRoute(namespace, name, parents, tuple(hostnames), tuple(rules))


def parse_reference_grant(doc: Document, default_namespace: str) -> ReferenceGrant:
    problems = Problems(doc.label)
    namespace, name = parse_metadata(doc.body, problems, namespaced=True, default_namespace=default_namespace)
    spec = _keys(doc.body.get("spec"), ("from", "to"), ["spec"], problems)
    froms = []
    for i, f in enumerate(_list(spec.get("from"), ["spec", "from"], problems, 16)):
        f = _keys(f, ("group", "kind", "namespace"), ["spec", "from", i], problems)
        for key in ("kind", "namespace"):
            if not f.get(key):
                problems.add(["spec", "from", i, key], f"{key} is required")
        froms.append(GrantFrom(str(f.get("group") or ""), str(f.get("kind") or ""), str(f.get("namespace") or "")))
    tos = []
    for i, t in enumerate(_list(spec.get("to"), ["spec", "to"], problems, 16)):
        t = _keys(t, ("group", "kind", "name"), ["spec", "to", i], problems)
        if not t.get("kind"):
            problems.add(["spec", "to", i, "kind"], "kind is required")
        tos.append(GrantTo(str(t.get("group") or ""), str(t.get("kind") or ""), t.get("name")))
    if not froms:
        problems.add(["spec", "from"], "at least one entry is required")
    if not tos:
        problems.add(["spec", "to"], "at least one entry is required")
    problems.raise_if_any()
    return ReferenceGrant(namespace, name, tuple(froms), tuple(tos))
