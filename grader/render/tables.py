"""Small tables for people: an HTML table in JupyterLab, aligned plain text elsewhere.

Used where a lesson shows a few rows of reference material (``grader.course.cite``): compact,
out of the reading flow, the long parts (URLs) turned into short links in HTML.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

SMALL = "font-size:smaller"


def link_label(url: str) -> str:
    """``https://learn.microsoft.com/en-us/azure/aks/…`` -> ``learn.microsoft.com``."""
    parts = urlsplit(url)
    return parts.hostname or url


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of text cells under a header. Cells of the columns named in ``links`` are URLs."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    links: tuple[str, ...] = ()
    caption: str = ""
    wrap: tuple[tuple[str, int], ...] = ()
    """Columns whose text is wrapped to that many characters in the plain-text form."""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"rows[{i}]: {len(row)} cells for {len(self.columns)} columns {list(self.columns)}")

    def text(self) -> str:
        widths_of = dict(self.wrap)
        cells = [[textwrap.wrap(v, widths_of[c]) or [""] if c in widths_of else [v] for c, v in zip(self.columns, row, strict=True)]
                 for row in self.rows]
        widths = [max([len(c), *(len(line) for r in cells for line in r[i])]) for i, c in enumerate(self.columns)]
        lines = [self.caption] if self.caption else []
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)).rstrip())
        for row in cells:
            for k in range(max(len(c) for c in row)):
                lines.append("  ".join((c[k] if k < len(c) else "").ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(self.text())  # type: ignore[attr-defined]

    def _cell(self, column: str, value: str) -> str:
        if column in self.links and value.startswith(("http://", "https://")):
            return f"<a href='{html.escape(value)}' target='_blank' title='{html.escape(value)}'>{html.escape(link_label(value))}</a>"
        return html.escape(value)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{self._cell(c, v)}</td>" for c, v in zip(self.columns, row, strict=True)) + "</tr>"
            for row in self.rows
        )
        caption = f"<caption style='caption-side:top;text-align:left'>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table class='netlab-table' style='{SMALL}'>{caption}<tr>{head}</tr>{body}</table>"


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, links: Sequence[str] = (), caption: str = "",
          wrap: Mapping[str, int] | None = None) -> Table:
    return Table(tuple(columns), tuple(tuple(r) for r in rows), tuple(links), caption, tuple(sorted((wrap or {}).items())))


__all__ = ["Table", "link_label", "table"]
