"""Plain YAML scalars resolved the way go-yaml v2 (the decoder of kubectl and kind) resolves them,
so a value means in the lab what it means to the API server: ``yes``/``on`` are booleans, ``0o17``
and ``0x1F`` integers, ``1e3`` a float, ``2026-01-01`` a timestamp kept as text. Split out of
``bounded_yaml`` (which composes and builds documents with bounds) to keep each module small.
"""

from __future__ import annotations

import math
import re
from typing import Any

from yaml.nodes import ScalarNode
from yaml.resolver import BaseResolver

# -- scalars as go-yaml v2 resolves them ---------------------------------------------------------
STR_TAG = "tag:yaml.org,2002:str"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
NULL_TAG = "tag:yaml.org,2002:null"
MERGE_TAG = "tag:yaml.org,2002:merge"
BINARY_TAG = "tag:yaml.org,2002:binary"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
SEQ_TAG = "tag:yaml.org,2002:seq"
MAP_TAG = "tag:yaml.org,2002:map"

BOOLEANS: dict[str, bool] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
"""go-yaml v2 ``resolveMapList``: YAML 1.1 booleans, ``y``/``n`` included (PyYAML leaves those out)."""
NULLS = frozenset(("", "~", "null", "Null", "NULL"))
SPECIAL_FLOATS = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_HINTED = frozenset("+-0123456789yYnNtTfFoO~.")
"""First characters go-yaml's ``resolveTable`` looks further at; any other scalar is a string."""
YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_GO_INT = re.compile(r"^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$")
_INT64 = (-(2**63), 2**63 - 1)


def go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, falling back to ``ParseUint`` as go-yaml does; None if neither."""
    m = _GO_INT.match(text)
    if m is None:
        return None
    sign, digits = m.groups()
    lower = digits.lower()
    if lower.startswith(("0x", "0o", "0b")):
        value = int(digits[2:], {"x": 16, "o": 8, "b": 2}[lower[1]])
    elif len(digits) > 1 and digits.startswith("0"):
        value = int(digits[1:], 8)
    else:
        value = int(digits)
    value = -value if sign == "-" else value
    if _INT64[0] <= value <= _INT64[1] or (not sign and 0 <= value < 2**64):
        return value
    return None


def resolve_plain(text: str) -> tuple[str, Any]:
    """The tag and value go-yaml v2 gives an untagged plain scalar (``resolve.go`` ``resolve``)."""
    if text == "<<":
        return MERGE_TAG, text
    if text and text[0] not in _HINTED:
        return STR_TAG, text
    if text in BOOLEANS:
        return BOOL_TAG, BOOLEANS[text]
    if text in NULLS:
        return NULL_TAG, None
    if text in SPECIAL_FLOATS:
        return FLOAT_TAG, SPECIAL_FLOATS[text]
    first = text[0]
    if first == ".":
        return (FLOAT_TAG, float(text)) if _DOT_FLOAT.match(text) else (STR_TAG, text)
    if first in "+-0123456789":
        if _TIMESTAMP.match(text):
            return STR_TAG, text  # decoded into interface{}, a timestamp stays a string
        plain = text.replace("_", "")
        number = go_int(plain)
        if number is not None:
            return INT_TAG, number
        if YAML_STYLE_FLOAT.match(plain):
            value = float(plain)
            if math.isfinite(value):
                return FLOAT_TAG, value
    return STR_TAG, text


class GoYamlResolver(BaseResolver):
    """Tags for untagged nodes as go-yaml v2 chooses them; explicit tags are left as written."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            return resolve_plain(value)[0]
        return super().resolve(kind, value, implicit)


__all__ = [
    "BINARY_TAG", "BOOLEANS", "BOOL_TAG", "FLOAT_TAG", "INT_TAG", "MAP_TAG", "MERGE_TAG", "NULLS", "NULL_TAG", "SEQ_TAG", "SPECIAL_FLOATS",
    "STR_TAG", "TIMESTAMP_TAG", "YAML_STYLE_FLOAT", "GoYamlResolver", "go_int", "resolve_plain",
]
