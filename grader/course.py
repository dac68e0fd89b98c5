"""Helpers the lessons in ``course/`` call: an environment check, tables of nodes, pods and
profiles, and a reachability grid over each destination's own port.

They sit on top of the Lab API, so a lesson runs unchanged on the simulated cluster and on kind.
Everything prints to stdout or returns objects Jupyter displays; nothing writes to stderr.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from typing import Any

from .cni import PROFILES, CniProfile
from .lab import Lab
from .model import Node, Pod, Protocol
from .reachability import ProbeResult, ReachabilityMatrix

# -- environment check -------------------------------------------------------------------------


class Status(StrEnum):
    OK = "ok"
    MISSING = "missing"
    INFO = "info"

    @property
    def mark(self) -> str:
        return {Status.OK: "[ok]", Status.MISSING: "[--]", Status.INFO: "[..]"}[self]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str

    def render(self) -> str:
        return f"{self.status.mark} {self.name:<14} {self.detail}"


@dataclass(frozen=True, slots=True)
class DoctorReport:
    checks: tuple[Check, ...]
    backend: str
    """What ``grader.connect(backend="auto")`` would choose here: ``sim`` or ``kind``."""
    reason: str
    netlab_doctor: str | None = None
    """Output of ``netlab doctor`` when this version of the course has that command."""

    def text(self) -> str:
        lines = [c.render() for c in self.checks]
        where = "a real kind cluster" if self.backend == "kind" else "the simulated cluster"
        lines.append(f"=> grader.connect() will use {where} ({self.reason})")
        if self.netlab_doctor is not None:
            lines += ["", "netlab doctor says:", self.netlab_doctor.rstrip()]
        return "\n".join(lines)

    __str__ = text


_PACKAGES = ("jupyterlab", "nbgrader", "matplotlib", "pandas", "kubernetes")
_TOOLS = ("docker", "kind", "kubectl")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _netlab_doctor() -> str | None:
    """Run ``netlab doctor`` in-process (output captured, never on stderr)."""
    from typer.testing import CliRunner

    from . import cli

    result = CliRunner().invoke(cli.app, ["doctor"])
    return str(result.output)


def doctor_report() -> DoctorReport:
    """Check this machine for the course: Python, packages, container tools, backend choice."""
    from . import __version__
    from .backends import kind_usable

    checks = []
    py = sys.version_info
    checks.append(Check("python", Status.OK if py >= (3, 11) else Status.MISSING,
                        f"{py.major}.{py.minor}.{py.micro}" + ("" if py >= (3, 11) else " (the course needs 3.11 or newer)")))
    checks.append(Check("grader", Status.OK, f"{__version__} ({os.path.dirname(__file__)})"))
    for dist in _PACKAGES:
        v = _version(dist)
        checks.append(Check(dist, Status.OK if v else Status.MISSING, v or "not installed: run `make lab` (or pip install -e .)"))
    for tool in _TOOLS:
        path = shutil.which(tool)
        checks.append(Check(tool, Status.OK if path else Status.INFO,
                            f"on PATH: {path}" if path else "not found (only needed for real clusters; the simulated cluster needs nothing)"))
    forced = os.environ.get("NETLAB_BACKEND", "").strip().lower()
    if forced in ("sim", "kind"):
        backend, reason = forced, "NETLAB_BACKEND is set"
    else:
        usable, why = kind_usable()
        backend, reason = (("kind", "kind can run here; a lesson uses a profile's real cluster once `netlab up --profile <profile>` "
                                    "has made it, the simulated cluster until then") if usable else ("sim", why))
    return DoctorReport(tuple(checks), backend, reason, _netlab_doctor())


def doctor() -> None:
    """Print :func:`doctor_report` (the notebook version of ``netlab doctor``)."""
    print(doctor_report().text())


# -- tables ------------------------------------------------------------------------------------


def lab_nodes(lab: Lab) -> list[Node]:
    """The lab's nodes: its profile's plan (the simulated cluster's nodes are exactly those)."""
    return list(lab.profile.nodes())


def pod_range(pod: Pod, profile: CniProfile, nodes: Sequence[Node]) -> str:
    """The address range the pod's IP came from: its node's podCIDR, or its Calico /26 block."""
    if pod.ip is None:
        return ""
    if profile.cni == "calico":
        return str(ipaddress.ip_network(f"{pod.ip}/{profile.node_block_prefix}", strict=False))
    for n in nodes:
        if n.name == pod.node and n.pod_cidr is not None and pod.ip in n.pod_cidr:
            return str(n.pod_cidr)
    return ""


def pods_table(lab: Lab, namespaces: Iterable[str] | None = None) -> Any:
    """A DataFrame of pods: node, IP, the range it came from, labels, ports."""
    import pandas as pd

    nodes = lab_nodes(lab)
    wanted = set(namespaces) if namespaces is not None else None
    pods = [p for p in lab.pods() if wanted is None or p.namespace in wanted]
    if wanted:
        pods += [p for ns in sorted(wanted) for p in lab.pods(ns) if p not in pods]
    rows = [
        {
            "pod": str(p.ref), "node": p.node, "pod IP": str(p.ip), "from range": pod_range(p, lab.profile, nodes),
            "labels": ", ".join(f"{k}={v}" for k, v in p.labels.items()),
            "ports": ", ".join(c.render() for c in p.ports),
        }
        for p in sorted(pods, key=lambda p: p.ref)
    ]
    return pd.DataFrame(rows).set_index("pod")


def nodes_table(lab: Lab) -> Any:
    """A DataFrame of nodes: role, address on the node network, and what they hand out to pods."""
    import pandas as pd

    nodes = lab_nodes(lab)
    all_pods = lab.pods() + lab.pods("kube-system")
    rows = []
    for n in nodes:
        if lab.profile.cni == "calico":
            blocks = sorted({pod_range(p, lab.profile, nodes) for p in all_pods if p.node == n.name and p.ip is not None})
            ranges = ", ".join(blocks) or "none yet (Calico claims a /26 when the first pod lands)"
        else:
            ranges = str(n.pod_cidr)
        rows.append({"node": n.name, "role": n.role, "node IP": str(n.ip), "pod addresses from": ranges,
                     "pods": sum(1 for p in lab.pods() if p.node == n.name)})
    return pd.DataFrame(rows).set_index("node")


def profiles_table() -> Any:
    """A DataFrame of the CNI profiles: addressing and the one policy divergence they model today."""
    import pandas as pd

    rows = [
        {
            "profile": p.name, "CNI": p.cni, "description": p.title, "pod subnet": str(p.pod_subnet),
            "per-node block": f"/{p.node_block_prefix}" + (" (Calico IPAM blocks, as needed)" if p.cni == "calico" else " (node podCIDR)"),
            "service subnet": str(p.service_subnet),
            "ipBlock matches pod IPs": "yes" if p.ipblock_matches_cluster else "no",
        }
        for p in PROFILES.values()
    ]
    return pd.DataFrame(rows).set_index("profile")


# -- reachability over each destination's own port ----------------------------------------------


def app_matrix(
    lab: Lab, targets: Mapping[str, int | str], *, sources: Sequence[str] | None = None,
    protocol: Protocol | str = Protocol.TCP,
) -> ReachabilityMatrix:
    """Probe every source to every target on *that target's* port (``{"shop/db": 5432, ...}``).

    One picture for "who can use which service", where a per-port matrix would need one grid per
    port. Sources default to every pod of the lab.
    """
    srcs = tuple(sorted(sources if sources is not None else [str(p.ref) for p in lab.pods()]))
    dsts = tuple(sorted(targets))
    results: dict[tuple[str, str], ProbeResult] = {
        (s, d): lab.probe(s, d, targets[d], protocol) for s in srcs for d in dsts
    }
    return ReachabilityMatrix(None, Protocol.parse(protocol), srcs, dsts, results)


def results_grid(results: Mapping[str, ProbeResult], column: str, *, port: int | str | None = None) -> ReachabilityMatrix:
    """A one-column grid of named results (``{"https via ingress-nginx": r, ...}``), to draw with
    ``.plot()`` or ``compare_matrices``: for checks a pod-to-pod matrix cannot express, such as HTTP
    requests through a proxy next to direct probes. Rows keep the order given."""
    rows = tuple(results)
    first = next(iter(results.values()), None)
    protocol = first.probe.protocol if first is not None else Protocol.TCP
    return ReachabilityMatrix(port, protocol, rows, (column,), {(row, column): r for row, r in results.items()})


def explain_all(results: Iterable[ProbeResult]) -> None:
    """Print the explanation of several probes, separated by blank lines."""
    print("\n\n".join(r.explain() for r in results))


# -- where packets go ------------------------------------------------------------------------------


def path_table(result: ProbeResult) -> Any:
    """The hops of one probe, in order, as a DataFrame (``step``, ``what happens``): the flow trace
    ``explain()`` prints, as a table. Works for any backend (kind reports fewer hops)."""
    import pandas as pd

    rows = [{"step": h.step, "what happens": h.detail} for h in result.hops]
    frame = pd.DataFrame(rows, columns=["step", "what happens"])
    frame.index = pd.RangeIndex(1, len(rows) + 1, name=result.summary())
    return frame


def wire_table(lab: Lab, source: str, destination: str, port: int, protocol: Protocol | str = Protocol.TCP) -> Any:
    """Every packet of one flow that crosses a node's interface on the node network: what a packet
    capture there (or an Azure NSG) sees. Encapsulated packets show what they carry.

    A model of the simulated cluster (it knows each packet without capturing it); ``source`` and
    ``destination`` are pods, nodes or external hosts, not Service names. On kind, capture for real:
    ``docker run --rm --net container:kind-worker nicolaka/netshoot tcpdump -ni eth0``."""
    import pandas as pd

    from .errors import LabError
    from .lab import SimulatedLab

    if not isinstance(lab, SimulatedLab):
        raise LabError("wire_table is a model of the simulated cluster: pass grader.connect(profile, backend='sim'); "
                       "on kind, capture with tcpdump in a node's network namespace")
    proto = Protocol.parse(protocol)
    src, dst = lab.traffic.source(source), lab.traffic.source(destination)
    path = lab.network.trace(src, dst, port, proto)
    profile = lab.profile
    rows = []
    for c in path.crossings:
        pkt = c.packet
        tunnel = profile.encapsulated and pkt.protocol is Protocol.UDP and pkt.dst_port == profile.tunnel_port and proto is not Protocol.UDP
        carries = f"{proto} {src.ip} → {dst.ip}:{port} (inside VXLAN)" if tunnel else ""
        rows.append({
            "interface": f"{c.node} eth0", "direction": "out" if c.direction == "Outbound" else "in",
            "protocol": str(pkt.protocol), "source": f"{pkt.src}:{pkt.src_port}", "destination": f"{pkt.dst}:{pkt.dst_port}",
            "carries": carries,
        })
    frame = pd.DataFrame(rows, columns=["interface", "direction", "protocol", "source", "destination", "carries"])
    frame.index = pd.RangeIndex(1, len(rows) + 1, name=f"{source} → {destination} {port}/{proto} on {profile.name}")
    if not path.routable:
        frame.attrs["no route"] = path.reason
    return frame




# -- dated facts -------------------------------------------------------------------------------


def cite(*fact_ids: str) -> None:
    """Print dated facts by id, one line each with its date and source (lessons cite this way, so
    ``tools/build_lessons.py`` can list where each fact is used in ``course/FACTS.md``)."""
    from .facts import fact

    for fid in fact_ids:
        print(f"- [{fid}] {fact(fid).cite()}")


__all__ = [
    "Check", "DoctorReport", "Status", "app_matrix", "cite", "doctor", "doctor_report", "explain_all", "lab_nodes",
    "nodes_table", "path_table", "pod_range", "pods_table", "profiles_table", "results_grid", "wire_table",
]
