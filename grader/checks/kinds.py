"""What every expectation kind shares (``expectations``, ``expect_web``, ``expect_config``): the
handler type and its registrar, verdict parsing, the wording of problems and the HTML blocks.

Every problem text starts with the flow or the key it is about, then ``why:`` with the engine's
explanation, so a learner knows what to change.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from ..reachability import Verdict
from .outcome import Finding
from .queries import QUERIES
from .vocabulary import SpecError

Handler = Callable[[Any, dict[str, Any]], Finding]
"""``handler(context, parameters) -> Finding``."""


def registrar(table: dict[str, Handler]) -> Callable[[str], Callable[[Handler], Handler]]:
    """A decorator factory filling ``table``: ``expectation = registrar(HANDLERS)``, then
    ``@expectation("probe")`` on a handler."""
    def expectation(kind: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if kind in table:
                raise ValueError(f"expectation kind {kind!r} is registered twice")
            table[kind] = fn
            return fn

        return register

    return expectation


def parse_verdict(value: Any) -> Verdict:
    if isinstance(value, Verdict):
        return value
    text = str(value).strip()
    for v in Verdict:
        if text.lower() in (v.value, v.name.lower()):
            return v
    aliases = {"allow": Verdict.ALLOWED, "block": Verdict.BLOCKED, "denied": Verdict.BLOCKED, "deny": Verdict.BLOCKED,
               "dropped": Verdict.BLOCKED, "dns_failed": Verdict.DNS_FAILED}
    if text.lower() in aliases:
        return aliases[text.lower()]
    raise ValueError(f"{value!r} is not a verdict: expected one of {', '.join(v.value for v in Verdict)}")


def port_label(port: Any, protocol: str) -> str:
    return f"{port}/{protocol}" if port is not None else protocol


def why_text(reason: str, observed: Verdict | None = None) -> str:
    """The engine's explanation (wrapped); for a blocked flow only the lines that blocked it."""
    lines = [ln for ln in reason.splitlines() if ln.strip()]
    if observed is Verdict.BLOCKED:
        lines = [ln for ln in lines if "BLOCKED" in ln] or lines
    wrapped = [w for ln in lines for w in textwrap.wrap(ln, 96, subsequent_indent="  ", break_on_hyphens=False)]
    return ("\n    why: " + "\n         ".join(wrapped)) if wrapped else ""


def flow_problem(source: str, destination: str, port_label: str, expected: Verdict, observed: Verdict, reason: str, prefix: str = "") -> str:
    """``shop/web → shop/db 5432/TCP: expected BLOCKED, observed ALLOWED`` and why."""
    return f"{prefix}{source} → {destination} {port_label}: expected {expected.name}, observed {observed.name}{why_text(reason, observed)}"


def expected_value(ctx: Any, value: Any, profile: str | None = None) -> Any:
    if isinstance(value, Mapping) and "$lab" in value:
        fn = QUERIES.get(value["$lab"])
        if fn is None:
            raise SpecError(f"unknown lab query {value['$lab']!r}; known: {', '.join(sorted(QUERIES))}")
        return fn(ctx.lab(value.get("profile") or profile), *value.get("args", []))
    return value


def html_block(heading: str, body: str) -> str:
    return f"<div style='margin:4px 0'><div style='font-weight:bold;margin-bottom:2px'>{html.escape(heading)}</div>{body}</div>"


__all__ = ["Handler", "expected_value", "flow_problem", "html_block", "parse_verdict", "port_label", "registrar", "why_text"]
