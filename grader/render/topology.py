"""Draw a cluster: nodes on the node network, the pods on each node with their addresses, the
hosts outside the cluster, and (optionally) the flows a set of probes observed.

``draw_topology(lab)`` works on any Lab backend: it only calls ``lab.pods()`` and reads
``lab.profile``; node addresses come from ``lab.nodes()`` when a backend offers it, else from the
profile (the simulated cluster and the kind configs share them). A :class:`Topology` that is not
deployed yet is drawn by namespace, without addresses.
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..cni import NODE_NETWORK, CniProfile
from ..model import ContainerPort, ExternalHost, Node, Pod, Protocol
from ..reachability import ProbeResult, ReachabilityMatrix, Verdict
from ..reachability.endpoints import PodName, try_parse
from ..reachability.render import COLOURS
from ..topology import Topology, load_topology
from .picture import Picture, new_figure

NAMESPACE_COLOURS = (
    "#1e88e5", "#8e24aa", "#00897b", "#f4511e", "#6d4c41", "#3949ab", "#c0ca33", "#d81b60", "#546e7a", "#00acc1",
)
"""Fill colours for pods, one per namespace in sorted order (repeats after ten)."""

FLOW_STYLE: dict[Verdict, Any] = {
    Verdict.ALLOWED: "solid",
    Verdict.REFUSED: "solid",
    Verdict.BLOCKED: "dashed",
    Verdict.DNS_FAILED: "dotted",
    Verdict.PROBE_FAILED: "dotted",
    Verdict.UNKNOWN: "dotted",
}

# Layout, in inches (1 data unit = 1 inch, so text sizes are predictable).
_COL_W = 3.0
_COL_GAP = 0.45
_EMPTY_COL_W = 2.1
_POD_H = 0.78
_POD_GAP = 0.16
_HEAD_H = 0.95
_PAD = 0.18


@dataclass(frozen=True)
class _Box:
    """A drawn rectangle: its patch (for clipping arrows) and centre."""

    patch: Any
    x: float
    y: float
    column: int
    right: float | None = None
    """Right edge of a pod box (same-column arrows leave from there)."""


def _ports_text(ports: Sequence[ContainerPort]) -> str:
    by_proto: dict[Protocol, list[int]] = {}
    for c in ports:
        by_proto.setdefault(c.protocol, []).append(c.port)
    if not by_proto:
        return "no ports"
    if set(by_proto) == {Protocol.TCP}:
        return "ports " + ", ".join(str(p) for p in sorted(set(by_proto[Protocol.TCP])))
    return " · ".join(f"{proto} {','.join(str(p) for p in sorted(set(nums)))}" for proto, nums in sorted(by_proto.items()))


def _labels_text(labels: Mapping[str, str]) -> str:
    """``app=web, tier=frontend`` (the automatic namespace-name label left out: every namespace has it)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "kubernetes.io/metadata.name")


def _node_ranges(node: Node, pods: Sequence[Pod], profile: CniProfile | None) -> str:
    """What the node hands out to pods: its podCIDR, or (Calico) the IPAM blocks its pods come from."""
    if profile is not None and profile.cni == "calico":
        blocks = sorted(
            {ipaddress.ip_network(f"{p.ip}/{profile.node_block_prefix}", strict=False) for p in pods if p.ip is not None},
            key=lambda n: (n.version, int(n.network_address)),
        )
        return "Calico blocks " + ", ".join(map(str, blocks)) if blocks else "Calico blocks: none yet"
    if node.pod_cidr is not None:
        return f"podCIDR {node.pod_cidr}"
    return ""


def _lab_parts(lab: Any, system: bool) -> tuple[list[Pod], list[Pod], list[Node], CniProfile | None, list[ExternalHost]]:
    """Drawn pods, hidden (system) pods, nodes, profile, external hosts."""
    pods = list(lab.pods())
    hidden = list(lab.pods("kube-system"))
    if system:
        pods, hidden = sorted([*pods, *hidden], key=lambda p: p.ref), []
    profile = getattr(lab, "profile", None)
    nodes_fn = getattr(lab, "nodes", None)
    if callable(nodes_fn):
        nodes = list(nodes_fn())
    elif profile is not None:
        nodes = list(profile.nodes())
    else:
        nodes = []
    listed = getattr(lab, "external_hosts", None)
    if callable(listed):
        hosts = list(listed())
    else:  # a lab-like object without the method: its state's table, if any
        table = getattr(getattr(lab, "state", None), "external_hosts", None)
        hosts = list(table.values()) if table else []
    externals = sorted(hosts, key=lambda h: (h.where != "host", h.where != "vnet", h.name))
    return pods, hidden, nodes, profile, externals


def _with_flow_pods(lab: Any, pods: list[Pod], flows: Sequence[ProbeResult]) -> list[Pod]:
    """``pods`` plus the pods that flows start or end at, looked up in their namespace."""
    drawn = {str(p.ref) for p in pods}
    extra: list[Pod] = []
    for r in flows:
        for name in (r.probe.source, r.probe.destination):
            parsed = try_parse(name)
            if not isinstance(parsed, PodName) or name in drawn:
                continue
            found = next((p for p in lab.pods(parsed.namespace) if str(p.ref) == name), None)
            if found is not None:
                extra.append(found)
                drawn.add(name)
    return sorted([*pods, *extra], key=lambda p: p.ref) if extra else pods


def _host_where(host: ExternalHost) -> str:
    if host.description.startswith("cloud-provider-kind Envoy"):
        return "cloud-provider-kind Envoy"
    return {"host": "your machine", "vnet": "VM on the node network", "internet": "on the internet"}.get(host.where, host.where)


def _fit(text: str, width: float, per_char: float) -> str:
    """``text`` shortened with an ellipsis to fit ``width`` inches at ``per_char`` inches a character."""
    room = max(4, int(width / per_char))
    return text if len(text) <= room else text[: room - 1] + "…"


def _flows(flows: ReachabilityMatrix | ProbeResult | Iterable[ProbeResult] | None) -> list[ProbeResult]:
    if flows is None:
        return []
    if isinstance(flows, ProbeResult):
        return [flows]
    if isinstance(flows, ReachabilityMatrix):
        return [flows.results[(s, d)] for s in flows.sources for d in flows.destinations if (s, d) in flows.results]
    return list(flows)


def draw_topology(
    source: Any,
    *,
    flows: ReachabilityMatrix | ProbeResult | Iterable[ProbeResult] | None = None,
    title: str | None = None,
    externals: Iterable[ExternalHost] | None = None,
    system: bool = False,
    show: Iterable[Verdict] | None = None,
    labels: bool | None = None,
) -> Picture:
    """Draw ``source`` (a Lab, a :class:`Topology`, or a built-in topology name).

    Args:
        flows: probe results (or a matrix) to draw as arrows, coloured by verdict: green allowed,
            red dashed blocked, orange refused. Pod-to-itself results are left out.
        externals: hosts outside the cluster to draw (a simulated lab supplies its own).
        system: also draw kube-system pods (CoreDNS).
        show: only draw flows with these verdicts (default: all).
        labels: print each pod's labels in its box (default: only for a topology not deployed).
    """
    profile: CniProfile | None = None
    if isinstance(source, (str, Topology, Mapping)):
        topo = load_topology(source)
        pods = list(topo.pods)
        hidden: list[Pod] = []
        nodes: list[Node] = []
        ext: list[ExternalHost] = []
        ns_objects = list(topo.namespaces)
        heading = title or f"topology {topo.name}"
    else:
        pods, hidden, nodes, profile, ext = _lab_parts(source, system)
        ns_objects = list(source.namespaces()) if callable(getattr(source, "namespaces", None)) else []
        heading = title or (f"the lab: profile {profile.name}" if profile is not None else "the lab")
    if externals is not None:
        ext = list(externals)
    wanted = set(show) if show is not None else set(Verdict)
    drawn_flows = [r for r in _flows(flows) if not r.loopback and r.probe.source != r.probe.destination and r.verdict in wanted]
    if nodes:
        # A flow's end is drawn even when lab.pods() leaves it out (an ingress controller, CoreDNS).
        pods = _with_flow_pods(source, pods, drawn_flows)
        hidden = [p for p in hidden if p not in pods]

    show_labels = (not nodes) if labels is None else labels
    pod_h = _POD_H + (0.22 if show_labels else 0.0)
    ns_labels = {n.name: _labels_text(n.labels) for n in ns_objects}
    namespaces = sorted({p.namespace for p in pods})
    colour = {ns: NAMESPACE_COLOURS[i % len(NAMESPACE_COLOURS)] for i, ns in enumerate(namespaces)}

    columns: list[tuple[str, list[Pod], Node | None]]
    if nodes:
        columns = [(n.name, [p for p in pods if p.node == n.name], n) for n in nodes]
    else:
        columns = [(ns, [p for p in pods if p.namespace == ns], None) for ns in namespaces]
    on_network = [h for h in ext if h.where != "internet"] if nodes else []
    stacked = [h for h in ext if h not in on_network]
    rows = max([len(c[1]) for c in columns] + [1])
    col_h = max(_HEAD_H + rows * (pod_h + _POD_GAP), _HEAD_H + len(stacked) * (_POD_H + _POD_GAP)) + _PAD
    widths = [_COL_W if col_pods else _EMPTY_COL_W for _, col_pods, _ in columns]
    x_starts = []
    x = _COL_GAP
    for w in widths:
        x_starts.append(x)
        x += w + _COL_GAP
    ext_x = x
    width = x + (_COL_W + _COL_GAP if ext else 0.0)
    bar_h = 0.45 if nodes else 0.0
    below = (_POD_H + 0.45) if on_network else 0.0
    bar_y = 0.3 + below
    bottom = bar_y + (bar_h + 0.6 if nodes else 0.0)
    height = bottom + col_h + 1.25

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from matplotlib.lines import Line2D
        from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

    fig = new_figure(width, height)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    ax.text(_COL_GAP, height - 0.35, heading, fontsize=13, fontweight="bold", va="center")

    boxes: dict[str, _Box] = {}
    top = bottom + col_h

    def host_box(host: ExternalHost, hx: float, hy: float, hw: float) -> None:
        internet = host.where == "internet"
        patch = FancyBboxPatch(
            (hx, hy), hw, _POD_H, boxstyle="round,pad=0,rounding_size=0.08",
            facecolor="white", edgecolor="#37474f", linewidth=1.2, linestyle="dashed" if internet else "solid",
        )
        ax.add_patch(patch)
        ax.text(hx + 0.1, hy + _POD_H - 0.19, _fit(host.name, hw - 0.15, 0.075), fontsize=9, fontweight="bold", va="center")
        ax.text(hx + 0.1, hy + _POD_H / 2 - 0.02, str(host.ip), fontsize=8, va="center", family="monospace")
        ax.text(hx + 0.1, hy + 0.17, _fit(_host_where(host), hw - 0.15, 0.048), fontsize=7, va="center", color="#424242")
        boxes[host.name] = _Box(patch, hx + hw / 2, hy + _POD_H / 2, 0)

    for i, (name, col_pods, node) in enumerate(columns):
        x0, cw = x_starts[i], widths[i]
        frame = FancyBboxPatch(
            (x0, bottom), cw, col_h, boxstyle="round,pad=0,rounding_size=0.12",
            facecolor="#f5f5f5", edgecolor="#616161", linewidth=1.2,
        )
        ax.add_patch(frame)
        if node is not None:
            role = "control plane" if node.role == "control-plane" else "worker"
            ax.text(x0 + 0.15, top - 0.28, node.name, fontsize=9.5, fontweight="bold", va="center")
            ax.text(x0 + 0.15, top - 0.55, f"{role} · {node.ip}", fontsize=8, va="center", family="monospace")
            ax.text(x0 + 0.15, top - 0.78, _node_ranges(node, [*col_pods, *(p for p in hidden if p.node == node.name)], profile),
                    fontsize=7.5, va="center", family="monospace", color="#424242")
            boxes[f"node:{node.name}"] = _Box(frame, x0 + cw / 2, bottom + col_h / 2, i)
        else:
            ax.text(x0 + 0.15, top - 0.32, f"namespace {name}", fontsize=9.5, fontweight="bold", va="center", color=colour.get(name, "#000"))
            ax.text(x0 + 0.15, top - 0.6, ns_labels.get(name) or "no labels", fontsize=7.5, va="center", family="monospace", color="#424242")
        if not col_pods:
            ax.text(x0 + cw / 2, top - _HEAD_H - 0.35, "system pods only" if node is not None and node.role == "control-plane" else "no pods",
                    fontsize=8, ha="center", va="center", color="#757575", style="italic")
        for j, pod in enumerate(col_pods):
            py = top - _HEAD_H - (j + 1) * (pod_h + _POD_GAP) + _POD_GAP
            px = x0 + 0.15
            pw = cw - 0.3
            patch = FancyBboxPatch(
                (px, py), pw, pod_h, boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=colour[pod.namespace], edgecolor="white", linewidth=1.0, alpha=0.92,
            )
            ax.add_patch(patch)
            lines = [
                (_fit(str(pod.ref), pw - 0.2, 0.075), {"fontsize": 9, "fontweight": "bold"}),
                (str(pod.ip) if pod.ip is not None else "no IP until deployed", {"fontsize": 8, "family": "monospace"}),
            ]
            if show_labels:
                lines.append((_labels_text(pod.labels) or "no labels", {"fontsize": 7, "family": "monospace"}))
            lines.append((_ports_text(pod.ports), {"fontsize": 7}))
            step = (pod_h - 0.19 - 0.17) / (len(lines) - 1)
            for k, (text, kw) in enumerate(lines):
                ax.text(px + 0.12, py + pod_h - 0.19 - k * step, text,
                        color="white", va="center", **kw)
            boxes[str(pod.ref)] = _Box(patch, px + pw / 2, py + pod_h / 2, i, px + pw)

    if nodes:
        bar = FancyBboxPatch((_COL_GAP, bar_y), width - 2 * _COL_GAP, bar_h, boxstyle="round,pad=0,rounding_size=0.1",
                             facecolor="#37474f", edgecolor="none")
        ax.add_patch(bar)
        ax.text(_COL_GAP + 0.15, bar_y + bar_h / 2, f"node network {NODE_NETWORK}  (kind: a Docker network; AKS: the cluster's virtual network subnet)",
                fontsize=8, color="white", va="center")
        for i in range(len(columns)):
            cx = x_starts[i] + widths[i] / 2
            ax.add_line(Line2D([cx, cx], [bar_y + bar_h, bottom], color="#37474f", linewidth=2.5))
    if stacked:
        ax.text(ext_x + 0.1, top - 0.28, "internet" if nodes else "outside the cluster", fontsize=9.5, fontweight="bold", va="center")
        for j, host in enumerate(stacked):
            host_box(host, ext_x, top - _HEAD_H - (j + 1) * (_POD_H + _POD_GAP) + _POD_GAP, _COL_W)
    if on_network:
        # A row under the node network, ending at the right edge; boxes keep a readable width and
        # extend leftwards under the nodes when there are more than two.
        hw = 1.4
        right = ext_x + _COL_W
        if len(on_network) * (hw + 0.2) > right - _COL_GAP:
            hw = (right - _COL_GAP) / len(on_network) - 0.2
        for j, host in enumerate(on_network):
            hx = right - (len(on_network) - j) * (hw + 0.2) + 0.2
            host_box(host, hx, 0.3, hw)
            ax.add_line(Line2D([hx + hw / 2] * 2, [0.3 + _POD_H, bar_y], color="#37474f", linewidth=1.5))

    ports = {r.port_label for r in drawn_flows}
    label_ports = len(ports) > 1
    for r in drawn_flows:
        a, b = boxes.get(r.probe.source), boxes.get(r.probe.destination)
        if a is None or b is None:
            continue
        style: dict[str, Any] = {
            "arrowstyle": "-|>", "mutation_scale": 14, "color": COLOURS[r.verdict], "linewidth": 2.0,
            "linestyle": FLOW_STYLE[r.verdict], "zorder": 5,
        }
        if a.column == b.column and a.right is not None and b.right is not None:
            # Same column: leave by the right edge and bulge into the gap, so the arrow stays visible.
            distance = abs(a.y - b.y) or 1.0
            arrow = FancyArrowPatch((a.right, a.y), (b.right, b.y), connectionstyle=f"arc3,rad={-0.5 / distance if a.y > b.y else 0.5 / distance:.3f}",
                                    shrinkA=1, shrinkB=1, **style)
            mid = (a.right + 0.25, (a.y + b.y) / 2)
        else:
            rad = 0.18
            arrow = FancyArrowPatch((a.x, a.y), (b.x, b.y), patchA=a.patch, patchB=b.patch, connectionstyle=f"arc3,rad={rad}", **style)
            # Midpoint of matplotlib's arc3 Bezier curve (control point offset rad * (dy, -dx)).
            mid = ((a.x + b.x) / 2 + rad / 2 * (b.y - a.y), (a.y + b.y) / 2 - rad / 2 * (b.x - a.x))
        arrow.set_gid(f"flow {r.summary()}")
        ax.add_patch(arrow)
        if label_ports:
            ax.text(*mid, r.port_label, fontsize=7, ha="center", va="center", zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": COLOURS[r.verdict], "linewidth": 0.8})

    handles: list[Any] = [
        Patch(facecolor=colour[ns], label=f"namespace {ns}" + (f" ({ns_labels[ns]})" if nodes and ns_labels.get(ns) else ""))
        for ns in namespaces
    ]
    verdicts = sorted({r.verdict for r in drawn_flows}, key=list(Verdict).index)
    handles += [Line2D([0], [0], color=COLOURS[v], linewidth=2, linestyle=FLOW_STYLE[v], label=v.value) for v in verdicts]
    if handles:
        suffix = f" on {ports.pop()}" if len(ports) == 1 else ""
        if verdicts:
            handles.insert(len(namespaces), Patch(facecolor="none", edgecolor="none", label=f"flows{suffix}:"))
        ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncol=min(len(handles), 4),
                  bbox_to_anchor=(_COL_GAP / width, (height - 0.55) / height), borderaxespad=0.0, handlelength=1.6)
    return Picture(fig, title=heading)

