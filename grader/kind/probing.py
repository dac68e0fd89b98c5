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

from ..reachability.commands import CONNECT_TIMEOUT, DNS_DEADLINE_S, connect, host_port


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
