"""HTTPRoute filters a Gateway carries out: header modifiers, RequestRedirect, URLRewrite.

Semantics from kubernetes-sigs/gateway-api ``apis/v1/httproute_types.go`` (standard channel):

* ``HTTPHeaderFilter``: ``set`` overwrites, ``add`` appends to an existing value (``a,b``),
  ``remove`` drops; header names are case-insensitive.
* ``HTTPPathModifier.ReplacePrefixMatch`` works on whole path elements, like the ``PathPrefix``
  match it replaces, and the types' documentation gives the table that ``replace_prefix`` follows
  (``/foo/bar`` with prefix ``/foo`` and replacement ``/xyz`` or ``/xyz/`` gives ``/xyz/bar``;
  ``/foo`` with the empty replacement or ``/`` gives ``/``, ...).
* ``HTTPRequestRedirectFilter``: scheme (default: the request's), hostname (default: the Host
  header's), path, port -- "If redirect scheme is not-empty, the redirect port MUST be the
  well-known port associated with the redirect scheme ... If redirect scheme is empty, the
  redirect port MUST be the Gateway Listener port", and the port is left out of ``Location`` for
  http on 80 and https on 443 -- and statusCode (default 302).
* ``HTTPURLRewriteFilter``: "Hostname is the value to be used to replace the Host header value
  during forwarding"; path as above. The conformance tests ``httproute-rewrite-path.go`` and
  ``httproute-rewrite-host.go`` check what the backend received; ``tests/gateway`` replays them.
"""

from __future__ import annotations

from ..model.gateway import HeaderModifier, RequestRedirect, RouteMatch, URLRewrite


def apply_header_modifier(headers: list[tuple[str, str]], mod: HeaderModifier | None) -> list[tuple[str, str]]:
    if mod is None:
        return headers
    out = [(k, v) for k, v in headers if k.lower() not in {r.lower() for r in mod.remove}]
    for name, value in mod.set:
        out = [(k, v) for k, v in out if k.lower() != name.lower()] + [(name, value)]
    for name, value in mod.add:
        existing = [i for i, (k, _) in enumerate(out) if k.lower() == name.lower()]
        if existing:
            k, v = out[existing[0]]
            out[existing[0]] = (k, f"{v},{value}")
        else:
            out.append((name, value))
    return out


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def replace_prefix(path: str, prefix: str, replacement: str) -> str:
    """``path`` (no query) with the path elements of ``prefix`` replaced by ``replacement``."""
    matched = len(_elements(prefix))
    rest = _elements(path)[matched:]
    trailing = path.endswith("/") and len(_elements(path)) > matched
    head = replacement.rstrip("/")
    if not rest:
        # Nothing after the prefix: the replacement itself, and a trailing slash the request had.
        if path.endswith("/") and head:
            return head + "/"
        return head or "/"
    return head + "/" + "/".join(rest) + ("/" if trailing else "")


def modify_path(path: str, path_type: str | None, value: str | None, match: RouteMatch) -> str:
    """The path (with its query) after an ``HTTPPathModifier``; unchanged without one."""
    only, sep, query = path.partition("?")
    if path_type == "ReplaceFullPath" and value is not None:
        only = value
    elif path_type == "ReplacePrefixMatch" and value is not None:
        only = replace_prefix(only, match.path.value, value)
    return only + (sep + query if query else "")


def redirect_location(redirect: RequestRedirect, scheme: str, host: str, listener_port: int, path: str, match: RouteMatch) -> str:
    new_scheme = redirect.scheme or scheme
    hostname = redirect.hostname or host.split(":")[0]
    if redirect.port is not None:
        port = redirect.port
    elif redirect.scheme is not None:
        port = 443 if new_scheme == "https" else 80
    else:
        port = listener_port
    default = (new_scheme == "http" and port == 80) or (new_scheme == "https" and port == 443)
    authority = hostname if default else f"{hostname}:{port}"
    return f"{new_scheme}://{authority}{modify_path(path, redirect.path_type, redirect.path_value, match)}"


def rewrite_url(rewrite: URLRewrite, host: str, path: str, match: RouteMatch) -> tuple[str, str]:
    """The Host and path (with query) the backend receives after a URLRewrite filter."""
    return rewrite.hostname or host, modify_path(path, rewrite.path_type, rewrite.path_value, match)
