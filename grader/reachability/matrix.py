"""Observed reachability: one probe result per (source, destination) for one port/protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..model import Protocol
from .probe import ProbeResult
from .render import Heatmap, heatmap, html_grid, text_grid
from .verdict import LEGEND, Verdict


@dataclass(frozen=True)
class ReachabilityMatrix:
    port: int | str | None
    protocol: Protocol
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    results: Mapping[tuple[str, str], ProbeResult]

    @property
    def title(self) -> str:
        port = "declared ports" if self.port is None else str(self.port)
        return f"{port}/{self.protocol}"

    def result(self, source: str, destination: str) -> ProbeResult:
        return self.results[(source, destination)]

    def verdict(self, source: str, destination: str) -> Verdict:
        found = self.results.get((source, destination))
        return found.verdict if found is not None else Verdict.UNKNOWN

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results.values() if r.verdict is verdict)

    def text(self) -> str:
        grid = text_grid(self.sources, self.destinations, lambda s, d: self.verdict(s, d).symbol, corner=self.title)
        return f"{grid}\n{LEGEND}"

    __str__ = text

    def to_frame(self) -> Any:
        """A pandas DataFrame of verdict names (rows: sources, columns: destinations)."""
        import pandas as pd

        return pd.DataFrame(
            [[self.verdict(s, d).value for d in self.destinations] for s in self.sources],
            index=pd.Index(self.sources, name="from"),
            columns=pd.Index(self.destinations, name="to"),
        )

    def to_records(self) -> list[dict[str, Any]]:
        """``{from, to, port, protocol, verdict, reason}`` per cell, in table order (the CLI's JSON)."""
        out = []
        for s in self.sources:
            for d in self.destinations:
                r = self.results.get((s, d))
                if r is None:
                    continue
                out.append({
                    "from": s, "to": d, "port": r.probe.port, "protocol": str(r.probe.protocol),
                    "verdict": r.verdict.value, "reason": r.reason,
                })
        return out

    def plot(self, title: str | None = None) -> Heatmap:
        return heatmap(self.sources, self.destinations, self.verdict, title or f"Reachability {self.title}")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text form (``text/plain``, what a terminal, nbconvert's text export and an
        output's fallback show): the text grid, not the dataclass repr of every probe result and hop
        (that was 96 KB for a 9x9 matrix, carried in every saved and graded notebook)."""
        printer.text(self.text())

    def _repr_html_(self) -> str:
        return html_grid(
            self.sources, self.destinations, self.verdict, title=f"Reachability {self.title}",
            tooltip=lambda s, d: self.results[(s, d)].reason if (s, d) in self.results else "",
        )
