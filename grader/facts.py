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


@cache
def all_facts() -> dict[str, Fact]:
    raw = yaml.safe_load(resources.files("grader").joinpath("data/facts.yaml").read_text("utf-8"))
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
    raw = yaml.safe_load(resources.files("grader").joinpath("data/facts.yaml").read_text("utf-8"))
    return raw["reviewed"]
