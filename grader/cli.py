"""``netlab``: the course's command line. Works on both backends where it touches a cluster.

Subcommands live here as thin functions over the package; their help text explains the *why*.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .errors import NetlabError
from .model import Protocol

app = typer.Typer(
    add_completion=False, no_args_is_help=True,
    help="Kubernetes networking lab: analyse policies offline, probe simulated or kind clusters.",
)


@app.callback()
def _root() -> None:
    """Kubernetes networking lab: analyse policies offline, probe simulated or kind clusters."""


def _parse_probe(text: str) -> tuple[int, Protocol]:
    port, _, proto = text.partition("/")
    try:
        return int(port), Protocol.parse(proto or "TCP")
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: expected PORT or PORT/PROTOCOL, e.g. 80/TCP ({exc})") from None


@app.command()
def matrix(
    topology: Annotated[Path, typer.Argument(help="Topology YAML (namespaces:, pods:, optional policies:) or a built-in name: e2e, shop.")],
    manifests: Annotated[list[Path] | None, typer.Argument(help="NetworkPolicy manifests to apply on top of the topology.")] = None,
    probe: Annotated[list[str] | None, typer.Option("--probe", "-p", help="PORT/PROTOCOL to probe, repeatable (e.g. -p 80/TCP -p 53/UDP). Default: every port the destination pods declare.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table (truth tables, upstream style) or json (list of {from, to, port, protocol, verdict, reason}).")] = "table",
    profile: Annotated[str, typer.Option(help="CNI profile whose semantics to use (kindnet, calico-vxlan, calico-bgp, cilium-tunnel, cilium-native): CNIs disagree on a few cases, e.g. Cilium's ipBlock never matches pod IPs.")] = "kindnet",
) -> None:
    """Evaluate reachability offline, like an analyzer: no cluster needed.

    Pod-to-pod verdicts for every source and destination pod of the topology, after applying
    the topology's own policies: and MANIFESTS. Exit code 0 on success, 2 on invalid input.
    """
    from .lab.sim import SimulatedLab

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    try:
        lab = SimulatedLab(profile)
        topo_arg = str(topology) if str(topology) in ("e2e", "shop") else topology
        lab.deploy(topo_arg)  # type: ignore[arg-type]
        for m in manifests or []:
            lab.apply(m)
        ports = [_parse_probe(p) for p in probe] if probe else None
        matrices = lab.matrices(ports)
    except (NetlabError, ValueError) as exc:
        typer.echo(f"error: {exc}")
        raise typer.Exit(2) from None
    if fmt == "json":
        typer.echo(json.dumps([r for m in matrices for r in m.to_records()], indent=2))
    else:
        typer.echo("\n\n".join(m.text() for m in matrices))


@app.command()
def plan(
    nodes: Annotated[int, typer.Option(help="Nodes you plan to run (before scaling).")],
    model: Annotated[str, typer.Option(help="overlay (Azure CNI Overlay: pods in a private CIDR, a /24 per node) or flat (node subnet: pods take VNet addresses).")] = "overlay",
    max_pods: Annotated[int | None, typer.Option(help="Max pods per node (default: 250 overlay, 30 flat node subnet).")] = None,
    max_surge: Annotated[int, typer.Option(help="Extra nodes during upgrades (max surge).")] = 1,
    scale_up: Annotated[int, typer.Option(help="Further nodes you expect to scale to.")] = 0,
    pod_cidr: Annotated[str | None, typer.Option(help="Proposed pod CIDR (overlay), checked for size, overlaps and reserved ranges.")] = None,
    node_subnet: Annotated[str | None, typer.Option(help="Proposed node subnet, checked against the other ranges.")] = None,
    service_cidr: Annotated[str | None, typer.Option(help="Proposed service CIDR (must be smaller than /12).")] = None,
    dns_service_ip: Annotated[str | None, typer.Option(help="Proposed DNS service IP (inside the service CIDR, not its first address).")] = None,
    peered: Annotated[list[str] | None, typer.Option(help="Peered or on-premises ranges that must not overlap, repeatable.")] = None,
) -> None:
    """AKS IP address planning with Microsoft's formulas (an Azure calculator; kind needs none of this).

    Exit code 0 when the plan holds, 1 when AKS would reject it, 2 on invalid input.
    """
    from .planning import errors, flat_plan, overlay_plan, usable, validate_ranges

    try:
        if model == "flat":
            fp = flat_plan(nodes, max_pods=max_pods, max_surge=max_surge, scale_up=scale_up)
            typer.echo(f"flat (node subnet): {fp.formula} addresses → node subnet /{fp.prefix} or larger ({usable(fp.prefix):,} usable)")
            findings = list(validate_ranges(node_subnet=node_subnet, service_cidr=service_cidr, dns_service_ip=dns_service_ip,
                                            peered=peered or ()))
        elif model == "overlay":
            op = overlay_plan(nodes, max_pods=max_pods, max_surge=max_surge, scale_up=scale_up, pod_cidr=pod_cidr)
            typer.echo(f"overlay: node subnet /{op.node_subnet_prefix} or larger for {op.nodes + op.max_surge} nodes; "
                       f"pod CIDR /{op.pod_cidr_prefix} serves {op.pod_cidr_nodes:,} nodes (a /24 each, up to {op.max_pods} pods)")
            findings = list(op.findings) + list(validate_ranges(node_subnet=node_subnet, pod_cidr=pod_cidr, service_cidr=service_cidr,
                                                                dns_service_ip=dns_service_ip, peered=peered or ()))
        else:
            raise typer.BadParameter("--model must be overlay or flat")
    except (NetlabError, ValueError) as exc:
        typer.echo(f"error: {exc}")
        raise typer.Exit(2) from None
    for f in findings:
        typer.echo(str(f))
    if errors(findings):
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
