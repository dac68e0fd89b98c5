"""kind-configs/: one valid v1alpha4 config per profile, with the profile's subnets."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from grader.cni import PROFILES
from grader.errors import ManifestError
from grader.kind.configs import (
    PROFILE_LABEL, cluster_name, configs_dir, kubeconfig_path, load_config, profile_of_cluster, render_config, validate_config,
)

CONFIGS = Path(__file__).resolve().parents[2] / "kind-configs"


def _load(name: str) -> dict:
    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())


def test_one_config_per_profile_and_nothing_else() -> None:
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(PROFILES)
    assert configs_dir() == CONFIGS


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_config_is_valid_for_kind(name: str) -> None:
    assert validate_config(_load(name), name) == []


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_config_matches_the_profile(name: str) -> None:
    doc = _load(name)
    profile = PROFILES[name]
    net = doc["networking"]
    assert ipaddress.ip_network(net["podSubnet"]) == profile.pod_subnet
    assert ipaddress.ip_network(net["serviceSubnet"]) == profile.service_subnet
    roles = [n["role"] for n in doc["nodes"]]
    assert roles == ["control-plane", "worker", "worker"]
    assert {n["labels"][PROFILE_LABEL] for n in doc["nodes"]} == {name}
    assert net.get("disableDefaultCNI", False) is (profile.cni != "kindnet")
    assert net.get("kubeProxyMode", "iptables") == profile.kube_proxy_mode  # what the simulated cluster models
    assert doc == render_config(name)  # the files are what the code would generate
    assert net["dnsSearch"] == []  # R3: the learner's host search domains stay out of the pods


@pytest.mark.parametrize(("doc", "path", "message"), [
    ({"nodes": [{"role": "control-plane", "constraints": 1}]}, "nodes[0].constraints", "unknown field 'constraints' in v1alpha4.Node"),
    # N1: v1alpha4 Node has no gpus field (kind pkg/apis/config/v1alpha4/types.go), so kind refuses it.
    ({"nodes": [{"role": "control-plane", "gpus": "all"}]}, "nodes[0].gpus", "unknown field 'gpus' in v1alpha4.Node"),
    ({"nodes": [{"role": "master"}]}, "nodes[0].role", "unsupported value 'master'"),
    ({"nodes": [{"role": "worker"}]}, "nodes", "must have at least one control-plane node"),
    ({"networking": {"kubeProxyMode": "userspace"}}, "networking.kubeProxyMode", "unsupported value 'userspace'"),
    ({"networking": {"ipFamily": "ipv5"}}, "networking.ipFamily", "unsupported value 'ipv5'"),
    ({"networking": {"podSubnet": "10.244.0.0/33"}}, "networking.podSubnet", "failed to parse cidr"),
    ({"networking": {"podSubnet": "fd00::/56"}}, "networking.podSubnet", "expected IPv4 CIDR for IPv4 family"),
    ({"networking": {"podSubnet": "10.0.0.0/16,10.1.0.0/16"}}, "networking.podSubnet", "only one CIDR allowed"),
    ({"networking": {"disableDefaultCNI": "yes"}}, "networking.disableDefaultCNI", "expected true or false"),
    ({"networking": {"apiServerPort": 70000}}, "networking.apiServerPort", "invalid port number"),
    ({"networking": {"podsubnet": "10.0.0.0/16"}}, "networking.podsubnet", "unknown field"),
    ({"name": "Netlab_Kind"}, "name", "is not a valid cluster name"),
    ({"nodes": [{"role": "control-plane", "extraPortMappings": [{"containerPort": 80, "protocol": "HTTP"}]}]},
     "nodes[0].extraPortMappings[0].protocol", "unsupported value 'HTTP'"),
    ({"nodes": [{"role": "control-plane", "labels": {"netlab/profile": True}}]}, "nodes[0].labels", "expected a mapping of string to str"),
    ({"featureGates": {"Foo": "true"}}, "featureGates", "expected a mapping of string to bool"),
])
def test_validator_rejects_what_kind_rejects(doc: dict, path: str, message: str) -> None:
    full = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", **doc}
    problems = validate_config(full, "cfg")
    assert any(p.path == path and message in p.message for p in problems), problems


def test_validator_accepts_the_documented_examples() -> None:
    examples = [
        {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"},
        {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "networking": {"ipFamily": "dual", "podSubnet": "10.244.0.0/16,fd00:10:244::/56"}},
        {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": [{"role": "control-plane", "extraPortMappings": [
            {"containerPort": 80, "hostPort": 80, "listenAddress": "0.0.0.0", "protocol": "TCP"}],
            "extraMounts": [{"hostPath": "/tmp", "containerPath": "/files", "propagation": "HostToContainer"}],
            "kubeadmConfigPatches": ["kind: InitConfiguration\n"]}], "featureGates": {"InPlacePodVerticalScaling": True},
         "runtimeConfig": {"api/alpha": "false"}, "kubeadmConfigPatchesJSON6902": [{"group": "kubeadm.k8s.io", "version": "v1beta4", "kind": "ClusterConfiguration", "patch": "[]"}]},
    ]
    for doc in examples:
        assert validate_config(doc) == []
    assert [p.path for p in validate_config({"kind": "Pod", "apiVersion": "v1"})] == ["kind", "apiVersion"]


def test_names_and_paths(fakes) -> None:
    assert cluster_name("calico-bgp") == "netlab-calico-bgp"
    assert profile_of_cluster("netlab-calico-bgp") == "calico-bgp"
    assert profile_of_cluster("kind") is None and profile_of_cluster("netlab-other") is None
    path = kubeconfig_path("kindnet")
    assert path.name == "kubeconfig-netlab-kindnet"
    assert ".kube" not in path.parts


def test_installed_package_falls_back_to_a_rendered_config(fakes, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NETLAB_KIND_CONFIGS", str(tmp_path / "absent"))
    path, doc = load_config("cilium-native")
    assert path.parent.name == "netlab-state" and doc == render_config("cilium-native")


def test_a_broken_config_file_is_a_manifest_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "kindnet.yaml").write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: boss}]\n")
    monkeypatch.setenv("NETLAB_KIND_CONFIGS", str(tmp_path))
    with pytest.raises(ManifestError) as info:
        load_config("kindnet")
    assert "nodes[0].role: unsupported value 'boss'" in str(info.value)
