"""AKS IP address planning: Microsoft's worked examples and rules, reproduced.

Sources: learn.microsoft.com/azure/aks/concepts-network-ip-address-planning (flat formula and the
50-node examples: 1,581 and 1,891 addresses, /21; service CIDR smaller than /12; DNS IP not the
first address; max pods), concepts-network-azure-cni-overlay (/24 per node, 5,000 nodes, 250 pods;
pod CIDR must not overlap the cluster subnet or peered networks; RFC 1918/6598), azure-cni-overlay
(reserved ranges), the legacy CNI comparison (a /24 holds 8 nodes at 30 pods, 240 pods; 251 nodes
with kubenet/overlay).
"""

from __future__ import annotations

import pytest

from grader.errors import ManifestError
from grader.facts import fact
from grader.planning import (
    Level,
    errors,
    flat_plan,
    max_nodes_flat,
    overlay_nodes_for,
    overlay_plan,
    smallest_prefix,
    usable,
    validate_ranges,
)


def test_microsoft_example_50_nodes_30_pods_needs_1581_addresses_a_slash21() -> None:
    example = fact("aks-flat-planning-example").value
    plan = flat_plan(example["nodes"], max_pods=example["max_pods"], max_surge=example["max_surge"])
    assert plan.addresses == example["addresses"] == 1581
    assert plan.prefix == example["prefix"] == 21
    assert plan.formula == "(50 + 1) + (51 × 30) = 1,581"


def test_microsoft_example_scaling_by_10_more_nodes_needs_1891_addresses_still_a_slash21() -> None:
    plan = flat_plan(50, max_pods=30, scale_up=10)
    assert (plan.addresses, plan.prefix) == (1891, 21)
    assert plan.formula.endswith("(61 × 30) = 1,891")


def test_flat_defaults_to_30_pods_per_node() -> None:
    assert flat_plan(50).max_pods == 30 == fact("aks-default-max-pods").value["node_subnet"]


def test_a_slash24_holds_251_addresses_so_8_flat_nodes_of_30_pods() -> None:
    assert usable(24) == 251
    assert max_nodes_flat(24, 30) == 8      # 8 nodes + 240 pods = 248 addresses
    assert flat_plan(7, max_pods=30).prefix == 24   # 7 + surge 1 = 8 nodes fit
    assert flat_plan(8, max_pods=30).prefix == 23   # 9 nodes (279 addresses) do not


@pytest.mark.parametrize(("addresses", "prefix"), [(1, 29), (3, 29), (4, 28), (251, 24), (252, 23), (2043, 21), (2044, 20)])
def test_smallest_prefix_counts_the_five_addresses_azure_reserves(addresses: int, prefix: int) -> None:
    assert smallest_prefix(addresses) == prefix


@pytest.mark.parametrize(("cidr", "nodes"), [("10.244.0.0/16", 256), ("10.240.0.0/14", 1024), ("10.244.0.0/24", 1),
                                             ("10.0.0.0/8", 5000), ("10.244.0.0/25", 0)])
def test_overlay_a_slash24_per_node_from_the_pod_cidr(cidr: str, nodes: int) -> None:
    assert overlay_nodes_for(cidr) == nodes


def test_overlay_plan_sizes_the_pod_cidr_and_flags_one_that_is_too_small() -> None:
    plan = overlay_plan(300, pod_cidr="10.244.0.0/16")
    (finding,) = plan.findings
    assert finding.level is Level.ERROR and "need a /15" in finding.message
    fits = overlay_plan(250, pod_cidr="10.244.0.0/16")
    assert fits.findings == () and fits.pod_cidr_nodes == 256 and fits.max_pods == 250
    auto = overlay_plan(50)
    assert auto.pod_cidr_prefix == 18 and auto.pod_cidr_nodes == 64 and auto.node_subnet_prefix == 26


def test_overlay_limits_5000_nodes_and_250_pods() -> None:
    assert any("5,000" in f.message for f in overlay_plan(5000, pod_cidr="10.0.0.0/8").findings)
    with pytest.raises(ManifestError, match="between 10 and 250"):
        overlay_plan(10, max_pods=251)
    with pytest.raises(ManifestError, match="max_pods"):
        flat_plan(10, max_pods=9)


def test_bad_counts_are_field_errors() -> None:
    with pytest.raises(ManifestError) as err:
        flat_plan(0, max_surge=-1)
    assert {p.path for p in err.value.problems} == {"nodes", "max_surge"}


def test_the_defaults_pass_validation() -> None:
    svc = fact("aks-service-cidr-default").value
    found = validate_ranges(vnet="10.224.0.0/12", node_subnet="10.224.0.0/16", pod_cidr=fact("aks-overlay-defaults").value["pod_cidr"],
                            service_cidr=svc["service_cidr"], dns_service_ip=svc["dns_service_ip"])
    assert found == ()


@pytest.mark.parametrize(("kwargs", "field", "text"), [
    ({"node_subnet": "10.0.0.0/16", "pod_cidr": "10.0.128.0/17"}, "pod_cidr", "overlaps node_subnet"),
    ({"node_subnet": "10.224.0.0/16", "service_cidr": "10.224.0.0/24"}, "service_cidr", "overlaps node_subnet"),
    ({"pod_cidr": "10.244.0.0/16", "service_cidr": "10.244.0.0/20"}, "service_cidr", "overlaps pod_cidr"),
    ({"pod_cidr": "10.244.0.0/16", "peered": ["10.244.10.0/24"]}, "pod_cidr", "peered/on-premises"),
    ({"service_cidr": "10.0.0.0/12"}, "service_cidr", "smaller than /12"),
    ({"service_cidr": "10.0.0.0/16", "dns_service_ip": "10.0.0.1"}, "dns_service_ip", "first address"),
    ({"service_cidr": "10.0.0.0/16", "dns_service_ip": "10.1.0.10"}, "dns_service_ip", "not inside"),
    ({"pod_cidr": "172.16.0.0/12"}, "pod_cidr", "a range AKS reserves"),
    ({"node_subnet": "169.254.0.0/24"}, "node_subnet", "a range AKS reserves"),
    ({"pod_cidr": "10.244.0.0/25"}, "pod_cidr", "smaller than the /24"),
    ({"vnet": "10.224.0.0/16", "node_subnet": "10.225.0.0/24"}, "node_subnet", "not inside the VNet"),
])
def test_proposed_ranges_aks_would_reject(kwargs: dict[str, object], field: str, text: str) -> None:
    found = errors(validate_ranges(**kwargs))  # type: ignore[arg-type]
    assert any(f.field == field and text in f.message for f in found), found


def test_public_pod_cidr_is_a_warning_not_an_error() -> None:
    (finding,) = validate_ranges(pod_cidr="20.0.0.0/16")
    assert finding.level is Level.WARNING and "RFC 1918" in finding.message
    assert validate_ranges(pod_cidr="100.64.0.0/16") == ()  # RFC 6598 is fine


def test_unparseable_ranges_are_manifest_errors_with_the_field() -> None:
    with pytest.raises(ManifestError) as err:
        validate_ranges(pod_cidr="10.244.0.0/33", service_cidr="10.0.0.5/16", dns_service_ip="ten")
    assert [p.path for p in err.value.problems] == ["pod_cidr", "service_cidr", "dns_service_ip"]
    assert "did you mean 10.0.0.0/16" in str(err.value)
