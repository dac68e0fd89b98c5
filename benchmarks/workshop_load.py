"""How big a room: N participants working at once on one workshop hub (not a timed test).

    sudo python benchmarks/workshop_load.py [--sizes 5,10,20] [--lesson 07-network-policies]

Starts the hub of ``make workshop`` (workshop/admin.py; the servers' Python and the proxy under
$NETLAB_WORKSHOP_HOME or /srv/netlab-workshop, built on first use) with max(sizes) participants.
For each N it starts N servers, then every participant at the same moment runs, through the Jupyter
server API (a kernel per notebook, cells one after another, as Run All does), all cells of the
lesson and then all cells of its exercise with correct answers (the visible tests). Reported per N:
the median, 95th percentile and worst cell latency (each cell's execute request to its reply), the memory of one
server while it works (the largest sum of RSS over the participant's processes, server and kernels;
median over participants), the machine's memory in use at the peak, the load average before the round (on a shared machine,
other work slows every cell), and the first N whose worst
cell takes more than 5 s. Results also go to test-output/workshop/load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from support.nbtools import SOLUTIONS, answer_source, answers_of, read  # noqa: E402

from workshop import admin  # noqa: E402
from workshop.client import Hub, Server  # noqa: E402
from workshop.settings import Workshop  # noqa: E402

LIMIT = 5.0
"""Seconds: a cell slower than this under load is where the room is full."""


def rss_of(uid: int) -> int:
    """Bytes of resident memory of every process of ``uid``."""
    total = 0
    for pid in admin.processes_of({uid}):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def used_memory() -> int:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return (int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])) * 1024


def cells(server: Server, path: str) -> list[float]:
    """Latency of every code cell of ``path``, run in order in one kernel."""
    nb = server.read_notebook(path)
    kernel = server.kernel(path)
    latencies = []
    try:
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                result = kernel.execute(cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"]))
                latencies.append(result.seconds)
                if result.status != "ok":
                    raise RuntimeError(f"{path}: a cell failed: {result.error}")
    finally:
        kernel.close()
    return latencies


def workload(server: Server, lesson: str, answers: dict[str, str]) -> list[float]:
    exercise = f"exercises/{lesson}/{lesson}.ipynb"
    nb = server.read_notebook(exercise)
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["cell_type"] == "code" and grade_id in answers:
            cell["source"] = answer_source(grade_id, answers[grade_id])
    server.write_notebook(exercise, nb)
    return cells(server, f"course/{lesson}.ipynb") + cells(server, exercise)


def measure(hub: Hub, names: list[str], lesson: str, answers: dict[str, str]) -> dict[str, object]:
    load_before = os.getloadavg()[0]  # other work on the machine (it may be shared)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hub.start, names))
    start_s = time.monotonic() - started
    servers = [hub.server(n) for n in names]
    uids = {n: pwd.getpwnam(n).pw_uid for n in names}
    peaks = dict.fromkeys(names, 0)
    peak_used = [used_memory()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for n, uid in uids.items():
                peaks[n] = max(peaks[n], rss_of(uid))
            peak_used[0] = max(peak_used[0], used_memory())
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.monotonic()
    failures: list[str] = []

    def attempt(server: Server) -> list[float]:
        try:
            return workload(server, lesson, answers)
        except Exception as exc:  # noqa: BLE001 - a participant whose work failed is a result, reported
            failures.append(f"{server.url.rsplit('/', 1)[-1]}: {type(exc).__name__}: {exc}"[:300])
            return []

    with ThreadPoolExecutor(len(names)) as pool:
        latencies = [x for run in pool.map(attempt, servers) for x in run]
    work_s = time.monotonic() - t
    stop.set()
    sampler.join()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hub.stop, names))
    return {
        "n": len(names), "cells": len(latencies), "failed": failures, "start_servers_s": round(start_s, 1), "work_s": round(work_s, 1),
        "median_cell_s": round(statistics.median(latencies), 2), "p95_cell_s": round(statistics.quantiles(latencies, n=20)[-1], 2),
        "worst_cell_s": round(max(latencies), 2), "load_before": round(load_before, 1),
        "server_mib": round(statistics.median(peaks.values()) / 2**20), "machine_used_gib": round(peak_used[0] / 2**30, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5,10,20", help="participant counts, comma-separated")
    parser.add_argument("--lesson", default="07-network-policies", help="a lesson with an exercise of the same name")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if os.geteuid() != 0:
        print("run as root: the workshop creates one Unix user per participant")
        return 1
    home = Path(os.environ.get("NETLAB_WORKSHOP_HOME", "/srv/netlab-workshop"))
    home.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="state-load-", dir=home))
    state.chmod(0o755)
    handout = state / "handout"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_handout.py"), "--out", str(handout)], check=True, capture_output=True)
    prefix = "load" + os.urandom(2).hex()
    names = [f"{prefix}-{i:02d}" for i in range(max(sizes))]
    ws = Workshop(repo=ROOT, state=state, tools=home, venv=home / "venv", handout=handout, participants=tuple(names),
                  instructors=(f"{prefix}-ins",), port=admin.free_port(), hub_port=admin.free_port(), proxy_api_port=admin.free_port())
    answers = answers_of(read(SOLUTIONS / args.lesson / f"{args.lesson}.ipynb"))
    rows = []
    hub_proc = None
    try:
        admin.prepare(ws)
        log = ROOT / "test-output" / "workshop" / "load-hub.log"  # git-ignored, kept for a look afterwards
        log.parent.mkdir(parents=True, exist_ok=True)
        hub_proc = admin.start_hub(ws, log=log)
        hub = Hub(ws.url, ws.secret("api-token").read_text().strip())
        hub.add_users(names)
        for n in sizes:
            rows.append(measure(hub, names[:n], args.lesson, answers))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if hub_proc is not None:
            admin.stop_hub(hub_proc)
        admin.down(ws)
    full = next((r["n"] for r in rows if r["worst_cell_s"] > LIMIT), None)
    print(f"\n{platform.node()}: {os.cpu_count()} cores, {round(int(Path('/proc/meminfo').read_text().split()[1]) / 2**20)} GiB; "
          f"lesson and exercise {args.lesson}\n")
    print("| participants | cells run (failed participants) | median cell | 95th percentile | worst cell | memory per server | machine memory used | servers started in | work took | load average before |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['n']} | {r['cells']} ({len(r['failed'])}) | {r['median_cell_s']} s | {r['p95_cell_s']} s | {r['worst_cell_s']} s | {r['server_mib']} MiB | "
              f"{r['machine_used_gib']} GiB | {r['start_servers_s']} s | {r['work_s']} s | {r['load_before']} |")
    for r in rows:
        for failure in r["failed"]:
            print(f"N = {r['n']}: failed: {failure}")
    print(f"\nworst cell above {LIMIT:.0f} s from N = {full}" if full else f"\nworst cell at most {LIMIT:.0f} s up to N = {sizes[-1]}")
    out = ROOT / "test-output" / "workshop"
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps({"rows": rows, "limit_s": LIMIT, "first_n_over_limit": full}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
