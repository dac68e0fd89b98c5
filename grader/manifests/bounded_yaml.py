"""The one YAML loader for learner and answer text: bounded, and resolving scalars as kubectl does.

Every answer (manifests, ``values``, NSG rules) and every manifest given to ``lab.apply`` is read
here, so one place decides what YAML means and how much of it a grader will read.

**Bounds.** YAML anchors and aliases let 600 bytes stand for millions of nodes ("billion laughs":
``a: &a [x, x, ...]``, ``b: &b [*a, *a, ...]``, ...); one such answer once produced a 47 MB graded
notebook. The loader counts while composing, before any Python object is built, and refuses:

========================  ==========  ==============================================================
what                      limit       why this number
========================  ==========  ==============================================================
text                      256 KiB     the largest answer of the course (the capstone's six policies,
                                      a Secret with a certificate) is under 10 KiB
nesting                   64 levels   a NetworkPolicy peer's label is 9 levels deep, an HTTPRoute
                                      filter 10; also bounds the recursion of composing and building
alias nodes (``*name``)   100         anchors save typing for a repeated selector or port list: a
                                      handful per answer
nodes after expansion     10,000      each alias counts as a copy of what it names; the capstone's
                                      answer has about 400 nodes
text after expansion      1 MiB       aliases of one long string multiply it (100 x 256 KiB)
========================  ==========  ==============================================================

Each refusal is a :class:`YamlInputError` (a :class:`~grader.errors.ManifestError`) naming the
document, the line and column, what was found and what to write instead; so the grading engine
fails that answer with the message and grades the other answers as usual.

**Scalars as kubectl reads them.** kubectl turns YAML into JSON with sigs.k8s.io/yaml, which reads
YAML 1.1 with (a fork of) go-yaml v2. Its ``resolve.go`` differs from PyYAML's YAML 1.1 resolver:

* booleans: ``y Y yes Yes YES true True TRUE on On ON`` and ``n N no No NO false False FALSE off
  Off OFF``; PyYAML leaves ``y``/``n`` (all cases) as strings, so a ``matchLabels`` value ``y``
  passed here while the API server rejects it (``json: cannot unmarshal bool into ... string``);
* integers: Go's ``strconv.ParseInt(s, 0, 64)`` after dropping ``_``, so ``0o17``, ``0b101``,
  ``0x1F`` and ``017`` are numbers; sexagesimal ``1:30`` is a string (PyYAML: 90);
* floats: ``^[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?$`` (``1e3`` is a float, PyYAML: a
  string; ``08`` is the float 8), plus ``.inf``/``.nan`` spellings;
* timestamps (``2024-01-01``) stay strings when decoded into ``interface{}`` (go-yaml v2
  ``decode.go``: "for backward compatibility reasons we set it as a string");
* only the first character's class decides whether a scalar is looked up at all (``resolveTable``);
* mapping keys become JSON strings (sigs.k8s.io/yaml ``convertToJSONableObject``): ``true``,
  ``1``, ``1.5``, ``null``.

Sources: https://github.com/go-yaml/yaml/blob/v2.4.0/resolve.go and decode.go;
https://github.com/kubernetes-sigs/yaml/blob/master/yaml.go (YAMLToJSON, goyaml.v2 fork).

Where a non-string value was read from a plain (unquoted) scalar, :attr:`LoadedYaml.plain_scalars`
keeps its source text by field path, so a later "expected string" can say ``write "y"``.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from ..errors import FieldProblem, ManifestError, field_path
from .yaml_scalars import (
    BINARY_TAG, BOOL_TAG, BOOLEANS, FLOAT_TAG, INT_TAG, MAP_TAG, MERGE_TAG, NULL_TAG, NULLS, SEQ_TAG, SPECIAL_FLOATS, STR_TAG, TIMESTAMP_TAG,
    YAML_STYLE_FLOAT, GoYamlResolver, go_int, resolve_plain,
)


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How much YAML one text may make the grader read (see the module docstring for why)."""

    max_bytes: int = 256 * 1024
    max_depth: int = 64
    max_aliases: int = 100
    max_nodes: int = 10_000
    max_chars: int = 1024 * 1024


LIMITS = YamlLimits()

SHOWN_MAX = 80
"""Learner text quoted back in a message is cut to this many characters (with an ellipsis)."""


def shown(value: Any, limit: int = SHOWN_MAX) -> str:
    """``repr(value)``, cut to about ``limit`` characters: learner text quoted back in messages stays short.

    >>> shown("a" * 100)[-3:]
    "a…'"
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        quoted = repr(value[:limit])
        return quoted[:-1] + "…" + quoted[-1]
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class YamlInputError(ManifestError):
    """YAML that cannot be read (syntax) or that the loader refuses to read (a bound is exceeded)."""

    def __init__(self, document: str, line: int | None, column: int | None, reason: str) -> None:
        self.line, self.column, self.reason = line, column, reason
        where = f"line {line} column {column}" if line is not None and column is not None else ""
        super().__init__([FieldProblem(document, where, reason)])

    @property
    def where(self) -> str:
        """``line 3 column 5``, or '' when the whole text is refused."""
        return self.problems[0].path


# -- composing with bounds -------------------------------------------------------------------
class _BoundedComposer(Composer):
    """PyYAML's composer, counting alias nodes and nesting as it goes."""

    limits: YamlLimits
    label: str

    if TYPE_CHECKING:  # PyYAML's mixins: the Parser the loader class also inherits provides these
        def check_event(self, *choices: type[Event]) -> bool: ...
        def peek_event(self) -> Any: ...

    def _bound_state(self) -> None:
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > self.limits.max_aliases:
                mark = self.peek_event().start_mark
                raise _refusal(self.label, mark, f"more than {self.limits.max_aliases} YAML aliases (*{self.peek_event().anchor}): "
                               "write the objects out instead of repeating anchors")
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                mark = self.peek_event().start_mark
                raise _refusal(self.label, mark, f"nested more than {self.limits.max_depth} levels deep; "
                               "a Kubernetes object needs far fewer (is the indentation right?)")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Loader(Reader, Scanner, Parser, _BoundedComposer, GoYamlResolver):
    def __init__(self, text: str, limits: YamlLimits, label: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.limits = limits
        self.label = label
        self._bound_state()


def _refusal(label: str, mark: Any, reason: str) -> YamlInputError:
    return YamlInputError(label, mark.line + 1, mark.column + 1, reason) if mark is not None else YamlInputError(label, None, None, reason)


# -- expansion: what the aliases would become ------------------------------------------------
@dataclass(slots=True)
class _Budget:
    nodes: int = 0
    chars: int = 0


def _measure(root: Node, limits: YamlLimits, label: str, budget: _Budget) -> None:
    """Nodes, characters and depth of ``root`` with every alias written out; refuses past the limits.

    Iterative and memoised per node (an anchored node is measured once however often it is used)."""
    sizes: dict[int, tuple[int, int, int]] = {}  # id(node) -> (nodes, chars, depth)
    visiting: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            if key in visiting:
                raise _refusal(label, node.start_mark, "a YAML alias refers to the node that contains it (a recursive structure): "
                               "write the objects out")
            visiting.add(key)
            stack.append((node, True))
            for child in children:
                if id(child) in visiting and id(child) not in sizes:
                    raise _refusal(label, child.start_mark, "a YAML alias refers to the node that contains it (a recursive structure): "
                                   "write the objects out")
                if id(child) not in sizes:
                    stack.append((child, False))
            continue
        visiting.discard(key)
        nodes, chars, depth = 1, len(node.value) if isinstance(node, ScalarNode) else 0, 0
        for child in children:
            c_nodes, c_chars, c_depth = sizes[id(child)]
            nodes, chars, depth = nodes + c_nodes, chars + c_chars, max(depth, c_depth)
        depth += 1
        if nodes > limits.max_nodes:
            raise _refusal(label, node.start_mark, f"YAML aliases expand this to more than {limits.max_nodes} nodes (an alias bomb?); "
                           "write the objects out")
        if chars > limits.max_chars:
            raise _refusal(label, node.start_mark, f"YAML aliases expand this to more than {limits.max_chars // 1024} KiB of text "
                           "(an alias bomb?); write the objects out")
        if depth > limits.max_depth:
            raise _refusal(label, node.start_mark, f"YAML aliases nest this more than {limits.max_depth} levels deep; write the objects out")
        sizes[key] = (nodes, chars, depth)
    nodes, chars, _ = sizes[id(root)]
    budget.nodes += nodes
    budget.chars += chars
    if budget.nodes > limits.max_nodes:
        raise _refusal(label, root.start_mark, f"the documents expand to more than {limits.max_nodes} YAML nodes in all "
                       "(through aliases or sheer size); split the objects over several answers or write less")
    if budget.chars > limits.max_chars:
        raise _refusal(label, root.start_mark, f"the documents expand to more than {limits.max_chars // 1024} KiB of text in all; write less")


# -- building Python values ------------------------------------------------------------------
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadedYaml:
    """One YAML document as kubectl would read it."""

    value: Any
    number: int
    """1-based position of the document in the text."""
    plain_scalars: Mapping[Path, tuple[Any, str]] = field(default_factory=dict)
    """Path -> (value, source text) for every non-string value read from an unquoted scalar."""


def json_key(value: Any) -> str:
    """A mapping key as sigs.k8s.io/yaml writes it into JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return format(value, "g") if value != int(value) or abs(value) >= 1e21 else str(int(value))
    return str(value)


class _Builder:
    """Nodes -> plain Python values (dicts, lists, str, bool, int, float, None), every alias copied out."""

    def __init__(self, label: str, keys_as_written: bool) -> None:
        self.label = label
        self.keys_as_written = keys_as_written
        self.plain: dict[Path, tuple[Any, str]] = {}

    def build(self, node: Node, path: Path) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag not in (SEQ_TAG, "!"):
                raise self._tag_error(node)
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag not in (MAP_TAG, "!"):
                raise self._tag_error(node)
            return self.mapping(node, path)
        raise _refusal(self.label, node.start_mark, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover

    def mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == MERGE_TAG:
                # go-yaml v2 merges in document order, a list's earlier entries winning.
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in reversed(sources):
                    if not isinstance(source, MappingNode):
                        raise _refusal(self.label, source.start_mark, "a merge key (<<) needs a mapping or a list of mappings")
                    out.update(self.mapping(source, path))
                continue
            if not isinstance(key_node, ScalarNode):
                raise _refusal(self.label, key_node.start_mark, "mapping keys must be plain values, not lists or mappings")
            key = key_node.value if self.keys_as_written else json_key(self.scalar(key_node, None))
            out[key] = self.build(value_node, (*path, key))
        return out

    def scalar(self, node: ScalarNode, path: Path | None) -> Any:
        text, tag = node.value, node.tag
        if node.style is None and tag != STR_TAG and tag in (BOOL_TAG, INT_TAG, FLOAT_TAG, NULL_TAG):
            resolved_tag, value = resolve_plain(text)
            if resolved_tag == tag:
                if path is not None and tag != NULL_TAG:
                    self.plain[path] = (value, text)
                return value
        if tag in (STR_TAG, "!", TIMESTAMP_TAG):
            return text
        if tag == BOOL_TAG:
            if text in BOOLEANS:
                return BOOLEANS[text]
        elif tag == INT_TAG:
            number = go_int(text.replace("_", ""))
            if number is not None:
                return number
        elif tag == FLOAT_TAG:
            if text in SPECIAL_FLOATS:
                return SPECIAL_FLOATS[text]
            if YAML_STYLE_FLOAT.match(text.replace("_", "")):
                return float(text.replace("_", ""))
        elif tag == NULL_TAG:
            if text in NULLS:
                return None
        elif tag == BINARY_TAG:
            try:
                raw = base64.b64decode("".join(text.split()), validate=True)
                return raw.decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                pass
        elif tag == MERGE_TAG:
            return text
        else:
            raise self._tag_error(node)
        raise _refusal(self.label, node.start_mark, f"{shown(text)} cannot be read as {tag.rsplit(':', 1)[-1]} (explicit tag {tag})")

    def _tag_error(self, node: Node) -> YamlInputError:
        return _refusal(self.label, node.start_mark, f"unsupported YAML tag {shown(node.tag)}: kubectl reads only plain maps, lists, "
                        "strings, numbers, booleans and null")


# -- entry points -----------------------------------------------------------------------------
def _label(number: int, origin: str) -> str:
    return f"document {number}" + (f" of {origin}" if origin else "")


def _syntax_error(exc: yaml.YAMLError, number: int, origin: str) -> YamlInputError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    reason = f"not valid YAML: {problem}" + (f" ({context})" if context else "")
    return _refusal(_label(number, origin), mark, reason)


def load_yaml_documents(text: str, *, origin: str = "", limits: YamlLimits = LIMITS, keys_as_written: bool = False) -> list[LoadedYaml]:
    """Every document of ``text`` (empty documents included, as None), read within ``limits``.

    ``keys_as_written``: mapping keys are the text written (``n: 64`` has the key ``n``), for
    answers the grader reads itself (``values``, NSG rules); otherwise they are what kubectl makes
    of them (``n`` is false, so the JSON key is ``false``).

    Raises:
        YamlInputError: invalid YAML, or a limit exceeded; it names the document, line and column.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise YamlInputError(origin or "input", None, None,
                             f"the YAML text is {size / 1024:.1f} KiB; an answer may be at most {limits.max_bytes // 1024} KiB")
    loader = _Loader(text, limits, _label(1, origin))
    out: list[LoadedYaml] = []
    budget = _Budget()
    try:
        while True:
            number = len(out) + 1
            loader.label = _label(number, origin)
            loader._bound_state()
            if not loader.check_node():
                break
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            _measure(node, limits, loader.label, budget)
            builder = _Builder(loader.label, keys_as_written)
            value = builder.build(node, ())
            out.append(LoadedYaml(value, number, builder.plain))
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, len(out) + 1, origin) from None
    finally:
        loader.dispose()
    return out


def load_yaml_value(text: str, *, origin: str = "", limits: YamlLimits = LIMITS, keys_as_written: bool = False) -> LoadedYaml | None:
    """The single document of ``text`` (None when there is none); more than one is an error, as in ``yaml.safe_load``."""
    docs = load_yaml_documents(text, origin=origin, limits=limits, keys_as_written=keys_as_written)
    if len(docs) > 1:
        raise YamlInputError(_label(2, origin), None, None, "expected a single YAML document, found a second one (---)")
    return docs[0] if docs else None


def not_a_string(value: Any, source: str | None = None) -> str:
    """The message for a non-string value where the API wants a string (label values, annotations).

    With the plain scalar's ``source`` text it says exactly what to write instead."""
    got = f"expected string, got {type(value).__name__} {shown(value)}"
    if isinstance(value, bool):
        what = "a boolean"
    elif isinstance(value, (int, float)):
        what = "a number"
    else:
        return got
    if source is None:
        return f"{got} (YAML reads unquoted y/n/yes/no/on/off/true/false as booleans and digits as numbers: quote the value)"
    return f'{got} (YAML reads unquoted {shown(source)[1:-1]} as {what}: write "{shown(source)[1:-1]}")'


_SAFETY_QUOTED = 2 * SHOWN_MAX
"""Quoted segments longer than this are cut by the safety net (shorter apostrophe-to-apostrophe
stretches of ordinary prose are left alone); :func:`shown` already cut what it quoted to SHOWN_MAX."""
_QUOTED = re.compile(f"'(?:[^'\\\\\\n]|\\\\.){{{_SAFETY_QUOTED},}}'|\"(?:[^\"\\\\\\n]|\\\\.){{{_SAFETY_QUOTED},}}\"")
_MESSAGE_MAX = 1000
_PATH_PART_MAX = SHOWN_MAX


def _cut_quoted(match: re.Match[str]) -> str:
    text = match.group(0)
    return text[: SHOWN_MAX + 1] + "…" + text[-1]


def capped_text(text: str, limit: int = _MESSAGE_MAX) -> str:
    """A message with every very long quoted value cut to :data:`SHOWN_MAX`, and the whole cut to ``limit``:
    the safety net under :func:`shown` for validators that quote learner text another way."""
    text = _QUOTED.sub(_cut_quoted, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def capped_problem(problem: FieldProblem) -> FieldProblem:
    """``problem`` with learner text in its document label, field path and message kept short."""
    path = problem.path
    if len(path) > 4 * _PATH_PART_MAX:
        path = path[: 2 * _PATH_PART_MAX] + "…" + path[-_PATH_PART_MAX:]
    document = problem.document if len(problem.document) <= 2 * SHOWN_MAX else problem.document[: 2 * SHOWN_MAX] + "…"
    message = capped_text(problem.message)
    if (path, document, message) == (problem.path, problem.document, problem.message):
        return problem
    return FieldProblem(document, path, message)


def with_source(problems: list[FieldProblem], plain_scalars: Mapping[str, tuple[Any, str]]) -> list[FieldProblem]:
    """Problems about non-string values rewritten to quote the unquoted text the learner wrote
    (``plain_scalars`` is keyed by rendered field path, as :func:`rendered_paths` makes it)."""
    out = []
    for p in problems:
        found = plain_scalars.get(p.path)
        if found is not None and p.message.startswith("expected string, got "):
            p = FieldProblem(p.document, p.path, not_a_string(found[0], found[1]))
        out.append(p)
    return out


def rendered_paths(plain_scalars: Mapping[Path, tuple[Any, str]], prefix: Path = ()) -> dict[str, tuple[Any, str]]:
    """``plain_scalars`` keyed by kubectl-style field path, for paths under ``prefix`` (which is dropped)."""
    n = len(prefix)
    return {field_path(list(path[n:])): found for path, found in plain_scalars.items() if path[:n] == prefix}


__all__ = [
    "BOOLEANS", "LIMITS", "LoadedYaml", "SHOWN_MAX", "YamlInputError", "YamlLimits", "capped_problem", "capped_text", "json_key", "load_yaml_documents",
    "load_yaml_value", "not_a_string", "rendered_paths", "resolve_plain", "shown", "with_source",
]
