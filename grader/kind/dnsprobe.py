"""``lab.nslookup()`` on a real cluster: the pod's own resolver configuration, one ``dig`` per name
it would try, and the answers turned into the same ``grader.dns.Lookup`` the simulation returns.

How (agnhost's image is Alpine with ``bind-tools``, so ``dig`` and ``/bin/sh`` are there;
kubernetes ``test/images/agnhost/Dockerfile``):

1. ``cat /etc/resolv.conf`` in the pod: ``nameserver``, ``search``, ``options ndots:N`` as the
   kubelet wrote them (dnsPolicy ClusterFirst: kube-dns; host-network pods: the node's resolver).
2. The names a resolver tries, in order, from that search path and ndots (resolv.conf(5), the
   same ``grader.dns.query_order`` the simulation uses).
3. One exec running ``dig +nosearch`` for each of them (so *we* control the search order and see
   every intermediate NXDOMAIN), each delimited by marker lines with dig's exit code. dig exits
   0 when a reply came (NOERROR, NXDOMAIN, SERVFAIL alike) and 9 when no server answered; the loop
   stops at the first timeout (every later query would time out too, and each costs seconds).

A timeout means the DNS traffic itself did not get through (typically an egress NetworkPolicy
without a rule for port 53): :func:`lookup_from_dig` raises ``LabError`` for it, as the
simulated cluster's ``nslookup`` does when policy drops the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..dns import Lookup
from ..dns.resolver import CLUSTER_DOMAIN, Answer, Rcode, Record, query_order
from ..errors import LabError
from ..reachability.commands import DIG_SCRIPT, DIG_TIMEOUT_S, EXIT_MARK, QUERY_MARK, Command, dig


@dataclass(frozen=True, slots=True)
class ResolvConf:
    nameservers: tuple[str, ...]
    search: tuple[str, ...]
    ndots: int = 1
    """resolv.conf(5): default 1 when no ``options ndots`` line is present."""


def parse_resolv_conf(text: str) -> ResolvConf:
    servers: list[str] = []
    search: tuple[str, ...] = ()
    ndots = 1
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = tuple(w.rstrip(".") for w in words[1:])  # the last search/domain line wins
        elif words[0] == "options":
            for opt in words[1:]:
                if opt.startswith("ndots:"):
                    try:
                        ndots = min(15, int(opt.split(":", 1)[1]))
                    except ValueError:
                        pass
    return ResolvConf(tuple(servers), search, ndots)


def lookup_command(name: str, names: Sequence[str]) -> Command:
    """The lookup of ``name`` along ``names`` (its search path, in resolver order): the argv queries
    each of ``names`` in turn, the line shown is ``dig +search +showsearch <name>`` (as the simulated cluster shows it)."""
    return dig(name.rstrip("."), names)


@dataclass(frozen=True, slots=True)
class DigReply:
    name: str
    exit_code: int | None
    status: str | None
    """``NOERROR``, ``NXDOMAIN``, ``SERVFAIL``...; None when no reply came."""
    records: tuple[Record, ...]
    error: str = ""


def parse_dig(output: str) -> list[DigReply]:
    """Split :data:`DIG_SCRIPT` output into one reply per queried name."""
    replies: list[DigReply] = []
    name: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith(QUERY_MARK):
            name, lines = line[len(QUERY_MARK):].strip().rstrip("."), []
        elif line.startswith(EXIT_MARK) and name is not None:
            code_text = line[len(EXIT_MARK):].strip()
            replies.append(_reply(name, int(code_text) if code_text.lstrip("-").isdigit() else None, lines))
            name = None
        elif name is not None:
            lines.append(line)
    return replies


def _reply(name: str, code: int | None, lines: list[str]) -> DigReply:
    status = None
    records: list[Record] = []
    section = ""
    errors = []
    for line in lines:
        text = line.strip()
        if "->>HEADER<<-" in text and "status:" in text:
            status = text.split("status:", 1)[1].split(",", 1)[0].strip()
        elif text.startswith(";; ") and text.endswith("SECTION:"):
            section = text[3:].split()[0]
        elif text.startswith(";;") and any(w in text for w in ("timed out", "no servers", "communications error", "couldn't", "failed")):
            errors.append(text.lstrip("; "))
        elif text and not text.startswith(";") and section == "ANSWER":
            parts = text.split()
            if len(parts) >= 5 and parts[3] in ("A", "CNAME", "AAAA"):
                records.append(Record(parts[0].rstrip("."), parts[3], parts[4].rstrip(".")))
    return DigReply(name, code, status, tuple(records), "; ".join(errors))


def resolver_label(conf: ResolvConf, host_network: bool) -> str:
    server = conf.nameservers[0] if conf.nameservers else "no nameserver"
    return f"node resolver ({server})" if host_network else f"kube-dns ({server})"


def lookup_from_dig(name: str, client: str, conf: ResolvConf, replies: Sequence[DigReply], *, host_network: bool = False) -> Lookup:
    """The replies of :func:`parse_dig` as a ``Lookup`` (cut at the answer that ends the search,
    as a resolver stops there). Raises LabError when the queries got no reply at all."""
    resolver = resolver_label(conf, host_network)
    answers: list[Answer] = []
    for reply in replies:
        if reply.status is None:
            server = conf.nameservers[0] if conf.nameservers else "the nameserver"
            raise LabError(
                f"DNS lookup of {name!r} from {client} failed: no reply from {resolver} to the query for {reply.name!r} "
                f"within {DIG_TIMEOUT_S}s ({reply.error or 'timed out'}). The query (UDP port 53 to {server}) is traffic too: "
                "a pod whose egress is isolated by NetworkPolicy needs an egress rule allowing UDP and TCP port 53 to kube-dns "
                "(namespaceSelector kubernetes.io/metadata.name=kube-system, podSelector k8s-app=kube-dns)."
            )
        try:
            rcode = Rcode(reply.status)
        except ValueError:
            rcode = Rcode.NXDOMAIN
        source = "kubernetes" if reply.name.endswith(CLUSTER_DOMAIN) and not host_network else "upstream"
        note = "" if rcode.value == reply.status else f"the server answered {reply.status}"
        answer = Answer(reply.name, rcode, reply.records, source, note)
        answers.append(answer)
        if rcode is Rcode.NOERROR and answer.addresses:
            break
    return Lookup(name, client, resolver, tuple(answers), conf.search, conf.ndots)


def candidates(name: str, conf: ResolvConf) -> list[str]:
    """The fully qualified names the pod's resolver tries, in order."""
    return query_order(name, conf.search, conf.ndots)


__all__ = ["DIG_SCRIPT", "DigReply", "ResolvConf", "candidates", "lookup_command", "lookup_from_dig", "parse_dig", "parse_resolv_conf", "resolver_label"]
