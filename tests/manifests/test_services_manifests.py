"""Service, Deployment, Secret, EndpointSlice parsing: the API server's validation and defaulting.

Source for every rule: kubernetes ``pkg/apis/core/validation/validation.go`` (ValidateService,
validateServicePort, validateServiceExternalTrafficPolicy, validateClientIPAffinityConfig,
ValidateSecret) and ``pkg/apis/core/v1/defaults.go`` (SetDefaults_Service).
"""

from __future__ import annotations

import base64

import pytest

from grader.errors import ManifestError
from grader.manifests import parse_manifests
from grader.model import Protocol
from grader.model.services import ServiceType, SessionAffinity, TrafficPolicy


def svc(spec: dict, name: str = "web") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "shop"}, "spec": spec}


def one(doc: dict):
    [m] = parse_manifests(doc)
    return m.obj


def problems(doc: dict) -> str:
    with pytest.raises(ManifestError) as exc:
        parse_manifests(doc)
    return str(exc.value)


def test_defaults_as_set_defaults_service():
    # SetDefaults_Service: type ClusterIP, protocol TCP, targetPort = port, sessionAffinity None,
    # internalTrafficPolicy Cluster; no externalTrafficPolicy for ClusterIP Services.
    s = one(svc({"selector": {"app": "web"}, "ports": [{"port": 80}]}))
    assert s.type is ServiceType.CLUSTER_IP
    assert s.ports[0].protocol is Protocol.TCP
    assert s.ports[0].target_port == 80
    assert s.session_affinity is SessionAffinity.NONE
    assert s.internal_traffic_policy is TrafficPolicy.CLUSTER
    assert s.external_traffic_policy is None
    assert s.selector == {"app": "web"}


def test_nodeport_and_loadbalancer_default_external_traffic_policy_cluster():
    for t in ("NodePort", "LoadBalancer"):
        s = one(svc({"type": t, "selector": {"app": "web"}, "ports": [{"port": 80}]}))
        assert s.external_traffic_policy is TrafficPolicy.CLUSTER


def test_target_port_by_name_is_kept_as_name():
    s = one(svc({"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}))
    assert s.ports[0].target_port == "http"


def test_no_selector_means_none_not_empty():
    s = one(svc({"ports": [{"port": 80}]}))
    assert s.selector is None


@pytest.mark.parametrize(("spec", "path", "fragment"), [
    # validateServicePort: requireName when more than one port
    ({"ports": [{"port": 80}, {"port": 81}]}, "spec.ports[0].name", "name is required"),
    # duplicate (protocol, port)
    ({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}, "spec.ports[1]", "duplicate port 80/TCP"),
    # same port number on two protocols is fine -- checked in the positive test below
    ({"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]}, "spec.clusterIPs[0]", "may not be set to 'None' for NodePort"),
    ({"type": "LoadBalancer", "clusterIP": "None", "ports": [{"port": 80}]}, "spec.clusterIPs[0]", "may not be set to 'None' for LoadBalancer"),
    ({"ports": [{"port": 80, "nodePort": 30080}]}, "spec.ports[0].nodePort", "may not be used when `type` is 'ClusterIP'"),
    ({"externalTrafficPolicy": "Local", "ports": [{"port": 80}]}, "spec.externalTrafficPolicy", "externally-accessible"),
    ({"loadBalancerSourceRanges": ["10.0.0.0/8"], "ports": [{"port": 80}]}, "spec.loadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'"),
    ({"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/33"], "ports": [{"port": 80}]}, "spec.loadBalancerSourceRanges[0]", "valid CIDR"),
    ({"type": "ExternalName", "ports": [{"port": 80}]}, "spec.externalName", "required"),
    ({"type": "ExternalName", "externalName": "api.example.com", "clusterIP": "10.96.0.50"}, "spec.clusterIPs", "may not be set for ExternalName"),
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}, "ports": [{"port": 80}]},
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "must be greater than 0"),
    ({"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10}}, "ports": [{"port": 80}]}, "spec.sessionAffinityConfig", "must not be set when session affinity is None"),
    ({"ports": []}, "spec.ports", "at least one port"),
    ({"ports": [{"port": 80, "targetPort": "this-name-is-far-too-long"}]}, "spec.ports[0].targetPort", "no more than 15 characters"),
])
def test_api_server_rejects(spec, path, fragment):
    text = problems(svc(spec))
    assert f"service/web {path}" in text
    assert fragment in text


def test_same_port_two_protocols_is_allowed():
    s = one(svc({"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}))
    assert [(p.port, p.protocol) for p in s.ports] == [(53, Protocol.UDP), (53, Protocol.TCP)]


def test_headless_service_may_have_no_ports():
    s = one(svc({"clusterIP": "None", "selector": {"app": "db"}}))
    assert s.headless and s.ports == ()


def test_external_name_trailing_dot_is_accepted():
    s = one(svc({"type": "ExternalName", "externalName": "api.example.com."}))
    assert s.external_name == "api.example.com"


def test_service_name_must_be_a_dns_label():
    assert "invalid Service name" in problems(svc({"ports": [{"port": 80}]}, name="web.v2"))


def deployment(spec_overrides: dict | None = None) -> dict:
    spec = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web", "tier": "frontend"}},
                     "spec": {"containers": [{"name": "c", "image": "agnhost", "ports": [{"containerPort": 8080, "name": "http"}]}]}},
    }
    spec.update(spec_overrides or {})
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


def test_deployment_parses_replicas_labels_ports_and_hash():
    d = one(deployment())
    assert d.replicas == 3
    assert d.template_labels == {"app": "web", "tier": "frontend"}
    assert d.ports[0].name == "http" and d.ports[0].port == 8080
    assert len(d.template_hash) >= 8
    other = one(deployment({"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v2"}]}}}))
    assert other.template_hash != d.template_hash  # a new template is a new pod-template-hash


def test_deployment_selector_must_match_template_labels():
    # ValidatePodTemplateSpecForReplicaSet: "`selector` does not match template `labels`"
    text = problems(deployment({"selector": {"matchLabels": {"app": "api"}}}))
    assert "deployment/web spec.template.metadata.labels" in text and "does not match" in text


def test_deployment_needs_selector():
    text = problems(deployment({"selector": None}))
    assert "spec.selector" in text


def tls_secret(data: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": "t", "namespace": "shop"}, "data": data}


def test_tls_secret_requires_both_keys():
    text = problems(tls_secret({"tls.crt": base64.b64encode(b"x").decode()}))
    assert "secret/t data[tls.key]" in text


def test_secret_data_must_be_base64():
    text = problems(tls_secret({"tls.crt": "not base64!!", "tls.key": "eA=="}))
    assert "illegal base64 data" in text


def test_secret_string_data_wins():
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"},
           "data": {"k": base64.b64encode(b"old").decode()}, "stringData": {"k": "new"}}
    assert one(doc).get("k") == b"new"


def test_endpoint_slice_parses_ready_default_and_service_label():
    doc = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
           "metadata": {"name": "vm-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "vm"}},
           "ports": [{"port": 80, "name": "http"}], "endpoints": [{"addresses": ["172.18.0.100"]}]}
    es = one(doc)
    assert es.service_name == "vm"
    assert es.endpoints[0].ready  # discovery/v1: nil ready is interpreted as ready
