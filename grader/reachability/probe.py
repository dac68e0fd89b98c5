"""A probe (who tries to reach what) and its result (what happened, and why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, overload

from ..model import Protocol
from .commands import Command
from .explanation import Explanation, summary_line
from .verdict import Verdict


@dataclass(frozen=True, slots=True)
class Probe:
    """``source`` and ``destination`` are lab endpoint names: ``ns/pod``, ``node:<name>``, ``host``,
    an external host's name, an IP address, or a DNS name (``web.shop.svc.cluster.local``)."""

    source: str
    destination: str
    port: int | str | None = None
    protocol: Protocol = Protocol.TCP


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a flow's path, for traces: what happened at that point and why."""

    step: str
    """``dns``, ``service``, ``snat``, ``encapsulation``, ``nsg``, ``ingress-controller``, ``policy``, ``deliver``..."""
    detail: str

    def render(self) -> str:
        return f"{self.step:>14}: {self.detail}"


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """What an HTTP(S) probe saw at layer 7."""

    status: int
    served_by: str = ""
    """Which component answered (``shop/web``, ``ingress-nginx``, ``gateway shop/public``)."""
    certificate: str = ""
    """Subject/SANs of the certificate the server presented (HTTPS only)."""
    certificate_trusted: bool | None = None
    """Whether a client verifying against the given CA would accept it; None when not checked."""
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    url: str = ""
    """The URL requested (scheme, host, port, path)."""
    location: str = ""
    """``Location`` of a redirect (3xx)."""
    request_headers: tuple[tuple[str, str], ...] = ()
    """Headers the backend received (after proxies added X-Forwarded-* and filters ran)."""
    trust_reason: str = ""
    """Why the certificate is or is not trusted by the client's CA."""
    sni: str = ""
    error: str = ""
    """Set when no HTTP response came back (TLS handshake failure, plain HTTP on a TLS port...)."""
    request_path: str = ""
    """The path (and query) the backend received, after a proxy's URLRewrite (agnhost netexec echoes it)."""

    @property
    def request_host(self) -> str | None:
        """The Host header the backend received (after a URLRewrite hostname), when known."""
        return next((v for k, v in self.request_headers if k.lower() == "host"), None)

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def render(self) -> str:
        if self.error:
            return f"no HTTP response: {self.error}"
        text = f"HTTP {self.status}" + (f" from {self.served_by}" if self.served_by else "")
        if self.location:
            text += f" → Location: {self.location}"
        return text


@dataclass(frozen=True, slots=True)
class ProbeResult:
    probe: Probe
    verdict: Verdict
    reason: str
    """Why, in sentences a learner can act on (the engine's explanation)."""
    answered_by: str | None = None
    """The pod (``ns/name``) or host that answered, when one did."""
    client_ip: str | None = None
    """The source address the server saw (after any SNAT)."""
    loopback: bool = False
    hops: tuple[Hop, ...] = ()
    http: HttpExchange | None = None
    attempts: int = 1
    extra: tuple[tuple[str, str], ...] = field(default=())
    command: Command | None = None
    """The command that does the same on a cluster (``result.command.line()``); None when there is none."""

    @property
    def port_label(self) -> str:
        port = "" if self.probe.port is None else f"{self.probe.port}/"
        return f"{port}{self.probe.protocol}"

    def summary(self) -> str:
        """``x/a → y/b 80/TCP: BLOCKED``"""
        return f"{self.probe.source} → {self.probe.destination} {self.port_label}: {self.verdict.name}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text form: the summary and the reason (``explain()`` has every hop)."""
        printer.text(self.summary() + ("\n" + self.reason if self.reason else ""))

    @overload
    def explain(self, full: Literal[False] = False) -> Explanation: ...
    @overload
    def explain(self, full: Literal[True]) -> str: ...
    def explain(self, full: bool = False) -> Explanation | str:
        """Why: the summary, the answer, the reasons, every hop, and the command that does the same
        on a cluster. Displayed as one line with the rest folded (:class:`Explanation`, which is
        still the whole text as a ``str``); ``full=True`` returns the whole text as a plain ``str``."""
        lines = [self.summary()]
        answer = ""
        if self.answered_by:
            seen = f" (saw client {self.client_ip})" if self.client_ip else ""
            answer = f"answered by {self.answered_by}{seen}"
            lines.append(answer)
        if self.http is not None:
            lines.append(self.http.render())
            answer = self.http.render() + (f", {answer}" if answer and not self.http.served_by else "")
            if self.http.certificate:
                trust = {True: "trusted", False: "NOT trusted", None: "not checked"}[self.http.certificate_trusted]
                lines.append(f"certificate: {self.http.certificate} ({trust}{': ' + self.http.trust_reason if self.http.trust_reason else ''})")
        reasons = self.reason.splitlines()
        lines += ["  " + line for line in reasons]
        if self.hops:
            lines.append("path:")
            lines += ["  " + h.render() for h in self.hops]
        command = self.command.line() if self.command is not None else ""
        if command:
            lines.append(f"on a cluster: {command}")
        text = "\n".join(lines)
        if full:
            return text
        ok = self.verdict is Verdict.ALLOWED
        return Explanation(text, summary_line(self.summary(), reasons, allowed=ok, answer=answer if ok else ""), command)

    def __str__(self) -> str:
        return self.summary()
