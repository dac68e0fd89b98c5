"""How the Lab API names cluster objects to a learner, and reads the names it is given.

Every message names an object the way ``kubectl`` and :class:`~grader.manifests.ObjectKey` print it:
``service/shop/web``, ``pod/shop/web``, ``deployment/shop/echo``, ``gateway/shop/public``,
``node/kind-worker`` (cluster-scoped objects have no namespace). Both backends build those
messages here, so the same mistake reads the same on the simulated cluster and on kind.

Accepted spellings of a reference (:func:`ref_key`): ``<kind>/<namespace>/<name>`` (with kubectl's
short kind names: ``svc/``, ``deploy/``), ``<namespace>/<name>``, ``<name>`` (namespace
``default``) and, for Services, the DNS spelling ``<name>.<namespace>[.svc.cluster.local]``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import LabError
from ..manifests import ObjectKey

_ALIASES = {"Service": ("service/", "svc/"), "Deployment": ("deployment/", "deploy/"), "Pod": ("pod/", "po/"),
            "Ingress": ("ingress/", "ing/"), "Gateway": ("gateway/", "gtw/"), "HTTPRoute": ("httproute/",)}


def object_name(kind: str, namespace: str, name: str) -> str:
    """``service/shop/web`` (``node/kind-worker`` for a cluster-scoped kind)."""
    return str(ObjectKey(kind, namespace, name))


def no_such(kind: str, namespace: str, name: str, known: Iterable[str] | None = None) -> LabError:
    """``no service/shop/nope`` (``; known: service/shop/web, ...`` when ``known`` is given)."""
    text = f"no {object_name(kind, namespace, name)}"
    if known is not None:
        text += f"; known: {', '.join(known) or 'none'}"
    return LabError(text)


def ref_key(kind: str, text: str, *, default_namespace: str = "default") -> ObjectKey:
    """The object ``text`` names (see the module docstring); LabError naming the spelling for anything else."""
    body = text
    for prefix in _ALIASES.get(kind, (f"{kind.lower()}/",)):
        body = body.removeprefix(prefix)
    ns, sep, name = body.partition("/")
    if not sep:
        ns, name = default_namespace, body
        if kind == "Service" and "." in body:  # the DNS spelling: web.shop[.svc.cluster.local]
            name, _, rest = body.partition(".")
            ns = rest.split(".")[0]
    if not ns or not name or "/" in name:
        raise LabError(f"{text!r} does not name a {kind}: expected {kind.lower()}/<namespace>/<name> or <namespace>/<name>")
    return ObjectKey(kind, ns, name)


__all__ = ["no_such", "object_name", "ref_key"]
