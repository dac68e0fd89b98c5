"""Ingress controllers, addresses and status on a real cluster: what cloud-provider-kind (or
ingress-nginx) wrote to Services, Ingresses, Gateways and routes (``grader.kind.views`` turns it
into the types the simulated cluster returns), and installing ingress-nginx on a course cluster.

Declared collaborators: the API handle, the :class:`~grader.kind.apply.Applier` (server-side
apply of the controller's manifest) and a ``say`` callable (stdout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import LabError
from ..ingress import CONTROLLERS
from ..lab.base import object_key
from ..lab.refs import object_name, ref_key
from ..lab.results import IngressStatus
from ..manifests import ObjectKey
from . import views
from .apply import Applier
from .kubeapi import KubeApi, pod_state
from .probing import ADDRESS_WAIT_S, wait_for_address

GATEWAY_GROUP = ("gateway.networking.k8s.io", "v1")


class LiveControllers:
    def __init__(self, kube: KubeApi, applier: Applier, say: Callable[[str], None], *, owns_cluster: bool, control_plane: str | None) -> None:
        self.kube = kube
        self.applier = applier
        self.say = say
        self.owns_cluster = owns_cluster
        """Cluster-wide installs (ingress-nginx) only on the course's own kind clusters."""
        self.control_plane = control_plane

    # -- ingress controllers ------------------------------------------------------------------------
    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> str:
        """``cloud-provider-kind`` runs with every course cluster (its IngressClass is the default);
        ``ingress-nginx`` installs the final release's kind manifest (``grader.kind.ingress_nginx``)."""
        if name not in CONTROLLERS:
            raise LabError(f"unknown ingress controller {name!r}; choose one of: {', '.join(CONTROLLERS)}")
        if not self.owns_cluster:
            raise LabError("installing an ingress controller changes cluster-wide objects (IngressClass, RBAC, webhooks); "
                           "the lab only does that on its own kind clusters, not on a cluster you brought")
        ctl = CONTROLLERS[name]
        net = self.kube.networking()
        if name == "ingress-nginx":
            self._install_ingress_nginx()
        else:
            self.kube.read(f"IngressClass {ctl.class_name} (cloud-provider-kind creates it when it runs: `netlab up` starts it)",
                       net.read_ingress_class, ctl.class_name)
        if default:
            for cls in net.list_ingress_class().items:
                value = "true" if cls.metadata.name == ctl.class_name else None
                if ((cls.metadata.annotations or {}).get("ingressclass.kubernetes.io/is-default-class") == "true") != (value == "true"):
                    net.patch_ingress_class(cls.metadata.name, {"metadata": {"annotations": {"ingressclass.kubernetes.io/is-default-class": value}}},
                                            _content_type="application/merge-patch+json")
        return ctl.class_name

    def install_gateway_class(self, name: str, *, kubeconfig: str) -> str:
        """``approuting-istio``: upstream Istio (Helm) and the GatewayClass, as ``grader.kind.gateway_istio`` describes."""
        from . import gateway_istio
        from ._run import _run

        if name != gateway_istio.CLASS_NAME:
            raise LabError(f"unknown Gateway API implementation {name!r} to install; choose: {gateway_istio.CLASS_NAME} "
                           "(cloud-provider-kind's class is there already)")
        if not self.owns_cluster:
            raise LabError("installing Istio changes cluster-wide objects; the lab only does that on its own kind clusters")
        self.say(gateway_istio.install_notice())
        for argv in gateway_istio.helm_argv(kubeconfig):
            _run(argv, timeout=660)
        self.applier.ssa(gateway_istio.gateway_class())
        return gateway_istio.CLASS_NAME

    def _install_ingress_nginx(self, timeout: float = 300.0) -> None:
        from . import ingress_nginx as nginx

        self.say(nginx.retirement_notice())
        docs = nginx.prepare(nginx.parse(nginx.download()), self.control_plane or "")
        for doc in docs:
            self.applier.ssa(doc)
        batch = self.kube.batch()
        deadline = time.monotonic() + timeout
        while True:
            pods = self.kube.core.list_namespaced_pod(nginx.NAMESPACE, label_selector=nginx.CONTROLLER_SELECTOR).items
            ready = any(pod_state(p)[0] for p in pods)
            jobs_done = True
            for job in nginx.ADMISSION_JOBS:
                try:
                    jobs_done &= bool(batch.read_namespaced_job(job, nginx.NAMESPACE).status.succeeded)
                except Exception:  # noqa: BLE001 - a finished Job may have been cleaned up already
                    pass
            if ready and jobs_done:
                return
            if time.monotonic() > deadline:
                raise LabError(f"ingress-nginx was not ready after {timeout:.0f}s (kubectl -n {nginx.NAMESPACE} get pods shows why)")
            time.sleep(2)

    # -- addresses and status ------------------------------------------------------------------------
    def address(self, what: str, *, wait: float = ADDRESS_WAIT_S) -> str | None:
        """External address of ``service/``, ``ingress/`` or ``gateway/<ns>/<name>`` as its controller
        published it. On kind the controller (cloud-provider-kind) writes it a few seconds after
        ``apply`` (the first LoadBalancer pulls its Envoy image), so this waits up to ``wait``
        seconds, saying so on one line (review C5); None when none came (the reason is printed).
        A Service that is not ``type: LoadBalancer`` gets no address: None at once."""
        key = object_key(what)
        if key.kind == "Service":
            svc = self.kube.plain(self.kube.read(str(key), self.kube.core.read_namespaced_service, key.name, key.namespace))
            if (svc.get("spec") or {}).get("type") != "LoadBalancer":
                return None
        found, why = wait_for_address(lambda: self._address_now(key, what), str(key), timeout=wait, log=self.say,
                                      problem=(lambda: self._gateway_problem(key)) if key.kind == "Gateway" else None)
        if found is None and wait > 0:
            self.say(f"netlab: {key} has no address: {why}")
        return found

    def _gateway_problem(self, key: ObjectKey) -> str:
        """A Gateway its controller refused (Accepted False): waiting longer will not help."""
        for cond in views.gateway_status(self._gateway_object("gateways", key)).conditions:
            if cond.type == "Accepted" and cond.status == "False":
                return f"the Gateway was not accepted ({cond.reason}: {cond.message})"
        return ""

    def _address_now(self, key: ObjectKey, what: str) -> str | None:
        if key.kind == "Service":
            return views.lb_address(self.kube.plain(self.kube.read(str(key), self.kube.core.read_namespaced_service, key.name, key.namespace)).get("status"))
        if key.kind == "Ingress":
            ing = self.kube.plain(self.kube.read(str(key), self.kube.networking().read_namespaced_ingress, key.name, key.namespace))
            return views.lb_address(ing.get("status"))
        if key.kind == "Gateway":
            gw = self._gateway_object("gateways", key)
            return views.gateway_status(gw).addresses[0] if views.gateway_status(gw).addresses else None
        raise LabError(f"{what!r} has no address: ask for a service/, ingress/ or gateway/")

    def _gateway_object(self, plural: str, key: ObjectKey) -> dict[str, Any]:
        custom = self.kube.custom()
        kind = {"gateways": "Gateway", "httproutes": "HTTPRoute", "gatewayclasses": "GatewayClass"}[plural]
        what = object_name(kind, key.namespace, key.name)
        if plural == "gatewayclasses":
            return self.kube.read(what, custom.get_cluster_custom_object, *GATEWAY_GROUP, plural, key.name)
        return self.kube.read(what, custom.get_namespaced_custom_object, *GATEWAY_GROUP, key.namespace, plural, key.name)

    def status(self, what: str) -> Any:
        """The conditions the controllers wrote: ``httproute/``, ``gateway/``, ``gatewayclass/``, ``ingress/``."""
        key = object_key(what)
        if key.kind == "HTTPRoute":
            return views.route_status(self._gateway_object("httproutes", key))
        if key.kind == "Gateway":
            return views.gateway_status(self._gateway_object("gateways", key))
        if key.kind == "GatewayClass":
            return views.class_status(self._gateway_object("gatewayclasses", key))
        if key.kind == "Ingress":
            return self.ingress_status(f"{key.namespace}/{key.name}")
        raise LabError(f"no status for kind {key.kind}: ask for httproute/, gateway/, gatewayclass/ or ingress/")

    def ingress_status(self, ref: str) -> IngressStatus:
        key = ref_key("Ingress", ref)
        net = self.kube.networking()
        ing = self.kube.plain(self.kube.read(str(key), net.read_namespaced_ingress, key.name, key.namespace))
        classes = [self.kube.plain(c) for c in net.list_ingress_class().items]
        return views.ingress_status(ing, classes)


__all__ = ["GATEWAY_GROUP", "LiveControllers"]
