"""One typed handle on a cluster's API server, shared by the parts of the live Lab (apply, probing,
the canary, Services): the official ``kubernetes`` client behind a few calls, and the conversion
of API pods into the model's :class:`~grader.model.Pod`.

Everything here talks to the API server only; what the lab does with the answers lives in
``apply.py``, ``probe.py``, ``canary.py`` and ``services_api.py``.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from typing import Any

from ..errors import LabError
from ..manifests import PARSERS
from ..model import ContainerPort, Labels, Pod, Protocol
from .probing import parse_exec_status
from .workloads import FIELD_MANAGER

EXEC_TIMEOUT = 20.0
MERGE_PATCH = "application/merge-patch+json"
"""Label changes are JSON merge patches (RFC 7386): a null value removes the key. The generated client
would otherwise pick JSON Patch for a dict body."""

ExecResult = tuple[int | None, str, str, str]
"""(exit code or None when the exec did not run, stdout, stderr, exec error)."""
Exec = Callable[..., ExecResult]
"""``exec(namespace, pod, container, command, timeout=...)``: run ``command`` in a container."""


def pod_state(p: Any) -> tuple[bool, str]:
    """(ready, why not) for a V1Pod."""
    status = p.status
    ready = any(c.type == "Ready" and c.status == "True" for c in (status.conditions or []))
    if ready:
        return True, ""
    for cs in status.container_statuses or []:
        waiting = cs.state.waiting if cs.state else None
        if waiting is not None and waiting.reason:
            return False, f"{waiting.reason}: {waiting.message or ''}".strip(": ")
    return False, str(status.phase or "Pending")


def model_pod(p: Any) -> Pod:
    """A V1Pod as the model's frozen :class:`Pod` (ports sorted)."""
    meta, spec, status = p.metadata, p.spec, p.status
    ports = []
    for c in spec.containers or []:
        for cp in c.ports or []:
            ports.append(ContainerPort(int(cp.container_port), Protocol.parse(cp.protocol or "TCP"), cp.name))
    ip = ipaddress.ip_address(status.pod_ip) if status and status.pod_ip else None
    ready, _ = pod_state(p)
    return Pod(
        meta.namespace, meta.name, Labels(meta.labels or {}), ip, spec.node_name,
        tuple(sorted(ports, key=lambda c: (c.port, c.protocol, c.name or ""))), ready, bool(spec.host_network),
    )


def api_version_of(kind: str) -> str:
    if kind == "Namespace":
        return "v1"
    for api, k in PARSERS:
        if k == kind:
            return api
    raise LabError(f"the lab does not know which apiVersion serves kind {kind}")


class KubeApi:
    """The API clients of one kubeconfig context."""

    def __init__(self, *, kubeconfig: str | None = None, context: str | None = None) -> None:
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        self.configuration = client.Configuration()
        try:
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None, context=context,
                client_configuration=self.configuration, persist_config=False,
            )
        except (ConfigException, OSError, TypeError) as exc:
            where = kubeconfig or "the default kubeconfig"
            raise LabError(f"cannot load context {context or '(current)'} from {where}: {exc}") from None
        self.client = client
        self.api: Any = client.ApiClient(self.configuration)
        self.core: Any = client.CoreV1Api(self.api)
        """CoreV1Api (typed ``Any``: the generated client's Optional fields are checked where they are read)."""
        self._dyn: Any = None
        self._local = threading.local()

    # -- typed API groups ----------------------------------------------------------------------
    def networking(self) -> Any:
        return self.client.NetworkingV1Api(self.api)

    def discovery(self) -> Any:
        return self.client.DiscoveryV1Api(self.api)

    def apps(self) -> Any:
        return self.client.AppsV1Api(self.api)

    def batch(self) -> Any:
        return self.client.BatchV1Api(self.api)

    def custom(self) -> Any:
        return self.client.CustomObjectsApi(self.api)

    def plain(self, obj: Any) -> dict[str, Any]:
        """An API object as plain JSON-like data."""
        return self.api.sanitize_for_serialization(obj)

    def read(self, what: str, call: Any, *args: Any) -> Any:
        """``call(*args)``; a LabError naming ``what`` when it is missing or unreadable."""
        from kubernetes.client.rest import ApiException

        try:
            return call(*args)
        except ApiException as exc:
            if exc.status == 404:
                raise LabError(f"no {what}") from None
            raise LabError(f"cannot read {what}: {exc.status} {exc.reason}") from None

    def slices(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """EndpointSlices (of one namespace, or all) as plain data."""
        d = self.discovery()
        items = d.list_namespaced_endpoint_slice(namespace).items if namespace else d.list_endpoint_slice_for_all_namespaces().items
        return [self.plain(s) for s in items]

    # -- any kind: the dynamic client, server-side apply ---------------------------------------------
    @property
    def dyn(self) -> Any:
        if self._dyn is None:
            from kubernetes.dynamic import DynamicClient

            self._dyn = DynamicClient(self.api)
        return self._dyn

    def resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise LabError(f"this cluster does not serve {kind} ({api_version}); is its CRD installed?") from None

    def ssa(self, body: dict[str, Any], *, dry_run: bool = False) -> Any:
        """Server-side apply with field manager ``netlab`` (conflicts forced: the lab owns what it applies)."""
        meta = body.get("metadata") or {}
        res = self.resource(str(body["apiVersion"]), str(body["kind"]))
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
        if dry_run:
            kwargs["dry_run"] = "All"
        if res.namespaced:
            kwargs["namespace"] = meta.get("namespace") or "default"
        return res.server_side_apply(body=body, name=meta.get("name"), **kwargs)

    # -- exec ------------------------------------------------------------------------------------
    def _thread_core(self) -> Any:
        # kubernetes.stream swaps ApiClient.call_api while it runs, so parallel execs need one
        # ApiClient per thread.
        core = getattr(self._local, "core", None)
        if core is None:
            core = self.client.CoreV1Api(self.client.ApiClient(self.configuration))
            self._local.core = core
        return core

    def exec(self, namespace: str, pod: str, container: str, command: list[str], timeout: float = EXEC_TIMEOUT) -> ExecResult:
        """Run ``command`` in a container: (exit code or None, stdout, stderr, exec error)."""
        from kubernetes.client.rest import ApiException
        from kubernetes.stream import stream

        try:
            ws = stream(
                self._thread_core().connect_get_namespaced_pod_exec, pod, namespace, container=container, command=command,
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False,
            )
        except ApiException as exc:
            return None, "", "", f"exec refused by the API server ({exc.status} {exc.reason})"
        except Exception as exc:  # noqa: BLE001 - websocket handshake errors surface as various types
            return None, "", "", f"exec failed: {type(exc).__name__}: {exc}"
        try:
            ws.run_forever(timeout=timeout)
            if ws.is_open():
                return None, "", "", f"the exec did not finish within {timeout:.0f}s"
            out, err, status = ws.read_channel(1), ws.read_channel(2), ws.read_channel(3)
        finally:
            ws.close()
        code, message = parse_exec_status(status)
        return code, out, err, "" if code is not None else message


__all__ = ["EXEC_TIMEOUT", "MERGE_PATCH", "Exec", "ExecResult", "KubeApi", "api_version_of", "model_pod", "pod_state"]
