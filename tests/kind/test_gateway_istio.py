"""The approuting-istio stand-in on kind (grader.kind.gateway_istio): pinned Istio Helm charts, the
GatewayClass AKS names, and an honest list of what differs from AKS's managed implementation."""

from __future__ import annotations

import re

from grader.facts import fact
from grader.gateway import APPROUTING_ISTIO
from grader.kind import gateway_istio
from grader.manifests import parse_manifests


def test_helm_installs_base_before_istiod_at_the_pinned_version() -> None:
    base, istiod = gateway_istio.helm_argv("/tmp/kubeconfig")
    assert base[:6] == ["helm", "upgrade", "--install", "istio-base", "base", "--repo"]
    assert istiod[3:5] == ["istiod", "istiod"]
    for argv in (base, istiod):
        assert argv[argv.index("--version") + 1] == fact("istio-version").value
        assert argv[argv.index("--namespace") + 1] == "istio-system"
        assert argv[argv.index("--kubeconfig") + 1] == "/tmp/kubeconfig"
        assert "--wait" in argv
    assert "pilot.env.PILOT_ENABLE_GATEWAY_API=true" in istiod and "--set" not in base


def test_the_pinned_istio_is_a_release_version_with_its_source() -> None:
    pinned = fact("istio-version")
    assert re.fullmatch(r"1\.\d+\.\d+", str(pinned.value))
    assert any(str(pinned.value) in s for s in pinned.sources)


def test_the_gateway_class_is_the_one_the_simulated_cluster_models() -> None:
    doc = gateway_istio.gateway_class()
    assert doc["metadata"]["name"] == APPROUTING_ISTIO.class_name == "approuting-istio"
    assert doc["spec"]["controllerName"] == APPROUTING_ISTIO.controller_name
    import yaml

    [parsed] = parse_manifests(yaml.safe_dump(doc))
    assert parsed.obj.controller_name == "istio.io/gateway-controller"


def test_the_notice_names_the_version_and_what_differs_from_aks() -> None:
    text = gateway_istio.install_notice()
    assert str(fact("istio-version").value) in text
    for difference in ("does not publish", "autoscaler", "Azure DNS", "Azure Load Balancer"):
        assert difference in text
