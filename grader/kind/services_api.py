"""The Services/DNS/Ingress/Gateway part of the Lab API on a real cluster (a mixin of ``LiveLab``).

Same calls, same return types as the simulated cluster (``grader/lab/sim/services_api.py``); the
answers come from the cluster itself:

* ``services`` / ``endpoints`` read Services and EndpointSlices (``grader.kind.views``);
* ``nslookup`` runs ``dig`` in the source pod (``grader.kind.dnsprobe``);
* ``http`` runs curl in the source pod, or Python on the learner's machine for ``host``
  (``grader.kind.webprobe``); ``distribution`` sends N requests to ``/hostname`` and counts the
  pods that named themselves;
* ``address`` / ``status`` read what cloud-provider-kind (or ingress-nginx) wrote to the objects;
* ``set_ready`` flips the readiness probe of a pod (``grader.kind.workloads``), ``scale`` scales a
  Deployment, ``install_ingress_controller`` installs ingress-nginx (``grader.kind.ingress_nginx``);
* ``open_connection`` / ``send`` / ``close_connection`` keep a client process in the source pod
  (``grader.kind.connections``);
* ``attach_nsg`` and friends raise: kind has no Azure NSG (``grader.lab.base``).

Who answered: a pod destination answered itself; behind a Service, an Ingress or a Gateway the
answer only says who it is when the backend tells: agnhost netexec answers ``/hostname`` with the
pod's name (``distribution`` always asks that path). Other paths of netexec answer a timestamp,
so ``answered_by`` stays None there -- ask for ``/hostname`` when a lesson needs to know.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..dns import Lookup
from ..errors import LabError
from ..ingress import CONTROLLERS
from ..lab.base import object_key
from ..manifests import ObjectKey
from ..model import PodRef, Protocol
from ..reachability import Hop, Probe, ProbeResult, Verdict
from ..services import Distribution, EndpointsInfo
from . import connections as conn
from . import dnsprobe, views, webprobe
from .hostnet import l4_probe
from .probing import host_port, parse_clientip
from .workloads import READINESS_ANNOTATION, set_ready_command

if TYPE_CHECKING:
    from ..lab.sim.services_api import IngressStatus, ServiceList

GATEWAY_GROUP = ("gateway.networking.k8s.io", "v1")
SETTLE_TIMEOUT = 45.0
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


def service_ref(text: str) -> tuple[str, str]:
    """``service/ns/name``, ``ns/name``, ``name.ns`` or ``name`` (in default) -> (namespace, name)."""
    text = text.removeprefix("service/").removeprefix("svc/")
    ns, sep, name = text.partition("/")
    if sep:
        return ns, name
    if "." in text:
        name, _, ns = text.partition(".")
        return ns.split(".")[0], name
    return "default", text




def parse_distribution(output: str) -> list[tuple[int, str, str, str]]:
    """(exit code, body, HTTP code / ``udp`` / ``''``, error text) per request line."""
    out = []
    for line in output.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out.append((int(m.group(1)), m.group(2).strip(), m.group(3) or "", m.group(4).strip()))
    return out


def namespace_hint(host: str, source_namespace: str | None) -> str | None:
    """The namespace a Service name points into: ``web.shop[.svc.cluster.local]`` -> shop, ``web`` -> the source's."""
    if "/" in host or ":" in host:
        return None  # a lab name (ns/pod, node:<name>) or an address, not a DNS name
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(labels) == 1:
        return source_namespace
    if len(labels) >= 2 and (len(labels) == 2 or labels[2] == "svc"):
        return labels[1]
    return None


class LiveServicesMixin:
    """Mixed into :class:`grader.kind.lab.LiveLab` (which provides the API clients and ``_exec``)."""

    api: Any
    core: Any
    _client_mod: Any
    owns_cluster: bool = False
    _connections: dict[int, conn.LiveConnection]

    # -- API helpers -------------------------------------------------------------------------
    def _plain(self, obj: Any) -> dict[str, Any]:
        return self.api.sanitize_for_serialization(obj)  # type: ignore[no-any-return]

    def _networking(self) -> Any:
        return self._client_mod.NetworkingV1Api(self.api)

    def _discovery(self) -> Any:
        return self._client_mod.DiscoveryV1Api(self.api)

    def _apps(self) -> Any:
        return self._client_mod.AppsV1Api(self.api)

    def _custom(self) -> Any:
        return self._client_mod.CustomObjectsApi(self.api)

    def _read(self, what: str, call: Any, *args: Any) -> Any:
        from kubernetes.client.rest import ApiException

        try:
            return call(*args)
        except ApiException as exc:
            if exc.status == 404:
                raise LabError(f"no {what}") from None
            raise LabError(f"cannot read {what}: {exc.status} {exc.reason}") from None

    def _slices(self, namespace: str | None = None) -> list[dict[str, Any]]:
        d = self._discovery()
        items = d.list_namespaced_endpoint_slice(namespace).items if namespace else d.list_endpoint_slice_for_all_namespaces().items
        return [self._plain(s) for s in items]

    # -- looking at Services -------------------------------------------------------------------
    def services(self, namespace: str | None = None) -> ServiceList:
        """Services like ``kubectl get svc -A -o wide`` (system ones included), sorted."""
        from ..lab.sim.services_api import ServiceList
        from ..services import ServiceInfo

        items = self.core.list_namespaced_service(namespace).items if namespace else self.core.list_service_for_all_namespaces().items
        slices = self._slices(namespace)
        rows = []
        for item in items:
            svc = views.service_from_api(self._plain(item))
            rows.append(ServiceInfo.of(svc, views.ready_endpoint_count(svc, slices)))
        return ServiceList(tuple(sorted(rows, key=lambda r: (r.namespace, r.name))))

    def endpoints(self, service: str) -> EndpointsInfo:
        """Endpoints of ``ns/name`` from its EndpointSlices, and why selected pods are missing."""
        ns, name = service_ref(service)
        svc = views.service_from_api(self._plain(self._read(f"Service {ns}/{name}", self.core.read_namespaced_service, name, ns)))
        from .lab import _model_pod

        pods = [_model_pod(p) for p in self.core.list_namespaced_pod(ns).items]
        return views.endpoints_info(svc, self._slices(ns), pods)

    # -- DNS -----------------------------------------------------------------------------------
    def nslookup(self, source: str, name: str) -> Lookup:
        """Resolve ``name`` as ``source`` does: the pod's resolv.conf, then ``dig`` for each name
        of its search path. Raises LabError when no DNS reply comes (traffic to port 53 blocked)."""
        if source == "host":
            return self._host_lookup(name)
        src = self._source(source, None)  # type: ignore[attr-defined]
        if not src.running or src.pod is None:
            raise LabError(src.why_not or f"no pod for {source}")
        pod = src.pod
        code, out, err, exec_error = self._exec(pod.namespace, pod.name, src.container, ["cat", "/etc/resolv.conf"])  # type: ignore[attr-defined]
        if code != 0:
            raise LabError(f"cannot read /etc/resolv.conf in {source}: {exec_error or err.strip() or f'exit {code}'}")
        conf = dnsprobe.parse_resolv_conf(out)
        names = dnsprobe.candidates(name, conf)
        code, out, err, exec_error = self._exec(pod.namespace, pod.name, src.container, dnsprobe.dig_command(names), timeout=40)  # type: ignore[attr-defined]
        if code is None:
            raise LabError(f"nslookup in {source} could not run: {exec_error or err.strip()}")
        replies = dnsprobe.parse_dig(out)
        if not replies:
            raise LabError(f"dig printed nothing usable in {source} ({(err or out).strip()[:200] or f'exit {code}'}); does the container have dig?")
        return dnsprobe.lookup_from_dig(name, source, conf, replies, host_network=pod.host_network)

    def _host_lookup(self, name: str) -> Lookup:
        import socket

        from ..dns.resolver import Answer, Rcode, Record

        try:
            infos = socket.getaddrinfo(name.rstrip("."), None, family=socket.AF_INET, type=socket.SOCK_STREAM)
            addresses = sorted({str(i[4][0]) for i in infos})
            answer = Answer(name.rstrip("."), Rcode.NOERROR, tuple(Record(name.rstrip("."), "A", a) for a in addresses), "upstream")
        except socket.gaierror as exc:
            answer = Answer(name.rstrip("."), Rcode.NXDOMAIN, (), "upstream", str(exc.strerror or exc))
        return Lookup(name, "host", "this machine's resolver", (answer,))

    # -- HTTP ----------------------------------------------------------------------------------
    def http(
        self, source: str, url: str, *, host: str | None = None, sni: str | None = None, method: str = "GET",
        headers: Mapping[str, str] | None = None, ca: Any = None, resolve: str | None = None, now: dt.datetime | None = None,
    ) -> ProbeResult:
        """An HTTP(S) request from a pod or node (curl exec'd there) or from ``host`` (this machine)."""
        req = webprobe.plan(url, host=host, sni=sni, method=method, headers=headers, resolve=resolve)
        if isinstance(req, str):
            return ProbeResult(Probe(source, url, None, Protocol.TCP), Verdict.PROBE_FAILED, req)
        probe = Probe(source, url, req.port, Protocol.TCP)
        try:
            req, dst_pod, source_ns = self._http_target(req, source)
            raw, hops = self._http_raw(source, req)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        verdict, reason = webprobe.verdict_of(raw, req, source)
        answered = self._answered_by(raw, req, dst_pod, source_ns) if verdict is Verdict.ALLOWED else None
        http = webprobe.exchange(raw, req, ca=ca, now=now, served_by=answered or "")
        if http is not None and http.certificate_trusted is False:
            reason += f"\nthe client would reject the certificate: {http.trust_reason} (curl without -k fails here)"
        client_ip = parse_clientip(raw.body) if verdict is Verdict.ALLOWED and req.path.split("?")[0] == "/clientip" else None
        return ProbeResult(probe, verdict, reason, answered_by=answered, client_ip=client_ip, hops=hops, http=http)

    def _http_target(self, req: webprobe.HttpRequest, source: str) -> tuple[webprobe.HttpRequest, Any, str | None]:
        """Map lab names in the URL/resolve (``ns/pod``, ``node:<name>``) to addresses."""
        from dataclasses import replace

        dst_pod = None
        target = req.connect_host
        if target.startswith("node:") or ("/" in target and not target.startswith("[")):
            address, dst_pod, why = self._destination(target, None)  # type: ignore[attr-defined]
            if address is None:
                raise LabError(why)
            req = replace(req, connect_host=address)
        else:
            dst_pod = self._pod_at(target)
        source_ns = source.split("/", 1)[0] if "/" in source and not source.startswith("node:") else None
        return req, dst_pod, source_ns

    def _pod_at(self, address: str) -> Any:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return None
        from .lab import _model_pod

        for p in self._snapshot().values():  # type: ignore[attr-defined]
            if p.status and p.status.pod_ip == address and not p.spec.host_network:
                return _model_pod(p)
        return None

    def _http_raw(self, source: str, req: webprobe.HttpRequest) -> tuple[webprobe.RawHttp, tuple[Hop, ...]]:
        if source == "host":
            raw = webprobe.host_request(req)
            note = ""
            if raw.outcome in (webprobe.Outcome.TIMEOUT, webprobe.Outcome.UNREACHABLE):
                from .hostnet import docker_desktop_note

                note = docker_desktop_note(req.connect_host)
            return (webprobe.RawHttp(raw.outcome, raw.message + note, raw.status, raw.headers, raw.body, raw.remote_ip, raw.chain) if note else raw,
                    (Hop("probe", f"host: {req.method} {req.url} (Python http.client, connecting to {req.connect_host}:{req.port})"),))
        src = self._source(source, None)  # type: ignore[attr-defined]
        if not src.running or src.pod is None:
            raise LabError(src.why_not or f"no pod for {source}")
        command = webprobe.curl_command(req)
        code, out, err, exec_error = self._exec(src.pod.namespace, src.pod.name, src.container, command)  # type: ignore[attr-defined]
        shown = " ".join(a for a in command if not a.startswith(r"\n@@netlab"))
        return webprobe.parse_curl(code, out, err, exec_error), (Hop("probe", f"{source}: {shown}"),)

    def _answered_by(self, raw: webprobe.RawHttp, req: webprobe.HttpRequest, dst_pod: Any, source_ns: str | None) -> str | None:
        """The pod that answered: the one that named itself in the body (netexec /hostname), else a pod destination."""
        body = raw.body.strip()
        if body and len(body) < 254 and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", body):
            # a short Service name points into the source's namespace (namespace_hint); any other name
            # or address says nothing about where the backend lives
            hints = [h for h in (namespace_hint(req.hostname, source_ns), dst_pod.namespace if dst_pod else None) if h]
            who = self._pod_named(body, hints)
            if who is not None:
                return who
        if dst_pod is not None:
            return str(dst_pod.ref)
        return None

    _name_cache: dict[tuple[str, tuple[str, ...]], str | None] | None = None
    """Set while ``distribution`` runs: the same few names answer every request."""

    def _pod_named(self, hostname: str, hints: Sequence[str]) -> str | None:
        cache = self._name_cache
        if cache is not None:
            key = (hostname, tuple(hints))
            if key not in cache:
                cache[key] = self._find_pod_named(hostname, hints)
            return cache[key]
        return self._find_pod_named(hostname, hints)

    def _find_pod_named(self, hostname: str, hints: Sequence[str]) -> str | None:
        """The pod whose hostname (its name) a server answered. Pod names repeat across namespaces
        (the e2e topology has x/a, y/a, z/a): the namespace hints decide first, then which of them
        is a ready endpoint of some Service (an answer through a Service, Ingress or Gateway came
        from one); None when that still leaves several."""
        names = sorted({ref for ref in self._snapshot() if ref.split("/", 1)[1] == hostname})  # type: ignore[attr-defined]
        if getattr(self, "owns_default", False):
            names += [f"default/{p.metadata.name}" for p in self.core.list_namespaced_pod("default").items if p.metadata.name == hostname]
        for ns in hints:
            if f"{ns}/{hostname}" in names:
                return f"{ns}/{hostname}"
        if len(names) > 1:
            endpoints = {f"{(ep.get('targetRef') or {}).get('namespace') or (s.get('metadata') or {}).get('namespace')}/{(ep.get('targetRef') or {}).get('name')}"
                         for s in self._slices() for ep in s.get("endpoints") or [] if (ep.get("conditions") or {}).get("ready") is not False}
            names = [n for n in names if n in endpoints] or names
        return names[0] if len(names) == 1 else None

    # -- load balancing ------------------------------------------------------------------------------
    def distribution(
        self, source: str, destination: str, port: int | str | None = None, *, requests: int = 100,
        protocol: Protocol | str = Protocol.TCP, host: str | None = None, resolve: str | None = None,
    ) -> Distribution:
        """``requests`` new connections, each asking the server who it is (HTTP ``/hostname`` for TCP,
        the datagram ``hostname`` for UDP): how often each pod answered. A URL destination is
        requested as given (use a path the backends answer with their name, e.g. ``/hostname``)."""
        if requests < 1:
            raise LabError("requests must be at least 1")
        self._name_cache = {}
        try:
            return self._distribution(source, destination, port, requests, Protocol.parse(protocol), host, resolve)
        finally:
            self._name_cache = None

    def _distribution(self, source: str, destination: str, port: int | str | None, requests: int, proto: Protocol,
                      host: str | None, resolve: str | None) -> Distribution:
        if destination.startswith(("http://", "https://")):
            req = webprobe.plan(destination, host=host, resolve=resolve)
        else:
            if proto is Protocol.SCTP:
                raise LabError("distribution over SCTP is not supported on a real cluster (agnhost's SCTP server does not name itself)")
            target, number = self._l4_target(destination, port)
            if proto is Protocol.UDP:
                return self._udp_distribution(source, destination, target, number, requests)
            req = webprobe.plan(f"http://{host_port(target, number)}/hostname", host=host, resolve=resolve)
        if isinstance(req, str):
            raise LabError(req)
        req, dst_pod, source_ns = self._http_target(req, source)
        answers: list[str | None] = []
        verdicts: list[str] = []
        if source == "host":
            for _ in range(requests):
                raw = webprobe.host_request(req, timeout=3.0)
                self._count(raw, req, source, dst_pod, source_ns, answers, verdicts)
            return Distribution.count(source, destination, answers, verdicts)
        src = self._source(source, None)  # type: ignore[attr-defined]
        if not src.running or src.pod is None:
            raise LabError(src.why_not or f"no pod for {source}")
        curl = ["curl", "-sS", "-v", "-k", "--max-time", "3", "--connect-timeout", "2", "-o", "-", "-w", " @@%{http_code}", "-H", f"Host: {req.host_header}"]
        if req.url_name != req.connect_host:
            curl += ["--connect-to", f"{req.url_name}:{req.port}:{req.connect_host}:{req.port}"]
        curl.append(f"{req.scheme}://{host_port(req.url_name, req.port)}{req.path}")
        script = ["/bin/sh", "-c", DIST_TCP_SCRIPT, "sh", str(requests), *curl]
        code, out, err, exec_error = self._exec(src.pod.namespace, src.pod.name, src.container, script, timeout=30 + 4 * requests)  # type: ignore[attr-defined]
        if code is None:
            raise LabError(f"distribution from {source} could not run: {exec_error or err.strip()}")
        for rc, text, status, error in parse_distribution(out):
            if rc == 0 and status.isdigit():
                raw = webprobe.RawHttp(webprobe.Outcome.OK, "", int(status), (), text)
            else:
                raw = webprobe.RawHttp(webprobe.curl_outcome(rc, error), error or f"curl exit {rc}")
            self._count(raw, req, source, dst_pod, source_ns, answers, verdicts)
        if not answers:
            raise LabError(f"distribution from {source}: the loop printed nothing usable ({(err or out).strip()[:200]})")
        return Distribution.count(source, destination, answers, verdicts)

    def _count(self, raw: webprobe.RawHttp, req: webprobe.HttpRequest, source: str, dst_pod: Any, source_ns: str | None,
               answers: list[str | None], verdicts: list[str]) -> None:
        verdict, _ = webprobe.verdict_of(raw, req, source)
        if verdict is Verdict.ALLOWED and raw.status is not None and raw.status < 500:
            who = self._answered_by(raw, req, dst_pod, source_ns)
            answers.append(who)
            verdicts.append(f"HTTP {raw.status}" + ("" if who else " (the server did not name itself)"))
        else:
            answers.append(None)
            verdicts.append(f"HTTP {raw.status}" if verdict is Verdict.ALLOWED else verdict.value)

    def _l4_target(self, destination: str, port: int | str | None) -> tuple[str, int]:
        dest, number = destination, port
        m = re.fullmatch(r"node:([^:]+):(\d+)", destination)
        if m:
            dest, number = f"node:{m.group(1)}", int(m.group(2))
        if dest.startswith("node:") or "/" in dest:
            address, _, why = self._destination(dest, None)  # type: ignore[attr-defined]
            if address is None:
                raise LabError(why)
            dest = address
        if number is None:
            raise LabError(f"name the port to send requests to on {destination}")
        if isinstance(number, str) and not number.isdigit():
            raise LabError(f"port {number!r}: distribution needs a port number on a real cluster")
        return dest, int(number)

    def _udp_distribution(self, source: str, destination: str, target: str, port: int, requests: int) -> Distribution:
        answers: list[str | None] = []
        verdicts: list[str] = []
        source_ns = source.split("/", 1)[0] if "/" in source and not source.startswith("node:") else None
        hints = [h for h in (namespace_hint(target, source_ns),) if h]
        if source == "host":
            for _ in range(requests):
                verdict, _, reply = l4_probe(target, port, Protocol.UDP)
                who = self._pod_named(reply.strip(), hints) if reply.strip() else None
                answers.append(who)
                verdicts.append(verdict.value)
            return Distribution.count(source, destination, answers, verdicts)
        src = self._source(source, None)  # type: ignore[attr-defined]
        if not src.running or src.pod is None:
            raise LabError(src.why_not or f"no pod for {source}")
        script = ["/bin/sh", "-c", DIST_UDP_SCRIPT, "sh", str(requests), target, str(port)]
        code, out, err, exec_error = self._exec(src.pod.namespace, src.pod.name, src.container, script, timeout=30 + requests)  # type: ignore[attr-defined]
        if code is None:
            raise LabError(f"distribution from {source} could not run: {exec_error or err.strip()}")
        for _, text, _, _ in parse_distribution(out):
            low = text.lower()
            who = self._pod_named(text.split()[0], hints) if text.split() and "nc:" not in low else None
            answers.append(who)
            verdicts.append(Verdict.ALLOWED.value if who else (Verdict.REFUSED.value if "refused" in low else Verdict.BLOCKED.value))
        return Distribution.count(source, destination, answers, verdicts)

    # -- changing workloads --------------------------------------------------------------------------
    def set_ready(self, pod: str, ready: bool = True) -> None:
        """Make a pod pass or fail its readiness probe (the marker file its exec probe tests, see
        ``grader.kind.workloads``); returns once the pod's Ready condition and its EndpointSlices agree."""
        ref = PodRef.parse(pod)
        owned = self._owned()  # type: ignore[attr-defined]
        if not self._may_touch(ref.namespace, owned):  # type: ignore[attr-defined]
            raise LabError(self._refusal(ref.namespace))  # type: ignore[attr-defined]
        p = self._read(f"pod {pod}", self.core.read_namespaced_pod, ref.name, ref.namespace)
        container = (p.metadata.annotations or {}).get(READINESS_ANNOTATION)
        if not container:
            raise LabError(
                f"pod {pod} has no netlab readiness probe, so the lab cannot make it fail one: topology pods have it, and so do "
                "containers written as `image: agnhost` (the course's server shorthand); other images decide their own readiness"
            )
        code, _, err, exec_error = self._exec(ref.namespace, ref.name, container, set_ready_command(ready))  # type: ignore[attr-defined]
        if code != 0:
            raise LabError(f"could not change the readiness of {pod}: {exec_error or err.strip() or f'exit {code}'}")
        self._settle_readiness(ref, ready)

    def _settle_readiness(self, ref: PodRef, ready: bool, timeout: float = SETTLE_TIMEOUT) -> None:
        from .lab import _pod_state

        deadline = time.monotonic() + timeout
        while True:
            p = self.core.read_namespaced_pod(ref.name, ref.namespace)
            pod_ok = _pod_state(p)[0] is ready
            slices_ok = True
            for s in self._slices(ref.namespace):
                for ep in s.get("endpoints") or []:
                    target = ep.get("targetRef") or {}
                    if target.get("kind") == "Pod" and target.get("name") == ref.name:
                        slices_ok &= ((ep.get("conditions") or {}).get("ready") is not False) is ready
            if pod_ok and slices_ok:
                return
            if time.monotonic() > deadline:
                raise LabError(f"{ref} did not become {'ready' if ready else 'not ready'} in its EndpointSlices within {timeout:.0f}s")
            time.sleep(0.5)

    def scale(self, deployment: str, replicas: int) -> list[str]:
        """``kubectl scale deployment/<ns>/<name> --replicas=N``; waits for the new pods; returns the Deployment's pods."""
        if replicas < 0:
            raise LabError("replicas must be 0 or more")
        text = deployment.removeprefix("deployment/").removeprefix("deploy/")
        ns, sep, name = text.partition("/")
        if not sep:
            ns, name = "default", text
        owned = self._owned()  # type: ignore[attr-defined]
        if not self._may_touch(ns, owned):  # type: ignore[attr-defined]
            raise LabError(self._refusal(ns))  # type: ignore[attr-defined]
        apps = self._apps()
        dep = self._read(f"Deployment {ns}/{name}", apps.read_namespaced_deployment, name, ns)
        selector = ",".join(f"{k}={v}" for k, v in sorted((dep.spec.selector.match_labels or {}).items()))
        before = {p.metadata.name for p in self.core.list_namespaced_pod(ns, label_selector=selector).items}
        apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": replicas}})
        from .lab import _pod_state

        deadline = time.monotonic() + 180
        while True:
            live = [p for p in self.core.list_namespaced_pod(ns, label_selector=selector).items if p.metadata.deletion_timestamp is None]
            fresh_ready = all(_pod_state(p)[0] for p in live if p.metadata.name not in before)
            if len(live) == replicas and fresh_ready:
                return sorted(f"{ns}/{p.metadata.name}" for p in live)
            if time.monotonic() > deadline:
                raise LabError(f"Deployment {ns}/{name} has {len(live)} pod(s), not {replicas}, after 180s (kubectl describe deployment shows why)")
            time.sleep(1)

    # -- ingress controllers ------------------------------------------------------------------------
    def install_ingress_controller(self, name: str = "ingress-nginx", *, default: bool = False) -> str:
        """``cloud-provider-kind`` runs with every course cluster (its IngressClass is the default);
        ``ingress-nginx`` installs the final release's kind manifest (``grader.kind.ingress_nginx``)."""
        if name not in CONTROLLERS:
            raise LabError(f"unknown ingress controller {name!r}; choose one of: {', '.join(CONTROLLERS)}")
        if not self.owns_cluster:
            raise LabError("installing an ingress controller changes cluster-wide objects (IngressClass, RBAC, webhooks); "
                           "the lab only does that on its own kind clusters, not on a cluster you brought")
        ctl = CONTROLLERS[name]
        net = self._networking()
        if name == "ingress-nginx":
            self._install_ingress_nginx()
        else:
            self._read(f"IngressClass {ctl.class_name} (cloud-provider-kind creates it when it runs: `netlab up` starts it)",
                       net.read_ingress_class, ctl.class_name)
        if default:
            for cls in net.list_ingress_class().items:
                value = "true" if cls.metadata.name == ctl.class_name else None
                if ((cls.metadata.annotations or {}).get("ingressclass.kubernetes.io/is-default-class") == "true") != (value == "true"):
                    net.patch_ingress_class(cls.metadata.name, {"metadata": {"annotations": {"ingressclass.kubernetes.io/is-default-class": value}}},
                                            _content_type="application/merge-patch+json")
        return ctl.class_name

    def _install_ingress_nginx(self, timeout: float = 300.0) -> None:
        from . import ingress_nginx as nginx
        from .lab import _pod_state

        self._say(nginx.retirement_notice())  # type: ignore[attr-defined]
        docs = nginx.prepare(nginx.parse(nginx.download()), self.control_plane or "")  # type: ignore[attr-defined]
        for doc in docs:
            self._ssa(doc)  # type: ignore[attr-defined]
        batch = self._client_mod.BatchV1Api(self.api)
        deadline = time.monotonic() + timeout
        while True:
            pods = self.core.list_namespaced_pod(nginx.NAMESPACE, label_selector=nginx.CONTROLLER_SELECTOR).items
            ready = any(_pod_state(p)[0] for p in pods)
            jobs_done = True
            for job in nginx.ADMISSION_JOBS:
                try:
                    jobs_done &= bool(batch.read_namespaced_job(job, nginx.NAMESPACE).status.succeeded)
                except Exception:  # a finished Job may have been cleaned up already
                    pass
            if ready and jobs_done:
                return
            if time.monotonic() > deadline:
                raise LabError(f"ingress-nginx was not ready after {timeout:.0f}s (kubectl -n {nginx.NAMESPACE} get pods shows why)")
            time.sleep(2)

    def install_gateway_class(self, name: str = "approuting-istio") -> str:
        """``approuting-istio``: upstream Istio (Helm) and the GatewayClass, as ``grader.kind.gateway_istio`` describes."""
        from . import gateway_istio
        from ._run import _run

        if name != gateway_istio.CLASS_NAME:
            raise LabError(f"unknown Gateway API implementation {name!r} to install; choose: {gateway_istio.CLASS_NAME} "
                           "(cloud-provider-kind's class is there already)")
        if not self.owns_cluster:
            raise LabError("installing Istio changes cluster-wide objects; the lab only does that on its own kind clusters")
        self._say(gateway_istio.install_notice())  # type: ignore[attr-defined]
        for argv in gateway_istio.helm_argv(str(self.kubeconfig)):  # type: ignore[attr-defined]
            _run(argv, timeout=660)
        self._ssa(gateway_istio.gateway_class())  # type: ignore[attr-defined]
        return gateway_istio.CLASS_NAME

    # -- addresses and status ------------------------------------------------------------------------
    def address(self, what: str) -> str | None:
        """External address of ``service/``, ``ingress/`` or ``gateway/<ns>/<name>`` as its controller
        published it (None while pending, as kubectl shows ``<pending>``)."""
        key = object_key(what)
        ref = f"{key.namespace}/{key.name}"
        if key.kind == "Service":
            return views.lb_address(self._plain(self._read(f"Service {ref}", self.core.read_namespaced_service, key.name, key.namespace)).get("status"))
        if key.kind == "Ingress":
            ing = self._plain(self._read(f"Ingress {ref}", self._networking().read_namespaced_ingress, key.name, key.namespace))
            return views.lb_address(ing.get("status"))
        if key.kind == "Gateway":
            gw = self._gateway_object("gateways", key)
            return views.gateway_status(gw).addresses[0] if views.gateway_status(gw).addresses else None
        raise LabError(f"{what!r} has no address: ask for a service/, ingress/ or gateway/")

    def _gateway_object(self, plural: str, key: ObjectKey) -> dict[str, Any]:
        custom = self._custom()
        kind = {"gateways": "Gateway", "httproutes": "HTTPRoute", "gatewayclasses": "GatewayClass"}[plural]
        ref = key.name if not key.namespace else f"{key.namespace}/{key.name}"
        if plural == "gatewayclasses":
            return self._read(f"{kind} {ref}", custom.get_cluster_custom_object, *GATEWAY_GROUP, plural, key.name)  # type: ignore[no-any-return]
        return self._read(f"{kind} {ref}", custom.get_namespaced_custom_object, *GATEWAY_GROUP, key.namespace, plural, key.name)  # type: ignore[no-any-return]

    def status(self, what: str) -> Any:
        """The conditions the controllers wrote: ``httproute/``, ``gateway/``, ``gatewayclass/``, ``ingress/``."""
        key = object_key(what)
        if key.kind == "HTTPRoute":
            return views.route_status(self._gateway_object("httproutes", key))
        if key.kind == "Gateway":
            return views.gateway_status(self._gateway_object("gateways", key))
        if key.kind == "GatewayClass":
            return views.class_status(self._gateway_object("gatewayclasses", key))
        if key.kind == "Ingress":
            return self.ingress_status(f"{key.namespace}/{key.name}")
        raise LabError(f"no status for kind {key.kind}: ask for httproute/, gateway/, gatewayclass/ or ingress/")

    def ingress_status(self, ref: str) -> IngressStatus:
        ns, _, name = ref.partition("/")
        net = self._networking()
        ing = self._plain(self._read(f"Ingress {ref}", net.read_namespaced_ingress, name, ns))
        classes = [self._plain(c) for c in net.list_ingress_class().items]
        return views.ingress_status(ing, classes)  # type: ignore[no-any-return]

    # -- long-lived connections ---------------------------------------------------------------------
    def open_connection(self, source: str, destination: str, port: int | str | None = None, protocol: Protocol | str = Protocol.TCP) -> conn.LiveConnection:
        """Start a client process in ``source`` that holds one connection open (see ``grader.kind.connections``)."""
        proto = Protocol.parse(protocol)
        probe = Probe(source, destination, port, proto)
        if proto is Protocol.SCTP:
            raise LabError("open_connection supports TCP and UDP on a real cluster")
        if source == "host":
            raise LabError("open_connection starts from a pod or a node on a real cluster (the client process lives there)")
        src = self._source(source, None)  # type: ignore[attr-defined]
        if not src.running or src.pod is None:
            raise LabError(src.why_not or f"no pod for {source}")
        if not hasattr(self, "_connections"):
            self._connections = {}
        target, number = self._l4_target(destination, port if port is not None else self._default_port(destination, proto))
        conn_id = max(self._connections, default=0) + 1
        prefix = conn.prefix_for(conn_id)
        pod = src.pod
        code, _, err, exec_error = self._exec(pod.namespace, pod.name, src.container, conn.start_command(prefix, target, number, proto))  # type: ignore[attr-defined]
        if code != 0:
            raise LabError(f"could not start the client process in {source}: {exec_error or err.strip() or f'exit {code}'}")
        pending = conn.LiveConnection(conn_id, probe, ProbeResult(probe, Verdict.UNKNOWN, "opening"), str(pod.ref), src.container, prefix, target, number)
        first = self._send(pending, first=True)
        opened = conn.LiveConnection(conn_id, probe, first, str(pod.ref), src.container, prefix, target, number)
        self._connections[conn_id] = opened
        return opened

    def _default_port(self, destination: str, proto: Protocol) -> int | None:
        if "/" in destination and not destination.startswith("node:"):
            _, pod, _ = self._destination(destination, None)  # type: ignore[attr-defined]
            return self._port(pod, None, proto)  # type: ignore[attr-defined, no-any-return]
        return None

    def _get_connection(self, connection: Any) -> conn.LiveConnection:
        key = connection.id if isinstance(connection, conn.LiveConnection) else int(connection)
        found = getattr(self, "_connections", {}).get(key)
        if found is None:
            raise LabError(f"no open connection #{key}")
        return found

    def send(self, connection: Any) -> ProbeResult:
        """Send a request on an open connection and say whether an answer came back on it."""
        c = self._get_connection(connection)
        if not c.established:
            return ProbeResult(c.probe, Verdict.PROBE_FAILED, f"connection #{c.id} was never established ({c.result.verdict.name})")
        return self._send(c, first=False)

    def _send(self, c: conn.LiveConnection, *, first: bool) -> ProbeResult:
        ns, name = c.pod.split("/", 1)
        code, out, err, exec_error = self._exec(ns, name, c.container, conn.send_command(c.prefix, c.host, c.probe.protocol, first=first), timeout=conn.SEND_TIMEOUT + 15)  # type: ignore[attr-defined]
        if code is None:
            return ProbeResult(c.probe, Verdict.PROBE_FAILED, f"connection #{c.id}: could not reach the client process ({exec_error or err.strip()})")
        outcome = conn.parse_send(out, c.probe.protocol, first=first)
        dest = c.probe.destination
        dest_ns = dest.split("/", 1)[0] if "/" in dest and not dest.startswith("node:") else None
        hints = [h for h in (namespace_hint(dest, ns), dest_ns) if h]
        who = self._pod_named(outcome.hostname, hints) if outcome.hostname else None
        hops = (Hop("connection", f"#{c.id}: {c.pod} → {host_port(c.host, c.port)}/{c.probe.protocol} held by a client process in the pod"),)
        return ProbeResult(c.probe, outcome.verdict, f"connection #{c.id}: {outcome.reason}", answered_by=who, hops=hops)

    def close_connection(self, connection: Any) -> None:
        c = self._get_connection(connection)
        ns, name = c.pod.split("/", 1)
        self._exec(ns, name, c.container, conn.close_command(c.prefix))  # type: ignore[attr-defined]
        del self._connections[c.id]

    def connections(self) -> list[conn.LiveConnection]:
        return [self._connections[k] for k in sorted(getattr(self, "_connections", {}))]


__all__ = ["LiveServicesMixin", "namespace_hint", "parse_distribution", "service_ref"]
