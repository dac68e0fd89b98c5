"""Which Ingress rule (and backend) an ingress controller picks for a request, and which TLS
certificate it presents.

Class selection (kubernetes.io "Ingress" → "Ingress class"; the ``DefaultIngressClass`` admission
plugin, kubernetes ``plugin/pkg/admission/network/defaultingressclass``):

* An Ingress belongs to a controller when its ``ingressClassName`` names an IngressClass whose
  ``spec.controller`` is that controller's, or (older manifests) when the deprecated
  ``kubernetes.io/ingress.class`` annotation names the controller's class.
* At creation, an Ingress without class or annotation gets the default IngressClass (the one
  annotated ``ingressclass.kubernetes.io/is-default-class: "true"``); with more than one default
  the API server refuses the Ingress; with none it stays class-less and no controller here
  serves it.

Rule selection: the best host first (exact, then wildcard, then rules without host), then the
best path among every Ingress of that controller that has a rule for that host (controllers merge
them), longest path first and Exact before Prefix; ties go to the oldest Ingress. No path
matching in the chosen host: that Ingress's ``defaultBackend``, else the controller's default
backend (404). No host matching: the host-less rules, then any ``defaultBackend``, else 404.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model.ingress import Ingress, IngressBackend, IngressClass, IngressTLS, PathType
from .controllers import IngressController
from .matching import host_matches, host_rank, path_matches, path_rank, strip_port


@dataclass(frozen=True, slots=True)
class ClassDecision:
    served: bool
    reason: str


def class_of(ingress: Ingress, controller: IngressController, classes: Mapping[str, IngressClass]) -> ClassDecision:
    if ingress.class_name is not None:
        cls = classes.get(ingress.class_name)
        if cls is None:
            return ClassDecision(False, f"ingressClassName {ingress.class_name!r} names no IngressClass")
        if cls.controller != controller.controller:
            return ClassDecision(False, f"IngressClass {cls.name} belongs to controller {cls.controller}")
        return ClassDecision(True, f"ingressClassName {cls.name} (controller {cls.controller})")
    if ingress.class_annotation is not None:
        if controller.annotation_class is not None and ingress.class_annotation == controller.annotation_class:
            return ClassDecision(True, f"deprecated annotation kubernetes.io/ingress.class: {ingress.class_annotation}")
        if ingress.class_annotation == controller.class_name:
            return ClassDecision(True, f"deprecated annotation kubernetes.io/ingress.class: {ingress.class_annotation}")
        return ClassDecision(False, f"annotation kubernetes.io/ingress.class: {ingress.class_annotation} is not {controller.name}'s")
    return ClassDecision(False, "no ingressClassName (there was no default IngressClass when it was created)")


def default_class(classes: Sequence[IngressClass]) -> tuple[IngressClass | None, str]:
    """The class the DefaultIngressClass admission plugin assigns, or why it refuses."""
    defaults = [c for c in classes if c.is_default]
    if len(defaults) > 1:
        names = ", ".join(sorted(c.name for c in defaults))
        return None, f"{len(defaults)} default IngressClasses were found ({names}), only 1 allowed: set spec.ingressClassName"
    return (defaults[0] if defaults else None), ""


@dataclass(frozen=True, slots=True)
class IngressMatch:
    """The rule an ingress controller chose for one request."""

    ingress: str
    """``ns/name`` of the Ingress whose rule (or defaultBackend) matched."""
    namespace: str
    backend: IngressBackend
    host: str | None
    """The rule's host (``None``: a rule without host, or the defaultBackend)."""
    path: str | None
    path_type: PathType | None
    default_backend: bool = False
    note: str = ""

    def describe(self) -> str:
        if self.default_backend:
            return f"ingress {self.ingress}: defaultBackend → {self.backend.render()}{self.note}"
        host = self.host or "*"
        ptype = self.path_type.value if self.path_type is not None else ""
        return f"ingress {self.ingress}: host {host} path {self.path} ({ptype}) → {self.backend.render()}{self.note}"


def _best_host(ingresses: Sequence[Ingress], host: str, one_label: bool) -> str | None:
    hosts = {r.host for ing in ingresses for r in ing.rules if r.host is not None and host_matches(r.host, host, wildcard_one_label=one_label)}
    return min(hosts, key=lambda h: (host_rank(h), h)) if hosts else None


def match_request(controller: IngressController, ingresses: Sequence[Ingress], host: str, path: str) -> IngressMatch | None:
    """``ingresses`` are the controller's, oldest first. ``None``: nothing matches (default backend)."""
    host = strip_port(host or "")
    chosen_host = _best_host(ingresses, host, controller.wildcard_one_label) if host else None
    candidates = []
    for order, ing in enumerate(ingresses):
        for rule in ing.rules:
            if rule.host != chosen_host:
                continue
            for p in rule.paths:
                ptype = PathType.PREFIX if p.path_type is PathType.IMPLEMENTATION_SPECIFIC else p.path_type
                if path_matches(p.path, ptype, path):
                    candidates.append((path_rank(p.path, ptype), order, ing, p))
    if candidates:
        _, _, ing, p = min(candidates, key=lambda c: (c[0], c[1]))
        note = ""
        if p.path_type is PathType.IMPLEMENTATION_SPECIFIC:
            note = f" [pathType ImplementationSpecific: {controller.name} treats it as Prefix]"
        if chosen_host is not None and chosen_host.startswith("*.") and not controller.wildcard_one_label and "." in host[: -len(chosen_host) + 1]:
            note += f" [{controller.name} lets {chosen_host} match more than one label, unlike the Ingress spec]"
        return IngressMatch(ing.ref, ing.namespace, p.backend, chosen_host, p.path, p.path_type, note=note)
    # No path matched under the chosen host (or no host matched): a defaultBackend, oldest first.
    owners = [ing for ing in ingresses if chosen_host is not None and any(r.host == chosen_host for r in ing.rules)]
    for ing in owners or list(ingresses):
        if ing.default_backend is not None:
            return IngressMatch(ing.ref, ing.namespace, ing.default_backend, None, None, None, default_backend=True)
    return None


@dataclass(frozen=True, slots=True)
class TlsChoice:
    ingress: str
    namespace: str
    tls: IngressTLS
    host: str


def select_tls(controller: IngressController, ingresses: Sequence[Ingress], sni: str | None) -> TlsChoice | None:
    """The ``spec.tls`` entry whose hosts match the SNI (exact before wildcard, oldest Ingress first)."""
    if not sni:
        return None
    sni = strip_port(sni)
    found = []
    for order, ing in enumerate(ingresses):
        for entry in ing.tls:
            for h in entry.hosts:
                if host_matches(h, sni, wildcard_one_label=controller.wildcard_one_label):
                    found.append((host_rank(h), order, ing, entry, h))
    if not found:
        return None
    _, _, ing, entry, h = min(found, key=lambda f: (f[0], f[1]))
    return TlsChoice(ing.ref, ing.namespace, entry, h)


def tls_enabled_for(controller: IngressController, ingresses: Sequence[Ingress], host: str) -> bool:
    return select_tls(controller, ingresses, host) is not None
