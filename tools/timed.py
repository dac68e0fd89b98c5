"""Run a command and print its wall time against a budget: ``make test-fast`` states its budget once
(the Makefile's TEST_FAST_BUDGET) and reports against it every time it runs.

    python tools/timed.py --budget 45 --name "make test-fast" -- python -m pytest ...

Prints one line after the command: wall and CPU seconds, the budget, and the load average (on a
machine shared with other jobs the wall time says little without it). Exits with the command's
status; being over budget is reported, not failed (a busy machine would make that flaky).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time


def report(name: str, wall: float, cpu: float, budget: float, load: tuple[float, float, float] | None) -> str:
    verdict = "within budget" if wall <= budget else f"OVER BUDGET by {wall - budget:.1f} s"
    where = f"; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (over 1, 5, 15 min)" if load else ""
    return f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, budget {budget:g} s on a quiet 2-core machine: {verdict}{where}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, required=True, help="seconds of wall time")
    parser.add_argument("--name", default="command")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given (put it after --)")
    start = time.monotonic()
    code = subprocess.call(command)
    wall = time.monotonic() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(report(args.name, wall, usage.ru_utime + usage.ru_stime, args.budget, load), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
