"""The Services/DNS/Ingress/Gateway part of the Lab API on a real cluster (composed into ``LiveLab``).

Same calls, same return types (``grader/lab/results.py``) as the simulated cluster; the answers
come from the cluster itself:

* ``services`` / ``endpoints`` read Services and EndpointSlices (``grader.kind.views``);
* ``nslookup`` runs ``dig`` in the source pod (``grader.kind.dnsprobe``);
* ``http`` runs curl in the source pod, or Python on the learner's machine for ``host``
  (``grader.kind.webprobe``); ``distribution`` sends N requests to ``/hostname`` and counts the
  pods that named themselves;
* ``set_ready`` flips the readiness probe of a pod (``grader.kind.workloads``), ``scale`` scales a
  Deployment;
* ``address`` / ``status`` / ``install_ingress_controller``: ``grader.kind.controllers_api``;
* ``open_connection`` / ``send`` / ``close_connection`` keep a client process in the source pod
  (``grader.kind.live_connections``);
* ``attach_nsg`` and friends raise: kind has no Azure NSG (``grader.kind.lab``).

Who answered: a pod destination answered itself; behind a Service, an Ingress or a Gateway the
answer only says who it is when the backend tells: agnhost netexec answers ``/hostname`` with the
pod's name (``distribution`` always asks that path). Other paths of netexec answer a timestamp,
so ``answered_by`` stays None there -- ask for ``/hostname`` when a lesson needs to know.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..dns import Lookup
from ..errors import LabError
from ..lab.refs import ref_key
from ..lab.results import ServiceList
from ..model import PodRef, Protocol
from ..model.services import Service
from ..reachability import Hop, Probe, ProbeResult, Verdict
from ..reachability.commands import Command, external_container, host_port, in_container, in_pod
from ..reachability.endpoints import (
    HOST,
    Address,
    DnsName,
    ExternalName,
    NodeName,
    NodePort,
    PodName,
    pod_namespace,
    try_parse,
)
from ..services import Distribution, EndpointsInfo
from . import dnsprobe, views, webprobe
from .apply import Applier
from .external_api import Outside
from .hostnet import l4_probe
from .kubeapi import Exec, KubeApi, model_pod, pod_state
from .probe import Prober
from .probing import parse_clientip
from .webprobe import DIST_TCP_SCRIPT, DIST_UDP_SCRIPT, parse_distribution
from .workloads import READINESS_ANNOTATION, set_ready_command

SETTLE_TIMEOUT = 45.0
def service_ref(text: str) -> tuple[str, str]:
    """``service/ns/name``, ``ns/name``, ``name.ns`` or ``name`` (in default) -> (namespace, name)."""
    key = ref_key("Service", text)
    return key.namespace, key.name


def namespace_hint(host: str, source_namespace: str | None) -> str | None:
    """The namespace a Service name points into: ``web.shop[.svc.cluster.local]`` -> shop, ``web`` -> the source's."""
    parsed = try_parse(host)
    if not isinstance(parsed, DnsName | ExternalName):
        return None  # a lab name (ns/pod, node:<name>) or an address, not a DNS name
    labels = parsed.labels if isinstance(parsed, DnsName) else (parsed.name,)
    if len(labels) == 1:
        return source_namespace
    if len(labels) >= 2 and (len(labels) == 2 or labels[2] == "svc"):
        return labels[1]
    return None


class LiveServices:
    """The Services/DNS/HTTP calls on a real cluster. Declared collaborators: the API handle, the
    :class:`~grader.kind.apply.Applier` (ownership), the :class:`~grader.kind.probe.Prober`
    (sources, destinations, the pod snapshot), an ``exec`` callable and the outside machines."""

    def __init__(self, kube: KubeApi, applier: Applier, prober: Prober, exec_: Exec, outside: Outside) -> None:
        self.kube = kube
        self.applier = applier
        self.prober = prober
        self.exec = exec_
        self.outside = outside
        self._name_cache: dict[tuple[str, tuple[str, ...]], str | None] | None = None
        """Set while ``distribution`` runs: the same few names answer every request."""

    # -- looking at Services -------------------------------------------------------------------
    def services(self, namespace: str | None = None) -> ServiceList:
        """Services like ``kubectl get svc -A -o wide`` (system ones included), sorted."""
        from ..services import ServiceInfo

        items = self.kube.core.list_namespaced_service(namespace).items if namespace else self.kube.core.list_service_for_all_namespaces().items
        slices = self.kube.slices(namespace)
        rows = []
        for item in items:
            svc = views.service_from_api(self.kube.plain(item))
            rows.append(ServiceInfo.of(svc, views.ready_endpoint_count(svc, slices)))
        return ServiceList(tuple(sorted(rows, key=lambda r: (r.namespace, r.name))))

    def service(self, service: str) -> Service:
        """The Service ``service/<ns>/<name>`` (or ``ns/name``, ``name.ns``) as the model reads it."""
        key = ref_key("Service", service)
        return views.service_from_api(self.kube.plain(self.kube.read(str(key), self.kube.core.read_namespaced_service, key.name, key.namespace)))

    def endpoints(self, service: str) -> EndpointsInfo:
        """Endpoints of ``ns/name`` from its EndpointSlices, and why selected pods are missing."""
        svc = self.service(service)
        pods = [model_pod(p) for p in self.kube.core.list_namespaced_pod(svc.namespace).items]
        return views.endpoints_info(svc, self.kube.slices(svc.namespace), pods)

    # -- DNS -----------------------------------------------------------------------------------
    def nslookup(self, source: str, name: str) -> Lookup:
        """Resolve ``name`` as ``source`` does: the pod's resolv.conf, then ``dig`` for each name
        of its search path. Raises LabError when no DNS reply comes (traffic to port 53 blocked)."""
        if source == HOST:
            return self._host_lookup(name)
        src = self.prober.running_source(source)
        pod = src.pod
        code, out, err, exec_error = self.exec(pod.namespace, pod.name, src.container, ["cat", "/etc/resolv.conf"])
        if code != 0:
            raise LabError(f"cannot read /etc/resolv.conf in {source}: {exec_error or err.strip() or f'exit {code}'}")
        conf = dnsprobe.parse_resolv_conf(out)
        names = dnsprobe.candidates(name, conf)
        command = in_pod(dnsprobe.lookup_command(name, names), pod.namespace, pod.name)
        code, out, err, exec_error = self.exec(pod.namespace, pod.name, src.container, list(command.argv), timeout=40)
        if code is None:
            raise LabError(f"nslookup in {source} could not run: {exec_error or err.strip()}")
        replies = dnsprobe.parse_dig(out)
        if not replies:
            raise LabError(f"dig printed nothing usable in {source} ({(err or out).strip()[:200] or f'exit {code}'}); does the container have dig?")
        found = dnsprobe.lookup_from_dig(name, source, conf, replies, host_network=pod.host_network)
        return replace(found, command=command.line())

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
            raw, hops, command = self._http_raw(source, req)
        except LabError as exc:
            return ProbeResult(probe, Verdict.PROBE_FAILED, str(exc))
        verdict, reason = webprobe.verdict_of(raw, req, source, reach=self.prober.host_reach() if source == HOST else None)
        answered = self._answered_by(raw, req, dst_pod, source_ns) if verdict is Verdict.ALLOWED else None
        http = webprobe.exchange(raw, req, ca=ca, now=now, served_by=answered or "")
        if http is not None and http.certificate_trusted is False:
            reason += f"\nthe client would reject the certificate: {http.trust_reason} (curl without -k fails here)"
        client_ip = parse_clientip(raw.body) if verdict is Verdict.ALLOWED and req.path.split("?")[0] == "/clientip" else None
        return ProbeResult(probe, verdict, reason, answered_by=answered, client_ip=client_ip, hops=hops, http=http, command=command)

    def _http_target(self, req: webprobe.HttpRequest, source: str) -> tuple[webprobe.HttpRequest, Any, str | None]:
        """Map lab names in the URL/resolve (``ns/pod``, ``node:<name>``, the outside machines) to addresses."""
        why = self.outside.internet_source(source)
        if why is not None:
            raise LabError(why)
        outside = self.outside.target(source, req.connect_host)
        if outside != req.connect_host:
            req = replace(req, connect_host=outside)  # curl --connect-to: the URL's name stays for Host and SNI
        self.outside.sync_routes(source, req.hostname, outside)
        dst_pod = None
        target = req.connect_host
        if isinstance(try_parse(target), NodeName | NodePort | PodName):
            address, dst_pod, why = self.prober.destination(target, None)
            if address is None:
                raise LabError(why)
            req = replace(req, connect_host=address)
        else:
            dst_pod = self._pod_at(target)
        return req, dst_pod, pod_namespace(source)

    def _pod_at(self, address: str) -> Any:
        if not isinstance(try_parse(address), Address):
            return None

        for p in self.prober.snapshot().values():
            if p.status and p.status.pod_ip == address and not p.spec.host_network:
                return model_pod(p)
        return None

    def _http_raw(self, source: str, req: webprobe.HttpRequest) -> tuple[webprobe.RawHttp, tuple[Hop, ...], Command]:
        """What the client saw, the hops, and the command that ran (the argv exec'd, as ``result.command`` shows it)."""
        curl = webprobe.curl_for(req)
        if self.outside.runs(source):
            command = list(curl.argv)
            code, out, err, error = self.outside.exec(command, webprobe.DEFAULT_TIMEOUT + 15)
            shown = " ".join(a for a in command if not a.startswith(r"\n@@netlab"))
            return (webprobe.parse_curl(code, out, err, error), (Hop("probe", f"{source}: {shown} (docker exec in its container)"),),
                    in_container(curl, external_container(source)))
        if source == HOST:
            raw = webprobe.host_request(req)
            note = ""
            if raw.outcome in (webprobe.Outcome.TIMEOUT, webprobe.Outcome.UNREACHABLE):
                from .hostnet import docker_desktop_note

                note = docker_desktop_note(req.connect_host)
            # This machine makes the request with Python (``webprobe.host_request``); the command shown is the
            # curl that does the same from a terminal here, as the simulated cluster shows it.
            return (webprobe.RawHttp(raw.outcome, raw.message + note, raw.status, raw.headers, raw.body, raw.remote_ip, raw.chain) if note else raw,
                    (Hop("probe", f"host: {req.method} {req.url} (Python http.client, connecting to {req.connect_host}:{req.port})"),), curl)
        src = self.prober.running_source(source)
        command = list(curl.argv)
        code, out, err, exec_error = self.exec(src.pod.namespace, src.pod.name, src.container, command)
        shown = " ".join(a for a in command if not a.startswith(r"\n@@netlab"))
        return webprobe.parse_curl(code, out, err, exec_error), (Hop("probe", f"{source}: {shown}"),), in_pod(curl, src.pod.namespace, src.pod.name)

    def _answered_by(self, raw: webprobe.RawHttp, req: webprobe.HttpRequest, dst_pod: Any, source_ns: str | None) -> str | None:
        """The pod that answered: the one that named itself in the body (netexec /hostname), else a pod destination."""
        body = raw.body.strip()
        if body and len(body) < 254 and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", body):
            # a short Service name points into the source's namespace (namespace_hint); any other name
            # or address says nothing about where the backend lives
            hints = [h for h in (namespace_hint(req.hostname, source_ns), dst_pod.namespace if dst_pod else None) if h]
            who = self.pod_named(body, hints)
            if who is not None:
                return who
        if dst_pod is not None:
            return str(dst_pod.ref)
        return self.outside.label_of((raw.remote_ip, req.connect_host, req.hostname))

    def pod_named(self, hostname: str, hints: Sequence[str]) -> str | None:
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
        names = sorted({ref for ref in self.prober.snapshot() if PodRef.parse(ref).name == hostname})
        if self.applier.owns_default:
            names += [f"default/{p.metadata.name}" for p in self.kube.core.list_namespaced_pod("default").items if p.metadata.name == hostname]
        for ns in hints:
            if f"{ns}/{hostname}" in names:
                return f"{ns}/{hostname}"
        if len(names) > 1:
            endpoints = {f"{(ep.get('targetRef') or {}).get('namespace') or (s.get('metadata') or {}).get('namespace')}/{(ep.get('targetRef') or {}).get('name')}"
                         for s in self.kube.slices() for ep in s.get("endpoints") or [] if (ep.get("conditions") or {}).get("ready") is not False}
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
            target, number = self.l4_target(destination, port)
            if proto is Protocol.UDP:
                return self._udp_distribution(source, destination, target, number, requests)
            req = webprobe.plan(f"http://{host_port(target, number)}/hostname", host=host, resolve=resolve)
        if isinstance(req, str):
            raise LabError(req)
        req, dst_pod, source_ns = self._http_target(req, source)
        answers: list[str | None] = []
        verdicts: list[str] = []
        if source == HOST:
            for _ in range(requests):
                raw = webprobe.host_request(req, timeout=3.0)
                self._count(raw, req, source, dst_pod, source_ns, answers, verdicts)
            return Distribution.count(source, destination, answers, verdicts)
        src = self.prober.running_source(source)
        curl = ["curl", "-sS", "-v", "-k", "--max-time", "3", "--connect-timeout", "2", "-o", "-", "-w", " @@%{http_code}", "-H", f"Host: {req.host_header}"]
        if req.url_name != req.connect_host:
            curl += ["--connect-to", f"{req.url_name}:{req.port}:{req.connect_host}:{req.port}"]
        curl.append(f"{req.scheme}://{host_port(req.url_name, req.port)}{req.path}")
        script = ["/bin/sh", "-c", DIST_TCP_SCRIPT, "sh", str(requests), *curl]
        code, out, err, exec_error = self.exec(src.pod.namespace, src.pod.name, src.container, script, timeout=30 + 4 * requests)
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
        verdict, _ = webprobe.verdict_of(raw, req, source, reach=self.prober.host_reach() if source == HOST else None)
        if verdict is Verdict.ALLOWED and raw.status is not None and raw.status < 500:
            who = self._answered_by(raw, req, dst_pod, source_ns)
            answers.append(who)
            verdicts.append(f"HTTP {raw.status}" + ("" if who else " (the server did not name itself)"))
        else:
            answers.append(None)
            verdicts.append(f"HTTP {raw.status}" if verdict is Verdict.ALLOWED else verdict.value)

    def l4_target(self, destination: str, port: int | str | None) -> tuple[str, int]:
        """``distribution`` and ``open_connection``: lab names become addresses (``host`` too); other
        names stay for the source to resolve."""
        dest, number = destination, port
        if destination == HOST:
            dest = self.outside.gateway_address() or destination
        parsed = try_parse(dest)
        if isinstance(parsed, NodePort):
            dest, number = str(parsed.on), parsed.port
        if isinstance(parsed, NodeName | NodePort | PodName):
            address, _, why = self.prober.destination(dest, None)
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
        hints = [h for h in (namespace_hint(target, pod_namespace(source)),) if h]
        if source == HOST:
            for _ in range(requests):
                verdict, _, reply = l4_probe(target, port, Protocol.UDP, reach=self.prober.host_reach())
                who = self.pod_named(reply.strip(), hints) if reply.strip() else None
                answers.append(who)
                verdicts.append(verdict.value)
            return Distribution.count(source, destination, answers, verdicts)
        src = self.prober.running_source(source)
        script = ["/bin/sh", "-c", DIST_UDP_SCRIPT, "sh", str(requests), target, str(port)]
        code, out, err, exec_error = self.exec(src.pod.namespace, src.pod.name, src.container, script, timeout=30 + requests)
        if code is None:
            raise LabError(f"distribution from {source} could not run: {exec_error or err.strip()}")
        for _, text, _, _ in parse_distribution(out):
            low = text.lower()
            who = self.pod_named(text.split()[0], hints) if text.split() and "nc:" not in low else None
            answers.append(who)
            verdicts.append(Verdict.ALLOWED.value if who else (Verdict.REFUSED.value if "refused" in low else Verdict.BLOCKED.value))
        return Distribution.count(source, destination, answers, verdicts)

    # -- changing workloads --------------------------------------------------------------------------
    def set_ready(self, pod: str, ready: bool = True) -> None:
        """Make a pod pass or fail its readiness probe (the marker file its exec probe tests, see
        ``grader.kind.workloads``); returns once the pod's Ready condition and its EndpointSlices agree."""
        key = ref_key("Pod", pod)
        ref = PodRef(key.namespace, key.name)
        owned = self.applier.owned()
        if not self.applier.may_touch(ref.namespace, owned):
            raise LabError(self.applier.refusal(ref.namespace))
        p = self.kube.read(str(key), self.kube.core.read_namespaced_pod, ref.name, ref.namespace)
        container = (p.metadata.annotations or {}).get(READINESS_ANNOTATION)
        if not container:
            raise LabError(
                f"pod {pod} has no netlab readiness probe, so the lab cannot make it fail one: topology pods have it, and so do "
                "containers written as `image: agnhost` (the course's server shorthand); other images decide their own readiness"
            )
        code, _, err, exec_error = self.exec(ref.namespace, ref.name, container, set_ready_command(ready))
        if code != 0:
            raise LabError(f"could not change the readiness of {pod}: {exec_error or err.strip() or f'exit {code}'}")
        self._settle_readiness(ref, ready)

    def _settle_readiness(self, ref: PodRef, ready: bool, timeout: float = SETTLE_TIMEOUT) -> None:

        deadline = time.monotonic() + timeout
        while True:
            p = self.kube.core.read_namespaced_pod(ref.name, ref.namespace)
            pod_ok = pod_state(p)[0] is ready
            slices_ok = True
            for s in self.kube.slices(ref.namespace):
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
        key = ref_key("Deployment", deployment)
        ns, name = key.namespace, key.name
        owned = self.applier.owned()
        if not self.applier.may_touch(ns, owned):
            raise LabError(self.applier.refusal(ns))
        apps = self.kube.apps()
        dep = self.kube.read(str(key), apps.read_namespaced_deployment, name, ns)
        selector = ",".join(f"{k}={v}" for k, v in sorted((dep.spec.selector.match_labels or {}).items()))
        before = {p.metadata.name for p in self.kube.core.list_namespaced_pod(ns, label_selector=selector).items}
        apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": replicas}})

        deadline = time.monotonic() + 180
        while True:
            live = [p for p in self.kube.core.list_namespaced_pod(ns, label_selector=selector).items if p.metadata.deletion_timestamp is None]
            fresh_ready = all(pod_state(p)[0] for p in live if p.metadata.name not in before)
            if len(live) == replicas and fresh_ready:
                return sorted(f"{ns}/{p.metadata.name}" for p in live)
            if time.monotonic() > deadline:
                raise LabError(f"{key} has {len(live)} pod(s), not {replicas}, after 180s (kubectl describe deployment shows why)")
            time.sleep(1)


__all__ = ["LiveServices", "namespace_hint", "service_ref"]
