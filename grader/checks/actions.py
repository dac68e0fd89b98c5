"""Setup actions: what a test cell does to the lab before the answer is applied, beyond ``given`` objects.

``check.setup("name", **params)`` (or a convenience method of :class:`grader.checks.Check`) records
a step; the verifier runs the steps in order on the fresh lab, then applies the answer. Register a
new action with ``@action("name")``: it receives the check's context (for its certificate
authorities and answers), the lab and the parameters. Raise :class:`SpecError` for a test cell's
mistake and :class:`grader.errors.LabError` when the backend cannot do it (the outcome then says
the lab could not run the check); never write to stderr.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from ..errors import LabError, ManifestError
from ..lab import SimulatedLab
from .vocabulary import SpecError

Action = Callable[[Any, Any, dict[str, Any]], None]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(fn: Action) -> Action:
        ACTIONS[name] = fn
        return fn

    return register


def _need(p: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if k not in p]
    if missing:
        raise SpecError(f"setup action needs {', '.join(missing)}")


@action("install_ingress_controller")
def install_ingress_controller(ctx: Any, lab: Any, p: dict[str, Any]) -> None:
    """An in-cluster ingress controller (``ingress-nginx``: its pod, LoadBalancer Service and IngressClass ``nginx``)."""
    try:
        lab.install_ingress_controller(p.get("name", "ingress-nginx"), default=bool(p.get("default", False)))
    except (KeyError, ValueError) as exc:
        raise SpecError(f"install_ingress_controller: {exc}") from None


@action("install_gateway_class")
def install_gateway_class(ctx: Any, lab: Any, p: dict[str, Any]) -> None:
    """A Gateway API implementation whose Gateways are pods (``approuting-istio``: AKS application routing's)."""
    try:
        lab.install_gateway_class(p.get("name", "approuting-istio"))
    except (KeyError, ValueError) as exc:
        raise SpecError(f"install_gateway_class: {exc}") from None


@action("set_ready")
def set_ready(ctx: Any, lab: Any, p: dict[str, Any]) -> None:
    """A pod that fails (``ready: false``) or passes its readiness probe."""
    _need(p, "pod")
    try:
        lab.set_ready(str(p["pod"]), bool(p.get("ready", False)))
    except LabError as exc:
        raise SpecError(f"set_ready {p['pod']}: {exc}") from None


@action("tls_secret")
def tls_secret(ctx: Any, lab: Any, p: dict[str, Any]) -> None:
    """A TLS Secret whose certificate covers ``hosts``, issued by the check's CA ``ca`` (grader.tls)."""
    _need(p, "name", "namespace", "hosts")
    cert = ctx.ca(str(p.get("ca", "course CA"))).issue([str(h) for h in p["hosts"]])
    try:
        lab.apply(cert.secret(str(p["name"]), str(p["namespace"])))
    except ManifestError as exc:
        raise SpecError(f"tls_secret {p['namespace']}/{p['name']}: {exc}") from None


@action("add_external_host")
def add_external_host(ctx: Any, lab: Any, p: dict[str, Any]) -> None:
    """A named host outside the cluster (simulated cluster only: kind cannot invent internet hosts)."""
    _need(p, "name", "ip")
    if not isinstance(lab, SimulatedLab):
        raise LabError(f"this check adds the external host {p['name']}, which only the simulated cluster can do; "
                       "grade it with NETLAB_BACKEND=sim")
    try:
        ipaddress.ip_address(str(p["ip"]))
    except ValueError:
        raise SpecError(f"add_external_host {p['name']}: {p['ip']!r} is not an IP address") from None
    lab.add_external_host(str(p["name"]), str(p["ip"]), ports=tuple(int(x) for x in p.get("ports", (80, 443))))


@action("add_neighbour_host")
def add_neighbour_host(ctx: Any, lab: Any, p: dict[str, Any]) -> None:
    """A host outside the cluster next to one an answer may reach (``203.0.113.11`` beside
    api.example.com's ``.10``), which no answer may reach: a probe to it that must be blocked
    catches an ipBlock (or NSG prefix) wider than the one address the task asks for.

    The simulated cluster creates it. kind cannot invent internet hosts, so there the address stays
    empty and a probe to it is blocked (nothing answers) whatever the answer: the test still passes
    a right answer on kind, but only the simulated cluster catches the too-wide range."""
    _need(p, "name", "ip")
    try:
        ipaddress.ip_address(str(p["ip"]))
    except ValueError:
        raise SpecError(f"add_neighbour_host {p['name']}: {p['ip']!r} is not an IP address") from None
    if isinstance(lab, SimulatedLab):
        lab.add_external_host(str(p["name"]), str(p["ip"]), ports=tuple(int(x) for x in p.get("ports", (80, 443))))
