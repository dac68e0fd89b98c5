"""Errors that ``grader`` raises on purpose.

Every error a learner can cause by bad input is a :class:`ManifestError`, whose text names the
document, the field path and what was expected, e.g.::

    networkpolicy/allow-web spec.ingress[0].from[1]: ipBlock cannot be combined with podSelector

Nothing here imports from the rest of the package, so every layer can raise these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class NetlabError(Exception):
    """Base class of every error raised on purpose by ``grader``."""


def field_path(parts: Sequence[str | int]) -> str:
    """Render a field path the way kubectl does: ``spec.ingress[0].from[1]``.

    Example:
        >>> field_path(["spec", "ingress", 0, "from", 1])
        'spec.ingress[0].from[1]'
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with one field of one document."""

    document: str
    """Which document: ``networkpolicy/allow-web`` or ``document 2`` when it has no name yet."""
    path: str
    """The field path inside the document (``spec.ingress[0].from[1]``); empty for the whole document."""
    message: str
    """What is wrong and what was expected, in words."""

    def __str__(self) -> str:
        where = f"{self.document} {self.path}" if self.path else self.document
        return f"{where}: {self.message}"


class ManifestError(NetlabError, ValueError):
    """A manifest (or topology, or NSG rule set) is not valid. Carries every problem found."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ManifestError needs at least one problem")
        super().__init__(str(self))

    @classmethod
    def single(cls, document: str, path: str, message: str) -> ManifestError:
        return cls([FieldProblem(document, path, message)])

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class LabError(NetlabError):
    """The lab was asked something it cannot do: an unknown pod, a kind the backend does not
    support, an operation on an object it does not own."""


class UnknownEndpointError(LabError, LookupError):
    """A probe named a source or destination that does not exist in the lab."""
