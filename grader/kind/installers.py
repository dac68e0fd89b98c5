"""What a profile's cluster needs after ``kind create cluster``: its CNI, LoadBalancer support and
the probe image. Pinned versions come from ``grader/data/facts.yaml``; commands are the ones the
projects document (research/kind.md §3, §4, §5, §7).

* Calico (``calico-vxlan``, ``calico-bgp``): the tigera operator, created with ``kubectl create``
  in the documented order (CRDs, operator, then our Installation), then wait until every
  ``tigerastatus`` is Available. The Installation is generated per profile.
* Cilium (``cilium-tunnel``, ``cilium-native``): the Helm chart (``helm upgrade --install``, so a
  rerun is harmless), or ``cilium install`` when only the cilium CLI is there, with values per
  profile; then ``cilium status --wait`` (or ``kubectl rollout status`` without the CLI).
* cloud-provider-kind: one container on the ``kind`` network for all clusters (LoadBalancer
  Services, Ingress, Gateway API).
* agnhost: pulled once and loaded into the nodes so probes never wait for a registry.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ..cni import CniProfile, get_profile
from ..facts import fact
from ._run import CommandError, Completed, _run
from .kindcli import Kind

# --- kubectl ------------------------------------------------------------------------------------


class Kubectl:
    """``kubectl --kubeconfig <course file> ...``: never the learner's default kubeconfig."""

    def __init__(self, kubeconfig: os.PathLike[str] | str, *, binary: str = "kubectl", context: str | None = None) -> None:
        self.kubeconfig = str(kubeconfig)
        self.binary = binary
        self.context = context

    def argv(self, *args: str) -> list[str]:
        out = [self.binary, "--kubeconfig", self.kubeconfig]
        if self.context:
            out += ["--context", self.context]
        return out + list(args)

    def run(self, *args: str, timeout: float = 60.0, input: str | None = None, check: bool = True) -> Completed:
        return _run(self.argv(*args), timeout=timeout, input=input, check=check, env={"KUBECONFIG": self.kubeconfig})

    def get_json(self, *args: str, timeout: float = 30.0) -> dict[str, Any] | None:
        """``kubectl get ... -o json``; None when the object does not exist (NotFound)."""
        done = self.run("get", *args, "-o", "json", timeout=timeout, check=False)
        if not done.ok:
            if "NotFound" in done.stderr or "not found" in done.stderr:
                return None
            raise CommandError(self.argv("get", *args, "-o", "json"), done.returncode, done.stdout, done.stderr)
        return json.loads(done.stdout)

    def create(self, *args: str, input: str | None = None, timeout: float = 120.0) -> Completed:
        """``kubectl create``; objects that already exist (a resumed set-up) are not an error."""
        done = self.run("create", *args, timeout=timeout, input=input, check=False)
        if done.ok:
            return done
        # kubectl prints one "Error from server (AlreadyExists)" line per existing object, and the API
        # server's deprecation notices as "Warning: ..." lines (client-go rest/warnings.go): neither is a failure.
        failures = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("Warning:")]
        if failures and all("AlreadyExists" in line or "already exists" in line for line in failures):
            return done
        raise CommandError(self.argv("create", *args), done.returncode, done.stdout, done.stderr)

    def apply_text(self, text: str, *, timeout: float = 60.0) -> Completed:
        return self.run("apply", "--server-side", "--field-manager=netlab", "-f", "-", input=text, timeout=timeout)


def _dump(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)


# --- Calico ---------------------------------------------------------------------------------------

CALICO_MANIFESTS = ("v1_crd_projectcalico_org.yaml", "tigera-operator.yaml")
"""Created in this order (Calico 3.32 kind guide); then our Installation replaces custom-resources.yaml."""


def calico_manifest_urls(version: str | None = None) -> list[str]:
    version = version or str(fact("calico-version").value)
    return [f"https://raw.githubusercontent.com/projectcalico/calico/{version}/manifests/{name}" for name in CALICO_MANIFESTS]


def calico_installation(profile: str | CniProfile) -> dict[str, Any]:
    """The operator's ``Installation`` for a Calico profile (operator.tigera.io/v1).

    * calico-vxlan: one pool with ``encapsulation: VXLAN`` (always encapsulate, even between nodes
      on one L2 segment, so learners can see the overlay), ``natOutgoing: Enabled``, BGP off
      ("If you use only VXLAN pools, BGP networking is not required").
    * calico-bgp: ``encapsulation: None`` with ``bgp: Enabled`` (the operator requires BGP for
      unencapsulated pools under BIRD routing) and ``natOutgoing: Disabled``: pod IPs are routable
      and leave the cluster unchanged (the flat network model).

    The pool's CIDR and block size equal the profile's pod subnet and /26 blocks.
    """
    prof = get_profile(profile)
    if prof.cni != "calico":
        raise ValueError(f"profile {prof.name} does not use Calico")
    vxlan = prof.name == "calico-vxlan"
    pool = {
        "name": "default-ipv4-ippool",
        "cidr": str(prof.pod_subnet),
        "blockSize": prof.node_block_prefix,
        "encapsulation": "VXLAN" if vxlan else "None",
        "natOutgoing": "Enabled" if vxlan or prof.pods_on_node_network else "Disabled",
        "nodeSelector": "all()",
    }
    pools = [pool]
    if prof.pods_on_node_network:
        # calico-flat: pods in the node network's upper half; the lower half is a disabled pool, so
        # natOutgoing leaves traffic to the node network unNATed (grader.kind.calico_flat_pools).
        from .calico_flat import node_network_pool

        pools.append(node_network_pool(prof))
    return {
        "apiVersion": "operator.tigera.io/v1",
        "kind": "Installation",
        "metadata": {"name": "default"},
        "spec": {"calicoNetwork": {"bgp": "Disabled" if vxlan else "Enabled", "ipPools": pools}},
    }


def tigerastatus_pending(doc: dict[str, Any] | None) -> list[str]:
    """Names of TigeraStatus objects not yet Available (all of them while none exist yet)."""
    items = (doc or {}).get("items") or []
    if not items:
        return ["(no tigerastatus yet)"]
    pending = []
    for item in items:
        conds = {c.get("type"): c.get("status") for c in (item.get("status") or {}).get("conditions") or []}
        if conds.get("Available") != "True" or conds.get("Degraded") == "True":
            pending.append(str((item.get("metadata") or {}).get("name", "?")))
    return sorted(pending)


def install_calico(kubectl: Kubectl, profile: str | CniProfile, *, timeout: float = 900.0, poll: float = 5.0) -> None:
    for url in calico_manifest_urls():
        kubectl.create("-f", url, timeout=300)
    kubectl.create("-f", "-", input=_dump(calico_installation(profile)))
    deadline = time.monotonic() + timeout
    while True:
        pending = tigerastatus_pending(kubectl.get_json("tigerastatus"))
        if not pending:
            return
        if time.monotonic() > deadline:
            raise CommandError(
                kubectl.argv("get", "tigerastatus"), 1, "", "not Available: " + ", ".join(pending),
                "Calico did not become Available in time: `kubectl --kubeconfig <file> get tigerastatus` and "
                "`kubectl -n calico-system get pods` show which part is stuck (image pulls are the usual cause).",
                timed_out=True,
            )
        time.sleep(poll)


# --- Cilium ---------------------------------------------------------------------------------------

CILIUM_HELM_REPO = "https://helm.cilium.io/"


def cilium_values(profile: str | CniProfile, api_server_host: str) -> dict[str, Any]:
    """Helm values for a Cilium profile (Cilium ``Documentation/helm-values.rst``).

    * cilium-tunnel: ``routingMode: tunnel``, ``tunnelProtocol: vxlan`` (kube-proxy stays).
    * cilium-native: ``routingMode: native`` with ``ipv4NativeRoutingCIDR`` = the pod subnet and
      ``autoDirectNodeRoutes`` (kind nodes share one L2 network), and ``kubeProxyReplacement``
      with the API server address, since the cluster has no kube-proxy (kubeProxyMode none).
      Two more values make cloud-provider-kind work without kube-proxy (Cilium
      ``Documentation/network/kubernetes/kubeproxy-free.rst``):
      ``kubeProxyReplacementHealthzBindAddr: 0.0.0.0:10256`` serves the ``/healthz`` that
      cloud-provider-kind's Envoy checks on every node for ``externalTrafficPolicy: Cluster``
      (cloud-provider-kind v0.11.1 ``pkg/loadbalancer/proxy.go`` L213-216, ``healthy_panic_threshold: 0``
      L157-158: without it no backend is ever healthy); ``bpf.lbExternalClusterIP: true`` lets its
      Ingress/Gateway Envoy, which runs outside the cluster and sends to the Service's ClusterIP
      (``pkg/gateway/gateway.go`` L684-686), reach ClusterIPs at all.

    Both use ``ipam.mode: kubernetes`` so each node's pods come from its podCIDR, as kind's
    cilium-cli auto-detection does.
    """
    prof = get_profile(profile)
    if prof.cni != "cilium":
        raise ValueError(f"profile {prof.name} does not use Cilium")
    values: dict[str, Any] = {
        "ipam": {"mode": "kubernetes"},
        "image": {"pullPolicy": "IfNotPresent"},
        "operator": {"replicas": 1},
    }
    if prof.name == "cilium-native":
        values.update({
            "routingMode": "native",
            "ipv4NativeRoutingCIDR": str(prof.pod_subnet),
            "autoDirectNodeRoutes": True,
            "kubeProxyReplacement": True,
            "kubeProxyReplacementHealthzBindAddr": "0.0.0.0:10256",
            "bpf": {"lbExternalClusterIP": True},
            "k8sServiceHost": api_server_host,
            "k8sServicePort": 6443,
        })
    else:
        values.update({"routingMode": "tunnel", "tunnelProtocol": "vxlan", "kubeProxyReplacement": False})
    return values


def cilium_version() -> str:
    return str(fact("cilium-version").value).lstrip("v")


def install_cilium(
    kubectl: Kubectl, profile: str | CniProfile, *, api_server_host: str, workdir: Path,
    helm: str = "helm", cilium: str = "cilium", timeout: float = 900.0,
) -> None:
    """Helm when available (``helm upgrade --install``), else ``cilium install``; then wait."""
    from ._run import which

    values_file = workdir / f"cilium-values-{get_profile(profile).name}.yaml"
    values_file.write_text(yaml.safe_dump(cilium_values(profile, api_server_host), sort_keys=True), "utf-8")
    env = {"KUBECONFIG": kubectl.kubeconfig}
    version = cilium_version()
    has_cli = which(cilium) is not None
    if which(helm) is not None:
        _run([
            helm, "upgrade", "--install", "cilium", "cilium", "--repo", CILIUM_HELM_REPO, "--version", version,
            "--namespace", "kube-system", "--kubeconfig", kubectl.kubeconfig, "--values", str(values_file),
        ], timeout=600, env=env)
    elif has_cli:
        _run([cilium, "install", "--version", version, "--values", str(values_file)], timeout=600, env=env)
    else:
        raise CommandError([helm], None, hint=(
            "Cilium profiles need Helm or the cilium CLI. " + _install_text("helm") + "  Or: " + _install_text("cilium")
        ), missing=True)
    if has_cli:
        _run([cilium, "status", "--wait", "--wait-duration", f"{int(timeout)}s"], timeout=timeout + 60, env=env)
    else:
        kubectl.run("-n", "kube-system", "rollout", "status", "daemonset/cilium", f"--timeout={int(timeout)}s", timeout=timeout + 30)
        kubectl.run("-n", "kube-system", "rollout", "status", "deployment/cilium-operator", f"--timeout={int(timeout)}s", timeout=timeout + 30)


def _install_text(tool: str) -> str:
    from ._run import install_hint

    return install_hint(tool)


# --- cloud-provider-kind ----------------------------------------------------------------------------

CPK_CONTAINER = "netlab-cloud-provider-kind"


def cloud_provider_kind_image() -> str:
    """The image promoted to registry.k8s.io for the pinned release, by digest (facts.yaml
    ``cloud-provider-kind-image``, from the k8s.io promotion PR; research/kind.md §10 had left the
    tag unverified)."""
    return str(fact("cloud-provider-kind-image").value)


def docker_socket(env: dict[str, str] | None = None) -> str:
    """The Docker socket on the host, for cloud-provider-kind's bind mount: ``DOCKER_HOST`` when it is
    a ``unix://`` path (rootless Docker: ``$XDG_RUNTIME_DIR/docker.sock``), else the default."""
    import os

    host = (env if env is not None else os.environ).get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def cloud_provider_kind_argv(docker: str = "docker", network: str = "kind") -> list[str]:
    """``docker run`` for cloud-provider-kind as its README documents: the Docker socket mounted,
    attached to the ``kind`` network; ``--restart unless-stopped`` so it survives Docker restarts."""
    return [
        docker, "run", "--detach", "--name", CPK_CONTAINER, "--restart", "unless-stopped",
        "--network", network, "--volume", f"{docker_socket()}:/var/run/docker.sock", cloud_provider_kind_image(),
    ]


def ensure_cloud_provider_kind(docker: str = "docker") -> str:
    """Start cloud-provider-kind unless it runs already; returns what was done. A container of
    another image (an older pin) is replaced, so a version bump in facts.yaml takes effect."""
    done = _run([docker, "ps", "--all", "--filter", f"name=^{CPK_CONTAINER}$", "--format", "{{.Names}}\t{{.State}}\t{{.Image}}"], timeout=30)
    state, image = "", ""
    for line in done.stdout.splitlines():
        name, st, img = ([*line.split("\t"), "", ""])[:3]
        if name.strip() == CPK_CONTAINER:
            state, image = st.strip(), img.strip()
    if state and image and image != cloud_provider_kind_image():
        _run([docker, "rm", "--force", CPK_CONTAINER], timeout=60)
        _run(cloud_provider_kind_argv(docker), timeout=300)
        return "replaced"
    if state == "running":
        return "running"
    if state:
        _run([docker, "start", CPK_CONTAINER], timeout=60)
        return "started"
    _run(cloud_provider_kind_argv(docker), timeout=300)
    return "created"


# --- images -----------------------------------------------------------------------------------------

PULL_TIMEOUT = 1800.0
"""Seconds for one ``docker pull`` (the ~1 GB node image on a slow line)."""


def pull_image(image: str, *, docker: str = "docker") -> str:
    """``docker pull`` unless the image is there already (``pulled`` or ``present``)."""
    present = _run([docker, "image", "inspect", "--format", "{{.Id}}", image], timeout=30, check=False)
    if present.ok:
        return "present"
    _run([docker, "pull", image], timeout=PULL_TIMEOUT)
    return "pulled"


def preload_image(kind: Kind, cluster: str, image: str, *, docker: str = "docker") -> str:
    """Pull ``image`` on the host once and load it into every node of ``cluster``.

    With Docker's containerd image store (and OrbStack) ``kind load docker-image`` fails with
    ``ctr: content digest sha256:... not found`` (kind#3795); then the image is saved to an
    archive for the current platform and loaded with ``kind load image-archive`` (kind#4247).
    """
    pull_image(image, docker=docker)
    try:
        kind.load_image(cluster, image)
        return "loaded"
    except CommandError as exc:
        if "content digest" not in (exc.stderr_tail + exc.stdout_tail):
            raise
    platform = _run([docker, "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"], timeout=30).stdout.strip() or "linux/amd64"
    with tempfile.TemporaryDirectory(prefix="netlab-image-") as tmp:
        archive = Path(tmp) / "image.tar"
        _run([docker, "image", "save", "--platform", platform, "-o", str(archive), image], timeout=600)
        kind.load_archive(cluster, archive)
    return "loaded from archive"
