"""The fake cluster DNS's records: what CoreDNS would answer for A queries.

* the ``kubernetes`` plugin: ``<service>.<namespace>.svc.cluster.local.`` → the ClusterIP, TTL 5
  (coredns ``plugin/kubernetes/README.md``: "ttl ... Default is 5 seconds");
* the ``hosts`` plugin, read from the Corefile the cluster actually has (the ``coredns`` ConfigMap as
  the backend patched it), not from the lab's code: inline hosts(5) lines ``<address> <name>...``
  inside ``hosts [FILE [ZONES...]] { ... }`` of the root server block, and its ``ttl`` (default
  3600; coredns ``plugin/hosts/README.md`` and ``plugin/hosts/setup.go``). Only inline entries are
  read (a FILE argument names a file inside the CoreDNS container, which the fake does not have).

The records are written as ``<fqdn>. <address> <ttl>`` lines for the exec'd stand-ins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

KUBERNETES_TTL = 5
HOSTS_DEFAULT_TTL = 3600


def hosts_records(corefile: str) -> dict[str, tuple[str, int]]:
    """name → (address, ttl) of the inline entries of every ``hosts`` block in the root server block."""
    out: dict[str, tuple[str, int]] = {}
    depth, in_root, in_hosts = 0, False, False
    entries: list[tuple[str, str]] = []
    ttl = HOSTS_DEFAULT_TTL
    for raw in corefile.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if depth == 0 and line.endswith("{"):
            keys = [k.split(":")[0] for k in words[:-1]]
            in_root = any(k in (".", "dns://.") for k in keys)
        elif in_root and depth == 1 and words[0] == "hosts" and line.endswith("{"):
            in_hosts, entries, ttl = True, [], HOSTS_DEFAULT_TTL
        elif in_hosts and line == "}":
            in_hosts = False
            out.update({name.lower(): (address, ttl) for address, name in entries})
        elif in_hosts and words[0] == "ttl" and len(words) == 2:
            ttl = int(words[1])
        elif in_hosts:
            try:
                ipaddress.ip_address(words[0])
            except ValueError:
                continue  # fallthrough, reload, no_reverse ...
            entries += [(words[0], name) for name in words[1:]]
        depth += line.count("{") - line.count("}")
    return out


def zone(services: Iterable[Mapping[str, Any]], corefile: str | None,
         ready: Callable[[str, str], list[str]] = lambda ns, name: []) -> str:
    """The zone file the stand-ins read (sorted lines; a name with several addresses has several lines).

    A headless Service (``clusterIP: None``) has one A record per ready endpoint address, as the
    ``kubernetes`` plugin answers (coredns plugin/kubernetes README, "headless services"); ``ready``
    gives them for (namespace, service)."""
    lines: dict[str, list[str]] = {}
    for svc in services:
        ip = (svc.get("spec") or {}).get("clusterIP")
        meta = svc["metadata"]
        fqdn = f"{meta['name']}.{meta['namespace']}.svc.cluster.local."
        if ip == "None":
            addresses = sorted(ready(meta["namespace"], meta["name"]))
            if addresses:
                lines[fqdn] = [f"{a} {KUBERNETES_TTL}" for a in addresses]
        elif ip:
            lines[fqdn] = [f"{ip} {KUBERNETES_TTL}"]
    for name, (address, ttl) in hosts_records(corefile or "").items():
        lines[f"{name.rstrip('.')}."] = [f"{address} {ttl}"]  # plugin.cfg runs hosts before kubernetes
    return "".join(f"{k} {v}\n" for k, values in sorted(lines.items()) for v in values)


__all__ = ["HOSTS_DEFAULT_TTL", "KUBERNETES_TTL", "hosts_records", "zone"]
