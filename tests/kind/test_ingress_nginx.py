"""ingress-nginx on kind (grader.kind.ingress_nginx): the pinned manifest, changed as documented.

The manifest here is a shortened stand-in with the same objects and fields as
``deploy/static/provider/kind/deploy.yaml`` at controller-v1.15.1 (the real one has 19 objects).
"""

from __future__ import annotations

import io

import pytest

from grader.errors import LabError
from grader.facts import fact
from grader.kind import ingress_nginx as nginx
from grader.kind.workloads import OWNER_LABEL

MANIFEST = """
apiVersion: v1
kind: Namespace
metadata:
  labels: {app.kubernetes.io/instance: ingress-nginx, app.kubernetes.io/name: ingress-nginx}
  name: ingress-nginx
---
apiVersion: v1
kind: Service
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx, labels: {app.kubernetes.io/component: controller}}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, protocol: TCP, targetPort: http}, {name: https, port: 443, protocol: TCP, targetPort: https}]
  selector: {app.kubernetes.io/component: controller, app.kubernetes.io/instance: ingress-nginx, app.kubernetes.io/name: ingress-nginx}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
spec:
  selector: {matchLabels: {app.kubernetes.io/component: controller}}
  template:
    metadata: {labels: {app.kubernetes.io/component: controller}}
    spec:
      containers:
      - name: controller
        image: registry.k8s.io/ingress-nginx/controller:v1.15.1
        args: [/nginx-ingress-controller, --election-id=ingress-nginx-leader, --controller-class=k8s.io/ingress-nginx,
               --ingress-class=nginx, --publish-status-address=localhost, --watch-ingress-without-class=true]
        ports: [{containerPort: 80, hostPort: 80, name: http}, {containerPort: 443, hostPort: 443, name: https}]
      nodeSelector: {kubernetes.io/os: linux}
      tolerations: [{effect: NoSchedule, key: node-role.kubernetes.io/master, operator: Equal}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ingress-nginx}
rules: []
"""


def test_prepare_pins_publishes_and_labels() -> None:
    docs = nginx.prepare(nginx.parse(MANIFEST), "netlab-kindnet-control-plane")
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["annotations"][nginx.SYSTEM_ANNOTATION] == "ingress-nginx"
    assert all(d["metadata"]["labels"][OWNER_LABEL] == "netlab" for d in docs)  # reset() finds every object, cluster-wide ones too
    dep = next(d for d in docs if d["kind"] == "Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux", "kubernetes.io/hostname": "netlab-kindnet-control-plane"}
    assert any(t["key"] == "node-role.kubernetes.io/control-plane" for t in pod["tolerations"])
    args = pod["containers"][0]["args"]
    assert "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller" in args
    assert not any(a.startswith("--publish-status-address") for a in args)
    assert "--watch-ingress-without-class=true" in args  # the rest of the manifest is kept
    svc = next(d for d in docs if d["kind"] == "Service")
    assert svc["spec"]["type"] == "LoadBalancer"


def test_an_older_nodeport_manifest_becomes_a_load_balancer_and_input_is_not_changed() -> None:
    raw = nginx.parse(MANIFEST.replace("type: LoadBalancer", "type: NodePort"))
    docs = nginx.prepare(raw, "cp")
    assert next(d for d in docs if d["kind"] == "Service")["spec"]["type"] == "LoadBalancer"
    assert next(d for d in raw if d["kind"] == "Service")["spec"]["type"] == "NodePort"


def test_a_manifest_that_is_not_the_kind_one_is_refused() -> None:
    with pytest.raises(LabError, match="missing Deployment/ingress-nginx-controller"):
        nginx.prepare(nginx.parse("apiVersion: v1\nkind: Namespace\nmetadata: {name: ingress-nginx}\n"), "cp")
    with pytest.raises(LabError, match="not valid YAML"):
        nginx.parse("a: [")


def test_download_uses_the_pinned_url_and_explains_failures() -> None:
    seen = []

    class Response(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    def opener(url, timeout):
        seen.append(url)
        return Response(MANIFEST.encode())

    assert nginx.download(opener=opener) == MANIFEST
    assert seen == [fact("ingress-nginx-kind-manifest").value] and "controller-v1.15.1" in seen[0]

    def offline(url, timeout):
        raise OSError("Network is unreachable")

    with pytest.raises(LabError, match="could not download the ingress-nginx manifest"):
        nginx.download(opener=offline)
    assert "retired" in nginx.retirement_notice().lower()
