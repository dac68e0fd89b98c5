"""The same Services/DNS behaviour on a real kind cluster (backend-neutral Lab calls).

These are the claims the simulated cluster makes that a kind cluster must also show; they run
only where Docker and kind are usable (``live``), and skip elsewhere with the reason.
"""

from __future__ import annotations

import pytest

import grader
from grader.backends import kind_usable
from grader.reachability import Verdict

pytestmark = pytest.mark.live

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}]
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
    usable, why = kind_usable()
    if not usable:
        pytest.skip(f"needs Docker and kind: {why}")
    lab = grader.connect("kindnet", backend="kind", quiet=True)
    lab.deploy("shop")
    yield lab
    lab.reset(keep_topology=True)


def test_service_by_name_and_by_full_name(kind_lab):
    kind_lab.apply(SERVICE)
    for name in ("web", "web.shop", "web.shop.svc.cluster.local"):
        r = kind_lab.probe("shop/api", name, 80)
        assert r.verdict is Verdict.ALLOWED, r.explain()
        assert r.answered_by in (None, "shop/web")  # the kind backend reports the pod only for pod destinations
    assert kind_lab.probe("shop/api", "nope", 80).verdict is Verdict.DNS_FAILED


def test_nodeport_on_every_node(kind_lab):
    kind_lab.apply(SERVICE)
    for node in ("kind-control-plane", "kind-worker", "kind-worker2"):
        assert kind_lab.probe("shop/api", f"node:{node}", 30080).verdict is Verdict.ALLOWED


def test_isolated_egress_without_dns_rule_fails_as_dns(kind_lab):
    kind_lab.apply([SERVICE, ISOLATED_EGRESS])
    assert kind_lab.probe("shop/api", "web", 80).verdict is Verdict.DNS_FAILED
