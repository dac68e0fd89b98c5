"""Helpers the lessons in ``course/`` call: an environment check, tables of nodes, pods and
profiles, and a reachability grid over each destination's own port.

They sit on top of the Lab API, so a lesson runs unchanged on the simulated cluster and on kind.
Everything prints to stdout or returns objects Jupyter displays; nothing writes to stderr.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .cni import PROFILES, CniProfile
from .kind.environment import Check, Status
from .lab import Lab
from .model import Node, Pod, Protocol
from .reachability import ProbeResult, ReachabilityMatrix
from .render.tables import Table, table

# -- environment check: the one doctor (``netlab doctor`` prints the same report) -----------------

_PACKAGES = ("jupyterlab", "nbgrader", "matplotlib", "pandas", "kubernetes")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """What this machine has for the course, and which backend ``grader.connect()`` picks.

    ``checks`` are what every learner needs (Python, the course's packages); ``kind_checks`` what
    real kind clusters need (``grader.kind.environment.doctor``). When the simulated cluster is
    the backend, nothing in ``kind_checks`` is a problem: :meth:`text` lists what is missing for
    kind as optional steps, and leaves out the fixes that only matter once kind runs (inotify
    limits, memory, Helm), which ``netlab doctor`` shows as soon as Docker and kind work.
    """

    checks: tuple[Check, ...]
    kind_checks: tuple[Check, ...]
    backend: str
    """What ``grader.connect(backend="auto")`` would choose here: ``sim`` or ``kind``."""
    reason: str
    kind_usable: bool
    """Whether the kind backend can run here (``grader.kind.environment.usable``), whatever NETLAB_BACKEND says."""
    forced: bool = False
    """NETLAB_BACKEND chose the backend."""

    @property
    def problems(self) -> tuple[Check, ...]:
        """Checks that need fixing for the backend in use (nothing of kind's on the simulated cluster)."""
        mine = [c for c in self.checks if c.status is not Status.OK]
        if self.backend == "kind":
            mine += [c for c in self.kind_checks if c.status is not Status.OK]
        return tuple(mine)

    def text(self) -> str:
        lines = [c.render() for c in self.checks]
        where = ("a profile's real kind cluster once `netlab up` has made it" if self.backend == "kind" and not self.forced
                 else "a real kind cluster" if self.backend == "kind" else "the simulated cluster")
        missing = [c for c in self.kind_checks if c.needed_for_kind and c.status is not Status.OK]
        why = "real kind clusters need the optional steps below" if self.backend == "sim" and missing and not self.forced else self.reason
        lines.append(f"backend: {self.backend} — grader.connect() will use {where} ({why})")
        if self.backend == "kind":
            lines += ["", "Real kind clusters:"] + ["  " + c.render().replace("\n", "\n  ") for c in self.kind_checks]
            return "\n".join(lines)
        if not missing:
            return "\n".join(lines)
        lines += ["", "Optional, for real kind clusters (every lesson runs on the simulated cluster without them):"]
        for c in missing:
            lines.append(f"  - {c.name}: {c.detail}" + (f"\n      to use kind: {c.fix}" if c.fix else ""))
        lines.append("  (once Docker and kind work, `netlab doctor` also checks inotify limits, memory and Helm)")
        return "\n".join(lines)

    __str__ = text

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(self.text())  # type: ignore[attr-defined]


def doctor_report() -> DoctorReport:
    """Check this machine for the course: Python, packages, what kind needs, the backend choice."""
    from . import __version__
    from .kind import environment

    checks = []
    py = sys.version_info
    checks.append(Check("python", Status.OK if py >= (3, 11) else Status.FAIL, f"{py.major}.{py.minor}.{py.micro}",
                        "" if py >= (3, 11) else "the course needs Python 3.11 or newer", needed_for_kind=False))
    checks.append(Check("grader", Status.OK, f"{__version__} ({os.path.dirname(__file__)})", needed_for_kind=False))
    for dist in _PACKAGES:
        v = _version(dist)
        checks.append(Check(dist, Status.OK if v else Status.FAIL, v or "not installed", "" if v else "run `make lab` (or pip install -e .)",
                            needed_for_kind=False))
    usable, why = environment.usable()
    kind_checks = tuple(environment.doctor())
    forced = os.environ.get("NETLAB_BACKEND", "").strip().lower()
    if forced in ("sim", "kind"):
        backend, reason = forced, "NETLAB_BACKEND is set"
    else:
        backend, reason = ("kind", "Docker and kind are available; the simulated cluster until then") if usable else ("sim", why)
    return DoctorReport(tuple(checks), kind_checks, backend, reason, usable, forced in ("sim", "kind"))


def doctor() -> None:
    """Print :func:`doctor_report`: the same report as ``netlab doctor`` (stdout only)."""
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
    """Show several probes' explanations: one line each, the rest folded (see ``ProbeResult.explain``).

    In JupyterLab each is a ``<details>`` element; elsewhere one summary line each on stdout."""
    from IPython import get_ipython
    from IPython.display import display

    explanations = [r.explain() for r in results]
    if get_ipython() is None:
        print("\n".join(map(str, explanations)))
    else:
        display(*explanations)


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


def cite(*fact_ids: str) -> Table:
    """Dated facts by id as a compact table: the statement, the date it holds for, and its source
    (a short link in JupyterLab, the URL in plain text). Lessons cite this way, so
    ``tools/build_lessons.py`` can list where each fact is used in ``course/FACTS.md``."""
    from .facts import fact

    facts = [fact(fid) for fid in fact_ids]
    return table(("fact", "as of", "source"), [(f.text, f.as_of.isoformat(), f.sources[0]) for f in facts],
                 links=("source",), wrap={"fact": 60})


__all__ = [
    "Check", "DoctorReport", "Status", "app_matrix", "cite", "doctor", "doctor_report", "explain_all", "lab_nodes",
    "nodes_table", "path_table", "pod_range", "pods_table", "profiles_table", "results_grid", "wire_table",
]
