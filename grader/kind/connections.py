"""Long-lived connections on a real cluster (``lab.open_connection`` / ``send`` / ``close_connection``).

A connection is a client *process* left running in the source pod's container: ``tail -f <in> |
nc <host> <port>`` started with ``setsid`` so it outlives the exec that started it. ``send``
appends a request to ``<in>`` (nc writes it to the same socket: same 5-tuple, same conntrack
entry, same backend behind a Service) and waits for new bytes in ``<out>``; ``close_connection``
kills the process group. agnhost's image (Alpine) has busybox ``setsid``/``tail`` and OpenBSD ``nc``.

The request is ``GET /hostname HTTP/1.1`` for TCP (every topology TCP port runs agnhost netexec,
whose Go HTTP server keeps idle keep-alive connections open indefinitely, and whose answer names
the pod) and the datagram ``hostname`` for UDP (``nc -u`` keeps one socket, so one conntrack flow).

What is observable: whether bytes still flow on *this* connection after a policy change (kindnet
and Calico only judge new connections, Cilium also established ones -- grader.cni.divergences),
which pod answers on it, and whether the peer reset it. What is not: the drop itself. "No answer
within the timeout" is inferred after the fact and cannot tell a policy drop from a server that
stopped answering; conntrack state and the reason for a drop are on the nodes, not in the pod.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Protocol
from ..reachability import Probe, ProbeResult, Verdict

CLOSED_MARK = "@@netlab-closed"
STATE_MARK = "@@netlab-state"
SEND_TIMEOUT = 3

START_SCRIPT = (
    'd=$1; : > "$d.in"; : > "$d.out"; '
    "setsid sh -c 'echo $$ > \"$1.pid\"; tail -f \"$1.in\" | nc $2 \"$3\" \"$4\" > \"$1.out\" 2>&1; "
    f"echo \"{CLOSED_MARK} $?\" >> \"$1.out\"' sh \"$d\" \"$2\" \"$3\" \"$4\" </dev/null >/dev/null 2>&1 & "
    'i=0; while [ ! -s "$d.pid" ] && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done; cat "$d.pid"'
)
"""Args: file prefix, nc flags (``-u`` or empty), host, port."""

SEND_SCRIPT = (
    'd=$1; t=$2; if [ "$4" = 1 ]; then before=0; else before=$(wc -c < "$d.out"); fi; printf "%b" "$3" >> "$d.in"; i=0; '
    'while [ $i -lt $((t*10)) ]; do now=$(wc -c < "$d.out"); [ "$now" -gt "$before" ] && break; sleep 0.1; i=$((i+1)); done; '
    'sleep 0.2; tail -c +$((before+1)) "$d.out"; echo; '
    f'pg=$(cat "$d.pid" 2>/dev/null); if kill -0 "$pg" 2>/dev/null; then echo "{STATE_MARK} alive"; else echo "{STATE_MARK} gone"; fi'
)
"""Args: file prefix, timeout seconds, payload (printf %b escapes), ``1`` for the first send (read the
output from its start: a refused connect may have been reported before the first request)."""

CLOSE_SCRIPT = (
    'd=$1; pg=$(cat "$d.pid" 2>/dev/null); '
    'if [ -n "$pg" ]; then kill -TERM -"$pg" 2>/dev/null || kill -TERM -- -"$pg" 2>/dev/null || kill -TERM "$pg" 2>/dev/null; fi; '
    'rm -f "$d.in" "$d.out" "$d.pid"; true'
)


@dataclass(frozen=True, slots=True)
class LiveConnection:
    """A connection opened with ``lab.open_connection`` on a real cluster."""

    id: int
    probe: Probe
    result: ProbeResult
    pod: str
    """``ns/name`` of the pod whose container holds the client process."""
    container: str
    prefix: str
    host: str
    port: int

    @property
    def established(self) -> bool:
        return self.result.verdict is Verdict.ALLOWED


def prefix_for(conn_id: int) -> str:
    return f"/tmp/netlab-conn-{conn_id}"


def start_command(prefix: str, host: str, port: int, protocol: Protocol) -> list[str]:
    return ["/bin/sh", "-c", START_SCRIPT, "sh", prefix, "-u" if protocol is Protocol.UDP else "", host, str(port)]


def payload(host: str, protocol: Protocol) -> str:
    if protocol is Protocol.UDP:
        return "hostname"
    return f"GET /hostname HTTP/1.1\\r\\nHost: {host}\\r\\nUser-Agent: netlab-connection\\r\\n\\r\\n"


def send_command(prefix: str, host: str, protocol: Protocol, timeout: int = SEND_TIMEOUT, *, first: bool = False) -> list[str]:
    return ["/bin/sh", "-c", SEND_SCRIPT, "sh", prefix, str(timeout), payload(host, protocol), "1" if first else "0"]


def close_command(prefix: str) -> list[str]:
    return ["/bin/sh", "-c", CLOSE_SCRIPT, "sh", prefix]


@dataclass(frozen=True, slots=True)
class SendOutcome:
    verdict: Verdict
    reason: str
    hostname: str | None = None
    """What the server said it is (the body of ``/hostname``, or the UDP reply)."""


_BROKEN_CLIENT = ("not found", "no such file", "permission denied", "invalid option", "unrecognized option", "usage:",
                  "illegal option", "can't execute", "cannot execute")
"""Output of a client that never tried to connect: a shell's ``nc: not found`` (exit 127),
``Permission denied`` (126), or nc's own usage error (OpenBSD nc ``usage()`` exits 1)."""


def _exit_code(text: str) -> int | None:
    """The client's exit status from the ``@@netlab-closed <rc>`` line START_SCRIPT appends."""
    _, mark, rest = text.partition(CLOSED_MARK)
    words = rest.split()
    return int(words[0]) if mark and words and words[0].lstrip("-").isdigit() else None


def parse_send(output: str, protocol: Protocol, *, first: bool, timeout: int = SEND_TIMEOUT) -> SendOutcome:
    """What one ``send`` saw: an answer, a closed connection, or silence.

    A client that could not run (no ``nc`` in the image: the shell exits 126/127; a usage error) is
    PROBE_FAILED, never an answer or a block; over TCP only an HTTP status line (every course TCP
    port runs agnhost netexec) counts as the server answering."""
    text, _, state = output.rpartition(STATE_MARK)
    alive = state.strip() == "alive"
    new = text.strip()
    closed = CLOSED_MARK in new
    code = _exit_code(new)
    data = new.split(CLOSED_MARK, 1)[0].strip()
    low = data.lower()
    first_line = data.splitlines()[0] if data else ""
    if code in (126, 127) or any(b in first_line.lower() for b in _BROKEN_CLIENT):
        return SendOutcome(Verdict.PROBE_FAILED, (f"the client could not run in this container ({first_line or f'exit code {code}'}): "
                                                  "open_connection needs `nc`, which the course's agnhost pods have"))
    if "name does not resolve" in low or "getaddrinfo" in low or "name or service not known" in low:
        return SendOutcome(Verdict.DNS_FAILED, f"the name did not resolve ({first_line})")
    if "refused" in low:
        return SendOutcome(Verdict.REFUSED, f"connection refused ({first_line})")
    if data and not data.startswith("nc:") and protocol is Protocol.TCP and "HTTP/1." not in data:
        return SendOutcome(Verdict.PROBE_FAILED, f"something answered, but not an HTTP server ({first_line[:80]}): the probe cannot tell what")
    if data and not data.startswith("nc:"):
        who = _answer_name(data, protocol)
        what = "connected; the server answered" if first else "the established connection still carries traffic: the server answered"
        return SendOutcome(Verdict.ALLOWED, what + (f" ({who})" if who else ""), who)
    if closed or not alive:
        detail = data.splitlines()[0] if data else "the peer closed or reset it"
        if first:
            return SendOutcome(Verdict.BLOCKED, f"the connection could not be established ({detail})")
        return SendOutcome(Verdict.REFUSED, f"the connection was closed ({detail}): the peer or something on the path reset it")
    if first:
        return SendOutcome(Verdict.BLOCKED, f"no answer within {timeout}s: the handshake (or the first request) was dropped on the way")
    return SendOutcome(Verdict.BLOCKED, (f"no answer on the established connection within {timeout}s: packets on it are dropped now "
                                         "(a CNI that applies policy to established connections does this), or the server stopped answering"))


def _answer_name(data: str, protocol: Protocol) -> str | None:
    if protocol is Protocol.UDP:
        return data.split()[0] if data.split() else None
    # The last HTTP response on the stream: headers, blank line, body.
    responses = data.split("HTTP/1.")
    last = "HTTP/1." + responses[-1] if len(responses) > 1 else data
    _, sep, body = last.replace("\r\n", "\n").partition("\n\n")
    body = body.strip()
    return body.split()[0] if sep and body else None


__all__ = ["LiveConnection", "SendOutcome", "close_command", "parse_send", "prefix_for", "send_command", "start_command"]
