"""Real API objects -> the views the simulated cluster returns (grader.kind.views).

Each API object below is what the API server stores after defaulting and what the controllers
write back (kube-controller-manager's EndpointSlice controller, cloud-provider-kind's status), in
``kubectl get -o json`` form. The same manifest applied to the simulated cluster must give the
same ``kubectl get svc`` row, the same endpoints and the same types.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import grader
from grader.gateway import GatewayStatus, RouteStatus
from grader.kind import views
from grader.model import ContainerPort, Labels, Pod
from grader.model.services import ServiceType, TrafficPolicy

WEB = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def api_service(name: str, ns: str, spec: dict[str, Any], *, cluster_ip: str, lb: str | None = None) -> dict[str, Any]:
    """What the API server returns for a Service it admitted (kubernetes pkg/apis/core/v1/defaults.go)."""
    spec = copy.deepcopy(spec)
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec["clusterIP"] = cluster_ip
    spec["clusterIPs"] = [cluster_ip]
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for p in spec.get("ports", []):
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p["port"])
    status: dict[str, Any] = {"loadBalancer": {}}
    if lb:  # cloud-provider-kind writes the Envoy container's address, ipMode Proxy
        status = {"loadBalancer": {"ingress": [{"ip": lb, "ipMode": "Proxy", "ports": [{"port": p["port"], "protocol": p["protocol"]} for p in spec["ports"]]}]}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "uid": "u", "resourceVersion": "1"},
            "spec": spec, "status": status}


def api_slice(svc: str, ns: str, port_name: str | None, port: int, endpoints: list[tuple[str, str | None, bool | None, str]],
              suffix: str = "abcde") -> dict[str, Any]:
    eps = []
    for ip, pod, ready, node in endpoints:
        ep: dict[str, Any] = {"addresses": [ip], "nodeName": node}
        if ready is not None:
            ep["conditions"] = {"ready": ready, "serving": ready, "terminating": False}
        if pod:
            ep["targetRef"] = {"kind": "Pod", "namespace": ns, "name": pod, "uid": "x"}
        eps.append(ep)
    ports = [{"port": port, "protocol": "TCP", **({"name": port_name} if port_name is not None else {})}]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": f"{svc}-{suffix}", "namespace": ns, "labels": {views.SERVICE_NAME_LABEL: svc,
                                                                                 "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
            "endpoints": eps, "ports": ports}


@pytest.fixture
def sim():
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply(WEB)
    return lab


def test_a_load_balancer_service_reads_like_the_simulated_one(sim) -> None:
    mine = next(s for s in sim.services("shop") if s.name == "web")
    spec = {"type": "LoadBalancer", "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": mine.service.ports[0].node_port}]}
    real = views.service_from_api(api_service("web", "shop", spec, cluster_ip=mine.cluster_ip, lb=mine.external_ip))
    assert real.type is ServiceType.LOAD_BALANCER and real.external_traffic_policy is TrafficPolicy.CLUSTER
    assert real.ports == mine.service.ports and real.selector == mine.service.selector
    assert str(real.cluster_ip) == mine.cluster_ip and str(real.load_balancer_ip) == mine.external_ip
    from grader.services import ServiceInfo

    assert ServiceInfo.of(real, 1).as_row() == mine.as_row()  # the same `kubectl get svc` row on both backends


def test_pending_headless_external_name_and_affinity() -> None:
    pending = views.service_from_api(api_service("lb", "x", {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 31000}]}, cluster_ip="10.96.5.5"))
    assert pending.load_balancer_ip is None
    from grader.services import ServiceInfo

    assert ServiceInfo.of(pending, 0).external_ip == "<pending>"
    headless = views.service_from_api(api_service("db", "x", {"selector": {"app": "db"}, "ports": [{"port": 5432}]}, cluster_ip="None"))
    assert headless.headless and headless.cluster_ip is None and ServiceInfo.of(headless, 0).cluster_ip == "None"
    ext = views.service_from_api({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pay", "namespace": "x"},
                                  "spec": {"type": "ExternalName", "externalName": "api.example.com", "sessionAffinity": "None"}})
    assert ext.external_name == "api.example.com" and ServiceInfo.of(ext, 0).external_ip == "api.example.com"
    sticky = views.service_from_api(api_service("s", "x", {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}},
                                                           "ports": [{"port": 80, "targetPort": "8080"}]}, cluster_ip="10.96.0.50"))
    assert sticky.affinity_timeout == 60 and sticky.ports[0].target_port == 8080  # a numeric string is a number


def test_endpoints_from_slices_match_the_simulation_and_say_who_is_missing(sim) -> None:
    svc = next(s for s in sim.services("shop") if s.name == "web").service
    web = next(p for p in sim.pods("shop") if p.name == "web")
    slices = [api_slice("web", "shop", "http", 80, [(str(web.ip), "web", True, "kind-worker2")])]
    real = views.endpoints_info(svc, slices, sim.pods("shop"))
    want = sim.endpoints("shop/web")
    assert real.ready == want.ready == ("shop/web",)
    assert real.addresses("http") == want.addresses("http")
    # a second pod the selector matches but the controller has not listed (no IP yet) is explained
    pending = Pod("shop", "web-2", Labels({"app": "web"}), None, None, (ContainerPort(80, name="http"),))
    explained = views.endpoints_info(svc, slices, [*sim.pods("shop"), pending])
    assert [(e.pod, e.reason) for e in explained.ports[0].excluded] == [("shop/web-2", "has no IP yet")]


def test_not_ready_and_unset_conditions_and_foreign_slices() -> None:
    svc = views.service_from_api(api_service("echo", "shop", {"selector": {"app": "echo"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
                                             cluster_ip="10.96.7.7"))
    slices = [
        api_slice("echo", "shop", "http", 8080, [("10.244.1.5", "echo-a", True, "w1"), ("10.244.2.6", "echo-b", False, "w2")]),
        api_slice("echo", "shop", "http", 8080, [("10.244.1.9", "echo-c", None, "w1")], suffix="fghij"),  # nil ready = ready
        api_slice("echo", "other", "http", 8080, [("10.244.1.10", "echo-z", True, "w1")]),  # same name, other namespace
        api_slice("echo", "shop", "metrics", 9100, [("10.244.1.5", "echo-a", True, "w1")], suffix="zzzzz"),  # another port name
    ]
    info = views.endpoints_info(svc, slices, [])
    assert info.ready == ("shop/echo-a", "shop/echo-c") and info.not_ready == ("shop/echo-b",)
    assert info.addresses() == ("10.244.1.5:8080", "10.244.1.9:8080")
    assert views.ready_endpoint_count(svc, slices) == 2


def test_ingress_status_follows_classes_and_the_published_address() -> None:
    classes = [
        {"metadata": {"name": "cloud-provider-kind", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "kind.sigs.k8s.io/ingress-controller"}},
        {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}},
    ]
    served = {"metadata": {"name": "shop", "namespace": "shop"}, "spec": {"ingressClassName": "cloud-provider-kind"},
              "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.5"}]}}}
    status = views.ingress_status(served, classes)
    assert status.served and status.controller == "cloud-provider-kind" and status.address == "172.18.0.5"
    nginx = views.ingress_status({"metadata": {"name": "n", "namespace": "shop"}, "spec": {"ingressClassName": "nginx"}, "status": {}}, classes)
    assert nginx.controller == "ingress-nginx" and nginx.address is None  # not processed yet
    missing = views.ingress_status({"metadata": {"name": "t", "namespace": "shop"}, "spec": {"ingressClassName": "traefik"}}, classes)
    assert not missing.served and "names no IngressClass" in missing.reason
    # the simulated cluster says the same for the same Ingress
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply("""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: t, namespace: shop}
spec:
  ingressClassName: traefik
  rules: [{host: a.example.com, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
""")
    assert lab.status("ingress/shop/t").reason.split(" (classes")[0] == missing.reason.split(" (classes")[0]


def test_gateway_route_and_class_status_as_cloud_provider_kind_writes_them() -> None:
    gw = {"metadata": {"name": "public", "namespace": "shop"}, "spec": {"gatewayClassName": "cloud-provider-kind"},
          "status": {"addresses": [{"type": "IPAddress", "value": "172.18.0.6"}],
                     "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": ""},
                                    {"type": "Programmed", "status": "True", "reason": "Programmed", "message": ""}],
                     "listeners": [{"name": "http", "attachedRoutes": 1, "supportedKinds": [{"kind": "HTTPRoute"}],
                                    "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                                                   {"type": "Programmed", "status": "True", "reason": "Programmed"},
                                                   {"type": "ResolvedRefs", "status": "True", "reason": "ResolvedRefs"}]}]}}
    status = views.gateway_status(gw)
    assert isinstance(status, GatewayStatus) and status.programmed and status.addresses == ("172.18.0.6",)
    assert status.listeners[0].attached_routes == 1 and status.listeners[0].programmed
    fresh = views.gateway_status({"metadata": {"name": "g", "namespace": "shop"}, "spec": {}})
    assert not fresh.programmed and "no controller has written a status" in fresh.conditions[0].message
    route = {"metadata": {"name": "shop", "namespace": "shop"},
             "spec": {"parentRefs": [{"name": "public"}, {"name": "other", "namespace": "infra"}]},
             "status": {"parents": [{"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public"},
                                     "controllerName": "kind.sigs.k8s.io/gateway-controller",
                                     "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"},
                                                    {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound", "message": "service gone"}]}]}}
    rs = views.route_status(route)
    assert isinstance(rs, RouteStatus) and rs.accepted
    assert [p.parent.name for p in rs.parents] == ["public", "other"]
    assert rs.parents[0].conditions[1].reason == "BackendNotFound"
    assert rs.parents[1].conditions[0].status == "Unknown"  # nobody reported on that parent
    cls = views.class_status({"metadata": {"name": "cloud-provider-kind"}, "spec": {"controllerName": "kind.sigs.k8s.io/gateway-controller"},
                              "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}})
    assert cls[0].ok
    assert views.class_status({"metadata": {"name": "x"}, "spec": {"controllerName": "example.com/none"}})[0].status == "Unknown"


def test_lb_address_prefers_ip_then_hostname() -> None:
    assert views.lb_address({"loadBalancer": {"ingress": [{"hostname": "localhost"}]}}) == "localhost"
    assert views.lb_address({"loadBalancer": {"ingress": [{"ip": "172.18.0.9", "hostname": "x"}]}}) == "172.18.0.9"
    assert views.lb_address({"loadBalancer": {}}) is None and views.lb_address(None) is None
