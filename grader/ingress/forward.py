"""What an ingress controller does with one HTTP(S) request: a pure decision, carried out by the lab.

``ingress_request`` picks the certificate (the ``spec.tls`` entry matching the SNI; ingress-nginx's
self-signed fallback; cloud-provider-kind's first certificate of the namespace), ingress-nginx's
``ssl-redirect`` (308 to HTTPS for hosts listed under ``tls``), the rule (``router.py``), and checks
the backend Service and port. The result, ``Forward``, is the controller's own answer, a failed TLS
handshake, or the request as the backend Service will receive it. The types here are shared with
``grader.gateway.forward`` (a Gateway's decision has the same shape).

Sources: ``controllers.py`` (per-controller behaviour with its sources), kubernetes.io "Ingress" (TLS,
default backend), kubernetes.github.io/ingress-nginx "TLS/HTTPS" (ssl-redirect, default certificate),
kubernetes-sigs/cloud-provider-kind ``pkg/ingress/README.md`` ("Namespace-Wide TLS Aggregation").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from ..model import Protocol
from ..model.ingress import Ingress
from ..model.services import Secret, Service, ServicePort
from .. import tls  # its names load cryptography on first use (see grader.tls)
from .controllers import IngressController, Placement
from .matching import strip_port
from .router import match_request, select_tls, tls_enabled_for

if TYPE_CHECKING:
    from cryptography import x509


class Outcome(StrEnum):
    ANSWER = "answer"
    """The proxy answers itself (``status``): no route, a redirect, an invalid backend."""
    FORWARD = "forward"
    """The request goes on to ``service`` with the Host, path and headers of the result."""
    TLS_FAILED = "tls-failed"
    """No HTTP exchange: the TLS handshake failed (``reason`` says why)."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the proxy receives it."""

    scheme: str
    """``http`` or ``https``."""
    port: int
    method: str
    path: str
    """Path with its query string."""
    headers: tuple[tuple[str, str], ...]
    """As sent, ``Host`` included."""
    sni: str | None = None
    client_ip: str = ""
    """The address the proxy sees the request come from (for ``X-Forwarded-For``)."""

    @property
    def host(self) -> str:
        """The Host header without its port, lowercased."""
        return strip_port(next((v for k, v in self.headers if k.lower() == "host"), ""))


@dataclass(frozen=True, slots=True)
class Forward:
    """The proxy's decision for one request."""

    outcome: Outcome
    status: int = 0
    """The proxy's own answer (``ANSWER``); 0 otherwise."""
    reason: str = ""
    """Why it answered that (``ANSWER``, ``TLS_FAILED``)."""
    listener: str = ""
    """The name of the Gateway listener that took the request ('' for an ingress controller)."""
    listener_note: str = ""
    """That listener as a trace step, before TLS."""
    certificate: tuple[x509.Certificate, ...] = ()
    """The chain presented in the TLS handshake (HTTPS)."""
    default_certificate: bool = False
    """The proxy presents its own self-signed fallback certificate (ingress-nginx)."""
    tls_note: str = ""
    """Why this certificate (a trace step), when that needs saying."""
    tls_reason: str = ""
    """The same for the learner's explanation."""
    notes: tuple[tuple[str, str], ...] = ()
    """``(step, detail)`` of the routing decision, after TLS."""
    location: str = ""
    response_headers: tuple[tuple[str, str], ...] = ()
    service: Service | None = None
    service_port: ServicePort | None = None
    """The backend Service and its port when forwarded."""
    host: str = ""
    """The Host header the backend receives (after URLRewrite)."""
    path: str = ""
    """The path and query the backend receives (after URLRewrite)."""
    request_headers: tuple[tuple[str, str], ...] = ()
    """Every header the backend receives (Host first, filters applied, X-Forwarded-* added)."""


def _secret_chain(ctl: IngressController, ingresses: Sequence[Ingress], secrets: Mapping[tuple[str, str], Secret],
                  sni: str | None) -> tuple[tuple[x509.Certificate, ...], str]:
    """The chain the controller presents for ``sni`` ('' reason), or () and why none fits."""
    choice = select_tls(ctl, ingresses, sni)
    if choice is not None:
        secret = secrets.get((choice.namespace, choice.tls.secret_name or ""))
        if choice.tls.secret_name is None:
            return (), f"ingress {choice.ingress} lists {choice.host} under tls without a secretName"
        if secret is None:
            return (), f"Secret {choice.namespace}/{choice.tls.secret_name} (tls of ingress {choice.ingress}) does not exist"
        if secret.type != "kubernetes.io/tls":
            return (), f"Secret {choice.namespace}/{secret.name} is of type {secret.type}, not kubernetes.io/tls"
        loaded = tls.load_pair(secret.get("tls.crt"), secret.get("tls.key"))
        if not loaded.ok:
            return (), f"Secret {choice.namespace}/{secret.name}: {loaded.problem}"
        if ctl.default_certificate and sni and not tls.CertificateInfo.of(loaded.chain[0]).covers(sni):
            return (), f"the certificate in Secret {choice.namespace}/{secret.name} does not cover {sni}"
        return tuple(loaded.chain), ""
    if ctl.placement is Placement.NODE_NETWORK:
        # cloud-provider-kind puts every TLS Secret of the namespace on the HTTPS listener; Envoy
        # falls back to the first certificate when none matches the SNI.
        chains = [tls.load_pair(s.get("tls.crt"), s.get("tls.key")) for ing in ingresses for t in ing.tls
                  if (s := secrets.get((ing.namespace, t.secret_name or ""))) is not None]
        usable = [c for c in chains if c.ok]
        if usable:
            return tuple(usable[0].chain), f"no tls host matches SNI {sni!r}; Envoy presents the listener's first certificate"
        return (), f"no tls section matches SNI {sni!r}"
    return (), (f"no Ingress lists {sni!r} under tls" if sni else "the client sent no SNI")


def ingress_request(ctl: IngressController, ingresses: Sequence[Ingress], request: HttpRequest,
                    secrets: Mapping[tuple[str, str], Secret], services: Mapping[tuple[str, str], Service]) -> Forward:
    """What ``ctl`` does with ``request``; ``ingresses`` are the ones it serves there, oldest first."""
    host, path = request.host, request.path
    chain: tuple[x509.Certificate, ...] = ()
    tls_note = tls_reason = ""
    default_certificate = False
    if request.scheme == "https":
        chain, why = _secret_chain(ctl, ingresses, secrets, request.sni)
        if not chain:
            if not ctl.default_certificate:
                return Forward(Outcome.TLS_FAILED, reason=f"TLS handshake failed: {why}, and {ctl.name} has no certificate to offer")
            default_certificate = True
            tls_note = f"{why}: {ctl.name} falls back to its default certificate"
            tls_reason = f"{why}, so {ctl.name} presents its self-signed default certificate"
        else:
            tls_reason = why
    elif ctl.ssl_redirect and host and tls_enabled_for(ctl, ingresses, host):
        location = f"https://{host}{path}"
        return Forward(Outcome.ANSWER, 308, f"{ctl.name} redirects http://{host} to HTTPS (308) because the Ingress lists {host} under tls",
                       notes=(("ingress-rule", f"{host} is listed under tls: ssl-redirect answers 308 to HTTPS"),),
                       location=location, response_headers=(("Location", location),))
    base = Forward(Outcome.ANSWER, certificate=chain, default_certificate=default_certificate, tls_note=tls_note, tls_reason=tls_reason)
    match = match_request(ctl, ingresses, host, path)
    if match is None:
        reason = f"no Ingress rule of {ctl.name} matches host {host!r} and path {path!r}: {ctl.name}'s default backend answers {ctl.no_route_status}"
        return replace(base, status=ctl.no_route_status, reason=reason, notes=(("ingress-rule", f"no rule matches host {host!r} path {path!r}: default backend"),))
    notes = (("ingress-rule", match.describe()),)
    backend = match.backend
    if backend.service is None:
        return replace(base, status=ctl.missing_backend_status, reason=f"{match.describe()}: resource backends are not served by {ctl.name}", notes=notes)
    svc = services.get((match.namespace, backend.service))
    if svc is None:
        if ctl.placement is Placement.NODE_NETWORK and isinstance(backend.port, str):
            reason = (f"Service {match.namespace}/{backend.service} does not exist, so {ctl.name} cannot resolve port {backend.port!r} "
                      f"and drops the rule: {ctl.no_route_status}")
            return replace(base, status=ctl.no_route_status, reason=reason, notes=notes)
        reason = f"{match.describe()}: Service {match.namespace}/{backend.service} does not exist, so {ctl.name} answers {ctl.missing_backend_status}"
        return replace(base, status=ctl.missing_backend_status, reason=reason, notes=notes)
    sport = svc.port(backend.port, Protocol.TCP)
    if sport is None:
        listing = ", ".join(f"{p.port}" + (f" ({p.name})" if p.name else "") for p in svc.ports)
        status = ctl.missing_backend_status if ctl.placement is Placement.POD else ctl.no_route_status
        reason = f"Service {svc.ref} has no port {backend.port!r} (ports: {listing}): {ctl.name} answers {status}"
        return replace(base, status=status, reason=reason, notes=notes)
    forwarded = [("X-Forwarded-For", request.client_ip), ("X-Forwarded-Proto", request.scheme), ("X-Forwarded-Host", host)]
    if ctl.server == "nginx":
        forwarded.append(("X-Real-IP", request.client_ip))
    return replace(base, outcome=Outcome.FORWARD, notes=notes, service=svc, service_port=sport, host=host, path=path,
                   request_headers=(*request.headers, *forwarded))
