"""YAML in, plain documents out: strings, files, dicts, lists, multi-document streams, ``List`` kinds.

Each :class:`Document` remembers where it came from so every later error can name it. YAML text
is read by :mod:`grader.manifests.bounded_yaml` (bounded, and resolving scalars as kubectl does).
"""

from __future__ import annotations

import copy
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FieldProblem, ManifestError
from .bounded_yaml import load_yaml_documents, rendered_paths, shown

ManifestSource = str | os.PathLike[str] | Mapping[str, Any] | Iterable[Any]
"""What every ``apply``-like call accepts: YAML text, a path, one object, or a list of any of these."""


@dataclass(frozen=True, slots=True)
class Document:
    body: dict[str, Any]
    position: int
    """1-based position of the document in what was loaded (after ``List`` expansion)."""
    origin: str = ""
    """Where it came from (a file name), for messages."""
    plain_scalars: Mapping[str, tuple[Any, str]] = field(default_factory=dict, compare=False, repr=False)
    """Field path -> (value, unquoted source text) of every non-string value YAML read from a plain
    scalar (``y`` read as true): lets "expected string" messages say what to write instead."""

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def name(self) -> str:
        """``metadata.name`` as written: an unquoted ``y`` (which YAML reads as true) is named ``y``."""
        meta = self.body.get("metadata")
        if not isinstance(meta, Mapping):
            return ""
        written = self.plain_scalars.get("metadata.name")
        return written[1] if written is not None else str(meta.get("name", ""))

    @property
    def label(self) -> str:
        """``networkpolicy/allow-web``, or ``document 2`` while the kind or name is unknown."""
        if self.kind and self.name:
            return f"{shown(self.kind.lower())[1:-1]}/{shown(self.name)[1:-1]}"
        where = f" of {self.origin}" if self.origin else ""
        return f"document {self.position}{where}"


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and text.strip().endswith((".yaml", ".yml", ".json")) and ":" not in text


_Parsed = list[tuple[Any, Mapping[tuple[Any, ...], tuple[Any, str]]]]
_PARSED: OrderedDict[tuple[str, str], _Parsed] = OrderedDict()
_PARSED_ENTRIES = 64
_PARSED_MAX_CHARS = 64 * 1024


def _parse_yaml_text(text: str, origin: str) -> _Parsed:
    """Non-empty documents of ``text`` with their plain-scalar sources (YamlInputError names document, line and column).

    The bounded reader is pure Python (it must count aliases and depth while it composes), and a
    check reads the same topology and answer texts once per expectation: the last texts read are
    kept, and each caller gets its own deep copy (callers may fill in defaults). Errors are not
    kept: bad input is read, and refused, every time."""
    key = (text, origin)
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = [(d.value, d.plain_scalars) for d in load_yaml_documents(text, origin=origin) if d.value is not None]
        if len(text) <= _PARSED_MAX_CHARS:
            _PARSED[key] = parsed
            if len(_PARSED) > _PARSED_ENTRIES:
                _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(key)
    return [(copy.deepcopy(value), dict(plain)) for value, plain in parsed]


_Raw = tuple[Any, str, Mapping[tuple[Any, ...], tuple[Any, str]]]


def _raw_objects(source: Any, origin: str = "") -> list[_Raw]:
    if isinstance(source, Mapping):
        return [(copy.deepcopy(dict(source)), origin, {})]  # the caller's mapping is never changed
    if isinstance(source, os.PathLike):
        path = Path(source)
        return [(d, path.name, plain) for d, plain in _parse_yaml_text(_read(path), path.name)]
    if isinstance(source, str):
        if _looks_like_path(source) and Path(source).is_file():
            path = Path(source)
            return [(d, path.name, plain) for d, plain in _parse_yaml_text(_read(path), path.name)]
        return [(d, origin, plain) for d, plain in _parse_yaml_text(source, origin)]
    if isinstance(source, (bytes, bytearray)):
        try:
            return _raw_objects(bytes(source).decode("utf-8"), origin)
        except UnicodeDecodeError as exc:
            raise ManifestError.single(origin or "input", "", f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if isinstance(source, Iterable):
        out: list[_Raw] = []
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
    for raw, origin, plain in _raw_objects(source):
        position = len(docs) + len(problems) + 1
        if not isinstance(raw, Mapping):
            label = f"document {position}" + (f" of {origin}" if origin else "")
            problems.append(
                FieldProblem(label, "", f"expected a Kubernetes object (a mapping with apiVersion and kind), got {type(raw).__name__}: {shown(raw)}")
            )
            continue
        if raw.get("kind") == "List" or (str(raw.get("kind", "")).endswith("List") and isinstance(raw.get("items"), list)):
            for i, item in enumerate(raw.get("items") or []):
                if not isinstance(item, Mapping):
                    problems.append(FieldProblem(f"document {position}", f"items[{i}]", "expected a Kubernetes object"))
                    continue
                docs.append(Document(dict(item), len(docs) + len(problems) + 1, origin, rendered_paths(plain, ("items", i))))
            continue
        docs.append(Document(dict(raw), position, origin, rendered_paths(plain)))
    if problems:
        raise ManifestError(problems)
    return docs
