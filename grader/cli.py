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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
