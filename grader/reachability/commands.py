"""The real commands behind a probe: what runs on a cluster, and the one line a learner can type.

One builder per kind of probe, used by both backends: the kind backend execs :attr:`Command.argv`
in the source pod (``grader/kind/probing.py``, ``webprobe.py``, ``dnsprobe.py``), and the simulated
cluster attaches the same :class:`Command` to its results, so ``result.command.line()`` is what
you would type on kind or AKS to see the same thing:

* L4 probes: ``agnhost connect <ip>:<port> --timeout=1s --protocol=tcp``, as the Kubernetes e2e
  network-policy suite runs it (``test/e2e/network/netpol/kubemanager.go``, ``probeConnectivity``;
  ``test/images/agnhost/connect/connect.go``);
* HTTP(S): ``curl`` with ``--connect-to`` for a name that DNS does not know (the lab's
  ``resolve=``: connect to an address, keep the name for Host and SNI; curl(1) ``--connect-to``);
* DNS: ``dig`` for each name of the pod's search path, in resolver order.

``argv`` and ``shown`` differ only where the backend adds what it needs to *read* the answer:
curl's ``-sS -v -o - -w <markers>`` (``shown`` drops them), the loop that runs ``dig`` once per
search-path name (``shown`` is ``dig +search +showsearch <name>``, which sends the same queries),
and for a DNS name the ``timeout`` wrapper that turns a lookup nobody answers into agnhost's
``DNS:`` line (``shown`` keeps ``timeout <s>``). For a probe to an address they are the same argv.

Pure functions: no I/O, nothing written anywhere.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from ..model import Protocol

CONNECT_TIMEOUT = "1s"
"""Upstream e2e probes with a 1 s timeout (3 s on Windows nodes)."""

DNS_DEADLINE_S = 6
"""How long a probe to a *name* may take before its lookup counts as failed (see :func:`connect`)."""

PROBE_NAMESPACE = "netlab-probes"
"""Where the kind backend runs the host-network probe pods that probes from a node start in."""

_NAME_WRAPPER = (
    'timeout "$1" /agnhost connect "$2" --timeout="$3" --protocol="$4"; rc=$?; '
    'if [ "$rc" -eq 143 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then '
    'echo "DNS: no answer to the lookup of $2 within $1s (the query to the DNS server got no reply)" >&2; exit 1; fi; exit "$rc"'
)

CURL_TIMEOUT = 5.0
CURL_WRITE_OUT = r"\n@@netlab-json@@%{json}\n@@netlab-headers@@%{header_json}\n@@netlab-certs@@\n%{certs}"
"""curl ``-w``: exit code and error (``%{json}``), response headers, the presented chain as PEM
(curl >= 7.88); ``grader/kind/webprobe.py`` splits the output on these markers."""

DIG_TIMEOUT_S = 2
QUERY_MARK = "@@netlab-query "
EXIT_MARK = "@@netlab-exit "
DIG_SCRIPT = (
    'for n in "$@"; do echo "' + QUERY_MARK + '$n"; '
    f'dig +nosearch +noall +comments +question +answer +time={DIG_TIMEOUT_S} +tries=1 "$n" A 2>&1; '
    'rc=$?; echo "' + EXIT_MARK + '$rc"; [ "$rc" -eq 9 ] && break; done; true'
)
"""Positional parameters are the fully qualified names (with a trailing dot), in resolver order."""


class Runner(StrEnum):
    """Where a command runs."""

    POD = "pod"
    """``kubectl exec`` in a pod (a node's probe pod for probes from a node)."""
    CONTAINER = "container"
    """``docker exec`` in a container next to the kind nodes (the course's VM)."""
    LOCAL = "local"
    """This machine (``host``)."""


@dataclass(frozen=True, slots=True)
class Command:
    """A command for one probe: ``argv`` is what a backend runs, ``shown`` what a person types."""

    argv: tuple[str, ...]
    shown: tuple[str, ...]
    runner: Runner = Runner.LOCAL
    namespace: str = ""
    target: str = ""
    """The pod (with ``namespace``) or container the command runs in."""

    def line(self) -> str:
        """One line to paste into a terminal."""
        text = shlex.join(self.shown)
        if self.runner is Runner.POD:
            # No -c: kubectl exec picks the pod's default (first) container, the one the kind backend uses.
            return f"kubectl exec -n {self.namespace} {self.target} -- {text}"
        if self.runner is Runner.CONTAINER:
            return f"docker exec {self.target} {text}"
        return text

    def __str__(self) -> str:
        return self.line()


def in_pod(command: Command, namespace: str, pod: str) -> Command:
    return replace(command, runner=Runner.POD, namespace=namespace, target=pod)


def on_node(command: Command, node: str) -> Command:
    """In the node's host-network probe pod (``grader/kind/workloads.py: probe_pod_manifest``)."""
    return in_pod(command, PROBE_NAMESPACE, probe_pod_name(node))


def in_container(command: Command, container: str) -> Command:
    return replace(command, runner=Runner.CONTAINER, namespace="", target=container)


def probe_pod_name(node: str) -> str:
    """``kind-worker`` -> ``probe-kind-worker``."""
    return "probe-" + node.replace(".", "-")[:50]


def external_container(host: str) -> str:
    """The Docker container of an external host on kind: ``vm.internal`` -> ``netlab-vm-internal``."""
    return "netlab-" + host.replace(".", "-")


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def bracket(host: str) -> str:
    """IPv6 addresses in brackets, anything else unchanged."""
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def host_port(host: str, port: int) -> str:
    """``10.244.1.5:80``, ``[fd00::5]:80``, ``web.shop:80``."""
    return f"{bracket(host)}:{port}"


# -- L4: agnhost connect ------------------------------------------------------------------------
def connect(host: str, port: int, protocol: Protocol | str, timeout: str = CONNECT_TIMEOUT) -> Command:
    """``/agnhost connect <host>:<port> --timeout=1s --protocol=tcp`` as upstream e2e runs it.

    For a DNS name the command runs under ``timeout`` (busybox, in agnhost's Alpine image):
    agnhost resolves the name before its ``--timeout`` starts, with the pod's resolver defaults
    (5 s per query, 2 attempts, every search suffix), so a lookup whose queries are dropped (an
    egress policy without port 53) would run for ~40 s. After :data:`DNS_DEADLINE_S` it is
    reported the way agnhost reports a failed lookup (``DNS: ...``), which is what it is.
    """
    proto = Protocol.parse(protocol).value.lower()
    target = host_port(host, port)
    plain = ("/agnhost", "connect", target, f"--timeout={timeout}", f"--protocol={proto}")
    if is_ip(host):
        return Command(plain, plain)
    return Command(("/bin/sh", "-c", _NAME_WRAPPER, "sh", str(DNS_DEADLINE_S), target, timeout, proto),
                   ("timeout", str(DNS_DEADLINE_S), *plain))


# -- HTTP: curl ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request, planned the way both clients perform it (curl in a pod, Python on the host)."""

    url: str
    scheme: str
    hostname: str
    port: int
    path: str
    host_header: str
    sni: str | None
    connect_host: str
    """Where the TCP connection goes: ``resolve`` when given, else the URL's host (resolved by the client)."""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def url_name(self) -> str:
        """The host name curl puts in its URL: the SNI name for HTTPS (curl sends the URL's host as SNI)."""
        return self.sni if self.tls and self.sni else self.hostname


def plan(url: str, *, host: str | None = None, sni: str | None = None, method: str = "GET",
         headers: Mapping[str, str] | None = None, resolve: str | None = None) -> HttpRequest | str:
    """The request to make, or a sentence saying why ``url`` cannot be requested."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL with a host"
    try:
        explicit = parts.port
    except ValueError:
        return f"{url!r} has an invalid port"
    port = explicit or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    hostname = parts.hostname
    host_header = host or (hostname if explicit is None else f"{hostname}:{explicit}")
    if sni is None and scheme == "https" and not is_ip(hostname):
        sni = hostname
    extra = tuple((k, v) for k, v in (headers or {}).items() if k.lower() != "host")
    return HttpRequest(url, scheme, hostname, port, path, host_header, sni, resolve or hostname, method.upper(), extra)


def curl(req: HttpRequest, timeout: float = CURL_TIMEOUT) -> Command:
    """curl for ``req``. Certificates are not verified while connecting (``-k``): the kind backend
    checks the presented chain afterwards against the lesson's CA (``grader/kind/webprobe.py``)."""
    # -v: curl >= 7.8x reports every failed connect as "Couldn't connect to server"; only the verbose
    # trace (stderr) still says "connect to ... failed: Connection refused" / "No route to host".
    readout = ["-sS", "-v"]
    limits = ["-k", "--max-time", f"{timeout:g}", "--connect-timeout", f"{min(timeout, 3.0):g}"]
    output = ["-o", "-", "-w", CURL_WRITE_OUT]
    request: list[str] = []
    if req.method == "HEAD":
        request.append("--head")
    elif req.method != "GET":
        request += ["-X", req.method]
    request += ["-H", f"Host: {req.host_header}"]
    for k, v in req.headers:
        request += ["-H", f"{k}: {v}"]
    name = req.url_name
    if name != req.connect_host:
        request += ["--connect-to", f"{bracket(name)}:{req.port}:{bracket(req.connect_host)}:{req.port}"]
    request.append(f"{req.scheme}://{host_port(name, req.port)}{req.path}")
    return Command(("curl", *readout, *limits, *output, *request), ("curl", *limits, *request))


# -- DNS: dig -----------------------------------------------------------------------------------
def dig(name: str, queries: Sequence[str]) -> Command:
    """``dig`` for each fully qualified name the resolver tries (``queries``, in order) for ``name``."""
    fqdns = [q if q.endswith(".") else q + "." for q in queries]
    return Command(("/bin/sh", "-c", DIG_SCRIPT, "sh", *fqdns), ("dig", "+search", "+showsearch", name))


__all__ = [
    "CONNECT_TIMEOUT", "CURL_TIMEOUT", "CURL_WRITE_OUT", "DIG_SCRIPT", "DNS_DEADLINE_S", "PROBE_NAMESPACE", "Command",
    "HttpRequest", "Runner", "bracket", "connect", "curl", "dig", "external_container", "host_port", "in_container",
    "in_pod", "is_ip", "on_node", "plan", "probe_pod_name",
]
