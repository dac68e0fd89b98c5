"""What a Gateway does with one HTTP(S) request: a pure decision, carried out by the lab.

``route_request`` picks the listener (port, then SNI for HTTPS or Host for HTTP), checks that the
listener is programmed, picks the certificate by SNI, the route and rule by precedence
(``routing.py``), runs the rule's and the backendRef's filters (``filters.py``), picks a weighted
backendRef, and checks it. Its result, ``Forward``, is either the Gateway's own answer (404 when
nothing matches, a redirect, 500 for a rule without usable backends), a failed TLS handshake, or
the request as the backend Service will receive it (Host, path, headers). The lab only carries
that out: connect to the Service, apply NetworkPolicy to that leg, answer.

Sources: kubernetes-sigs/gateway-api ``apis/v1/gateway_types.go`` (listener selection, "If no
other Listener matches the Host, the Gateway MUST return a 404"; "The GatewayClass MUST use the
longest matching SNI out of all available certificates"), ``apis/v1/httproute_types.go``
(``HTTPBackendRef``: "If *all* entries in BackendRefs are invalid, and there are also no filters
specified in this route rule, *all* traffic which matches this rule MUST receive a 500 status
code"; weight 0 gets no traffic).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..ingress.forward import Forward, HttpRequest, Outcome
from ..ingress.matching import strip_port
from ..model import Namespace
from ..model.gateway import BackendRef, Gateway, GatewayClass, HTTPRoute, Listener, ListenerProtocol, ReferenceGrant, RouteFilter
from ..model import Protocol
from ..model.services import Secret, Service
from .. import tls  # its names load cryptography on first use (see grader.tls)
from .attachment import backend_problem, dropped_rules, listener_conditions, parent_status
from .filters import apply_header_modifier, redirect_location, rewrite_url
from .implementations import GatewayImplementation
from .routing import AttachedRoute, RouteChoice, choose_route, gateway_host_matches, select_listener

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True, slots=True)
class GatewayWorld:
    """What a Gateway's decision depends on, read from the cluster."""

    routes: tuple[HTTPRoute, ...]
    gateways: Mapping[tuple[str, str], Gateway]
    classes: Mapping[str, GatewayClass]
    namespaces: Mapping[str, Namespace]
    secrets: Mapping[tuple[str, str], Secret]
    grants: tuple[ReferenceGrant, ...]
    services: Mapping[tuple[str, str], Service]


Pick = Callable[[Sequence[BackendRef], Sequence[int]], "BackendRef | None"]


def heaviest(refs: Sequence[BackendRef], weights: Sequence[int]) -> BackendRef | None:
    """A deterministic stand-in for a weighted random choice: the first of the heaviest."""
    return refs[weights.index(max(weights))] if refs else None


def attached_routes(gw: Gateway, listener: Listener, world: GatewayWorld, impl: GatewayImplementation) -> list[AttachedRoute]:
    """The routes attached to one listener of ``gw``, with their effective hostnames and the rules ``impl`` drops."""
    out = []
    for route in world.routes:
        dropped = tuple(i for i, _ in dropped_rules(route, impl))
        for parent in route.parent_refs:
            if (parent.namespace, parent.name) != (gw.namespace, gw.name):
                continue
            _, attached = parent_status(route, parent, world.gateways, world.classes, world.namespaces, {})
            out += [AttachedRoute(route, hosts, route.created, dropped) for lst, hosts in attached if lst.name == listener.name]
    return out


def listener_certificate(listener: Listener, secrets: Mapping[tuple[str, str], Secret], sni: str | None) -> tuple[x509.Certificate, ...]:
    """The chain a listener presents for ``sni``: the first certificate covering it, else the first usable one."""
    chains = []
    for cref in listener.certificate_refs:
        secret = secrets.get((cref.namespace, cref.name))
        if secret is not None:
            loaded = tls.load_pair(secret.get("tls.crt"), secret.get("tls.key"))
            if loaded.ok:
                chains.append(tuple(loaded.chain))
    covering = [c for c in chains if sni and tls.CertificateInfo.of(c[0]).covers(sni)]
    return covering[0] if covering else (chains[0] if chains else ())


def _answer(status: int, reason: str, **kw: Any) -> Forward:
    return Forward(Outcome.ANSWER, status, reason, **kw)


def route_request(gw: Gateway, impl: GatewayImplementation, request: HttpRequest, world: GatewayWorld, *, pick: Pick = heaviest) -> Forward:
    """What ``gw`` (served by ``impl``) does with ``request``; ``pick`` chooses among weighted backendRefs."""
    host = request.host
    protocol = ListenerProtocol.HTTPS if request.scheme == "https" else ListenerProtocol.HTTP
    listener = select_listener(gw.listeners, request.port, protocol, request.sni if protocol is ListenerProtocol.HTTPS else host)
    if listener is None:
        if protocol is ListenerProtocol.HTTPS:
            on_port = [lst for lst in gw.listeners if lst.port == request.port]
            kinds = ", ".join(f"{lst.name} ({lst.protocol} {lst.hostname or '*'})" for lst in on_port) or "none"
            return Forward(Outcome.TLS_FAILED, reason=f"TLS handshake failed: no HTTPS listener of {gw.ref} on port {request.port} "
                                                      f"matches SNI {request.sni!r} (listeners there: {kinds})")
        return _answer(404, f"no HTTP listener of {gw.ref} on port {request.port} matches host {host!r}: 404")
    note = f"listener {listener.name} ({listener.protocol} {listener.port} {listener.hostname or '*'})"
    named: dict[str, Any] = {"listener": listener.name, "listener_note": note}
    problems = [c for c in listener_conditions(gw, listener, impl, world.secrets, world.grants)
                if c.type in ("Accepted", "ResolvedRefs", "Programmed") and not c.ok]
    if problems:
        detail = "; ".join(c.render() for c in problems)
        if protocol is ListenerProtocol.HTTPS:
            return Forward(Outcome.TLS_FAILED, reason=f"TLS handshake failed: listener {listener.name} is not programmed ({detail})", **named)
        return _answer(404, f"listener {listener.name} is not programmed ({detail}): 404", **named)
    chain: tuple[x509.Certificate, ...] = ()
    if protocol is ListenerProtocol.HTTPS:
        chain = listener_certificate(listener, world.secrets, request.sni)
        if listener.hostname and not gateway_host_matches(listener.hostname, host):
            return _answer(404, f"Host {host!r} does not match listener {listener.name} ({listener.hostname}) chosen by SNI {request.sni!r}: 404",
                           **named, certificate=chain)
    attached = attached_routes(gw, listener, world, impl)
    query = dict(parse_qsl(request.path.partition("?")[2]))
    header_map = {k.lower(): v for k, v in request.headers}
    choice = choose_route(attached, host, request.method, request.path, header_map, query)
    if choice is None:
        names = ", ".join(a.route.ref for a in attached) or "none"
        where = f"{request.method} {host}{request.path}"
        dropped = "; ".join(f"httproute {a.route.ref} {why}" for a in attached for _, why in dropped_rules(a.route, impl))
        return _answer(404, f"no HTTPRoute attached to listener {listener.name} matches {where}: 404 (attached: {names})"
                            + (f"; {impl.name} dropped rules it cannot carry out: {dropped}" if dropped else ""),
                       **named, certificate=chain, notes=(("route", f"no HTTPRoute rule matches {where} (attached routes: {names})"),))
    return _apply_rule(choice, listener, request, world, pick, named, chain)


def _apply_rule(choice: RouteChoice, listener: Listener, request: HttpRequest, world: GatewayWorld, pick: Pick,
                named: dict[str, Any], chain: tuple[x509.Certificate, ...]) -> Forward:
    notes = [("route", choice.describe())]
    host, path = request.host, request.path
    request_headers = list(request.headers)
    response_headers: list[tuple[str, str]] = []

    def run(filters: Sequence[RouteFilter]) -> str:
        """Carry out filters in order; the redirect Location if one redirects."""
        nonlocal host, path, request_headers, response_headers
        for f in filters:
            if f.type == "RequestRedirect" and f.redirect is not None:
                return redirect_location(f.redirect, request.scheme, host, listener.port, path, choice.match)
            if f.type == "URLRewrite" and f.url_rewrite is not None:
                new_host, new_path = rewrite_url(f.url_rewrite, host, path, choice.match)
                if (new_host, new_path) != (host, path):
                    notes.append(("rewrite", f"URLRewrite: the backend receives Host {new_host} and path {new_path} (client sent {host}{path})"))
                host, path = new_host, new_path
            if f.type == "RequestHeaderModifier":
                request_headers = apply_header_modifier(request_headers, f.header_modifier)
            if f.type == "ResponseHeaderModifier":
                response_headers = apply_header_modifier(response_headers, f.header_modifier)
        return ""

    location = run(choice.rule.filters)
    if location:
        status = next(f.redirect.status_code for f in choice.rule.filters if f.redirect is not None)
        return _answer(status, f"{choice.describe()}: RequestRedirect {status} → {location}", **named, certificate=chain,
                       notes=tuple(notes), location=location, response_headers=(("Location", location),))
    refs = [r for r in choice.rule.backend_refs if r.weight > 0]
    if not refs:
        why = "the rule has no backendRefs" if not choice.rule.backend_refs else "every backendRef has weight 0"
        return _answer(500, f"{choice.describe()}: {why}: 500", **named, certificate=chain, notes=tuple(notes))
    ref = pick(refs, [r.weight for r in refs]) or refs[0]
    if len(refs) > 1:
        notes.append(("route", f"weighted backendRefs: picked {ref.render()} (weight {ref.weight}/{sum(r.weight for r in refs)})"))
    location = run(ref.filters)
    if location:
        status = next(f.redirect.status_code for f in ref.filters if f.redirect is not None)
        return _answer(status, f"{choice.describe()}: backendRef {ref.render()} RequestRedirect {status} → {location}", **named,
                       certificate=chain, notes=tuple(notes), location=location, response_headers=(("Location", location),))
    problem = backend_problem(choice.route, ref.kind, ref.group, ref.namespace, ref.name, ref.port, world.services, world.grants)
    if problem is not None:
        return _answer(500, f"{choice.describe()}: backendRef {ref.render()} is invalid ({problem[0]}: {problem[1]}): 500, as Gateway API requires",
                       **named, certificate=chain, notes=tuple(notes))
    svc = world.services[(ref.namespace, ref.name)]
    sport = svc.port(ref.port, Protocol.TCP) if ref.port is not None else None
    headers = [(k, v) for k, v in request_headers if k.lower() != "host"]
    forwarded = (("X-Forwarded-For", request.client_ip), ("X-Forwarded-Proto", request.scheme))
    return Forward(Outcome.FORWARD, **named, certificate=chain, notes=tuple(notes), response_headers=tuple(response_headers),
                   service=svc, service_port=sport, host=host, path=path,
                   request_headers=(("Host", _with_port(host, request)), *headers, *forwarded))


def _with_port(host: str, request: HttpRequest) -> str:
    """The Host header value for ``host``: the client's own header (with its port) unless a rewrite replaced the name."""
    sent = next((v for k, v in request.headers if k.lower() == "host"), "")
    return sent if strip_port(sent) == host else host
