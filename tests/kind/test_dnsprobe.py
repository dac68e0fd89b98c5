"""nslookup on a real cluster: resolv.conf, the names tried, dig's output -> Lookup (grader.kind.dnsprobe).

The dig outputs are BIND 9.18's (agnhost's Alpine ``bind-tools``) for
``dig +nosearch +noall +comments +question +answer +time=2 +tries=1 <name> A``.
"""

from __future__ import annotations

import subprocess

import pytest

import grader
from grader.errors import LabError
from grader.kind import dnsprobe

POD_RESOLV = """search untrusted.svc.cluster.local svc.cluster.local cluster.local
nameserver 10.96.0.10
options ndots:5
"""

NXDOMAIN = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 36412
;; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
; COOKIE: 6f0c4a8e1c2b3d4e (echoed)
;; QUESTION SECTION:
;{name}.			IN	A

"""

FOUND = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 5213
;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
;; WARNING: recursion requested but not available

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;{name}.	IN	A

;; ANSWER SECTION:
{name}. 30	IN	A	{ip}

"""

CNAME = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 771
;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1

;; QUESTION SECTION:
;payments.shop.svc.cluster.local. IN	A

;; ANSWER SECTION:
payments.shop.svc.cluster.local. 30 IN	CNAME	api.example.com.
api.example.com.	30	IN	A	93.184.215.14

"""

TIMEOUT = """;; communications error to 10.96.0.10#53: timed out
;; no servers could be reached
"""


def script_output(*blocks: tuple[str, str, int]) -> str:
    return "".join(f"{dnsprobe.QUERY_MARK}{name}.\n{text}{dnsprobe.EXIT_MARK}{code}\n" for name, text, code in blocks)


def test_resolv_conf_of_a_pod_and_of_a_host_network_pod() -> None:
    conf = dnsprobe.parse_resolv_conf(POD_RESOLV)
    assert conf == dnsprobe.ResolvConf(("10.96.0.10",), ("untrusted.svc.cluster.local", "svc.cluster.local", "cluster.local"), 5)
    node = dnsprobe.parse_resolv_conf("# generated\nnameserver 172.18.0.1\nsearch example.org.\n")
    assert node.ndots == 1 and node.search == ("example.org",)  # resolv.conf(5) default ndots


def test_the_names_tried_are_the_simulated_resolvers() -> None:
    conf = dnsprobe.parse_resolv_conf(POD_RESOLV)
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.apply("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n")
    sim = lab.nslookup("untrusted/attacker", "web.shop")
    candidates = dnsprobe.candidates("web.shop", conf)
    assert candidates[:2] == [a.query for a in sim.answers]
    replies = dnsprobe.parse_dig(script_output(
        (candidates[0], NXDOMAIN.format(name=candidates[0]), 0),
        (candidates[1], FOUND.format(name=candidates[1], ip="10.96.45.12"), 0),
        (candidates[2], NXDOMAIN.format(name=candidates[2]), 0),
    ))
    found = dnsprobe.lookup_from_dig("web.shop", "untrusted/attacker", conf, replies)
    assert [a.query for a in found.answers] == [a.query for a in sim.answers]  # the search stops at the first answer
    assert [str(a) for a in found.addresses] == ["10.96.45.12"] and found.ok
    assert found.resolver == "kube-dns (10.96.0.10)" and found.search == conf.search and found.ndots == 5
    assert "NXDOMAIN" in found.explain()


def test_cname_of_an_external_name_service() -> None:
    conf = dnsprobe.parse_resolv_conf(POD_RESOLV.replace("untrusted", "shop"))
    replies = dnsprobe.parse_dig(script_output(("payments.shop.svc.cluster.local", CNAME, 0)))
    found = dnsprobe.lookup_from_dig("payments", "shop/api", conf, replies)
    assert found.canonical == "api.example.com" and [str(a) for a in found.addresses] == ["93.184.215.14"]


def test_nothing_resolves_and_dns_traffic_blocked() -> None:
    conf = dnsprobe.parse_resolv_conf(POD_RESOLV)
    names = dnsprobe.candidates("nope", conf)
    replies = dnsprobe.parse_dig(script_output(*[(n, NXDOMAIN.format(name=n), 0) for n in names]))
    lookup = dnsprobe.lookup_from_dig("nope", "untrusted/attacker", conf, replies)
    assert not lookup.ok and len(lookup.answers) == 4
    blocked = dnsprobe.parse_dig(script_output((names[0], TIMEOUT, 9)))
    assert blocked[0].status is None and "timed out" in blocked[0].error
    with pytest.raises(LabError, match="port 53"):  # as the simulated cluster says when policy drops the query
        dnsprobe.lookup_from_dig("nope", "untrusted/attacker", conf, blocked)


def test_the_dig_loop_runs_in_a_posix_shell_and_stops_at_a_timeout(tmp_path) -> None:
    """DIG_SCRIPT for real with /bin/sh and a stand-in ``dig`` on PATH that prints canned replies."""
    fake = tmp_path / "dig"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do case "$a" in *.) n=$a;; esac; done\n'
                    'case "$n" in blocked.*) echo ";; no servers could be reached"; exit 9;; '
                    'web.*) printf ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\\n;; ANSWER SECTION:\\n%s 30 IN A 10.96.0.99\\n" "$n";; '
                    '*) echo ";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 2";; esac\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    cmd = dnsprobe.lookup_command("x", ["x.shop.svc.cluster.local", "web.shop.svc.cluster.local", "blocked.svc.cluster.local", "never.cluster.local"])
    out = subprocess.run(list(cmd.argv), capture_output=True, text=True, env=env, check=True).stdout
    replies = dnsprobe.parse_dig(out)
    assert [(r.name, r.status, r.exit_code) for r in replies] == [
        ("x.shop.svc.cluster.local", "NXDOMAIN", 0), ("web.shop.svc.cluster.local", "NOERROR", 0), ("blocked.svc.cluster.local", None, 9),
    ]  # the loop stopped after the timeout
    assert replies[1].records[0].value == "10.96.0.99"
