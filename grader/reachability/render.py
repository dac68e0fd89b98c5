"""Truth tables for people: aligned text (upstream style), coloured HTML, and a heatmap PNG.

matplotlib is imported lazily and only through its object-oriented API (no pyplot state, no
GUI backend), and nothing here writes to stderr: nbgrader scores any stderr as a failure.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .verdict import LEGEND, Verdict

COLOURS = {
    Verdict.ALLOWED: "#4caf50",
    Verdict.BLOCKED: "#e53935",
    Verdict.REFUSED: "#fb8c00",
    Verdict.DNS_FAILED: "#8e24aa",
    Verdict.PROBE_FAILED: "#546e7a",
    Verdict.UNKNOWN: "#e0e0e0",
}

Cell = Callable[[str, str], str]


def text_grid(rows: Sequence[str], cols: Sequence[str], cell: Cell, corner: str = "-") -> str:
    """Rows are sources, columns destinations, like upstream's ``PrintSummary``."""
    width = max([len(corner), *map(len, rows)])
    col_w = [max(len(c), 1) for c in cols]
    lines = [" ".join([corner.ljust(width), *(c.rjust(w) for c, w in zip(cols, col_w, strict=True))])]
    for r in rows:
        lines.append(" ".join([r.ljust(width), *(cell(r, c).rjust(w) for c, w in zip(cols, col_w, strict=True))]))
    return "\n".join(lines)


def html_grid(
    rows: Sequence[str], cols: Sequence[str], verdict: Callable[[str, str], Verdict | None],
    title: str = "", tooltip: Callable[[str, str], str] | None = None, marks: Mapping[tuple[str, str], str] | None = None,
) -> str:
    head = "".join(f'<th style="writing-mode:vertical-rl;transform:rotate(180deg);padding:2px">{html.escape(c)}</th>' for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = verdict(r, c)
            colour = COLOURS[v] if v is not None else "#ffffff"
            sym = v.symbol if v is not None else ""
            mark = (marks or {}).get((r, c), "")
            tip = html.escape(tooltip(r, c)) if tooltip else ""
            border = "outline:3px solid #000;" if mark else ""
            cells.append(f'<td title="{tip}" style="background:{colour};{border}text-align:center;min-width:1.4em;color:#fff;font-family:monospace">{html.escape(sym + mark)}</td>')
        body.append(f'<tr><th style="text-align:right;padding-right:4px">{html.escape(r)}</th>{"".join(cells)}</tr>')
    caption = f"<caption style='caption-side:top;font-weight:bold'>{html.escape(title)}</caption>" if title else ""
    legend = f"<div style='font-family:monospace;font-size:smaller'>{html.escape(LEGEND)}</div>"
    return f"<table style='border-collapse:collapse'>{caption}<tr><th>from \\ to</th>{head}</tr>{''.join(body)}</table>{legend}"


class Heatmap:
    """A rendered reachability picture. Displays itself in Jupyter (``_repr_png_``) without pyplot."""

    def __init__(self, figure: object) -> None:
        self.figure = figure

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def save(self, path: str) -> None:
        self.figure.savefig(path, dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]


def paint_verdicts(ax: Any, rows: Sequence[str], cols: Sequence[str], verdict: Callable[[str, str], Verdict | None],
                   *, fontsize: float | None = None) -> set[Verdict]:
    """Colour one matplotlib axes cell per (row, column) by verdict; returns the verdicts used.

    Shared by :func:`heatmap` and ``grader.render.compare_matrices`` so every reachability
    picture uses the same colours, order and cell separators.
    """
    from matplotlib.colors import ListedColormap

    order = list(Verdict)
    index = {v: i for i, v in enumerate(order)}
    cells = [[verdict(r, c) or Verdict.UNKNOWN for c in cols] for r in rows]
    ax.imshow([[index[v] for v in row] for row in cells], cmap=ListedColormap([COLOURS[v] for v in order]),
              vmin=-0.5, vmax=len(order) - 0.5, aspect="equal")
    ax.set_xticks(range(len(cols)), labels=list(cols), rotation=90, fontsize=fontsize)
    ax.set_yticks(range(len(rows)), labels=list(rows), fontsize=fontsize)
    # White lines between cells, so a block of one colour still reads as separate flows.
    ax.set_xticks([x - 0.5 for x in range(1, len(cols))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(rows))], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    return {v for row in cells for v in row}


def heatmap(
    rows: Sequence[str], cols: Sequence[str], verdict: Callable[[str, str], Verdict | None], title: str = "",
    marks: Mapping[tuple[str, str], str] | None = None,
) -> Heatmap:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch

        size = max(3.0, 0.45 * max(len(rows), len(cols)) + 2.0)
        fig = Figure(figsize=(size + 1.8, size))
        ax = fig.add_subplot()
        used = paint_verdicts(ax, rows, cols, verdict)
        ax.set_xlabel("destination")
        ax.set_ylabel("source")
        for (r, c), mark in (marks or {}).items():
            if r in rows and c in cols:
                ax.text(list(cols).index(c), list(rows).index(r), mark, ha="center", va="center", color="black", fontsize=12, fontweight="bold")
        if title:
            ax.set_title(title)
        ax.legend(handles=[Patch(color=COLOURS[v], label=v.value) for v in Verdict if v in used], loc="upper left", bbox_to_anchor=(1.02, 1.0))
        return Heatmap(fig)
