"""Who answered: the requests of one or more ``lab.distribution(...)`` runs as bar charts.

One panel per distribution (before/after a change, or one client each), the same rows in every
panel so bars line up: each pod that answered in any panel, then the failures (requests no pod
answered, by verdict) in grey. Each bar carries its count and share.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from ..reachability.render import COLOURS
from ..reachability.verdict import Verdict
from ..services import Distribution
from .picture import Picture, new_figure

ANSWERED = COLOURS[Verdict.ALLOWED]
FAILED = "#9e9e9e"


def _rows(dists: list[tuple[str, Distribution]]) -> list[tuple[str, bool]]:
    """(row label, is a failure row): answering pods sorted, then failure verdicts sorted."""
    pods = sorted({name for _, d in dists for name, _ in d.counts})
    fails = sorted({name for _, d in dists for name, _ in d.failures})
    return [(p, False) for p in pods] + [(f"({f})", True) for f in fails]


def draw_distribution(distributions: Distribution | Mapping[str, Distribution], title: str = "") -> Picture:
    """Bar charts of which pod answered how many requests (``lab.distribution``), side by side.

    ``distributions`` is one :class:`~grader.services.Distribution` or a mapping label → distribution.
    """
    if isinstance(distributions, Distribution):
        dists = [(f"{distributions.source} → {distributions.destination}", distributions)]
    else:
        dists = list(distributions.items())
    if not dists:
        raise ValueError("draw_distribution needs at least one distribution")
    rows = _rows(dists)
    if not rows:
        raise ValueError("the distributions hold no requests")
    labels = [r for r, _ in rows]
    label_w = 0.075 * max(len(r) for r in labels) + 0.3
    panel_w = 3.0
    gap = 0.35
    width = label_w + len(dists) * panel_w + (len(dists) - 1) * gap + 0.2
    height = max(1.7, 0.34 * len(rows) + 1.1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = new_figure(width, height)
    fig.subplots_adjust(left=label_w / width, right=1 - 0.2 / width, wspace=gap / panel_w,
                        bottom=0.5 / height, top=1 - 0.6 / height)
    axes = fig.subplots(1, len(dists), sharey=True, squeeze=False)[0]
    ys = list(range(len(rows)))
    panels = []
    for label, d in dists:
        answered, failed = d.as_dict(), dict(d.failures)
        panels.append((label, d, [failed.get(r[1:-1], 0) if is_fail else answered.get(r, 0) for r, is_fail in rows]))
    top = max([v for _, _, values in panels for v in values] + [1])  # one scale for every panel
    for ax, (label, d, values) in zip(axes, panels, strict=True):
        colours = [FAILED if is_fail else ANSWERED for _, is_fail in rows]
        ax.barh(ys, values, color=colours, height=0.62)
        ax.set_xlim(0, top * 1.45)
        for y, v in zip(ys, values, strict=True):
            share = f"{v / d.requests:.0%}" if d.requests else "0%"
            ax.text(v + top * 0.03, y, f"{v} ({share})", va="center", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(f"of {d.requests} requests", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(ys, labels, fontsize=8)
    axes[0].invert_yaxis()
    heading = title or "who answered"
    fig.suptitle(heading, fontsize=11, fontweight="bold")
    return Picture(fig, title=heading)
