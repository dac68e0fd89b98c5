"""Documented CNI divergences, observed through the Lab API.

Sources, per test: Microsoft's NPM → Cilium migration guide
(learn.microsoft.com/azure/aks/migrate-from-npm-to-cilium-network-policy); Kubernetes "NetworkPolicy
and existing connections" (implementation-defined, kubernetes/website#43438); kube-network-policies
(first packet of new connections only); projectcalico/calico#2759 and #6399 (established
connections bypass policy); cilium/cilium#2700 (policy on every non-reply packet); cilium/cilium#30003
(named ports), fixed for egress by cilium#44429/#45760 in 1.20.
"""

from __future__ import annotations

import pytest

from grader.cni import PROFILES, get_profile
from grader.cni.divergences import (
    AZURE_NPM,
    DIVERGENCES,
    NamedPortResolution,
    SeenSource,
    divergences_for,
    established_connections,
    external_service_ingress,
    named_port_resolution,
    version_tuple,
)
from grader.lab import SimulatedLab
from grader.model import Protocol
from grader.reachability import Verdict

DENY_ALL_INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "default-deny-ingress", "namespace": "shop"},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def _lab(profile: object) -> SimulatedLab:
    lab = SimulatedLab(profile)  # type: ignore[arg-type]
    lab.deploy("shop")
    return lab


# -- existing connections ---------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "survives"), [
    ("kindnet", True),        # kube-network-policies: NFQUEUE on the first packet of new connections
    ("calico-vxlan", True),   # conntrack ESTABLISHED accepted before policy (calico#2759)
    ("calico-bgp", True),
    ("cilium-tunnel", False),  # policy on every packet that is not a reply (cilium#2700)
    ("cilium-native", False),
])
def test_an_open_connection_and_a_new_deny_all(name: str, survives: bool) -> None:
    lab = _lab(name)
    conn = lab.open_connection("shop/web", "shop/db", 5432)
    assert conn.established and lab.send(conn).verdict is Verdict.ALLOWED
    lab.apply(DENY_ALL_INGRESS)
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.BLOCKED  # every new connection is blocked
    after = lab.send(conn)
    assert after.verdict is (Verdict.ALLOWED if survives else Verdict.BLOCKED)
    assert established_connections(get_profile(name)).survives_policy_change is survives
    if survives:
        assert "A new connection would be blocked" in after.reason


def test_connections_that_never_opened_or_were_closed() -> None:
    lab = _lab("kindnet")
    lab.apply(DENY_ALL_INGRESS)
    refused = lab.open_connection("shop/web", "shop/db", 5432)
    assert not refused.established
    assert lab.send(refused).verdict is Verdict.PROBE_FAILED
    lab.close_connection(refused)
    assert lab.connections() == []
    with pytest.raises(Exception, match="no open connection"):
        lab.send(refused)


def test_a_connection_dies_with_its_server_pod() -> None:
    lab = _lab("calico-vxlan")
    conn = lab.open_connection("shop/web", "shop/db", 5432)
    lab.delete("pod/shop/db")
    assert lab.send(conn).verdict in (Verdict.BLOCKED, Verdict.PROBE_FAILED)


# -- ipBlock and cluster addresses ----------------------------------------------------------------------
EGRESS_ANYWHERE_BY_IPBLOCK = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                              "metadata": {"name": "egress-ipblock-all", "namespace": "shop"},
                              "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                                       "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_ipblock_0_0_0_0_slash_0_covers_pods_and_nodes_except_on_cilium(name: str) -> None:
    lab = _lab(name)
    lab.apply(EGRESS_ANYWHERE_BY_IPBLOCK)
    cilium = PROFILES[name].cni == "cilium"
    assert lab.probe("shop/web", "shop/db", 5432).verdict is (Verdict.BLOCKED if cilium else Verdict.ALLOWED)
    assert lab.probe("shop/web", "node:kind-control-plane", 6443).verdict is (Verdict.BLOCKED if cilium else Verdict.ALLOWED)
    assert lab.probe("shop/web", "172.18.0.100", 80).verdict is Verdict.ALLOWED  # outside the cluster it matches everywhere
    # By name, the lookup needs egress to kube-dns, a pod: on Cilium ipBlock 0.0.0.0/0 does not cover it.
    assert lab.probe("shop/web", "vm.internal", 80).verdict is (Verdict.DNS_FAILED if cilium else Verdict.ALLOWED)


def test_cilium_needs_to_entities_host_and_remote_node_for_node_ips_per_microsoft() -> None:
    lab = _lab("cilium-native")
    lab.apply(EGRESS_ANYWHERE_BY_IPBLOCK)
    assert lab.probe("shop/web", "node:kind-control-plane", 6443).verdict is Verdict.BLOCKED
    lab.apply({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
               "metadata": {"name": "allow-node-egress", "namespace": "shop"},
               "spec": {"endpointSelector": {}, "egress": [{"toEntities": ["host", "remote-node"]}]}})
    assert lab.probe("shop/web", "node:kind-control-plane", 6443).verdict is Verdict.ALLOWED
    assert lab.probe("shop/web", "shop/db", 5432).verdict is Verdict.BLOCKED  # pods still need selectors


# -- named ports ---------------------------------------------------------------------------------------
NAMED_PORT_PODS = [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "server-1", "namespace": "shop", "labels": {"app": "server-1"}},
     "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8000, "name": "http-test"}]}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "shop", "labels": {"role": "logging"}},
     "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080, "name": "http-test"}]}]}},
]
NAMED_PORT_EGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "allow-egress", "namespace": "shop"},
                     "spec": {"podSelector": {"matchLabels": {"role": "logging"}}, "policyTypes": ["Egress"],
                              "egress": [{"ports": [{"port": "http-test", "protocol": "TCP"}]}]}}


@pytest.mark.parametrize(("profile", "expected"), [
    (get_profile("kindnet"), Verdict.ALLOWED),
    (get_profile("calico-vxlan"), Verdict.ALLOWED),
    (get_profile("cilium-native"), Verdict.ALLOWED),                           # 1.20: per destination identity
    (get_profile("cilium-native").with_cni_version("1.18.9"), Verdict.BLOCKED),  # AKS 1.36 minimum (cilium#30003)
])
def test_cilium_30003_named_port_with_two_numbers_in_the_cluster(profile: object, expected: Verdict) -> None:
    """The reproduction from cilium/cilium#30003, the case Microsoft tells AKS users to avoid."""
    lab = _lab(profile)
    lab.apply(NAMED_PORT_PODS)
    lab.apply(NAMED_PORT_EGRESS)
    result = lab.probe("shop/client", "shop/server-1", 8000)
    assert result.verdict is expected
    if expected is Verdict.BLOCKED:
        assert "8000, 8080" in result.reason and "30003" in result.reason


def test_named_port_resolution_follows_the_cilium_version() -> None:
    assert named_port_resolution(get_profile("cilium-tunnel")) is NamedPortResolution.DESTINATION_POD
    assert named_port_resolution(get_profile("cilium-tunnel").with_cni_version("v1.19.3")) is NamedPortResolution.CLUSTER_WIDE_EGRESS
    assert named_port_resolution(get_profile("kindnet").with_cni_version("0.1")) is NamedPortResolution.DESTINATION_POD
    assert version_tuple("v1.18.9") < version_tuple("1.20") <= version_tuple("1.20.2")


def test_legacy_named_ports_still_work_when_the_name_is_unique() -> None:
    lab = _lab(get_profile("cilium-native").with_cni_version("1.18.9"))
    lab.apply(NAMED_PORT_PODS[0])
    lab.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "shop", "labels": {"role": "logging"}},
               "spec": {"containers": [{"name": "c"}]}})
    lab.apply(NAMED_PORT_EGRESS)
    assert lab.probe("shop/client", "shop/server-1", 8000).verdict is Verdict.ALLOWED
    assert lab.probe("shop/client", "shop/db", 5432).verdict is Verdict.BLOCKED


# -- NodePort / LoadBalancer vs deny-all (function level; Services model NodePorts) ----------------------
@pytest.mark.parametrize(("impl", "local_backend", "applies", "seen"), [
    (AZURE_NPM, True, False, SeenSource.RECEIVING_NODE),
    (AZURE_NPM, False, False, SeenSource.RECEIVING_NODE),
    (get_profile("cilium-native"), True, True, SeenSource.CLIENT),          # eBPF NodePort keeps the client for local backends
    (get_profile("cilium-native"), False, True, SeenSource.RECEIVING_NODE),
    (get_profile("cilium-tunnel"), False, True, SeenSource.RECEIVING_NODE),  # kube-proxy SNAT
    (get_profile("kindnet"), True, True, SeenSource.RECEIVING_NODE),
    (get_profile("calico-bgp"), False, True, SeenSource.RECEIVING_NODE),
])
def test_nodeport_traffic_and_ingress_policy_externaltrafficpolicy_cluster(impl: object, local_backend: bool, applies: bool,
                                                                           seen: SeenSource) -> None:
    view = external_service_ingress(impl, external_traffic_policy="Cluster", backend_on_receiving_node=local_backend)  # type: ignore[arg-type]
    assert (view.policy_applies, view.seen_source) == (applies, seen)
    assert view.sources


def test_npm_lets_nodeport_traffic_past_a_deny_all_and_cilium_does_not() -> None:
    """The migration guide's example: same deny-all, different result."""
    npm = external_service_ingress(AZURE_NPM, backend_on_receiving_node=False)
    cilium = external_service_ingress(get_profile("cilium-native"), backend_on_receiving_node=False)
    assert not npm.policy_applies and cilium.policy_applies
    lab = _lab("cilium-native")
    lab.apply(DENY_ALL_INGRESS)
    web = lab.state.pod("shop/web")
    assert web is not None
    remote = next(n.name for n in lab.state.nodes if n.name != web.node)
    client, backend = lab.traffic.source("vm.internal"), lab.traffic.source("shop/web")
    # What the Services code gets when it asks the engine with the source the view names.
    assert not lab.network.evaluate(client, backend, 80, Protocol.TCP, seen_source=lab.traffic.source(f"node:{remote}")).allowed
    assert not lab.network.evaluate(client, backend, 80, Protocol.TCP).allowed
    # The pod's own node stays exempt (kube-proxy profiles with a local backend).
    assert lab.network.evaluate(client, backend, 80, Protocol.TCP, seen_source=lab.traffic.source(f"node:{web.node}")).allowed


def test_externaltrafficpolicy_local_keeps_the_client_everywhere() -> None:
    for impl in (AZURE_NPM, *PROFILES.values()):
        view = external_service_ingress(impl, external_traffic_policy="Local", backend_on_receiving_node=True)
        assert view.policy_applies and view.seen_source is SeenSource.CLIENT
    with pytest.raises(ValueError, match="Cluster or Local"):
        external_service_ingress(AZURE_NPM, external_traffic_policy="Global", backend_on_receiving_node=True)


def test_every_divergence_has_sources_and_covers_each_profiles_cni() -> None:
    for d in DIVERGENCES:
        assert d.sources and all(s.startswith("http") for s in d.sources), d.id
    for profile in PROFILES.values():
        covered = {d.id for d, _ in divergences_for(profile)}
        assert {"ipblock-cluster-addresses", "existing-connections", "named-ports-egress", "nodeport-vs-deny-all"} <= covered
