"""Expectation kinds for Services, Ingress and Gateway traffic: ``http`` (one request through
``lab.http``) and ``distribution`` (which pods answer N connections through a Service).

Registered in this module's ``HANDLERS`` (collected by :mod:`grader.checks.catalog`).
Problems start with the request (``host → https://shop.example.com/api via 172.18.0.5``), then what
was expected and observed, then ``why:`` with the lab's explanation.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Protocol
from ..reachability import Verdict
from ..reachability.render import COLOURS
from .kinds import Handler, expected_value, html_block, parse_verdict, port_label, registrar, why_text
from .outcome import Finding


HANDLERS: dict[str, Handler] = {}
expectation = registrar(HANDLERS)


def _address(ctx: Any, value: Any, profile: str | None) -> str | None:
    if value is None:
        return None
    return str(expected_value(ctx, value, profile)) if isinstance(value, Mapping) else str(value)


def _verdicts(value: Any) -> tuple[Verdict, ...]:
    """``verdict``: one verdict, or a list of verdicts any of which passes (``["blocked", "refused"]``: no
    answer, whether a load balancer drops the port, as Azure's does without a rule, or a proxy resets
    it, as cloud-provider-kind's Envoy does where it has no listener)."""
    values = value if isinstance(value, list | tuple) else [value]
    return tuple(dict.fromkeys(parse_verdict(v) for v in values))


@expectation("http")
def http(ctx: Any, p: dict[str, Any]) -> Finding:
    lab = ctx.lab(p.get("profile"))
    resolve = _address(ctx, p.get("resolve"), p.get("profile"))
    ca = ctx.ca(str(p["ca"])) if p.get("ca") else None
    result = lab.http(p["source"], p["url"], host=p.get("host"), sni=p.get("sni"), headers=p.get("headers") or None,
                      ca=ca, resolve=resolve)
    ex = result.http
    request = f"{p['source']} → {p['url']}" + (f" (Host: {p['host']})" if p.get("host") else "") + (f" via {resolve}" if resolve else "")
    got = ex.render() if ex is not None else f"no HTTP answer ({result.verdict.name})"
    problems: list[str] = []
    why = why_text(result.reason, result.verdict)
    wanted = _verdicts(p["verdict"]) if "verdict" in p else ()
    if wanted and result.verdict not in wanted:
        problems.append(f"{request}: expected {' or '.join(v.name for v in wanted)}, observed {result.verdict.name} ({got}){why}")
    status = ex.status if ex is not None and not ex.error else None
    if "status" in p and status != p["status"]:
        problems.append(f"{request}: expected HTTP {p['status']}, got {got}{why}")
    if "answered_by" in p and (status is None or result.answered_by != p["answered_by"]) and not problems:
        problems.append(f"{request}: expected {p['answered_by']} to answer, but {result.answered_by or 'nobody'} did ({got}){why}")
    if "location" in p and (ex is None or ex.location != p["location"]) and not problems:
        problems.append(f"{request}: expected a redirect to {p['location']}, got {got}{why}")
    if "trusted" in p:
        trusted = ex.certificate_trusted if ex is not None else None
        if trusted is not bool(p["trusted"]):
            cert = (ex.certificate if ex is not None and ex.certificate else "no certificate")
            trust = ex.trust_reason if ex is not None and ex.trust_reason else (ex.error if ex is not None and ex.error else result.reason)
            should = "trust" if p["trusted"] else "reject"
            problems.append(f"{request}: a client trusting {p.get('ca', 'the course CA')} should {should} the certificate, "
                            f"but the server presented {cert}\n    why: {trust}")
    expected = [f"HTTP {p['status']}" if "status" in p else "", f"from {p['answered_by']}" if "answered_by" in p else "",
                f"→ {p['location']}" if "location" in p else "", ("trusted certificate" if p.get("trusted") else "untrusted certificate") if "trusted" in p else ""]
    title = f"{request}: {' '.join(e for e in expected if e) or result.verdict.name}"
    row = {"request": request, "expected": " ".join(e for e in expected if e) or " or ".join(v.value for v in wanted), "observed": got,
           "verdict": result.verdict.value, "ok": not problems, "reason": result.reason}
    return Finding("http", title, not problems, tuple(problems), passed_count=0 if problems else 1, row=row)


def http_table(rows: Sequence[dict[str, Any]]) -> str:
    th = "style='text-align:left;padding:2px 6px'"
    body = []
    for r in rows:
        colour = COLOURS[Verdict(r["verdict"])]
        body.append(
            f"<tr title='{html.escape(r['reason'])}'><td style='font-family:monospace;padding:2px 6px'>{html.escape(r['request'])}</td>"
            f"<td style='padding:2px 6px'>{html.escape(str(r['expected']))}</td>"
            f"<td style='border-left:6px solid {colour};padding:2px 6px'>{html.escape(r['observed'])}</td>"
            f"<td style='padding:2px 6px;font-weight:bold'>{'✓' if r['ok'] else '✗'}</td></tr>")
    ok = all(r["ok"] for r in rows)
    heading = f"{'✓' if ok else '✗'} Requests: {sum(1 for r in rows if r['ok'])} of {len(rows)} as expected (hover a row for why)"
    head = f"<tr><th {th}>request</th><th {th}>expected</th><th {th}>observed</th><th></th></tr>"
    return html_block(heading, f"<table style='border-collapse:collapse'>{head}{''.join(body)}</table>")


@expectation("distribution")
def distribution(ctx: Any, p: dict[str, Any]) -> Finding:
    lab = ctx.lab(p.get("profile"))
    proto = Protocol.parse(p.get("protocol", "TCP"))
    port = p.get("port")
    wanted = sorted(str(x) for x in p["answered_by"])
    spread = lab.distribution(p["source"], p["destination"], port, requests=int(p.get("requests", 40)), protocol=proto)
    flow = f"{p['source']} → {p['destination']} {port_label(port, proto)}"
    counts = spread.as_dict()
    problems: list[str] = []
    for who, n in sorted(counts.items()):
        if who not in wanted:
            problems.append(f"{flow}: {who} answered {n} of {spread.requests} connections; only {', '.join(wanted)} should")
    for who in wanted:
        if who not in counts:
            problems.append(f"{flow}: {who} never answered in {spread.requests} connections; it should get its share")
    if spread.failures:
        lost = sum(n for _, n in spread.failures)
        how = ", ".join(f"{n} {verdict}" for verdict, n in spread.failures)
        sample = next((r for r in (lab.probe(p["source"], p["destination"], port, proto) for _ in range(8)) if r.verdict is not Verdict.ALLOWED), None)
        problems.append(f"{flow}: {lost} of {spread.requests} connections got no answer ({how})" + (why_text(sample.reason, sample.verdict) if sample else ""))
    title = f"{flow}: answered by {', '.join(wanted)}"
    body = html.escape(spread.render())
    picture = html_block(f"{'✓' if not problems else '✗'} {spread.requests} connections {flow}", f"<pre style='margin:0'>{body}</pre>") if ctx.pictures else ""
    return Finding("distribution", title, not problems, tuple(problems), passed_count=0 if problems else spread.requests, html=picture)


@expectation("service_type")
def service_type(ctx: Any, p: dict[str, Any]) -> Finding:
    """The Service ``service`` (``ns/name``) has ``type`` (``ClusterIP``: reachable inside the cluster
    only). When it has another type, the problem shows what that type opens to the outside: each
    node port probed from ``source`` (default ``vm.internal``, a machine of the node network) on
    ``node`` (default ``node:kind-worker``), and the external address of a LoadBalancer."""
    lab = ctx.lab(p.get("profile"))
    ns, _, name = str(p["service"]).partition("/")
    wanted = str(p["type"])
    title = f"service/{ns}/{name} is type {wanted}"
    info = next((r for r in lab.services(ns) if r.name == name), None)
    if info is None:
        return Finding("service_type", title, False, (f"service/{ns}/{name}: no such Service in the lab, expected one of type {wanted}",))
    svc = info.service
    if str(svc.type) == wanted:
        return Finding("service_type", title, True, passed_count=1)
    source, node = str(p.get("source", "vm.internal")), str(p.get("node", "node:kind-worker"))
    opened: list[str] = []
    for port in svc.ports:
        if port.node_port:
            result = lab.probe(source, node, port.node_port, Protocol.parse(str(port.protocol)))
            opened.append(f"{source} → {node} {port.node_port}/{port.protocol} (node port of {port.port}): {result.verdict.name}"
                          + (f", answered by {result.answered_by}" if result.answered_by else ""))
    if info.external_ip not in ("<none>", "", "<pending>"):
        opened.append(f"external address {info.external_ip}")
    what = ("; it opens " + "; ".join(opened)) if opened else ""
    return Finding("service_type", title, False, (
        f"service/{ns}/{name} is type {svc.type}, expected {wanted}{what}\n"
        f"    why: a {svc.type} Service is reachable from outside the cluster as well"
        + (" (every node listens on its node ports)" if opened else "") + f"; type {wanted} keeps it inside",))
