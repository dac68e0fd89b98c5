"""Choosing a backend: ``connect()`` sits above both lab backends (``grader.lab`` the contract and
the simulated cluster, ``grader.kind`` the live one), so neither of them imports the other.
``grader.connect`` (the public facade) is this function."""

from __future__ import annotations

import os

from .cni import CniProfile, get_profile
from .errors import LabError
from .kind import environment
from .lab import Lab, SimulatedLab
from .session import first_time

BACKENDS = ("auto", "sim", "kind")


def kind_usable() -> tuple[bool, str]:
    """Whether the kind backend can run here, and why not (``grader.kind.environment``)."""
    return environment.usable()


def kind_ready(profile: str) -> tuple[bool, str]:
    """Whether auto mode uses kind for ``profile``: only when its cluster exists and is ready
    (``netlab up`` made it), so a lesson cell never creates a cluster (``environment.auto_choice``)."""
    return environment.auto_choice(profile)


def connect(profile: str | CniProfile | None = None, backend: str = "auto", *, quiet: bool = False,
            load_balancer: str | None = None) -> Lab:
    """A lab for ``profile`` (default ``kindnet``) on the chosen backend.

    ``backend="auto"`` uses kind only when the profile's kind cluster already exists and is ready
    (``netlab up --profile P`` made it) and the simulated cluster otherwise, saying on one line how
    to get a real one; it never creates a cluster. ``NETLAB_BACKEND=kind`` or ``backend="kind"``
    create what is missing; ``NETLAB_BACKEND=sim|kind`` decides instead of that detection. An explicit
    ``backend="sim"`` or ``"kind"`` is kept whatever the variable says: lessons ask for the
    simulated cluster on purpose when they compare five profiles side by side, or use a model
    only it has. One line on stdout says which and why (stdout, never stderr: nbgrader scores
    any stderr as a failure).

    ``load_balancer`` chooses who serves ``type: LoadBalancer`` Services on the simulated
    cluster: ``"cloud-provider-kind"`` (the default, as on kind) or ``"azure"`` (a model of
    Azure's pass-through Standard Load Balancer, whose NSG rules the NSG model adds). Only the
    simulated cluster has that model: with ``backend="auto"`` (and any ``NETLAB_BACKEND``) such a
    lab is the simulated cluster, and the line says so; ``backend="kind"`` raises :class:`LabError`.
    """
    prof = get_profile(profile)
    forced = os.environ.get("NETLAB_BACKEND", "").strip().lower()
    choice = forced if backend == "auto" and forced else backend
    if choice not in BACKENDS:
        raise LabError(f"unknown backend {choice!r}: expected one of {', '.join(BACKENDS)} (from NETLAB_BACKEND or backend=)")
    why = "NETLAB_BACKEND" if backend == "auto" and forced else "requested"
    if load_balancer not in (None, "cloud-provider-kind") and choice != "sim":
        if backend != "auto":
            raise LabError(f"load_balancer={load_balancer!r} is a model of the simulated cluster; kind serves LoadBalancer "
                           "Services with cloud-provider-kind: connect(..., backend='sim', load_balancer=...)")
        # Automatic choice (NETLAB_BACKEND included, which only replaces the detection): a lab that
        # needs an Azure model can only be the simulated cluster, whatever Docker and kind offer.
        choice = "sim"
        why = "Azure's load balancer and NSGs exist only there" + ("; NETLAB_BACKEND=kind does not apply" if forced == "kind" else "")
    detected = choice == "auto"
    if choice == "auto":
        ready, why = kind_ready(prof.name)
        choice = "kind" if ready else "sim"
    if choice == "kind":
        from .kind.lab import (
            KindLab,  # loaded on demand: `import grader` stays light (tests/manifests/test_import_time.py)
        )

        lab: Lab = KindLab(prof)
    else:
        lab = SimulatedLab(prof, load_balancer=load_balancer)
    if not quiet:
        where = "a real kind cluster" if choice == "kind" else "the simulated cluster"
        lb = f", LoadBalancer Services by {load_balancer}" if load_balancer not in (None, "cloud-provider-kind") else ""
        # Why kind is not used is said once per JupyterLab session (grader/session.py), not in every lesson.
        said = detected and choice == "sim" and not first_time(f"simulated cluster: {why}")
        print(f"netlab: profile {prof.name} on {where}{lb}" if said else f"netlab: profile {prof.name} on {where} ({why}{lb})")
    return lab


__all__ = ["BACKENDS", "connect", "kind_ready", "kind_usable"]
