"""Can this machine run the kind backend? ``usable()`` answers quickly; ``doctor()`` explains.

``usable()`` is what ``grader.connect(backend="auto")`` (``grader.backends``) asks: Docker CLI present, Docker engine
reachable, kind installed and at least v0.24 (before that kindnet ignores NetworkPolicy). ``doctor()``
(which also requires kubectl) adds everything a learner may need to fix: Helm / cilium CLI (Cilium profiles), Linux
inotify limits, memory.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..facts import fact
from ._run import CommandError, _run, install_hint, which
from .kindcli import Version, min_netpol_version, too_old_hint

INOTIFY_WATCHES = 524288
INOTIFY_INSTANCES = 512
"""kind known-issues page: Ubuntu's defaults (8192 / 128) are too low for several nodes."""
MEMORY_MIN_GIB = 4.0
MEMORY_GOOD_GIB = 8.0
"""No official figure (kind#485): kubeadm needs ~2 GB per control plane (kind#57); a 4-node cluster
ran in 8 GB of Docker memory (kind#485). Three nodes plus Calico or Cilium want 4 GB or more."""


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"

    @property
    def mark(self) -> str:
        return {"ok": "✓", "warn": "!", "fail": "✗"}[self.value]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    needed_for_kind: bool = True
    """FAIL here means the kind backend cannot run (otherwise it only limits some profiles)."""

    def render(self) -> str:
        line = f"{self.status.mark} {self.name}: {self.detail}"
        return line + (f"\n    fix: {self.fix}" if self.fix and self.status is not Status.OK else "")


def docker_engine() -> tuple[bool, str, dict[str, str]]:
    """(reachable, explanation, facts) from ``docker info`` (server version, OS, memory, cgroup)."""
    if which("docker") is None:
        return False, "Docker is not installed", {}
    try:
        done = _run(["docker", "info", "--format", "{{json .}}"], timeout=20, check=False)
    except CommandError as exc:
        return False, str(exc).splitlines()[0], {}
    if not done.ok:
        lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        text = next((ln for ln in lines if "daemon" in ln.lower() or "error" in ln.lower()), lines[-1] if lines else "docker info failed")
        return False, text, {}
    import json

    try:
        info = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return True, "reachable", {}
    if not isinstance(info, dict):
        return True, "reachable", {}
    if info.get("ServerErrors"):
        return False, "; ".join(map(str, info["ServerErrors"])), {}
    facts = {
        "version": str(info.get("ServerVersion", "")),
        "os": str(info.get("OperatingSystem", "")),
        "mem_bytes": str(info.get("MemTotal", "")),
        "cgroup": str(info.get("CgroupVersion", "")),
    }
    return True, f"Docker {facts['version']} on {facts['os']}".strip(), facts


def kind_version() -> Version | None:
    if which("kind") is None:
        return None
    try:
        done = _run(["kind", "version"], timeout=15)
        return Version.parse(done.stdout)
    except (CommandError, ValueError):
        return None


def usable() -> tuple[bool, str]:
    """Whether the kind backend can run here, and a one-line reason either way."""
    if which("docker") is None:
        return False, "Docker is not installed"
    ok, why, facts = docker_engine()
    if not ok:
        return False, f"Docker engine not reachable: {why}"
    if which("kind") is None:
        return False, "kind is not installed (netlab doctor shows how to install it)"
    version = kind_version()
    if version is None:
        return False, "`kind version` did not answer"
    if which("kubectl") is None:
        return False, "kubectl is not installed (netlab doctor shows how to install it)"
    if not version.at_least(min_netpol_version()):
        return False, f"kind {version} is older than {min_netpol_version()} (kindnet would not enforce NetworkPolicy)"
    return True, f"Docker {facts.get('version', '')} and kind {version}".replace("  ", " ")


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def inotify_check(system: str | None = None, proc: str = "/proc/sys/fs/inotify") -> Check:
    system = system or platform.system()
    if system != "Linux":
        return Check("inotify limits", Status.OK, f"not applicable on {system} (Docker runs in a VM)", needed_for_kind=False)
    watches = _read_int(f"{proc}/max_user_watches")
    instances = _read_int(f"{proc}/max_user_instances")
    if watches is None or instances is None:
        return Check("inotify limits", Status.WARN, "could not read /proc/sys/fs/inotify", needed_for_kind=False)
    detail = f"max_user_watches={watches}, max_user_instances={instances}"
    if watches >= INOTIFY_WATCHES and instances >= INOTIFY_INSTANCES:
        return Check("inotify limits", Status.OK, detail, needed_for_kind=False)
    return Check(
        "inotify limits", Status.WARN, detail + f" (kind needs >= {INOTIFY_WATCHES} / {INOTIFY_INSTANCES} for several nodes: 'too many open files')",
        f"sudo sysctl fs.inotify.max_user_watches={INOTIFY_WATCHES} fs.inotify.max_user_instances={INOTIFY_INSTANCES} "
        "(and add both to /etc/sysctl.conf to keep them)", needed_for_kind=False,
    )


def memory_check(docker_mem_bytes: str = "", meminfo: str = "/proc/meminfo") -> Check:
    """Docker's memory (the VM's on macOS/Windows) when known, else the host's MemAvailable."""
    gib = None
    source = ""
    if docker_mem_bytes.isdigit() and int(docker_mem_bytes) > 0:
        gib, source = int(docker_mem_bytes) / 2**30, "memory available to Docker"
    else:
        try:
            for line in Path(meminfo).read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    gib, source = int(line.split()[1]) / 2**20, "free memory"
        except (OSError, ValueError, IndexError):
            pass
    if gib is None:
        return Check("memory", Status.WARN, "could not tell how much memory Docker has", needed_for_kind=False)
    detail = f"{gib:.1f} GiB {source}"
    if gib < MEMORY_MIN_GIB:
        return Check("memory", Status.WARN, detail + f" (a 3-node cluster with Calico or Cilium needs about {MEMORY_MIN_GIB:.0f} GiB)",
                     f"give Docker at least {MEMORY_GOOD_GIB:.0f} GiB (Docker Desktop: Settings > Resources), or use one profile at a time (netlab down)", needed_for_kind=False)
    status = Status.OK if gib >= MEMORY_GOOD_GIB else Status.WARN
    fix = "" if status is Status.OK else f"{MEMORY_GOOD_GIB:.0f} GiB is comfortable; run one profile at a time (netlab down --profile ...)"
    return Check("memory", status, detail, fix, needed_for_kind=False)


def doctor() -> list[Check]:
    """Every check, in the order a learner should fix them."""
    checks: list[Check] = []
    if which("docker") is None:
        checks.append(Check("Docker", Status.FAIL, "not installed", install_hint("docker")))
        facts: dict[str, str] = {}
    else:
        ok, why, facts = docker_engine()
        if ok:
            checks.append(Check("Docker", Status.OK, why))
        else:
            checks.append(Check("Docker", Status.FAIL, f"engine not reachable: {why}",
                                "start Docker Desktop / the Docker service (Linux: sudo systemctl start docker)"))
    want = fact("kind-version").value
    if which("kind") is None:
        checks.append(Check("kind", Status.FAIL, "not installed", install_hint("kind")))
    else:
        version = kind_version()
        if version is None:
            checks.append(Check("kind", Status.FAIL, "`kind version` did not answer", install_hint("kind")))
        elif not version.at_least(min_netpol_version()):
            checks.append(Check("kind", Status.FAIL, f"{version} is too old", too_old_hint(version)))
        elif not version.at_least(str(want)):
            checks.append(Check("kind", Status.WARN, f"{version} (the course is tested with {want})", f"upgrade kind to {want}: " + install_hint("kind").split(": ", 1)[1]))
        else:
            checks.append(Check("kind", Status.OK, str(version)))
    if which("kubectl") is None:
        checks.append(Check("kubectl", Status.FAIL, "not installed (cluster set-up runs kubectl)", install_hint("kubectl")))
    else:
        checks.append(Check("kubectl", Status.OK, "installed"))
    helm, cilium = which("helm"), which("cilium")
    if helm or cilium:
        have = ", ".join(t for t, p in (("helm", helm), ("cilium CLI", cilium)) if p)
        checks.append(Check("helm / cilium CLI", Status.OK, f"{have} (needed for the Cilium profiles)", needed_for_kind=False))
    else:
        checks.append(Check("helm / cilium CLI", Status.WARN, "neither installed: the cilium-tunnel and cilium-native profiles need one",
                            install_hint("helm"), needed_for_kind=False))
    checks.append(inotify_check())
    checks.append(memory_check(facts.get("mem_bytes", "")))
    return checks


def brief() -> str:
    """One line for ``make lab``: which backend lessons will use and why."""
    ok, why = usable()
    if ok:
        return f"netlab: lessons will use real kind clusters ({why}); `netlab up --profile kindnet` creates one ahead of time."
    return (
        f"netlab: the course runs on the simulated cluster ({why}). Everything works there; "
        "for real kind clusters install Docker and kind, then run `netlab doctor`."
    )
