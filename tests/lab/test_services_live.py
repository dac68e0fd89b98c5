"""The same Services/DNS behaviour on a real kind cluster (backend-neutral Lab calls).

These are the claims the simulated cluster makes that a kind cluster must also show; they run
only where Docker and kind are usable (``live``), and skip elsewhere with the reason.
"""

from __future__ import annotations

import pytest

import grader
from grader.lab import _kind_usable
from grader.reachability import Verdict

pytestmark = pytest.mark.live

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""

ISOLATED_EGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-egress-web-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]
"""


@pytest.fixture(scope="module")
def kind_lab():
    usable, why = _kind_usable()
    if not usable:
        pytest.skip(f"needs Docker and kind: {why}")
    lab = grader.connect("kindnet", backend="kind", quiet=True)
    lab.deploy("shop")
    yield lab
    lab.reset(keep_topology=True)


def test_service_by_name_answers_from_a_pod(kind_lab):
    kind_lab.apply(SERVICE)
    r = kind_lab.probe("shop/api", "web", 80)
    assert r.verdict is Verdict.ALLOWED and r.answered_by == "shop/web"


def test_nodeport_local_preserves_the_client_address(kind_lab):
    kind_lab.apply(SERVICE)
    node_port = next(s for s in kind_lab.services("shop") if s.name == "web").service.ports[0].node_port
    web_node = next(p.node for p in kind_lab.pods("shop") if p.name == "web")
    r = kind_lab.probe("host", f"node:{web_node}:{node_port}")
    assert r.verdict is Verdict.ALLOWED and r.client_ip == "172.18.0.1"


def test_isolated_egress_without_dns_rule_fails_as_dns(kind_lab):
    kind_lab.apply([SERVICE, ISOLATED_EGRESS])
    assert kind_lab.probe("shop/api", "web", 80).verdict is Verdict.DNS_FAILED
