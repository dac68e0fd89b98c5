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
* docker: ``docker info`` fails with the daemon message when the engine is down.
* kubectl: NotFound errors as ``Error from server (NotFound): ...``, exit 1.
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


def kubeconfig_yaml(name):
    return (
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: AAAA\n"
        f"    server: https://127.0.0.1:40123\n  name: kind-{name}\ncontexts:\n- context:\n"
        f"    cluster: kind-{name}\n    user: kind-{name}\n  name: kind-{name}\ncurrent-context: kind-{name}\n"
        f"kind: Config\npreferences: {{}}\nusers:\n- name: kind-{name}\n  user:\n    client-certificate-data: AAAA\n"
        "    client-key-data: AAAA\n"
    )


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
        if name not in clusters:
            die(f'ERROR: no nodes found for cluster "{name}"')
        for n in clusters[name]["nodes"]:
            print(n)
        return
    if ARGS[:2] == ["get", "kubeconfig"]:
        if name not in clusters:
            die(f"ERROR: could not locate any control plane nodes for cluster named '{name}'. Use the --name option to select a different cluster")
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
        clusters[name] = {"nodes": nodes, "labels": labels, "config": config, "image": flag("--image")}
        Path(flag("--kubeconfig")).write_text(kubeconfig_yaml(name))
        sys.stderr.write(f'Creating cluster "{name}" ...\n ✓ Ensuring node image ({flag("--image")}) 🖼\n ✓ Preparing nodes 📦 📦 📦\n')
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
    if ARGS[:1] == ["info"]:
        print(json.dumps({"ServerVersion": "28.3.2", "OperatingSystem": "Ubuntu 24.04 LTS", "MemTotal": state.get("docker_mem", 16 * 2**30), "CgroupVersion": "2"}))
        return
    if ARGS[:1] == ["version"]:
        print("linux/amd64")
        return
    images = state.setdefault("images", [])
    if ARGS[:2] == ["image", "inspect"]:
        if ARGS[-1] not in images:
            die(f"Error response from daemon: No such image: {ARGS[-1]}")
        print("sha256:feed")
        return
    if ARGS[:1] == ["pull"]:
        images.append(ARGS[1])
        save(state)
        print(f"Status: Downloaded newer image for {ARGS[1]}")
        return
    if ARGS[:2] == ["image", "save"]:
        Path(flag("-o")).write_bytes(b"tar")
        return
    containers = state.setdefault("containers", {})
    if ARGS[:1] == ["ps"]:
        wanted = flag("--filter", "").removeprefix("name=^").removesuffix("$")
        for cname, st in sorted(containers.items()):
            if cname == wanted:
                print(f"{cname}\t{st}")
        return
    if ARGS[:1] == ["run"]:
        containers[flag("--name")] = "running"
        save(state)
        print("4d1f0c9a")
        return
    if ARGS[:1] == ["start"]:
        containers[ARGS[1]] = "running"
        save(state)
        print(ARGS[1])
        return
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
                             "addresses": [{"type": "InternalIP", "address": f"172.18.0.{i + 2}"}]}}
                 for i, n in enumerate(cluster["nodes"])]
        print(json.dumps({"kind": "List", "items": items}))
        return
    if rest[:3] == ["get", "configmap", "netlab-cluster"]:
        if name not in markers:
            die('Error from server (NotFound): configmaps "netlab-cluster" not found')
        print(json.dumps({"kind": "ConfigMap", "data": markers[name]}))
        return
    if rest[:2] == ["get", "tigerastatus"]:
        polls = state["tigera_polls"] = state.get("tigera_polls", 0) + 1
        save(state)
        items = [] if polls < 2 else [
            {"metadata": {"name": n}, "status": {"conditions": [{"type": "Available", "status": "True" if polls >= 3 else "False"}]}}
            for n in ("apiserver", "calico", "ippools")]
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
        source = rest[rest.index("-f") + 1]
        created = cluster.setdefault("created", [])
        if source != "-" and source in created:
            die(f'Error from server (AlreadyExists): error when creating "{source}": customresourcedefinitions.apiextensions.k8s.io "ippools.crd.projectcalico.org" already exists')
        created.append(source if source != "-" else stdin)
        save(state)
        print("created")
        return
    if rest[:1] in (["wait"], ["rollout"]):
        print("condition met")
        return
    die(f"error: unknown command {rest}")


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
        values = flag("--values")
        if values:
            state.setdefault("values", []).append(Path(values).read_text())
            save(state)
        print(f"{TOOL}: ok")
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
