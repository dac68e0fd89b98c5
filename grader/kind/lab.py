"""The live Lab: the same API as the simulated cluster, answered by a real cluster.

* :class:`KindLab` — a course-owned kind cluster for a CNI profile (created or reused by
  :class:`~grader.kind.cluster.KindCluster`), with the lab's external hosts next to it.
* :class:`ClusterLab` — bring your own cluster: any kubeconfig context (e.g. an AKS cluster with
  Azure CNI powered by Cilium). It detects the CNI and whether it enforces NetworkPolicy, and it
  only ever touches namespaces it created.

:class:`LiveLab` composes small parts, each with declared collaborators:

* ``kube`` (:mod:`.kubeapi`) — the API clients of one kubeconfig context;
* ``applier`` (:mod:`.apply`) — the ownership rule, server-side apply with field manager ``netlab``
  (after a dry run of every object, so a batch is applied whole or not at all), waits;
* ``prober`` (:mod:`.probe`) — probes that exec ``agnhost connect`` in the source pod, as
  upstream e2e does, in parallel;
* ``canary_check`` (:mod:`.canary`) — whether the cluster enforces NetworkPolicy at all;
* ``service_calls`` (:mod:`.services_api`), ``controllers`` (:mod:`.controllers_api`) and
  ``live_connections`` (:mod:`.live_connections`);
* ``outside`` (:mod:`.external_api`) — the machines outside the cluster (none on a cluster you brought).

Ownership rule: every namespace the lab creates carries ``app.kubernetes.io/managed-by=netlab``.
``apply``, ``delete``, ``label`` and ``reset`` refuse anything outside such namespaces (on a
course kind cluster, objects the lab itself labelled in ``default`` are allowed too, because
lessons written for the simulated cluster apply there by default).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cni import CniProfile, get_profile
from ..dns import Lookup
from ..errors import LabError
from ..lab.base import Cell, Lab, PortSpec
from ..lab.results import ServiceList
from ..manifests import ManifestSource, ObjectKey
from ..model import ExternalHost, Labels, Namespace, Pod, Protocol
from ..reachability import Comparison, Probe, ProbeResult, Reachability, Verdict
from ..reachability.commands import host_port
from ..reachability.endpoints import NamespaceName, label_target
from ..services import Distribution, EndpointsInfo
from ..topology import Topology, load_topology
from .apply import INTERNAL_NAMESPACES, Applier
from .canary import Canary, CanaryResult
from .connections import LiveConnection
from .controllers_api import LiveControllers
from .external_api import LabOutside, NoOutside, Outside
from .ingress_nginx import SYSTEM_ANNOTATION
from .kubeapi import (
    EXEC_TIMEOUT,
    MERGE_PATCH,
    ExecResult,
    KubeApi,
    api_version_of,
    model_pod,
    pod_state,
)
from .live_connections import LiveConnections
from .probe import Prober
from .probing import converge
from .services_api import LiveServices
from .workloads import (
    OWNER_LABEL,
    OWNER_SELECTOR,
    OWNER_VALUE,
    READINESS_ANNOTATION,
    TOPOLOGY_ANNOTATION,
    agnhost_image,
    namespace_manifest,
    pod_manifest,
    set_ready_command,
)

READY_TIMEOUT = 240.0
CLUSTER_SCOPED_SYSTEM = (
    ("networking.k8s.io/v1", "IngressClass"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
)
"""Cluster-wide kinds the lab creates (ingress-nginx) and a full ``reset()`` removes again (owner label only)."""
NO_NSG = ("network security groups are an Azure model and kind has no NSG: use the simulated cluster "
          "(connect(backend='sim')) for NSG lessons; on kind the analogues are node-level filtering and a "
          "Service's loadBalancerSourceRanges")


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


class LiveLab(Lab):
    """The Lab API over a real cluster reached through a kubeconfig context."""

    backend = "live"
    owns_cluster = False
    """True for the course's own kind clusters: cluster-wide installs (ingress-nginx) are allowed there."""
    convergence_timeout = 30.0
    """Seconds ``check`` keeps re-probing while observed and expected differ."""

    def __init__(
        self, profile: str | CniProfile | None = None, *, kubeconfig: str | None = None, context: str | None = None,
        owns_default: bool = False, node_map: Callable[[str], str] | None = None, control_plane: str | None = None,
        workers: int = 16, quiet: bool = False, outside: Outside | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        self.kube = KubeApi(kubeconfig=kubeconfig, context=context)
        self.context = context
        self.kubeconfig = kubeconfig
        self.node_map = node_map
        self.control_plane = control_plane
        self.quiet = quiet
        self.outside: Outside = outside or NoOutside()
        self.applier = Applier(self.kube, owns_default=owns_default, say=self._say)
        self.prober = Prober(self.kube, self.applier, self._exec, self.outside, node_map=node_map, workers=workers)
        self.canary_check = Canary(self.applier, self.probe, self._say)
        self.service_calls = LiveServices(self.kube, self.applier, self.prober, self._exec, self.outside)
        self.controllers = LiveControllers(self.kube, self.applier, self._say, owns_cluster=self.owns_cluster, control_plane=control_plane)
        self.live_connections = LiveConnections(self.prober, self._exec, self.service_calls.l4_target, self.service_calls.pod_named)
        self._topology: Topology | None = None
        self._topology_keys: set[ObjectKey] = set()

    def _say(self, text: str) -> None:
        if not self.quiet:
            print(text)

    def _exec(self, namespace: str, pod: str, container: str, command: list[str], timeout: float = EXEC_TIMEOUT) -> ExecResult:
        """Run ``command`` in a container (every part of the lab execs through here)."""
        return self.kube.exec(namespace, pod, container, command, timeout)

    # -- state ---------------------------------------------------------------------------------
    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        from kubernetes.client.rest import ApiException

        topo = load_topology(topology)
        owned = self.applier.owned()
        for ns in topo.namespaces:
            if ns.name in owned:
                continue
            try:
                existing = self.kube.core.read_namespace(ns.name)
            except ApiException as exc:
                if exc.status != 404:
                    raise LabError(f"cannot read namespace {ns.name}: {exc.reason}") from None
                existing = None
            if existing is not None:
                if (existing.metadata.labels or {}).get(OWNER_LABEL) != OWNER_VALUE:
                    raise LabError(self.applier.refusal(ns.name) + "; it exists already, so the topology cannot use that name here")
                self.applier.wait_namespace_gone(ns.name)
        for ns in topo.namespaces:
            self.applier.ssa(namespace_manifest(ns, topo.name))
        image = agnhost_image()
        for pod in topo.pods:
            body = pod_manifest(pod, image=image, node_name=self.node_map, control_plane=self.control_plane)
            self.applier.replace_pod_if_changed(body)
            self.applier.ssa(body)
        if topo.policies:
            self._topology_keys |= set(self.apply(list(topo.policies)))
        self._restore_readiness(topo.pods)
        self.applier.wait_ready([p for p in topo.pods], timeout=READY_TIMEOUT)
        self._topology = topo
        return topo

    def _restore_readiness(self, pods: Sequence[Pod]) -> None:
        """Pods kept from an earlier deploy may have been ``set_ready`` since: back to what the topology says."""
        from kubernetes.client.rest import ApiException

        for pod in pods:
            try:
                current = self.kube.core.read_namespaced_pod(pod.name, pod.namespace)
            except ApiException:
                continue  # just created (or gone): it starts as the topology declares
            container = (current.metadata.annotations or {}).get(READINESS_ANNOTATION)
            running = current.status is not None and current.status.phase == "Running"
            if container and running and pod_state(current)[0] is not pod.ready:
                self._exec(pod.namespace, pod.name, container, set_ready_command(pod.ready))

    def apply(self, manifests: ManifestSource, *, namespace: str = "default") -> list[ObjectKey]:
        return self.applier.apply(manifests, namespace=namespace)

    def delete(self, what: ManifestSource | ObjectKey | str | Iterable[ObjectKey | str], *, missing_ok: bool = False) -> list[ObjectKey]:
        return self.applier.delete(self._keys_of(what), missing_ok=missing_ok)

    def label(self, target: str, labels: Mapping[str, str | None]) -> None:
        if OWNER_LABEL in labels:
            raise LabError(f"{OWNER_LABEL} marks what the course owns; the lab does not change it")
        owned = self.applier.owned()
        body = {"metadata": {"labels": dict(labels)}}
        parsed = label_target(target)
        if isinstance(parsed, NamespaceName):
            if parsed.name not in owned:
                raise LabError(self.applier.refusal(parsed.name))
            self.kube.core.patch_namespace(parsed.name, body, _content_type=MERGE_PATCH)
            return
        ref = parsed.ref
        if not self.applier.may_touch(ref.namespace, owned):
            raise LabError(self.applier.refusal(ref.namespace))
        self.kube.core.patch_namespaced_pod(ref.name, ref.namespace, body, _content_type=MERGE_PATCH)

    def reset(self, *, keep_topology: bool = False) -> None:
        owned = self.applier.owned()
        if keep_topology and self._topology is not None:
            self._reset_to_topology(owned)
            return
        self.live_connections.close_all()
        for name in sorted(owned):
            self.kube.core.delete_namespace(name)
        if self.owns_cluster:
            for api_version, kind in CLUSTER_SCOPED_SYSTEM:
                try:
                    self.kube.resource(api_version, kind).delete(label_selector=OWNER_SELECTOR)
                except Exception:  # noqa: BLE001 - nothing of that kind was ever created
                    pass
        if self.applier.owns_default:
            for kind in sorted(self.applier.kinds | {"Pod"}):
                res = self.kube.resource(api_version_of(kind), kind)
                if res.namespaced:
                    res.delete(namespace="default", label_selector=OWNER_SELECTOR)
        for name in sorted(owned):
            self.applier.wait_namespace_gone(name)
        self._topology = None
        self._topology_keys = set()

    def _reset_to_topology(self, owned: set[str]) -> None:
        topo = self._topology
        assert topo is not None
        self.live_connections.close_all()
        topo_ns = {ns.name for ns in topo.namespaces}
        for key in self.objects():
            if key in self._topology_keys:
                continue
            if key.kind == "Namespace":
                if key.name not in topo_ns:
                    self.kube.core.delete_namespace(key.name)
                continue
            self.delete([key], missing_ok=True)
        topo_pods = {p.ref for p in topo.pods}
        for pod in self.pods():
            if pod.ref not in topo_pods and pod.namespace in topo_ns:
                self.kube.core.delete_namespaced_pod(pod.name, pod.namespace, grace_period_seconds=0)
        for ns in topo.namespaces:  # restore labels a lesson changed
            current = self.kube.core.read_namespace(ns.name).metadata.labels or {}
            want = dict(namespace_manifest(ns)["metadata"]["labels"])
            changes: dict[str, str | None] = {k: None for k in current if k not in want and k != "kubernetes.io/metadata.name"}
            changes.update(want)
            self.kube.core.patch_namespace(ns.name, {"metadata": {"labels": changes}}, _content_type=MERGE_PATCH)
        for pod in topo.pods:
            current_pod = self.kube.core.read_namespaced_pod(pod.name, pod.namespace)
            current_labels = current_pod.metadata.labels or {}
            pod_changes: dict[str, str | None] = {k: None for k in current_labels if k not in pod.labels}
            pod_changes.update(dict(pod.labels.items()))
            self.kube.core.patch_namespaced_pod(pod.name, pod.namespace, {"metadata": {"labels": pod_changes}}, _content_type=MERGE_PATCH)
        self._restore_readiness(topo.pods)

    def pods(self, namespace: str | None = None) -> list[Pod]:
        if namespace is not None:
            items = self.kube.core.list_namespaced_pod(namespace).items
        else:
            owned = self.applier.owned() - set(INTERNAL_NAMESPACES)
            items = [p for ns in sorted(owned - self.applier.system_namespaces) for p in self.kube.core.list_namespaced_pod(ns).items]
        return sorted((model_pod(p) for p in items), key=lambda p: p.ref)

    def namespaces(self) -> list[Namespace]:
        out = [Namespace(ns.metadata.name, Labels(ns.metadata.labels or {})) for ns in self.kube.core.list_namespace().items]
        return sorted(out, key=lambda n: n.name)

    def objects(self, kind: str | None = None) -> list[ObjectKey]:
        owned = self.applier.owned()
        kinds = sorted({kind} if kind else self.applier.kinds | {"Namespace"})
        keys: list[ObjectKey] = []
        for k in kinds:
            res = self.kube.resource(api_version_of(k), k)
            for item in res.get(label_selector=OWNER_SELECTOR).items:
                meta = item.metadata
                if k == "Namespace":
                    annotations = meta.annotations or {}
                    if meta.name not in INTERNAL_NAMESPACES and TOPOLOGY_ANNOTATION not in annotations and SYSTEM_ANNOTATION not in annotations:
                        keys.append(ObjectKey("Namespace", "", meta.name))
                elif self.applier.may_touch(meta.namespace or "", owned) and meta.namespace not in self.applier.system_namespaces:
                    keys.append(ObjectKey(k, meta.namespace or "", meta.name))
        return sorted(keys)

    def external_hosts(self) -> list[ExternalHost]:
        return self.outside.hosts()

    # -- probes --------------------------------------------------------------------------------
    def probe(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> ProbeResult:
        return self.prober.probe(source, destination, port, Protocol.parse(protocol))

    def probe_all(self, probes: Iterable[Probe]) -> list[ProbeResult]:
        return self.prober.probe_all(probes)

    def _probe_cells(self, cells: Sequence[Cell], port: PortSpec, protocol: Protocol) -> dict[Cell, ProbeResult]:
        return self.prober.probe_cells(cells, port, protocol)

    def probe_http(
        self, source: str, destination: str, port: int = 80, path: str = "/hostname", *, host: str | None = None,
        https: bool = False, insecure: bool = True, timeout: float = 3.0,
    ) -> ProbeResult:
        """An HTTP(S) request to a lab endpoint (``ns/pod``, ``node:<name>``, an address or a name):
        ``host`` sets the Host header and the SNI name while the connection stays on ``destination``.
        Certificates are never verified while connecting; pass ``ca`` to ``http()`` to check them."""
        address, _, why = self.prober.destination(destination, None)
        if address is None:
            return ProbeResult(Probe(source, destination, port, Protocol.TCP), Verdict.PROBE_FAILED, why)
        scheme = "https" if https else "http"
        url = f"{scheme}://{host_port(host or address, port)}{path}"
        return self.http(source, url, resolve=address if host else None)

    def probe_client_ip(self, source: str, destination: str, port: int = 80) -> ProbeResult:
        """Which source address the server saw (agnhost netexec ``/clientip``): SNAT lessons."""
        return self.probe_http(source, destination, port, "/clientip")

    def check(self, expected: Reachability, *, timeout: float | None = None) -> Comparison:
        """Observe until the expectation holds or ``timeout`` (default 30 s) passes, logging retries.

        When the expectation has any BLOCKED cell, the enforcement canary runs first (once per
        lab): a cluster whose CNI ignores NetworkPolicy raises a clear LabError instead of
        grading every policy exercise as wrong.
        """
        return super().check(expected, timeout=timeout)

    def _settle(self, expected: Reachability, observe: Callable[[], Comparison], timeout: float | None) -> Comparison:
        if any(v is Verdict.BLOCKED for _, v in expected.items()):
            self.require_enforcement()
        comparison, _ = converge(observe, timeout=self.convergence_timeout if timeout is None else timeout, log=self._say)
        return comparison

    # -- enforcement canary ----------------------------------------------------------------------
    def canary(self, timeout: float = 30.0) -> CanaryResult:
        """Does this cluster enforce NetworkPolicy? A default-deny ingress policy in a scratch
        namespace must turn an allowed connection into a blocked one within ``timeout`` seconds."""
        return self.canary_check.run(timeout)

    def require_enforcement(self) -> CanaryResult:
        return self.canary_check.require()

    # -- Services, DNS, HTTP, Ingress, Gateway (grader/kind/services_api.py) ---------------------------
    def http(
        self, source: str, url: str, *, host: str | None = None, sni: str | None = None, method: str = "GET",
        headers: Mapping[str, str] | None = None, ca: Any = None, resolve: str | None = None, now: dt.datetime | None = None,
    ) -> ProbeResult:
        return self.service_calls.http(source, url, host=host, sni=sni, method=method, headers=headers, ca=ca, resolve=resolve, now=now)

    def nslookup(self, source: str, name: str) -> Lookup:
        return self.service_calls.nslookup(source, name)

    def services(self, namespace: str | None = None) -> ServiceList:
        return self.service_calls.services(namespace)

    def endpoints(self, service: str) -> EndpointsInfo:
        return self.service_calls.endpoints(service)

    def distribution(
        self, source: str, destination: str, port: int | str | None = None, *, requests: int = 100,
        protocol: Protocol | str = Protocol.TCP, host: str | None = None, resolve: str | None = None,
    ) -> Distribution:
        return self.service_calls.distribution(source, destination, port, requests=requests, protocol=protocol, host=host, resolve=resolve)

    def set_ready(self, pod: str, ready: bool = True) -> None:
        self.service_calls.set_ready(pod, ready)

    def scale(self, deployment: str, replicas: int) -> list[str]:
        return self.service_calls.scale(deployment, replicas)

    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> str:
        return self.controllers.install_ingress_controller(name, default=default)

    def install_gateway_class(self, name: str = "approuting-istio") -> str:
        return self.controllers.install_gateway_class(name, kubeconfig=str(self.kubeconfig))

    def address(self, what: str, *, wait: float | None = None) -> str | None:
        """As the simulated cluster answers it; on a real cluster waits (up to 60 s by default, ``wait=0``
        not at all) for the controller to publish the address."""
        return self.controllers.address(what) if wait is None else self.controllers.address(what, wait=wait)

    def status(self, what: str) -> Any:
        return self.controllers.status(what)

    def node_ip(self, node: str) -> str:
        ip = self.prober.node_ip(node)
        if ip is None:
            raise LabError(f"node {self.prober.real_node(node)} has no InternalIP")
        return ip

    def cluster_ip(self, service: str) -> str | None:
        svc = self.service_calls.service(service)
        return str(svc.cluster_ip) if svc.cluster_ip is not None else None

    def node_ports(self, service: str) -> dict[str, int]:
        svc = self.service_calls.service(service)
        return {p.name or str(p.port): p.node_port for p in svc.ports if p.node_port is not None}

    # -- long-lived connections (grader/kind/live_connections.py) -------------------------------------
    def open_connection(self, source: str, destination: str, port: PortSpec = None, protocol: Protocol | str = Protocol.TCP) -> LiveConnection:
        return self.live_connections.open_connection(source, destination, port, protocol)

    def send(self, connection: Any) -> ProbeResult:
        return self.live_connections.send(connection)

    def close_connection(self, connection: Any) -> None:
        self.live_connections.close_connection(connection)

    def connections(self) -> list[LiveConnection]:
        return self.live_connections.connections()

    # -- Azure NSGs: a model only the simulated cluster has ----------------------------------------
    def attach_nsg(self, rules: object, *, to: str = "subnet", name: str | None = None) -> object:
        raise LabError(NO_NSG)

    def detach_nsg(self, to: str = "subnet") -> None:
        raise LabError(NO_NSG)

    def nsg_rules(self, to: str = "subnet") -> object:
        raise LabError(NO_NSG)


class KindLab(LiveLab):
    """A course-owned kind cluster for ``profile``: created on first use, reused afterwards, with
    the lab's external hosts next to it (``grader.kind.external``, ``grader.kind.external_api``)."""

    backend = "kind"
    owns_cluster = True

    def __init__(self, profile: str | CniProfile | None = None, *, cluster: Any = None, create: bool = True, progress: bool = True) -> None:
        from .cluster import KindCluster

        self.cluster = cluster or KindCluster(profile, progress=progress)
        if create:
            self.cluster.ensure()
        self.lab_outside = LabOutside(self.cluster, self.cluster.profile)
        """``host``, ``vm.internal`` and the internet hosts next to this cluster (``external_api.py``)."""
        super().__init__(
            self.cluster.profile, kubeconfig=str(self.cluster.kubeconfig), context=self.cluster.context, owns_default=True,
            node_map=self.cluster.node_name, control_plane=self.cluster.control_plane, outside=self.lab_outside,
        )

    def deploy(self, topology: str | Topology | Mapping[str, object] = "shop") -> Topology:
        topo = super().deploy(topology)
        self.lab_outside.routes_stale()
        return topo

    def reset(self, *, keep_topology: bool = False) -> None:
        super().reset(keep_topology=keep_topology)
        self.lab_outside.forget()

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
        self._say("netlab: on a cluster you brought the lab changes only namespaces it creates (manifests without a namespace need "
                  "one), and vm.internal, api.example.com and blocked.example.net do not exist: probes to them are PROBE_FAILED")

    def _daemonsets(self) -> list[str]:
        from kubernetes.client.rest import ApiException

        apps = self.kube.apps()
        try:
            return sorted(f"{d.metadata.namespace}/{d.metadata.name}" for d in apps.list_daemon_set_for_all_namespaces().items)
        except ApiException:
            return []


__all__ = ["CanaryResult", "ClusterLab", "CniInfo", "KindLab", "LiveLab", "detect_cni"]
