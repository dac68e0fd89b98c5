"""Gateway API status: which GatewayClasses are accepted, which listeners are valid, which
HTTPRoutes attach to which listeners, and why not -- with the condition types and reasons of the
v1 API (``apis/v1/gateway_types.go``, ``shared_types.go``; kubernetes-sigs/gateway-api).

Attachment of an HTTPRoute to a Gateway (per parentRef):

* No Gateway of that name: nobody owns the parentRef, the status stays empty (we say so).
* ``sectionName`` / ``port`` select listeners; none selected → ``Accepted=False NoMatchingParent``.
* A listener admits the route only if ``allowedRoutes.namespaces`` allows the route's namespace
  (``Same`` (default), ``All``, ``Selector`` on namespace labels) and its kinds include HTTPRoute
  (HTTP/HTTPS listeners default to HTTPRoute) → else ``NotAllowedByListeners``.
* Hostnames must intersect (HTTPRouteSpec.hostnames): a listener without hostname takes every
  route hostname; a route without hostnames takes the listener's; a wildcard is a suffix match
  of one or more labels → else ``NoMatchingListenerHostname``.
* A rule with a filter the implementation does not carry out is dropped: ``PartiallyInvalid=True
  UnsupportedValue``, or ``Accepted=False UnsupportedValue`` when no rule is left
  (cloud-provider-kind ``pkg/gateway/httproute.go``).
* Accepted as soon as one listener admits it. ``ResolvedRefs`` checks every backendRef: only
  core Services (``InvalidKind``), existing (``BackendNotFound``), in the route's namespace or
  allowed by a ReferenceGrant in the target namespace (``RefNotPermitted``).

Listener conditions: ``ResolvedRefs=False InvalidCertificateRef`` for a missing or unusable
certificate Secret (``RefNotPermitted`` across namespaces without a ReferenceGrant), which also
makes it ``Programmed=False``; ``Accepted=False UnsupportedProtocol`` for protocols the
implementation does not serve; ``Conflicted`` when two listeners share a port with different
protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ..model import Namespace
from ..model.gateway import FromNamespaces, Gateway, GatewayClass, HTTPRoute, Listener, ListenerProtocol, ParentRef, ReferenceGrant
from ..model.services import Secret, Service
from .implementations import GatewayImplementation, by_controller

GROUP = "gateway.networking.k8s.io"


class ConditionStatus(StrEnum):
    """``metav1.Condition.status``; compares equal to the API's strings (``"True"`` ...)."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``status.conditions[]`` entry (``metav1.Condition``) of a Gateway, listener or route parent."""

    type: str
    status: ConditionStatus
    """``True``, ``False`` or ``Unknown`` (a plain string is converted)."""
    reason: str
    message: str = ""

    if TYPE_CHECKING:  # the generated __init__ also takes the API's strings ("True" ...) and converts them
        def __init__(self, type: str, status: ConditionStatus | str, reason: str, message: str = "") -> None: ...

    def __post_init__(self) -> None:
        if not isinstance(self.status, ConditionStatus):
            try:
                object.__setattr__(self, "status", ConditionStatus(str(self.status)))
            except ValueError:
                raise ValueError(f"condition {self.type}: status must be True, False or Unknown, got {self.status!r}") from None

    @property
    def ok(self) -> bool:
        return self.status is ConditionStatus.TRUE

    def render(self) -> str:
        text = f"{self.type}={self.status} ({self.reason})"
        return text + (f": {self.message}" if self.message else "")


@dataclass(frozen=True, slots=True)
class ConditionRow:
    """A condition with the object (or part of it) that carries it."""

    object: str
    condition: Condition

    def render(self) -> str:
        return f"{self.object}: {self.condition.render()}"


def _find(conditions: tuple[Condition, ...], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def _cond(type_: str, ok: bool, reason: str, message: str = "") -> Condition:
    return Condition(type_, "True" if ok else "False", reason, message)


def hostname_intersection(listener: str | None, route: str) -> str | None:
    """The hostname a route serves on a listener (the more specific of the two), or None."""
    if listener is None:
        return route
    lw, rw = listener.startswith("*."), route.startswith("*.")
    if not lw and not rw:
        return route if route == listener else None
    if lw and not rw:
        return route if route.endswith(listener[1:]) else None
    if rw and not lw:
        return listener if listener.endswith(route[1:]) else None
    if route[1:].endswith(listener[1:]):
        return route
    if listener[1:].endswith(route[1:]):
        return listener
    return None


def effective_hostnames(listener: Listener, route: HTTPRoute) -> tuple[str, ...] | None:
    """Hostnames the route serves on the listener; ``()`` means any host; None means no intersection."""
    if not route.hostnames:
        return (listener.hostname,) if listener.hostname else ()
    out = [h for h in (hostname_intersection(listener.hostname, r) for r in route.hostnames) if h is not None]
    return tuple(dict.fromkeys(out)) if out else None


def grant_allows(grants: Sequence[ReferenceGrant], from_kind: str, from_ns: str, to_group: str, to_kind: str, to_ns: str, to_name: str) -> bool:
    return any(g.namespace == to_ns and g.permits(GROUP, from_kind, from_ns, to_group, to_kind, to_name) for g in grants)


@dataclass(frozen=True, slots=True)
class ListenerStatus:
    name: str
    conditions: tuple[Condition, ...]
    attached_routes: int = 0

    @property
    def programmed(self) -> bool:
        return all(c.ok for c in self.conditions if c.type in ("Accepted", "ResolvedRefs", "Programmed"))

    def condition(self, type_: str) -> Condition | None:
        """The condition of that type (``Accepted``, ``ResolvedRefs``, ``Programmed``, ``Conflicted``), or None."""
        return _find(self.conditions, type_)

    def render(self) -> str:
        return f"listener {self.name} (attachedRoutes {self.attached_routes}): " + "; ".join(c.render() for c in self.conditions)


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    gateway: str
    conditions: tuple[Condition, ...]
    listeners: tuple[ListenerStatus, ...] = ()
    addresses: tuple[str, ...] = ()

    @property
    def programmed(self) -> bool:
        return any(c.type == "Programmed" and c.ok for c in self.conditions)

    def condition(self, type_: str) -> Condition | None:
        """The Gateway's condition of that type (``Accepted``, ``Programmed``), or None."""
        return _find(self.conditions, type_)

    def listener(self, name: str) -> ListenerStatus:
        found = next((ls for ls in self.listeners if ls.name == name), None)
        if found is None:
            raise KeyError(f"gateway {self.gateway} has no listener {name!r} (listeners: {', '.join(ls.name for ls in self.listeners) or 'none'})")
        return found

    def rows(self) -> tuple[ConditionRow, ...]:
        """Every condition of the Gateway and its listeners, one row each (as ``kubectl describe`` lists them)."""
        own = tuple(ConditionRow(f"gateway {self.gateway}", c) for c in self.conditions)
        return own + tuple(ConditionRow(f"gateway {self.gateway} listener {ls.name}", c) for ls in self.listeners for c in ls.conditions)

    def render(self) -> str:
        lines = [f"gateway {self.gateway}: " + "; ".join(c.render() for c in self.conditions)]
        if self.addresses:
            lines.append(f"  addresses: {', '.join(self.addresses)}")
        lines += [f"  {ls.render()}" for ls in self.listeners]
        return "\n".join(lines)

    __str__ = render


@dataclass(frozen=True, slots=True)
class ParentStatus:
    parent: ParentRef
    conditions: tuple[Condition, ...]
    listeners: tuple[str, ...] = ()
    """Listeners the route attached to."""

    @property
    def accepted(self) -> bool:
        return any(c.type == "Accepted" and c.ok for c in self.conditions)

    def condition(self, type_: str) -> Condition | None:
        """The route's condition of that type for this parent (``Accepted``, ``ResolvedRefs``), or None."""
        return _find(self.conditions, type_)

    def render(self) -> str:
        attached = f" → listeners {', '.join(self.listeners)}" if self.listeners else ""
        return f"parent {self.parent.render()}{attached}: " + "; ".join(c.render() for c in self.conditions)


@dataclass(frozen=True, slots=True)
class RouteStatus:
    route: str
    parents: tuple[ParentStatus, ...]

    @property
    def accepted(self) -> bool:
        return any(p.accepted for p in self.parents)

    def parent(self, gateway: str) -> ParentStatus:
        """The status for the parentRef naming Gateway ``ns/name`` (the first, if several name it)."""
        found = next((p for p in self.parents if f"{p.parent.namespace}/{p.parent.name}" == gateway), None)
        if found is None:
            names = ", ".join(f"{p.parent.namespace}/{p.parent.name}" for p in self.parents) or "none"
            raise KeyError(f"httproute {self.route} has no parentRef {gateway!r} (parentRefs: {names})")
        return found

    def rows(self) -> tuple[ConditionRow, ...]:
        """Every condition of the route, one row per parentRef and condition."""
        return tuple(ConditionRow(f"httproute {self.route} {p.parent.render()}", c) for p in self.parents for c in p.conditions)

    def render(self) -> str:
        if not self.parents:
            return f"httproute {self.route}: no parentRefs, so no Gateway will ever serve it"
        return "\n".join([f"httproute {self.route}:"] + [f"  {p.render()}" for p in self.parents])

    __str__ = render


def class_status(gc: GatewayClass) -> tuple[Condition, ...]:
    impl = by_controller(gc.controller_name)
    if impl is None:
        return (Condition("Accepted", "Unknown", "Pending", f"no controller for {gc.controller_name} runs in this cluster; nothing will accept this class"),)
    return (_cond("Accepted", True, "Accepted", f"accepted by {impl.title}"),)


def implementation_for(gw: Gateway, classes: Mapping[str, GatewayClass]) -> GatewayImplementation | None:
    gc = classes.get(gw.class_name)
    return by_controller(gc.controller_name) if gc is not None else None


def listener_conditions(gw: Gateway, listener: Listener, impl: GatewayImplementation, secrets: Mapping[tuple[str, str], Secret],
                        grants: Sequence[ReferenceGrant]) -> tuple[Condition, ...]:
    conds: list[Condition] = []
    if listener.protocol not in impl.protocols:
        conds.append(_cond("Accepted", False, "UnsupportedProtocol", f"{impl.name} does not serve {listener.protocol} listeners"))
        conds.append(_cond("Programmed", False, "Invalid"))
        return tuple(conds)
    others = [lst for lst in gw.listeners if lst.port == listener.port and lst.name != listener.name]
    clash = [lst for lst in others if _protocol_family(lst.protocol) != _protocol_family(listener.protocol)]
    conds.append(_cond("Accepted", True, "Accepted"))
    if clash:
        conds.append(_cond("Conflicted", True, "ProtocolConflict", f"port {listener.port} is also used by {clash[0].name} with protocol {clash[0].protocol}"))
    else:
        conds.append(_cond("Conflicted", False, "NoConflicts"))
    problem = ""
    reason = "InvalidCertificateRef"
    if listener.protocol is ListenerProtocol.HTTPS and listener.tls_mode == "Terminate":
        for ref in listener.certificate_refs:
            if ref.kind != "Secret" or ref.group not in ("", "core"):
                problem = f"certificateRef {ref.kind} {ref.name}: only core Secrets are supported"
                break
            if ref.namespace != gw.namespace and not grant_allows(grants, "Gateway", gw.namespace, "", "Secret", ref.namespace, ref.name):
                problem, reason = f"Secret {ref.namespace}/{ref.name} is in another namespace and no ReferenceGrant there allows it", "RefNotPermitted"
                break
            secret = secrets.get((ref.namespace, ref.name))
            if secret is None:
                problem = f"Secret {ref.namespace}/{ref.name} does not exist"
                break
            if secret.type != "kubernetes.io/tls":
                problem = f"Secret {ref.namespace}/{ref.name} is of type {secret.type}, not kubernetes.io/tls"
                break
            from ..tls import load_pair  # cryptography is loaded only when a listener terminates TLS

            pair = load_pair(secret.get("tls.crt"), secret.get("tls.key"))
            if not pair.ok:
                problem = f"Secret {ref.namespace}/{ref.name}: {pair.problem}"
                break
    if problem:
        conds.append(_cond("ResolvedRefs", False, reason, problem))
        conds.append(_cond("Programmed", False, "Invalid", "the listener has no usable certificate"))
    else:
        conds.append(_cond("ResolvedRefs", True, "ResolvedRefs"))
        conds.append(_cond("Programmed", True, "Programmed"))
    return tuple(conds)


def _protocol_family(p: ListenerProtocol) -> str:
    """Listeners on one port must be compatible: HTTPS and TLS share TLS (told apart by SNI); HTTP
    and HTTPS on one port conflict (gateway_types.go, "Listener compatibility")."""
    return "TLS" if p in (ListenerProtocol.HTTPS, ListenerProtocol.TLS) else str(p)


def listener_admits(listener: Listener, gw: Gateway, route: HTTPRoute, namespaces: Mapping[str, Namespace]) -> str:
    """'' when the listener's allowedRoutes admit the route; otherwise why not."""
    if listener.protocol not in (ListenerProtocol.HTTP, ListenerProtocol.HTTPS):
        return f"listener {listener.name} is {listener.protocol}, which takes no HTTPRoutes"
    if listener.allowed_kinds and "HTTPRoute" not in listener.allowed_kinds:
        return f"listener {listener.name} only allows kinds {', '.join(listener.allowed_kinds)}"
    if listener.allowed_from is FromNamespaces.SAME and route.namespace != gw.namespace:
        return f"listener {listener.name} allows routes from namespace {gw.namespace} only (allowedRoutes.namespaces.from: Same)"
    if listener.allowed_from is FromNamespaces.SELECTOR:
        ns = namespaces.get(route.namespace)
        labels = ns.labels if ns is not None else Namespace(route.namespace).labels
        if listener.allowed_selector is None or not listener.allowed_selector.matches(labels):
            sel = listener.allowed_selector.render() if listener.allowed_selector else "none"
            return f"listener {listener.name} allows namespaces matching {sel}; namespace {route.namespace} does not match"
    return ""


def parent_status(route: HTTPRoute, parent: ParentRef, gateways: Mapping[tuple[str, str], Gateway], classes: Mapping[str, GatewayClass],
                  namespaces: Mapping[str, Namespace], listener_ok: Mapping[tuple[str, str, str], bool]) -> tuple[ParentStatus, list[tuple[Listener, tuple[str, ...]]]]:
    """The route's status for one parentRef, and the (listener, effective hostnames) it attached to."""
    if parent.kind != "Gateway" or parent.group != GROUP:
        return ParentStatus(parent, (Condition("Accepted", "Unknown", "Pending", f"parentRef kind {parent.kind} is not served by any Gateway controller here"),)), []
    gw = gateways.get((parent.namespace, parent.name))
    if gw is None:
        return ParentStatus(parent, (Condition("Accepted", "Unknown", "Pending", f"no Gateway {parent.namespace}/{parent.name}: no controller owns this parentRef, so the status stays empty"),)), []
    impl = implementation_for(gw, classes)
    if impl is None:
        return ParentStatus(parent, (Condition("Accepted", "Unknown", "Pending", f"Gateway {gw.ref} uses class {gw.class_name!r}, which no controller in this cluster implements"),)), []
    selected = [lst for lst in gw.listeners if (parent.section_name is None or lst.name == parent.section_name) and (parent.port is None or lst.port == parent.port)]
    if not selected:
        what = f"sectionName {parent.section_name!r}" if parent.section_name else f"port {parent.port}"
        names = ", ".join(f"{lst.name}:{lst.port}" for lst in gw.listeners)
        return ParentStatus(parent, (_cond("Accepted", False, "NoMatchingParent", f"Gateway {gw.ref} has no listener with {what} (listeners: {names})"),)), []
    reasons: list[str] = []
    admitted = []
    for lst in selected:
        why = listener_admits(lst, gw, route, namespaces)
        if why:
            reasons.append(why)
            continue
        admitted.append(lst)
    if not admitted:
        return ParentStatus(parent, (_cond("Accepted", False, "NotAllowedByListeners", "; ".join(reasons)),)), []
    attached = []
    mismatches = []
    for lst in admitted:
        hosts = effective_hostnames(lst, route)
        if hosts is None:
            mismatches.append(f"listener {lst.name} hostname {lst.hostname} does not intersect {', '.join(route.hostnames)}")
            continue
        attached.append((lst, hosts))
    if not attached:
        return ParentStatus(parent, (_cond("Accepted", False, "NoMatchingListenerHostname", "; ".join(mismatches)),)), []
    attached_names = tuple(lst.name for lst, _ in attached)
    unprogrammed = [n for n in attached_names if not listener_ok.get((gw.namespace, gw.name, n), True)]
    message = f"attached to listener(s) {', '.join(attached_names)}"
    if unprogrammed:
        message += f" (not programmed: {', '.join(unprogrammed)}, so no traffic flows through them)"
    dropped = dropped_rules(route, impl)
    if dropped and len(dropped) == len(route.rules):
        text = "; ".join(why for _, why in dropped)
        return ParentStatus(parent, (_cond("Accepted", False, "UnsupportedValue", f"no rules could be translated: {text}"),)), []
    conds = [_cond("Accepted", True, "Accepted", message)]
    if dropped:
        conds.append(Condition("PartiallyInvalid", ConditionStatus.TRUE, "UnsupportedValue", f"Dropped Rule(s): {'; '.join(why for _, why in dropped)}"))
    return ParentStatus(parent, tuple(conds), attached_names), attached


def dropped_rules(route: HTTPRoute, impl: GatewayImplementation) -> tuple[tuple[int, str], ...]:
    """Rules the implementation drops because it does not carry out one of their filters, with why
    (cloud-provider-kind ``pkg/gateway/httproute.go``: ``findUnsupportedFilter`` skips the rule and
    reports ``PartiallyInvalid``, or ``Accepted=False UnsupportedValue`` when no rule is left)."""
    out = []
    for i, rule in enumerate(route.rules):
        unsupported = next((f.type for f in rule.filters if f.type not in impl.filters), None)
        if unsupported is not None:
            out.append((i, f'rule[{i}] has unsupported filter type "{unsupported}" ({impl.name} implements {", ".join(impl.filters)})'))
    return tuple(out)


def resolved_refs(route: HTTPRoute, services: Mapping[tuple[str, str], Service], grants: Sequence[ReferenceGrant]) -> Condition:
    for i, rule in enumerate(route.rules):
        for j, ref in enumerate(rule.backend_refs):
            where = f"rules[{i}].backendRefs[{j}]"
            problem = backend_problem(route, ref.kind, ref.group, ref.namespace, ref.name, ref.port, services, grants)
            if problem is not None:
                reason, text = problem
                return _cond("ResolvedRefs", False, reason, f"{where}: {text}")
    return _cond("ResolvedRefs", True, "ResolvedRefs")


def backend_problem(route: HTTPRoute, kind: str, group: str, namespace: str, name: str, port: int | None,
                    services: Mapping[tuple[str, str], Service], grants: Sequence[ReferenceGrant]) -> tuple[str, str] | None:
    if kind != "Service" or group not in ("", "core"):
        return "InvalidKind", f"backend kind {group + '/' if group else ''}{kind} is not supported (only core Services)"
    if namespace != route.namespace and not grant_allows(grants, "HTTPRoute", route.namespace, "", "Service", namespace, name):
        return "RefNotPermitted", f"Service {namespace}/{name} is in another namespace and no ReferenceGrant in {namespace} allows HTTPRoutes from {route.namespace}"
    svc = services.get((namespace, name))
    if svc is None:
        return "BackendNotFound", f"Service {namespace}/{name} does not exist"
    if port is not None and svc.port(port) is None:
        return "BackendNotFound", f"Service {namespace}/{name} has no port {port}"
    return None
