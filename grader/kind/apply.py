"""Changing a real cluster on the learner's behalf: the ownership rule, server-side apply (after
a dry run of every object, so a batch is applied whole or not at all), deletes, and waiting for
pods and namespaces.

Ownership rule: every namespace the lab creates carries ``app.kubernetes.io/managed-by=netlab``.
Changes are refused outside such namespaces (on a course kind cluster, objects the lab itself
labelled in ``default`` are allowed too, because lessons written for the simulated cluster apply
there by default).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..errors import FieldProblem, LabError, ManifestError
from ..manifests import Manifest, ManifestSource, ObjectKey, parse_manifests
from ..model import Pod, PodRef
from .apierrors import api_error_problems
from .ingress_nginx import SYSTEM_ANNOTATION
from .kubeapi import KubeApi, api_version_of, pod_state
from .workloads import (
    OWNER_LABEL,
    OWNER_SELECTOR,
    OWNER_VALUE,
    SPEC_ANNOTATION,
    expand_agnhost,
)

PROBE_NAMESPACE = "netlab-probes"
"""Host-network helper pods (one per node) for probes that start from a node."""
CANARY_NAMESPACE = "netlab-canary"
INTERNAL_NAMESPACES = (PROBE_NAMESPACE, CANARY_NAMESPACE)


class Applier:
    """What the lab may change, and the changes themselves. Collaborators: the API handle and a
    ``say`` callable for progress lines (stdout)."""

    def __init__(self, kube: KubeApi, *, owns_default: bool, say: Callable[[str], None]) -> None:
        self.kube = kube
        self.owns_default = owns_default
        self.say = say
        self.kinds: set[str] = {"NetworkPolicy"}
        """Kinds the lab has applied (what ``objects()`` and ``reset()`` look through)."""
        self.system_namespaces: set[str] = set()
        """Owned namespaces of components the lab installed (ingress-nginx): owned, not the learner's."""

    # -- ownership -------------------------------------------------------------------------------
    def owned(self) -> set[str]:
        core = self.kube.core
        items = [ns for ns in core.list_namespace(label_selector=OWNER_SELECTOR).items if ns.status is None or ns.status.phase != "Terminating"]
        self.system_namespaces = {ns.metadata.name for ns in items if SYSTEM_ANNOTATION in (ns.metadata.annotations or {})}
        return {ns.metadata.name for ns in items}

    def may_touch(self, namespace: str, owned: set[str]) -> bool:
        return namespace in owned or (self.owns_default and namespace == "default")

    def refusal(self, namespace: str) -> str:
        extra = ""
        if namespace == "default" and not self.owns_default:
            # Review L5: most lesson manifests have no namespace; on a cluster you brought they land in
            # `default`, which is not the lab's to change.
            extra = ("; on a cluster you brought, manifests without a namespace go to 'default', which stays yours: "
                     "give them a namespace the lab created (apply(text, namespace='<lab namespace>'))")
        return (
            f"namespace {namespace!r} is not owned by the course lab: the lab only changes namespaces it created "
            f"(labelled {OWNER_SELECTOR}); deploy a topology or apply a Namespace first{extra}"
        )

    def require(self, namespace: str) -> None:
        """LabError unless the lab may change ``namespace``."""
        if not self.may_touch(namespace, self.owned()):
            raise LabError(self.refusal(namespace))

    def namespace_exists(self, name: str) -> bool:
        from kubernetes.client.rest import ApiException

        try:
            self.kube.core.read_namespace(name)
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise

    # -- apply and delete ----------------------------------------------------------------------------
    def ssa(self, body: dict[str, Any], *, dry_run: bool = False) -> Any:
        return self.kube.ssa(body, dry_run=dry_run)

    def apply(self, manifests: ManifestSource, *, namespace: str = "default") -> list[ObjectKey]:
        from kubernetes.client.rest import ApiException

        parsed = parse_manifests(manifests, default_namespace=namespace)
        owned = self.owned()
        pending_ns = {m.obj.name for m in parsed if m.key.kind == "Namespace"}
        problems: list[FieldProblem] = []
        for m in parsed:
            if m.key.kind == "Namespace":
                if m.key.name not in owned and self.namespace_exists(m.key.name):
                    problems.append(FieldProblem(str(m.key), "metadata.name", self.refusal(m.key.name)))
            elif m.key.namespace and not self.may_touch(m.key.namespace, owned) and m.key.namespace not in pending_ns:
                if self.namespace_exists(m.key.namespace):
                    problems.append(FieldProblem(str(m.key), "metadata.namespace", self.refusal(m.key.namespace)))
                else:
                    problems.append(FieldProblem(str(m.key), "metadata.namespace", f'namespaces "{m.key.namespace}" not found: create the namespace first'))
        if problems:
            raise ManifestError(problems)
        bodies = [(m, owned_body(m)) for m in sorted(parsed, key=lambda m: m.key.kind != "Namespace")]
        for m, body in bodies:  # dry run: the server validates everything before anything changes
            if m.key.namespace in pending_ns and m.key.kind != "Namespace":
                continue  # its namespace does not exist until the real pass
            try:
                self.ssa(body, dry_run=True)
            except ApiException as exc:
                problems.extend(api_error_problems(exc.status, exc.body, str(m.key)))
        if problems:
            raise ManifestError(problems)
        for m, body in bodies:
            try:
                self.ssa(body)
            except ApiException as exc:
                raise ManifestError(api_error_problems(exc.status, exc.body, str(m.key))) from None
            self.kinds.add(m.key.kind)
        return [m.key for m in parsed]

    def delete(self, keys: Sequence[ObjectKey], *, missing_ok: bool = False) -> list[ObjectKey]:
        from kubernetes.dynamic.exceptions import NotFoundError

        owned = self.owned()
        for key in keys:
            ns = key.name if key.kind == "Namespace" else key.namespace
            if ns in INTERNAL_NAMESPACES or not (ns in owned or (key.kind != "Namespace" and self.may_touch(ns, owned))):
                raise LabError(self.refusal(ns))
        deleted = []
        for key in keys:
            res = self.kube.resource(api_version_of(key.kind), key.kind)
            try:
                if res.namespaced:
                    res.delete(name=key.name, namespace=key.namespace)
                else:
                    res.delete(name=key.name)
                deleted.append(key)
            except NotFoundError:
                if not missing_ok:
                    raise LabError(f"{key} not found") from None
        return deleted

    def replace_pod_if_changed(self, body: dict[str, Any]) -> None:
        """Pod specs are immutable: a pod whose spec annotation differs is deleted (and waited for)."""
        from kubernetes.client.rest import ApiException

        core = self.kube.core
        meta = body["metadata"]
        try:
            current = core.read_namespaced_pod(meta["name"], meta["namespace"])
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        want = meta["annotations"][SPEC_ANNOTATION]
        have = (current.metadata.annotations or {}).get(SPEC_ANNOTATION)
        if have != want:
            core.delete_namespaced_pod(meta["name"], meta["namespace"], grace_period_seconds=0)
            self.wait_gone(lambda: core.read_namespaced_pod(meta["name"], meta["namespace"]), 90)

    # -- waiting ---------------------------------------------------------------------------------
    def wait_gone(self, read: Callable[[], Any], timeout: float) -> None:
        from kubernetes.client.rest import ApiException

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                read()
            except ApiException as exc:
                if exc.status == 404:
                    return
                raise
            time.sleep(1)
        raise LabError(f"timed out after {timeout:.0f}s waiting for an object to be deleted")

    def wait_namespace_gone(self, name: str, timeout: float = 180) -> None:
        self.wait_gone(lambda: self.kube.core.read_namespace(name), timeout)

    def wait_ready(self, pods: Iterable[Pod], timeout: float) -> None:
        want = {p.ref: p.ready for p in pods}
        if not want:
            return
        namespaces = sorted({r.namespace for r in want})
        started = time.monotonic()
        self.say(f"netlab: waiting for {len(want)} pods in {', '.join(namespaces)} to be ready")
        pending: dict[PodRef, str] = {}
        while True:
            pending = {}
            seen: dict[PodRef, Any] = {}
            for ns in namespaces:
                for p in self.kube.core.list_namespaced_pod(ns).items:
                    seen[PodRef(ns, p.metadata.name)] = p
            for ref, must_be_ready in want.items():
                p = seen.get(ref)
                if p is None:
                    pending[ref] = "not created"
                    continue
                ready, why = pod_state(p)
                running = p.status.phase == "Running"
                if (must_be_ready and not ready) or (not must_be_ready and not running):
                    pending[ref] = why
            if not pending:
                self.say(f"netlab: {len(want)} pods ready after {time.monotonic() - started:.0f}s")
                return
            if time.monotonic() - started > timeout:
                detail = "; ".join(f"{r}: {w}" for r, w in sorted(pending.items())[:8])
                raise LabError(
                    f"{len(pending)} pod(s) not ready after {timeout:.0f}s ({detail}). ImagePullBackOff means the node "
                    "cannot pull agnhost (`netlab up` pre-loads it); Pending means no node fits (`kubectl describe pod`)."
                )
            time.sleep(1.5)


def owned_body(m: Manifest) -> dict[str, Any]:
    """The body the lab applies: without status, with the owner label, ``image: agnhost`` expanded."""
    body = copy.deepcopy(m.body)
    body.pop("status", None)
    meta = body.setdefault("metadata", {})
    meta.setdefault("labels", {})
    meta["labels"] = {**(meta["labels"] or {}), OWNER_LABEL: OWNER_VALUE}
    return expand_agnhost(body)


__all__ = ["CANARY_NAMESPACE", "INTERNAL_NAMESPACES", "PROBE_NAMESPACE", "Applier", "owned_body"]
