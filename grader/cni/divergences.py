"""Documented differences between network-policy implementations, each with its source.

"Same YAML, different CNI, different result": Microsoft's NPM → Cilium migration guide lists the
cases AKS users hit (``learn.microsoft.com/azure/aks/migrate-from-npm-to-cilium-network-policy``,
``grader.facts.fact("aks-npm-to-cilium-differences")``); upstream issues and docs cover the rest.
The simulated cluster reproduces each of them; this module holds the catalogue and the functions
other parts of the lab call to decide (the Services code calls :func:`external_service_ingress`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ..facts import fact
from ..model import Pod, Protocol
from .profiles import CniProfile

MS_MIGRATION_GUIDE = "https://learn.microsoft.com/azure/aks/migrate-from-npm-to-cilium-network-policy"
AKS_CILIUM = "https://learn.microsoft.com/azure/aks/azure-cni-powered-by-cilium"
CILIUM_CIDR_DOC = "https://docs.cilium.io/en/stable/security/policy/language/#ip-cidr-based"
K8S_EXISTING_CONNECTIONS = "https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-and-existing-connections (kubernetes/website#43438)"
KNP_CONTROLLER = "https://github.com/kubernetes-sigs/kube-network-policies/blob/5f81cc376ba7/pkg/dataplane/controller.go"
CALICO_ESTABLISHED = "https://github.com/projectcalico/calico/issues/2759 and /issues/6399"
CILIUM_CT = "https://github.com/cilium/cilium/pull/2700 (policy is looked up for every packet that is not a reply)"
CILIUM_NAMED_PORTS = "https://github.com/cilium/cilium/issues/30003, fixed by cilium/cilium#44429 and #45760"
AZURE_NPM = "azure-npm"
"""Azure Network Policy Manager: not a profile of this lab (it only runs on AKS), kept as the reference the migration guide compares Cilium with."""


@dataclass(frozen=True, slots=True)
class Divergence:
    id: str
    title: str
    behaviour: tuple[tuple[str, str], ...]
    """(implementation, what it does): implementations are ``kindnet``, ``calico``, ``cilium``, ``azure-npm``."""
    sources: tuple[str, ...]

    def for_cni(self, cni: str) -> str:
        return dict(self.behaviour).get(cni, "")


DIVERGENCES: tuple[Divergence, ...] = (
    Divergence(
        "ipblock-cluster-addresses",
        "ipBlock and in-cluster addresses (even 0.0.0.0/0)",
        (("kindnet", "ipBlock matches pod and node IPs like any other address"),
         ("calico", "ipBlock matches pod and node IPs like any other address"),
         ("cilium", "ipBlock never selects pods or nodes, even 0.0.0.0/0: use namespaceSelector {} / podSelector {} "
                    "for pods and a CiliumNetworkPolicy toEntities [host, remote-node] for nodes"),
         (AZURE_NPM, "ipBlock 0.0.0.0/0 also covers pod and node IPs")),
        (MS_MIGRATION_GUIDE, AKS_CILIUM, CILIUM_CIDR_DOC),
    ),
    Divergence(
        "existing-connections",
        "A new deny and connections that are already open",
        (("kindnet", "policy is checked on the first packet of a new connection only: open connections survive"),
         ("calico", "established connections are accepted by conntrack before policy: open connections survive"),
         ("cilium", "policy is looked up for every packet that is not a reply: an open connection is cut at once")),
        (K8S_EXISTING_CONNECTIONS, KNP_CONTROLLER, CALICO_ESTABLISHED, CILIUM_CT),
    ),
    Divergence(
        "named-ports-egress",
        "Egress rules with a named port when pods use the same name for different numbers",
        (("kindnet", "the name resolves against the destination pod's ports"),
         ("calico", "the name resolves against the destination pod's ports"),
         ("cilium", "since Cilium 1.20 the name resolves per destination identity; before, the name was looked up across "
                    "every pod of the cluster and a rule whose name maps to different numbers was skipped "
                    "(Microsoft: replace named ports by numbers)")),
        (CILIUM_NAMED_PORTS, MS_MIGRATION_GUIDE),
    ),
    Divergence(
        "nodeport-vs-deny-all",
        "NodePort / LoadBalancer traffic to a pod behind a deny-all ingress policy (externalTrafficPolicy: Cluster)",
        (("kindnet", "kube-proxy SNATs to the receiving node; the policy sees that node: allowed when the backend runs "
                     "there (traffic from a pod's own node is always allowed), blocked otherwise"),
         ("calico", "as kindnet: the policy sees the receiving node after kube-proxy's SNAT"),
         ("cilium", "Cilium enforces ingress policy on service traffic too: a deny-all blocks NodePort and LoadBalancer traffic"),
         (AZURE_NPM, "not subject to ingress policy: NodePort and LoadBalancer traffic passes a deny-all")),
        (MS_MIGRATION_GUIDE,),
    ),
    Divergence(
        "egress-to-own-node",
        "Egress policies and the pod's own node",
        (("kindnet", "egress to the node's IP needs an allow rule like any destination"),
         ("calico", "egress to the node's IP needs an allow rule like any destination"),
         ("cilium", "egress to the node needs a CiliumNetworkPolicy toEntities: [host] (ipBlock cannot select it)"),
         (AZURE_NPM, "egress to the pod's own node is implicitly allowed")),
        (MS_MIGRATION_GUIDE,),
    ),
)


def divergences_for(profile: CniProfile) -> list[tuple[Divergence, str]]:
    """Every divergence with what ``profile`` does."""
    return [(d, d.for_cni(profile.cni)) for d in DIVERGENCES if d.for_cni(profile.cni)]


def version_tuple(text: str) -> tuple[int, ...]:
    """``"v1.18.9"`` -> ``(1, 18, 9)``; unparseable parts count as 0."""
    out = []
    for part in text.lstrip("v").split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


# -- established connections ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EstablishedBehaviour:
    survives_policy_change: bool
    reason: str
    sources: tuple[str, ...]


def established_connections(profile: CniProfile) -> EstablishedBehaviour:
    """What a policy change does to a connection that is already open on ``profile``."""
    if profile.policy_on_established:
        return EstablishedBehaviour(False, "Cilium looks policy up for every packet that is not a reply, so a new deny "
                                           "cuts the open connection (cilium/cilium#2700)", (CILIUM_CT, K8S_EXISTING_CONNECTIONS))
    if profile.cni == "calico":
        return EstablishedBehaviour(True, "Calico accepts packets of established connections on conntrack before it "
                                          "evaluates policy, so the open connection lives on (projectcalico/calico#2759)",
                                    (CALICO_ESTABLISHED, K8S_EXISTING_CONNECTIONS))
    return EstablishedBehaviour(True, "kindnet (kube-network-policies) decides on the first packet of a new connection "
                                      "only, so the open connection lives on", (KNP_CONTROLLER, K8S_EXISTING_CONNECTIONS,
                                                                                  *fact("kindnet-new-connections-only").sources))


# -- named ports ---------------------------------------------------------------------------------------
class NamedPortResolution(StrEnum):
    DESTINATION_POD = "destination-pod"
    """The NetworkPolicy spec: a named port resolves against the destination pod's container ports."""
    CLUSTER_WIDE_EGRESS = "cluster-wide-egress"
    """Cilium before 1.20: egress names resolve across all pods; a name with several numbers skips the rule."""


def named_port_resolution(profile: CniProfile) -> NamedPortResolution:
    fixed_in = version_tuple(str(fact("cilium-named-port-egress-fix").value))
    if profile.cni == "cilium" and profile.cni_version and version_tuple(profile.cni_version) < fixed_in:
        return NamedPortResolution.CLUSTER_WIDE_EGRESS
    return NamedPortResolution.DESTINATION_POD


def cluster_named_ports(pods: Iterable[Pod]) -> dict[tuple[str, Protocol], tuple[int, ...]]:
    """Every (port name, protocol) declared in the cluster with the numbers it maps to (Cilium's NamedPortMultiMap)."""
    found: dict[tuple[str, Protocol], set[int]] = defaultdict(set)
    for pod in pods:
        for p in pod.ports:
            if p.name:
                found[(p.name, p.protocol)].add(p.port)
    return {k: tuple(sorted(v)) for k, v in sorted(found.items())}


# -- NodePort / LoadBalancer traffic and ingress policy -------------------------------------------------
class SeenSource(StrEnum):
    CLIENT = "client"
    """The pod's ingress policy sees the original client address."""
    RECEIVING_NODE = "receiving-node"
    """It sees the node that received the NodePort/LoadBalancer traffic (SNAT by kube-proxy or Cilium)."""


@dataclass(frozen=True, slots=True)
class ServiceIngressView:
    """How ingress policy treats traffic that arrived through a NodePort or LoadBalancer Service."""

    policy_applies: bool
    seen_source: SeenSource
    reason: str
    sources: tuple[str, ...]


def external_service_ingress(
    implementation: CniProfile | str, *, external_traffic_policy: str = "Cluster", backend_on_receiving_node: bool,
) -> ServiceIngressView:
    """Whether, and with which source, the backend pod's ingress policy judges NodePort/LoadBalancer traffic.

    ``implementation`` is a profile, or ``"azure-npm"`` for the AKS reference the migration guide
    compares with. The caller (the Services code) then evaluates the pod's ingress policy with the
    client or with the receiving node as the source, as ``seen_source`` says, unless
    ``policy_applies`` is False.
    """
    etp = external_traffic_policy
    if etp not in ("Cluster", "Local"):
        raise ValueError(f"externalTrafficPolicy must be Cluster or Local, got {etp!r}")
    kube_proxy_snat = ("kube-proxy masquerades externalTrafficPolicy: Cluster traffic to the receiving node's address "
                       "(kubernetes.io/docs/tutorials/services/source-ip/)")
    if implementation == AZURE_NPM:
        if etp == "Cluster":
            return ServiceIngressView(False, SeenSource.RECEIVING_NODE,
                                      "Azure NPM does not apply ingress policy to NodePort/LoadBalancer traffic with "
                                      "externalTrafficPolicy: Cluster: it passes even a deny-all", (MS_MIGRATION_GUIDE,))
        return ServiceIngressView(True, SeenSource.CLIENT, "externalTrafficPolicy: Local keeps the client address; the policy judges it",
                                  (MS_MIGRATION_GUIDE,))
    assert isinstance(implementation, CniProfile)
    profile = implementation
    if etp == "Local":
        return ServiceIngressView(True, SeenSource.CLIENT, "externalTrafficPolicy: Local keeps the client address and only "
                                                           "node-local backends answer; the pod's ingress policy judges the client",
                                  ("https://kubernetes.io/docs/concepts/services-networking/service/#traffic-policies",))
    if profile.kube_proxy_replacement:
        # Cilium's eBPF NodePort: no SNAT for a backend on the receiving node (the client address stays),
        # SNAT to the node for a remote backend (loadBalancer.mode=snat, the default); policy applies either way.
        seen = SeenSource.CLIENT if backend_on_receiving_node else SeenSource.RECEIVING_NODE
        return ServiceIngressView(True, seen, "Cilium enforces ingress policy on NodePort/LoadBalancer traffic; with kube-proxy "
                                              "replacement the client address is kept for a local backend and SNATed to the "
                                              "receiving node for a remote one",
                                  (MS_MIGRATION_GUIDE, "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/"))
    return ServiceIngressView(True, SeenSource.RECEIVING_NODE,
                              f"{kube_proxy_snat}; the {profile.cni} policy engine then judges the pod's ingress with that node as "
                              "the source (traffic from the pod's own node is always allowed)",
                              ("https://kubernetes.io/docs/tutorials/services/source-ip/",
                               "https://kubernetes.io/docs/concepts/services-networking/network-policies/"))
