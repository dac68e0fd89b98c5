"""The lab's external hosts on kind, as real containers next to the cluster.

Every lab has four machines outside the cluster (``grader/lab/results.py``
``default_external_hosts``); every lesson probes them. On kind they are built like this:

``host``
    the learner's machine itself: the ``kind`` Docker network's gateway (172.18.0.1 as a rule).
    Nothing to create; ``lab.probe("host", ...)`` runs on this machine (``grader.kind.hostnet``).

``vm.internal``
    an agnhost netexec container on the ``kind`` network (the node network), serving HTTP on 80
    and HTTPS on 443 (netexec upgrades its one server to HTTPS with ``--tls-cert-file``; the
    image ships ``/localhost.crt`` and ``/localhost.key``, so two netexec processes run), with the
    address ``.100`` of the network's subnet. kind creates that network with an IPv6 subnet only
    and lets Docker pick the IPv4 one (kind ``pkg/cluster/internal/providers/docker/network.go``),
    and Docker accepts ``--ip`` only "when connecting to networks with user configured subnets"
    (moby ``validateNetworkingConfig``; moby#45806), so the container joins with an address
    Docker picks and a helper replaces it with ``.100`` inside the container (the next free one
    of ``.100``-``.199`` when another container already holds it). libnetwork's default IPAM gives
    a container the first free address of a local network (serial allocation is only asked for by
    swarm), so Docker itself reaches ``.100`` only with ~100 containers attached; ``ensure``
    checks again each time and moves the VM (and its DNS name) if it must. For ``calico-bgp`` the VM gets a route to each node's
    Calico block via that node (``ip route ... proto bgp``): the routes a BGP peer of the cluster
    learns, since the pool has ``natOutgoing: Disabled`` and BGP on (Calico "Configure BGP
    peering"). Its default route is removed: it reaches the node network, the lab's internet and
    pods it has routes to, and nothing of the real world.

``api.example.com`` (203.0.113.10), ``blocked.example.net`` (198.51.100.20)
    "the internet": one agnhost netexec container each, on a Docker network of its own with the
    documentation subnet (``203.0.113.0/24``, ``198.51.100.0/24``; RFC 5737), at the address the
    simulated cluster uses, so ipBlock rules written for the lessons match on both backends.
    Docker installs rules so that "containers connected to different bridge networks can only
    communicate with each other using published ports" (docs.docker.com engine/network/drivers/
    bridge), so the nodes cannot reach those networks through the host. Each internet container
    therefore also joins the ``kind`` network, and every node (and ``vm.internal``) gets a route
    ``203.0.113.0/24 via <that container's kind address>``: what an AKS subnet's route table
    does when it sends internet traffic to a gateway. The host itself reaches the documentation
    subnets directly over their bridges (Docker "allows unrestricted network access to
    containers in the network from the host").

    The simulated cluster's gateway masquerades the node network to one public address, the edge
    address 192.0.2.1 (``grader/cni/datapath.py``). The same rewrite happens in each internet
    container: an iptables rule ``nat INPUT -s <kind subnet> -j SNAT --to-source 192.0.2.1``
    ("SNAT ... is only valid in the nat table, in the POSTROUTING and INPUT chains",
    iptables-extensions(8)), and the same for the host's address on the documentation bridge,
    so netexec's ``/clientip`` reports 192.0.2.1 for the nodes, for pods whose node masqueraded
    them, for ``vm.internal`` and for ``host``. Sources the gateway would not masquerade (pod
    addresses of ``calico-bgp``, natOutgoing off) are left as they are and get no reply: the
    container has no route back (its default route is removed), which is what the simulation
    says ("the reply can never find its way back") and keeps such replies off the learner's LAN.

Containers are configured by a one-shot helper that shares their network namespace
(``docker run --rm --network container:<c> --cap-add NET_ADMIN``) and runs ``ip`` and
``iptables`` from the kind node image (pinned in facts.yaml, already on the machine): the servers
themselves run without extra capabilities. A netns lives as long as its container runs, so each
container keeps a note of its configuration in a tmpfs (empty again after a restart) and
``ensure`` reconfigures when the note is missing or stale.

Ownership: the containers and networks carry ``app.kubernetes.io/managed-by=netlab``; they are
shared by every course cluster on the ``kind`` network (one node network, like one VNet) and
removed with the last one. Per cluster: the node routes and the CoreDNS ``hosts`` block
(``grader.kind.coredns``), removed by :meth:`ExternalHosts.detach`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import LabError
from ..facts import fact
from ..model import ExternalHost
from ._run import CommandError, _run
from .coredns import patch_corefile, restore_corefile
from .external_layout import (
    BGP_PROTO,
    EXEC_TIMEOUT,
    HOST_LABEL,
    KIND_NETWORK,
    STATE_FILE,
    VM_NAME,
    DockerNetwork,
    Layout,
    Route,
    container_name,
    helper_argv,
    internet_hosts,
    internet_script,
    network_create_argv,
    node_routes_removal_script,
    node_routes_script,
    note,
    parse_network,
    parse_routes,
    pod_routes_script,
    run_argv,
    vm_address,
    vm_script,
)


class ExternalHosts:
    """Create, configure and remove the external hosts (``ensure`` is idempotent); attach a cluster
    (node routes, CoreDNS names) and detach it again."""

    def __init__(self, docker: str = "docker", *, image: str | None = None, helper_image: str | None = None) -> None:
        from .workloads import agnhost_image

        self.docker = docker
        self.image = image or agnhost_image()
        self.helper_image = helper_image or str(fact("kind-node-image").value)
        self._layout: Layout | None = None

    # -- reading --------------------------------------------------------------------------------
    def _docker(self, *args: str, timeout: float = 60.0, check: bool = True) -> Any:
        return _run([self.docker, *args], timeout=timeout, check=check)

    def kind_network(self) -> DockerNetwork:
        done = self._docker("network", "inspect", KIND_NETWORK, timeout=30, check=False)
        if not done.ok:
            raise CommandError(done.argv, done.returncode, done.stdout, done.stderr,
                               "the Docker network `kind` does not exist yet: kind creates it with the first cluster (`netlab up`)")
        return parse_network(json.loads(done.stdout or "[]"))

    def inventory(self) -> dict[str, tuple[str, str]]:
        """Container name -> (state, image) of every external host container."""
        done = self._docker("ps", "--all", "--filter", f"label={HOST_LABEL}", "--format", "{{.Names}}\t{{.State}}\t{{.Image}}", timeout=30)
        out = {}
        for line in done.stdout.splitlines():
            name, state, image = ([*line.split("\t"), "", ""])[:3]
            if name.strip():
                out[name.strip()] = (state.strip(), image.strip())
        return out

    def states(self) -> dict[str, str]:
        """Container name -> state (``running``, ``exited``...) of every external host container."""
        return {name: state for name, (state, _) in self.inventory().items()}

    def networks(self) -> set[str]:
        done = self._docker("network", "ls", "--filter", f"label={HOST_LABEL}", "--format", "{{.Name}}", timeout=30)
        return {line.strip() for line in done.stdout.splitlines() if line.strip()}

    def layout(self, network: DockerNetwork | None = None) -> Layout:
        """Where the hosts are now (reads the kind network; changes nothing)."""
        net = network or self.kind_network()
        hops = tuple(sorted((h.name, ip) for h in internet_hosts() if (ip := net.address_of(h.container)) is not None))
        self._layout = Layout(net, vm_address(net), hops)
        return self._layout

    def hosts(self) -> tuple[ExternalHost, ...]:
        """The hosts with their addresses (read once, then kept until :meth:`forget`)."""
        return (self._layout or self.layout()).hosts()

    def forget(self) -> None:
        """Read the addresses again next time (they move when Docker's network or a container is re-created)."""
        self._layout = None

    # -- shared part: containers and networks -----------------------------------------------------
    def ensure(self) -> Layout:
        """Create what is missing, start what stopped, configure what lost its configuration."""
        states = self.inventory()
        networks = self.networks()
        changed = False
        for host in internet_hosts():
            if host.network not in networks:
                _run(network_create_argv(host, self.docker), timeout=60)
            changed |= self._ensure_container(host.name, states, host.network, ip=host.address)
        net = self.kind_network()
        for host in internet_hosts():
            if net.address_of(host.container) is None:
                self._docker("network", "connect", KIND_NETWORK, host.container, timeout=60)
                changed = True
        changed |= self._ensure_container(VM_NAME, states, KIND_NETWORK)
        if changed:
            net = self.kind_network()
        layout = self.layout(net)
        missing = [h.name for h in layout.internet if h.name not in dict(layout.next_hops)]
        if missing:
            raise LabError(f"{', '.join(missing)}: the container is not on the kind network after `docker network connect kind`")
        self._configure(container_name(VM_NAME), vm_script(net, layout.vm, layout.internet_routes()))
        for host in layout.internet:
            self._configure(host.container, internet_script(host, net))
        return layout

    def _ensure_container(self, host: str, states: Mapping[str, tuple[str, str]], network: str, *,
                          ip: ipaddress.IPv4Address | None = None) -> bool:
        name = container_name(host)
        state, image = states.get(name, ("", ""))
        if state and image != self.image:  # the pinned agnhost changed (facts.yaml): a new container
            self._docker("rm", "--force", name, timeout=120)
            state = ""
        if state == "running":
            return False
        if state:
            self._docker("start", name, timeout=60)
        else:
            _run(run_argv(host, network, self.image, ip=ip, docker=self.docker), timeout=300)
        return True

    def _configure(self, container: str, script: str) -> bool:
        """Run ``script`` in ``container``'s netns unless its note says it did since the container
        started; True when it ran."""
        want = note(script)
        current = self._docker("exec", container, "cat", STATE_FILE, timeout=30, check=False)
        if current.ok and current.stdout.strip() == want:
            return False
        _run(helper_argv(container, script, image=self.helper_image, docker=self.docker), timeout=EXEC_TIMEOUT)
        self._docker("exec", container, "/bin/sh", "-c", f'printf "%s\\n" "$1" > {STATE_FILE}', "sh", want, timeout=30)
        return True

    def remove(self) -> list[str]:
        """Remove every container and network of the external hosts (when no course cluster is left)."""
        removed = []
        names = sorted(self.states())
        if names:
            self._docker("rm", "--force", *names, timeout=120)
            removed += names
        nets = sorted(self.networks())
        if nets:
            self._docker("network", "rm", *nets, timeout=60)
            removed += nets
        self._layout = None
        return removed

    # -- per cluster ---------------------------------------------------------------------------------
    def attach(self, nodes: Sequence[str], kubectl: Any, layout: Layout | None = None) -> bool:
        """Routes to the lab's internet on every node; the lab's names in CoreDNS. True when CoreDNS changed."""
        layout = layout or self._layout or self.layout()
        script = node_routes_script(layout.internet_routes())
        for node in nodes:
            self._docker("exec", node, "/bin/sh", "-c", script, timeout=EXEC_TIMEOUT)
        return self.set_dns(kubectl, layout.dns_entries())

    def detach(self, nodes: Sequence[str], kubectl: Any, *, calico_bgp: bool = False) -> None:
        """Undo :meth:`attach` (and, for calico-bgp, the VM's routes into the cluster)."""
        script = node_routes_removal_script(h.subnet for h in internet_hosts())
        for node in nodes:
            self._docker("exec", node, "/bin/sh", "-c", script, timeout=EXEC_TIMEOUT, check=False)
        self.set_dns(kubectl, None)
        if calico_bgp:
            self.sync_pod_routes(())

    def set_dns(self, kubectl: Any, entries: Mapping[str, str] | None) -> bool:
        """Write ``entries`` into CoreDNS's Corefile (None: restore it); restart CoreDNS when it changed."""
        doc = kubectl.get_json("configmap", "coredns", "-n", "kube-system")
        if doc is None:
            raise LabError("the cluster has no kube-system/coredns ConfigMap: the lab's names cannot be added to its DNS")
        text = str((doc.get("data") or {}).get("Corefile", ""))
        new = restore_corefile(text) if entries is None else patch_corefile(text, entries)
        if new == text:
            return False
        kubectl.run("-n", "kube-system", "patch", "configmap", "coredns", "--type", "merge",
                    "-p", json.dumps({"data": {"Corefile": new}}), timeout=60)
        # The reload plugin would pick the change up too, once the kubelet has refreshed the mounted
        # ConfigMap (up to a minute); a restart makes the names answer as soon as it is done.
        kubectl.run("-n", "kube-system", "rollout", "restart", "deployment/coredns", timeout=60)
        kubectl.run("-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=180s", timeout=200)
        return True

    def pod_routes(self) -> tuple[Route, ...] | None:
        """The VM's routes to pod blocks now (None when the VM is not running)."""
        done = self._docker("exec", container_name(VM_NAME), "ip", "-4", "route", "show", "proto", str(BGP_PROTO), timeout=30, check=False)
        return parse_routes(done.stdout) if done.ok else None

    def sync_pod_routes(self, routes: Iterable[Route]) -> bool:
        """Give the VM exactly ``routes`` to pod blocks (calico-bgp); True when they changed."""
        want = tuple(sorted(set(routes)))
        have = self.pod_routes()
        if have is None or have == want:
            return False
        _run(helper_argv(container_name(VM_NAME), pod_routes_script(want), image=self.helper_image, docker=self.docker), timeout=EXEC_TIMEOUT)
        return True

    # -- probes from the VM ---------------------------------------------------------------------------
    def exec_in_vm(self, command: Sequence[str], timeout: float = 30.0) -> tuple[int | None, str, str, str]:
        """(exit code, stdout, stderr, error) of ``command`` run in the VM (``docker exec``); the exit
        code is None when the command did not run at all."""
        try:
            done = self._docker("exec", container_name(VM_NAME), *command, timeout=timeout, check=False)
        except CommandError as exc:
            return None, "", "", str(exc).splitlines()[0]
        if done.returncode != 0 and "error response from daemon" in done.stderr.lower():
            return None, done.stdout, done.stderr, done.stderr.strip().splitlines()[-1]
        return done.returncode, done.stdout, done.stderr, ""


__all__ = ["ExternalHosts"]
