"""The lab's DNS names on a real cluster: a ``hosts`` block in CoreDNS's Corefile.

The simulated cluster answers ``api.example.com``, ``blocked.example.net`` and ``vm.internal``
from kube-dns's upstream (``grader/lab/sim/kubeproxy.py`` ``ClusterZone``). On kind, CoreDNS
would forward those names to the Docker host's resolver, which does not know them (the
documentation addresses exist only in the lab). So the course adds them to CoreDNS itself, with
the ``hosts`` plugin, the way minikube publishes ``host.minikube.internal``:

    hosts {
       203.0.113.10 api.example.com
       ...
       ttl 60
       fallthrough
    }

Syntax (coredns.io/plugins/hosts): ``hosts [FILE [ZONES...]] { [INLINE] ttl SECONDS no_reverse
reload DURATION fallthrough [ZONES...] }``; inline lines are hosts(5) entries; without
``fallthrough`` every other name of the server block would get NXDOMAIN from it; the plugin "can
only be used once per Server Block". Its place in the chain comes from CoreDNS's ``plugin.cfg``
(``hosts`` runs before ``kubernetes`` and ``forward``), not from the Corefile order, so cluster
names still reach the ``kubernetes`` plugin through ``fallthrough``.

The block is course-owned: it sits between two marker comments, ``patch_corefile`` replaces it
(idempotent) and ``restore_corefile`` removes exactly those lines, giving back the Corefile as it
was byte for byte. Both are pure functions over the text of the ``coredns`` ConfigMap.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from ..errors import LabError

BEGIN = "# netlab: the lab's external hosts (begin; grader.kind.coredns removes this block)"
END = "# netlab: the lab's external hosts (end)"
TTL = 60
"""Seconds clients may cache an answer (the plugin's default is 3600; the lab's addresses can move
when Docker's network is re-created)."""

_SERVER_START = re.compile(r"^(?P<indent>\s*)(?P<keys>[^#{}]+?)\s*\{\s*$")


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0]


def _serves_root(keys: str) -> bool:
    """``.:53``, ``.``, ``dns://.:53`` (possibly among other keys): the block for every name."""
    for key in re.split(r"[\s,]+", keys.strip()):
        zone = key.removeprefix("dns://")
        zone = zone.rsplit(":", 1)[0] if ":" in zone else zone
        if zone == ".":
            return True
    return False


def hosts_block(entries: Mapping[str, str], indent: str = "    ") -> list[str]:
    """The marked ``hosts`` block (lines with newlines), one ``<address> <name>`` per entry, sorted by name."""
    inner = indent + "   "
    lines = [f"{indent}{BEGIN}", f"{indent}hosts {{"]
    for name, address in sorted(entries.items()):
        ipaddress.ip_address(address)  # a bad address would make CoreDNS refuse the whole Corefile
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", name):
            raise ValueError(f"{name!r} is not a host name")
        lines.append(f"{inner}{address} {name}")
    lines += [f"{inner}ttl {TTL}", f"{inner}fallthrough", f"{indent}}}", f"{indent}{END}"]
    return [line + "\n" for line in lines]


def restore_corefile(text: str) -> str:
    """``text`` without the course's block (unchanged when it has none)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
            continue
        if inside:
            if stripped == END:
                inside = False
            continue
        out.append(line)
    if inside:
        raise LabError("the Corefile has the start of netlab's hosts block but not its end: restore the coredns ConfigMap by hand "
                       "(kubectl -n kube-system edit configmap coredns)")
    return "".join(out)


def patch_corefile(text: str, entries: Mapping[str, str]) -> str:
    """``text`` with the course's ``hosts`` block in the server block for the root zone (``.:53``).

    The block goes right before the ``kubernetes`` directive (or first in the server block when
    there is none), indented like its neighbours. Raises LabError when there is no root server
    block, or when it already has a ``hosts`` directive the course did not write (the plugin can
    be used once per server block).
    """
    base = restore_corefile(text)
    lines = base.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    depth = 0
    start: int | None = None
    insert_at: int | None = None
    indent = ""
    for i, line in enumerate(lines):
        code = _strip_comment(line)
        if start is None and depth == 0:
            m = _SERVER_START.match(code)
            if m and _serves_root(m.group("keys")):
                start = i
                depth = 1
                continue
        if start is not None and depth == 1:
            words = code.split()
            if words and words[0] == "hosts":
                raise LabError(
                    "CoreDNS's Corefile already has a hosts block in its root server block, and the plugin can be used only "
                    "once per server block (coredns.io/plugins/hosts); netlab will not change it. Add the lab's names to it "
                    "yourself, or remove it."
                )
            if words and insert_at is None and words[0] == "kubernetes":
                insert_at = i
                indent = line[: len(line) - len(line.lstrip())]
        depth += code.count("{") - code.count("}")
        if start is not None and depth == 0:
            if insert_at is None:
                insert_at = start + 1
                opening = lines[start]
                indent = opening[: len(opening) - len(opening.lstrip())] + "    "
            break
    if start is None or insert_at is None:
        raise LabError("CoreDNS's Corefile has no server block for the root zone ('.:53 {'): netlab cannot add the lab's names")
    return "".join(lines[:insert_at] + hosts_block(entries, indent) + lines[insert_at:])


def patched_entries(text: str) -> dict[str, str]:
    """Name -> address of the course's block in ``text`` (empty when there is none)."""
    out: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == BEGIN:
            inside = True
        elif stripped == END:
            inside = False
        elif inside:
            words = stripped.split()
            if len(words) == 2:
                try:
                    ipaddress.ip_address(words[0])
                except ValueError:
                    continue
                out[words[1]] = words[0]
    return out


__all__ = ["BEGIN", "END", "hosts_block", "patch_corefile", "patched_entries", "restore_corefile"]
