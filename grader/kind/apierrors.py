"""API-server errors -> :class:`FieldProblem` with the document and field path the server named.

The API server answers a rejected write with a ``metav1.Status``
(apimachinery ``pkg/api/errors``):

* 422 ``Invalid``: ``details.causes[]`` each with ``field`` (``spec.ingress[0].from[1]``),
  ``reason`` (``FieldValueInvalid``, ``FieldValueRequired``...) and ``message``.
* 400 ``BadRequest`` from server-side apply when a field is not in the schema:
  ``failed to create typed patch object (...): .spec.foo: field not declared in schema``.
* 404 ``NotFound`` for a missing namespace: ``namespaces "x" not found``.
* 409 ``Conflict``/``AlreadyExists``, 403 ``Forbidden`` (e.g. admission webhooks, RBAC).

Everything becomes problems of the one document, so ``apply`` raises one :class:`ManifestError`
whether the local checks or the server found the mistake.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import FieldProblem

_SCHEMA_FIELD = re.compile(r"(?:^|[\s:])\.((?:[A-Za-z0-9_-]+|\[[^\]]*\])(?:\.[A-Za-z0-9_-]+|\[[^\]]*\])*): (field not declared in schema|[^\n]+)")


def _status(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {"message": body.strip()}
        return parsed if isinstance(parsed, dict) else {"message": body.strip()}
    return {}


def _strip_value_prefix(message: str, field: str) -> str:
    # causes repeat the field: "spec.ports[0].port: Invalid value: 0: must be ..." -> keep the rest
    if field and message.startswith(field + ": "):
        return message[len(field) + 2:]
    return message


def api_error_problems(status_code: int | None, body: Any, document: str) -> list[FieldProblem]:
    """Problems for one rejected document (``networkpolicy/allow-web``)."""
    status = _status(body)
    message = str(status.get("message") or "").strip()
    reason = str(status.get("reason") or "")
    causes = (status.get("details") or {}).get("causes") or []
    problems: list[FieldProblem] = []
    if causes and (status_code == 422 or reason == "Invalid"):
        for cause in causes:
            field = str(cause.get("field") or "")
            text = _strip_value_prefix(str(cause.get("message") or cause.get("reason") or "invalid"), field)
            problems.append(FieldProblem(document, field, text))
        return problems
    if status_code == 400 or reason == "BadRequest":
        found = [(m[1], m[2]) for m in _SCHEMA_FIELD.finditer(message)]
        if found:
            for path, text in found:
                text = "unknown field (not in the schema)" if text == "field not declared in schema" else text
                problems.append(FieldProblem(document, path, text))
            return problems
        return [FieldProblem(document, "", message or "the API server rejected the request (400 Bad Request)")]
    if status_code == 404 or reason == "NotFound":
        ns = re.search(r'namespaces "([^"]+)" not found', message)
        if ns:
            return [FieldProblem(document, "metadata.namespace", f'namespace "{ns[1]}" not found: create the namespace first')]
        if "the server could not find the requested resource" in message or "no matches for kind" in message:
            return [FieldProblem(document, "apiVersion", f"this cluster does not serve this kind: {message} (is the CRD installed?)")]
        return [FieldProblem(document, "", message or "not found")]
    if status_code == 409 or reason in ("Conflict", "AlreadyExists"):
        return [FieldProblem(document, "", message or "conflict: the object changed on the server; retry")]
    if status_code == 403 or reason == "Forbidden":
        return [FieldProblem(document, "", f"forbidden: {message}" if message else "forbidden by the API server")]
    code = f" ({status_code})" if status_code else ""
    return [FieldProblem(document, "", (message or "the API server rejected the request") + code)]
