"""The sandbox a submission's kernel runs in while nbgrader grades it (Linux, bubblewrap).

Learner code is hostile while it is graded. nbgrader runs it as the grader, next to the answer
key, the other submissions and the gradebook; it has no sandbox of its own (nbgrader docs,
faq.rst "Does nbgrader protect against unsafe code?"). So :class:`SandboxedKernelManager` starts
the kernel under ``bwrap`` (bubblewrap, https://github.com/containers/bubblewrap, Debian package
``bubblewrap``) with

* a new user, PID, network, IPC, UTS and cgroup namespace (``--unshare-all``): no network at all,
  and every process the notebook started dies with the kernel (the PID namespace goes away with
  its first process; ``--die-with-parent`` covers a kernel that is killed);
* a filesystem made only of: the Python environment and the ``grader`` package, read-only; the
  submission's own folder (nbgrader's ``autograded/<student>/<assignment>/``), writable; one
  private folder for the kernel's sockets and the ledger, writable; a fresh ``/tmp`` and ``$HOME``
  that vanish with it; a few read-only files of ``/etc``. Nothing else of the host exists inside:
  not ``solutions/``, not the other submissions, not the gradebook, not ``~/.jupyter``;
* a cleared environment (no KUBECONFIG, tokens or ``PYTHON*`` variables of the grader), the
  simulated cluster as backend, and no bytecode writes.

The kernel talks to nbgrader over Unix sockets in the private folder (ZeroMQ ``ipc`` transport),
since it has no network; this also avoids jupyter_client's TCP port race
(jupyter/jupyter_client#487).

The kernel is the Python of the environment that runs nbgrader (the course's notebooks name the
``python3`` kernelspec, which jupyter_client maps to that interpreter); a kernelspec whose program
lives elsewhere is not visible inside.

Where bubblewrap is missing or cannot create namespaces, grading refuses to start
(:class:`SandboxUnavailable`) and says what to do; ``VerifiedExecute.sandbox = "none"`` grades
without it, for submissions you trust or when grading runs as a throw-away user in a container.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

BWRAP = "bwrap"
PRELOAD = Path(__file__).parent / "kernel_startup" / "preload_grader.py"
"""Run as the sandboxed kernel starts: imports ``grader`` while the kernel would sit idle (see there)."""
SANDBOX_UID = 65534
"""The kernel's user id inside the sandbox (nobody)."""

ETC_FILES = (
    "/etc/alternatives", "/etc/ca-certificates", "/etc/fonts", "/etc/group", "/etc/host.conf", "/etc/hosts",
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/mime.types",
    "/etc/nsswitch.conf", "/etc/passwd", "/etc/ssl",
)
"""What of /etc a Python kernel reads (dynamic linker, certificates, fonts, user names). Not /etc as
a whole: it may hold secrets or configuration that is none of the kernel's business."""

KERNEL_ENV = {
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
    "NETLAB_BACKEND": "sim",
    "NBGRADER_EXECUTION": "autograde",
    "MPLBACKEND": "agg",
}
"""The kernel's whole environment, plus PATH, HOME and what :class:`Sandbox` adds. Grading runs on the
simulated cluster inside; when ``NETLAB_BACKEND=kind``, only the trusted re-check outside talks to
the cluster."""


PASSED_ON = ("PYTHONWARNINGS", "TZ")
"""Variables of the grader's environment the kernel keeps (settings, not secrets): the grader may
run every kernel with warnings as errors."""


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot sandbox on this machine; the message says what to do."""


def _exists(path: str | Path) -> bool:
    return os.path.lexists(path)


def python_roots() -> list[Path]:
    """Folders the running Python needs: the environment (a venv) and the installation it was made from."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix),
             Path(os.path.realpath(sys.executable)).parent.parent}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            roots.add(Path(value))
    return _outermost(roots)


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """Drop paths inside another path of the set (a bind of the parent covers them)."""
    ordered = sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts))
    out: list[Path] = []
    for p in ordered:
        if not any(p == q or q in p.parents for q in out):
            out.append(p)
    return sorted(out)


def grader_package_dir() -> Path:
    import grader

    return Path(grader.__file__).resolve().parent


@dataclass(frozen=True)
class Sandbox:
    """One kernel's sandbox: what it may read and write."""

    workdir: Path
    """The submission's folder (nbgrader's ``autograded/<student>/<assignment>``): writable, the kernel's cwd."""
    private: Path
    """Sockets, connection file and ledger: writable, shared with the trusted side."""
    read_only: tuple[Path, ...] = ()
    """Python environment and the grader package (defaults: :func:`python_roots`, :func:`grader_package_dir`)."""
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_submission(cls, workdir: str | Path, private: str | Path, env: dict[str, str] | None = None) -> Sandbox:
        return cls(Path(workdir).resolve(), Path(private).resolve(),
                   tuple(_outermost([*python_roots(), grader_package_dir()])), dict(env or {}))

    def argv(self, command: Sequence[str]) -> list[str]:
        """``command`` wrapped in bwrap. Order matters: later mounts go on top of earlier ones."""
        home = "/tmp/home"
        package_parent = str(grader_package_dir().parent)
        passed_on = {k: os.environ[k] for k in PASSED_ON if k in os.environ}
        env = {**KERNEL_ENV, **passed_on, "HOME": home, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
               "PYTHONPATH": package_parent, "MPLCONFIGDIR": f"{home}/.matplotlib", **self.env}
        args = [BWRAP, "--unshare-all", "--die-with-parent", "--new-session",
                "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "grading",
                "--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for etc in ETC_FILES:
            if _exists(etc):
                args += ["--ro-bind-try", etc, etc]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", home]
        for path in self.read_only:
            args += ["--ro-bind", str(path), str(path)]
        args += ["--bind", str(self.workdir), str(self.workdir), "--bind", str(self.private), str(self.private),
                 "--chdir", str(self.workdir), "--clearenv"]
        for key, value in sorted(env.items()):
            args += ["--setenv", key, value]
        return [*args, "--", *command]


@functools.lru_cache(maxsize=1)
def probe() -> None:
    """Raise :class:`SandboxUnavailable` unless a sandboxed Python starts here (checked once per process)."""
    if shutil.which(BWRAP) is None:
        raise SandboxUnavailable(
            "bubblewrap (`bwrap`) is not installed, so student code cannot be sandboxed while it is graded. "
            "Install it (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`) and grade again. "
            "On macOS or Windows, grade inside the course's Linux environment (a container or VM). To grade "
            "WITHOUT a sandbox (only submissions you trust, or as a throw-away user in a container): "
            "`make autograde ARGS=\"--VerifiedExecute.sandbox=none\"`.")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="netlab-sandbox-probe-") as tmp:
        box = Sandbox.for_submission(tmp, tmp)
        code = "import grader, os; assert not os.path.exists(os.path.expanduser('~/.jupyter')); print('sandbox-ok')"
        try:
            proc = subprocess.run(box.argv([sys.executable, "-c", code]), capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"bubblewrap could not start a sandbox: {exc}") from None
    if proc.returncode != 0 or "sandbox-ok" not in proc.stdout:
        raise SandboxUnavailable(
            f"bubblewrap is installed but could not start a sandboxed Python (exit {proc.returncode}): "
            f"{proc.stderr.strip()[-500:]}. User namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, "
            "or a container without CAP_SYS_ADMIN). Grade on a machine where `bwrap --unshare-all true` works, or "
            "explicitly without a sandbox: `make autograde ARGS=\"--VerifiedExecute.sandbox=none\"`.")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside a :class:`Sandbox`, over Unix sockets."""

    def __init__(self, *, sandbox: Sandbox, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sandbox = sandbox
        self.transport = "ipc"
        self.connection_file = str(sandbox.private / "kernel.json")
        self.ip = str(sandbox.private / "kernel")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        if any("ipykernel" in part for part in command):
            # IPython's input history is an SQLite file in the sandbox's $HOME, which vanishes with
            # it: keep it in memory (``In``/``Out``/``_i`` still work) and save a write per cell.
            # The startup file imports grader in a thread while the new kernel would sit idle.
            command = [*command, "--HistoryManager.enabled=False", f"--IPKernelApp.exec_files={PRELOAD}"]
        return self.sandbox.argv(command)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        """Stop the kernel by killing its sandbox, at once.

        A graceful shutdown only runs the kernel's own exit (IPython's history thread, atexit hooks
        the notebook registered, the interpreter's teardown of every module): 0.2-0.5 s per notebook
        that nobody needs once the last cell has answered, since every output and ledger line is
        already with nbgrader (the ledger is appended and closed line by line). SIGKILL reaches bwrap,
        whose ``--die-with-parent`` kills every process of the sandbox with it (bubblewrap(1))."""
        await super().shutdown_kernel(now=not restart or now, restart=restart)

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        # jupyter_client polls a stopping kernel every 100 ms (manager.py `_async_wait`, "busy loop
        # at 100ms intervals"); a killed sandbox is gone within a few milliseconds.
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        # Interrupts as messages: a SIGINT would reach bwrap, not the kernel inside (ipykernel
        # handles interrupt_request on its control channel).
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)
