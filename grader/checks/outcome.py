"""What a verification returns: structured, JSON-safe, and rendered for a learner.

The verifier process builds an :class:`Outcome`; it crosses the process boundary as JSON and the
test cell turns it back into pictures (display outputs) and, when something is wrong, a
:class:`CheckFailed` whose text names every wrong flow and why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

OUTCOME_VERSION = 1
MAX_PROBLEMS = 15
"""How many wrong flows the message lists before summarising the rest (the pictures show all)."""


def request_digest(spec: dict[str, Any], answers: dict[str, str]) -> str:
    """SHA-256 over the canonical JSON of what was asked, so a reply can be matched to its request."""
    text = json.dumps({"spec": spec, "answers": answers}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Finding:
    """The result of one expectation."""

    kind: str
    """The expectation kind (``objects``, ``probe``, ``matrix``, ``value``, ...)."""
    title: str
    ok: bool
    problems: tuple[str, ...] = ()
    """One entry per wrong thing, first line ``src → dst port/proto: expected X, observed Y``, then ``why:``."""
    passed_count: int = 0
    """How many elementary facts (flows, values) held."""
    html: str = ""
    png: str = ""
    """Base64 PNG (only drawn for failures: it costs a matplotlib import)."""
    row: dict[str, Any] = field(default_factory=dict)
    """JSON-safe facts for a shared table (probe and value findings are shown as one table per check)."""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Finding:
        return cls(
            str(raw["kind"]), str(raw["title"]), bool(raw["ok"]), tuple(map(str, raw.get("problems", ()))),
            int(raw.get("passed_count", 0)), str(raw.get("html", "")), str(raw.get("png", "")), dict(raw.get("row", {})),
        )


@dataclass(frozen=True)
class Outcome:
    check: str
    passed: bool
    findings: tuple[Finding, ...] = ()
    error: str = ""
    """Set when the answers could not be graded at all (bad YAML, invalid manifest, missing answer)."""
    error_kind: str = ""
    """``answer`` (the learner's to fix), ``spec`` (the test cell is broken) or ``lab`` (the backend failed)."""
    answers: tuple[str, ...] = ()
    hidden: bool = False
    """True when the cell had no expectations to run (hidden tests stripped from the student version)."""
    digest: str = ""
    version: int = OUTCOME_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    # -- JSON ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["findings"] = [asdict(f) for f in self.findings]
        out["answers"] = list(self.answers)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Outcome:
        if raw.get("version") != OUTCOME_VERSION:
            raise ValueError(f"verifier spoke outcome version {raw.get('version')!r}, expected {OUTCOME_VERSION}")
        return cls(
            str(raw["check"]), bool(raw["passed"]), tuple(Finding.from_json(f) for f in raw.get("findings", ())),
            str(raw.get("error", "")), str(raw.get("error_kind", "")), tuple(map(str, raw.get("answers", ()))),
            bool(raw.get("hidden", False)), str(raw.get("digest", "")), int(raw["version"]), dict(raw.get("extra", {})),
        )

    # -- text ------------------------------------------------------------------------------
    @property
    def answer_label(self) -> str:
        return ", ".join(f"`{a}`" for a in self.answers) or "your answer"

    def message(self) -> str:
        """The text of the failure: every wrong flow with the engine's reason (capped), or the error."""
        if self.passed:
            return self.summary()
        if self.error:
            if self.error_kind == "spec":
                return f"This test cell is broken (not your fault, tell your instructor): {self.error}"
            return self.error
        failed = [f for f in self.findings if not f.ok]
        problems = list(dict.fromkeys(p for f in failed for p in f.problems))  # the same missing object is reported once
        head = f"{len(problems)} thing{'s' if len(problems) != 1 else ''} wrong with {self.answer_label}:"
        lines = [head, *map(str, self.extra.get("notes", []))]
        for p in problems[:MAX_PROBLEMS]:
            lines.append("• " + p.replace("\n", "\n  "))
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"… and {len(problems) - MAX_PROBLEMS} more (the pictures above mark every wrong flow with ✗)")
        return "\n".join(lines)

    def summary(self) -> str:
        if self.error:
            return self.error.splitlines()[0]
        if self.hidden and not self.findings:
            return f"{self.answer_label} was read and applied without errors; this cell's tests are hidden and run when your notebook is graded"
        facts = sum(f.passed_count for f in self.findings)
        if self.passed:
            return f"✓ {len(self.findings)} expectation{'s' if len(self.findings) != 1 else ''} met ({facts} flows/values checked) for {self.answer_label}"
        bad = sum(1 for f in self.findings if not f.ok)
        return f"✗ {bad} of {len(self.findings)} expectations not met for {self.answer_label}"


class CheckFailed(AssertionError):
    """Raised by a test cell whose check failed. Renders as the message alone in Jupyter
    (``_render_traceback_``): no frames, so no test source leaks into tracebacks or feedback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        return _traceback_lines(self.message)


def _traceback_lines(message: str) -> list[str]:
    lines = message.splitlines() or [message]
    return [f"\x1b[0;31mCheckFailed\x1b[0m: {lines[0]}", *lines[1:]]


def error_output(message: str) -> dict[str, Any]:
    """A failed check as a notebook ``error`` output, rendered as the kernel renders :class:`CheckFailed`
    (what the trusted side writes into a graded test cell; nbgrader scores it 0)."""
    return {"output_type": "error", "ename": "CheckFailed", "evalue": (message.splitlines() or [message])[0],
            "traceback": _traceback_lines(message)}


def display_bundles(outcome: Outcome) -> list[dict[str, str]]:
    """One MIME bundle per finding that has a picture (HTML, with a PNG fallback on failures)."""
    out = []
    for f in outcome.findings:
        if not f.html:
            continue
        bundle = {"text/html": f.html, "text/plain": f.title}
        if f.png:
            bundle["image/png"] = f.png
        out.append(bundle)
    return out
