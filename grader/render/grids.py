"""Several reachability matrices as heatmaps side by side: the same question asked of different
CNI profiles (or before/after a change), with the cells where they disagree outlined."""

from __future__ import annotations

from collections.abc import Mapping

from ..reachability import ReachabilityMatrix, Verdict
from ..reachability.render import COLOURS, paint_verdicts
from .picture import Picture, new_figure


def differing_cells(matrices: Mapping[str, ReachabilityMatrix]) -> set[tuple[str, str]]:
    """(source, destination) pairs whose verdict is not the same in every matrix."""
    mats = list(matrices.values())
    if not mats:
        return set()
    first = mats[0]
    return {
        (s, d)
        for s in first.sources
        for d in first.destinations
        if len({m.verdict(s, d) for m in mats}) > 1
    }


def compare_matrices(matrices: Mapping[str, ReachabilityMatrix], title: str = "") -> Picture:
    """One heatmap per entry (label → matrix), same rows and columns, differences outlined in black.

    Every matrix must have the same sources and destinations (ask each lab the same question).
    """
    if not matrices:
        raise ValueError("compare_matrices needs at least one matrix")
    mats = list(matrices.items())
    rows, cols = mats[0][1].sources, mats[0][1].destinations
    for label, m in mats[1:]:
        if m.sources != rows or m.destinations != cols:
            raise ValueError(f"matrix {label!r} has other sources/destinations than {mats[0][0]!r}: ask every lab the same question")
    differ = differing_cells(matrices)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from matplotlib.patches import Patch, Rectangle

    cell = 0.42
    panel_w = max(1.3, cell * len(cols) + 0.3, 0.085 * max(len(label) for label, _ in mats))
    label_w = 0.075 * max(len(r) for r in rows) + 0.35
    legend_w = 1.4
    gap = 0.35
    width = label_w + len(mats) * panel_w + (len(mats) - 1) * gap + legend_w
    height = max(2.2, cell * len(rows) + 0.08 * max(len(c) for c in cols) + 1.2)
    fig = new_figure(width, height)
    fig.subplots_adjust(left=label_w / width, right=1 - legend_w / width, wspace=gap / panel_w,
                        bottom=(0.08 * max(len(c) for c in cols) + 0.2) / height, top=1 - 0.75 / height)
    axes = fig.subplots(1, len(mats), sharey=True, squeeze=False)[0]
    used: set[Verdict] = set()
    for ax, (label, m) in zip(axes, mats, strict=True):
        used |= paint_verdicts(ax, rows, cols, m.verdict, fontsize=8)
        ax.set_title(label, fontsize=10)
        for (r, c) in differ:
            ax.add_patch(Rectangle((cols.index(c) - 0.5, rows.index(r) - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.5))
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                ax.text(j, i, m.verdict(r, c).symbol, ha="center", va="center", color="white", fontsize=9, family="monospace")
    handles = [Patch(color=COLOURS[v], label=v.value) for v in Verdict if v in used]
    if differ:
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=2, label="differs"))
    axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.04, 1.0), fontsize=8, frameon=False)
    heading = title or f"reachability {mats[0][1].title}"
    fig.suptitle(heading, fontsize=11, fontweight="bold")
    return Picture(fig, title=heading)
