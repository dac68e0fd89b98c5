"""Idempotent cluster lifecycle against fake tools: create, reuse, resume, refuse, tear down."""

from __future__ import annotations

import pytest
import yaml

from grader.errors import LabError
from grader.facts import fact
from grader.kind._run import CommandError
from grader.kind.cluster import KindCluster, SetupError, course_clusters, parse_nodes
from grader.kind.installers import CPK_CONTAINER, calico_manifest_urls
from grader.kind.workloads import agnhost_image

# Multi-step scenarios through fake executables: in make test, not in make test-fast.
pytestmark = pytest.mark.slow


EXTERNAL_NAMES = ("netlab-vm-internal", "netlab-api-example-com", "netlab-blocked-example-net", "netlab-net-", "container:netlab-")


def external_call(call: list[str]) -> bool:
    """A call of the external-hosts step (tested in test_external.py)."""
    return any(a.startswith(EXTERNAL_NAMES) or "netlab/external-host" in a for a in call) or "coredns" in " ".join(call) or (
        call[:2] == ["docker", "exec"])


def _steps(fakes) -> list[str]:
    """The calls that change something, in order (queries and the external-hosts step left out)."""
    out = []
    for call in fakes.calls():
        if external_call(call):
            continue
        tool, args = call[0], call[1:]
        if tool == "kind" and args[0] in ("create", "delete", "load"):
            out.append(f"kind {args[0]} {args[1]}")
        elif tool == "kubectl":
            rest = [a for a in args[4:]]
            if rest[0] in ("create", "apply", "wait"):
                out.append(f"kubectl {rest[0]}")
        elif tool == "docker" and args[0] in ("pull", "run", "start"):
            out.append(f"docker {args[0]}")
        elif tool in ("helm", "cilium") and args[0] in ("upgrade", "install", "status"):
            out.append(f"{tool} {args[0]}")
    return out


def test_kindnet_first_run_creates_everything(fakes, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = KindCluster("kindnet")
    status = cluster.ensure()
    assert status.exists and status.ready and len(status.nodes) == 3
    assert _steps(fakes) == ["kind create cluster", "kubectl wait", "docker pull", "kind load docker-image", "docker run", "kubectl apply"]
    create = next(c for c in fakes.calls("kind") if c[1] == "create")
    assert create[create.index("--image") + 1] == fact("kind-node-image").value
    assert create[create.index("--kubeconfig") + 1] == str(cluster.kubeconfig)
    assert create[create.index("--config") + 1].endswith("kind-configs/kindnet.yaml")
    assert create[create.index("--wait") + 1] == "120s"
    assert fakes.state["loaded"] == [["netlab-kindnet", agnhost_image()]]
    assert fakes.state["containers"] == {CPK_CONTAINER: "running", "netlab-api-example-com": "running",
                                         "netlab-blocked-example-net": "running", "netlab-vm-internal": "running"}
    marker = fakes.state["markers"]["netlab-kindnet"]
    assert marker["profile"] == "kindnet" and marker["kind-version"] == "v0.33.0"
    out = capsys.readouterr()
    assert out.err == ""  # progress on stdout only (nbgrader scores stderr as a failure)
    assert "✓ create the kind cluster" in out.out and "✓ record the profile" in out.out
    for record in fakes.records("kubectl"):  # never the learner's ~/.kube/config
        assert record["argv"][:4] == ["--kubeconfig", str(cluster.kubeconfig), "--context", "kind-netlab-kindnet"]
        assert record["kubeconfig_env"] == str(cluster.kubeconfig)
    # a second run reuses the cluster and changes nothing
    fakes.clear_log()
    assert KindCluster("kindnet").ensure().ready
    assert _steps(fakes) == []
    assert "reusing kind cluster netlab-kindnet" in capsys.readouterr().out


def test_interrupted_setup_resumes(fakes) -> None:
    fakes.set(fail={"docker pull": [1, "Error response from daemon: Get \"https://registry.k8s.io/v2/\": net/http: TLS handshake timeout"]})
    with pytest.raises(SetupError) as info:
        KindCluster("kindnet").ensure()
    text = str(info.value)
    assert "pre-load the probe image (agnhost) failed" in text and "TLS handshake timeout" in text
    assert "kind export logs --name netlab-kindnet" in text
    fakes.set(fail={})
    fakes.clear_log()
    status = KindCluster("kindnet").ensure()
    assert status.ready
    assert _steps(fakes) == ["kubectl wait", "docker pull", "kind load docker-image", "docker run", "kubectl apply"]  # no second create


def test_calico_resumes_over_objects_that_exist(fakes, no_sleep) -> None:
    KindCluster("calico-vxlan").ensure()
    fakes.set(markers={})  # as if interrupted after the CNI install
    fakes.clear_log()
    assert KindCluster("calico-vxlan").ensure().ready
    assert _steps(fakes)[:3] == ["kubectl create", "kubectl create", "kubectl create"]  # AlreadyExists tolerated


def test_calico_profile_installs_the_operator_and_its_installation(fakes, no_sleep) -> None:
    KindCluster("calico-bgp").ensure()
    created = fakes.state["clusters"]["netlab-calico-bgp"]["created"]
    assert created[:2] == calico_manifest_urls()
    installation = yaml.safe_load(created[2])
    assert installation["spec"]["calicoNetwork"]["ipPools"][0]["encapsulation"] == "None"
    create = next(c for c in fakes.calls("kind") if c[1] == "create")
    assert "--wait" not in create  # NotReady until Calico runs: kind's wait would only time out
    assert fakes.state["markers"]["netlab-calico-bgp"]["calico-version"] == fact("calico-version").value


def test_cilium_native_with_helm_and_cilium_cli(fakes) -> None:
    KindCluster("cilium-native").ensure()
    helm = next(c for c in fakes.calls("helm"))
    assert helm[:6] == ["helm", "upgrade", "--install", "cilium", "cilium", "--repo"]
    assert helm[helm.index("--version") + 1] == fact("cilium-version").value.lstrip("v")
    assert helm[helm.index("--namespace") + 1] == "kube-system"
    values = yaml.safe_load(fakes.state["values"][0])
    assert values["routingMode"] == "native" and values["k8sServiceHost"] == "netlab-cilium-native-control-plane"
    assert ["cilium", "status", "--wait", "--wait-duration", "900s"] in fakes.calls("cilium")


def test_cilium_without_helm_uses_the_cilium_cli(fakes) -> None:
    fakes.remove("helm")
    KindCluster("cilium-tunnel").ensure()
    install = fakes.calls("cilium")[0]
    assert install[:4] == ["cilium", "install", "--version", fact("cilium-version").value.lstrip("v")]
    assert yaml.safe_load(fakes.state["values"][0])["routingMode"] == "tunnel"


def test_cilium_without_helm_or_cli_says_how_to_install(fakes) -> None:
    fakes.remove("helm", "cilium")
    with pytest.raises(SetupError) as info:
        KindCluster("cilium-tunnel").ensure()
    assert "Cilium profiles need Helm or the cilium CLI" in str(info.value)


def test_cluster_of_that_name_for_another_profile_is_refused_not_deleted(fakes) -> None:
    fakes.set(clusters={"netlab-kindnet": {"nodes": ["netlab-kindnet-control-plane"], "labels": {}}})
    with pytest.raises(LabError, match="was not created by `netlab up --profile kindnet`"):
        KindCluster("kindnet").ensure()
    assert "netlab-kindnet" in fakes.state["clusters"]
    assert not any(c[1] == "delete" for c in fakes.calls("kind"))


def test_recreate_and_delete(fakes) -> None:
    cluster = KindCluster("kindnet")
    cluster.ensure()
    fakes.clear_log()
    cluster.ensure(recreate=True)
    assert _steps(fakes)[:2] == ["kind delete cluster", "kind create cluster"]
    cluster.delete()
    assert not cluster.kubeconfig.exists()
    assert ["kind", "delete", "cluster", "--name", "netlab-kindnet", "--kubeconfig", str(cluster.kubeconfig)] in fakes.calls("kind")
    assert cluster.status().exists is False
    cluster.delete()  # idempotent


def test_status_and_course_clusters(fakes) -> None:
    KindCluster("kindnet").ensure()
    fakes.set(clusters={**fakes.state["clusters"], "someone-elses": {"nodes": [], "labels": {}}})
    assert course_clusters() == ["netlab-kindnet"]
    fakes.set(nodes_ready=False)
    status = KindCluster("kindnet").status()
    assert status.exists and not status.ready
    assert "0/3 nodes Ready" in status.render()
    assert "not created" in KindCluster("calico-bgp").status().render()


def test_kind_too_old_stops_before_anything(fakes) -> None:
    fakes.set(kind_version="v0.22.0")
    with pytest.raises(CommandError, match=r"older than v0\.24\.0"):
        KindCluster("kindnet").ensure()
    assert [c[1] for c in fakes.calls("kind")] == ["version"]


def test_docker_down_during_create_gets_the_docker_hint(fakes) -> None:
    fakes.set(fail={"kind create": [1, "ERROR: failed to create cluster: failed to list nodes: command \"docker ps -a\" failed with error: exit status 1\n"
                                       "Command Output: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"]})
    with pytest.raises(SetupError) as info:
        KindCluster("kindnet").ensure()
    assert "hint: Docker is not running" in str(info.value)


def test_node_names_map_from_the_simulated_cluster() -> None:
    cluster = KindCluster("calico-vxlan")
    assert cluster.node_name("kind-worker2") == "netlab-calico-vxlan-worker2"
    assert cluster.node_name("kind-control-plane") == cluster.control_plane == "netlab-calico-vxlan-control-plane"
    assert cluster.node_name("aks-nodepool1-0") == "aks-nodepool1-0"


def test_parse_nodes() -> None:
    doc = {"items": [
        {"metadata": {"name": "b", "labels": {"netlab/profile": "kindnet"}}, "status": {"conditions": [{"type": "Ready", "status": "False"}], "addresses": []}},
        {"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Ready", "status": "True"}], "addresses": [{"type": "Hostname", "address": "a"}, {"type": "InternalIP", "address": "172.18.0.2"}]}},
    ]}
    nodes = parse_nodes(doc)
    assert [(n.name, n.ready, n.internal_ip, n.profile_label) for n in nodes] == [("a", True, "172.18.0.2", None), ("b", False, "", "kindnet")]
