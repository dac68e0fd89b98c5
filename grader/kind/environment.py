"""Can this machine run the kind backend? ``preflight()`` lists the blockers; ``doctor()`` explains.

* ``preflight(profile)``: every check whose failure stops ``netlab up --profile P`` before it
  creates anything: Docker CLI and engine, kind at the version the pinned node image needs
  (``kindcli.min_version()``, C1 of the kind-backend review), kubectl, and Helm or the cilium CLI
  for the Cilium profiles. All of them are run, so the learner sees every blocker at once.
* ``usable(profile)``: no blocker (what ``netlab doctor`` and ``netlab status`` report).
* ``auto_choice(profile)``: what ``grader.connect(backend="auto")`` (``grader.backends``) asks. Kind only when that
  profile's cluster *already exists and is ready* (made by ``netlab up``): a lesson cell never
  creates a cluster by surprise; otherwise the one-line reason says how to get one.
* ``doctor()``: the blockers plus what only limits some profiles (inotify limits, memory).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..errors import LabError
from ..facts import fact
from ._run import CommandError, _run, install_hint, which
from .kindcli import Version, min_version, too_old_hint

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
        "arch": str(info.get("Architecture", "")),
        "kernel": str(info.get("KernelVersion", "")),
        "rootless": "yes" if any("rootless" in str(o) for o in info.get("SecurityOptions") or []) else "",
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


def _kind_check() -> Check:
    if which("kind") is None:
        return Check("kind", Status.FAIL, "not installed", install_hint("kind"))
    version = kind_version()
    if version is None:
        return Check("kind", Status.FAIL, "`kind version` did not answer", install_hint("kind"))
    if not version.at_least(min_version()):
        return Check("kind", Status.FAIL, f"{version} is too old (the node image needs {min_version()} or later)", too_old_hint(version))
    want = str(fact("kind-version").value)
    if not version.at_least(want):
        return Check("kind", Status.WARN, f"{version} (the course is tested with {want})", f"upgrade kind to {want}: " + install_hint("kind").split(": ", 1)[1])
    return Check("kind", Status.OK, str(version))


def _docker_check() -> tuple[Check, dict[str, str]]:
    if which("docker") is None:
        return Check("Docker", Status.FAIL, "not installed", install_hint("docker")), {}
    ok, why, facts = docker_engine()
    if ok:
        return Check("Docker", Status.OK, why), facts
    return Check("Docker", Status.FAIL, f"engine not reachable: {why}",
                 "start Docker Desktop / the Docker service (Linux: sudo systemctl start docker)"), {}


def _cilium_tools_check(profile: str | None) -> Check:
    from ..cni import get_profile

    helm, cilium = which("helm"), which("cilium")
    needs = profile is not None and get_profile(profile).cni == "cilium"
    if helm or cilium:
        have = ", ".join(t for t, p in (("helm", helm), ("cilium CLI", cilium)) if p)
        return Check("helm / cilium CLI", Status.OK, f"{have} (needed for the Cilium profiles)", needed_for_kind=needs)
    if needs:
        return Check("helm / cilium CLI", Status.FAIL, f"neither installed: profile {profile} installs Cilium with one of them",
                     install_hint("helm"))
    return Check("helm / cilium CLI", Status.WARN, "neither installed: the cilium-tunnel and cilium-native profiles need one",
                 install_hint("helm"), needed_for_kind=False)


def _preflight(profile: str | None) -> tuple[list[Check], dict[str, str]]:
    docker, facts = _docker_check()
    kubectl = (Check("kubectl", Status.OK, "installed") if which("kubectl") is not None
               else Check("kubectl", Status.FAIL, "not installed (cluster set-up runs kubectl)", install_hint("kubectl")))
    checks = [docker, _kind_check(), kubectl, _cilium_tools_check(profile)]
    if docker.status is Status.OK:
        room = capacity_check(profile, facts.get("mem_bytes", ""), _other_course_clusters(profile)) if checks[1].status is not Status.FAIL else None
        checks += [c for c in (kernel_check(facts.get("kernel", ""), profile), subnet_check(profile), room) if c is not None]
    return checks, facts


NFTABLES_KERNEL = (5, 13)
"""kube-proxy's nftables mode needs Linux 5.13 or later (kubernetes KEP-3866; EKS best practices
"nftables": "requires Linux kernel 5.13 or later"); the kindnet profile uses it."""


def kernel_check(kernel: str, profile: str | None) -> Check | None:
    """The kernel Docker's containers run on (the VM's on Docker Desktop), for nftables (R4)."""
    import re

    from ..cni import get_profile

    m = re.match(r"(\d+)\.(\d+)", kernel)
    if m is None:
        return None
    needs = profile is not None and get_profile(profile).kube_proxy_mode == "nftables"
    if (int(m[1]), int(m[2])) >= NFTABLES_KERNEL:
        return Check("kernel", Status.OK, f"{kernel} (kube-proxy nftables mode works)", needed_for_kind=needs)
    return Check("kernel", Status.FAIL if needs else Status.WARN,
                 f"{kernel} is older than 5.13: kube-proxy's nftables mode (profile kindnet) does not work there",
                 "upgrade the kernel (or Docker Desktop), or use a profile whose kube-proxy runs in iptables mode (calico-vxlan)",
                 needed_for_kind=needs)


def subnet_check(profile: str | None) -> Check | None:
    """The profile's pod and Service ranges must not overlap the ``kind`` Docker network (R10; kind
    known-issues "Local Subnet Clashes"): those addresses would be routed to the nodes' network."""
    import ipaddress
    import json

    from ..cni import get_profile

    if profile is None:
        return None
    done = _run(["docker", "network", "inspect", "kind"], timeout=20, check=False)
    if not done.ok:
        return None  # no kind network yet: kind creates it (Docker picks a free range)
    try:
        config = json.loads(done.stdout)[0]["IPAM"]["Config"] or []
    except (ValueError, LookupError, TypeError):
        return None
    prof = get_profile(profile)
    nets = [ipaddress.ip_network(c["Subnet"]) for c in config if isinstance(c, dict) and "." in str(c.get("Subnet", ""))]
    # calico-flat puts its pods in the kind network on purpose (AKS's flat model); only its Services must stay out.
    ranges = (prof.service_subnet,) if prof.pods_on_node_network else (prof.pod_subnet, prof.service_subnet)
    clash = sorted(f"{ours} overlaps the kind network {n}" for ours in ranges for n in nets if ours.overlaps(n))
    if clash:
        return Check("kind network", Status.FAIL, "; ".join(clash),
                     "remove the kind network when no kind cluster uses it (`docker network rm kind`) so kind makes a new one, "
                     "or give Docker other default-address-pools (daemon.json)")
    return Check("kind network", Status.OK, ", ".join(str(n) for n in nets) + f" (no clash with profile {prof.name})", needed_for_kind=False)


INOTIFY_PROC = "/proc/sys/fs/inotify"


def capacity_check(profile: str | None, docker_mem_bytes: str, others: list[str], system: str | None = None,
                   proc: str | None = None) -> Check | None:
    """Room for one more 3-node cluster next to the course clusters already running (L2, R5):
    memory for all of them (``MEMORY_MIN_GIB`` each), and on Linux the inotify instances several
    clusters need (kind known-issues: "too many open files" shows as crash-looping CNI pods)."""
    if profile is None or not others:
        return None
    count = len(others) + 1
    problems, fixes = [], []
    if docker_mem_bytes.isdigit() and int(docker_mem_bytes) > 0:
        gib = int(docker_mem_bytes) / 2**30
        if gib < MEMORY_MIN_GIB * count:
            problems.append(f"{gib:.1f} GiB for Docker is too little for {count} clusters (about {MEMORY_MIN_GIB:.0f} GiB each)")
    if (system or platform.system()) == "Linux":
        instances = _read_int(f"{proc or INOTIFY_PROC}/max_user_instances")
        if instances is not None and instances < INOTIFY_INSTANCES:
            problems.append(f"fs.inotify.max_user_instances={instances} is too low for {count} clusters")
            fixes.append(f"sudo sysctl fs.inotify.max_user_instances={INOTIFY_INSTANCES} fs.inotify.max_user_watches={INOTIFY_WATCHES}")
    running = ", ".join(others)
    if problems:
        return Check("room for another cluster", Status.FAIL, f"{running} already running; " + "; ".join(problems),
                     " or ".join([f"netlab down --profile {o.removeprefix('netlab-')}" for o in others][:1] + fixes))
    return Check("room for another cluster", Status.OK, f"{running} already running; room for one more", needed_for_kind=False)


def _other_course_clusters(profile: str | None) -> list[str]:
    from .configs import CLUSTER_PREFIX, cluster_name

    if profile is None or which("kind") is None:
        return []
    try:
        done = _run(["kind", "get", "clusters"], timeout=30)
    except CommandError:
        return []
    mine = cluster_name(profile)
    return sorted(c for c in (ln.strip() for ln in done.stdout.splitlines()) if c.startswith(CLUSTER_PREFIX) and c != mine)


def preflight(profile: str | None = None) -> list[Check]:
    """Every check ``netlab up --profile P`` needs to pass, all of them run (no early return), in
    the order a learner should fix them. A FAIL whose ``needed_for_kind`` is set is a blocker."""
    return _preflight(profile)[0]


def blockers(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status is Status.FAIL and c.needed_for_kind]


def usable(profile: str | None = None) -> tuple[bool, str]:
    """Whether the kind backend can run here (for ``profile``), and a one-line reason either way."""
    checks = preflight(profile)
    stop = blockers(checks)
    if stop:
        return False, "; ".join(_reason(c) for c in stop)
    return True, f"{checks[0].detail} and kind {checks[1].detail}".replace(" (the course is tested with", " (tested with")


def _reason(check: Check) -> str:
    """``Docker is not installed``, ``kind v0.31.0 is too old (...)``, ``Docker engine not reachable: ...``."""
    detail = check.detail
    if detail.startswith(("not installed", "neither installed")):
        return f"{check.name} is {detail}" if detail.startswith("not") else f"{check.name}: {detail}"
    if check.name == "kind" and detail.startswith("v"):
        return f"kind {detail}"
    return f"{check.name} {detail}"


def auto_choice(profile: str) -> tuple[bool, str]:
    """Whether ``connect(profile, backend="auto")`` should use kind, and the one-line reason.

    Kind only when ``netlab-<profile>`` exists and is ready (set-up finished, every node Ready);
    never creates anything. The reason for "no" names the command that makes the cluster."""
    from ..cni import get_profile
    from .configs import cluster_name

    name = cluster_name(get_profile(profile))
    up = f"run `netlab up --profile {get_profile(profile).name}` for a real kind cluster"
    ok, why = usable(profile)
    if not ok:
        return False, f"{why}; `netlab doctor` shows how to fix it, then {up.removeprefix('run ')}"
    from .kindcli import Kind

    try:
        if not Kind().exists(name):
            return False, f"no kind cluster {name} yet; {up}"
        from .cluster import KindCluster

        status = KindCluster(profile, progress=False).status(exists=True)
    except (CommandError, LabError) as exc:
        return False, f"kind cluster {name} could not be checked ({str(exc).splitlines()[0]}); {up}"
    if not status.ready:
        return False, f"kind cluster {name} is not ready ({status.detail or 'nodes not Ready'}); {up}"
    return True, f"kind cluster {name} is ready"


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


def doctor(profile: str | None = None) -> list[Check]:
    """Every check, in the order a learner should fix them."""
    checks, facts = _preflight(profile)
    checks.append(inotify_check())
    checks.append(memory_check(facts.get("mem_bytes", "")))
    return checks


def brief() -> str:
    """One line for ``make lab``: which backend lessons will use and why."""
    ok, why = usable()
    if ok:
        return (f"netlab: kind can run here ({why}); a lesson uses a real cluster for a profile once "
                "`netlab up --profile <profile>` has made it, and the simulated cluster until then.")
    return (
        f"netlab: the course runs on the simulated cluster ({why}). Everything works there; "
        "for real kind clusters install Docker and kind, then run `netlab doctor`."
    )
