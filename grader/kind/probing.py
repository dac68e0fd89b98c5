"""What a real probe printed, turned into a Verdict; and the convergence loop live checks use.

``agnhost connect`` (kubernetes ``test/images/agnhost/connect/connect.go``) exits 0 on success and
otherwise exits 1 with a fixed prefix on stderr:

* ``TIMEOUT`` — the handshake (TCP) or the reply (UDP, SCTP) did not come: a drop on the way, which
  is how NetworkPolicy denials look on every CNI the course uses -> BLOCKED.
* ``REFUSED`` — TCP RST / ICMP port unreachable: the packet got there and nothing listens -> REFUSED.
* ``DNS`` — the name did not resolve -> DNS_FAILED.
* ``OTHER: ... connection refused`` — SCTP reports an ABORT this way -> REFUSED.
* ``OTHER: ... no route to host`` / ``host unreachable`` — an ICMP unreachable on the way (a
  REJECT rule) -> BLOCKED, with the text as the reason.
* ``UNKNOWN`` (bad arguments) and any other ``OTHER`` -> PROBE_FAILED.

Anything that stops the probe from running at all (pod missing or not running, exec refused,
agnhost absent) is PROBE_FAILED: a broken pod is never reported as "blocked".
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

import yaml

from ..model import Protocol
from ..reachability import Comparison, Verdict

from ..reachability.commands import CONNECT_TIMEOUT, connect
from ..reachability.commands import DNS_DEADLINE_S as DNS_DEADLINE_S  # re-exported: the kind backend's callers import them from here
from ..reachability.commands import host_port as host_port


def connect_command(host: str, port: int, protocol: Protocol | str, timeout: str = CONNECT_TIMEOUT) -> list[str]:
    """The argv of :func:`grader.reachability.commands.connect` (the simulated cluster shows the same command)."""
    return list(connect(host, port, protocol, timeout).argv)


def parse_exec_status(text: str) -> tuple[int | None, str]:
    """The exec error channel (a ``metav1.Status``) -> (exit code, message).

    ``{"status": "Success"}`` -> 0; ``NonZeroExitCode`` carries the code in
    ``details.causes[reason=ExitCode].message``; any other failure (e.g. ``executable file not
    found``) has no exit code: (None, message).
    """
    if not text.strip():
        return None, "the exec stream closed without a status"
    try:
        status = yaml.safe_load(text)
    except yaml.YAMLError:
        return None, text.strip()
    if not isinstance(status, dict):
        return None, text.strip()
    if status.get("status") == "Success":
        return 0, ""
    message = str(status.get("message", "")).strip()
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message")), message
                except (TypeError, ValueError):
                    break
    return None, message or text.strip()


def verdict_from_connect(exit_code: int | None, stderr: str, stdout: str = "", exec_error: str = "") -> tuple[Verdict, str]:
    """Map one ``agnhost connect`` run to a verdict and a reason a learner can read."""
    if exit_code is None:
        why = exec_error or stderr.strip() or "no exit status"
        return Verdict.PROBE_FAILED, f"the probe could not run: {why}"
    out = (stderr.strip() or stdout.strip())
    if exit_code == 0:
        return Verdict.ALLOWED, "connected (agnhost connect exited 0)"
    first = out.splitlines()[0] if out else ""
    low = out.lower()
    if first.startswith("TIMEOUT"):
        return Verdict.BLOCKED, f"no answer within the probe timeout ({first}): the packet was dropped on the way, as a NetworkPolicy denial does"
    if first.startswith("REFUSED"):
        return Verdict.REFUSED, f"connection refused ({first}): the packet arrived but nothing listens on that port"
    if first.startswith("DNS"):
        return Verdict.DNS_FAILED, f"the name did not resolve ({first})"
    if first.startswith("OTHER"):
        if "connection refused" in low:
            return Verdict.REFUSED, f"connection refused ({first})"
        if "no route to host" in low or "unreachable" in low:
            return Verdict.BLOCKED, f"rejected on the way with an ICMP unreachable ({first})"
        return Verdict.PROBE_FAILED, f"network error agnhost does not classify: {first}"
    if first.startswith("UNKNOWN"):
        return Verdict.PROBE_FAILED, f"agnhost could not run the probe: {first}"
    return Verdict.PROBE_FAILED, f"agnhost connect exited {exit_code} without a known prefix: {first or 'no output'}"


RETRY_TIMEOUT = "3s"
"""A TIMEOUT is confirmed once with this longer timeout before it reads BLOCKED (review R2: a 1 s
handshake can miss on a busy laptop; upstream e2e's 1 s assumes CI machines)."""


def confirm_blocked(first: tuple[Verdict, str], again: Callable[[], tuple[Verdict, str]]) -> tuple[Verdict, str]:
    """``first`` unless it is BLOCKED: then the verdict of one more attempt (``again``, run with
    :data:`RETRY_TIMEOUT`), whose reason says it was the second try when it agrees."""
    if first[0] is not Verdict.BLOCKED:
        return first
    second = again()
    if second[0] is Verdict.BLOCKED:
        return Verdict.BLOCKED, f"{second[1]} (also on a second try with a {RETRY_TIMEOUT} timeout)"
    return second


def parse_clientip(body: str) -> str | None:
    """netexec ``/clientip`` answers ``<ip>:<port>`` (``[v6]:port`` for IPv6)."""
    text = body.strip()
    if not text:
        return None
    host = text.rsplit(":", 1)[0] if ":" in text else text
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


ADDRESS_WAIT_S = 60.0
"""How long ``lab.address()`` waits on kind for a LoadBalancer/Ingress/Gateway address (review C5:
cloud-provider-kind pulls Envoy for the first Service and waits up to 30 s for it, ``proxy.go:318``)."""


def wait_for_address(
    read: Callable[[], str | None], what: str, *, timeout: float = ADDRESS_WAIT_S, interval: float = 1.0,
    problem: Callable[[], str] | None = None, clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep, log: Callable[[str], Any] = print,
) -> tuple[str | None, str]:
    """Poll ``read`` until it returns an address, ``problem`` reports a controller error, or
    ``timeout`` passes; (address or None, why none). Says once, on stdout, what it waits for."""
    found = read()
    if found or timeout <= 0:
        return found, "" if found else "no address assigned yet"
    log(f"netlab: waiting for cloud-provider-kind to assign an address to {what} (up to {timeout:.0f}s; the first one pulls its Envoy image)")
    deadline = clock() + timeout
    while clock() < deadline:
        sleep(interval)
        found = read()
        if found:
            return found, ""
        why = problem() if problem is not None else ""
        if why:
            return None, why
    return None, (f"no address after {timeout:.0f}s: is cloud-provider-kind running? `docker ps --filter name=netlab-cloud-provider-kind` "
                  "and `docker logs netlab-cloud-provider-kind` show it")


def converge(
    observe: Callable[[], Comparison], *, timeout: float, interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], Any] = print,
) -> tuple[Comparison, int]:
    """Re-observe until the comparison holds or ``timeout`` seconds pass; (last comparison, attempts).

    Policy changes take effect asynchronously (agents watch the API and program the dataplane), so
    a live check that probes once right after ``apply`` can see the old state. Each retry is logged
    (to stdout) with what is still wrong.
    """
    deadline = clock() + timeout
    attempt = 1
    while True:
        comparison = observe()
        if comparison.ok or clock() + interval > deadline:
            if not comparison.ok and attempt > 1:
                log(f"netlab: still {len(comparison.wrong)} flow(s) not as expected after {attempt} attempts ({timeout:.0f}s)")
            return comparison, attempt
        first = comparison.wrong[0]
        log(
            f"netlab: attempt {attempt}: {len(comparison.wrong)} flow(s) not as expected yet "
            f"(e.g. {first.source} → {first.destination}: {first.observed.name}); re-probing in {interval:.0f}s"
        )
        sleep(interval)
        attempt += 1
