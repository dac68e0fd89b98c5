"""Pods and namespaces generated for topologies: schema-valid, and they serve what the topology declares."""

from __future__ import annotations

import pytest

from grader.manifests import parse_manifests
from grader.manifests.schema import schema_problems
from grader.model import ContainerPort, Labels, Namespace, Pod, Protocol
from grader.topology import load_topology
from grader.kind.workloads import (
    NOT_READY_FILE, OWNER_LABEL, READINESS_ANNOTATION, READY_FILE, SPEC_ANNOTATION, agnhost_image, container_name, expand_agnhost,
    namespace_manifest, pod_manifest, probe_pod_manifest, readiness_probe, set_ready_command,
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
    assert idle["spec"]["containers"] == [{"name": "cont-idle", "image": agnhost_image(), "imagePullPolicy": "IfNotPresent", "args": ["pause"],
                                           "readinessProbe": readiness_probe(True)}]
    pinned = pod_manifest(Pod("ns", "p", node="kind-control-plane", ports=(ContainerPort(80),)),
                          node_name=lambda n: n.replace("kind-", "netlab-kindnet-"), control_plane="netlab-kindnet-control-plane")
    assert pinned["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "netlab-kindnet-control-plane"}
    assert pinned["spec"]["tolerations"][0]["key"] == "node-role.kubernetes.io/control-plane"
    # Readiness is a real exec probe on a marker file: a not-ready pod waits for /tmp/netlab-ready,
    # a ready one fails once /tmp/netlab-not-ready exists (lab.set_ready writes both consistently).
    unready = pod_manifest(Pod("ns", "u", ports=(ContainerPort(80),), ready=False))
    assert unready["spec"]["containers"][0]["readinessProbe"]["exec"]["command"] == ["/bin/sh", "-c", f"test -e {READY_FILE}"]
    ready = pod_manifest(Pod("ns", "r", ports=(ContainerPort(53, Protocol.UDP), ContainerPort(8080))))
    first = ready["spec"]["containers"][0]
    assert first["readinessProbe"]["exec"]["command"] == ["/bin/sh", "-c", f"test ! -e {NOT_READY_FILE}"]
    assert ready["metadata"]["annotations"][READINESS_ANNOTATION] == first["name"]  # set_ready execs there
    assert all("readinessProbe" not in c for c in ready["spec"]["containers"][1:])
    for doc in (idle, pinned, unready, ready):
        assert schema_problems(doc, "pod") == []


def test_set_ready_command_toggles_both_marker_files(tmp_path) -> None:
    """The probe commands and set_ready's commands, run for real with /bin/sh on marker files in tmp_path."""
    import subprocess

    def run(cmd: list[str]) -> int:
        script = cmd[2].replace("/tmp/", f"{tmp_path}/")
        return subprocess.run([cmd[0], cmd[1], script], check=False).returncode

    ready_probe = readiness_probe(True)["exec"]["command"]
    unready_probe = readiness_probe(False)["exec"]["command"]
    assert run(ready_probe) == 0 and run(unready_probe) != 0  # fresh pods: as the topology declared
    assert run(set_ready_command(False)) == 0
    assert run(ready_probe) != 0 and run(unready_probe) != 0
    assert run(set_ready_command(True)) == 0
    assert run(ready_probe) == 0 and run(unready_probe) == 0


def test_agnhost_shorthand_expands_to_the_course_server() -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo", "namespace": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "echo"}}, "template": {
            "metadata": {"labels": {"app": "echo"}},
            "spec": {"containers": [
                {"name": "c", "image": "agnhost", "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 53, "protocol": "UDP"}]},
                {"name": "side", "image": "nginx:1.27"},
            ]}}},
    }
    out = expand_agnhost(deployment)
    template = out["spec"]["template"]
    containers = {c["name"]: c for c in template["spec"]["containers"]}
    assert list(containers) == ["c", "c-53-udp", "side"]
    assert containers["c"]["image"] == agnhost_image() and containers["c"]["args"] == ["netexec", "--http-port=8080", "--udp-port=-1"]
    assert containers["c"]["ports"] == [{"containerPort": 8080, "name": "http"}]
    assert containers["c-53-udp"]["args"] == ["serve-hostname", "--udp", "--http=false", "--port=53"]
    assert containers["side"] == {"name": "side", "image": "nginx:1.27"}  # real images are applied as written
    assert containers["c"]["readinessProbe"] == readiness_probe(True)
    assert template["metadata"]["annotations"] == {READINESS_ANNOTATION: "c"}
    assert schema_problems(out, "deployment") == []
    parsed = parse_manifests([out])[0].obj  # the simulated cluster reads the same ports
    assert sorted((p.port, p.protocol.value) for p in parsed.ports) == [(53, "UDP"), (8080, "TCP")]
    explicit = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "agnhost", "args": ["pause"]}]}}
    assert expand_agnhost(explicit)["spec"]["containers"][0]["args"] == ["pause"]  # explicit args are kept
    assert expand_agnhost({"kind": "Service", "spec": {}}) == {"kind": "Service", "spec": {}}


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
