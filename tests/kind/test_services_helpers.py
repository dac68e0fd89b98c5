"""Small parsers of the kind backend's Services calls (grader.kind.services_api, grader.kind.webprobe)."""

from __future__ import annotations

import subprocess

import pytest

from grader.errors import LabError
from grader.kind.services_api import namespace_hint, service_ref
from grader.kind.webprobe import DIST_TCP_SCRIPT, parse_distribution
from grader.lab.base import object_key as status_key
from grader.manifests import ObjectKey


def test_service_references_as_the_simulated_cluster_spells_them() -> None:
    assert service_ref("service/shop/web") == service_ref("shop/web") == service_ref("web.shop") == ("shop", "web")
    assert service_ref("web") == ("default", "web") and service_ref("web.shop.svc.cluster.local") == ("shop", "web")


def test_status_keys() -> None:
    assert status_key("ingress/shop/shop") == ObjectKey("Ingress", "shop", "shop")
    assert status_key("gatewayclass/cloud-provider-kind") == ObjectKey("GatewayClass", "", "cloud-provider-kind")
    assert status_key("svc/web") == ObjectKey("Service", "default", "web")
    with pytest.raises(LabError, match="expected kind/namespace/name"):
        status_key("web")


def test_which_namespace_a_name_points_into() -> None:
    assert namespace_hint("web", "shop") == "shop"  # the search path starts with the source's namespace
    assert namespace_hint("web.other", "shop") == "other" and namespace_hint("web.other.svc.cluster.local", None) == "other"
    assert namespace_hint("shop.example.com", "shop") is None
    assert namespace_hint("10.96.0.10", "shop") is None and namespace_hint("shop/web", "shop") is None


def test_the_distribution_loop_in_a_posix_shell(tmp_path) -> None:
    """DIST_TCP_SCRIPT with a stand-in curl: one line per request, curl's error lines kept apart from the body."""
    fake = tmp_path / "curl"
    fake.write_text('#!/bin/sh\nn=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$0.count"\n'
                    'if [ "$n" -eq 3 ]; then echo "* connect to 10.96.0.7 port 80 failed: Connection refused" >&2; '
                    'echo "curl: (7) Failed to connect" >&2; printf " @@000"; exit 7; fi\n'
                    'printf "echo-%s @@200" "$((n % 2))"\n')
    fake.chmod(0o755)
    script = DIST_TCP_SCRIPT.replace("/tmp/netlab-dist", f"{tmp_path}/netlab-dist")
    out = subprocess.run(["/bin/sh", "-c", script, "sh", "4", str(fake), "-w", " @@%{http_code}", "http://x/hostname"],
                         capture_output=True, text=True, check=True).stdout
    rows = parse_distribution(out)
    assert [(rc, body, code) for rc, body, code, _ in rows] == [(0, "echo-1", "200"), (0, "echo-0", "200"), (7, "", "000"), (0, "echo-0", "200")]
    assert "Connection refused" in rows[2][3] and not list(tmp_path.glob("netlab-dist*"))
