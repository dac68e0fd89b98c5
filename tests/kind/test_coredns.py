"""The CoreDNS hosts block for the lab's names: patch and restore on real Corefiles."""

from __future__ import annotations

import pytest
from support.corefiles import KUBEADM_COREFILE

from grader.errors import LabError
from grader.kind.coredns import (
    BEGIN,
    END,
    patch_corefile,
    patched_entries,
    restore_corefile,
)

# The older kubeadm template (before the cache block), with a stub domain server block after it.
OLDER_WITH_STUB = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
corp.example:53 {
    errors
    cache 30
    forward . 10.150.0.1
}"""

ENTRIES = {"vm.internal": "172.18.0.100", "api.example.com": "203.0.113.10", "blocked.example.net": "198.51.100.20"}


def test_patch_puts_one_hosts_block_before_kubernetes_and_restore_gives_back_the_original() -> None:
    patched = patch_corefile(KUBEADM_COREFILE, ENTRIES)
    lines = patched.splitlines()
    begin = lines.index("    " + BEGIN)
    assert lines[begin:begin + 9] == [
        "    " + BEGIN,
        "    hosts {",
        "       203.0.113.10 api.example.com",
        "       198.51.100.20 blocked.example.net",
        "       172.18.0.100 vm.internal",
        "       ttl 60",
        "       fallthrough",
        "    }",
        "    " + END,
    ]
    assert lines[begin - 1] == "    ready" and lines[begin + 9].startswith("    kubernetes cluster.local")
    assert patched.count("hosts {") == 1
    assert restore_corefile(patched) == KUBEADM_COREFILE
    assert patched_entries(patched) == ENTRIES and patched_entries(KUBEADM_COREFILE) == {}


def test_patch_is_idempotent_and_replaces_changed_addresses() -> None:
    once = patch_corefile(KUBEADM_COREFILE, ENTRIES)
    assert patch_corefile(once, ENTRIES) == once
    moved = patch_corefile(once, {**ENTRIES, "vm.internal": "172.19.0.100"})
    assert patched_entries(moved)["vm.internal"] == "172.19.0.100" and moved.count(BEGIN) == 1
    assert restore_corefile(moved) == KUBEADM_COREFILE


def test_only_the_root_server_block_is_patched() -> None:
    patched = patch_corefile(OLDER_WITH_STUB, ENTRIES)
    root, stub = patched.split("corp.example:53 {")
    assert BEGIN in root and BEGIN not in stub
    assert restore_corefile(patched) == OLDER_WITH_STUB + "\n"  # the missing final newline is added once


def test_a_root_block_without_kubernetes_gets_the_block_first() -> None:
    text = ". {\n    forward . 8.8.8.8\n}\n"
    patched = patch_corefile(text, {"api.example.com": "203.0.113.10"})
    assert patched.splitlines()[1] == "    " + BEGIN and patched.splitlines()[-1] == "}"
    assert restore_corefile(patched) == text


def test_refuses_what_it_cannot_do_safely() -> None:
    own_hosts = KUBEADM_COREFILE.replace("    ready\n", "    ready\n    hosts {\n       10.0.0.1 db.corp\n       fallthrough\n    }\n")
    with pytest.raises(LabError, match=r"only\s+once per server block"):
        patch_corefile(own_hosts, ENTRIES)
    with pytest.raises(LabError, match="no server block for the root zone"):
        patch_corefile("corp.example:53 {\n    forward . 10.0.0.1\n}\n", ENTRIES)
    with pytest.raises(LabError, match="not its end"):
        restore_corefile(KUBEADM_COREFILE.replace("    ready\n", f"    ready\n    {BEGIN}\n"))
    with pytest.raises(ValueError):
        patch_corefile(KUBEADM_COREFILE, {"api.example.com": "not-an-address"})
    with pytest.raises(ValueError):
        patch_corefile(KUBEADM_COREFILE, {"bad name; rm": "203.0.113.10"})
