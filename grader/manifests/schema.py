"""Structural validation against the Kubernetes OpenAPI schema (via ``kubernetes-validate``).

Only built-in kinds have a schema there; CRDs (Gateway API, Cilium) are validated by their own
parsers. Every schema violation becomes a :class:`FieldProblem` with a kubectl-style path.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from ..errors import FieldProblem, field_path
from ..facts import fact
from .bounded_yaml import not_a_string, shown

# jsonschema imports, when they are installed (JupyterLab's jupyter-events pulls them in), a set of
# modules whose only use is its optional format checkers ("iri", "uri", "date-time", "color",
# "duration", ...). rfc3987_syntax alone builds a Lark grammar and takes about 2.5 s; the others
# (arrow via isoduration, rfc3986_validator, webcolors, ...) about a tenth of a second together. We
# never check formats, so these modules are hidden for the duration of these two imports (only those
# nobody imported before; a later `import webcolors` works as usual). Every lesson, every kernel
# that grades a notebook and every re-check starts faster. The list is jsonschema/_format.py's
# optional imports (jsonschema 4.x).
_FORMAT_ONLY = ("rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator", "webcolors", "uri_template",
                "isoduration", "fqdn", "jsonpointer")
_HIDDEN = [name for name in _FORMAT_ONLY if name not in sys.modules]
for _name in _HIDDEN:
    sys.modules[_name] = None  # type: ignore[assignment]
try:
    import jsonschema
    from kubernetes_validate import utils as kv_utils
finally:
    for _name in _HIDDEN:
        del sys.modules[_name]


def kubernetes_minor() -> str:
    return str(fact("kubernetes-version").value)


@cache
def _validator(kind: str, api_version: str, version: str) -> jsonschema.protocols.Validator | None:
    from referencing import Registry, Resource

    schema_version = [v for v in kv_utils.all_versions() if kv_utils.major_minor(v) <= version][-1]
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema_dir = f"v{schema_version}-local-strict"
    try:
        schema = kv_utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        return None
    registry = _definitions(schema_dir, version) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@cache
def _definitions(schema_dir: str, version: str) -> Any:
    """The shared ``_definitions.json`` of one schema release (a few MB of JSON), read once per
    process rather than once per kind."""
    from referencing import Resource

    return Resource.from_contents(kv_utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/_definitions.json", version))


def has_schema(kind: str, api_version: str) -> bool:
    return _validator(kind, api_version, kubernetes_minor()) is not None


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping) and isinstance(error.schema, Mapping):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        names = ", ".join(shown(e) for e in extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        return f"unknown field {names}; expected one of: {allowed}"
    if error.validator == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = " or ".join(t for t in expected if t != "null")
        if expected == "string":
            return not_a_string(error.instance)  # parse_manifests names the unquoted text the learner wrote
        return f"expected {expected}, got {type(error.instance).__name__} {shown(error.instance)}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return f"unsupported value {shown(error.instance)}: expected one of {', '.join(map(repr, error.validator_value))}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{shown(error.instance)} is not valid here"
    return error.message


def schema_problems(body: dict[str, Any], document: str) -> list[FieldProblem]:
    """Every way ``body`` violates its kind's schema; empty when it conforms (or has no schema)."""
    validator = _validator(str(body.get("kind")), str(body.get("apiVersion")), kubernetes_minor())
    if validator is None:
        return []
    try:
        key = json.dumps(body, allow_nan=False)
    except (TypeError, ValueError):  # values YAML can hold and JSON cannot: validate every time
        return _problems(validator, body, document)
    return list(_problems_of_json(key, document))


@lru_cache(maxsize=256)
def _problems_of_json(body_json: str, document: str) -> tuple[FieldProblem, ...]:
    """The validation of one body, kept: a check applies the same topology and answer objects once
    per expectation, and validating is most of what parsing a manifest costs."""
    body = json.loads(body_json)
    validator = _validator(str(body.get("kind")), str(body.get("apiVersion")), kubernetes_minor())
    return tuple(_problems(validator, body, document)) if validator is not None else ()


def _problems(validator: jsonschema.protocols.Validator, body: dict[str, Any], document: str) -> list[FieldProblem]:
    problems = []
    for error in sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path]):
        # Prefer the most specific sub-error of oneOf/anyOf (IntOrString fields).
        leaf = error
        if error.context:
            leaf = max(error.context, key=lambda e: len(e.absolute_path))
        problems.append(FieldProblem(document, field_path(list(leaf.absolute_path)), _describe(leaf)))
    return problems
