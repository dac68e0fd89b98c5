"""Expected reachability, written with wildcards, and its comparison with what was observed.

Follows upstream e2e's ``Reachability`` (``test/e2e/network/netpol/reachability.go``):
``expect``, ``expect_all_ingress``, ``expect_all_egress``, loopback ignored by default because
CNIs disagree on pod-to-itself (kubernetes#95879).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model import Protocol
from .matrix import ReachabilityMatrix
from .render import Heatmap, heatmap, html_grid, text_grid
from .verdict import LEGEND, Verdict


def matches(pattern: str, ref: str) -> bool:
    """``*`` (everything), ``x/*`` (namespace x), ``*/a``, ``x/web-*``, or an exact ``x/a``."""
    if pattern == "*":
        return True
    if "/" not in pattern:
        return fnmatch.fnmatchcase(ref, pattern)
    p_ns, _, p_name = pattern.partition("/")
    r_ns, _, r_name = ref.partition("/")
    return fnmatch.fnmatchcase(r_ns, p_ns) and fnmatch.fnmatchcase(r_name, p_name)


@dataclass(frozen=True, slots=True)
class Mismatch:
    source: str
    destination: str
    port: int | str | None
    protocol: Protocol
    expected: Verdict
    observed: Verdict
    reason: str

    def render(self) -> str:
        port = f"{self.port}/{self.protocol}" if self.port is not None else str(self.protocol)
        head = f"{self.source} → {self.destination} {port}: expected {self.expected.name}, observed {self.observed.name}"
        return head + ("\n    why: " + self.reason.replace("\n", "\n         ") if self.reason else "")


class Reachability:
    """What should be reachable. Later calls override earlier ones, so write general rules first."""

    def __init__(
        self, sources: Iterable[str], destinations: Iterable[str] | None = None, *,
        port: int | str | None = None, protocol: Protocol | str = Protocol.TCP,
        default: Verdict = Verdict.ALLOWED, ignore_loopback: bool = True,
    ) -> None:
        self.sources = tuple(sorted(dict.fromkeys(map(str, sources))))
        self.destinations = tuple(sorted(dict.fromkeys(map(str, destinations)))) if destinations is not None else self.sources
        self.port = port
        self.protocol = Protocol.parse(protocol)
        self.ignore_loopback = ignore_loopback
        self._expected = {(s, d): default for s in self.sources for d in self.destinations}

    def expect(self, source: str, destination: str, verdict: Verdict) -> Reachability:
        hit = False
        for s, d in self._expected:
            if matches(source, s) and matches(destination, d):
                self._expected[(s, d)] = verdict
                hit = True
        if not hit:
            raise KeyError(f"no (source, destination) pair matches {source!r} → {destination!r}")
        return self

    def expect_all_ingress(self, destination: str, verdict: Verdict) -> Reachability:
        return self.expect("*", destination, verdict)

    def expect_all_egress(self, source: str, verdict: Verdict) -> Reachability:
        return self.expect(source, "*", verdict)

    def expected(self, source: str, destination: str) -> Verdict:
        return self._expected[(source, destination)]

    def items(self) -> Iterable[tuple[tuple[str, str], Verdict]]:
        return self._expected.items()

    def compare(self, observed: ReachabilityMatrix) -> Comparison:
        return Comparison(self, observed)


class Comparison:
    """Expected vs observed. ``ok`` when every non-ignored cell agrees."""

    def __init__(self, expected: Reachability, observed: ReachabilityMatrix) -> None:
        self.expected = expected
        self.observed = observed
        wrong: list[Mismatch] = []
        self.right = 0
        self.ignored = 0
        for (s, d), want in expected.items():
            got = observed.verdict(s, d)
            if s == d and expected.ignore_loopback:
                self.ignored += 1
                continue
            if got is want:
                self.right += 1
                continue
            reason = observed.results[(s, d)].reason if (s, d) in observed.results else "not probed"
            wrong.append(Mismatch(s, d, observed.port, observed.protocol, want, got, reason))
        self.wrong = tuple(wrong)

    @property
    def ok(self) -> bool:
        return not self.wrong

    def summary(self) -> str:
        total = self.right + len(self.wrong)
        loop = f"; {self.ignored} loopback ignored" if self.ignored else ""
        if self.ok:
            return f"all {total} flows as expected{loop}"
        return f"{len(self.wrong)} wrong of {total} flows{loop}"

    def report(self, limit: int = 20) -> str:
        lines = [self.summary()]
        lines += [m.render() for m in self.wrong[:limit]]
        if len(self.wrong) > limit:
            lines.append(f"... and {len(self.wrong) - limit} more")
        return "\n".join(lines)

    def grids(self) -> str:
        """Expected, observed and diff grids in upstream's text form."""
        exp = self.expected
        rows, cols = exp.sources, exp.destinations
        wrong = {(m.source, m.destination) for m in self.wrong}
        parts = [
            "Expected:\n" + text_grid(rows, cols, lambda s, d: exp.expected(s, d).symbol),
            "Observed:\n" + text_grid(rows, cols, lambda s, d: self.observed.verdict(s, d).symbol),
            "Comparison (X = wrong):\n" + text_grid(rows, cols, lambda s, d: "X" if (s, d) in wrong else "."),
            LEGEND,
        ]
        return "\n\n".join(parts)

    def plot(self, title: str | None = None) -> Heatmap:
        marks = {(m.source, m.destination): "✗" for m in self.wrong}
        return heatmap(
            self.expected.sources, self.expected.destinations, self.observed.verdict,
            title or f"Observed {self.observed.title} (✗ = not as expected)", marks=marks,
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython's text/plain: the report
        printer.text(self.report())

    def _repr_html_(self) -> str:
        marks = {(m.source, m.destination): "✗" for m in self.wrong}
        table = html_grid(
            self.expected.sources, self.expected.destinations, self.observed.verdict,
            title=f"Observed {self.observed.title} — {self.summary()}", marks=marks,
            tooltip=lambda s, d: f"expected {self.expected.expected(s, d).name}",
        )
        return table

    def __str__(self) -> str:
        return self.report()
