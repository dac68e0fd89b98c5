"""What ``make conformance`` writes: ``conformance-report.md`` and ``conformance-report.json``.

Per profile: each ``netlab up`` step with its time (``KindCluster.step_times``), each scenario on
both backends (every probe's outcome and what differed from the expectation), every disagreement
between the simulated cluster and kind with both observations, and whether the cluster was deleted
afterwards. Deterministic: profiles and scenarios in run order, JSON keys sorted.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    outcome: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Disagreement:
    scenario: str
    label: str
    simulated: str
    kind: str


@dataclass
class ProfileReport:
    profile: str
    up: list[dict[str, Any]] = field(default_factory=list)
    up_error: str = ""
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    deleted: bool | None = None


class Report:
    def __init__(self) -> None:
        self.profiles: dict[str, ProfileReport] = {}

    def _of(self, profile: str) -> ProfileReport:
        return self.profiles.setdefault(profile, ProfileReport(profile))

    def up(self, profile: str, steps: list[Any], error: str = "") -> None:
        self._of(profile).up = [{"step": s.name, "seconds": round(s.seconds, 1), "ok": s.ok} for s in steps]
        self._of(profile).up_error = error

    def scenario(self, profile: str, name: str, backend: str, rows: list[Row]) -> None:
        self._of(profile).scenarios.append({"scenario": name, "backend": backend, "rows": [asdict(r) for r in rows],
                                            "as_expected": all(not r.problems for r in rows)})

    def disagreement(self, profile: str, item: Disagreement) -> None:
        self._of(profile).disagreements.append(item)

    def deleted(self, profile: str, done: bool) -> None:
        self._of(profile).deleted = done

    def to_json(self) -> str:
        doc = {"profiles": [{**asdict(p), "disagreements": [asdict(d) for d in p.disagreements]} for p in self.profiles.values()]}
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    def to_markdown(self) -> str:
        out = ["# Conformance report: simulated cluster vs kind", ""]
        for p in self.profiles.values():
            out += [f"## {p.profile}", "", "### netlab up", ""]
            if p.up:
                out += ["| step | seconds | |", "|---|---:|---|"]
                out += [f"| {s['step']} | {s['seconds']:.1f} | {'ok' if s['ok'] else 'FAILED'} |" for s in p.up]
                out.append(f"| total | {sum(s['seconds'] for s in p.up):.1f} | |")
            if p.up_error:
                out += ["", "```", p.up_error, "```"]
            out += ["", "### Scenarios", "", "| scenario | backend | as expected | differences |", "|---|---|---|---|"]
            for s in p.scenarios:
                diffs = "; ".join(f"{r['label']}: {q}" for r in s["rows"] for q in r["problems"])
                out.append(f"| {s['scenario']} | {s['backend']} | {'yes' if s['as_expected'] else 'no'} | {diffs.replace('|', '/')} |")
            out += ["", "### Disagreements (simulated vs kind)", ""]
            if p.disagreements:
                out += ["| scenario | probe | simulated | kind |", "|---|---|---|---|"]
                out += [f"| {d.scenario} | {d.label} | {d.simulated} | {d.kind} |" for d in p.disagreements]
            else:
                out.append("none")
            state = {None: "kept (not the last scenario run, or no kind run)", True: "deleted after its scenarios",
                     False: "kept (NETLAB_CONFORMANCE_KEEP=1)"}[p.deleted]
            out += ["", f"Cluster: {state}.", ""]
        return "\n".join(out)

    def write(self, base: Path) -> tuple[Path, Path]:
        md, js = base.with_suffix(".md"), base.with_suffix(".json")
        md.write_text(self.to_markdown(), "utf-8")
        js.write_text(self.to_json(), "utf-8")
        return md, js


REPORT = Report()
"""The run's report (filled by test_conformance.py, written by conftest.py at the end of the session)."""


def kind_profile(item: Any) -> str | None:
    """The profile of a kind scenario of test_conformance.py (None for every other test item)."""
    path = getattr(item, "path", None)
    if path is not None and Path(path).name != "test_conformance.py":
        return None
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("backend") != "kind":
        return None
    return str(callspec.params.get("profile"))


def kind_order(items: list[Any]) -> dict[str, str]:
    """Sort the kind items by profile (stable otherwise) and return profile -> nodeid of its last item."""
    profiles: list[str] = []
    for item in items:
        prof = kind_profile(item)
        if prof is not None and prof not in profiles:
            profiles.append(prof)
    kind_items = sorted((i for i in items if kind_profile(i) is not None), key=lambda i: profiles.index(kind_profile(i) or ""))
    rest = [i for i in items if kind_profile(i) is None]
    items[:] = rest + kind_items
    return {str(kind_profile(i)): i.nodeid for i in kind_items}
