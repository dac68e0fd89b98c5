"""kind cluster configs (``kind-configs/<profile>.yaml``), where they live, and their validation
(:func:`validate_config`, from the pure ``grader.manifests.kind_config``).

One file per CNI profile, named like the profiles in :mod:`grader.cni.profiles`; every file has one
control-plane and two workers and states the pod and service subnets the profile declares, so the
simulated cluster and the real one hand out addresses from the same ranges.

:func:`validate_config` checks a config the way kind does before creating anything: kind decodes
``kind.x-k8s.io/v1alpha4`` strictly (unknown fields are rejected, kind#3048) and then runs
``pkg/internal/apis/config/validate.go`` (roles, ipFamily, kubeProxyMode, subnets, ports). The field
table below is ``pkg/apis/config/v1alpha4/types.go`` (kind v0.33.0).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..cni import CniProfile, get_profile
from ..errors import ManifestError
from ..manifests.kind_config import API_VERSION, validate_config

CLUSTER_PREFIX = "netlab-"
PROFILE_LABEL = "netlab/profile"
"""Node label recording which profile a cluster was created for (kind config ``nodes[].labels``)."""


def cluster_name(profile: str | CniProfile) -> str:
    """``netlab-<profile>``: one kind cluster per profile, so switching profile never destroys another."""
    return CLUSTER_PREFIX + get_profile(profile).name


def profile_of_cluster(name: str) -> str | None:
    """The profile a course cluster name stands for (None for clusters the course did not name)."""
    if not name.startswith(CLUSTER_PREFIX):
        return None
    rest = name[len(CLUSTER_PREFIX):]
    from ..cni import PROFILES

    return rest if rest in PROFILES else None


def render_config(profile: str | CniProfile) -> dict[str, Any]:
    """The kind config a profile needs (what ``kind-configs/<profile>.yaml`` holds).

    * kindnet: kind's default CNI, which enforces NetworkPolicy since kind v0.24; kube-proxy in
      nftables mode (IPVS is deprecated upstream, KEP-5495).
    * calico-*: ``disableDefaultCNI`` as the Calico kind guide does; kube-proxy iptables (default).
    * cilium-tunnel: ``disableDefaultCNI``; kube-proxy iptables.
    * cilium-native: ``disableDefaultCNI`` and ``kubeProxyMode: none`` (Cilium replaces kube-proxy).

    Every profile sets ``dnsSearch: []``, so lookups in pods do not depend on the learner's network.
    """
    prof = get_profile(profile)
    # dnsSearch: [] keeps the learner's host search domains out of the nodes (and so out of every pod's
    # resolv.conf): unset, kind passes the host's `search` line through (v1alpha4 types.go: "If not set,
    # this will be inherited from the host"; images/base/files/usr/local/bin/entrypoint, KIND_DNS_SEARCH).
    networking: dict[str, Any] = {"podSubnet": str(prof.pod_subnet), "serviceSubnet": str(prof.service_subnet), "dnsSearch": []}
    if prof.cni == "kindnet":
        networking["kubeProxyMode"] = "nftables"
    else:
        networking["disableDefaultCNI"] = True
    if prof.name == "cilium-native":
        networking["kubeProxyMode"] = "none"
    roles = ["control-plane"] + ["worker"] * prof.workers
    nodes = [{"role": role, "labels": {PROFILE_LABEL: prof.name}} for role in roles]
    return {"kind": "Cluster", "apiVersion": API_VERSION, "networking": networking, "nodes": nodes}


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def configs_dir() -> Path:
    """``$NETLAB_KIND_CONFIGS`` or the repository's ``kind-configs/``."""
    return Path(os.environ.get("NETLAB_KIND_CONFIGS") or repo_root() / "kind-configs")


def state_dir() -> Path:
    """Where the course keeps its kubeconfig files and state: ``$NETLAB_STATE_DIR`` or ``.netlab/``
    in the course checkout (ignored by git). Never ``~/.kube``."""
    env = os.environ.get("NETLAB_STATE_DIR")
    base = Path(env) if env else (repo_root() / ".netlab" if (repo_root() / "pyproject.toml").is_file() else Path.home() / ".netlab")
    base.mkdir(parents=True, exist_ok=True)
    return base


def kubeconfig_path(profile: str | CniProfile) -> Path:
    """The course-owned kubeconfig of a profile's cluster (``.netlab/kubeconfig-netlab-<profile>``)."""
    return state_dir() / f"kubeconfig-{cluster_name(profile)}"


def load_config(profile: str | CniProfile) -> tuple[Path, dict[str, Any]]:
    """The config file for ``profile`` and its content, validated. When the course checkout's
    ``kind-configs/`` is not there (an installed package), the rendered config is written to the
    state directory instead.

    Raises:
        ManifestError: the file is not a config kind would accept (field paths as kind names them).
    """
    prof = get_profile(profile)
    path = configs_dir() / f"{prof.name}.yaml"
    if not path.is_file():
        path = state_dir() / f"kind-config-{prof.name}.yaml"
        path.write_text(yaml.safe_dump(render_config(prof), sort_keys=False), "utf-8")
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError.single(str(path), "", f"not valid YAML: {exc}") from None
    problems = validate_config(doc, str(path))
    if problems:
        raise ManifestError(problems)
    return path, doc
