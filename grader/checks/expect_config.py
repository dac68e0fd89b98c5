"""Expectation kinds for answers that are not Kubernetes objects: ``kind_config`` (a kind cluster
config with the learner's own address ranges) and ``nsg_rules`` (what an ``nsg`` answer contains).

``kind_config`` checks, as the parameter ``aspects`` asks:

* ``valid``: kind would accept the file (``grader.manifests.kind_config.validate_config``: strict decoding of
  ``kind.x-k8s.io/v1alpha4`` and kind's ``validate.go``), with both subnets set;
* ``nodes``: the node roles and counts;
* ``ranges``: the pod subnet gives every node its block (kube-controller-manager's
  ``--node-cidr-mask-size``, /24 by default for IPv4), the service subnet has an allowed size, and no
  range overlaps another or a network the prompt names (``grader.planning.validate_ranges``: the
  overlap and AKS-reserved checks Microsoft's planning guidance asks for);
* ``lab``: a simulated cluster built with those ranges hands out pod, Service and kube-dns
  addresses from them and still carries traffic.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from typing import Any

from .kinds import Handler, registrar
from .outcome import Finding
from .vocabulary import SpecError

HANDLERS: dict[str, Handler] = {}
expectation = registrar(HANDLERS)

ASPECTS = ("valid", "nodes", "ranges", "lab")


def _subnet(values: Mapping[str, Any], key: str) -> Any:
    net = values.get("networking")
    return net.get(key) if isinstance(net, Mapping) else None


def _node_counts(values: Mapping[str, Any]) -> dict[str, int]:
    nodes = values.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        return {"control-plane": 1}  # kind's default: one control-plane node
    counts: dict[str, int] = {}
    for n in nodes:
        role = n.get("role", "control-plane") if isinstance(n, Mapping) else "?"
        counts[str(role)] = counts.get(str(role), 0) + 1
    return counts


def _valid(values: Mapping[str, Any]) -> list[str]:
    from ..manifests.kind_config import validate_config

    problems = [f"kind would reject it: {p}" for p in validate_config(dict(values), "kind config")]
    for key in ("podSubnet", "serviceSubnet"):
        if _subnet(values, key) is None:
            problems.append(_missing(key))
    return problems


def _missing(key: str) -> str:
    return f"`networking.{key}` is missing: without it kind uses its default range, not yours"


def _nodes(values: Mapping[str, Any], want: Mapping[str, int]) -> list[str]:
    have = _node_counts(values)
    problems = []
    for role in sorted(set(want) | set(have)):
        if have.get(role, 0) != want.get(role, 0):
            problems.append(f"`nodes`: {have.get(role, 0)} node(s) with role {role}, expected {want.get(role, 0)}")
    return problems


def _ranges(values: Mapping[str, Any], p: Mapping[str, Any]) -> tuple[list[str], Any, Any]:
    from ..cni import NODE_NETWORK
    from ..errors import ManifestError
    from ..planning import validate_ranges

    problems: list[str] = []
    nets = {}
    for key in ("podSubnet", "serviceSubnet"):
        text = _subnet(values, key)
        if text is None:
            problems.append(_missing(key))
            continue
        try:
            nets[key] = ipaddress.ip_network(str(text).strip(), strict=True)
        except ValueError:
            loose = None
            try:
                loose = ipaddress.ip_network(str(text).strip(), strict=False)
            except ValueError:
                pass
            problems.append(f"`networking.{key}`: {text!r} " + (f"has host bits set: the network is {loose}" if loose else "is not a CIDR range"))
    if problems:
        return problems, None, None
    pod, svc = nets["podSubnet"], nets["serviceSubnet"]
    if pod.version != 4 or svc.version != 4:
        return ["`networking`: use IPv4 ranges (the lab's nodes are IPv4 only)"], None, None
    nodes = sum(_node_counts(values).values())
    block = int(p.get("node_block", 24))
    blocks = 2 ** (block - pod.prefixlen) if pod.prefixlen <= block else 0
    if blocks < nodes:
        problems.append(f"`networking.podSubnet`: {pod} holds {blocks} /{block} block(s), but each of the {nodes} nodes "
                        f"gets its own /{block} (kube-controller-manager --node-cidr-mask-size): use a /{block - (nodes - 1).bit_length()} or larger")
    low, high = p.get("service_prefix", (12, 28))
    if not int(low) <= svc.prefixlen <= int(high):
        problems.append(f"`networking.serviceSubnet`: {svc} is a /{svc.prefixlen}; the task asks for a /{low} to a /{high}")
    avoid = dict(p.get("avoid", {}))
    try:
        findings = validate_ranges(node_subnet=str(NODE_NETWORK), pod_cidr=str(pod), service_cidr=str(svc), peered=list(avoid.values()))
    except ManifestError as exc:
        raise SpecError(f"kind_config avoid ranges are invalid: {exc}") from None
    labels = {f"peered[{i}]": name for i, name in enumerate(avoid)}
    field = {"pod_cidr": "networking.podSubnet", "service_cidr": "networking.serviceSubnet", "node_subnet": "networking (the kind network)"}
    for f in findings:
        text = f.message
        for ref, name in labels.items():
            text = text.replace(f"({ref})", f"({name})")
        text = (text.replace(f"node_subnet {NODE_NETWORK}", f"the kind network {NODE_NETWORK}")
                .replace("pod_cidr ", "podSubnet ").replace("service_cidr ", "serviceSubnet "))
        problems.append(f"`{field.get(f.field, f.field)}`: {text}")
    return problems, pod, svc


def _lab(pod: Any, svc: Any, p: Mapping[str, Any]) -> list[str]:
    """Run the simulated cluster with these ranges: addresses come from them and traffic flows."""
    from ..cni import get_profile
    from ..lab.sim import SimulatedLab

    profile = dataclasses.replace(get_profile(p.get("profile", "kindnet")), pod_subnet=pod, service_subnet=svc)
    if pod.prefixlen > 24 or 2 ** (24 - pod.prefixlen) < len(profile.node_names):
        return [f"the lab runs {len(profile.node_names)} nodes with a /24 each: {pod} is too small for it"]
    lab = SimulatedLab(profile)
    lab.deploy(p.get("topology", "shop"))
    problems = []
    for pd in lab.pods():
        if pd.ip is None or pd.ip not in pod:
            problems.append(f"pod {pd.ref} got {pd.ip}, outside your podSubnet {pod}")
    dns = next((s for s in lab.services("kube-system") if s.name == "kube-dns"), None)
    if dns is None or ipaddress.ip_address(dns.cluster_ip) != svc[10]:
        problems.append(f"kube-dns should get {svc[10]} (kubeadm: the 10th address of the service subnet), got {dns.cluster_ip if dns else 'nothing'}")
    lab.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    web = next(s for s in lab.services("shop") if s.name == "web")
    if ipaddress.ip_address(web.cluster_ip) not in svc:
        problems.append(f"Service shop/web got {web.cluster_ip}, outside your serviceSubnet {svc}")
    for src, dst, port in (("shop/api", "web.shop", 80), ("shop/web", "vm.internal", 80)):
        r = lab.probe(src, dst, port)
        if r.verdict.value != "allowed":
            problems.append(f"{src} → {dst} {port}/TCP with your ranges: {r.verdict.name}: {r.reason.splitlines()[0]}")
    return problems


@expectation("kind_config")
def kind_config(ctx: Any, p: dict[str, Any]) -> Finding:
    aspects = list(p.get("aspects", ASPECTS))
    unknown = [a for a in aspects if a not in ASPECTS]
    if unknown:
        raise SpecError(f"kind_config: unknown aspects {unknown}; known: {', '.join(ASPECTS)}")
    values = ctx.values
    problems: list[str] = []
    passed = 0
    valid = _valid(values)
    if "valid" in aspects:
        problems += valid
        passed += not valid
    if "nodes" in aspects:
        found = _nodes(values, p.get("nodes", {"control-plane": 1}))
        problems += found
        passed += not found
    if "ranges" in aspects or "lab" in aspects:
        found, pod, svc = _ranges(values, p)
        if "ranges" in aspects:
            problems += found
            passed += not found
        if "lab" in aspects:
            if pod is None or found:
                if "ranges" not in aspects:
                    problems.append("the lab was not started with these ranges: " + (found[0] if found else "they are not valid"))
            else:
                lab_problems = _lab(pod, svc, p)
                problems += lab_problems
                passed += not lab_problems
    problems = list(dict.fromkeys(problems))
    title = f"kind config: {', '.join(aspects)}"
    return Finding("kind_config", title, not problems, tuple(problems), passed_count=passed)


@expectation("nsg_rules")
def nsg_rules(ctx: Any, p: dict[str, Any]) -> Finding:
    """The ``nsg`` answer has (at least) so many rules in a direction."""
    direction = str(p.get("direction", "Inbound"))
    at_least = int(p.get("at_least", 1))
    problems = []
    for name, nsg in ctx.nsgs.items():
        mine = [r for r in nsg.rules if r.direction.value.lower() == direction.lower()]
        if len(mine) < at_least:
            others = ", ".join(f"{r.name} ({r.direction.value})" for r in nsg.rules) or "no rules"
            problems.append(f"`{name}`: expected at least {at_least} {direction} rule(s), found {len(mine)} (it has {others})")
    if not ctx.nsgs:
        raise SpecError("nsg_rules needs a check with format='nsg'")
    return Finding("nsg_rules", f"at least {at_least} {direction} rule(s)", not problems, tuple(problems), passed_count=0 if problems else 1)
