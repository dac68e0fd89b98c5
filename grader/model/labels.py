"""Labels and label selectors (``metav1.LabelSelector``), immutable and deterministic."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Labels(Mapping[str, str]):
    """An immutable, hashable, sorted label map."""

    __slots__ = ("_items",)

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(sorted((labels or {}).items()))

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Labels({dict(self._items)!r})"

    def merged(self, changes: Mapping[str, str | None]) -> Labels:
        """A copy with ``changes`` applied; a value of ``None`` removes the key (like ``kubectl label k-``)."""
        out = dict(self._items)
        for k, v in changes.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return Labels(out)

    def render(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self._items)


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One ``matchExpressions`` entry. ``values`` is sorted."""

    key: str
    operator: SelectorOperator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        # Semantics of k8s.io/apimachinery/pkg/labels.Requirement.Matches.
        if self.operator is SelectorOperator.IN:
            return self.key in labels and labels[self.key] in self.values
        if self.operator is SelectorOperator.NOT_IN:
            # NotIn matches when the key is absent, as upstream does.
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator is SelectorOperator.EXISTS:
            return self.key in labels
        return self.key not in labels

    def render(self) -> str:
        if self.operator is SelectorOperator.EXISTS:
            return self.key
        if self.operator is SelectorOperator.DOES_NOT_EXIST:
            return f"!{self.key}"
        op = "in" if self.operator is SelectorOperator.IN else "notin"
        return f"{self.key} {op} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """``matchLabels`` AND every ``matchExpressions`` requirement. Empty selects everything."""

    match_labels: Labels = field(default_factory=Labels)
    match_expressions: tuple[Requirement, ...] = ()

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def of(cls, **labels: str) -> LabelSelector:
        return cls(Labels(labels))

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for k, v in self.match_labels.items():
            if labels.get(k) != v:
                return False
        return all(r.matches(labels) for r in self.match_expressions)

    def render(self) -> str:
        """kubectl-style text; ``{}`` (all) for the empty selector."""
        parts = [f"{k}={v}" for k, v in self.match_labels.items()]
        parts += [r.render() for r in self.match_expressions]
        return ",".join(parts) if parts else "{} (all)"
