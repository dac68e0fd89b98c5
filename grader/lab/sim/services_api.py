"""The Services/DNS/Ingress/Gateway part of the Lab API, as the simulated cluster implements it.

A composed part of ``SimulatedLab`` (which delegates to it), built from its declared
collaborators: the control plane (stored objects), kube-proxy (DNS), the traffic path (sources),
the HTTP client and the lab's ``probe``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ...dns import Lookup
from ...errors import LabError
from ...gateway import (
    GatewayStatus,
    ListenerStatus,
    RouteStatus,
    class_status,
    implementation_for,
    listener_conditions,
    parent_status,
    resolved_refs,
)
from ...gateway.attachment import Condition
from ...ingress import class_of
from ...ingress.controllers import Placement
from ...manifests import ObjectKey
from ...model import Protocol
from ...model.ingress import Ingress
from ...reachability import ProbeResult, Verdict
from ...services import Distribution, EndpointsInfo
from ..base import object_key
from ..refs import no_such, ref_key
from ..results import IngressStatus, ServiceList
from .controlplane import ControlPlane
from .kubeproxy import KubeProxy
from .real_commands import http_command, lookup_command, with_command
from .traffic import Traffic
from .web import WebClient

ProbeFn = Callable[[str, str, "int | str | None", "Protocol | str"], ProbeResult]


class SimServices:
    """Lab calls for Services, DNS, load balancing, Ingress and Gateway API on the simulated cluster."""

    def __init__(self, control: ControlPlane, kube_proxy: KubeProxy, traffic: Traffic, web: WebClient, probe: ProbeFn) -> None:
        self.control = control
        self.kube_proxy = kube_proxy
        self.traffic = traffic
        self.web = web
        self.probe = probe

    # -- looking at Services -------------------------------------------------------------------
    def services(self, namespace: str | None = None) -> ServiceList:
        """Services like ``kubectl get svc -A -o wide`` (system ones included), sorted."""
        return ServiceList(tuple(self.control.service_infos(namespace)))

    def endpoints(self, service: str) -> EndpointsInfo:
        """Endpoints of ``ns/name`` (or ``name.ns``): ready, not ready, and pods left out with why."""
        return self.control.endpoints_info(service)

    def nslookup(self, source: str, name: str) -> Lookup:
        """Resolve ``name`` as ``source`` would (every query of the search path, and who answered).
        Raises LabError when the DNS traffic itself is blocked (the reason says which policy)."""
        src = self.traffic.source(source)
        found, failed, _ = self.kube_proxy.lookup(src, name)
        if found is None:
            assert failed is not None
            raise LabError(failed.reason)
        command = lookup_command(self.control.state, source, found)
        return found if command is None else replace(found, command=command.line())

    # -- traffic -----------------------------------------------------------------------------
    def http(
        self, source: str, url: str, *, host: str | None = None, sni: str | None = None, method: str = "GET",
        headers: Mapping[str, str] | None = None, ca: Any = None, resolve: str | None = None, now: dt.datetime | None = None,
    ) -> ProbeResult:
        """An HTTP(S) request from ``source`` (pod, node, ``host`` or an external host).

        ``host`` overrides the Host header, ``sni`` the TLS server name (default: the URL's host),
        ``resolve`` connects to that address instead of resolving the URL's host (curl --resolve),
        ``ca`` is what the client trusts (a ``grader.tls`` CA or PEM): ``result.http.certificate_trusted``
        says whether it would accept the certificate. ``now`` moves the client's clock (expiry checks).
        """
        result = self.web.request(source, url, host=host, sni=sni, method=method, headers=headers, ca=ca, resolve=resolve, now=now)
        return with_command(result, http_command(self.control.state, source, url, host=host, sni=sni, method=method, headers=headers, resolve=resolve))

    def distribution(
        self, source: str, destination: str, port: int | str | None = None, *, requests: int = 100,
        protocol: Protocol | str = Protocol.TCP, host: str | None = None, resolve: str | None = None,
    ) -> Distribution:
        """Send ``requests`` connections (or HTTP requests when ``destination`` is a URL) and count
        which pod answered each: the load-balancing lesson's table."""
        if requests < 1:
            raise LabError("requests must be at least 1")
        answers: list[str | None] = []
        verdicts: list[str] = []
        for _ in range(requests):
            if destination.startswith(("http://", "https://")):
                r = self.http(source, destination, host=host, resolve=resolve)
                ok = r.verdict is Verdict.ALLOWED and r.http is not None and r.http.status < 500
                who = r.answered_by if ok else None
                verdicts.append(r.verdict.value if not ok and r.verdict is not Verdict.ALLOWED else f"HTTP {r.http.status if r.http else 0}")
            else:
                r = self.probe(source, destination, port, protocol)
                who = r.answered_by if r.verdict is Verdict.ALLOWED else None
                verdicts.append(r.verdict.value)
            answers.append(who)
        return Distribution.count(source, destination, answers, verdicts)

    # -- changing workloads ---------------------------------------------------------------------
    def set_ready(self, pod: str, ready: bool = True) -> None:
        """Make a pod pass or fail its readiness probe (a not-ready pod leaves every Service's endpoints)."""
        self.control.set_ready(pod, ready)

    def scale(self, deployment: str, replicas: int) -> list[str]:
        """``kubectl scale deployment/<ns>/<name> --replicas=N``; returns the pods it now owns."""
        return self.control.scale(deployment, replicas)

    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> str:
        """Run an ingress controller in the cluster (``ingress-nginx``: a pod in namespace
        ``ingress-nginx`` behind a LoadBalancer Service, IngressClass ``nginx``); returns its IngressClass."""
        return self.control.install_ingress_controller(name, default=default).class_name

    def install_gateway_class(self, name: str = "approuting-istio") -> str:
        """Run a Gateway API implementation with pod data planes (``approuting-istio``, AKS application
        routing's: each Gateway of the class becomes an Envoy pod and a LoadBalancer Service
        ``<gateway>-approuting-istio`` in the Gateway's namespace); returns its GatewayClass."""
        return self.control.install_gateway_class(name)

    # -- addresses and status ---------------------------------------------------------------------
    def address(self, what: str) -> str | None:
        """The external address of ``service/ns/name`` (LoadBalancer), ``ingress/ns/name`` or
        ``gateway/ns/name``; None while pending (as kubectl shows ``<pending>``)."""
        key = object_key(what)
        net = self.control
        if key.kind == "Service":
            svc = net.service(key.namespace, key.name)
            if svc is None:
                raise no_such("Service", key.namespace, key.name)
            return str(svc.load_balancer_ip) if svc.load_balancer_ip is not None else None
        if key.kind == "Ingress":
            return self.ingress_status(f"{key.namespace}/{key.name}").address
        if key.kind == "Gateway":
            status = self.gateway_status(f"{key.namespace}/{key.name}")
            return status.addresses[0] if status.addresses else None
        raise LabError(f"{what!r} has no address: ask for a service/, ingress/ or gateway/")

    def status(self, what: str) -> Any:
        """Status with conditions, explaining what is not working: ``httproute/ns/name``,
        ``gateway/ns/name``, ``gatewayclass/name``, ``ingress/ns/name``."""
        key = object_key(what)
        ref = f"{key.namespace}/{key.name}"
        if key.kind == "HTTPRoute":
            return self.route_status(ref)
        if key.kind == "Gateway":
            return self.gateway_status(ref)
        if key.kind == "Ingress":
            return self.ingress_status(ref)
        if key.kind == "GatewayClass":
            m = self.control.state.objects.get(ObjectKey("GatewayClass", "", key.name))
            if m is None:
                raise no_such("GatewayClass", "", key.name)
            return class_status(m.obj)
        raise LabError(f"no status for kind {key.kind}: ask for httproute/, gateway/, gatewayclass/ or ingress/")

    def ingress_status(self, ref: str) -> IngressStatus:
        net = self.control
        key = ref_key("Ingress", ref)
        m = net.state.objects.get(key)
        if m is None:
            raise no_such("Ingress", key.namespace, key.name)
        ing: Ingress = m.obj
        classes = net.ingress_classes()
        reasons = []
        for ctl in net.controllers.values():
            decision = class_of(ing, ctl, classes)
            if decision.served:
                if ctl.placement is Placement.POD:
                    svc = net.service(ctl.namespace or "", ctl.service_name or "")
                    addr = str(svc.load_balancer_ip) if svc is not None and svc.load_balancer_ip is not None else None
                else:
                    ip = net.ingress_addresses.get(ing.namespace)
                    addr = str(ip) if ip is not None else None
                return IngressStatus(ing.ref, ing.class_name, ctl.name, decision.reason, addr)
            reasons.append(decision.reason)
        why = reasons[0] if reasons else "no ingress controller runs in this cluster"
        if ing.class_name is not None and ing.class_name not in classes:
            why = f"ingressClassName {ing.class_name!r} names no IngressClass (classes: {', '.join(sorted(classes)) or 'none'})"
        return IngressStatus(ing.ref, ing.class_name, None, why)

    def gateway_status(self, ref: str) -> GatewayStatus:
        net = self.control
        key = ref_key("Gateway", ref)
        gw = net.gateways().get((key.namespace, key.name))
        if gw is None:
            raise no_such("Gateway", key.namespace, key.name)
        classes = net.gateway_classes()
        impl = implementation_for(gw, classes)
        if impl is None:
            why = f"GatewayClass {gw.class_name!r} does not exist" if gw.class_name not in classes else \
                f"GatewayClass {gw.class_name} has controllerName {classes[gw.class_name].controller_name}, which no controller here implements"
            return GatewayStatus(gw.ref, (Condition("Accepted", "Unknown", "Pending", why), Condition("Programmed", "Unknown", "Pending", why)))
        secrets, grants = net.secrets(), net.grants()
        listeners = []
        counts = self._attached_counts(gw)
        for lst in gw.listeners:
            listeners.append(ListenerStatus(lst.name, listener_conditions(gw, lst, impl, secrets, grants), counts.get(lst.name, 0)))
        if impl.placement is Placement.POD:
            svc = net.service(gw.namespace, f"{gw.name}-{impl.deployment_suffix}")
            addresses = (str(svc.load_balancer_ip),) if svc is not None and svc.load_balancer_ip is not None else ()
        else:
            addresses = (str(gw.address),) if gw.address is not None else ()
        invalid = [ls for ls in listeners if not ls.programmed]
        conds = [Condition("Accepted", "True" if len(invalid) < len(listeners) else "False",
                           "Accepted" if len(invalid) < len(listeners) else "ListenersNotValid", f"accepted by {impl.title}")]
        if addresses:
            msg = "" if not invalid else f"listener(s) {', '.join(ls.name for ls in invalid)} not programmed"
            conds.append(Condition("Programmed", "True", "Programmed", msg))
        else:
            conds.append(Condition("Programmed", "False", "AddressNotAssigned", "no address available from the load-balancer pool"))
        return GatewayStatus(gw.ref, tuple(conds), tuple(listeners), addresses)

    def _attached_counts(self, gw: Any) -> dict[str, int]:
        net = self.control
        counts: dict[str, int] = {}
        for route in net.routes():
            for parent in route.parent_refs:
                if (parent.namespace, parent.name) != (gw.namespace, gw.name):
                    continue
                _, attached = parent_status(route, parent, net.gateways(), net.gateway_classes(), net.state.namespaces, {})
                for lst, _hosts in attached:
                    counts[lst.name] = counts.get(lst.name, 0) + 1
        return counts

    def route_status(self, ref: str) -> RouteStatus:
        net = self.control
        key = ref_key("HTTPRoute", ref)
        route = next((r for r in net.routes() if r.namespace == key.namespace and r.name == key.name), None)
        if route is None:
            raise no_such("HTTPRoute", key.namespace, key.name)
        gateways, classes = net.gateways(), net.gateway_classes()
        listener_ok = {}
        for gw in gateways.values():
            impl = implementation_for(gw, classes)
            if impl is None:
                continue
            for lst in gw.listeners:
                conds = listener_conditions(gw, lst, impl, net.secrets(), net.grants())
                listener_ok[(gw.namespace, gw.name, lst.name)] = all(c.ok for c in conds if c.type in ("Accepted", "ResolvedRefs", "Programmed"))
        refs = resolved_refs(route, net.services_map(), net.grants())
        parents = []
        for parent in route.parent_refs:
            status, _ = parent_status(route, parent, gateways, classes, net.state.namespaces, listener_ok)
            if status.conditions and status.conditions[0].status != "Unknown":
                status = type(status)(status.parent, (*status.conditions, refs), status.listeners)
            parents.append(status)
        return RouteStatus(route.ref, tuple(parents))
