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
    profile: Annotated[str, typer.Option(help="CNI profile whose semantics to use (kindnet, calico-vxlan, calico-flat, calico-bgp, cilium-tunnel, cilium-native): CNIs disagree on a few cases, e.g. Cilium's ipBlock never matches pod IPs.")] = "kindnet",
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


# --- kind backend: doctor, up, down, status -------------------------------------------------------

_PROFILE_HELP = "CNI profile: kindnet, calico-vxlan, calico-flat, calico-bgp, cilium-tunnel or cilium-native."


@app.command()
def doctor(
    brief: Annotated[bool, typer.Option("--brief", help="One line: which backend lessons will use and why (what `make lab` prints).")] = False,
    require_kind: Annotated[bool, typer.Option("--require-kind", help="Exit 1 unless the kind backend can run here.")] = False,
) -> None:
    """Check this machine for the course, and what real kind clusters need.

    Python and the course's packages; then Docker, kind, kubectl (and, once those work, Helm or
    the cilium CLI, inotify limits and memory), with how to fix each. Without Docker the course
    still works: every lesson runs on the simulated cluster. Lesson 0 shows the same report
    (grader.course.doctor).
    """
    if brief:
        from .kind import environment

        typer.echo(environment.brief())
        return
    from .course import doctor_report

    report = doctor_report()
    typer.echo(report.text())
    if require_kind and not report.kind_usable:
        raise typer.Exit(1)


def _cluster(profile: str) -> object:
    from .kind.cluster import KindCluster

    try:
        return KindCluster(profile)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def up(
    profile: Annotated[str, typer.Option("--profile", "-p", help=_PROFILE_HELP)] = "kindnet",
    recreate: Annotated[bool, typer.Option(help="Delete the profile's cluster first and create it again.")] = False,
) -> None:
    """Create (or reuse) the kind cluster of a profile, with its CNI.

    Checks first what the profile needs (Docker, kind at the version the node image needs, kubectl,
    Helm or the cilium CLI for Cilium) and prints every blocker at once; nothing is created then.
    Safe to rerun: an existing cluster is reused, an interrupted set-up resumes, and a half-created
    cluster is deleted and made again. Clusters are kept until `netlab down`.
    """
    from .cni import get_profile
    from .kind import environment

    try:
        name = get_profile(profile).name
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    stop = environment.blockers(environment.preflight(name))
    if stop:
        typer.echo(f"error: netlab up --profile {name} cannot run here; fix {'this' if len(stop) == 1 else 'these'} first:")
        for check in stop:
            typer.echo("  " + check.render().replace("\n", "\n  "))
        typer.echo("The course works without this: every lesson runs on the simulated cluster. `netlab doctor` checks again.")
        raise typer.Exit(1)
    from .kind.cluster import KindCluster

    cluster = _cluster(name)
    assert isinstance(cluster, KindCluster)
    try:
        status = cluster.ensure(recreate=recreate)
    except NetlabError as exc:
        typer.echo(f"error: {exc}")
        raise typer.Exit(1) from None
    typer.echo(status.render())
    typer.echo(f"kubectl: kubectl --kubeconfig {cluster.kubeconfig} get nodes")


@app.command()
def down(
    profile: Annotated[str | None, typer.Option("--profile", "-p", help=_PROFILE_HELP)] = None,
    all_profiles: Annotated[bool, typer.Option("--all", help="Delete every cluster the course created (netlab-*).")] = False,
) -> None:
    """Delete the kind cluster of a profile (or all course clusters).

    Only clusters named netlab-<profile> are touched.
    """
    from .kind.cluster import KindCluster, course_clusters
    from .kind.configs import profile_of_cluster

    if not profile and not all_profiles:
        raise typer.BadParameter("name a --profile, or pass --all")
    try:
        names = course_clusters() if all_profiles else [KindCluster(profile).name]
        for name in names:
            cluster = KindCluster(profile_of_cluster(name))
            cluster.delete()
            typer.echo(f"deleted {name}")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except NetlabError as exc:
        typer.echo(f"error: {exc}")
        raise typer.Exit(1) from None


@app.command()
def status(
    profile: Annotated[str | None, typer.Option("--profile", "-p", help=_PROFILE_HELP + " Default: every course cluster.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Show the course's kind clusters (nodes, set-up, kubeconfig)."""
    from .kind import environment
    from .kind.cluster import KindCluster, course_clusters, describe
    from .kind.configs import profile_of_cluster

    ok, why = environment.usable()
    if not ok:
        typer.echo(f"no kind backend here ({why}); lessons use the simulated cluster")
        return
    try:
        profiles = [profile] if profile else [p for p in (profile_of_cluster(c) for c in course_clusters()) if p]
        statuses = [KindCluster(p).status() for p in profiles]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except NetlabError as exc:
        typer.echo(f"error: {exc}")
        raise typer.Exit(1) from None
    if fmt == "json":
        typer.echo(json.dumps([describe(s) for s in statuses], indent=2))
    elif not statuses:
        typer.echo("no course clusters (create one with: netlab up --profile kindnet)")
    else:
        for st in statuses:
            typer.echo(st.render())


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
