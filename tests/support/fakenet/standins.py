"""What the agnhost image has and this machine may not, for commands the fake kubelet execs in a pod,
and agnhost netexec's HTTP server for the pods it starts.

Every stand-in is a small Python script run with the pod's environment, which the fake API server
sets per exec (``tests/support/fake_apiserver.py`` ``run_exec``):

* ``FAKE_POD_IP``: the pod's address. Clients bind their socket to it, so servers see the pod's IP
  as the source (a pod has its own network namespace; kube-proxy's ClusterIP DNAT keeps the source:
  kubernetes ``pkg/proxy/nftables/proxier.go``, masquerade only for hairpin and off-cluster traffic);
* ``FAKE_ZONE`` and ``FAKE_RESOLV``: the fake DNS's records and the pod's resolv.conf. Names are
  resolved as the pod's stub resolver does: ``search`` list first when the name has fewer than
  ``ndots`` dots (resolv.conf(5)), a trailing dot means absolute;
* ``FAKE_CNI``: ``host:port`` of the fake API server, asked before each new connection what the
  datapath does with its first packet (``GET /fake/cni/connect``): the kube-proxy translation of a
  ClusterIP and the NetworkPolicy verdict, ``accept`` (with the address to connect to) or ``drop``.
  A drop makes the client wait out its timeout, as a SYN nobody answers does.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_COMMON = '''
import http.client, ipaddress, json, os, socket, sys, time, urllib.parse

def nameserver():
    resolv = os.environ.get("FAKE_RESOLV", "")
    for line in open(resolv) if resolv and os.path.exists(resolv) else ():
        words = line.split()
        if words[:1] == ["nameserver"] and len(words) > 1:
            return words[1]
    return None

def dns_dropped():
    """Whether the pod's query to its nameserver (UDP 53) is dropped: DNS is traffic too."""
    server = nameserver()
    if server is None or not os.environ.get("FAKE_CNI"):
        return False
    q = pod_socket(socket.SOCK_DGRAM, "127.0.0.1")
    if not q.getsockname()[1]:
        q.bind(("127.0.0.1", 0))
    fate, _ = cni(q, server, 53, "UDP")
    q.close()
    return fate != "accept"

def resolve(name):
    """The pod's stub resolver against the fake DNS zone (resolv.conf(5): search, ndots). A query the
    network drops never returns: the caller's deadline (the lab's ``timeout``) ends it, as for the
    Go resolver's 5 s x 2 attempts per name."""
    try:
        ipaddress.ip_address(name.strip("[]"))
        return name.strip("[]")
    except ValueError:
        pass
    if dns_dropped():
        time.sleep(60)
    zone = {{}}
    for line in open(os.environ["FAKE_ZONE"]) if os.environ.get("FAKE_ZONE") else ():
        parts = line.split()
        if len(parts) >= 2:
            zone.setdefault(parts[0].rstrip(".").lower(), parts[1])  # several A records: the first
    search, ndots = [], 1
    resolv = os.environ.get("FAKE_RESOLV", "")
    for line in open(resolv) if resolv and os.path.exists(resolv) else ():
        words = line.split()
        if words[:1] == ["search"]:
            search = words[1:]
        elif words[:1] == ["options"]:
            ndots = next((int(o[6:]) for o in words[1:] if o.startswith("ndots:")), ndots)
    if name.endswith("."):
        candidates = [name.rstrip(".")]
    else:
        searched = [f"{{name}}.{{s}}" for s in search]
        candidates = searched + [name] if name.count(".") < ndots else [name] + searched
    return next((zone[c.lower()] for c in candidates if c.lower() in zone), None)

def pod_socket(kind, dst):
    """A socket from the pod's address. Pod addresses are loopback aliases here, which reach only
    loopback destinations: towards anything else the socket keeps this machine's own source."""
    s = socket.socket(socket.AF_INET, kind)
    ip = os.environ.get("FAKE_POD_IP", "")
    if ip.startswith("127.") and dst.startswith("127."):
        s.bind((ip, 0))
    return s

def cni(sock, dst, dport, proto):
    """(fate, (ip, port)) of the first packet from ``sock`` to dst:dport, from the fake datapath."""
    where = os.environ.get("FAKE_CNI")
    if not where:
        return "accept", (dst, dport)
    src, sport = sock.getsockname()[:2] if sock.getsockname()[1] else ("127.0.0.1", 0)
    query = urllib.parse.urlencode({{"src": src, "sport": sport, "dst": dst, "dport": dport, "proto": proto}})
    host, port = where.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/fake/cni/connect?" + query)
    answer = json.loads(conn.getresponse().read())
    to = answer.get("to") or f"{{dst}}:{{dport}}"
    ip, _, p = to.rpartition(":")
    return answer["fate"], (ip, int(p))
'''

FAKE_AGNHOST = '''#!{python}
"""Stand-in for ``/agnhost connect <host>:<port> --timeout=<d>s --protocol=tcp|udp`` with agnhost's
output contract, line for line (kubernetes test/images/agnhost/connect/connect.go, connectTCP and
connectUDP): exit 0 when connected (UDP: when the server replied to ``hostname\\n``), else exit 1
with ``UNKNOWN: ...``, ``DNS: ...``, a bare ``TIMEOUT`` or ``REFUSED`` (TCP), ``TIMEOUT: <err>`` or
``REFUSED: <err>`` (UDP), or ``OTHER: <err>``; errors in Go's net.OpError format."""
''' + _COMMON + '''
args = sys.argv[1:]
if not args or args[0] != "connect":
    sys.stderr.write("UNKNOWN: only connect is faked\\n"); sys.exit(1)
target = next(a for a in args[1:] if not a.startswith("--"))
timeout = float(next((a.split("=", 1)[1].rstrip("s") for a in args if a.startswith("--timeout=")), "0") or 0)
proto = next((a.split("=", 1)[1] for a in args if a.startswith("--protocol=")), "tcp")
data = next((a.split("=", 1)[1] for a in args if a.startswith("--udp-data=")), "hostname")
if ":" not in target:
    sys.stderr.write(f"UNKNOWN: address {{target}}: missing port in address\\n"); sys.exit(1)
host, port = target.rsplit(":", 1)
if proto not in ("tcp", "udp"):
    sys.stderr.write("OTHER: only tcp and udp are faked\\n"); sys.exit(1)
ip = resolve(host)
if ip is None:
    sys.stderr.write(f"DNS: lookup {{host}} on 10.96.0.10:53: no such host\\n"); sys.exit(1)
udp = proto == "udp"
s = pod_socket(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM, ip)
if udp and not s.getsockname()[1]:
    s.bind(("127.0.0.1" if ip.startswith("127.") else "0.0.0.0", 0))
fate, to = cni(s, ip, int(port), proto.upper())
wait = timeout or 30.0
if not udp:
    if fate == "reject":  # a Service port without ready endpoints: kube-proxy's reject rule
        sys.stderr.write("REFUSED\\n"); sys.exit(1)
    if fate == "drop":  # the fake CNI drops the SYN: agnhost times out
        time.sleep(wait)
        sys.stderr.write("TIMEOUT\\n"); sys.exit(1)
    s.settimeout(wait)
    try:
        s.connect(to)
    except (TimeoutError, socket.timeout):
        sys.stderr.write("TIMEOUT\\n"); sys.exit(1)
    except ConnectionRefusedError:
        sys.stderr.write("REFUSED\\n"); sys.exit(1)
    except OSError as exc:
        sys.stderr.write(f"OTHER: dial tcp {{ip}}:{{port}}: connect: {{(exc.strerror or str(exc)).lower()}}\\n"); sys.exit(1)
    s.close()
    sys.exit(0)
local = "%s:%d" % s.getsockname()[:2]
what = f"read udp {{local}}->{{ip}}:{{port}}"
if fate == "drop":  # the datagram is lost: no reply comes
    time.sleep(wait)
    sys.stderr.write(f"TIMEOUT: {{what}}: i/o timeout\\n"); sys.exit(1)
if fate == "reject":
    sys.stderr.write(f"REFUSED: {{what}}: read: connection refused\\n"); sys.exit(1)
s.settimeout(wait)
try:
    s.connect(to)
    s.send((data + "\\n").encode())
    reply = s.recv(1024)
except (TimeoutError, socket.timeout):
    sys.stderr.write(f"TIMEOUT: {{what}}: i/o timeout\\n"); sys.exit(1)
except ConnectionRefusedError:
    sys.stderr.write(f"REFUSED: {{what}}: read: connection refused\\n"); sys.exit(1)
except OSError as exc:
    sys.stderr.write(f"UNKNOWN: {{what}}: {{exc}}\\n"); sys.exit(1)
if not reply:
    sys.stderr.write("OTHER: No data received from the server. Cannot guarantee the server received the request.\\n"); sys.exit(1)
'''


FAKE_NC = '''#!{python}
"""Stand-in for OpenBSD nc (agnhost's image has it; this machine may not): ``nc [-u] [-w N] host port``
connects from the pod's address, copies stdin to the socket and the socket to stdout, and reports a
failed connect as ``nc: connect to <host> port <port> (tcp) failed: <reason>`` (netcat.c remote_connect)."""
''' + _COMMON + '''
import threading
args = [a for a in sys.argv[1:] if a]
udp = "-u" in args
wait = None
if "-w" in args:
    wait = float(args[args.index("-w") + 1])
    del args[args.index("-w"):args.index("-w") + 2]
host, port = [a for a in args if a != "-u"][:2]
ip = resolve(host)
if ip is None:
    sys.stderr.write(f"nc: getaddrinfo for host \\"{{host}}\\" port {{port}}: Name does not resolve\\n"); sys.exit(1)
s = pod_socket(socket.SOCK_DGRAM if udp else socket.SOCK_STREAM, ip)
if udp and not s.getsockname()[1]:
    s.bind(("127.0.0.1" if ip.startswith("127.") else "0.0.0.0", 0))
fate, to = cni(s, ip, int(port), "UDP" if udp else "TCP")
if fate == "reject" and not udp:
    sys.stderr.write(f"nc: connect to {{host}} port {{port}} (tcp) failed: Connection refused\\n"); sys.exit(1)
if fate == "drop" and not udp:
    time.sleep(wait or 10)
    sys.stderr.write(f"nc: connect to {{host}} port {{port}} (tcp) timed out: Operation now in progress\\n"); sys.exit(1)
if fate in ("drop", "reject"):  # a lost datagram, or ICMP port unreachable: nc -u prints nothing
    time.sleep(wait or 1)
    sys.exit(0 if fate == "drop" else 1)
try:
    s.connect(to)
except OSError as exc:
    sys.stderr.write(f"nc: connect to {{host}} port {{port}} ({{'udp' if udp else 'tcp'}}) failed: {{exc.strerror}}\\n")
    sys.exit(1)
if wait is not None:
    s.settimeout(wait)
def pump():
    while True:
        data = sys.stdin.buffer.read1(4096)
        if not data:
            return
        s.send(data)
threading.Thread(target=pump, daemon=True).start()
while True:
    try:
        data = s.recv(4096)
    except (TimeoutError, socket.timeout):
        sys.exit(0)
    except OSError:
        sys.exit(1)
    if not data:
        sys.exit(0)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
'''

FAKE_DIG = '''#!{python}
"""Stand-in for ``dig +nosearch +noall +comments +question +answer +time=N +tries=1 <name> A``
(bind9 ``bin/dig/dig.c`` printmessage: the header comment lines, the question and the answer
section), answered as the cluster's CoreDNS would from the fake's ``FAKE_ZONE`` file
(``<fqdn>. <address> <ttl>`` lines: the ``kubernetes`` plugin's Service records, TTL 5, and the
``hosts`` plugin's entries from the coredns ConfigMap, with the block's ``ttl``), else NXDOMAIN.
Exit 0 for any reply, as dig does; a query the fake CNI drops waits ``+time`` seconds and ends as
dig does, ``;; connection timed out; no servers could be reached``, exit 9."""
''' + _COMMON + '''
name = next(a for a in sys.argv[1:] if not a.startswith("+") and a != "A")
if dns_dropped():
    time.sleep(float(next((a[6:] for a in sys.argv[1:] if a.startswith("+time=")), "5")))
    print(";; connection timed out; no servers could be reached")
    sys.exit(9)
zone = {{}}
for line in open(os.environ["FAKE_ZONE"]).read().splitlines():
    parts = line.split()
    if len(parts) >= 2:
        zone.setdefault(parts[0].lower(), []).append((parts[1], parts[2] if len(parts) > 2 else "5"))
found = zone.get(name.lower())
print(";; Got answer:")
print(f";; ->>HEADER<<- opcode: QUERY, status: {{'NOERROR' if found else 'NXDOMAIN'}}, id: 4711")
print(f";; flags: qr aa rd; QUERY: 1, ANSWER: {{len(found or [])}}, AUTHORITY: {{0 if found else 1}}, ADDITIONAL: 1")
print()
print(";; QUESTION SECTION:")
print(f";{{name}}\\t\\tIN\\tA")
if found:
    print()
    print(";; ANSWER SECTION:")
    for address, ttl in found:
        print(f"{{name}}\\t{{ttl}}\\tIN\\tA\\t{{address}}")
'''

FAKE_CURL = '''#!{python}
"""The real curl ({curl}) run as from inside the pod: bound to the pod's address (``--interface``),
and a host name in the URL resolved by the pod's resolver (``--resolve``), as curl in the pod would
through CoreDNS. A NetworkPolicy drop is enforced by the fake's listeners (the connection hangs).
When the pod's DNS query is dropped, this prints what curl does when its lookup times out (exit 28,
``Resolving timed out after N milliseconds``; curl lib/hostip.c), without curl's --write-out report."""
''' + _COMMON + '''
args = sys.argv[1:]
url = next((a for a in reversed(args) if a.startswith(("http://", "https://"))), None)
pinned = any(a in ("--connect-to", "--resolve") for a in args)
target = ""
if url is not None:
    parts = urllib.parse.urlsplit(url)
    name = parts.hostname or ""
    literal = name.replace(".", "").isdigit() or ":" in name
    if not literal and not pinned and dns_dropped():  # curl's own lookup gets no answer within --connect-timeout
        wait = float(next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--connect-timeout"), "3"))
        time.sleep(wait)
        sys.stderr.write(f"curl: (28) Resolving timed out after {{int(wait * 1000)}} milliseconds\\n")
        sys.exit(28)
    target = resolve(name) or ""
    if target and target != name and not pinned:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        args = ["--resolve", f"{{name}}:{{port}}:{{target}}", *args]
if "--connect-to" in args:
    target = args[args.index("--connect-to") + 1].split(":")[2]
pod_ip = os.environ.get("FAKE_POD_IP", "")
if pod_ip.startswith("127.") and target.startswith("127."):
    args = ["--interface", pod_ip, *args]
os.execv("{curl}", ["curl", *args])
'''


def can_bind_port_80() -> bool:
    """Whether this process may listen on port 80 (root, or ``ip_unprivileged_port_start`` at most 80):
    the pods of the e2e topology and the canary serve there through the stand-ins."""
    try:
        start = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except OSError:
        start = 1024
    return os.geteuid() == 0 or start <= 80


def install(directory: Path, *, curl: str | None = None) -> Path:
    """Write the stand-ins (``agnhost``, ``nc``, ``dig``, and ``curl`` around the real one when given) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    tools = {"agnhost": FAKE_AGNHOST, "nc": FAKE_NC, "dig": FAKE_DIG}
    if curl is not None:
        tools["curl"] = FAKE_CURL.replace("{curl}", curl)
    for name, text in tools.items():
        (directory / name).write_text(text.format(python=sys.executable))
        (directory / name).chmod(0o755)
    return directory


Admit = Callable[[str, int, str, int], bool]
"""(client ip, client port, server ip, server port) -> whether the fake CNI lets the connection in."""


def hold(conn: socket.socket, stop: threading.Event, seconds: float = 30.0) -> None:
    """What a client of a dropped connection sees, as near as a user-space listener gets: nothing,
    until it gives up (its own timeout), ``seconds`` pass, or the fake shuts down (``stop``)."""
    deadline = time.monotonic() + seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            ready, _, _ = select.select([conn], [], [], 0.1)
            if ready and not conn.recv(4096):
                return
    except OSError:
        return


def reset(conn: socket.socket) -> None:
    """Close with a RST (SO_LINGER 0): what a client sees when the kernel refuses or a peer aborts."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class _Netexec(BaseHTTPRequestHandler):
    """agnhost netexec's HTTP answers (kubernetes test/images/agnhost/netexec/netexec.go: rootHandler,
    hostnameHandler, clientIPHandler)."""

    protocol_version = "HTTP/1.1"
    hostname = ""
    admit: Admit | None = None

    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        admit = type(self).admit
        peer, local = self.client_address, self.connection.getsockname()
        if admit is not None and not admit(peer[0], peer[1], local[0], local[1]):
            hold(self.connection, self.server.stopping)  # type: ignore[attr-defined]
            return
        super().handle()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/hostname":
            body = self.hostname
        elif path == "/clientip":
            body = f"{self.client_address[0]}:{self.client_address[1]}"
        else:
            body = "NOW: 2026-12-02 12:00:00.000000000 +0000 UTC m=+1.0"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _netexec(ip: str, port: int, hostname: str, admit: Admit | None = None) -> ThreadingHTTPServer:
    srv = ThreadingHTTPServer((ip, port), type("Netexec", (_Netexec,), {"hostname": hostname, "admit": staticmethod(admit) if admit else None}))
    srv.daemon_threads = True
    srv.stopping = threading.Event()  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return srv


class ServeHostnameUdp:
    """``agnhost serve-hostname --udp --http=false --port=N`` (kubernetes
    test/images/agnhost/serve-hostname/serve_hostname.go): every datagram is answered with the pod's
    hostname; a datagram the fake CNI drops gets no answer."""

    def __init__(self, ip: str, port: int, hostname: str, admit: Callable[[str, int, str, int], bool] | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.1)
        self.hostname, self.admit, self.stopping = hostname, admit, threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        local = self.sock.getsockname()
        while not self.stopping.is_set():
            try:
                _, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.admit is None or self.admit(peer[0], peer[1], local[0], local[1]):
                self.sock.sendto(self.hostname.encode(), peer)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        self.sock.close()


def pump(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    """Copy bytes both ways between two connected sockets until either side closes."""
    try:
        while not stop.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.1)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return


def stop_netexec(srv: ThreadingHTTPServer | ServeHostnameUdp) -> None:
    if isinstance(srv, ServeHostnameUdp):
        srv.stop()
        return
    srv.stopping.set()  # type: ignore[attr-defined]
    srv.shutdown()
    srv.server_close()


__all__ = ["FAKE_AGNHOST", "FAKE_CURL", "FAKE_DIG", "FAKE_NC", "Admit", "ServeHostnameUdp", "hold", "install", "pump", "reset", "stop_netexec"]
