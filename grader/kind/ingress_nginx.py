"""``lab.install_ingress_controller("ingress-nginx")`` on kind: the project's own kind manifest,
pinned to its final release, adjusted so it behaves like the simulated cluster's model of it.

Why install a retired controller at all (fact ``ingress-nginx-retired``): most existing material,
and many clusters a learner will meet, use it; lessons contrast it with cloud-provider-kind's
Envoy (a controller *pod* that NetworkPolicies can select, versus a container outside the pod
network). The lab prints the retirement notice when it installs it, and cloud-provider-kind's
built-in controller stays the default class.

The manifest (``deploy/static/provider/kind/deploy.yaml`` at ``controller-v1.15.1``, fact
``ingress-nginx-kind-manifest``) is downloaded, parsed and changed before server-side apply:

* the controller Deployment is pinned to the control-plane node (``nodeSelector
  kubernetes.io/hostname``; the manifest already tolerates the control-plane taint). Since
  controller-v1.13 the manifest no longer selects ``ingress-ready=true`` nodes (research/kind.md
  §6), so on a 3-node cluster it could land anywhere; the simulated cluster puts it on the
  control plane, and so does this.
* the controller Service is ``type: LoadBalancer`` (cloud-provider-kind gives it an address on
  the kind network, kubernetes/ingress-nginx#12232) and the controller publishes that Service's
  address in Ingress status (``--publish-service``) instead of ``localhost``
  (``--publish-status-address``), so ``lab.address("ingress/...")`` is the address to connect to.
* every object carries ``app.kubernetes.io/managed-by=netlab`` (so ``reset()`` removes it,
  namespace and cluster-scoped objects alike), and the namespace the ``netlab/system``
  annotation (so ``reset(keep_topology=True)`` keeps it, as the simulated cluster keeps it).
"""

from __future__ import annotations

import copy
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from ..errors import LabError
from ..facts import fact
from .workloads import CONTROL_PLANE_TAINT, OWNER_LABEL, OWNER_VALUE

NAMESPACE = "ingress-nginx"
CONTROLLER = "ingress-nginx-controller"
CLASS_NAME = "nginx"
SYSTEM_ANNOTATION = "netlab/system"
CONTROLLER_SELECTOR = "app.kubernetes.io/component=controller,app.kubernetes.io/name=ingress-nginx"
ADMISSION_JOBS = ("ingress-nginx-admission-create", "ingress-nginx-admission-patch")


def manifest_url() -> str:
    return str(fact("ingress-nginx-kind-manifest").value)


def download(url: str | None = None, timeout: float = 60.0, opener: Callable[..., Any] = urllib.request.urlopen) -> str:
    url = url or manifest_url()
    try:
        with opener(url, timeout=timeout) as resp:
            return resp.read().decode("utf-8")
    except OSError as exc:
        raise LabError(f"could not download the ingress-nginx manifest from {url}: {exc}. Check the network, or use the "
                       "cloud-provider-kind IngressClass (installed with every course cluster) instead.") from None


def _controller_args(container: dict[str, Any]) -> None:
    args = [a for a in container.get("args") or [] if not str(a).startswith(("--publish-status-address", "--publish-service"))]
    args.append(f"--publish-service=$(POD_NAMESPACE)/{CONTROLLER}")
    container["args"] = args


def prepare(docs: Iterable[dict[str, Any] | None], control_plane: str) -> list[dict[str, Any]]:
    """The manifest's objects, changed as the module docstring says (the input is not modified)."""
    out = []
    for raw in docs:
        if not raw:
            continue
        doc = copy.deepcopy(raw)
        meta = doc.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), OWNER_LABEL: OWNER_VALUE}
        kind = doc.get("kind")
        if kind == "Namespace":
            meta["annotations"] = {**(meta.get("annotations") or {}), SYSTEM_ANNOTATION: "ingress-nginx"}
        elif kind == "Service" and meta.get("name") == CONTROLLER:
            doc.setdefault("spec", {})["type"] = "LoadBalancer"
        elif kind == "Deployment" and meta.get("name") == CONTROLLER:
            pod = doc["spec"]["template"]["spec"]
            pod["nodeSelector"] = {**(pod.get("nodeSelector") or {}), "kubernetes.io/hostname": control_plane}
            tolerations = pod.setdefault("tolerations", [])
            if not any(t.get("key") == CONTROL_PLANE_TAINT for t in tolerations):
                tolerations.append({"key": CONTROL_PLANE_TAINT, "operator": "Exists", "effect": "NoSchedule"})
            for container in pod.get("containers") or []:
                if container.get("name") == "controller":
                    _controller_args(container)
        out.append(doc)
    kinds = {(d.get("kind"), (d.get("metadata") or {}).get("name")) for d in out}
    missing = [k for k in (("Namespace", NAMESPACE), ("Deployment", CONTROLLER), ("Service", CONTROLLER), ("IngressClass", CLASS_NAME)) if k not in kinds]
    if missing:
        raise LabError(f"the ingress-nginx manifest does not look like the kind manifest netlab expects (missing {', '.join(f'{k}/{n}' for k, n in missing)})")
    # Namespace first, then the rest in manifest order (the admission Jobs need their RBAC, which precedes them).
    return sorted(out, key=lambda d: d.get("kind") != "Namespace")


def parse(text: str) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError as exc:
        raise LabError(f"the ingress-nginx manifest is not valid YAML: {exc}") from None


def retirement_notice() -> str:
    return (f"netlab: installing ingress-nginx from {manifest_url()} for comparison only: {fact('ingress-nginx-retired').text} "
            "cloud-provider-kind's controller stays the default IngressClass.")


__all__ = ["ADMISSION_JOBS", "CLASS_NAME", "CONTROLLER", "CONTROLLER_SELECTOR", "NAMESPACE", "SYSTEM_ANNOTATION", "download", "manifest_url", "parse",
           "prepare", "retirement_notice"]
