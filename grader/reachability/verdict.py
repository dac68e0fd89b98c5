"""What a probe observed. Never a bare bool: "blocked" and "could not check" are different facts."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    ALLOWED = "allowed"
    """The connection was made (and, for UDP/SCTP, answered)."""
    BLOCKED = "blocked"
    """Dropped on the way (policy, NSG, source ranges): the client times out."""
    REFUSED = "refused"
    """Reached the destination, but nothing listens on that port (RST / ICMP port unreachable)."""
    DNS_FAILED = "dns"
    """The name did not resolve: NXDOMAIN, or DNS traffic itself was blocked."""
    PROBE_FAILED = "probe-failed"
    """The probe could not run (source pod missing or not running, exec error). Says nothing about policy."""
    UNKNOWN = "unknown"
    """Not probed (yet)."""

    @property
    def symbol(self) -> str:
        """One character for truth tables, following upstream e2e and cyclonus where they agree."""
        return _SYMBOLS[self]

    @property
    def connected(self) -> bool:
        return self is Verdict.ALLOWED


_SYMBOLS = {
    Verdict.ALLOWED: ".",
    Verdict.BLOCKED: "X",
    Verdict.REFUSED: "R",
    Verdict.DNS_FAILED: "D",
    Verdict.PROBE_FAILED: "!",
    Verdict.UNKNOWN: "?",
}

LEGEND = "  ".join(f"{v.symbol} {v.value}" for v in Verdict)
