"""The one way ``grader`` runs an external command (kind, docker, kubectl, helm, cilium).

Rules (docs/architecture.md): an argv list, never a shell; an explicit timeout; output captured
(nothing leaks to the notebook's stderr, which nbgrader would score as a failure); the environment
is the current one plus what the caller adds (e.g. ``KUBECONFIG`` pointing at the course's own
file). Failures raise :class:`CommandError`, which carries the command, its exit code, the tail of
its output and a *hint*: what usually causes this failure and how to fix it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import LabError

TAIL_LINES = 15
"""How many trailing lines of stdout/stderr an error message shows."""

INSTALL = {
    "kind": {
        "Linux": "curl -Lo ./kind https://kind.sigs.k8s.io/dl/{kind}/kind-linux-amd64 && chmod +x ./kind && sudo mv ./kind /usr/local/bin/kind   (or: go install sigs.k8s.io/kind@{kind})",
        "Darwin": "brew install kind   (or: go install sigs.k8s.io/kind@{kind})",
        "Windows": "winget install Kubernetes.kind   (or: choco install kind)",
    },
    "kubectl": {
        "Linux": "see https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/ (or: sudo snap install kubectl --classic)",
        "Darwin": "brew install kubectl",
        "Windows": "winget install Kubernetes.kubectl",
    },
    "helm": {
        "Linux": "see https://helm.sh/docs/intro/install/ (or: sudo snap install helm --classic)",
        "Darwin": "brew install helm",
        "Windows": "winget install Helm.Helm",
    },
    "cilium": {
        "Linux": "download cilium-linux-amd64.tar.gz from https://github.com/cilium/cilium-cli/releases/tag/{cilium_cli} and put `cilium` on your PATH",
        "Darwin": "brew install cilium-cli",
        "Windows": "download cilium-windows-amd64.zip from https://github.com/cilium/cilium-cli/releases/tag/{cilium_cli}",
    },
    "docker": {
        "Linux": "install Docker Engine: https://docs.docker.com/engine/install/ (then: sudo usermod -aG docker $USER, and log in again)",
        "Darwin": "install Docker Desktop (https://docs.docker.com/desktop/setup/install/mac-install/), OrbStack or Colima, and start it",
        "Windows": "install Docker Desktop with the WSL 2 backend (https://docs.docker.com/desktop/setup/install/windows-install/) and start it",
    },
}


def install_hint(tool: str, system: str | None = None) -> str:
    """How to install ``tool`` on this OS (versions from grader/data/facts.yaml)."""
    from ..facts import fact

    system = system or platform.system()
    per_os = INSTALL.get(tool)
    if per_os is None:
        return f"install {tool} and make sure it is on your PATH"
    text = per_os.get(system) or per_os["Linux"]
    return f"{tool} is not installed or not on PATH; install it: " + text.format(
        kind=fact("kind-version").value, cilium_cli=fact("cilium-cli-version").value,
    )


@dataclass(frozen=True, slots=True)
class Completed:
    """A command that ran (whatever its exit code)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    parts = text.rstrip().splitlines()
    return "\n".join(parts[-lines:])


# (substring of stderr/stdout, hint). First match wins; checked case-insensitively.
_HINTS: tuple[tuple[str, str], ...] = (
    ("cannot connect to the docker daemon",
     "Docker is not running: start Docker Desktop / the docker service (Linux: sudo systemctl start docker), then retry. `netlab doctor` checks this."),
    ("permission denied while trying to connect to the docker",
     "your user may not use Docker: on Linux run `sudo usermod -aG docker $USER` and log in again."),
    ("error during connect",
     "Docker is not running or not reachable: start Docker Desktop, then retry."),
    ("node(s) already exist for a cluster with the name",
     "a kind cluster with this name already exists: `netlab up` reuses it; to start over run `netlab down --profile <profile>` (or `kind delete cluster --name <name>`)."),
    ("too many open files",
     "Linux inotify limits are too low for several kind nodes: run `sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512` (persist them in /etc/sysctl.conf). See https://kind.sigs.k8s.io/docs/user/known-issues/#pod-errors-due-to-too-many-open-files"),
    ("failed to create fsnotify watcher",
     "Linux inotify limits are too low: run `sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512`."),
    ("content digest sha256",
     "`kind load docker-image` fails with Docker's containerd image store (and OrbStack): save the image with `docker image save --platform <platform> -o img.tar <image>` and load it with `kind load image-archive img.tar` (netlab does this automatically)."),
    ("no space left on device",
     "the disk (or Docker Desktop's virtual disk) is full: run `docker system prune` and retry."),
    ("unknown flag",
     "this version of the tool does not know a flag netlab uses: upgrade it (`netlab doctor` shows the versions netlab expects)."),
    ("unknown cluster",
     "no kind cluster with that name exists: `netlab status` lists the course's clusters; `netlab up --profile <profile>` creates one."),
    ("no nodes found for cluster",
     "no kind cluster with that name exists: `netlab up --profile <profile>` creates one."),
    ("the connection to the server",
     "the cluster's API server is not reachable: is its Docker container running? `netlab status` shows the course's clusters; `netlab up` restarts the set-up."),
    ("connection refused",
     "the cluster's API server refused the connection: it may still be starting, or its containers were stopped (`docker ps`)."),
)


def hint_for(output: str, tool: str = "") -> str:
    """The most likely cause of a failure, from the tool's output (empty when unknown)."""
    low = output.lower()
    for needle, hint in _HINTS:
        if needle in low:
            return hint
    if tool == "kind":
        return "run `kind export logs` (or `netlab status`) and read the node logs for the cause."
    return ""


class CommandError(LabError):
    """An external command failed, timed out, or is not installed."""

    def __init__(
        self, argv: Sequence[str], returncode: int | None, stdout: str = "", stderr: str = "", hint: str = "",
        *, timed_out: bool = False, missing: bool = False,
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout_tail = _tail(stdout)
        self.stderr_tail = _tail(stderr)
        self.timed_out = timed_out
        self.missing = missing
        self.hint = hint or hint_for(stderr + "\n" + stdout, os.path.basename(self.argv[0]) if self.argv else "")
        super().__init__(self.render())

    @property
    def command(self) -> str:
        return " ".join(self.argv)

    def render(self) -> str:
        if self.missing:
            head = f"`{self.argv[0]}` not found"
        elif self.timed_out:
            head = f"`{self.command}` timed out"
        else:
            head = f"`{self.command}` failed with exit code {self.returncode}"
        lines = [head]
        if self.stderr_tail:
            lines.append("stderr (last lines):\n  " + self.stderr_tail.replace("\n", "\n  "))
        elif self.stdout_tail:
            lines.append("output (last lines):\n  " + self.stdout_tail.replace("\n", "\n  "))
        if self.hint:
            lines.append("hint: " + self.hint)
        return "\n".join(lines)


def _run(
    argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None, input: str | None = None,
    check: bool = True, cwd: str | os.PathLike[str] | None = None,
) -> Completed:
    """Run ``argv`` (a list, never a shell string) and capture everything it prints.

    Args:
        timeout: seconds; required so no lesson hangs forever.
        env: variables added to the current environment (e.g. ``KUBECONFIG``).
        input: text sent to the command's stdin (e.g. a manifest for ``kubectl apply -f -``).
        check: raise :class:`CommandError` on a non-zero exit (default); otherwise return it.

    Raises:
        CommandError: the tool is missing (hint: how to install it on this OS), timed out
            (hint: what usually takes that long), or exited non-zero (hint from its output).
    """
    if isinstance(argv, str):  # a shell string would be split wrongly and is never what we want
        raise TypeError("_run() takes an argv list, not a string")
    argv = [str(a) for a in argv]
    tool = argv[0]
    path = shutil.which(tool) if os.sep not in tool else tool
    if path is None:
        raise CommandError(argv, None, hint=install_hint(os.path.basename(tool)), missing=True)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    full_env.setdefault("NO_COLOR", "1")  # kind, helm, cilium: no ANSI escapes in captured output
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [path, *argv[1:]], input=input, capture_output=True, text=True, timeout=timeout, env=full_env,
            cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL, encoding="utf-8", errors="replace",
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        hint = hint_for(err + out, os.path.basename(tool)) or (
            f"it did not finish within {timeout:g}s. A first run downloads images and can be slow: retry; "
            "if it keeps timing out, check Docker's CPU/memory settings and `netlab doctor`."
        )
        raise CommandError(argv, None, out, err, hint, timed_out=True) from None
    except FileNotFoundError:
        raise CommandError(argv, None, hint=install_hint(os.path.basename(tool)), missing=True) from None
    except PermissionError as exc:
        raise CommandError(argv, None, hint=f"cannot execute {path}: {exc.strerror}; check its permissions") from None
    done = Completed(tuple(argv), proc.returncode, proc.stdout or "", proc.stderr or "", time.monotonic() - started)
    if check and not done.ok:
        raise CommandError(argv, done.returncode, done.stdout, done.stderr)
    return done


def which(tool: str) -> str | None:
    """Where ``tool`` is on PATH (None when it is not installed)."""
    return shutil.which(tool)
