"""What ``result.explain()`` returns: one line to read, the rest folded away until asked for.

A learner reads many probes per lesson; the hop-by-hop path is worth opening once in a while,
not reading every time. So an :class:`Explanation` shows itself as

* one summary line (verdict and the reason that decided it) when printed or shown as text
  (``print(r.explain())``, ``str()``, an f-string, the Python REPL);
* in JupyterLab (``_repr_html_``), that line with the rest folded in a ``<details>`` element: the
  reasons, the path, and the command that does the same on a cluster;

while it *is* the full text as a string: ``"policy" in r.explain()``, ``r.explain().split(...)`` and
``"".join(...)`` see every line, as before. ``r.explain(full=True)`` returns that full text as a
plain ``str``.
"""

from __future__ import annotations

import html

SUMMARY_WIDTH = 200
"""A reason longer than this is cut (with "…") in the summary line; the folded text has all of it."""


class Explanation(str):
    """The full explanation as a ``str`` whose display is the one-line :attr:`summary`."""

    summary: str
    command: str

    def __new__(cls, full: str, summary: str, command: str = "") -> Explanation:
        obj = super().__new__(cls, full)
        obj.summary = summary
        obj.command = command
        return obj

    def __reduce__(self) -> tuple[type[Explanation], tuple[str, str, str]]:
        return (Explanation, (self.full, self.summary, self.command))

    @property
    def full(self) -> str:
        return str.__str__(self)

    def __str__(self) -> str:
        return self.summary

    def __format__(self, spec: str) -> str:
        return format(self.summary, spec)

    def __repr__(self) -> str:
        return self.summary

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:  # IPython's plain-text display
        printer.text(self.summary)  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        body = self.full.split("\n", 1)[1] if "\n" in self.full else ""
        body = body.removesuffix(f"on a cluster: {self.command}") if self.command else body
        command = (f"<div style='margin:2px 0'>on a cluster: <code>{html.escape(self.command)}</code></div>"
                   if self.command else "")
        inner = f"<pre style='margin:2px 0 0 1em'>{html.escape(body)}</pre>" if body.strip() else ""
        return (f"<details class='netlab-explain'><summary style='font-family:monospace'>{html.escape(self.summary)}</summary>"
                f"{command}{inner}</details>")


def summary_line(head: str, reasons: list[str], *, allowed: bool, answer: str = "") -> str:
    """``head — what decided it``: the answer for a connection that worked, else the first reason
    that is not about a side that allowed the flow (the side that blocked it)."""
    why = answer
    if not why:
        lines = [ln.strip() for ln in reasons if ln.strip()]
        deciding = lines if allowed else [ln for ln in lines if ": allowed" not in ln] or lines
        why = deciding[0] if deciding else ""
    if len(why) > SUMMARY_WIDTH:
        why = why[: SUMMARY_WIDTH - 1].rstrip() + "…"
    return f"{head} — {why}" if why else head


__all__ = ["Explanation", "summary_line"]
