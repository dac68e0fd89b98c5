"""One kind cluster per CNI profile, with an idempotent lifecycle.

``KindCluster("calico-vxlan").ensure()``:

1. checks kind (>= v0.24, else kindnet would not enforce NetworkPolicy);
2. reuses ``netlab-calico-vxlan`` when it exists *and* its nodes carry ``netlab/profile=calico-vxlan``
   (set by the kind config at creation); a cluster of that name made for something else is an
   error, never silently reused or deleted;
3. otherwise creates it from ``kind-configs/calico-vxlan.yaml`` with the node image pinned by digest
   and the kubeconfig written to ``.netlab/`` (never ``~/.kube/config``);
4. finishes the set-up unless the marker ConfigMap ``kube-system/netlab-cluster`` says it is done
   (so an interrupted ``netlab up`` resumes): CNI, nodes Ready, agnhost pre-loaded,
   cloud-provider-kind running, the lab's external hosts; then writes the marker;
5. on every run, also when reused, makes sure the external hosts (``grader.kind.external``) run
   and are configured, and that the nodes and CoreDNS know them: containers stop with Docker and
   node routes go with a node restart, so they are checked each time (a few ``docker`` calls).

Clusters are kept between sessions (``keep`` by default); ``delete()`` is the explicit tear-down
(the external hosts go with the last course cluster).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..cni import CniProfile, get_profile
from ..errors import LabError
from ..facts import fact
from ._run import CommandError
from .configs import PROFILE_LABEL, cluster_name, kubeconfig_path, load_config, state_dir
from .external import ExternalHosts
from .external_layout import Layout, calico_routes
from .installers import Kubectl, ensure_cloud_provider_kind, install_calico, install_cilium, preload_image, pull_image
from .kindcli import CREATE_TIMEOUT, Kind, Version
from .progress import Progress, StepTime
from .workloads import agnhost_image

MARKER = ("kube-system", "netlab-cluster")
EXTERNAL_STEP = "start the lab's external hosts (vm.internal, api.example.com, blocked.example.net)"
CALICO_AFFINITIES = "blockaffinities.crd.projectcalico.org"


class SetupError(LabError):
    """A set-up step failed; the message names the step, the command's output and where the logs are."""


@dataclass(frozen=True, slots=True)
class NodeState:
    name: str
    ready: bool
    internal_ip: str
    profile_label: str | None


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    name: str
    profile: str
    exists: bool
    ready: bool
    """The set-up finished (marker written) and every node is Ready."""
    nodes: tuple[NodeState, ...] = ()
    kubeconfig: str = ""
    detail: str = ""

    def render(self) -> str:
        if not self.exists:
            return f"{self.name}: not created (netlab up --profile {self.profile})"
        ready = sum(n.ready for n in self.nodes)
        state = "ready" if self.ready else "not ready"
        extra = f"; {self.detail}" if self.detail else ""
        return f"{self.name}: {state}, {ready}/{len(self.nodes)} nodes Ready, kubeconfig {self.kubeconfig}{extra}"


def parse_nodes(doc: dict[str, Any] | None) -> tuple[NodeState, ...]:
    """``kubectl get nodes -o json`` -> node states, sorted by name."""
    out = []
    for item in (doc or {}).get("items") or []:
        meta = item.get("metadata") or {}
        status = item.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        ip = next((a.get("address", "") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), "")
        out.append(NodeState(str(meta.get("name", "")), ready, ip, (meta.get("labels") or {}).get(PROFILE_LABEL)))
    return tuple(sorted(out, key=lambda n: n.name))


def marker_manifest(profile: CniProfile, kind_version: str) -> dict[str, Any]:
    data = {
        "profile": profile.name,
        "cni": profile.cni,
        "node-image": str(fact("kind-node-image").value),
        "kind-version": kind_version,
    }
    if profile.cni == "calico":
        data["calico-version"] = str(fact("calico-version").value)
    if profile.cni == "cilium":
        data["cilium-version"] = str(fact("cilium-version").value)
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": MARKER[1], "namespace": MARKER[0], "labels": {"app.kubernetes.io/managed-by": "netlab"}},
        "data": data,
    }


class KindCluster:
    def __init__(
        self, profile: str | CniProfile | None = None, *, kind: Kind | None = None, kubectl: str = "kubectl",
        docker: str = "docker", helm: str = "helm", cilium: str = "cilium", progress: bool = True,
    ) -> None:
        self.profile = get_profile(profile)
        self.name = cluster_name(self.profile)
        self.kind = kind or Kind()
        self.docker, self.helm, self.cilium = docker, helm, cilium
        self.kubeconfig = kubeconfig_path(self.profile)
        self.context = f"kind-{self.name}"
        self.kubectl = Kubectl(self.kubeconfig, binary=kubectl, context=self.context)
        self.show_progress = progress
        self.create_timeout = CREATE_TIMEOUT
        """Seconds for ``kind create cluster`` once the node image is pulled."""
        self.step_times: list[StepTime] = []
        """The steps of the last ``ensure()`` with their times (``make conformance`` reports them)."""
        self.external = ExternalHosts(docker)
        """vm.internal, api.example.com, blocked.example.net (shared by every course cluster)."""

    # -- names -------------------------------------------------------------------------------
    @property
    def control_plane(self) -> str:
        return f"{self.name}-control-plane"

    def node_name(self, topology_node: str) -> str:
        """``kind-worker2`` (the simulated cluster's name) -> ``netlab-kindnet-worker2``."""
        if topology_node.startswith("kind-"):
            return f"{self.name}-{topology_node[len('kind-'):]}"
        return topology_node

    @property
    def logs_hint(self) -> str:
        return f"logs: `kind export logs --name {self.name}` (or `netlab status --profile {self.profile.name}`)"

    # -- queries -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.kind.exists(self.name)

    def _write_kubeconfig(self) -> None:
        text = self.kind.kubeconfig(self.name)
        self.kubeconfig.write_text(text, "utf-8")
        self.kubeconfig.chmod(0o600)

    def nodes(self) -> tuple[NodeState, ...]:
        return parse_nodes(self.kubectl.get_json("nodes"))

    def marker(self) -> dict[str, str] | None:
        doc = self.kubectl.get_json("configmap", MARKER[1], "-n", MARKER[0])
        return None if doc is None else dict(doc.get("data") or {})

    def status(self, *, exists: bool | None = None) -> ClusterStatus:
        if not (self.exists() if exists is None else exists):
            return ClusterStatus(self.name, self.profile.name, False, False)
        if not self.kubeconfig.is_file():
            self._write_kubeconfig()
        try:
            nodes = self.nodes()
            marker = self.marker()
        except CommandError as exc:
            return ClusterStatus(self.name, self.profile.name, True, False, (), str(self.kubeconfig), f"API server not reachable: {exc.stderr_tail or exc}")
        detail = "" if marker is not None else "set-up not finished (netlab up resumes it)"
        ready = marker is not None and bool(nodes) and all(n.ready for n in nodes)
        return ClusterStatus(self.name, self.profile.name, True, ready, nodes, str(self.kubeconfig), detail)

    def _check_profile(self, nodes: tuple[NodeState, ...]) -> None:
        wrong = sorted({n.profile_label or "(none)" for n in nodes if n.profile_label != self.profile.name})
        if wrong:
            raise LabError(
                f"a kind cluster named {self.name} exists but its nodes are labelled {PROFILE_LABEL}={', '.join(wrong)}, "
                f"not {self.profile.name}: it was not created by `netlab up --profile {self.profile.name}`. "
                f"netlab will not reuse or delete it; remove it yourself with `kind delete cluster --name {self.name}` if it is yours to remove."
            )

    # -- lifecycle ---------------------------------------------------------------------------
    def ensure(self, *, recreate: bool = False) -> ClusterStatus:
        """Reuse or create the cluster and finish its set-up. Idempotent; prints progress to stdout.

        A cluster left half-made by an interrupted ``kind create`` (node containers without a
        control plane: ``kind get kubeconfig`` fails) is deleted and created again; one whose API
        server does not answer is an error that says what to run."""
        version = self.kind.require_version()
        reused = self.exists()
        if recreate and reused:
            self.delete()
            reused = False
        if reused and self._half_made():
            print(f"netlab: kind cluster {self.name} was left half-made by an interrupted `netlab up`; deleting it and creating it again")
            self.delete()
            reused = False
        steps = self._steps(reused)
        progress = Progress(self.name, len(steps), enabled=self.show_progress, logs_hint=self.logs_hint)
        self.step_times = progress.times
        with progress:
            if reused:
                self._step(progress, "connect to the existing cluster", self._reconnect)
                if self.marker() is not None:
                    progress.write(f"netlab: reusing kind cluster {self.name} (kubeconfig {self.kubeconfig})")
                    self._step(progress, EXTERNAL_STEP, lambda: self.ensure_external_hosts())
                    return self.status(exists=True)
                progress.write(f"netlab: kind cluster {self.name} exists; finishing its set-up")
            for title, action in steps:
                self._step(progress, title, lambda action=action: action(version))
        return self.status(exists=True)

    def _half_made(self) -> bool:
        """kind lists a cluster as soon as its node containers exist (``kind get clusters`` reads
        container labels); its kubeconfig exists only once kubeadm init ran on the control plane."""
        try:
            self.kind.kubeconfig(self.name)
        except CommandError:
            return True
        return False

    def _reconnect(self) -> None:
        if not self.kubeconfig.is_file():
            self._write_kubeconfig()
        try:
            nodes = self.nodes()
        except CommandError as exc:
            raise LabError(
                f"the API server of {self.name} does not answer ({exc.stderr_tail or exc}). If Docker was restarted and its "
                f"containers are stopped, start them (`docker start {self.control_plane}` and the workers); otherwise run "
                f"`netlab up --profile {self.profile.name} --recreate` to start over."
            ) from None
        self._check_profile(nodes)

    def _step(self, progress: Progress, title: str, action: Any) -> None:
        try:
            with progress.step(title):
                action()
        except SetupError:
            raise
        except (CommandError, LabError) as exc:
            raise SetupError(f"{self.name}: {title} failed\n{exc}\n{self.logs_hint}") from None

    def _steps(self, reused: bool) -> list[tuple[str, Any]]:
        steps: list[tuple[str, Any]] = []
        if not reused:
            steps.append(("pull the node image (about 1 GB on a first run)", lambda v: pull_image(str(fact("kind-node-image").value), docker=self.docker)))
            steps.append(("create the kind cluster (1 control-plane, 2 workers)", self._create))
        if self.profile.cni == "calico":
            steps.append((f"install Calico {fact('calico-version').value} (tigera operator)", lambda v: install_calico(self.kubectl, self.profile)))
        elif self.profile.cni == "cilium":
            steps.append((f"install Cilium {fact('cilium-version').value}", lambda v: install_cilium(
                self.kubectl, self.profile, api_server_host=self.control_plane, workdir=state_dir(), helm=self.helm, cilium=self.cilium,
            )))
        steps.append(("wait for the nodes to be Ready", lambda v: self.kubectl.run(
            "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=300s", timeout=330)))
        steps.append(("pre-load the probe image (agnhost)", lambda v: preload_image(self.kind, self.name, agnhost_image(), docker=self.docker)))
        steps.append(("start cloud-provider-kind (LoadBalancer, Ingress, Gateway)", lambda v: ensure_cloud_provider_kind(self.docker)))
        steps.append((EXTERNAL_STEP, lambda v: self.ensure_external_hosts()))
        steps.append(("record the profile", lambda v: self.kubectl.apply_text(yaml.safe_dump(marker_manifest(self.profile, str(v))))))
        return steps

    def _create(self, version: Version) -> None:
        config, _ = load_config(self.profile)
        # Without a CNI (Calico/Cilium profiles) the nodes stay NotReady until it is installed, so
        # kind's --wait would only time out; kindnet clusters wait for the control plane.
        wait = "120s" if self.profile.cni == "kindnet" else ""
        try:
            self.kind.create(self.name, config, kubeconfig=self.kubeconfig, image=str(fact("kind-node-image").value), wait=wait,
                             timeout=self.create_timeout)
        except BaseException:
            # A timeout or Ctrl+C kills `kind create` (subprocess.run sends SIGKILL), and kind has no signal
            # handling (no signal.Notify in pkg/cmd): its node containers stay. kind deletes them itself only
            # when one of its own actions fails (pkg/cluster/internal/create/create.go L102-108).
            try:
                self.kind.delete(self.name, kubeconfig=self.kubeconfig)
            except CommandError:
                pass  # the error being raised says more than this one
            raise
        if self.kubeconfig.is_file():
            self.kubeconfig.chmod(0o600)

    # -- external hosts (grader.kind.external) -------------------------------------------------
    def ensure_external_hosts(self) -> Layout:
        """The external hosts run and are configured; this cluster's nodes route to the lab's
        internet and its CoreDNS answers the lab's names; for calico-bgp, vm.internal has routes
        to the cluster's Calico blocks. Idempotent."""
        layout = self.external.ensure()
        nodes = self.nodes()
        self.external.attach([n.name for n in nodes], self.kubectl, layout)
        if self.profile.pod_routes_advertised:
            self.sync_pod_routes(nodes)
        return layout

    def sync_pod_routes(self, nodes: tuple[NodeState, ...] | None = None) -> bool:
        """vm.internal's routes to the Calico blocks of this cluster's nodes (calico-bgp)."""
        nodes = nodes if nodes is not None else self.nodes()
        affinities = self.kubectl.get_json(CALICO_AFFINITIES)
        return self.external.sync_pod_routes(calico_routes(affinities, {n.name: n.internal_ip for n in nodes}))

    def remove_external_hosts(self) -> None:
        """Take this cluster off the external hosts: node routes and CoreDNS back as kind made them
        (the hosts themselves stay for the other clusters; ``delete`` of the last cluster removes them)."""
        self.external.detach([n.name for n in self.nodes()], self.kubectl, calico_bgp=self.profile.pod_routes_advertised)

    def delete(self) -> None:
        """Tear the cluster down (idempotent) and forget its kubeconfig. The external hosts are
        removed with the last course cluster; before that, only vm.internal's routes into this
        cluster (calico-bgp) go."""
        if self.profile.pod_routes_advertised and self.exists():
            try:
                self.external.sync_pod_routes(())
            except CommandError:
                pass  # no VM (or no Docker): nothing routes into this cluster
        self.kind.delete(self.name, kubeconfig=self.kubeconfig)
        Path(self.kubeconfig).unlink(missing_ok=True)
        if not course_clusters(self.kind):
            self.external.remove()

    def export_logs(self, directory: str | Path | None = None) -> Path:
        return self.kind.export_logs(self.name, directory)


def course_clusters(kind: Kind | None = None) -> list[str]:
    """Names of the kind clusters the course created (``netlab-<profile>``)."""
    from .configs import profile_of_cluster

    return [c for c in (kind or Kind()).clusters() if profile_of_cluster(c)]


def describe(status: ClusterStatus) -> dict[str, Any]:
    """JSON-friendly status (``netlab status --format json``)."""
    return json.loads(json.dumps({
        "name": status.name, "profile": status.profile, "exists": status.exists, "ready": status.ready,
        "kubeconfig": status.kubeconfig, "detail": status.detail,
        "nodes": [{"name": n.name, "ready": n.ready, "ip": n.internal_ip} for n in status.nodes],
    }))
