"""Dated facts: every version, retirement date and default that ages lives in ``data/facts.yaml``.

Lessons cite a fact by id (``fact("ingress-nginx-retired")``) and code reads pinned versions from
here, so one file is reviewed each term.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    value: Any
    text: str
    as_of: _dt.date
    sources: tuple[str, ...]

    def cite(self) -> str:
        """One line for a lesson: the statement, its date and its first source."""
        return f"{self.text} (as of {self.as_of.isoformat()}; source: {self.sources[0]})"


# libyaml's loader when PyYAML was built with it: the same YAML 1.1 safe schema, about ten times
# faster than the pure-Python one (this file is read in every kernel that imports the package).
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("grader").joinpath("data/facts.yaml").read_text("utf-8")
    raw: dict[str, Any] = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    return raw


@cache
def all_facts() -> dict[str, Fact]:
    raw = _raw()
    return {
        fid: Fact(fid, body["value"], body["text"], body["as_of"], tuple(body["sources"]))
        for fid, body in sorted(raw["facts"].items())
    }


def fact(fact_id: str) -> Fact:
    """Look up one fact by id; the error lists the ids that exist."""
    facts = all_facts()
    try:
        return facts[fact_id]
    except KeyError:
        raise KeyError(f"no fact {fact_id!r}; known: {', '.join(facts)}") from None


def reviewed() -> _dt.date:
    reviewed_on: _dt.date = _raw()["reviewed"]
    return reviewed_on
