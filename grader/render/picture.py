"""A rendered matplotlib figure that shows itself in Jupyter and never writes to stderr."""

from __future__ import annotations

import io
import warnings
from typing import Any


class Picture:
    """Wraps a ``matplotlib.figure.Figure``; ``_repr_png_`` makes Jupyter display it inline."""

    def __init__(self, figure: Any, *, dpi: int = 100, title: str = "") -> None:
        self.figure = figure
        self.dpi = dpi
        self.title = title

    def __repr__(self) -> str:
        return f"<Picture {self.title!r}>" if self.title else "<Picture>"

    def png(self) -> bytes:
        buf = io.BytesIO()
        # Rendering is where matplotlib warns (missing glyphs, tight layout); a warning would land
        # on stderr in a notebook. The tests render every picture with warnings as errors instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.figure.savefig(buf, format="png", dpi=self.dpi, bbox_inches="tight")
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def save(self, path: str) -> None:
        with open(path, "wb") as fh:
            fh.write(self.png())


def new_figure(width: float, height: float) -> Any:
    """A bare Figure (no pyplot), imported lazily so ``import grader`` stays light."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from matplotlib.figure import Figure

    return Figure(figsize=(width, height))
