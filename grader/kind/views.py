"""Real API objects -> the same frozen views the simulated cluster returns.

Every function here takes objects as the API server serves them (``kubectl get -o json`` shape:
camelCase dicts, e.g. from ``ApiClient.sanitize_for_serialization``) and returns the model and
view dataclasses of ``grader.model`` / ``grader.services`` / ``grader.gateway``, so a lesson that
reads ``lab.services()``, ``lab.endpoints()``, ``lab.status()`` gets the same types on both backends.

What comes from where:

* Services: ``spec`` (already defaulted by the API server) and ``status.loadBalancer.ingress``
  (filled by cloud-provider-kind on kind, by the cloud provider elsewhere).
* Endpoints: the EndpointSlices labelled ``kubernetes.io/service-name`` -- what kube-proxy (or
  Cilium) really programs -- plus, for pods the selector matches that are in no slice, the reason
  the EndpointSlice controller leaves them out (same rules as ``grader.services.endpoints``).
  An endpoint whose ``conditions.ready`` is absent counts as ready ("nil should be interpreted as
  true", discovery.k8s.io/v1 EndpointConditions).
* Ingress / Gateway / HTTPRoute / GatewayClass status: the conditions and addresses the
  controllers wrote (cloud-provider-kind, ingress-nginx), not a prediction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..gateway import Condition, GatewayStatus, ListenerStatus, ParentStatus, RouteStatus
from ..ingress import CONTROLLERS, class_of
from ..model import Labels, Pod, Protocol
from ..model.gateway import ParentRef
from ..model.ingress import CLASS_ANNOTATION, IS_DEFAULT_CLASS, Ingress, IngressClass
from ..model.services import Service, ServicePort, ServiceType, SessionAffinity, TrafficPolicy
from ..services import EndpointsInfo
from ..services.endpoints import Backend, Exclusion, PortEndpoints, selected_pods
from ..lab.results import IngressStatus

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _ip(text: Any) -> Any:
    try:
        return ipaddress.ip_address(str(text))
    except ValueError:
        return None


def lb_address(status: Mapping[str, Any] | None) -> str | None:
    """First ``status.loadBalancer.ingress`` entry (IP, else hostname), as ``kubectl get`` shows it."""
    for entry in ((status or {}).get("loadBalancer") or {}).get("ingress") or []:
        value = entry.get("ip") or entry.get("hostname")
        if value:
            return str(value)
    return None


def service_from_api(obj: Mapping[str, Any]) -> Service:
    """A ``v1`` Service as the cluster stores it -> ``grader.model.services.Service`` (allocated
    fields filled: clusterIP, nodePorts, healthCheckNodePort, the load balancer address)."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    stype = ServiceType(spec.get("type") or "ClusterIP")
    ports = []
    for p in spec.get("ports") or []:
        target = p.get("targetPort", p.get("port"))
        if isinstance(target, str) and target.isdigit():
            target = int(target)
        ports.append(ServicePort(
            int(p["port"]), target, Protocol.parse(p.get("protocol") or "TCP"), p.get("name") or None,
            int(p["nodePort"]) if p.get("nodePort") else None, p.get("appProtocol"),
        ))
    raw_ip = spec.get("clusterIP")
    headless = raw_ip == "None"
    selector = spec.get("selector")
    affinity = spec.get("sessionAffinity") or "None"
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds") or 10800
    etp = spec.get("externalTrafficPolicy")
    itp = spec.get("internalTrafficPolicy")
    lb = lb_address(obj.get("status"))
    return Service(
        meta.get("namespace", ""), meta.get("name", ""), stype, tuple(ports),
        Labels(selector) if selector is not None else None,
        cluster_ip=None if headless or not raw_ip else _ip(raw_ip), headless=headless,
        external_name=spec.get("externalName"), session_affinity=SessionAffinity(affinity), affinity_timeout=int(timeout),
        external_traffic_policy=TrafficPolicy(etp) if etp else None,
        internal_traffic_policy=TrafficPolicy(itp) if itp else (None if stype is ServiceType.EXTERNAL_NAME else TrafficPolicy.CLUSTER),
        publish_not_ready_addresses=bool(spec.get("publishNotReadyAddresses")),
        load_balancer_source_ranges=tuple(ipaddress.ip_network(c, strict=False) for c in spec.get("loadBalancerSourceRanges") or []),
        load_balancer_class=spec.get("loadBalancerClass"),
        requested_load_balancer_ip=_ip(spec["loadBalancerIP"]) if spec.get("loadBalancerIP") else None,
        allocate_load_balancer_node_ports=spec.get("allocateLoadBalancerNodePorts", True) is not False,
        health_check_node_port=int(spec["healthCheckNodePort"]) if spec.get("healthCheckNodePort") else None,
        load_balancer_ip=_ip(lb) if lb else None,
        requested_cluster_ip=None if headless or not raw_ip else _ip(raw_ip),
        annotations=Labels(meta.get("annotations") or {}),
    )


def slice_backends(port: ServicePort, slices: Iterable[Mapping[str, Any]]) -> list[Backend]:
    """The endpoints of one Service port in real EndpointSlices. A slice port belongs to a Service
    port when their names are equal (both empty for a single unnamed port) and protocols match."""
    out: dict[tuple[str, int], Backend] = {}
    for es in slices:
        sport = next((p for p in es.get("ports") or []
                      if (p.get("name") or None) == (port.name or None) and Protocol.parse(p.get("protocol") or "TCP") == port.protocol), None)
        if sport is None or sport.get("port") is None:
            continue
        for ep in es.get("endpoints") or []:
            ready = (ep.get("conditions") or {}).get("ready")
            target = ep.get("targetRef") or {}
            pod = f"{target.get('namespace') or (es.get('metadata') or {}).get('namespace')}/{target['name']}" if target.get("kind") == "Pod" else None
            for address in ep.get("addresses") or []:
                ip = _ip(address)
                if ip is None:
                    continue
                key = (str(ip), int(sport["port"]))
                out[key] = Backend(ip, int(sport["port"]), port.protocol, pod, ep.get("nodeName"), ready is not False)
    return sorted(out.values(), key=lambda b: (b.label, b.ip.version, b.ip, b.port))


def endpoints_info(svc: Service, slices: Sequence[Mapping[str, Any]], pods: Sequence[Pod]) -> EndpointsInfo:
    """``lab.endpoints()`` on a real cluster: what the slices say, and why selected pods are missing."""
    own = [s for s in slices if ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) == svc.name
           and (s.get("metadata") or {}).get("namespace", svc.namespace) == svc.namespace]
    ports = []
    for port in svc.ports:
        backends = slice_backends(port, own)
        listed = {b.pod for b in backends if b.pod}
        excluded = []
        for pod in selected_pods(svc, pods) if svc.selector is not None else []:
            ref = str(pod.ref)
            if ref in listed:
                continue
            if pod.ip is None:
                why = "has no IP yet"
            elif isinstance(port.target_port, str) and pod.named_port(port.target_port, port.protocol) is None:
                why = f"has no {port.protocol} container port named {port.target_port!r}"
            else:
                why = "is not in any EndpointSlice yet (the EndpointSlice controller has not caught up, or the pod is terminating)"
            excluded.append(Exclusion(ref, why))
        ports.append(PortEndpoints(port, tuple(backends), tuple(excluded)))
    return EndpointsInfo(svc.ref, tuple(ports))


def ready_endpoint_count(svc: Service, slices: Sequence[Mapping[str, Any]]) -> int:
    own = [s for s in slices if ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) == svc.name
           and (s.get("metadata") or {}).get("namespace", svc.namespace) == svc.namespace]
    return len({b.label for port in svc.ports for b in slice_backends(port, own) if b.ready})


# -- Ingress ----------------------------------------------------------------------------------------

def ingress_class_from_api(obj: Mapping[str, Any]) -> IngressClass:
    meta = obj.get("metadata") or {}
    default = (meta.get("annotations") or {}).get(IS_DEFAULT_CLASS) == "true"
    return IngressClass(meta.get("name", ""), (obj.get("spec") or {}).get("controller", ""), default)


def ingress_from_api(obj: Mapping[str, Any]) -> Ingress:
    """Only what decides which controller serves it (rules are served by the real controller)."""
    meta = obj.get("metadata") or {}
    return Ingress(meta.get("namespace", ""), meta.get("name", ""), (obj.get("spec") or {}).get("ingressClassName"),
                   (meta.get("annotations") or {}).get(CLASS_ANNOTATION))


def ingress_status(obj: Mapping[str, Any], classes: Sequence[Mapping[str, Any]]) -> IngressStatus:
    """Which controller serves an Ingress (by its class) and the address it published.

    ``served`` follows the IngressClass: a class whose controller is one the course knows
    (``grader.ingress.CONTROLLERS``) or any other class that exists. The address is what the
    controller wrote to ``status.loadBalancer`` (None until it has processed the Ingress)."""

    ing = ingress_from_api(obj)
    by_name = {c.name: c for c in (ingress_class_from_api(c) for c in classes)}
    address = lb_address(obj.get("status"))
    for ctl in CONTROLLERS.values():
        decision = class_of(ing, ctl, by_name)
        if decision.served:
            return IngressStatus(ing.ref, ing.class_name, ctl.name, decision.reason, address)
    if ing.class_name is not None and ing.class_name in by_name:
        cls = by_name[ing.class_name]
        return IngressStatus(ing.ref, ing.class_name, cls.controller, f"ingressClassName {cls.name} (controller {cls.controller})", address)
    if ing.class_name is not None:
        why = f"ingressClassName {ing.class_name!r} names no IngressClass (classes: {', '.join(sorted(by_name)) or 'none'})"
    elif ing.class_annotation is not None:
        why = f"annotation {CLASS_ANNOTATION}: {ing.class_annotation} names no controller running here"
    else:
        why = "no ingressClassName (there was no default IngressClass when it was created)"
    return IngressStatus(ing.ref, ing.class_name, None, why, address)


# -- Gateway API ----------------------------------------------------------------------------------

def conditions_from_api(items: Iterable[Mapping[str, Any]] | None) -> tuple[Condition, ...]:
    return tuple(Condition(str(c.get("type", "")), str(c.get("status", "Unknown")), str(c.get("reason", "")), str(c.get("message", "")))
                 for c in items or [])


def gateway_status(obj: Mapping[str, Any]) -> GatewayStatus:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    listeners = tuple(ListenerStatus(str(ls.get("name", "")), conditions_from_api(ls.get("conditions")), int(ls.get("attachedRoutes") or 0))
                      for ls in status.get("listeners") or [])
    addresses = tuple(str(a["value"]) for a in status.get("addresses") or [] if a.get("value"))
    conds = conditions_from_api(status.get("conditions"))
    if not conds:
        why = "no controller has written a status yet (is its GatewayClass accepted? is cloud-provider-kind running?)"
        conds = (Condition("Accepted", "Unknown", "Pending", why), Condition("Programmed", "Unknown", "Pending", why))
    return GatewayStatus(f"{meta.get('namespace', '')}/{meta.get('name', '')}", conds, listeners, addresses)


def route_status(obj: Mapping[str, Any]) -> RouteStatus:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ns = meta.get("namespace", "")
    parents = []
    reported = {(_parent_key(p.get("parentRef") or {}, ns)): p for p in status.get("parents") or []}
    for ref in spec.get("parentRefs") or []:
        key = _parent_key(ref, ns)
        found = reported.get(key)
        parent = ParentRef(key[1], key[0], key[2], key[3], ref.get("sectionName"), ref.get("port"))
        if found is None:
            parents.append(ParentStatus(parent, (Condition("Accepted", "Unknown", "Pending",
                                                           f"no controller reported on parent {parent.render()} (does the Gateway exist, with a class some controller implements?)"),)))
        else:
            parents.append(ParentStatus(parent, conditions_from_api(found.get("conditions"))))
    return RouteStatus(f"{ns}/{meta.get('name', '')}", tuple(parents))


def _parent_key(ref: Mapping[str, Any], namespace: str) -> tuple[str, str, str, str, str | None]:
    group = ref.get("group")
    section = ref.get("sectionName")
    return (str(ref.get("namespace") or namespace), str(ref.get("name", "")), str(ref.get("kind") or "Gateway"),
            "gateway.networking.k8s.io" if group is None else str(group), None if section is None else str(section))


def class_status(obj: Mapping[str, Any]) -> tuple[Condition, ...]:
    conds = conditions_from_api((obj.get("status") or {}).get("conditions"))
    controller = (obj.get("spec") or {}).get("controllerName", "")
    # The API server defaults a new class to Accepted=Unknown (reason Pending) until a controller answers.
    return conds or (Condition("Accepted", "Unknown", "Pending", f"no controller for {controller} has accepted this class yet"),)


__all__ = [
    "class_status", "conditions_from_api", "endpoints_info", "gateway_status", "ingress_class_from_api", "ingress_from_api",
    "ingress_status", "lb_address", "ready_endpoint_count", "route_status", "service_from_api", "slice_backends",
]
