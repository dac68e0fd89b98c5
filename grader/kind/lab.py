"""The live Lab: the same API as the simulated cluster, answered by a real cluster.

* :class:`KindLab` — a course-owned kind cluster for a CNI profile (created or reused by
  :class:`~grader.kind.cluster.KindCluster`).
* :class:`ClusterLab` — bring your own cluster: any kubeconfig context (e.g. an AKS cluster with
  Azure CNI powered by Cilium). It detects the CNI and whether it enforces NetworkPolicy, and it
  only ever touches namespaces it created.

Both talk to the API server with the official ``kubernetes`` client: server-side apply with field
manager ``netlab`` (after a dry run of every object, so a batch is applied whole or not at all),
and probes that exec ``agnhost connect`` in the source pod, as upstream e2e does, in parallel.

Ownership rule: every namespace the lab creates carries ``app.kubernetes.io/managed-by=netlab``.
``apply``, ``delete``, ``label`` and ``reset`` refuse anything outside such namespaces (on a
course kind cluster, objects the lab itself labelled in ``default`` are allowed too, because
lessons written for the simulated cluster apply there by default).
"""

from __future__ import annotations

import copy
import ipaddress
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..cni import CniProfile, get_profile
from ..errors import FieldProblem, LabError, ManifestError
from ..lab.base import Lab, PortSpec
from ..manifests import PARSERS, Manifest, ManifestSource, ObjectKey, parse_manifests
from ..model import ContainerPort, Labels, Namespace, Pod, PodRef, Protocol
from ..reachability import Comparison, Hop, Probe, ProbeResult, Reachability, ReachabilityMatrix, Verdict
from ..reachability.commands import connect, in_pod
from ..topology import Topology, load_topology
from .apierrors import api_error_problems
from .external_api import ExternalHostsMixin
from .hostnet import l4_probe
from .ingress_nginx import SYSTEM_ANNOTATION
from .probing import connect_command, converge, host_port, parse_exec_status, verdict_from_connect
from .services_api import LiveServicesMixin
from .workloads import (
    FIELD_MANAGER, OWNER_LABEL, OWNER_SELECTOR, OWNER_VALUE, READINESS_ANNOTATION, SPEC_ANNOTATION, TOPOLOGY_ANNOTATION,
    agnhost_image, expand_agnhost, namespace_manifest, pod_manifest, probe_pod_manifest, set_ready_command,
)

PROBE_NAMESPACE = "netlab-probes"
"""Host-network helper pods (one per node) for probes that start from a node."""
CANARY_NAMESPACE = "netlab-canary"
INTERNAL_NAMESPACES = (PROBE_NAMESPACE, CANARY_NAMESPACE)
EXEC_TIMEOUT = 20.0
MERGE_PATCH = "application/merge-patch+json"
"""Label changes are JSON merge patches (RFC 7386): a null value removes the key. The generated client
would otherwise pick JSON Patch for a dict body."""
READY_TIMEOUT = 240.0
CLUSTER_SCOPED_SYSTEM = (
    ("networking.k8s.io/v1", "IngressClass"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
)
"""Cluster-wide kinds the lab creates (ingress-nginx) and a full ``reset()`` removes again (owner label only)."""
_NODE_PORT = re.compile(r"node:([^:/]+):(\d+)")


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """Outcome of the enforcement canary: ``enforced`` is None when even unrestricted traffic failed."""

    enforced: bool | None
    seconds: float
    message: str


@dataclass(frozen=True, slots=True)
class CniInfo:
    name: str
    profile: str
    """The course profile whose semantics match best (for the simulated comparisons)."""
    enforces: bool | None
    """Whether it enforces NetworkPolicy: True, False, or None (unknown: the canary decides)."""
    note: str = ""


def detect_cni(daemonsets: Iterable[str]) -> CniInfo:
    """Which CNI a cluster runs, from its DaemonSet names (``kube-system``, ``calico-system``...).

    Order matters: Canal is Calico policy on Flannel, so Calico wins over Flannel.
    """
    names = {d.split("/")[-1] for d in daemonsets}
    if "cilium" in names:
        return CniInfo("cilium", "cilium-tunnel", True, "Cilium (on AKS: Azure CNI powered by Cilium); ipBlock never matches pod or node IPs")
    if "calico-node" in names:
        return CniInfo("calico", "calico-vxlan", True, "Calico")
    if "azure-npm" in names:
        return CniInfo("azure-npm", "kindnet", True, "Azure Network Policy Manager (retiring; see fact azure-npm-retirement)")
    if "antrea-agent" in names:
        return CniInfo("antrea", "kindnet", True, "Antrea")
    if "kindnet" in names:
        return CniInfo("kindnet", "kindnet", None, "kindnet: enforces NetworkPolicy since kind v0.24 (the canary checks)")
    if names & {"kube-flannel-ds", "kube-flannel", "flannel"}:
        return CniInfo("flannel", "kindnet", False, "Flannel alone does not implement NetworkPolicy")
    return CniInfo("unknown", "kindnet", None, "CNI not recognised (the canary checks NetworkPolicy enforcement)")


def _api_version_of(kind: str) -> str:
    if kind == "Namespace":
        return "v1"
    for api, k in PARSERS:
        if k == kind:
            return api
    raise LabError(f"the lab does not know which apiVersion serves kind {kind}")



def _pod_state(p: Any) -> tuple[bool, str]:
    """(ready, why not) for a V1Pod."""
    status = p.status
    ready = any(c.type == "Ready" and c.status == "True" for c in (status.conditions or []))
    if ready:
        return True, ""
    for cs in status.container_statuses or []:
        waiting = cs.state.waiting if cs.state else None
        if waiting is not None and waiting.reason:
            return False, f"{waiting.reason}: {waiting.message or ''}".strip(": ")
    return False, str(status.phase or "Pending")


def _model_pod(p: Any) -> Pod:
    meta, spec, status = p.metadata, p.spec, p.status
    ports = []
    for c in spec.containers or []:
        for cp in c.ports or []:
            ports.append(ContainerPort(int(cp.container_port), Protocol.parse(cp.protocol or "TCP"), cp.name))
    ip = ipaddress.ip_address(status.pod_ip) if status and status.pod_ip else None
    ready, _ = _pod_state(p)
    return Pod(
        meta.namespace, meta.name, Labels(meta.labels or {}), ip, spec.node_name,
        tuple(sorted(ports, key=lambda c: (c.port, c.protocol, c.name or ""))), ready, bool(spec.host_network),
    )


@dataclass(frozen=True)
class _Endpoint:
    """A probe source or destination after lookup."""

    pod: Pod | None = None
    container: str = ""
    running: bool = True
    why_not: str = ""
    address: str = ""


class LiveLab(LiveServicesMixin, Lab):
    """The Lab API over a real cluster reached through a kubeconfig context."""

    backend = "live"
    owns_cluster = False
    """True for the course's own kind clusters: cluster-wide installs (ingress-nginx) are allowed there."""
    convergence_timeout = 30.0
    """Seconds ``check`` keeps re-probing while observed and expected differ."""

    def __init__(
        self, profile: str | CniProfile | None = None, *, kubeconfig: str | None = None, context: str | None = None,
        owns_default: bool = False, node_map: Callable[[str], str] | None = None, control_plane: str | None = None,
        workers: int = 16, quiet: bool = False,
    ) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        self.profile = get_profile(profile)
        self._configuration = client.Configuration()
        try:
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None, context=context,
                client_configuration=self._configuration, persist_config=False,
            )
        except (ConfigException, OSError, TypeError) as exc:
            where = kubeconfig or "the default kubeconfig"
            raise LabError(f"cannot load context {context or '(current)'} from {where}: {exc}") from None
        self.context = context
        self.kubeconfig = kubeconfig
        self._client_mod = client
        self.api = client.ApiClient(self._configuration)
        self.core = client.CoreV1Api(self.api)
        self._dyn: Any = None
        self._local = threading.local()
        self.owns_default = owns_default
        self.node_map = node_map
        self.control_plane = control_plane
        self.workers = workers
        self.quiet = quiet
        self._topology: Topology | None = None
        self._topology_keys: set[ObjectKey] = set()
        self._kinds: set[str] = {"NetworkPolicy"}
        self._canary: CanaryResult | None = None
        self._system_ns: set[str] = set()
        self._connections = {}

    # -- plumbing ------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text)

    @property
    def dyn(self) -> Any:
        if self._dyn is None:
            from kubernetes.dynamic import DynamicClient

            self._dyn = DynamicClient(self.api)
        return self._dyn

    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise LabError(f"this cluster does not serve {kind} ({api_version}); is its CRD installed?") from None

    def _thread_core(self) -> Any:
        # kubernetes.stream swaps ApiClient.call_api while it runs, so parallel execs need one
        # ApiClient per thread.
        core = getattr(self._local, "core", None)
        if core is None:
            core = self._client_mod.CoreV1Api(self._client_mod.ApiClient(self._configuration))
            self._local.core = core
        return core

    def _owned(self) -> set[str]:
        items = [ns for ns in self.core.list_namespace(label_selector=OWNER_SELECTOR).items if ns.status is None or ns.status.phase != "Terminating"]
        # Namespaces of components the lab installed (ingress-nginx): owned, but not the learner's.
        self._system_ns = {ns.metadata.name for ns in items if SYSTEM_ANNOTATION in (ns.metadata.annotations or {})}
        return {ns.metadata.name for ns in items}

    def _may_touch(self, namespace: str, owned: set[str]) -> bool:
        return namespace in owned or (self.owns_default and namespace == "default")

    def _refusal(self, namespace: str) -> str:
        return (
            f"namespace {namespace!r} is not owned by the course lab: the lab only changes namespaces it created "
            f"(labelled {OWNER_SELECTOR}); deploy a topology or apply a Namespace first"
        )

    # -- state ---------------------------------------------------------------------------------
    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        from kubernetes.client.rest import ApiException

        topo = load_topology(topology)  # type: ignore[arg-type]
        owned = self._owned()
        for ns in topo.namespaces:
            if ns.name in owned:
                continue
            try:
                existing = self.core.read_namespace(ns.name)
            except ApiException as exc:
                if exc.status != 404:
                    raise LabError(f"cannot read namespace {ns.name}: {exc.reason}") from None
                existing = None
            if existing is not None:
                if (existing.metadata.labels or {}).get(OWNER_LABEL) != OWNER_VALUE:
                    raise LabError(self._refusal(ns.name) + "; it exists already, so the topology cannot use that name here")
                self._wait_namespace_gone(ns.name)
        for ns in topo.namespaces:
            self._ssa(namespace_manifest(ns, topo.name))
        image = agnhost_image()
        for pod in topo.pods:
            body = pod_manifest(pod, image=image, node_name=self.node_map, control_plane=self.control_plane)
            self._replace_pod_if_changed(body)
            self._ssa(body)
        if topo.policies:
            self._topology_keys |= set(self.apply(list(topo.policies)))
        self._restore_readiness(topo.pods)
        self._wait_ready([p for p in topo.pods], timeout=READY_TIMEOUT)
        self._topology = topo
        return topo

    def _restore_readiness(self, pods: Sequence[Pod]) -> None:
        """Pods kept from an earlier deploy may have been ``set_ready`` since: back to what the topology says."""
        from kubernetes.client.rest import ApiException

        for pod in pods:
            try:
                current = self.core.read_namespaced_pod(pod.name, pod.namespace)
            except ApiException:
                continue  # just created (or gone): it starts as the topology declares
            container = (current.metadata.annotations or {}).get(READINESS_ANNOTATION)
            running = current.status is not None and current.status.phase == "Running"
            if container and running and _pod_state(current)[0] is not pod.ready:
                self._exec(pod.namespace, pod.name, container, set_ready_command(pod.ready))

    def _ssa(self, body: dict[str, Any], *, dry_run: bool = False) -> Any:
        meta = body.get("metadata") or {}
        res = self._resource(str(body["apiVersion"]), str(body["kind"]))
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
        if dry_run:
            kwargs["dry_run"] = "All"
        if res.namespaced:
            kwargs["namespace"] = meta.get("namespace") or "default"
        return res.server_side_apply(body=body, name=meta.get("name"), **kwargs)

    def _replace_pod_if_changed(self, body: dict[str, Any]) -> None:
        from kubernetes.client.rest import ApiException

        meta = body["metadata"]
        try:
            current = self.core.read_namespaced_pod(meta["name"], meta["namespace"])
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        want = meta["annotations"][SPEC_ANNOTATION]
        have = (current.metadata.annotations or {}).get(SPEC_ANNOTATION)
        if have != want:  # pod specs are immutable: recreate
            self.core.delete_namespaced_pod(meta["name"], meta["namespace"], grace_period_seconds=0)
            self._wait_gone(lambda: self.core.read_namespaced_pod(meta["name"], meta["namespace"]), 90)

    def _wait_gone(self, read: Callable[[], Any], timeout: float) -> None:
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

    def _wait_namespace_gone(self, name: str, timeout: float = 180) -> None:
        self._wait_gone(lambda: self.core.read_namespace(name), timeout)

    def _wait_ready(self, pods: Sequence[Pod], timeout: float) -> None:
        want = {p.ref: p.ready for p in pods}
        if not want:
            return
        namespaces = sorted({r.namespace for r in want})
        started = time.monotonic()
        self._say(f"netlab: waiting for {len(want)} pods in {', '.join(namespaces)} to be ready")
        pending: dict[PodRef, str] = {}
        while True:
            pending = {}
            seen: dict[PodRef, Any] = {}
            for ns in namespaces:
                for p in self.core.list_namespaced_pod(ns).items:
                    seen[PodRef(ns, p.metadata.name)] = p
            for ref, must_be_ready in want.items():
                p = seen.get(ref)
                if p is None:
                    pending[ref] = "not created"
                    continue
                ready, why = _pod_state(p)
                running = p.status.phase == "Running"
                if (must_be_ready and not ready) or (not must_be_ready and not running):
                    pending[ref] = why
            if not pending:
                self._say(f"netlab: {len(want)} pods ready after {time.monotonic() - started:.0f}s")
                return
            if time.monotonic() - started > timeout:
                detail = "; ".join(f"{r}: {w}" for r, w in sorted(pending.items())[:8])
                raise LabError(
                    f"{len(pending)} pod(s) not ready after {timeout:.0f}s ({detail}). ImagePullBackOff means the node "
                    "cannot pull agnhost (`netlab up` pre-loads it); Pending means no node fits (`kubectl describe pod`)."
                )
            time.sleep(1.5)

    def apply(self, manifests: ManifestSource, *, namespace: str = "default") -> list[ObjectKey]:
        from kubernetes.client.rest import ApiException

        parsed = parse_manifests(manifests, default_namespace=namespace)
        owned = self._owned()
        pending_ns = {m.obj.name for m in parsed if m.key.kind == "Namespace"}
        problems: list[FieldProblem] = []
        for m in parsed:
            if m.key.kind == "Namespace":
                if m.key.name not in owned and self._namespace_exists(m.key.name):
                    problems.append(FieldProblem(str(m.key), "metadata.name", self._refusal(m.key.name)))
            elif m.key.namespace and not self._may_touch(m.key.namespace, owned) and m.key.namespace not in pending_ns:
                if self._namespace_exists(m.key.namespace):
                    problems.append(FieldProblem(str(m.key), "metadata.namespace", self._refusal(m.key.namespace)))
                else:
                    problems.append(FieldProblem(str(m.key), "metadata.namespace", f'namespaces "{m.key.namespace}" not found: create the namespace first'))
        if problems:
            raise ManifestError(problems)
        bodies = [(m, self._owned_body(m)) for m in sorted(parsed, key=lambda m: m.key.kind != "Namespace")]
        for m, body in bodies:  # dry run: the server validates everything before anything changes
            if m.key.namespace in pending_ns and m.key.kind != "Namespace":
                continue  # its namespace does not exist until the real pass
            try:
                self._ssa(body, dry_run=True)
            except ApiException as exc:
                problems.extend(api_error_problems(exc.status, exc.body, str(m.key)))
        if problems:
            raise ManifestError(problems)
        for m, body in bodies:
            try:
                self._ssa(body)
            except ApiException as exc:
                raise ManifestError(api_error_problems(exc.status, exc.body, str(m.key))) from None
            self._kinds.add(m.key.kind)
        return [m.key for m in parsed]

    def _namespace_exists(self, name: str) -> bool:
        from kubernetes.client.rest import ApiException

        try:
            self.core.read_namespace(name)
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise

    @staticmethod
    def _owned_body(m: Manifest) -> dict[str, Any]:
        body = copy.deepcopy(m.body)
        body.pop("status", None)
        meta = body.setdefault("metadata", {})
        meta.setdefault("labels", {})
        meta["labels"] = {**(meta["labels"] or {}), OWNER_LABEL: OWNER_VALUE}
        return expand_agnhost(body)

    def delete(self, what: ManifestSource | ObjectKey | str | Iterable[ObjectKey | str], *, missing_ok: bool = False) -> list[ObjectKey]:
        from kubernetes.dynamic.exceptions import NotFoundError

        keys = self._keys_of(what)
        owned = self._owned()
        for key in keys:
            ns = key.name if key.kind == "Namespace" else key.namespace
            if ns in INTERNAL_NAMESPACES or not (ns in owned or (key.kind != "Namespace" and self._may_touch(ns, owned))):
                raise LabError(self._refusal(ns))
        deleted = []
        for key in keys:
            res = self._resource(_api_version_of(key.kind), key.kind)
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

    def label(self, target: str, labels: Mapping[str, str | None]) -> None:
        if OWNER_LABEL in labels:
            raise LabError(f"{OWNER_LABEL} marks what the course owns; the lab does not change it")
        owned = self._owned()
        body = {"metadata": {"labels": dict(labels)}}
        if target.startswith("namespace/"):
            name = target.split("/", 1)[1]
            if name not in owned:
                raise LabError(self._refusal(name))
            self.core.patch_namespace(name, body, _content_type=MERGE_PATCH)
            return
        ref = PodRef.parse(target)
        if not self._may_touch(ref.namespace, owned):
            raise LabError(self._refusal(ref.namespace))
        self.core.patch_namespaced_pod(ref.name, ref.namespace, body, _content_type=MERGE_PATCH)

    def reset(self, *, keep_topology: bool = False) -> None:
        owned = self._owned()
        if keep_topology and self._topology is not None:
            self._reset_to_topology(owned)
            return
        self._close_all_connections()
        for name in sorted(owned):
            self.core.delete_namespace(name)
        if self.owns_cluster:
            for api_version, kind in CLUSTER_SCOPED_SYSTEM:
                try:
                    self._resource(api_version, kind).delete(label_selector=OWNER_SELECTOR)
                except (LabError, Exception):  # nothing of that kind was ever created
                    pass
        if self.owns_default:
            for kind in sorted(self._kinds | {"Pod"}):
                res = self._resource(_api_version_of(kind), kind)
                if res.namespaced:
                    res.delete(namespace="default", label_selector=OWNER_SELECTOR)
        for name in sorted(owned):
            self._wait_namespace_gone(name)
        self._topology = None
        self._topology_keys = set()

    def _close_all_connections(self) -> None:
        for conn_id in list(self._connections):
            try:
                self.close_connection(conn_id)
            except Exception:  # the pod (and the process in it) may be gone already
                self._connections.pop(conn_id, None)

    def _reset_to_topology(self, owned: set[str]) -> None:
        topo = self._topology
        assert topo is not None
        self._close_all_connections()
        topo_ns = {ns.name for ns in topo.namespaces}
        for key in self.objects():
            if key in self._topology_keys:
                continue
            if key.kind == "Namespace":
                if key.name not in topo_ns:
                    self.core.delete_namespace(key.name)
                continue
            self.delete([key], missing_ok=True)
        topo_pods = {p.ref for p in topo.pods}
        for pod in self.pods():
            if pod.ref not in topo_pods and pod.namespace in topo_ns:
                self.core.delete_namespaced_pod(pod.name, pod.namespace, grace_period_seconds=0)
        for ns in topo.namespaces:  # restore labels a lesson changed
            current = self.core.read_namespace(ns.name).metadata.labels or {}
            want = dict(namespace_manifest(ns)["metadata"]["labels"])
            changes: dict[str, str | None] = {k: None for k in current if k not in want and k != "kubernetes.io/metadata.name"}
            changes.update(want)
            self.core.patch_namespace(ns.name, {"metadata": {"labels": changes}}, _content_type=MERGE_PATCH)
        for pod in topo.pods:
            current_pod = self.core.read_namespaced_pod(pod.name, pod.namespace)
            current_labels = current_pod.metadata.labels or {}
            pod_changes: dict[str, str | None] = {k: None for k in current_labels if k not in pod.labels}
            pod_changes.update(dict(pod.labels.items()))
            self.core.patch_namespaced_pod(pod.name, pod.namespace, {"metadata": {"labels": pod_changes}}, _content_type=MERGE_PATCH)
        self._restore_readiness(topo.pods)

    def pods(self, namespace: str | None = None) -> list[Pod]:
        if namespace is not None:
            items = self.core.list_namespaced_pod(namespace).items
        else:
            owned = self._owned() - set(INTERNAL_NAMESPACES)
            items = [p for ns in sorted(owned - self._system_ns) for p in self.core.list_namespaced_pod(ns).items]
        return sorted((_model_pod(p) for p in items), key=lambda p: p.ref)

    def namespaces(self) -> list[Namespace]:
        out = [Namespace(ns.metadata.name, Labels(ns.metadata.labels or {})) for ns in self.core.list_namespace().items]
        return sorted(out, key=lambda n: n.name)

    def objects(self, kind: str | None = None) -> list[ObjectKey]:
        owned = self._owned()
        kinds = sorted({kind} if kind else self._kinds | {"Namespace"})
        keys: list[ObjectKey] = []
        for k in kinds:
            res = self._resource(_api_version_of(k), k)
            for item in res.get(label_selector=OWNER_SELECTOR).items:
                meta = item.metadata
                if k == "Namespace":
                    annotations = meta.annotations or {}
                    if meta.name not in INTERNAL_NAMESPACES and TOPOLOGY_ANNOTATION not in annotations and SYSTEM_ANNOTATION not in annotations:
                        keys.append(ObjectKey("Namespace", "", meta.name))
                elif self._may_touch(meta.namespace or "", owned) and meta.namespace not in self._system_ns:
                    keys.append(ObjectKey(k, meta.namespace or "", meta.name))
        return sorted(keys)

    # -- probes --------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        pods = {}
        for ns in sorted(self._owned()):
            for p in self.core.list_namespaced_pod(ns).items:
                pods[f"{ns}/{p.metadata.name}"] = p
        return pods

    def _lookup_pod(self, name: str, snapshot: Mapping[str, Any] | None) -> Any:
        from kubernetes.client.rest import ApiException

        if snapshot is not None and name in snapshot:
            return snapshot[name]
        ref = PodRef.parse(name)
        try:
            return self.core.read_namespaced_pod(ref.name, ref.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _source(self, name: str, snapshot: Mapping[str, Any] | None) -> _Endpoint:
        if name.startswith("node:"):
            pod = self._node_probe_pod(name[5:])
            return _Endpoint(None, "probe", True, "", "") if pod is None else _Endpoint(_model_pod(pod), "probe", pod.status.phase == "Running", "")
        if "/" not in name:
            return _Endpoint(running=False, why_not=f"unknown source {name!r}: on a live cluster probes start from a pod ('namespace/pod'), a node ('node:<name>') or 'host' (this machine)")
        p = self._lookup_pod(name, snapshot)
        if p is None:
            return _Endpoint(running=False, why_not=f"no pod {name}")
        ready, why = _pod_state(p)
        running = p.status.phase == "Running" and all(cs.ready or cs.started for cs in (p.status.container_statuses or []))
        container = p.spec.containers[0].name
        return _Endpoint(_model_pod(p), container, running, "" if running else f"pod {name} is not running ({why})")

    def _node_probe_pod(self, node: str) -> Any:
        from kubernetes.client.rest import ApiException

        real = self.node_map(node) if self.node_map else node
        body = probe_pod_manifest(real, PROBE_NAMESPACE)
        name = body["metadata"]["name"]
        try:
            return self.core.read_namespaced_pod(name, PROBE_NAMESPACE)
        except ApiException as exc:
            if exc.status != 404:
                raise
        self._ssa(namespace_manifest(Namespace(PROBE_NAMESPACE)))
        self._ssa(body)
        ref = Pod(PROBE_NAMESPACE, name)
        self._wait_ready([ref], timeout=120)
        return self.core.read_namespaced_pod(name, PROBE_NAMESPACE)

    def _destination(self, name: str, snapshot: Mapping[str, Any] | None) -> tuple[str | None, Pod | None, str]:
        """(address to dial, destination pod if any, failure reason)."""
        if name.startswith("node:"):
            real = self.node_map(name[5:]) if self.node_map else name[5:]
            for node in self.core.list_node().items:
                if node.metadata.name == real:
                    ip = next((a.address for a in node.status.addresses or [] if a.type == "InternalIP"), None)
                    return ip, None, "" if ip else f"node {real} has no InternalIP"
            return None, None, f"no node {real}"
        if "/" in name:
            p = self._lookup_pod(name, snapshot)
            if p is None:
                return None, None, f"no pod {name}"
            pod = _model_pod(p)
            if pod.ip is None:
                return None, pod, f"pod {name} has no IP yet ({_pod_state(p)[1]})"
            return str(pod.ip), pod, ""
        return name, None, ""  # an IP or a DNS name: the source pod resolves it, as an app would

    def _exec(self, namespace: str, pod: str, container: str, command: list[str], timeout: float = EXEC_TIMEOUT) -> tuple[int | None, str, str, str]:
        """(exit code or None, stdout, stderr, exec error)."""
        from kubernetes.client.rest import ApiException
        from kubernetes.stream import stream

        try:
            ws = stream(
                self._thread_core().connect_get_namespaced_pod_exec, pod, namespace, container=container, command=command,
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False,
            )
        except ApiException as exc:
            return None, "", "", f"exec refused by the API server ({exc.status} {exc.reason})"
        except Exception as exc:  # websocket handshake errors surface as various types
            return None, "", "", f"exec failed: {type(exc).__name__}: {exc}"
        try:
            ws.run_forever(timeout=timeout)
            if ws.is_open():
                return None, "", "", f"the exec did not finish within {timeout:.0f}s"
            out, err, status = ws.read_channel(1), ws.read_channel(2), ws.read_channel(3)
        finally:
            ws.close()
        code, message = parse_exec_status(status)
        return code, out, err, "" if code is not None else message

    @staticmethod
    def _port(pod: Pod | None, port: PortSpec, protocol: Protocol) -> int | None:
        if port is None:
            served = [c for c in (pod.ports if pod else ()) if c.protocol == protocol]
            return served[0].port if served else None
        if isinstance(port, int):
            return port
        if port.isdigit():
            return int(port)
        named = pod.named_port(port, protocol) if pod else None
        return named.port if named else None

    def probe(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> ProbeResult:
        return self._probe(source, destination, port, Protocol.parse(protocol), None)

    def _probe(self, source: str, destination: str, port: PortSpec, proto: Protocol, snapshot: Mapping[str, Any] | None) -> ProbeResult:
        probe = Probe(source, destination, port, proto)
        node_port = _NODE_PORT.fullmatch(destination)
        if node_port:  # node:<name>:<nodePort>, as the simulated cluster accepts it
            destination, port = f"node:{node_port.group(1)}", int(node_port.group(2))
        if source == "host":
            return self._probe_from_host(probe, destination, port, proto, snapshot)
        try:
            src = self._source(source, snapshot)
            if not src.running or src.pod is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, src.why_not or f"no probe pod for {source}")
            address, dst_pod, why = self._destination(destination, snapshot)
            if address is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, why)
            number = self._port(dst_pod, port, proto)
            if number is None:
                return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {destination}")
            command = connect_command(address, number, proto)
            code, out, err, exec_error = self._exec(src.pod.namespace, src.pod.name, src.container, command)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        except Exception as exc:  # API errors while looking things up: the probe did not run
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the probe could not run: {type(exc).__name__}: {exc}")
        verdict, reason = verdict_from_connect(code, err, out, exec_error)
        shown = f"agnhost connect {host_port(address, number)} --protocol={proto.value.lower()}"
        hops = (Hop("probe", f"{source}: {shown}"), Hop("result", (err or out).strip() or f"exit {code}"))
        answered = str(dst_pod.ref) if verdict is Verdict.ALLOWED and dst_pod is not None else None
        ran = in_pod(connect(address, number, proto), src.pod.namespace, src.pod.name)  # the argv above, as a line to type
        return ProbeResult(probe, verdict, reason, answered_by=answered, loopback=source == destination, hops=hops, command=ran)

    def _probe_from_host(self, probe: Probe, destination: str, port: PortSpec, proto: Protocol, snapshot: Mapping[str, Any] | None) -> ProbeResult:
        """``host`` is the learner's machine: a connection made by this Python process (``grader.kind.hostnet``)."""
        try:
            address, dst_pod, why = self._destination(destination, snapshot)
        except Exception as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"the probe could not run: {type(exc).__name__}: {exc}")
        if address is None:
            return ProbeResult(probe, Verdict.PROBE_FAILED, why)
        number = self._port(dst_pod, port, proto)
        if number is None:
            return ProbeResult(probe, Verdict.PROBE_FAILED, f"port {port!r} does not name a {proto} port of {probe.destination}")
        verdict, reason, _ = l4_probe(address, number, proto)
        answered = str(dst_pod.ref) if verdict is Verdict.ALLOWED and dst_pod is not None else None
        hops = (Hop("probe", f"host: {proto} connection to {host_port(address, number)} from this machine"),)
        return ProbeResult(probe, verdict, reason, answered_by=answered, hops=hops)

    def probe_all(self, probes: Iterable[Probe]) -> list[ProbeResult]:
        items = list(probes)
        snapshot = self._snapshot()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda p: self._probe(p.source, p.destination, p.port, Protocol.parse(p.protocol), snapshot), items))

    def probe_http(
        self, source: str, destination: str, port: int = 80, path: str = "/hostname", *, host: str | None = None,
        https: bool = False, insecure: bool = True, timeout: float = 3.0,
    ) -> ProbeResult:
        """An HTTP(S) request to a lab endpoint (``ns/pod``, ``node:<name>``, an address or a name):
        ``host`` sets the Host header and the SNI name while the connection stays on ``destination``.
        Certificates are never verified while connecting; pass ``ca`` to ``http()`` to check them."""
        address, _, why = self._destination(destination, None)
        if address is None:
            return ProbeResult(Probe(source, destination, port, Protocol.TCP), Verdict.PROBE_FAILED, why)
        scheme = "https" if https else "http"
        url = f"{scheme}://{host_port(host or address, port)}{path}"
        return self.http(source, url, resolve=address if host else None)

    def probe_client_ip(self, source: str, destination: str, port: int = 80) -> ProbeResult:
        """Which source address the server saw (agnhost netexec ``/clientip``): SNAT lessons."""
        return self.probe_http(source, destination, port, "/clientip")

    def matrix(
        self, port: int | str, protocol: Protocol | str = Protocol.TCP, *,
        sources: Sequence[str] | None = None, destinations: Sequence[str] | None = None,
        namespaces: Sequence[str] | None = None,
    ) -> ReachabilityMatrix:
        proto = Protocol.parse(protocol)
        snapshot = self._snapshot()
        hidden = set(INTERNAL_NAMESPACES) | self._system_ns
        default = sorted(n for n in snapshot if n.split("/")[0] not in hidden and (namespaces is None or n.split("/")[0] in namespaces))
        srcs = tuple(sorted(sources if sources is not None else default))
        dsts = tuple(sorted(destinations if destinations is not None else default))
        cells = [(s, d) for s in srcs for d in dsts]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            results = list(pool.map(lambda c: self._probe(c[0], c[1], port, proto, snapshot), cells))
        return ReachabilityMatrix(port, proto, srcs, dsts, dict(zip(cells, results, strict=True)))

    def check(self, expected: Reachability, *, timeout: float | None = None) -> Comparison:
        """Observe until the expectation holds or ``timeout`` (default 30 s) passes, logging retries.

        When the expectation has any BLOCKED cell, the enforcement canary runs first (once per
        lab): a cluster whose CNI ignores NetworkPolicy raises a clear LabError instead of
        grading every policy exercise as wrong.
        """
        if any(v is Verdict.BLOCKED for _, v in expected.items()):
            self.require_enforcement()
        port = expected.port if expected.port is not None else 80

        def observe() -> Comparison:
            return expected.compare(self.matrix(port, expected.protocol, sources=expected.sources, destinations=expected.destinations))

        comparison, _ = converge(observe, timeout=self.convergence_timeout if timeout is None else timeout, log=self._say)
        return comparison

    # -- enforcement canary ----------------------------------------------------------------------
    def canary(self, timeout: float = 30.0) -> CanaryResult:
        """Does this cluster enforce NetworkPolicy? A default-deny ingress policy in a scratch
        namespace must turn an allowed connection into a blocked one within ``timeout`` seconds."""
        started = time.monotonic()
        ns = CANARY_NAMESPACE
        server = Pod(ns, "server", Labels({"role": "server"}), ports=(ContainerPort(80, Protocol.TCP, "http"),))
        client = Pod(ns, "client", Labels({"role": "client"}))
        try:
            self._ssa(namespace_manifest(Namespace(ns)))
            for pod in (server, client):
                self._ssa(pod_manifest(pod))
            self._wait_ready([server, client], timeout=120)
            before = self.probe(f"{ns}/client", f"{ns}/server", 80)
            if before.verdict is not Verdict.ALLOWED:
                return CanaryResult(None, time.monotonic() - started,
                                    f"the canary could not connect even without any policy ({before.verdict.name}: {before.reason}); pod networking is broken")
            self._ssa({
                "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", "namespace": ns, "labels": {OWNER_LABEL: OWNER_VALUE}},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
            })
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                after = self.probe(f"{ns}/client", f"{ns}/server", 80)
                if after.verdict is Verdict.BLOCKED:
                    return CanaryResult(True, time.monotonic() - started, f"NetworkPolicy enforced (default-deny took effect; canary {time.monotonic() - started:.0f}s)")
                time.sleep(1)
            return CanaryResult(False, time.monotonic() - started, (
                f"NetworkPolicy is NOT enforced on this cluster: a default-deny ingress policy did not block traffic within {timeout:.0f}s. "
                "Policy exercises cannot be graded here. On kind, use kind >= v0.24 (kindnet enforces since then) or a Calico/Cilium "
                "profile; on your own cluster, enable a network policy engine (AKS: --network-policy cilium or calico)."
            ))
        finally:
            try:
                self.core.delete_namespace(ns)
            except Exception:  # cleanup is best effort; the next canary re-applies everything
                pass

    def require_enforcement(self) -> CanaryResult:
        if self._canary is None or self._canary.enforced is not True:
            self._canary = self.canary()
            self._say(f"netlab: enforcement canary: {self._canary.message}")
        if self._canary.enforced is not True:
            raise LabError(self._canary.message)
        return self._canary


class KindLab(ExternalHostsMixin, LiveLab):
    """A course-owned kind cluster for ``profile``: created on first use, reused afterwards, with
    the lab's external hosts next to it (``grader.kind.external``, ``grader.kind.external_api``)."""

    backend = "kind"
    owns_cluster = True

    def __init__(self, profile: str | CniProfile | None = None, *, cluster: Any = None, create: bool = True, progress: bool = True) -> None:
        from .cluster import KindCluster

        self.cluster = cluster or KindCluster(profile, progress=progress)
        if create:
            self.cluster.ensure()
        super().__init__(
            self.cluster.profile, kubeconfig=str(self.cluster.kubeconfig), context=self.cluster.context, owns_default=True,
            node_map=self.cluster.node_name, control_plane=self.cluster.control_plane,
        )

    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        topo = super().deploy(topology)
        self._routes_checked = float("-inf")  # new pods may sit in new Calico blocks (calico-bgp)
        return topo

    def reset(self, *, keep_topology: bool = False) -> None:
        super().reset(keep_topology=keep_topology)
        self._forget_external()

    def teardown(self) -> None:
        """Delete the cluster (clusters are kept between sessions otherwise)."""
        self.cluster.delete()


class ClusterLab(LiveLab):
    """Bring your own cluster: any kubeconfig context. Touches only namespaces it creates."""

    backend = "cluster"

    def __init__(self, context: str, *, kubeconfig: str | None = None, profile: str | CniProfile | None = None, quiet: bool = False) -> None:
        super().__init__(profile, kubeconfig=kubeconfig, context=context, owns_default=False, quiet=quiet)
        self.cni = detect_cni(self._daemonsets())
        if profile is None:
            self.profile = get_profile(self.cni.profile)
        self._say(f"netlab: context {context}: CNI {self.cni.name} ({self.cni.note}); semantics of profile {self.profile.name}")

    def _daemonsets(self) -> list[str]:
        from kubernetes.client.rest import ApiException

        apps = self._client_mod.AppsV1Api(self.api)
        try:
            return sorted(f"{d.metadata.namespace}/{d.metadata.name}" for d in apps.list_daemon_set_for_all_namespaces().items)
        except ApiException:
            return []


__all__ = ["CanaryResult", "ClusterLab", "CniInfo", "KindLab", "LiveLab", "detect_cni"]
