"""The fake API server speaks what the live Lab calls (review F1): discovery, server-side apply and
exec over the websocket channel protocol, checked with the official ``kubernetes`` client as the
Lab uses it (``DynamicClient.server_side_apply``, ``kubernetes.stream.stream``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.fake_apiserver import FakeCluster

from grader.kind.probing import parse_exec_status


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[FakeCluster, Any]]:
    from kubernetes import client, config

    with FakeCluster(tmp_path / "pods") as cluster:
        conf = client.Configuration()
        config.load_kube_config(config_file=str(cluster.kubeconfig(tmp_path / "kc")), client_configuration=conf, persist_config=False)
        yield cluster, client.ApiClient(conf)


def _policy(port: int) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "x"},
            "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": port}]}]}}


def test_server_side_apply_through_the_dynamic_client(api: tuple[FakeCluster, Any]) -> None:
    from kubernetes.client.rest import ApiException
    from kubernetes.dynamic import DynamicClient

    cluster, api_client = api
    res = DynamicClient(api_client).resources.get(api_version="networking.k8s.io/v1", kind="NetworkPolicy")
    assert res.namespaced
    dry = res.server_side_apply(body=_policy(80), name="deny", namespace="x", field_manager="netlab", dry_run="All")
    assert dry.metadata.name == "deny" and cluster.get("NetworkPolicy", "x", "deny") is None  # a dry run stores nothing
    made = res.server_side_apply(body=_policy(80), name="deny", namespace="x", field_manager="netlab")
    assert made.metadata.managedFields[0].manager == "netlab"
    assert cluster.get("NetworkPolicy", "x", "deny")["spec"]["ingress"] == [{"ports": [{"port": 80}]}]
    with pytest.raises(ApiException) as info:  # another manager changing a field netlab owns
        res.server_side_apply(body=_policy(81), name="deny", namespace="x", field_manager="kubectl")
    assert info.value.status == 409
    assert json.loads(info.value.body)["message"] == 'Apply failed with 1 conflict: conflict with "netlab": .spec.ingress'
    res.server_side_apply(body=_policy(81), name="deny", namespace="x", field_manager="kubectl", force_conflicts=True)
    assert cluster.get("NetworkPolicy", "x", "deny")["spec"]["ingress"] == [{"ports": [{"port": 81}]}]
    with pytest.raises(ApiException) as missing:
        res.server_side_apply(body=_policy(80), name="deny", namespace="x")
    assert missing.value.status == 422 and "fieldManager: Required value" in json.loads(missing.value.body)["message"]


def _exec(api_client: Any, command: list[str]) -> tuple[str, str, str]:
    from kubernetes import client
    from kubernetes.stream import stream

    ws = stream(client.CoreV1Api(api_client).connect_get_namespaced_pod_exec, "a", "x", container="c", command=command,
                stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    ws.run_forever(timeout=10)
    try:
        return ws.read_channel(1), ws.read_channel(2), ws.read_channel(3)
    finally:
        ws.close()


def test_exec_reports_output_and_exit_status_on_the_error_channel(api: tuple[FakeCluster, Any]) -> None:
    cluster, api_client = api
    cluster.pod("x", "a", {"pod": "a"}, "10.244.1.5")
    out, err, status = _exec(api_client, ["/bin/sh", "-c", "echo hello; echo oops >&2"])
    assert (out, err, parse_exec_status(status)) == ("hello\n", "oops\n", (0, ""))
    out, err, status = _exec(api_client, ["/bin/sh", "-c", "echo TIMEOUT: dial tcp >&2; exit 1"])
    assert err == "TIMEOUT: dial tcp\n" and parse_exec_status(status)[0] == 1
    _, _, status = _exec(api_client, ["/agnhost-that-is-not-there", "connect"])
    code, message = parse_exec_status(status)
    assert code is None and 'exec: "/agnhost-that-is-not-there": executable file not found in $PATH' in message
