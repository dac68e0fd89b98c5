"""HTTP(S) probes on a real cluster: curl in a pod, or the Python standard library on the
learner's machine, mapped to the same ``Verdict`` + ``HttpExchange`` the simulated cluster returns.

Both clients do the same request:

* ``url`` as given; ``host`` replaces the Host header; ``sni`` replaces the TLS server name
  (default: the URL's host name, none for an IP); ``resolve`` connects to that address instead of
  resolving the URL's host (curl ``--connect-to``), keeping the name for Host and SNI.
* Certificates are *not* verified while connecting (curl ``-k``): the chain the server presented
  is kept and checked afterwards with ``grader.tls.verify`` against the ``ca`` the lesson gives
  (the same function the simulation uses), so ``certificate_trusted`` answers "would a client
  trusting this CA accept it?" on both backends -- for the real certificate of the real server.
* Redirects are not followed (the 3xx and its ``Location`` are the answer), as in the simulation.

curl (agnhost's image ships curl 8 with OpenSSL) prints the body, then our ``-w`` block:
``%{json}`` (exit code, error message, HTTP code, remote address), ``%{header_json}`` (response
headers, names in lower case) and ``%{certs}`` (the presented chain as PEM; curl >= 7.88).

Outcomes -> verdicts (curl(1) EXIT CODES; Python's socket/ssl/http.client exceptions):

=====================  ======================================  ==============
outcome                curl                                    verdict
=====================  ======================================  ==============
an HTTP response       0                                       ALLOWED (any status: read ``http.status``)
name does not resolve  6                                       DNS_FAILED
connection refused     7 "Connection refused"                  REFUSED
no route / unreachable 7 "No route to host" and friends        BLOCKED
timeout                28                                      BLOCKED (dropped on the way)
accepted, then reset   52 empty reply, 56 reset by peer        REFUSED (a proxy with no working upstream)
TLS handshake failed   35                                      PROBE_FAILED, ``http.error`` says why
anything else          other                                   PROBE_FAILED
=====================  ======================================  ==============
"""

from __future__ import annotations

import datetime as dt
import errno
import http.client
import json
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from ..reachability import HttpExchange, Verdict
from ..reachability.commands import CURL_TIMEOUT, CURL_WRITE_OUT, Command, HttpRequest, curl, plan
from ..reachability.commands import is_ip as _is_ip

JSON_MARK = "\n@@netlab-json@@"
HEADERS_MARK = "\n@@netlab-headers@@"
CERTS_MARK = "\n@@netlab-certs@@\n"
WRITE_OUT = CURL_WRITE_OUT
BODY_LIMIT = 65536
DEFAULT_TIMEOUT = CURL_TIMEOUT
_CONNECT_FAILED = re.compile(r"connect to .* failed: (.+)$", re.MULTILINE)
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


class Outcome:
    OK = "ok"
    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    RESET = "reset"
    TLS = "tls"
    ERROR = "error"


def curl_for(req: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> Command:
    """The curl the kind backend runs for ``req`` (:func:`grader.reachability.commands.curl`): its
    ``argv`` is exec'd, and the result's ``command`` shows it (the simulated cluster shows the same)."""
    return curl(req, timeout)


@dataclass(frozen=True, slots=True)
class RawHttp:
    """What a client saw, whoever the client was (curl in a pod, Python on the host)."""

    outcome: str
    message: str = ""
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    remote_ip: str = ""
    chain: tuple[Any, ...] = field(default=())
    """``cryptography`` certificates the server presented (leaf first)."""


def curl_outcome(code: int, message: str) -> str:
    low = message.lower()
    detail = _CONNECT_FAILED.findall(message)
    if detail:
        low = detail[-1].lower() + " " + low
    if code == 6 or "resolving timed out" in low or "could not resolve" in low:
        # curl's --connect-timeout covers the name lookup: a lookup nobody answers ends as exit 28
        # "Resolving timed out after N milliseconds", which is a DNS failure, not a dropped connection.
        return Outcome.DNS
    if "reset by peer" in low:
        return Outcome.RESET
    if code == 7:
        if "refused" in low:
            return Outcome.REFUSED
        return Outcome.UNREACHABLE
    if code == 28:
        return Outcome.TIMEOUT
    if code in (52, 56) or "reset by peer" in low:
        return Outcome.RESET
    if code == 35:
        return Outcome.TLS
    return Outcome.ERROR


def load_chain(text: str) -> tuple[Any, ...]:
    from cryptography import x509

    out = []
    for block in _PEM.findall(text or ""):
        try:
            out.append(x509.load_pem_x509_certificate(block.encode()))
        except ValueError:
            continue
    return tuple(out)


def parse_curl(exit_code: int | None, stdout: str, stderr: str, exec_error: str = "") -> RawHttp:
    """curl's output (see :data:`WRITE_OUT`) -> :class:`RawHttp`."""
    if exit_code is None:
        return RawHttp(Outcome.ERROR, f"the request could not run: {exec_error or stderr.strip() or 'no exit status'}")
    body, found, rest = stdout.rpartition(JSON_MARK)
    if not found:
        errors = [line for line in stderr.strip().splitlines() if line.startswith("curl:")]
        why = errors[-1] if errors else (stderr.strip().splitlines()[-1] if stderr.strip() else f"curl exited {exit_code} without its report")
        if exit_code == 0:
            return RawHttp(Outcome.ERROR, f"curl printed no --write-out report (curl older than 7.88 in the source container?): {why}")
        return RawHttp(curl_outcome(exit_code, stderr), why)
    json_text, _, rest = rest.partition(HEADERS_MARK)
    headers_text, _, certs_text = rest.partition(CERTS_MARK)
    try:
        report = json.loads(json_text)
    except json.JSONDecodeError:
        report = {}
    try:
        header_map = json.loads(headers_text) if headers_text.strip() else {}
    except json.JSONDecodeError:
        header_map = {}
    headers = tuple((str(k), str(v)) for k, values in header_map.items() for v in (values if isinstance(values, list) else [values]))
    chain = load_chain(certs_text)
    remote = str(report.get("remote_ip") or "")
    errors = [line for line in stderr.strip().splitlines() if line.startswith("curl:")]
    message = str(report.get("errormsg") or "").strip() or (errors[-1] if errors else "")
    if exit_code != 0:
        detail = _CONNECT_FAILED.findall(stderr)
        shown = f"{message} ({detail[-1].strip()})" if detail and detail[-1].strip() not in message else message
        return RawHttp(curl_outcome(exit_code, message + "\n" + stderr), shown or f"curl exit {exit_code}", remote_ip=remote, chain=chain)
    try:
        status = int(report.get("http_code") or report.get("response_code") or 0)
    except (TypeError, ValueError):
        status = 0
    if not status:
        return RawHttp(Outcome.ERROR, f"curl reported no HTTP status ({message or 'no message'})", remote_ip=remote, chain=chain)
    return RawHttp(Outcome.OK, f"HTTP {status}", status, headers, body[:BODY_LIMIT], remote, chain)


# -- from the learner's machine ---------------------------------------------------------------------

def host_request(req: HttpRequest, timeout: float = DEFAULT_TIMEOUT) -> RawHttp:
    """The same request with Python's socket, ssl and http.client (no curl needed on the host)."""
    try:
        infos = socket.getaddrinfo(req.connect_host, req.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return RawHttp(Outcome.DNS, f"could not resolve {req.connect_host}: {exc.strerror or exc}")
    family, _, _, _, address = infos[0]
    remote = str(address[0])
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(min(timeout, 3.0))
        sock.connect(address)
    except TimeoutError:
        sock.close()
        return RawHttp(Outcome.TIMEOUT, f"connection to {remote}:{req.port} timed out", remote_ip=remote)
    except ConnectionRefusedError:
        sock.close()
        return RawHttp(Outcome.REFUSED, f"connection to {remote}:{req.port} refused", remote_ip=remote)
    except ConnectionResetError as exc:
        sock.close()
        return RawHttp(Outcome.RESET, f"{remote}:{req.port} accepted the connection and reset it ({exc})", remote_ip=remote)
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return RawHttp(Outcome.UNREACHABLE, f"{remote}:{req.port}: {exc.strerror}", remote_ip=remote)
        return RawHttp(Outcome.ERROR, f"{remote}:{req.port}: {exc}", remote_ip=remote)
    sock.settimeout(timeout)
    chain: tuple[Any, ...] = ()
    if req.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # verified afterwards against the lesson's CA (grader.tls.verify)
        try:
            sock = ctx.wrap_socket(sock, server_hostname=req.sni if req.sni and not _is_ip(req.sni) else None)
        except ssl.SSLError as exc:
            sock.close()
            return RawHttp(Outcome.TLS, f"{exc.reason or exc}", remote_ip=remote)
        except (ConnectionResetError, OSError) as exc:
            sock.close()
            return RawHttp(Outcome.TLS, f"the server closed the connection during the TLS handshake ({exc})", remote_ip=remote)
        chain = _peer_chain(sock)
    conn = http.client.HTTPConnection(req.connect_host, req.port, timeout=timeout)
    conn.sock = sock
    try:
        conn.request(req.method, req.path, headers={"Host": req.host_header, **dict(req.headers)})
        resp = conn.getresponse()
        body = resp.read(BODY_LIMIT).decode("utf-8", "replace") if req.method != "HEAD" else ""
        headers = tuple((k.lower(), v) for k, v in resp.getheaders())
        return RawHttp(Outcome.OK, f"HTTP {resp.status}", resp.status, headers, body, remote, chain)
    except TimeoutError:
        return RawHttp(Outcome.TIMEOUT, "connected, but no HTTP answer came in time", remote_ip=remote, chain=chain)
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
        return RawHttp(Outcome.RESET, f"the server accepted the connection and closed it without an answer ({exc})", remote_ip=remote, chain=chain)
    except (http.client.HTTPException, OSError) as exc:
        return RawHttp(Outcome.ERROR, f"{type(exc).__name__}: {exc}", remote_ip=remote, chain=chain)
    finally:
        conn.close()


def _peer_chain(sock: ssl.SSLSocket) -> tuple[Any, ...]:
    from cryptography import x509

    getter = getattr(sock, "get_unverified_chain", None)  # Python 3.13+
    ders: list[bytes] = []
    if getter is not None:
        try:
            ders = [c if isinstance(c, bytes) else c.public_bytes(ssl.Encoding.DER) for c in getter() or []]  # type: ignore[attr-defined]
        except (ssl.SSLError, ValueError, AttributeError):
            ders = []
    if not ders:
        leaf = sock.getpeercert(binary_form=True)
        ders = [leaf] if leaf else []
    return tuple(x509.load_der_x509_certificate(d) for d in ders)


# -- outcome -> verdict, exchange ----------------------------------------------------------------------

def verdict_of(raw: RawHttp, req: HttpRequest, source: str, timeout: float = DEFAULT_TIMEOUT, *, reach: Any = None) -> tuple[Verdict, str]:
    """The verdict of one request. ``reach`` (a ``hostnet.HostReach``, for ``source == "host"``):
    a timeout or "unreachable" towards a network this machine cannot reach is PROBE_FAILED (C4)."""
    verdict, reason = _verdict_of(raw, req, source, timeout)
    if reach is not None and source == "host":
        verdict, reason = reach.judge(verdict, reason, raw.remote_ip or req.connect_host)
    return verdict, reason


def _verdict_of(raw: RawHttp, req: HttpRequest, source: str, timeout: float) -> tuple[Verdict, str]:
    target = f"{req.connect_host}:{req.port}"
    if raw.outcome == Outcome.OK:
        return Verdict.ALLOWED, f"HTTP {raw.status} from {raw.remote_ip or target}"
    if raw.outcome == Outcome.DNS:
        hint = ""
        if req.connect_host == req.hostname and not _is_ip(req.hostname):
            hint = (f"\nTo reach a name that DNS does not know (an Ingress or Gateway host), connect to an address and keep "
                    f"the name for Host and SNI: lab.http({source!r}, {req.url!r}, resolve='<address>') (curl --resolve)")
        return Verdict.DNS_FAILED, f"{req.connect_host!r} does not resolve ({raw.message}){hint}"
    if raw.outcome == Outcome.REFUSED:
        return Verdict.REFUSED, f"connection to {target} refused ({raw.message}): the packet arrived but nothing listens there"
    if raw.outcome == Outcome.TIMEOUT:
        return Verdict.BLOCKED, f"no answer from {target} within {timeout:g}s ({raw.message}): dropped on the way, as a NetworkPolicy denial does"
    if raw.outcome == Outcome.UNREACHABLE:
        return Verdict.BLOCKED, f"rejected on the way to {target}: {raw.message}"
    if raw.outcome == Outcome.RESET:
        return Verdict.REFUSED, (f"{target} accepted the connection and closed it without an HTTP answer ({raw.message}); "
                                 "a proxy whose upstream refuses does this (cloud-provider-kind's Envoy when no backend is healthy)")
    if raw.outcome == Outcome.TLS:
        return Verdict.PROBE_FAILED, tls_error(raw.message)
    return Verdict.PROBE_FAILED, f"the request failed: {raw.message}"


def tls_error(message: str) -> str:
    low = message.lower().replace("_", " ")  # OpenSSL reasons: curl prints "wrong version number", Python "WRONG_VERSION_NUMBER"
    if "wrong version number" in low or "record layer failure" in low or "packet length too long" in low:
        return f"TLS handshake failed: the server answers plain HTTP on that port ({message})"
    if "unrecognized name" in low or "handshake failure" in low:
        return f"TLS handshake failed: the server has no certificate for that SNI name ({message})"
    return f"TLS handshake failed: {message}"


def exchange(raw: RawHttp, req: HttpRequest, *, ca: Any = None, now: dt.datetime | None = None, served_by: str = "") -> HttpExchange | None:
    """The ``HttpExchange`` of a request that got an HTTP answer, or failed its TLS handshake."""
    from ..tls import CertificateInfo, verify

    if raw.outcome not in (Outcome.OK, Outcome.TLS):
        return None
    certificate, trusted, trust_reason = "", None, ""
    if raw.chain:
        certificate = CertificateInfo.of(raw.chain[0]).render()
        if ca is not None:
            name = req.sni or req.host_header.rsplit(":", 1)[0]
            result = verify(list(raw.chain), name, ca, now)
            trusted, trust_reason = result.trusted, result.reason
    if raw.outcome == Outcome.TLS:
        return HttpExchange(0, "", certificate, trusted, url=req.url, trust_reason=trust_reason, sni=req.sni or "", error=tls_error(raw.message))
    location = next((v for k, v in raw.headers if k.lower() == "location"), "")
    server = served_by or next((v for k, v in raw.headers if k.lower() == "server"), "")
    # request_headers stay empty: what the backend received is only known when it echoes it.
    return HttpExchange(raw.status or 0, server, certificate, trusted, raw.headers, raw.body, req.url, location,
                        (), trust_reason, req.sni or "", "")


# -- distribution: N requests in one exec -------------------------------------------------------
DIST_MARK = "@@netlab@@"
ERR_MARK = "@@netlab-err@@"
DIST_TCP_SCRIPT = (
    'n=$1; shift; f=/tmp/netlab-dist-$$; i=0; while [ "$i" -lt "$n" ]; do i=$((i+1)); '
    'out=$("$@" 2>"$f"); rc=$?; err=$(grep -E "failed:|curl: [(]" "$f" | tr "\\n" " "); '
    f'printf "%s%s%s%s%s%s\\n" "{DIST_MARK}" "$rc" "{DIST_MARK}" "$(printf "%s" "$out" | tr "\\n" " ")" "{ERR_MARK}" "$err"; '
    'done; rm -f "$f"; true'
)
"""Args: N, then the curl argv (``-v``, ``-w ' @@%{http_code}'``). One line per request:
``@@netlab@@<exit>@@netlab@@<body> @@<http code>@@netlab-err@@<curl's error lines>``. curl's
verbose trace goes to a file so the body stays clean; only its ``connect ... failed: <why>`` and
``curl: (N)`` lines are kept (curl >= 7.8x only says "Couldn't connect" without them). curl's
``-w`` must not start with ``@`` (that names a file to read the format from)."""
DIST_UDP_SCRIPT = (
    'n=$1; h=$2; p=$3; i=0; while [ "$i" -lt "$n" ]; do j=0; '
    'while [ "$j" -lt 25 ] && [ "$i" -lt "$n" ]; do i=$((i+1)); j=$((j+1)); '
    f'( r=$(printf hostname | nc -u -w 1 "$h" "$p" 2>&1 | tr "\\n" " "); printf "%s0%s%s @@udp%s\\n" "{DIST_MARK}" "{DIST_MARK}" "$r" "{ERR_MARK}" ) & '
    'done; wait; done; true'
)
"""Args: N, host, port. UDP datagrams in batches of 25 parallel ``nc -u`` clients (one source port each)."""
_LINE = re.compile(re.escape(DIST_MARK) + r"(-?\d+)" + re.escape(DIST_MARK) + r"(.*?)(?: @@(\d{3}|udp))?" + re.escape(ERR_MARK) + r"(.*)$")


def parse_distribution(output: str) -> list[tuple[int, str, str, str]]:
    """(exit code, body, HTTP code / ``udp`` / ``''``, error text) per request line."""
    out = []
    for line in output.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out.append((int(m.group(1)), m.group(2).strip(), m.group(3) or "", m.group(4).strip()))
    return out


__all__ = [
    "DIST_TCP_SCRIPT", "DIST_UDP_SCRIPT", "HttpRequest", "Outcome", "RawHttp", "curl_for", "curl_outcome", "exchange", "host_request", "load_chain", "parse_curl", "parse_distribution",
    "plan", "tls_error", "verdict_of",
]
