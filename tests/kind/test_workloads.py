"""Pods and namespaces generated for topologies: schema-valid, and they serve what the topology declares."""

from __future__ import annotations

import pytest

from grader.manifests import parse_manifests
from grader.manifests.schema import schema_problems
from grader.model import ContainerPort, Labels, Namespace, Pod, Protocol
from grader.topology import load_topology
from grader.kind.workloads import (
    OWNER_LABEL, SPEC_ANNOTATION, agnhost_image, container_name, namespace_manifest, pod_manifest, probe_pod_manifest,
)


@pytest.mark.parametrize("topology", ["e2e", "shop"])
def test_topology_manifests_are_schema_valid_and_round_trip(topology: str) -> None:
    topo = load_topology(topology)
    docs = [namespace_manifest(ns, topo.name) for ns in topo.namespaces] + [pod_manifest(p) for p in topo.pods]
    for doc in docs:  # kubernetes-validate, Kubernetes 1.37 strict schemas
        assert schema_problems(doc, doc["metadata"]["name"]) == []
    parsed = parse_manifests(docs)
    pods = {str(m.obj.ref): m.obj for m in parsed if m.key.kind == "Pod"}
    for pod in topo.pods:  # what the cluster will see is what the topology declares
        got = pods[str(pod.ref)]
        assert got.labels == pod.labels
        assert sorted(got.ports, key=repr) == sorted(pod.ports, key=repr)
    namespaces = {m.obj.name: m.obj for m in parsed if m.key.kind == "Namespace"}
    for ns in topo.namespaces:
        assert namespaces[ns.name].labels == ns.labels.merged({OWNER_LABEL: "netlab"})


def test_e2e_pod_follows_upstream_servers() -> None:
    pod = next(p for p in load_topology("e2e").pods if str(p.ref) == "x/a")
    doc = pod_manifest(pod)
    containers = {c["name"]: c for c in doc["spec"]["containers"]}
    assert sorted(containers) == ["cont-80-sctp", "cont-80-tcp", "cont-80-udp", "cont-81-sctp", "cont-81-tcp", "cont-81-udp"]
    assert containers["cont-80-udp"]["args"] == ["serve-hostname", "--udp", "--http=false", "--port=80"]
    assert containers["cont-81-sctp"]["args"] == ["porter"]
    assert containers["cont-81-sctp"]["env"] == [{"name": "SERVE_SCTP_PORT_81", "value": "foo"}]
    assert containers["cont-80-tcp"]["args"] == ["netexec", "--http-port=80", "--udp-port=-1"]
    assert containers["cont-80-tcp"]["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "serve-80-tcp"}]
    assert {c["image"] for c in containers.values()} == {agnhost_image()}
    assert agnhost_image().endswith(":2.66.1")
    assert doc["metadata"]["labels"] == {"pod": "a"}  # exactly the topology's labels: selectors see nothing else


def test_pods_without_ports_pinned_pods_and_unready_pods() -> None:
    idle = pod_manifest(Pod("ns", "client", Labels({"app": "c"})))
    assert idle["spec"]["containers"] == [{"name": "cont-idle", "image": agnhost_image(), "imagePullPolicy": "IfNotPresent", "args": ["pause"]}]
    pinned = pod_manifest(Pod("ns", "p", node="kind-control-plane", ports=(ContainerPort(80),)),
                          node_name=lambda n: n.replace("kind-", "netlab-kindnet-"), control_plane="netlab-kindnet-control-plane")
    assert pinned["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "netlab-kindnet-control-plane"}
    assert pinned["spec"]["tolerations"][0]["key"] == "node-role.kubernetes.io/control-plane"
    unready = pod_manifest(Pod("ns", "u", ports=(ContainerPort(80),), ready=False))
    assert unready["spec"]["containers"][0]["readinessProbe"] == {"tcpSocket": {"port": 1}, "periodSeconds": 5}
    ready = pod_manifest(Pod("ns", "r", ports=(ContainerPort(53, Protocol.UDP), ContainerPort(8080))))
    assert ready["spec"]["containers"][0]["readinessProbe"]["tcpSocket"] == {"port": 8080}
    for doc in (idle, pinned, unready, ready):
        assert schema_problems(doc, "pod") == []


def test_spec_hash_changes_with_the_spec_only() -> None:
    a = pod_manifest(Pod("ns", "p", Labels({"x": "1"}), ports=(ContainerPort(80),)))
    b = pod_manifest(Pod("ns", "p", Labels({"x": "2"}), ports=(ContainerPort(80),)))
    c = pod_manifest(Pod("ns", "p", Labels({"x": "1"}), ports=(ContainerPort(81),)))
    assert a["metadata"]["annotations"][SPEC_ANNOTATION] == b["metadata"]["annotations"][SPEC_ANNOTATION]
    assert a["metadata"]["annotations"][SPEC_ANNOTATION] != c["metadata"]["annotations"][SPEC_ANNOTATION]


def test_namespace_and_probe_pod() -> None:
    ns = namespace_manifest(Namespace("shop", Labels({"team": "shop"})), "shop")
    assert ns["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "netlab", "team": "shop"}
    probe = probe_pod_manifest("netlab-kindnet-worker", "netlab-probes")
    assert probe["spec"]["hostNetwork"] is True and probe["spec"]["nodeName"] == "netlab-kindnet-worker"
    assert schema_problems(probe, "probe") == [] and schema_problems(ns, "ns") == []
    assert container_name(ContainerPort(5432, Protocol.SCTP)) == "cont-5432-sctp"
