"""The ``kind`` command line, wrapped: one method per command the course uses.

Every method builds the argv kind documents and parses what kind prints (research/kind.md §9):

* ``kind create cluster`` prints nothing on stdout (progress goes to stderr); a ``--wait`` timeout is
  a warning (``• WARNING: Timed out waiting for Ready ⚠️``) with exit code 0, not an error.
* ``kind delete cluster`` is idempotent (exit 0 when the cluster does not exist).
* ``kind get clusters`` prints one name per line; with none it prints nothing on stdout, ``No kind
  clusters found.`` on stderr, and exits 0.
* ``kind export logs`` prints the directory it wrote.
* ``kind version`` prints ``kind v0.33.0 go1.24.5 linux/amd64``.
* Any error exits 1 with ``ERROR: <message>`` on stderr (kind's ``cmd/kind/app/main.go``).

Sources: kubernetes-sigs/kind ``pkg/cmd/kind/**`` and ``pkg/cluster/internal/create/**``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..facts import fact
from ._run import CommandError, Completed, _run

VERSION_RE = re.compile(r"\bv?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.+-]+))?")

CREATE_TIMEOUT = 600.0
"""Seconds for ``kind create cluster``: a first run pulls the ~1 GB node image."""


@dataclass(frozen=True, slots=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        """``kind v0.33.0 go1.24.5 linux/amd64``, ``v0.33.0`` or ``0.33.0-alpha+abc`` -> Version."""
        m = VERSION_RE.search(text)
        if m is None:
            raise ValueError(f"no version number in {text.strip()!r}")
        return cls(int(m[1]), int(m[2]), int(m[3]), m[4] or "")

    def at_least(self, other: Version | str) -> bool:
        other = Version.parse(other) if isinstance(other, str) else other
        return (self.major, self.minor, self.patch) >= (other.major, other.minor, other.patch)

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def parse_clusters(stdout: str) -> list[str]:
    """Names printed by ``kind get clusters`` (empty stdout when there are none)."""
    return sorted(line.strip() for line in stdout.splitlines() if line.strip())


@dataclass(frozen=True, slots=True)
class CreateOutcome:
    """What ``kind create cluster`` reported: ``ready`` is False when ``--wait`` timed out (a warning)."""

    ready: bool
    seconds: float
    warning: str = ""


def parse_create(done: Completed) -> CreateOutcome:
    """Read a successful ``kind create cluster`` run's stderr for the ``--wait`` outcome."""
    warning = ""
    for line in done.stderr.splitlines():
        if "WARNING" in line:
            warning = line.strip(" •\t")
    ready = "Timed out waiting for Ready" not in done.stderr
    return CreateOutcome(ready, done.seconds, warning)


def min_netpol_version() -> Version:
    """Before this kind's default CNI (kindnet) ignores NetworkPolicy (kind#842, kind#3612)."""
    return Version.parse(str(fact("kind-min-version-netpol").value))


def min_version() -> Version:
    """The oldest kind that can create a cluster from the pinned node image (facts.yaml
    ``kind-min-version-node-image``): kind <= v0.31 renders kubeadm ``v1beta3`` for every
    Kubernetes version (kind v0.31.0 ``pkg/cluster/internal/kubeadm/config.go`` L505-507) and
    kubeadm 1.36 removed it (kubernetes#136016), so ``kind create cluster`` fails in kubeadm init."""
    return max(Version.parse(str(fact("kind-min-version-node-image").value)), min_netpol_version())


def too_old_hint(found: Version) -> str:
    need, want = min_version(), fact("kind-version").value
    from ._run import install_hint

    how = install_hint("kind").split(": ", 1)[1]
    why = (f"the course's node image ({fact('kubernetes-version').value}) needs kind {need} or later "
           f"(older kind writes a kubeadm config Kubernetes {fact('kubernetes-version').value} no longer reads)")
    if not found.at_least(min_netpol_version()):
        why += f"; before {min_netpol_version()} kind's default CNI also ignores NetworkPolicy"
    return f"kind {found} is too old: {why}. Upgrade kind to {want}: {how}"


class Kind:
    """``kind`` with the course's conventions. ``binary`` may be a path (tests use a fake)."""

    def __init__(self, binary: str = "kind", *, env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.env = dict(env or {})

    def _kind(self, *args: str, timeout: float = 60.0, check: bool = True) -> Completed:
        return _run([self.binary, *args], timeout=timeout, env=self.env, check=check)

    # -- queries ---------------------------------------------------------------------------
    def version(self) -> Version:
        done = self._kind("version", timeout=15)
        return Version.parse(done.stdout)

    def require_version(self) -> Version:
        """The installed version; raises CommandError (with the upgrade hint) when it is too old."""
        found = self.version()
        if not found.at_least(min_version()):
            raise CommandError([self.binary, "version"], 0, str(found), "", too_old_hint(found))
        return found

    def clusters(self) -> list[str]:
        return parse_clusters(self._kind("get", "clusters", timeout=30).stdout)

    def exists(self, name: str) -> bool:
        return name in self.clusters()

    def nodes(self, name: str) -> list[str]:
        return parse_clusters(self._kind("get", "nodes", "--name", name, timeout=30).stdout)

    def kubeconfig(self, name: str, *, internal: bool = False) -> str:
        """The cluster's kubeconfig YAML (``kind get kubeconfig``); ``internal`` uses the node address."""
        args = ["get", "kubeconfig", "--name", name] + (["--internal"] if internal else [])
        text = self._kind(*args, timeout=30).stdout
        if "apiVersion" not in text or "clusters" not in text:
            raise CommandError([self.binary, *args], 0, text, "", "kind printed something that is not a kubeconfig")
        return text

    # -- lifecycle -------------------------------------------------------------------------
    def create(
        self, name: str, config: os.PathLike[str] | str, *, kubeconfig: os.PathLike[str] | str,
        image: str | None = None, wait: str = "60s", retain: bool = False, timeout: float = CREATE_TIMEOUT,
    ) -> CreateOutcome:
        """``kind create cluster --name N --config F --image I --kubeconfig K --wait W``.

        ``--kubeconfig`` points at a course-owned file, so the learner's ``~/.kube/config`` is never
        changed. With ``disableDefaultCNI`` the nodes stay NotReady until a CNI is installed, so the
        wait times out by design (kind reports that as a warning, exit 0).
        """
        args = ["create", "cluster", "--name", name, "--config", str(config), "--kubeconfig", str(kubeconfig)]
        if image:
            args += ["--image", image]
        if wait:
            args += ["--wait", wait]
        if retain:
            args.append("--retain")
        return parse_create(self._kind(*args, timeout=timeout))

    def delete(self, name: str, *, kubeconfig: os.PathLike[str] | str | None = None) -> None:
        """Idempotent: kind exits 0 when the cluster does not exist."""
        args = ["delete", "cluster", "--name", name]
        if kubeconfig:
            args += ["--kubeconfig", str(kubeconfig)]
        self._kind(*args, timeout=180)

    def load_image(self, name: str, *images: str, nodes: list[str] | None = None) -> None:
        args = ["load", "docker-image", *images, "--name", name]
        if nodes:
            args += ["--nodes", ",".join(nodes)]
        self._kind(*args, timeout=600)

    def load_archive(self, name: str, archive: os.PathLike[str] | str, *, nodes: list[str] | None = None) -> None:
        args = ["load", "image-archive", str(archive), "--name", name]
        if nodes:
            args += ["--nodes", ",".join(nodes)]
        self._kind(*args, timeout=600)

    def export_logs(self, name: str, directory: os.PathLike[str] | str | None = None) -> Path:
        """Write the cluster's logs (nodes, containers, journal) and return the directory kind printed."""
        args = ["export", "logs"] + ([str(directory)] if directory else []) + ["--name", name]
        out = self._kind(*args, timeout=300).stdout.strip().splitlines()
        if not out:
            raise CommandError([self.binary, *args], 0, "", "", "kind did not print the logs directory")
        return Path(out[-1].strip())
