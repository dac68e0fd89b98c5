"""Expectation kinds: each turns (context, parameters) into a :class:`Finding`.

Built in: ``objects`` (what the answer contains), ``probe`` (one flow, with optional answered_by,
client_ip, http_status), ``matrix`` (every source to every destination on one port) and ``value``
(an answer value: IP, CIDR, number with tolerance, verdict, text, lists); in
:mod:`grader.checks.expect_web` ``http`` and ``distribution``; in :mod:`grader.checks.expect_config`
``kind_config`` and ``nsg_rules``. Register a new kind with ``@expectation("name")`` in one of
those modules (each has its own ``HANDLERS``; :mod:`grader.checks.catalog` collects them); the
test cell writes ``check.expect("name", ...)``.

Every problem text starts with the flow or the key it is about, then ``why:`` with the engine's
explanation, so a learner knows what to change.
"""

from __future__ import annotations

import base64
import html
import ipaddress
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Protocol
from ..reachability import LEGEND, Reachability, Verdict, matches
from ..reachability.render import COLOURS, heatmap, html_grid
from .kinds import Handler, expected_value, flow_problem, html_block, parse_verdict, port_label, registrar, why_text
from .outcome import Finding
from .vocabulary import SpecError

def _png(hm: Any) -> str:
    return base64.b64encode(hm.png()).decode("ascii")


HANDLERS: dict[str, Handler] = {}
expectation = registrar(HANDLERS)
"""``@expectation("name")`` registers a kind of this module (``grader.checks.catalog`` collects them)."""


# -- objects -------------------------------------------------------------------------------
@expectation("objects")
def objects(ctx: Any, p: dict[str, Any]) -> Finding:
    kind, ns, name = p["of"], p.get("namespace"), p.get("name")
    every = ctx.all_manifests()
    found = [m for m in every if m.key.kind == kind and (ns is None or m.key.namespace == ns) and (name is None or m.key.name == name)]
    count, at_least = p.get("count"), p.get("at_least")
    ok = len(found) == count if count is not None else len(found) >= (at_least or 1)
    where = (f" in namespace {ns}" if ns else "") + (f" named {name}" if name else "")
    want = f"exactly {count}" if count is not None else f"at least {at_least or 1}"
    title = f"{want} {kind}{where}"
    if ok:
        return Finding("objects", title, True, passed_count=1)
    has = ", ".join(str(m.key) for m in every) or "nothing"
    text = f"expected {want} {kind}{where} in {', '.join(f'`{a}`' for a in ctx.answer_names)}, found {len(found)}; the answer contains: {has}"
    same_kind = [m for m in every if m.key.kind == kind and m not in found]
    if ns and any(m.key.namespace != ns for m in same_kind):
        text += f"\n    hint: set metadata.namespace: {ns} (without it, objects go to the namespace kubectl is using, usually 'default')"
    return Finding("objects", title, False, (text,))


# -- probes --------------------------------------------------------------------------------
@expectation("probe")
def probe(ctx: Any, p: dict[str, Any]) -> Finding:
    lab = ctx.lab(p.get("profile"))
    proto = Protocol.parse(p.get("protocol", "TCP"))
    want = parse_verdict(p.get("verdict", "allowed"))
    destination = p["destination"]
    if isinstance(destination, Mapping):
        address = str(expected_value(ctx, destination, p.get("profile")))
        destination = f"{address} ({' '.join(map(str, destination.get('args', [])))})" if destination.get("args") else address
        p = {**p, "destination": destination}
    else:
        address = destination
    result = lab.probe(p["source"], address, p.get("port"), proto)
    flow = f"{p['source']} → {p['destination']} {port_label(p.get('port'), proto)}"
    prefix = f"[{p['profile']}] " if p.get("profile") else ""
    problems: list[str] = []
    if result.verdict is not want:
        problems.append(flow_problem(p["source"], p["destination"], port_label(p.get("port"), proto), want, result.verdict, result.reason, prefix))
    else:
        if "answered_by" in p and result.answered_by != p["answered_by"]:
            problems.append(f"{prefix}{flow}: expected {p['answered_by']} to answer, but {result.answered_by or 'nobody'} did{why_text(result.reason)}")
        if "client_ip" in p:
            expected_ip = str(expected_value(ctx, p["client_ip"], p.get("profile")))
            if result.client_ip != expected_ip:
                problems.append(f"{prefix}{flow}: the server should see client {expected_ip}, it saw {result.client_ip}{why_text(result.reason)}")
        if "http_status" in p:
            status = result.http.status if result.http is not None else None
            if status != p["http_status"]:
                problems.append(f"{prefix}{flow}: expected HTTP {p['http_status']}, got {status if status is not None else 'no HTTP answer'}{why_text(result.reason)}")
    title = f"{prefix}{flow} {want.name}"
    row = {"flow": prefix + flow, "expected": want.value, "observed": result.verdict.value, "ok": not problems, "reason": result.reason}
    return Finding("probe", title, not problems, tuple(problems), passed_count=0 if problems else 1, row=row)


def probe_table(rows: Sequence[dict[str, Any]]) -> str:
    body = []
    for r in rows:
        colour = COLOURS[Verdict(r["observed"])]
        mark = "✓" if r["ok"] else "✗"
        body.append(
            f"<tr title='{html.escape(r['reason'])}'><td style='font-family:monospace;padding:2px 6px'>{html.escape(r['flow'])}</td>"
            f"<td style='padding:2px 6px'>{html.escape(r['expected'])}</td>"
            f"<td style='background:{colour};color:#fff;padding:2px 6px'>{html.escape(r['observed'])}</td>"
            f"<td style='padding:2px 6px;font-weight:bold'>{mark}</td></tr>")
    th = "style='text-align:left;padding:2px 6px'"
    head = f"<tr><th {th}>flow</th><th {th}>expected</th><th {th}>observed</th><th></th></tr>"
    ok = all(r["ok"] for r in rows)
    heading = f"{'✓' if ok else '✗'} Probes: {sum(1 for r in rows if r['ok'])} of {len(rows)} as expected (hover a row for why)"
    return html_block(heading, f"<table style='border-collapse:collapse'>{head}{''.join(body)}</table>")


def value_table(rows: Sequence[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td style='font-family:monospace;padding:2px 6px'>{html.escape(r['key'])}</td>"
        f"<td style='font-family:monospace;padding:2px 6px'>{html.escape(r['answer'])}</td>"
        f"<td style='padding:2px 6px;font-weight:bold;color:{'#2e7d32' if r['ok'] else '#c62828'}'>{'✓' if r['ok'] else '✗'}</td></tr>"
        for r in rows)
    th = "style='text-align:left;padding:2px 6px'"
    return html_block("Your answers", f"<table style='border-collapse:collapse'><tr><th {th}>key</th><th {th}>your answer</th><th></th></tr>{body}</table>")


_LEGEND_HTML = f"<div style='font-family:monospace;font-size:smaller'>{html.escape(LEGEND)}</div>"


# -- matrices ------------------------------------------------------------------------------
def _serves(pod: Any, port: int | str | None, proto: Protocol) -> bool:
    if port is None:
        return any(c.protocol == proto for c in pod.ports)
    if isinstance(port, str):
        return pod.named_port(port, proto) is not None
    return bool(pod.serves(port, proto))


def resolve_endpoints(lab: Any, patterns: Sequence[str], *, port: int | str | None = None,
                      proto: Protocol = Protocol.TCP, serving: bool = False) -> list[str]:
    """Patterns over pods (``*``, ``ns/*``, ``*/name``, exact refs) plus verbatim non-pod endpoints.
    Pods of namespaces named explicitly (``kube-system/*``) are included even if they are system pods."""
    pods = {str(p.ref): p for p in lab.pods()}
    for pat in patterns:
        ns = pat.partition("/")[0]
        if "/" in pat and "*" not in ns and "?" not in ns:
            pods.update({str(p.ref): p for p in lab.pods(ns)})
    out: list[str] = []
    for pat in patterns:
        if pat == "*" or "/" in pat:
            hits = [ref for ref, pod in pods.items() if matches(pat, ref) and (not serving or _serves(pod, port, proto))]
            if not hits:
                raise SpecError(f"pattern {pat!r} matches no pod" + (f" serving {port_label(port, proto)}" if serving else ""))
            out += hits
        else:
            out.append(pat)
    return sorted(dict.fromkeys(out))


@expectation("matrix")
def matrix(ctx: Any, p: dict[str, Any]) -> Finding:
    lab = ctx.lab(p.get("profile"))
    proto = Protocol.parse(p.get("protocol", "TCP"))
    port = p.get("port")
    sources = resolve_endpoints(lab, p.get("sources", ["*"]))
    destinations = resolve_endpoints(lab, p.get("destinations", ["*"]), port=port, proto=proto, serving=p.get("only_serving", True))
    expected = Reachability(sources, destinations, port=port, protocol=proto, default=parse_verdict(p.get("default", "blocked")),
                            ignore_loopback=p.get("ignore_loopback", True))
    for src, dst, verdict in p.get("rules", []):
        try:
            expected.expect(src, dst, parse_verdict(verdict))
        except KeyError as exc:
            raise SpecError(f"matrix rule {src} -> {dst}: {exc.args[0]}") from None
    observed = lab.matrix(port, proto, sources=sources, destinations=destinations)
    cmp = expected.compare(observed)
    prefix = f"[{p['profile']}] " if p.get("profile") else ""
    title = p.get("title") or f"{prefix}Reachability on {port_label(port, proto)}"
    problems = tuple(flow_problem(m.source, m.destination, port_label(port, proto), m.expected, m.observed, m.reason, prefix) for m in cmp.wrong)
    wrong = {(m.source, m.destination): "✗" for m in cmp.wrong}

    if not ctx.pictures:
        return Finding("matrix", title, cmp.ok, problems, cmp.right)

    def reason(s: str, d: str) -> str:
        found = observed.results.get((s, d))
        return f"expected {expected.expected(s, d).name}; " + (found.reason if found is not None else "")

    observed_grid = html_grid(sources, destinations, observed.verdict, marks=wrong, tooltip=reason)
    if cmp.ok:
        grid = html_block(f"✓ {title}: {cmp.summary()}", observed_grid)
    else:
        expected_grid = html_grid(sources, destinations, expected.expected).replace(_LEGEND_HTML, "")
        grid = html_block(f"✗ {title}: {cmp.summary()}",
                      f"<div style='display:flex;gap:32px;align-items:flex-start;flex-wrap:wrap'>"
                      f"<div><div style='font-style:italic'>expected</div>{expected_grid}</div>"
                      f"<div><div style='font-style:italic'>observed (✗ = not as expected; hover a cell for why)</div>{observed_grid}</div></div>")
    png = _png(heatmap(sources, destinations, observed.verdict, f"{title} (✗ = wrong)", marks=wrong)) if wrong else ""
    return Finding("matrix", title, cmp.ok, problems, cmp.right, grid, png)


# -- values --------------------------------------------------------------------------------
def _lookup(values: Mapping[str, Any], key: str | Sequence[str]) -> tuple[bool, Any]:
    if isinstance(key, str):
        if key in values:
            return True, values[key]
        parts: Sequence[str] = key.split(".")
    else:
        parts = list(key)
    cur: Any = values
    for part in parts:
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _infer_type(value: Any) -> str:
    if isinstance(value, Verdict):
        return "verdict"
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return "ip"
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return "cidr"
    if isinstance(value, bool):
        return "text"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (ipaddress.IPv4Network, ipaddress.IPv6Network)) for v in value):
            return "cidr-list"
        return "ip-list" if value and all(isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address)) for v in value) else "text-list"
    return "text"


def _convert(kind: str, value: Any) -> Any:
    """The answer (or expected value) in comparable form; ValueError with a learner-facing reason."""
    if kind == "ip":
        try:
            return ipaddress.ip_address(str(value).strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None
    if kind == "cidr":
        text = str(value).strip()
        try:
            return ipaddress.ip_network(text, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a CIDR range like 10.244.1.0/24") from None
            raise ValueError(f"{text} has host bits set: the network address of that range is {loose}") from None
    if kind in ("int", "number"):
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        try:
            number = float(str(value).strip().replace(",", "").replace("_", ""))
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        if kind == "int" and not number.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(number) if kind == "int" else number
    if kind == "verdict":
        return parse_verdict(value)
    if kind.endswith("-list"):
        items = value if isinstance(value, (list, tuple)) else [v for v in str(value).replace(",", " ").split() if v]
        return frozenset(_convert(kind[:-5], v) for v in items)
    return str(value).strip().casefold()


_KIND_WORDS = {"verdict": "a verdict", "ip": "an IP address", "cidr": "a CIDR range", "int": "a number", "number": "a number"}


def _show(value: Any) -> str:
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, frozenset):
        return ", ".join(sorted(map(str, value)))
    return str(value)


@expectation("value")
def value(ctx: Any, p: dict[str, Any]) -> Finding:
    key = p["key"]
    label = key if isinstance(key, str) else ".".join(key)
    present, raw = _lookup(ctx.values, key)
    expected = expected_value(ctx, p["equals"]) if "equals" in p else None
    kind = p.get("type") or (_infer_type(expected) if expected is not None else "text")
    hint = f" ({p['hint']})" if p.get("hint") else ""
    problems: list[str] = []
    shown = "—"
    if not present or raw is None:
        keys = ", ".join(sorted(map(str, ctx.values))) or "none"
        problems.append(f"`{label}` is missing from your answer (keys found: {keys})")
    else:
        shown = _show(raw)
        try:
            if isinstance(raw, bool) and kind != "text":
                raise ValueError(f"{str(raw).lower()} is not {_KIND_WORDS.get(kind, 'a value of the right kind')} "
                                 "(YAML reads unquoted yes/no/on/off as true/false)")
            got = _convert(kind, raw)
            shown = _show(got)
        except ValueError as exc:
            problems.append(f"`{label}`: {exc}{hint}")
        else:
            if "within" in p and kind == "ip" and got not in ipaddress.ip_network(p["within"]):
                problems.append(f"`{label}`: {got} is not inside {p['within']}{hint}")
            if "one_of" in p and got not in {_convert(kind, v) for v in p["one_of"]}:
                problems.append(f"`{label}`: {shown} is not one of the possible answers{hint}")
            if expected is not None:
                want = _convert(kind, expected)
                tol = float(p.get("tolerance") or 0)
                same = math.isclose(got, want, abs_tol=tol) if kind in ("int", "number") else got == want
                if not same:
                    problems.append(f"`{label}`: {shown} is not right{hint}")
    title = f"value {label}"
    row = {"key": label, "answer": shown, "ok": not problems}
    return Finding("value", title, not problems, tuple(problems), 0 if problems else 1, row=row)


# Kinds kept in their own modules register themselves on import.
