"""YAML in, plain documents out: strings, files, dicts, lists, multi-document streams, ``List`` kinds.

Each :class:`Document` remembers where it came from so every later error can name it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import FieldProblem, ManifestError

ManifestSource = str | os.PathLike[str] | Mapping[str, Any] | Iterable[Any]
"""What every ``apply``-like call accepts: YAML text, a path, one object, or a list of any of these."""


@dataclass(frozen=True, slots=True)
class Document:
    body: dict[str, Any]
    position: int
    """1-based position of the document in what was loaded (after ``List`` expansion)."""
    origin: str = ""
    """Where it came from (a file name), for messages."""

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def name(self) -> str:
        meta = self.body.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""

    @property
    def label(self) -> str:
        """``networkpolicy/allow-web``, or ``document 2`` while the kind or name is unknown."""
        if self.kind and self.name:
            return f"{self.kind.lower()}/{self.name}"
        where = f" of {self.origin}" if self.origin else ""
        return f"document {self.position}{where}"


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and text.strip().endswith((".yaml", ".yml", ".json")) and ":" not in text


def _yaml_error(exc: yaml.YAMLError, position: int, origin: str) -> ManifestError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    label = f"document {position}" + (f" of {origin}" if origin else "")
    return ManifestError([FieldProblem(label, where, message)])


def _parse_yaml_text(text: str, origin: str) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        # Count how many documents parsed before the bad one, for the label.
        position = text.count("\n---", 0, _offset(text, exc)) + 1
        raise _yaml_error(exc, position, origin) from None


def _offset(text: str, exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return len(text)
    return getattr(mark, "index", len(text))


def _raw_objects(source: Any, origin: str = "") -> list[tuple[Any, str]]:
    if isinstance(source, Mapping):
        return [(dict(source), origin)]
    if isinstance(source, os.PathLike):
        path = Path(source)
        return [(d, path.name) for d in _parse_yaml_text(_read(path), path.name)]
    if isinstance(source, str):
        if _looks_like_path(source) and Path(source).is_file():
            path = Path(source)
            return [(d, path.name) for d in _parse_yaml_text(_read(path), path.name)]
        return [(d, origin) for d in _parse_yaml_text(source, origin)]
    if isinstance(source, (bytes, bytearray)):
        return _raw_objects(bytes(source).decode("utf-8"), origin)
    if isinstance(source, Iterable):
        out: list[tuple[Any, str]] = []
        for item in source:
            out.extend(_raw_objects(item, origin))
        return out
    raise ManifestError.single(
        "input", "", f"expected YAML text, a file path, a mapping or a list, got {type(source).__name__}"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise ManifestError.single(str(path), "", f"cannot read file: {exc.strerror}") from None


def load_documents(source: ManifestSource) -> list[Document]:
    """Load every Kubernetes object in ``source``, expanding ``kind: List``.

    Raises:
        ManifestError: invalid YAML (with line and column) or a document that is not a mapping.
    """
    docs: list[Document] = []
    problems: list[FieldProblem] = []
    for raw, origin in _raw_objects(source):
        position = len(docs) + len(problems) + 1
        if not isinstance(raw, Mapping):
            label = f"document {position}" + (f" of {origin}" if origin else "")
            problems.append(
                FieldProblem(label, "", f"expected a Kubernetes object (a mapping with apiVersion and kind), got {type(raw).__name__}: {str(raw)[:60]!r}")
            )
            continue
        if raw.get("kind") == "List" or (str(raw.get("kind", "")).endswith("List") and isinstance(raw.get("items"), list)):
            for i, item in enumerate(raw.get("items") or []):
                if not isinstance(item, Mapping):
                    problems.append(FieldProblem(f"document {position}", f"items[{i}]", "expected a Kubernetes object"))
                    continue
                docs.append(Document(dict(item), len(docs) + len(problems) + 1, origin))
            continue
        docs.append(Document(dict(raw), position, origin))
    if problems:
        raise ManifestError(problems)
    return docs
