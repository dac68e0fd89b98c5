"""What a test cell declares: which answers it grades, the lab it grades them in, and what must hold.

A test cell builds a :class:`Check` and calls :meth:`Check.verify`::

    from grader.checks import Check
    check = Check("np_default_deny_visible", answer="default_deny", topology="shop", namespace="shop")
    check.expect_objects("NetworkPolicy", count=1, namespace="shop")
    check.expect_probe("untrusted/attacker", "shop/web", 80, verdict="blocked")
    # a hidden test: in a notebook, the next line sits between nbgrader's hidden-test delimiters
    check.expect_matrix(80, destinations="shop/*", default="blocked")
    check.verify()

The builder only records data (a JSON-safe *spec*). The verdict is computed elsewhere: in a fresh
verifier process when the cell runs in a notebook kernel, and once more, outside the kernel, by the
trusted re-check when nbgrader autogrades (see :mod:`grader.checks.trusted`). Expectation kinds are
a registry (:mod:`grader.checks.expectations`): new exercises add kinds or lab queries there and
write expectations here with :meth:`Check.expect`, without new machinery.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from .outcome import CheckFailed, Outcome
from .vocabulary import FORMATS, SPEC_VERSION, SpecError

_ID = re.compile(r"^[A-Za-z0-9_\-]+$")
_ARROW = re.compile(r"^\s*(\S+)\s*(?:->|→)\s*(\S+)\s*$")


def lab_value(query: str, *args: Any, profile: str | None = None) -> dict[str, Any]:
    """An expected value the verifier computes from the lab, e.g. ``lab_value("pod_ip", "shop/web")``.
    Queries live in :mod:`grader.checks.queries`."""
    out: dict[str, Any] = {"$lab": query, "args": list(args)}
    if profile is not None:
        out["profile"] = profile
    return out


def _names(answer: str | None, answers: Sequence[str]) -> list[str]:
    names = ([answer] if answer else []) + list(answers)
    for n in names:
        if not isinstance(n, str) or not n.isidentifier():
            raise SpecError(f"answer names must be Python variable names, got {n!r}")
    return names


def _rule(rule: str | Sequence[Any], verdict: str | None = None) -> list[str]:
    """``"shop/web -> shop/api"`` (with ``verdict``) or ``(src, dst, verdict)``."""
    if isinstance(rule, str):
        m = _ARROW.match(rule)
        if m is None or verdict is None:
            raise SpecError(f"flow rule {rule!r}: expected 'SOURCE -> DESTINATION'")
        return [m.group(1), m.group(2), verdict]
    items = list(rule)
    if len(items) != 3:
        raise SpecError(f"flow rule {rule!r}: expected (source, destination, verdict)")
    return [str(items[0]), str(items[1]), str(items[2])]


def _port(port: int | str | None, protocol: str) -> tuple[int | str | None, str]:
    """``80``, ``"80/UDP"``, ``"metrics"`` (a named port) or ``None``."""
    if isinstance(port, str) and "/" in port:
        number, _, proto = port.partition("/")
        return (int(number) if number.isdigit() else number), proto.upper()
    if isinstance(port, str) and port.isdigit():
        return int(port), protocol.upper()
    return port, protocol.upper()


class Check:
    """Answers + lab setup + expectations for one nbgrader test cell. Methods chain."""

    def __init__(
        self, check_id: str, *, answer: str | None = None, answers: Sequence[str] = (),
        format: str = "manifests", topology: str | None = "shop", profile: str = "kindnet",
        namespace: str = "default", load_balancer: str | None = None,
    ) -> None:
        if not isinstance(check_id, str) or not _ID.match(check_id):
            raise SpecError(f"check id {check_id!r}: use letters, digits, '_' and '-' (the grade_id of the cell)")
        if format not in FORMATS:
            raise SpecError(f"format {format!r}: expected one of {', '.join(FORMATS)}")
        self.id = check_id
        setup: dict[str, Any] = {"topology": topology, "profile": profile, "namespace": namespace, "steps": []}
        if load_balancer is not None:
            setup["load_balancer"] = load_balancer  # who serves LoadBalancer Services (simulated cluster: "azure")
        self._spec: dict[str, Any] = {
            "version": SPEC_VERSION, "id": check_id, "answers": _names(answer, answers), "format": format,
            "setup": setup, "expect": [],
        }
        from . import trusted

        trusted.note_created(self)

    # -- setup -----------------------------------------------------------------------------
    def given(self, manifests: str | Mapping[str, Any] | Sequence[Any]) -> Check:
        """Objects applied before the answer (a starting policy, extra pods and namespaces)."""
        text = manifests if isinstance(manifests, str) else yaml.safe_dump_all(
            [manifests] if isinstance(manifests, Mapping) else list(manifests), sort_keys=False)
        self._spec["setup"]["steps"].append({"apply": text})
        return self

    def setup(self, action: str, **params: Any) -> Check:
        """A registered setup action (:mod:`grader.checks.actions`), run in order with ``given``,
        before the answer is applied: ``check.setup("set_ready", pod="shop/api-v2", ready=False)``."""
        if not isinstance(action, str) or not action:
            raise SpecError(f"setup action {action!r}: expected a name")
        self._spec["setup"]["steps"].append({"action": action, **params})
        return self

    def install_ingress_controller(self, name: str = "ingress-nginx") -> Check:
        """Run an in-cluster ingress controller (``ingress-nginx``: IngressClass ``nginx``)."""
        return self.setup("install_ingress_controller", name=name)

    def install_gateway_class(self, name: str = "approuting-istio") -> Check:
        """Run a Gateway API implementation with pod data planes (``approuting-istio``: AKS application routing's)."""
        return self.setup("install_gateway_class", name=name)

    def set_ready(self, pod: str, ready: bool = False) -> Check:
        """Make ``pod`` fail (or pass) its readiness probe."""
        return self.setup("set_ready", pod=pod, ready=ready)

    def tls_secret(self, name: str, namespace: str, hosts: Sequence[str], *, ca: str = "course CA") -> Check:
        """A ``kubernetes.io/tls`` Secret with a certificate for ``hosts``, issued by the CA named ``ca``
        (minted by the verifier for this check; ``expect_http(..., ca=...)`` trusts it)."""
        return self.setup("tls_secret", name=name, namespace=namespace, hosts=list(hosts), ca=ca)

    def add_external_host(self, name: str, ip: str, ports: Iterable[int] = (80, 443)) -> Check:
        """A host outside the cluster with a DNS name (simulated cluster only), e.g. for FQDN rules."""
        return self.setup("add_external_host", name=name, ip=ip, ports=[int(p) for p in ports])

    def add_neighbour_host(self, name: str, ip: str, ports: Iterable[int] = (80, 443)) -> Check:
        """A host outside the cluster at an address next to one the answer may reach, which it must
        not reach: probing it catches a CIDR wider than the one address asked for. Created on the
        simulated cluster; on kind the address stays empty (probes to it are blocked whatever the answer)."""
        return self.setup("add_neighbour_host", name=name, ip=ip, ports=[int(p) for p in ports])

    def add_pod(self, ref: str, labels: Mapping[str, str], ports: Iterable[str | int] = ()) -> Check:
        """A pod the prompt may not mention, e.g. a look-alike in another namespace.
        ``ports``: ``80``, ``"53/UDP"`` or ``"8080/TCP/http"`` (number/protocol/name)."""
        ns, _, name = ref.partition("/")
        container_ports = []
        for p in ports:
            parts = str(p).split("/")
            entry: dict[str, Any] = {"containerPort": int(parts[0]), "protocol": (parts[1] if len(parts) > 1 else "TCP").upper()}
            if len(parts) > 2:
                entry["name"] = parts[2]
            container_ports.append(entry)
        pod = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/e2e-test-images/agnhost:2.53", "ports": container_ports}]},
        }
        return self.given(pod)

    def add_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> Check:
        return self.given({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels or {})}})

    # -- expectations ----------------------------------------------------------------------
    def expect(self, kind: str, **params: Any) -> Check:
        """Any registered expectation kind with its parameters (JSON-safe values)."""
        self._spec["expect"].append({"kind": kind, **params})
        return self

    def expect_objects(self, kind: str, *, count: int | None = None, at_least: int | None = None,
                       namespace: str | None = None, name: str | None = None) -> Check:
        """The answer contains ``count`` (or ``at_least``) objects of ``kind`` (in ``namespace``, named ``name``)."""
        if count is None and at_least is None:
            at_least = 1
        return self.expect("objects", of=kind, count=count, at_least=at_least, namespace=namespace, name=name)

    def expect_probe(
        self, source: str, destination: str | dict[str, Any], port: int | str | None = None, protocol: str = "TCP", *,
        verdict: str = "allowed", answered_by: str | None = None, client_ip: str | dict[str, Any] | None = None,
        http_status: int | None = None, profile: str | None = None,
    ) -> Check:
        """One connection attempt and what must happen (``allowed``, ``blocked``, ``refused``, ``dns``...).
        ``destination`` may be a :func:`lab_value`, e.g. ``lab_value("address", "service/shop/web")``."""
        port, protocol = _port(port, protocol)
        params: dict[str, Any] = {"source": source, "destination": destination, "port": port, "protocol": protocol, "verdict": verdict}
        for key, value in (("answered_by", answered_by), ("client_ip", client_ip), ("http_status", http_status), ("profile", profile)):
            if value is not None:
                params[key] = value
        return self.expect("probe", **params)

    def expect_probes(self, verdict: str, flows: Iterable[str], *, profile: str | None = None) -> Check:
        """Several probes with one verdict, each ``"SRC -> DST PORT[/PROTO]"``."""
        for flow in flows:
            head, _, port = flow.rpartition(" ")
            m = _ARROW.match(head)
            if m is None:
                raise SpecError(f"flow {flow!r}: expected 'SOURCE -> DESTINATION PORT[/PROTOCOL]'")
            self.expect_probe(m.group(1), m.group(2), port, verdict=verdict, profile=profile)
        return self

    def expect_matrix(
        self, port: int | str, protocol: str = "TCP", *, sources: str | Sequence[str] = "*",
        destinations: str | Sequence[str] = "*", default: str = "blocked",
        allow: Iterable[str] = (), block: Iterable[str] = (), rules: Iterable[Sequence[Any]] = (),
        only_serving: bool = True, ignore_loopback: bool = True, profile: str | None = None, title: str | None = None,
    ) -> Check:
        """Every source to every destination on one port: ``default`` unless a rule says otherwise.

        ``sources``/``destinations`` are patterns (``*``, ``shop/*``, ``*/web``) over the lab's pods,
        or endpoint names (``host``, ``node:kind-worker``, ``api.example.com``). Destinations are
        narrowed to pods that serve the port unless ``only_serving=False``. Rules apply in order:
        ``allow``/``block`` (``"SRC -> DST"``), then ``rules`` (``(SRC, DST, verdict)``).
        """
        number, protocol = _port(port, protocol)
        ordered = [_rule(r, "allowed") for r in allow] + [_rule(r, "blocked") for r in block] + [_rule(r) for r in rules]
        params: dict[str, Any] = {
            "port": number, "protocol": protocol, "sources": [sources] if isinstance(sources, str) else list(sources),
            "destinations": [destinations] if isinstance(destinations, str) else list(destinations),
            "default": default, "rules": ordered, "only_serving": only_serving, "ignore_loopback": ignore_loopback,
        }
        if profile is not None:
            params["profile"] = profile
        if title is not None:
            params["title"] = title
        return self.expect("matrix", **params)

    def expect_http(
        self, source: str, url: str, *, resolve: str | dict[str, Any] | None = None, host: str | None = None,
        sni: str | None = None, headers: Mapping[str, str] | None = None, status: int | None = None,
        answered_by: str | None = None, ca: str | None = None, certificate_for: str | None = None,
        trusted: bool | None = None, location: str | None = None, verdict: str | Sequence[str] | None = None,
    ) -> Check:
        """One HTTP(S) request (``lab.http``) and what must come back: ``status``, the pod (or proxy)
        that ``answered_by``, a ``location`` for redirects, and for HTTPS a certificate for
        ``certificate_for`` that the CA named ``ca`` does (``trusted=True``) or does not trust.
        ``resolve`` connects to that address (curl's --resolve), e.g. ``lab_value("address", "ingress/shop/shop")``.
        ``verdict``: one, or a list of verdicts any of which passes."""
        verdicts = verdict if verdict is None or isinstance(verdict, str) else [str(v) for v in verdict]
        params: dict[str, Any] = {"source": source, "url": url}
        for key, value in (("resolve", resolve), ("host", host), ("sni", sni), ("headers", dict(headers) if headers else None),
                           ("status", status), ("answered_by", answered_by), ("ca", ca), ("certificate_for", certificate_for),
                           ("trusted", trusted), ("location", location), ("verdict", verdicts)):
            if value is not None:
                params[key] = value
        return self.expect("http", **params)

    def expect_distribution(
        self, source: str, destination: str, port: int | str | None = None, protocol: str = "TCP", *,
        answered_by: Sequence[str], requests: int = 40,
    ) -> Check:
        """``requests`` connections (or HTTP requests, for a URL) are all answered, by pods of
        ``answered_by`` only, and every one of them answers at least once (load balancing)."""
        port, protocol = _port(port, protocol)
        return self.expect("distribution", source=source, destination=destination, port=port, protocol=protocol,
                           answered_by=sorted(answered_by), requests=int(requests))

    def expect_value(
        self, key: str, equals: Any = None, *, type: str | None = None, tolerance: float | None = None,
        within: str | None = None, one_of: Sequence[Any] | None = None, hint: str | None = None,
    ) -> Check:
        """A ``values`` answer has ``key`` (dots descend into mappings), of ``type`` (``ip``, ``cidr``,
        ``int``, ``number``, ``verdict``, ``text``, ``cidr-list``, ``ip-list``), equal to ``equals`` (a literal
        or :func:`lab_value`, with ``tolerance`` for numbers), inside ``within`` (a CIDR) or in ``one_of``."""
        params: dict[str, Any] = {"key": key}
        for name, value in (("equals", equals), ("type", type), ("tolerance", tolerance), ("within", within),
                            ("one_of", list(one_of) if one_of is not None else None), ("hint", hint)):
            if value is not None:
                params[name] = value
        return self.expect("value", **params)

    # -- running ---------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        import copy

        return copy.deepcopy(self._spec)

    def verify(self) -> None:
        """Grade the answers against the expectations; display the pictures; raise
        :class:`CheckFailed` naming every wrong flow when anything is wrong.

        Returns None on purpose: a value as the cell's last expression would be read by nbgrader
        as partial credit."""
        __tracebackhide__ = True
        from . import trusted

        if trusted.active():
            trusted.verify_here(self)
            return
        _verify_in_worker(self, sys._getframe(1).f_globals)

    def run(self, answers: Mapping[str, Any]) -> Outcome:
        """Evaluate in this process with the given answer values (tools and tests; never from a notebook)."""
        from .engine import evaluate

        texts = {name: answer_text(name, answers[name]) for name in self._spec["answers"] if name in answers}
        return evaluate(self.spec(), texts)

    def __repr__(self) -> str:
        return f"<Check {self.id}: {len(self._spec['expect'])} expectations on {', '.join(self._spec['answers'])}>"


def answer_text(name: str, value: Any) -> str:
    """The learner's answer as text: a string as is; a mapping or list dumped as YAML."""
    if isinstance(value, str):
        return value
    if isinstance(value, (Mapping, list, tuple)):
        return yaml.safe_dump_all(list(value), sort_keys=False) if isinstance(value, (list, tuple)) else yaml.safe_dump(dict(value), sort_keys=False)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise CheckFailed(f"`{name}` should be YAML text between triple quotes, but it is a {type(value).__name__}")


def _verify_in_worker(check: Check, namespace: Mapping[str, Any]) -> Outcome | None:
    __tracebackhide__ = True
    from . import client, trusted

    answers = {}
    for name in check._spec["answers"]:
        if name not in namespace:
            raise CheckFailed(f"`{name}` is not defined: run the answer cell above this test first (Run > Run All Above Selected Cell)")
        answers[name] = answer_text(name, namespace[name])
    if trusted.grading_in_kernel():
        # nbgrader autograde: the kernel only records which answers it ran; the verdict, the
        # message and the pictures of this cell come from the trusted re-check outside the
        # kernel, which replaces this cell's outputs (grader.checks.nbgrader_ext).
        trusted.record(check.id, answers)
        print(f"{', '.join(f'`{n}`' for n in answers)} recorded; this cell is graded outside the notebook")
        return None
    outcome = client.verify(check.spec(), answers)
    client.show(outcome)
    if not outcome.passed:
        raise CheckFailed(outcome.message())
    return outcome
