"""Generated CNI configuration checked against the documented APIs, and the install commands."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.cni import PROFILES
from grader.facts import fact
from grader.kind._run import CommandError
from grader.kind.installers import (
    CPK_CONTAINER, Kubectl, calico_installation, calico_manifest_urls, cilium_values, cloud_provider_kind_argv,
    docker_socket, ensure_cloud_provider_kind, install_calico, install_cilium, tigerastatus_pending,
)

# Calico operator API (docs.tigera.io reference/installation/api, research/kind.md §3.2).
IPPOOL_FIELDS = {"name", "cidr", "blockSize", "encapsulation", "natOutgoing", "nodeSelector", "disableBGPExport", "allowedUses", "assignmentMode"}
ENCAPSULATION = {"IPIP", "VXLAN", "IPIPCrossSubnet", "VXLANCrossSubnet", "None"}
ENABLED = {"Enabled", "Disabled"}
CALICO_NETWORK_FIELDS = {"bgp", "ipPools", "mtu", "nodeAddressAutodetectionV4", "nodeAddressAutodetectionV6", "hostPorts", "multiInterfaceMode", "containerIPForwarding", "linuxDataplane", "linuxPolicySetupTimeoutSeconds", "bpfNetworkBootstrap", "kubeProxyManagement", "sysctl"}

# Cilium Helm values used here (Documentation/helm-values.rst, research/kind.md §4.2).
CILIUM_VALUES: dict[str, Any] = {
    "ipam": {"mode": {"kubernetes", "cluster-pool", "multi-pool"}},
    "image": {"pullPolicy": {"IfNotPresent", "Always", "Never"}},
    "operator": {"replicas": int},
    "routingMode": {"tunnel", "native"},
    "tunnelProtocol": {"vxlan", "geneve"},
    "ipv4NativeRoutingCIDR": str,
    "autoDirectNodeRoutes": bool,
    "kubeProxyReplacement": bool,
    "kubeProxyReplacementHealthzBindAddr": str,
    "bpf": {"lbExternalClusterIP": bool},
    "k8sServiceHost": str,
    "k8sServicePort": int,
}


def _check_values(values: dict[str, Any], schema: dict[str, Any], path: str = "") -> list[str]:
    wrong = []
    for key, value in values.items():
        where = f"{path}{key}"
        if key not in schema:
            wrong.append(f"{where}: not a documented value")
            continue
        rule = schema[key]
        if isinstance(rule, dict):
            wrong += _check_values(value, rule, where + ".")
        elif isinstance(rule, set):
            if value not in rule:
                wrong.append(f"{where}: {value!r} not in {sorted(rule)}")
        elif not isinstance(value, rule) or (rule is int and isinstance(value, bool)):
            wrong.append(f"{where}: expected {rule.__name__}")
    return wrong


@pytest.mark.parametrize("name", ["calico-vxlan", "calico-bgp"])
def test_calico_installation_follows_the_operator_api(name: str) -> None:
    doc = calico_installation(name)
    assert (doc["apiVersion"], doc["kind"], doc["metadata"]) == ("operator.tigera.io/v1", "Installation", {"name": "default"})
    assert set(doc["spec"]) == {"calicoNetwork"}
    net = doc["spec"]["calicoNetwork"]
    assert set(net) <= CALICO_NETWORK_FIELDS and net["bgp"] in ENABLED
    (pool,) = net["ipPools"]
    assert set(pool) <= IPPOOL_FIELDS
    assert pool["encapsulation"] in ENCAPSULATION and pool["natOutgoing"] in ENABLED
    assert ipaddress.ip_network(pool["cidr"]) == PROFILES[name].pod_subnet
    assert pool["blockSize"] == PROFILES[name].node_block_prefix == 26
    # tigera/operator validation.go: with BIRD routing, IPIP* and None pools need BGP enabled.
    if pool["encapsulation"] == "None" or pool["encapsulation"].startswith("IPIP"):
        assert net["bgp"] == "Enabled"


def test_calico_profiles_differ_as_the_lessons_need() -> None:
    vxlan = calico_installation("calico-vxlan")["spec"]["calicoNetwork"]
    bgp = calico_installation("calico-bgp")["spec"]["calicoNetwork"]
    assert (vxlan["ipPools"][0]["encapsulation"], vxlan["ipPools"][0]["natOutgoing"]) == ("VXLAN", "Enabled")
    assert (bgp["ipPools"][0]["encapsulation"], bgp["ipPools"][0]["natOutgoing"], bgp["bgp"]) == ("None", "Disabled", "Enabled")
    with pytest.raises(ValueError):
        calico_installation("kindnet")


def test_calico_manifest_urls_are_pinned_and_ordered() -> None:
    version = fact("calico-version").value
    assert calico_manifest_urls() == [
        f"https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests/v1_crd_projectcalico_org.yaml",
        f"https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests/tigera-operator.yaml",
    ]


@pytest.mark.parametrize("name", ["cilium-tunnel", "cilium-native"])
def test_cilium_values_are_documented_values(name: str) -> None:
    values = cilium_values(name, "netlab-x-control-plane")
    assert _check_values(values, CILIUM_VALUES) == []
    assert values["ipam"]["mode"] == "kubernetes"


def test_cilium_routing_per_profile() -> None:
    tunnel = cilium_values("cilium-tunnel", "cp")
    native = cilium_values("cilium-native", "netlab-cilium-native-control-plane")
    assert (tunnel["routingMode"], tunnel["tunnelProtocol"], tunnel["kubeProxyReplacement"]) == ("tunnel", "vxlan", False)
    assert native["routingMode"] == "native" and native["autoDirectNodeRoutes"] is True
    assert ipaddress.ip_network(native["ipv4NativeRoutingCIDR"]) == PROFILES["cilium-native"].pod_subnet
    assert (native["kubeProxyReplacement"], native["k8sServiceHost"], native["k8sServicePort"]) == (True, "netlab-cilium-native-control-plane", 6443)
    assert "tunnelProtocol" not in native
    with pytest.raises(ValueError):
        cilium_values("calico-bgp", "cp")


def test_values_checker_catches_mistakes() -> None:
    assert _check_values({"routingMode": "overlay", "tunnel": "vxlan", "kubeProxyReplacement": "strict"}, CILIUM_VALUES) == [
        "routingMode: 'overlay' not in ['native', 'tunnel']", "tunnel: not a documented value", "kubeProxyReplacement: expected bool",
    ]


def test_tigerastatus_parsing() -> None:
    assert tigerastatus_pending(None) == ["(no tigerastatus yet)"]
    doc = {"items": [
        {"metadata": {"name": "calico"}, "status": {"conditions": [{"type": "Available", "status": "True"}]}},
        {"metadata": {"name": "apiserver"}, "status": {"conditions": [{"type": "Available", "status": "False"}]}},
        {"metadata": {"name": "ippools"}, "status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Degraded", "status": "True"}]}},
    ]}
    assert tigerastatus_pending(doc) == ["apiserver", "ippools"]


def _cluster_with_kubectl(fakes, tmp_path: Path, name: str = "netlab-calico-vxlan") -> Kubectl:
    fakes.set(clusters={name: {"nodes": [f"{name}-control-plane"], "labels": {}}})
    return Kubectl(tmp_path / "kc", context=f"kind-{name}")


def test_install_calico_creates_in_documented_order_and_waits(fakes, tmp_path: Path, no_sleep) -> None:
    kubectl = _cluster_with_kubectl(fakes, tmp_path)
    install_calico(kubectl, "calico-vxlan", poll=0)
    creates = [r for r in fakes.records("kubectl") if "create" in r["argv"]]
    sources = [r["argv"][r["argv"].index("-f") + 1] for r in creates]
    assert sources == [*calico_manifest_urls(), "-"]
    assert yaml.safe_load(creates[-1]["stdin"]) == calico_installation("calico-vxlan")
    assert all(r["kubeconfig_env"] == str(tmp_path / "kc") for r in fakes.records("kubectl"))
    assert fakes.state["tigera_polls"] == 3  # none yet -> not Available -> Available


def test_install_calico_resumes_over_existing_objects(fakes, tmp_path: Path, no_sleep) -> None:
    kubectl = _cluster_with_kubectl(fakes, tmp_path)
    install_calico(kubectl, "calico-bgp", poll=0)
    fakes.set(tigera_polls=5)
    install_calico(kubectl, "calico-bgp", poll=0)  # AlreadyExists from kubectl create is not an error


def test_install_calico_times_out_with_a_hint(fakes, tmp_path: Path, no_sleep) -> None:
    kubectl = _cluster_with_kubectl(fakes, tmp_path)
    with pytest.raises(CommandError) as info:
        install_calico(kubectl, "calico-vxlan", timeout=-1, poll=0)
    assert info.value.timed_out and "tigerastatus" in info.value.hint


def test_kubectl_create_still_fails_on_real_errors(fakes, tmp_path: Path) -> None:
    kubectl = _cluster_with_kubectl(fakes, tmp_path)
    fakes.set(fail={"kubectl create": [1, 'error: error validating "x.yaml": error validating data: kind not set']})
    with pytest.raises(CommandError, match="kind not set"):
        kubectl.create("-f", "x.yaml")


def test_cloud_provider_kind_container(fakes) -> None:
    argv = cloud_provider_kind_argv()
    assert argv[:2] == ["docker", "run"]
    assert argv[argv.index("--network") + 1] == "kind"
    assert "/var/run/docker.sock:/var/run/docker.sock" in argv
    assert argv[-1] == fact("cloud-provider-kind-image").value
    assert argv[-1].startswith(f"registry.k8s.io/cloud-provider-kind/cloud-controller-manager:{fact('cloud-provider-kind-version').value}@sha256:")
    fakes.set(networks={"kind": {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1", "user_subnet": False, "labels": {}, "endpoints": {}}})
    assert ensure_cloud_provider_kind() == "created"
    assert ensure_cloud_provider_kind() == "running"
    fakes.set(containers={CPK_CONTAINER: "exited"})
    assert ensure_cloud_provider_kind() == "started"
    assert fakes.calls("docker")[-1] == ["docker", "start", CPK_CONTAINER]
    assert sum(c[1] == "run" for c in fakes.calls("docker")) == 1


def test_cilium_native_serves_what_cloud_provider_kind_needs(fakes, tmp_path: Path) -> None:
    """C2: cloud-provider-kind health-checks kube-proxy's :10256/healthz on every node for
    externalTrafficPolicy Cluster (proxy.go@v0.11.1 L213-216), and without kube-proxy only Cilium's
    KPR health server answers there. C3: its Ingress/Gateway Envoy sends to ClusterIPs from outside
    the cluster, which Cilium's KPR refuses unless bpf.lbExternalClusterIP. Both go to the chart the
    fake helm checks against the chart's key list."""
    kubectl = _cluster_with_kubectl(fakes, tmp_path, "netlab-cilium-native")
    install_cilium(kubectl, "cilium-native", api_server_host="netlab-cilium-native-control-plane", workdir=tmp_path)
    (sent,) = [yaml.safe_load(v) for v in fakes.state["values"]]
    assert sent["kubeProxyReplacementHealthzBindAddr"] == "0.0.0.0:10256"
    assert sent["bpf"] == {"lbExternalClusterIP": True}
    tunnel = cilium_values("cilium-tunnel", "cp")
    assert "kubeProxyReplacementHealthzBindAddr" not in tunnel  # kube-proxy runs there and serves :10256 itself


def test_fake_helm_refuses_values_the_chart_does_not_have(fakes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F5: a misspelt value fails offline (it used to print `helm: ok` for anything)."""
    import grader.kind.installers as installers

    real = installers.cilium_values
    monkeypatch.setattr(installers, "cilium_values", lambda p, h: {**real(p, h), "bpf": {"lbExternalClusterIp": True}})
    kubectl = _cluster_with_kubectl(fakes, tmp_path, "netlab-cilium-native")
    with pytest.raises(CommandError) as info:
        install_cilium(kubectl, "cilium-native", api_server_host="cp", workdir=tmp_path)
    assert "- bpf: Additional property lbExternalClusterIp is not allowed" in str(info.value)
    fakes.remove("helm")  # the same check through `cilium install`
    with pytest.raises(CommandError, match="Additional property lbExternalClusterIp"):
        install_cilium(kubectl, "cilium-native", api_server_host="cp", workdir=tmp_path)


def test_cloud_provider_kind_of_an_older_pin_is_replaced(fakes) -> None:
    """N2: a container of another image is replaced, so a version bump in facts.yaml takes effect."""
    old = "registry.k8s.io/cloud-provider-kind/cloud-controller-manager:v0.10.0"
    fakes.set(networks={"kind": {"subnet": "172.18.0.0/16", "gateway": "172.18.0.1", "user_subnet": False, "labels": {}, "endpoints": {}}},
              containers={CPK_CONTAINER: "running"}, container_info={CPK_CONTAINER: {"labels": {}, "image": old}})
    assert ensure_cloud_provider_kind() == "replaced"
    assert fakes.state["container_info"][CPK_CONTAINER]["image"] == fact("cloud-provider-kind-image").value
    assert ensure_cloud_provider_kind() == "running"


def test_fake_registry_serves_only_pinned_references(fakes) -> None:
    """F3/R1: an image reference nobody verified fails as Docker does (manifest unknown)."""
    from grader.kind._run import _run

    done = _run(["docker", "pull", "registry.k8s.io/cloud-provider-kind/cloud-controller-manager:v0.11.9"], timeout=30, check=False)
    assert done.returncode == 1 and "manifest unknown" in done.stderr
    assert _run(["docker", "pull", str(fact("cloud-provider-kind-image").value)], timeout=30).ok


def test_docker_socket_follows_docker_host() -> None:
    """R6: rootless Docker listens on $XDG_RUNTIME_DIR/docker.sock (DOCKER_HOST)."""
    assert docker_socket({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == "/run/user/1000/docker.sock"
    assert docker_socket({}) == "/var/run/docker.sock"
    assert docker_socket({"DOCKER_HOST": "tcp://10.0.0.5:2376"}) == "/var/run/docker.sock"


def test_kubectl_create_rerun_with_warnings_is_not_an_error(fakes, tmp_path: Path) -> None:
    """N4/F6: kubectl prints one line per object, AlreadyExists per existing object and the API
    server's `Warning:` lines; a rerun with a warning used to fail."""
    kubectl = _cluster_with_kubectl(fakes, tmp_path)
    url = calico_manifest_urls()[1]
    fakes.set(kubectl_warnings={url: ["unrecognized format \"int32\"", "unrecognized format \"int64\""]})
    first = kubectl.create("-f", url)
    assert first.stdout.splitlines()[0] == "namespace/tigera-operator created" and len(first.stdout.splitlines()) == 5
    again = kubectl.create("-f", url)
    assert again.returncode == 1 and again.stderr.startswith('Warning: unrecognized format "int32"')
