"""Lab backends behind one API: the simulated cluster (always available) and kind (Docker)."""

from __future__ import annotations

import os

from ..cni import CniProfile, get_profile
from ..errors import LabError
from .base import Lab
from .sim import SimulatedLab

BACKENDS = ("auto", "sim", "kind")


def _kind_usable() -> tuple[bool, str]:
    """Whether the kind backend can run here, and why not."""
    try:
        from ..kind import environment  # type: ignore[attr-defined]
    except ImportError:
        return False, "the kind backend is not installed in this version of the course"
    return environment.usable()  # type: ignore[no-any-return]


def connect(profile: str | CniProfile | None = None, backend: str = "auto", *, quiet: bool = False) -> Lab:
    """A lab for ``profile`` (default ``kindnet``) on the chosen backend.

    ``backend="auto"`` uses kind when Docker and kind are usable and the simulated cluster
    otherwise; ``NETLAB_BACKEND=sim|kind`` overrides it. One line on stdout says which and why
    (stdout, never stderr: nbgrader scores any stderr as a failure).
    """
    prof = get_profile(profile)
    choice = os.environ.get("NETLAB_BACKEND", "").strip().lower() or backend
    if choice not in BACKENDS:
        raise LabError(f"unknown backend {choice!r}: expected one of {', '.join(BACKENDS)} (from NETLAB_BACKEND or backend=)")
    why = "NETLAB_BACKEND" if os.environ.get("NETLAB_BACKEND") else "requested"
    if choice == "auto":
        usable, reason = _kind_usable()
        choice = "kind" if usable else "sim"
        why = "Docker and kind are available" if usable else reason
    if choice == "kind":
        from ..kind.lab import KindLab  # type: ignore[import-not-found]

        lab: Lab = KindLab(prof)
    else:
        lab = SimulatedLab(prof)
    if not quiet:
        where = "a real kind cluster" if choice == "kind" else "the simulated cluster"
        print(f"netlab: profile {prof.name} on {where} ({why})")
    return lab


__all__ = ["BACKENDS", "Lab", "SimulatedLab", "connect"]
