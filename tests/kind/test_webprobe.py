"""HTTP(S) probes (grader.kind.webprobe) against real local servers, with both clients the kind
backend uses: curl (as exec'd in a pod; this machine's curl runs the same argv) and Python's
standard library (the ``host`` source). Both must see the same outcome, verdict and certificate.
"""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from grader.kind import webprobe
from grader.reachability import Verdict
from grader.tls import mint_ca

# Multi-step scenarios through fake executables: in make test, not in make test-fast.
pytestmark = pytest.mark.slow


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:  # http.server's naming
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/redirect":
            self._answer(308, "", {"Location": "https://shop.example.com/redirect"})
        elif self.path == "/hostname":
            self._answer(200, "web")
        elif self.path == "/clientip":
            self._answer(200, f"{self.client_address[0]}:{self.client_address[1]}")
        elif self.path == "/host":
            self._answer(200, self.headers.get("Host", ""), {"X-Seen-Version": self.headers.get("X-Version", "")})
        else:
            self._answer(404, "404 page not found\n")

    def _answer(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(server: http.server.HTTPServer) -> Iterator[int]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ca():
    return mint_ca("lab CA")


@pytest.fixture(scope="module")
def plain() -> Iterator[int]:
    yield from _serve(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))


@pytest.fixture(scope="module")
def tls(ca, tmp_path_factory) -> Iterator[int]:
    """HTTPS choosing its certificate by SNI, like an ingress controller: shop.example.com has its own,
    anything else gets the default one (for default.example.com)."""
    root = tmp_path_factory.mktemp("certs")

    def context(pair, name: str) -> ssl.SSLContext:
        crt, key = root / f"{name}.crt", root / f"{name}.key"
        crt.write_text(pair.cert_pem)
        key.write_text(pair.key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(crt), str(key))
        return ctx

    shop = context(ca.issue(["shop.example.com"]), "shop")
    default = context(ca.issue(["default.example.com"]), "default")
    default.sni_callback = lambda sock, name, _: setattr(sock, "context", shop) if name == "shop.example.com" else None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = default.wrap_socket(server.socket, server_side=True)
    yield from _serve(server)


def _raw_server(behaviour: str) -> Iterator[int]:
    """A TCP server that resets every connection (SO_LINGER 0) or never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def loop() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            if behaviour == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    for c in held:
        c.close()
    sock.close()


@pytest.fixture(scope="module")
def resetting() -> Iterator[int]:
    yield from _raw_server("reset")


@pytest.fixture(scope="module")
def silent() -> Iterator[int]:
    yield from _raw_server("silent")


@pytest.fixture(scope="module")
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def via_curl(req: webprobe.HttpRequest, timeout: float = 2.0) -> webprobe.RawHttp:
    done = subprocess.run(list(webprobe.curl_for(req, timeout).argv), capture_output=True, text=True, check=False)
    return webprobe.parse_curl(done.returncode, done.stdout, done.stderr)


def via_python(req: webprobe.HttpRequest, timeout: float = 2.0) -> webprobe.RawHttp:
    return webprobe.host_request(req, timeout)


CLIENTS: list[Callable[..., webprobe.RawHttp]] = [via_python]
if shutil.which("curl") is not None:
    CLIENTS.append(via_curl)
else:  # pragma: no cover - the pods always have curl; this machine may not
    CLIENTS.append(pytest.param(via_curl, marks=pytest.mark.skip(reason="curl is not installed on this machine")))  # type: ignore[arg-type]


def plan(url: str, **kw: object) -> webprobe.HttpRequest:
    req = webprobe.plan(url, **kw)  # type: ignore[arg-type]
    assert isinstance(req, webprobe.HttpRequest), req
    return req


def test_planning_matches_the_simulated_client() -> None:
    req = plan("https://shop.example.com/cart?x=1", resolve="172.18.0.5")
    assert (req.host_header, req.sni, req.connect_host, req.port, req.path) == ("shop.example.com", "shop.example.com", "172.18.0.5", 443, "/cart?x=1")
    assert plan("http://10.96.0.5:8080/").host_header == "10.96.0.5:8080" and plan("https://10.96.0.5/").sni is None
    assert plan("http://a/", host="b").host_header == "b"
    cmd = webprobe.curl_for(plan("https://shop.example.com/", resolve="172.18.0.5", sni="www.example.com")).argv
    assert cmd[-1] == "https://www.example.com:443/" and "www.example.com:443:172.18.0.5:443" in cmd and "Host: shop.example.com" in cmd
    assert webprobe.plan("ftp://x/") == "'ftp://x/' is not an http:// or https:// URL with a host"


@pytest.mark.parametrize("client", CLIENTS)
def test_plain_http_status_body_host_and_headers(client, plain: int) -> None:
    raw = client(plan(f"http://web.shop:{plain}/host", resolve="127.0.0.1", host="shop.example.com", headers={"X-Version": "v2"}))
    assert raw.outcome == "ok" and raw.status == 200 and raw.body == "shop.example.com" and raw.remote_ip == "127.0.0.1"
    assert ("x-seen-version", "v2") in raw.headers
    missing = client(plan(f"http://127.0.0.1:{plain}/nothing"))
    assert missing.status == 404  # an answer, whatever its status
    redirect = client(plan(f"http://127.0.0.1:{plain}/redirect"))
    ex = webprobe.exchange(redirect, plan(f"http://127.0.0.1:{plain}/redirect"))
    assert redirect.status == 308 and ex is not None and ex.location == "https://shop.example.com/redirect"  # not followed
    assert webprobe.verdict_of(raw, plan(f"http://127.0.0.1:{plain}/"), "shop/api")[0] is Verdict.ALLOWED


@pytest.mark.parametrize("client", CLIENTS)
def test_tls_sni_picks_the_certificate_and_the_ca_decides_trust(client, tls: int, ca) -> None:
    req = plan(f"https://shop.example.com:{tls}/hostname", resolve="127.0.0.1")
    raw = client(req)
    assert raw.outcome == "ok" and raw.body == "web" and raw.chain
    ex = webprobe.exchange(raw, req, ca=ca)
    assert ex is not None and "shop.example.com" in ex.certificate and ex.certificate_trusted is True and ex.sni == "shop.example.com"
    other_ca = webprobe.exchange(raw, req, ca=mint_ca("someone else"))
    assert other_ca is not None and other_ca.certificate_trusted is False and "unknown authority" in other_ca.trust_reason
    later = webprobe.exchange(raw, req, ca=ca, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    assert later is not None and later.certificate_trusted is False and "expired" in later.trust_reason
    wrong_sni = plan(f"https://shop.example.com:{tls}/hostname", resolve="127.0.0.1", sni="www.example.com")
    default = webprobe.exchange(client(wrong_sni), wrong_sni, ca=ca)
    assert default is not None and "default.example.com" in default.certificate and default.certificate_trusted is False


@pytest.mark.parametrize("client", CLIENTS)
def test_failures_map_to_verdicts(client, plain: int, resetting: int, silent: int, closed_port: int) -> None:
    cases = {
        "refused": (f"http://127.0.0.1:{closed_port}/", Verdict.REFUSED),
        "reset": (f"http://127.0.0.1:{resetting}/", Verdict.REFUSED),
        "timeout": (f"http://127.0.0.1:{silent}/", Verdict.BLOCKED),
        "tls": (f"https://127.0.0.1:{plain}/", Verdict.PROBE_FAILED),
        "dns": ("http://nothing.invalid/", Verdict.DNS_FAILED),
    }
    for want, (url, verdict) in cases.items():
        req = plan(url)
        raw = client(req, 1.0) if want == "timeout" else client(req)
        assert raw.outcome == want, (want, raw)
        got, reason = webprobe.verdict_of(raw, req, "host")
        assert got is verdict, (want, reason)
        if want == "tls":
            ex = webprobe.exchange(raw, req)
            assert ex is not None and "plain HTTP" in ex.error  # as the simulated cluster words it
        if want == "dns":
            assert "resolve=" in reason


def test_curl_reports_are_parsed_without_curl() -> None:
    """The report format itself (curl 8 in agnhost), including a failure with curl's own message."""
    ok = "web" + webprobe.JSON_MARK + '{"http_code":200,"remote_ip":"10.96.0.7","exitcode":0,"errormsg":null}' + webprobe.HEADERS_MARK + \
        '{"content-type":["text/plain; charset=utf-8"],"server":["envoy"]}' + webprobe.CERTS_MARK
    raw = webprobe.parse_curl(0, ok, "")
    assert (raw.outcome, raw.status, raw.body, raw.remote_ip) == ("ok", 200, "web", "10.96.0.7")
    assert webprobe.exchange(raw, plan("http://web/")).served_by == "envoy"  # type: ignore[union-attr]
    refused = webprobe.JSON_MARK + '{"http_code":0,"exitcode":7,"errormsg":"Failed to connect to 10.96.0.7 port 81 after 0 ms: Couldn\'t connect to server"}' \
        + webprobe.HEADERS_MARK + "{}" + webprobe.CERTS_MARK
    assert webprobe.parse_curl(7, refused, "curl: (7) Failed to connect to 10.96.0.7 port 81 after 0 ms: Connection refused").outcome == "refused"
    assert webprobe.parse_curl(7, "", "curl: (7) Failed to connect to 10.0.0.1 port 80: No route to host").outcome == "unreachable"
    assert webprobe.parse_curl(None, "", "", 'exec: "curl": executable file not found in $PATH').outcome == "error"
    # a lookup nobody answers: curl's connect timeout covers resolving (egress to kube-dns blocked)
    assert webprobe.parse_curl(28, "", "curl: (28) Resolving timed out after 3000 milliseconds").outcome == "dns"


def test_certificate_pem_blocks_are_found_in_curl_certs_output(ca) -> None:
    pair = ca.issue(["a.example.com"])
    text = f"Subject:CN = a.example.com\nIssuer:CN = lab CA\nCert:\n{pair.cert_pem}\nSubject:CN = lab CA\nCert:\n{ca.cert_pem}"
    chain = webprobe.load_chain(text)
    assert [c.subject.rfc4514_string() for c in chain] == ["CN=a.example.com", "CN=lab CA"]


