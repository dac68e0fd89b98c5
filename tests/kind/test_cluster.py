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
    assert _steps(fakes) == ["docker pull", "kind create cluster", "kubectl wait", "docker pull", "kind load docker-image", "docker run", "kubectl apply"]
    assert fakes.calls("docker")[fakes.calls("docker").index(["docker", "pull", fact("kind-node-image").value]) - 1][:3] == ["docker", "image", "inspect"]
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
    fakes.set(fail={f"docker pull {agnhost_image()}": [1, "Error response from daemon: Get \"https://registry.k8s.io/v2/\": net/http: TLS handshake timeout"]})
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
    creates = [r for r in fakes.records("kubectl") if "create" in r["argv"]]
    assert [r["argv"][r["argv"].index("-f") + 1] for r in creates] == [*calico_manifest_urls(), "-"]
    assert "installation.operator.tigera.io/default" in fakes.state["clusters"]["netlab-calico-bgp"]["created"]
    installation = yaml.safe_load(creates[-1]["stdin"])
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
    with pytest.raises(CommandError, match=r"kind v0\.22\.0 is too old: the course's node image .* needs kind v0\.32\.0 or later"):
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


def test_kind_before_v032_cannot_create_from_the_pinned_node_image(fakes) -> None:
    """C1, through the fake kind: v0.31 renders kubeadm v1beta3, which the 1.37 node image's kubeadm
    refuses; kind deletes its nodes and exits 1. The version gate stops this before anything starts."""
    from grader.kind.kindcli import Kind

    fakes.set(kind_version="v0.31.0")
    config = KindCluster("kindnet")
    with pytest.raises(CommandError, match=r"kind v0\.31\.0 is too old"):
        config.ensure()
    with pytest.raises(CommandError, match=r'old API spec: "kubeadm\.k8s\.io/v1beta3"'):
        Kind().create("netlab-kindnet", "kind-configs/kindnet.yaml", kubeconfig=config.kubeconfig, image=fact("kind-node-image").value)
    assert fakes.state["clusters"] == {}


def test_interrupted_create_deletes_the_half_made_cluster(fakes) -> None:
    """L1: a timed-out (or Ctrl+C'd) `kind create` leaves node containers (kind has no signal
    handling); the set-up deletes them before the error reaches the learner."""
    fakes.set(create_hangs=2)
    cluster = KindCluster("kindnet")
    cluster.create_timeout = 0.5
    with pytest.raises(SetupError) as info:
        cluster.ensure()
    assert "create the kind cluster (1 control-plane, 2 workers) failed" in str(info.value) and "timed out" in str(info.value)
    assert "netlab-kindnet" not in fakes.state.get("clusters", {})
    assert ["kind", "delete", "cluster", "--name", "netlab-kindnet", "--kubeconfig", str(cluster.kubeconfig)] in fakes.calls("kind")


def test_half_made_cluster_from_an_earlier_run_is_recreated(fakes, capsys: pytest.CaptureFixture[str]) -> None:
    """L1: a half-made cluster (node containers, no control plane) used to be "reused" and failed with
    a raw `kind get kubeconfig` error; now `ensure` deletes it and creates it again."""
    fakes.set(clusters={"netlab-kindnet": {"nodes": ["netlab-kindnet-control-plane"], "labels": {}, "partial": True}})
    status = KindCluster("kindnet").ensure()
    assert status.ready
    assert "was left half-made by an interrupted `netlab up`; deleting it and creating it again" in capsys.readouterr().out
    assert _steps(fakes)[:3] == ["kind delete cluster", "docker pull", "kind create cluster"]


def test_cluster_whose_api_does_not_answer_says_what_to_run(fakes) -> None:
    """L1: an existing cluster whose API server is down is not recreated behind the learner's back."""
    KindCluster("kindnet").ensure()
    fakes.set(fail={"kubectl get nodes": [1, "The connection to the server 127.0.0.1:40123 was refused - did you specify the right host or port?"]})
    with pytest.raises(SetupError) as info:
        KindCluster("kindnet").ensure()
    text = str(info.value)
    assert "connect to the existing cluster failed" in text and "`docker start netlab-kindnet-control-plane`" in text
    assert "`netlab up --profile kindnet --recreate`" in text
