"""The backend conformance scenarios (tests/conformance/scenarios.yaml) on the kind backend's code,
offline: ``LiveLab`` against the fake API server and its network, through the real exec path.

On a Docker machine ``make conformance`` runs these scenarios on real kind clusters; here the same
``run`` (deploy, apply, observe, compare with the scenario's expectation) drives the live Lab
against the fake, so a scenario the kind backend's code gets wrong fails without Docker, as far as
the fake imitates the cluster. Left out, because the fake does not serve what they need:

* ``load-balancer-service``, ``ingress-cloud-provider-kind``, ``gateway-cloud-provider-kind``: no
  cloud-provider-kind (nothing assigns load-balancer addresses);
* ``external-hosts-from-pods``, ``external-hosts-from-outside-the-cluster``,
  ``egress-to-the-internet-by-ipblock``: the lab's external hosts belong to ``KindLab`` with Docker
  (see test_external_lab.py for them against the fake);
* ``egress-to-nodes``: no kubelet listens on the fake nodes' port 10250;
* ``default-deny-ingress``, ``allow-from-namespace-on-one-port``, ``named-port``: covered by the
  upstream acceptance cases (test_fakenet_e2e.py), and 9-13 s each of BLOCKED cells waiting out
  agnhost's timeouts;
* SCTP rows of the others: the fake's agnhost stand-in speaks TCP and UDP only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conformance.test_conformance import SCENARIOS, run
from support.fake_apiserver import FakeCluster, install
from support.fakenet.standins import can_bind_port_80


SERVED = ("no-policy-everything-connects", "end-port-range", "default-deny-egress", "unknown-name-does-not-resolve",
          "ipblock-and-pods", "service-clusterip", "service-undefined-port-by-proxy-mode", "service-without-endpoints",
          "service-policy-after-dnat", "service-nodeport", "dns-headless-and-search-path", "dns-egress-needs-port-53",
          "dns-egress-with-port-53")


pytestmark = [
    pytest.mark.slow,  # about 28 s in all: deploys, and the BLOCKED cells wait out agnhost's timeouts
    pytest.mark.skipif(not can_bind_port_80(), reason="the e2e topology's pods serve ports 80 and 81, which need root here"),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine (the pods have it)"),
]


def test_the_served_scenarios_exist() -> None:
    names = {s["name"] for s in SCENARIOS}
    assert set(SERVED) <= names


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s["name"] in SERVED], ids=lambda s: s["name"])
def test_conformance_scenario_on_the_fake_cluster(scenario: dict[str, Any], tmp_path: Path) -> None:
    with FakeCluster(tmp_path / "pods") as cluster:
        cluster.exec_path = install(tmp_path / "exec-bin", curl=shutil.which("curl"))
        for i, node in enumerate(("kind-control-plane", "kind-worker", "kind-worker2")):
            cluster.add({"apiVersion": "v1", "kind": "Node",
                         "metadata": {"name": node, "labels": {"node-role.kubernetes.io/control-plane": ""} if i == 0 else {}},
                         "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}})
        rows = run(cluster.live_lab(tmp_path / "kubeconfig"), scenario)
    wrong = [f"{label}: {'; '.join(problems)}" for label, _, problems in rows if problems and not label.endswith("/SCTP")]
    assert rows and not wrong, f"{scenario['name']} ({scenario['why']}):\n" + "\n".join(wrong)
