"""A fake kind / docker / kubectl / helm / cilium for tests (see the ``fakes`` fixture in conftest.py).

The executables on PATH are small POSIX sh clients that hand their argv, stdin and KUBECONFIG to
:func:`run` in the test process and replay its stdout, stderr and exit code (a Python interpreter
per call made the kind tests slow). Which tool it is comes from the executable's name. It records
every argv (and stdin) as a JSON line in $FAKE_LOG and keeps the world (clusters, containers,
images, objects) in $FAKE_STATE, answering with the real tools' output formats and exit codes
(research/kind.md §9):

* kind: ``kind version`` -> ``kind vX go1.24.5 linux/amd64``; ``get clusters`` with none -> empty
  stdout + ``No kind clusters found.`` on stderr, exit 0; errors -> ``ERROR: ...`` on stderr, exit 1;
  create progress on stderr; ``--wait`` timeout is a warning with exit 0; ``export logs`` prints the dir.
* docker: ``docker info`` fails with the daemon message when the engine is down. Networks and
  containers are modelled as Docker has them: ``kind create cluster`` makes the ``kind`` network
  the way kind does (IPv4 subnet chosen by Docker, so ``--ip`` there fails with Docker's message),
  addresses are the lowest free ones, ``docker network create --subnet`` refuses overlapping pools,
  a container's tmpfs is empty again after ``docker start``. ``docker exec`` and the one-shot
  ``docker run --rm --network container:<c>`` helpers interpret ``ip route`` lines (replace, del,
  flush proto, show proto) on a per-container route table; other exec'd commands answer what
  ``state["exec_replies"][container]`` says.
* kubectl: NotFound errors as ``Error from server (NotFound): ...``, exit 1. Each cluster has
  kubeadm's ``coredns`` ConfigMap (patched with ``kubectl patch --type merge``) and, for tests
  that set them, Calico ``blockaffinities``.
"""

import contextlib
import io
import json
import os
import sys
from pathlib import Path

# Set per call by run() (the fakes answer one call at a time).
TOOL = ""
ARGS: list = []
STATE_FILE = Path()
ENV: dict = {}


def load():
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def save(state):
    STATE_FILE.write_text(json.dumps(state, indent=1, sort_keys=True))


def record(stdin=None):
    with open(ENV["FAKE_LOG"], "a") as fh:
        fh.write(json.dumps({"tool": TOOL, "argv": ARGS, "stdin": stdin, "kubeconfig_env": ENV.get("KUBECONFIG")}) + "\n")


def flag(name, default=None):
    for i, a in enumerate(ARGS):
        if a == name and i + 1 < len(ARGS):
            return ARGS[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


def fail_if_asked(state):
    words = [TOOL, *ARGS]
    for pattern, (code, err) in (state.get("fail") or {}).items():
        if all(w in words for w in pattern.split()):  # every word of the pattern is in the argv
            die(err, code)


try:
    from support.corefiles import KUBEADM_COREFILE
except ImportError:  # run as a stand-alone executable: tests/ is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from support.corefiles import KUBEADM_COREFILE


def _networks(state):
    return state.setdefault("networks", {})


def ensure_kind_network(state):
    nets = _networks(state)
    if "kind" not in nets:
        subnet = state.get("kind_subnet", "172.18.0.0/16")
        import ipaddress

        gateway = str(ipaddress.ip_network(subnet)[1])
        nets["kind"] = {"subnet": subnet, "gateway": gateway, "user_subnet": False, "labels": {}, "endpoints": {}}
    return nets["kind"]


def attach(state, network, container, ip=None):
    """Give ``container`` an address on ``network`` (the lowest free one, as Docker's IPAM does)."""
    import ipaddress

    net = _networks(state)[network]
    if ip is not None:
        if not net["user_subnet"]:
            die("docker: Error response from daemon: user specified IP address is supported only when connecting to networks with user configured subnets.")
        if ip in net["endpoints"].values():
            die("docker: Error response from daemon: Address already in use.")
        net["endpoints"][container] = ip
        return ip
    taken = set(net["endpoints"].values()) | {net["gateway"]} | set(state.get("kind_reserved", []) if network == "kind" else [])
    for host in ipaddress.ip_network(net["subnet"]).hosts():
        if str(host) not in taken:
            net["endpoints"][container] = str(host)
            return str(host)
    die("docker: Error response from daemon: no available IPv4 addresses on this network's address pools")


def detach_everywhere(state, container):
    for net in _networks(state).values():
        net["endpoints"].pop(container, None)


def ip_route(routes, line):
    """Apply one ``ip route`` / ``ip -4 route`` line to ``routes`` ({destination: "via X [proto N]"})."""
    words = [w for w in line.split() if w != "-4"]
    if words[:2] != ["ip", "route"]:
        return None
    verb = words[2] if len(words) > 2 else "show"
    if verb == "replace":
        rest = words[4:]
        routes[words[3]] = " ".join(rest)
    elif verb == "del":
        if words[3] not in routes:
            return "RTNETLINK answers: No such process"
        routes.pop(words[3])
    elif verb == "flush" and words[3:5] == ["proto", words[4]]:
        for dest in [d for d, v in routes.items() if v.endswith(f"proto {words[4]}")]:
            routes.pop(dest)
    elif verb == "show":
        proto = words[4] if words[3:4] == ["proto"] else None
        lines = [f"{d} {v.replace(f' proto {proto}', '')} dev eth0" for d, v in sorted(routes.items()) if proto is None or v.endswith(f"proto {proto}")]
        return "\n".join(lines) + ("\n" if lines else "")
    return ""


def run_script(state, container, script):
    """The ``ip route`` lines of a script, on ``container``'s route table; other lines are recorded."""
    routes = state.setdefault("routes", {}).setdefault(container, {})
    out = []
    for raw in script.splitlines():
        line = raw.split(" 2>/dev/null")[0].strip()
        if line.startswith("ip ") and " route " in f" {line} ":
            result = ip_route(routes, line)
            if result:
                out.append(result)
    state.setdefault("scripts", {}).setdefault(container, []).append(script)
    return "".join(out)


def kubeconfig_yaml(name):
    return (
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: AAAA\n"
        f"    server: https://127.0.0.1:40123\n  name: kind-{name}\ncontexts:\n- context:\n"
        f"    cluster: kind-{name}\n    user: kind-{name}\n  name: kind-{name}\ncurrent-context: kind-{name}\n"
        f"kind: Config\npreferences: {{}}\nusers:\n- name: kind-{name}\n  user:\n    client-certificate-data: AAAA\n"
        "    client-key-data: AAAA\n"
    )


def pinned_images():
    """The image references the project pins (grader/data/facts.yaml): the only ones the fake registry
    serves, so an unverified tag fails offline as it would live (``manifest unknown``)."""
    import yaml

    facts = yaml.safe_load((Path(__file__).resolve().parents[2] / "grader/data/facts.yaml").read_text())["facts"]
    refs = {str(facts[k]["value"]) for k in ("kind-node-image", "agnhost-image", "cloud-provider-kind-image") if k in facts}
    return refs | {r.split("@", 1)[0] for r in refs if "@" in r}


def kubeadm_version_too_new(kind_version, image):
    """kind < v0.32 with a node image of Kubernetes 1.36 or later (kubeadm v1beta3 removed)."""
    import re

    k = re.match(r"v?(\d+)\.(\d+)", kind_version)
    n = re.search(r":v1\.(\d+)", image)
    return bool(k and n and (int(k[1]), int(k[2])) < (0, 32) and int(n[1]) >= 36)


DOCKER_HOSTS = {
    # `docker info --format '{{json .}}'` fields that differ per host (docker/cli cli/command/system/info.go
    # prints these fields of the engine's /info; values as Docker Desktop and the engine report them).
    "linux": {"OperatingSystem": "Ubuntu 24.04 LTS", "OSType": "linux", "Architecture": "x86_64", "KernelVersion": "6.8.0-49-generic",
              "SecurityOptions": ["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"]},
    "desktop-mac": {"OperatingSystem": "Docker Desktop", "OSType": "linux", "Architecture": "aarch64", "KernelVersion": "6.10.14-linuxkit",
                    "SecurityOptions": ["name=seccomp,profile=unconfined", "name=cgroupns"]},
    "desktop-wsl2": {"OperatingSystem": "Docker Desktop", "OSType": "linux", "Architecture": "x86_64",
                     "KernelVersion": "5.15.167.4-microsoft-standard-WSL2", "SecurityOptions": ["name=seccomp,profile=unconfined", "name=cgroupns"]},
    "rootless": {"OperatingSystem": "Ubuntu 24.04 LTS", "OSType": "linux", "Architecture": "x86_64", "KernelVersion": "6.8.0-49-generic",
                 "SecurityOptions": ["name=seccomp,profile=builtin", "name=rootless", "name=cgroupns"]},
    "arm64": {"OperatingSystem": "Ubuntu 24.04 LTS", "OSType": "linux", "Architecture": "aarch64", "KernelVersion": "6.8.0-49-generic",
              "SecurityOptions": ["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"]},
}


def kind(state):
    if ARGS[:1] == ["version"]:
        print(f"kind {state.get('kind_version', 'v0.33.0')} go1.24.5 linux/amd64")
        return
    clusters = state.setdefault("clusters", {})
    name = flag("--name") or flag("-n") or "kind"
    if ARGS[:2] == ["get", "clusters"]:
        if not clusters:
            sys.stderr.write("No kind clusters found.\n")
        for c in sorted(clusters):
            print(c)
        return
    if ARGS[:2] == ["get", "nodes"]:
        # kind pkg/cmd/kind/get/nodes/nodes.go:100: no nodes is a notice on stderr, exit 0
        if name not in clusters:
            sys.stderr.write(f'No kind nodes found for cluster "{name}".\n')
            return
        for n in clusters[name]["nodes"]:
            print(n)
        return
    if ARGS[:2] == ["get", "kubeconfig"]:
        if name not in clusters:
            die(f"ERROR: could not locate any control plane nodes for cluster named '{name}'. Use the --name option to select a different cluster")
        if clusters[name].get("partial"):  # kubeadm init never ran: no admin.conf on the node
            die(f'ERROR: failed to get cluster internal kubeconfig: command "docker exec --privileged {name}-control-plane cat /etc/kubernetes/admin.conf" '
                "failed with error: exit status 1\nCommand Output: cat: /etc/kubernetes/admin.conf: No such file or directory")
        sys.stdout.write(kubeconfig_yaml(name))
        return
    if ARGS[:2] == ["create", "cluster"]:
        if name in clusters:
            die(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"')
        import yaml

        config = yaml.safe_load(Path(flag("--config")).read_text())
        roles = [n.get("role", "control-plane") for n in config.get("nodes", [{}])]
        nodes, workers = [], 0
        for role in roles:
            if role == "control-plane":
                nodes.append(f"{name}-control-plane")
            else:
                workers += 1
                nodes.append(f"{name}-worker" + ("" if workers == 1 else str(workers)))
        labels = (config.get("nodes") or [{}])[0].get("labels") or {}
        image = flag("--image") or "kindest/node:v1.37.0"
        if image not in state.get("images", []) and image not in pinned_images():
            die(f'ERROR: failed to create cluster: failed to pull image "{image}": command "docker pull {image}" failed with error: exit status 1\n'
                f"Command Output: Error response from daemon: manifest for {image} not found: manifest unknown: manifest unknown")
        ensure_kind_network(state)
        ips = [attach(state, "kind", node) for node in nodes]
        clusters[name] = {"nodes": nodes, "ips": ips, "labels": labels, "config": config, "image": image,
                          "corefile": KUBEADM_COREFILE, "partial": True}
        save(state)  # the node containers exist from here on (kind pkg/cluster/internal/create/create.go: provision, then actions)
        sys.stderr.write(f'Creating cluster "{name}" ...\n ✓ Ensuring node image ({image}) 🖼\n ✓ Preparing nodes 📦 📦 📦\n')
        if state.get("create_hangs"):
            # Killed here (timeout, Ctrl+C): kind has no signal handling (no signal.Notify in pkg/cmd), so
            # the node containers stay, and `kind get clusters` lists the half-made cluster.
            import time

            time.sleep(float(state["create_hangs"]))
            die("ERROR: failed to create cluster: context deadline exceeded")
        if kubeadm_version_too_new(state.get("kind_version", "v0.33.0"), image):
            # kind <= v0.31 writes kubeadm.k8s.io/v1beta3 (pkg/cluster/internal/kubeadm/config.go@v0.31.0 L505-507),
            # which kubeadm 1.36+ refuses (kubernetes#136016); on an action error kind deletes the nodes
            # unless --retain (create.go L102-108).
            if "--retain" not in ARGS:
                for node in nodes:
                    detach_everywhere(state, node)
                clusters.pop(name)
            save(state)
            die(" ✗ Starting control-plane 🕹️\n"
                f'ERROR: failed to create cluster: failed to init node with kubeadm: command "docker exec --privileged {name}-control-plane '
                'kubeadm init --config=/kind/kubeadm.conf --skip-token-print --v=6" failed with error: exit status 1\n'
                'Command Output: your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta3" is no longer supported. '
                "Please use kubeadm v1.35 instead and run 'kubeadm config migrate --old-config old-config-file --new-config new-config-file', "
                "which will write the new, similar spec using a newer API version.")
        clusters[name].pop("partial")
        Path(flag("--kubeconfig")).write_text(kubeconfig_yaml(name))
        if flag("--wait"):
            if state.get("wait_times_out"):
                sys.stderr.write(" • Waiting ≤ 2m0s for control-plane = Ready ⏳\n • WARNING: Timed out waiting for Ready ⚠️\n")
            else:
                sys.stderr.write(" ✓ Waiting ≤ 2m0s for control-plane = Ready ⏳\n • Ready after 15s 💚\n")
        sys.stderr.write(f'Set kubectl context to "kind-{name}"\n')
        save(state)
        return
    if ARGS[:2] == ["delete", "cluster"]:
        sys.stderr.write(f'Deleting cluster "{name}" ...\n')
        for node in (clusters.get(name) or {}).get("nodes", []):
            detach_everywhere(state, node)
            (state.get("routes") or {}).pop(node, None)
        clusters.pop(name, None)
        (state.get("markers") or {}).pop(name, None)
        save(state)
        return
    if ARGS[:2] == ["load", "docker-image"]:
        if name not in clusters:
            die(f'ERROR: no nodes found for cluster "{name}"')
        if state.get("containerd_store"):
            die(f'ERROR: failed to load image: command "docker exec --privileged -i {name}-control-plane ctr --namespace=k8s.io images import --all-platforms --digests --snapshotter=overlayfs -" failed with error: exit status 1\n'
                "Command Output: ctr: content digest sha256:4f2a: not found")
        state.setdefault("loaded", []).append([name, ARGS[2]])
        save(state)
        return
    if ARGS[:2] == ["load", "image-archive"]:
        state.setdefault("loaded", []).append([name, "archive:" + Path(ARGS[2]).name])
        save(state)
        return
    if ARGS[:2] == ["export", "logs"]:
        if name not in clusters:
            die(f'ERROR: unknown cluster "{name}"')
        out = ARGS[2] if len(ARGS) > 2 and not ARGS[2].startswith("-") else "/tmp/396137522"
        sys.stderr.write(f'Exporting logs for cluster "{name}" to:\n')
        print(out)
        return
    die(f"ERROR: unknown command {ARGS}")


def docker(state):
    if not state.get("docker_running", True):
        die("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
    host = DOCKER_HOSTS[state.get("docker_host", "linux")]
    if ARGS[:1] == ["info"]:
        extra = {"KernelVersion": state["docker_kernel"]} if "docker_kernel" in state else {}
        print(json.dumps({"ServerVersion": "28.3.2", "MemTotal": state.get("docker_mem", 16 * 2**30), "CgroupVersion": "2", **host, **extra}))
        return
    if ARGS[:1] == ["version"]:
        print(f"linux/{host['Architecture'].replace('x86_64', 'amd64').replace('aarch64', 'arm64')}")
        return
    images = state.setdefault("images", [])
    if ARGS[:2] == ["image", "inspect"]:
        if ARGS[-1] not in images:
            die(f"Error response from daemon: No such image: {ARGS[-1]}")
        print("sha256:feed")
        return
    if ARGS[:1] == ["pull"]:
        if ARGS[1] not in pinned_images() and ARGS[1] not in state.get("registry", []):
            die(f"Error response from daemon: manifest for {ARGS[1]} not found: manifest unknown: manifest unknown")
        images.append(ARGS[1])
        save(state)
        print(f"Status: Downloaded newer image for {ARGS[1]}")
        return
    if ARGS[:2] == ["image", "save"]:
        Path(flag("-o")).write_bytes(b"tar")
        return
    containers = state.setdefault("containers", {})
    info = state.setdefault("container_info", {})
    nets = _networks(state)
    if ARGS[:1] == ["ps"]:
        wanted = flag("--filter", "")
        with_image = "{{.Image}}" in flag("--format", "")
        for cname, st in sorted(containers.items()):
            labels = (info.get(cname) or {}).get("labels", {})
            line = f"{cname}\t{st}" + (f"\t{(info.get(cname) or {}).get('image', '')}" if with_image else "")
            if wanted.startswith("name=") and cname == wanted.removeprefix("name=^").removesuffix("$"):
                print(line)
            elif wanted.startswith("label=") and wanted.removeprefix("label=").split("=")[0] in labels:
                key, _, value = wanted.removeprefix("label=").partition("=")
                if not value or labels[key] == value:
                    print(line)
        return
    if ARGS[:2] == ["network", "inspect"]:
        name = ARGS[2]
        if name not in nets:
            die(f"Error response from daemon: network {name} not found")
        net = nets[name]
        config = [{"Subnet": "fc00:f853:ccd:e793::/64", "Gateway": "fc00:f853:ccd:e793::1"}] if name == "kind" else []
        config.append({"Subnet": net["subnet"], "Gateway": net["gateway"]})
        ctrs = {f"id-{c}": {"Name": c, "EndpointID": "e", "MacAddress": "02:42:ac:12:00:02", "IPv4Address": f"{ip}/{net['subnet'].split('/')[1]}", "IPv6Address": ""}
                for c, ip in sorted(net["endpoints"].items())}
        print(json.dumps([{"Name": name, "Driver": "bridge", "IPAM": {"Driver": "default", "Options": {}, "Config": config},
                           "Containers": ctrs, "Labels": net["labels"]}], indent=1))
        return
    if ARGS[:2] == ["network", "ls"]:
        key = flag("--filter", "").removeprefix("label=").split("=")[0]
        for name, net in sorted(nets.items()):
            if not key or key in net["labels"]:
                print(name)
        return
    if ARGS[:2] == ["network", "create"]:
        import ipaddress

        name = ARGS[-1]
        if name in nets:
            die(f"Error response from daemon: network with name {name} already exists")
        subnet = ipaddress.ip_network(flag("--subnet"))
        for net in nets.values():
            if ipaddress.ip_network(net["subnet"]).overlaps(subnet):
                die("Error response from daemon: invalid pool request: Pool overlaps with other one on this address space")
        labels = dict(a.split("=", 1) for i, a in enumerate(ARGS) if i and ARGS[i - 1] == "--label")
        nets[name] = {"subnet": str(subnet), "gateway": flag("--gateway") or str(subnet[1]), "user_subnet": True, "labels": labels, "endpoints": {}}
        save(state)
        print("3f1e")
        return
    if ARGS[:2] == ["network", "connect"]:
        network, cname = ARGS[2], ARGS[3]
        if cname not in containers:
            die(f"Error response from daemon: No such container: {cname}")
        attach(state, network, cname, flag("--ip"))
        save(state)
        return
    if ARGS[:2] == ["network", "rm"]:
        for name in ARGS[2:]:
            if nets.get(name, {}).get("endpoints"):
                die(f"Error response from daemon: error while removing network: network {name} has active endpoints")
            nets.pop(name, None)
            print(name)
        save(state)
        return
    if ARGS[:1] == ["run"]:
        if "--rm" in ARGS:  # a one-shot helper in another container's network namespace
            target = flag("--network", "").removeprefix("container:")
            if containers.get(target) != "running":
                die(f"docker: Error response from daemon: cannot join network of a non running container: {target}")
            script = ARGS[ARGS.index("-c") + 1]
            state.setdefault("helper_runs", []).append({"container": target, "image": ARGS[ARGS.index("-c") - 1], "caps": flag("--cap-add")})
            sys.stdout.write(run_script(state, target, script))
            save(state)
            return
        name = flag("--name")
        if name in containers:
            die(f'docker: Error response from daemon: Conflict. The container name "/{name}" is already in use.')
        network = flag("--network")
        if network and network not in nets and network != "bridge":
            die(f"docker: Error response from daemon: network {network} not found.")
        if network in nets:
            attach(state, network, name, flag("--ip"))
        labels = dict(a.split("=", 1) for i, a in enumerate(ARGS) if i and ARGS[i - 1] == "--label")
        image = ARGS[ARGS.index("--entrypoint") + 2] if "--entrypoint" in ARGS else ARGS[-1]
        if image not in images and image not in pinned_images() and image not in state.get("registry", []):
            detach_everywhere(state, name)
            die(f"Unable to find image '{image}' locally\ndocker: Error response from daemon: manifest for {image} not found: manifest unknown: manifest unknown\n\n"
                "Run 'docker run --help' for more information", 125)
        containers[name] = "running"
        info[name] = {"labels": labels, "argv": list(ARGS), "tmpfs": {}, "caps": flag("--cap-add"), "image": image}
        save(state)
        print("4d1f0c9a")
        return
    if ARGS[:1] == ["start"]:
        containers[ARGS[1]] = "running"
        if ARGS[1] in info:
            info[ARGS[1]]["tmpfs"] = {}  # a tmpfs starts empty, and so does a new network namespace
        (state.get("routes") or {}).pop(ARGS[1], None)
        save(state)
        print(ARGS[1])
        return
    if ARGS[:1] == ["rm"]:
        for name in [a for a in ARGS[1:] if not a.startswith("-")]:
            containers.pop(name, None)
            info.pop(name, None)
            detach_everywhere(state, name)
            print(name)
        save(state)
        return
    if ARGS[:1] == ["exec"]:
        cname, command = ARGS[1], ARGS[2:]
        node_of = {n: c for c, cl in (state.get("clusters") or {}).items() for n in cl["nodes"]}
        if cname not in containers and cname not in node_of:
            die(f"Error response from daemon: No such container: {cname}")
        if cname in containers and containers[cname] != "running":
            die(f"Error response from daemon: container {cname} is not running")
        tmpfs = (info.get(cname) or {}).get("tmpfs", {})
        if command[:1] == ["cat"] and command[1].startswith("/run/netlab/"):
            if command[1] not in tmpfs:
                die(f"cat: can't open '{command[1]}': No such file or directory")
            print(tmpfs[command[1]], end="")
            return
        if command[:2] == ["/bin/sh", "-c"] and "> /run/netlab/" in command[2]:
            path = command[2].rsplit("> ", 1)[1].strip()
            tmpfs[path] = command[-1] + "\n"
            save(state)
            return
        if command[:2] == ["/bin/sh", "-c"]:
            sys.stdout.write(run_script(state, cname, command[2]))
            save(state)
            return
        if command[:2] == ["ip", "-4"]:
            routes = state.setdefault("routes", {}).setdefault(cname, {})
            sys.stdout.write(ip_route(routes, " ".join(command)) or "")
            return
        state.setdefault("execs", []).append([cname, *command])
        save(state)
        reply = (state.get("exec_replies") or {}).get(cname)
        if reply is None:
            die(f"fake docker: no reply set for exec in {cname}: {command}")
        code, out, err = reply
        sys.stdout.write(out)
        sys.stderr.write(err)
        sys.exit(code)
    die(f"unknown docker command {ARGS}")


def kubectl(state, stdin):
    ctx = flag("--context") or ""
    name = ctx.removeprefix("kind-")
    cluster = (state.get("clusters") or {}).get(name)
    if cluster is None:
        die("The connection to the server 127.0.0.1:40123 was refused - did you specify the right host or port?")
    rest = [a for a in ARGS if a not in ("--kubeconfig", flag("--kubeconfig"), "--context", ctx)]
    markers = state.setdefault("markers", {})
    if rest[:2] == ["get", "nodes"]:
        items = [{"metadata": {"name": n, "labels": cluster["labels"]},
                  "status": {"conditions": [{"type": "Ready", "status": "True" if state.get("nodes_ready", True) else "False"}],
                             "addresses": [{"type": "InternalIP", "address": cluster.get("ips", [f"172.18.0.{j + 2}" for j in range(len(cluster["nodes"]))])[i]}]}}
                 for i, n in enumerate(cluster["nodes"])]
        print(json.dumps({"kind": "List", "items": items}))
        return
    if rest[:3] == ["get", "configmap", "netlab-cluster"]:
        if name not in markers:
            die('Error from server (NotFound): configmaps "netlab-cluster" not found')
        print(json.dumps({"kind": "ConfigMap", "data": markers[name]}))
        return
    if rest[:3] == ["get", "configmap", "coredns"]:
        print(json.dumps({"kind": "ConfigMap", "metadata": {"name": "coredns", "namespace": "kube-system"},
                          "data": {"Corefile": cluster.get("corefile", KUBEADM_COREFILE)}}))
        return
    if rest[:2] == ["get", "blockaffinities.crd.projectcalico.org"]:
        if "blockaffinities" not in cluster:
            die('error: the server doesn\'t have a resource type "blockaffinities"')
        print(json.dumps({"kind": "List", "items": cluster["blockaffinities"]}))
        return
    if rest[:3] == ["-n", "kube-system", "patch"] and rest[3:5] == ["configmap", "coredns"]:
        assert flag("--type") == "merge"
        cluster["corefile"] = json.loads(flag("-p"))["data"]["Corefile"]
        save(state)
        print("configmap/coredns patched")
        return
    if rest[:4] == ["-n", "kube-system", "rollout", "restart"]:
        cluster["coredns_restarts"] = cluster.get("coredns_restarts", 0) + 1
        save(state)
        print(f"{rest[4]} restarted")
        return
    if rest[:3] == ["-n", "kube-system", "rollout"]:
        print('deployment "coredns" successfully rolled out')
        return
    if rest[:2] == ["get", "tigerastatus"]:
        polls = state["tigera_polls"] = state.get("tigera_polls", 0) + 1
        save(state)
        items = [] if polls < 2 else [
            {"metadata": {"name": n}, "status": {"conditions": [{"type": "Available", "status": "True" if polls >= 3 else "False"}]}}
            for n in ("calico", "ippools")]  # with only an Installation (no APIServer CR), tigera operator v1.42 reports these
        print(json.dumps({"kind": "List", "items": items}))
        return
    if rest[:1] == ["apply"]:
        import yaml

        for doc in yaml.safe_load_all(stdin or ""):
            if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == "netlab-cluster":
                markers[name] = doc["data"]
                print("configmap/netlab-cluster serverside-applied")
        save(state)
        return
    if rest[:1] == ["create"]:
        # kubectl create -f: one line per object on stdout ("<resource>.<group>/<name> created",
        # kubectl pkg/cmd/create/create.go via printers.NamePrinter), one "Error from server
        # (AlreadyExists)" line per object that exists, and the API server's warnings as "Warning: ..."
        # lines on stderr (k8s.io/client-go/rest/warnings.go), on success and failure alike.
        source = rest[rest.index("-f") + 1]
        created = cluster.setdefault("created", [])
        objects = manifest_objects(source, stdin)
        warnings = [f"Warning: {w}" for w in (state.get("kubectl_warnings") or {}).get(source, [])]
        fresh = [o for o in objects if o not in created]
        for obj in fresh:
            created.append(obj)
            print(f"{obj} created")
        if "crd_projectcalico_org" in source:
            cluster.setdefault("blockaffinities", [])  # the CRDs exist; Calico IPAM fills them in as pods start
        save(state)
        errors = [f'Error from server (AlreadyExists): error when creating "{source}": {o.split("/")[0]} "{o.split("/")[1]}" already exists'
                  for o in objects if o not in fresh]
        if warnings:
            sys.stderr.write("\n".join(warnings) + "\n")
        if errors:
            die("\n".join(errors))
        return
    if rest[:1] in (["wait"], ["rollout"]):
        print("condition met")
        return
    die(f"error: unknown command {rest}")


MANIFEST_OBJECTS = {
    # A few of the objects each pinned Calico manifest creates (v3.32.1 manifests/*.yaml), as kubectl names them.
    "v1_crd_projectcalico_org.yaml": ["customresourcedefinition.apiextensions.k8s.io/bgpconfigurations.crd.projectcalico.org",
                                      "customresourcedefinition.apiextensions.k8s.io/blockaffinities.crd.projectcalico.org",
                                      "customresourcedefinition.apiextensions.k8s.io/ippools.crd.projectcalico.org"],
    "tigera-operator.yaml": ["namespace/tigera-operator", "customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io",
                             "customresourcedefinition.apiextensions.k8s.io/tigerastatuses.operator.tigera.io",
                             "serviceaccount/tigera-operator", "deployment.apps/tigera-operator"],
}


def manifest_objects(source, stdin):
    if source == "-":
        import yaml

        return [f"{d['kind'].lower()}.{d['apiVersion'].split('/')[0]}/{d['metadata']['name']}" if "/" in d["apiVersion"]
                else f"{d['kind'].lower()}/{d['metadata']['name']}" for d in yaml.safe_load_all(stdin or "") if d]
    return MANIFEST_OBJECTS.get(source.rsplit("/", 1)[-1], [f"configmap/{source.rsplit('/', 1)[-1]}"])


def values_keys():
    """The Cilium chart's values keys (tests/kind/data/cilium-<version>-values-keys.txt, generated by
    tools/cilium_values_keys.py). Chart 1.20.0, the newest 1.20 chart the fetchable mirror
    (github.com/cilium/charts) holds; the course pins 1.20.2, whose values a patch release may extend."""
    path = Path(__file__).with_name("data") / "cilium-1.20.0-values-keys.txt"
    return {ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")}


def unknown_values(doc, prefix=""):
    keys, out = values_keys(), []
    for key, value in sorted((doc or {}).items()):
        path = prefix + key
        if path + ".*" in keys:
            continue
        if isinstance(value, dict) and value:
            out += unknown_values(value, path + ".")
        elif path not in keys:
            out.append(path)
    return out


def helm_or_cilium(state):
    """helm upgrade --install / cilium install with --values: the chart's values.schema.json (Cilium
    ships one) is checked by Helm before anything is sent (helm pkg/chart/v2/util/jsonschema.go), as
    `cilium install` (which runs Helm's install action, cilium-cli/install/install.go) does too.

    Stricter than Helm on purpose: chart 1.20.0's values.schema.json has no ``additionalProperties:
    false`` anywhere, so real Helm installs a misspelt key silently (and Cilium ignores it). The fake
    refuses any key outside the chart's key list, in the format of Helm's schema error, so that a
    misspelling fails here instead of being lost on a learner's cluster."""
    values = flag("--values")
    if values:
        import yaml

        text = Path(values).read_text()
        wrong = unknown_values(yaml.safe_load(text))
        if wrong:
            lines = [f"- {'(root)' if '.' not in w else w.rsplit('.', 1)[0].replace('.', '/')}: Additional property {w.rsplit('.', 1)[-1]} is not allowed" for w in wrong]
            die("Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s) in the following chart(s):\ncilium:\n" + "\n".join(lines))
        state.setdefault("values", []).append(text)
        save(state)
    if TOOL == "helm":
        print('Release "cilium" does not exist. Installing it now.\nNAME: cilium\nNAMESPACE: kube-system\nSTATUS: deployed\nREVISION: 1')
    elif ARGS[:1] == ["install"]:
        print("🔮 Auto-detected Kubernetes kind: kind\nℹ️  Using Cilium version " + (flag("--version") or "") + "\n⌛ Waiting for Cilium to be installed and ready...")
    else:
        print("Cilium:             OK")


def dispatch(stdin):
    record(stdin or None)
    state = load()
    fail_if_asked(state)
    if TOOL == "kind":
        kind(state)
    elif TOOL == "docker":
        docker(state)
    elif TOOL == "kubectl":
        kubectl(state, stdin)
    elif TOOL in ("helm", "cilium"):
        helm_or_cilium(state)
    else:
        die(f"fake tool {TOOL} has no behaviour")


def run(tool, args, stdin, env):
    """One call of ``tool args`` with ``stdin`` (None: none) in environment ``env`` -> (exit code, stdout, stderr)."""
    global TOOL, ARGS, STATE_FILE, ENV
    TOOL, ARGS, ENV = tool, list(args), dict(env)
    STATE_FILE = Path(ENV["FAKE_STATE"])
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            dispatch(stdin)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


if __name__ == "__main__":  # also usable as a stand-alone executable named after a tool
    stdin = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    code, out, err = run(Path(sys.argv[0]).name, sys.argv[1:], stdin, os.environ)
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(code)
