"""Progress for long steps (cluster creation, CNI installs, image loads): tqdm on stdout.

stdout, never stderr: nbgrader scores any stderr output in a test cell as 0, and tqdm writes to
stderr by default. Each finished step prints one line with its elapsed time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm import tqdm


@dataclass(frozen=True, slots=True)
class StepTime:
    """One finished (or failed) step and how long it took (``make conformance`` reports them)."""

    name: str
    seconds: float
    ok: bool


class Progress:
    """``with Progress("netlab-kindnet", 5) as p: with p.step("create cluster"): ...``"""

    def __init__(self, title: str, total: int, *, enabled: bool = True, logs_hint: str = "") -> None:
        self.title = title
        self.total = total
        self.enabled = enabled
        self.logs_hint = logs_hint
        self.started = time.monotonic()
        self.bar: tqdm | None = None
        self.times: list[StepTime] = []

    def __enter__(self) -> Progress:
        if self.enabled:
            self.bar = tqdm(
                total=self.total, file=sys.stdout, desc=self.title, leave=False, dynamic_ncols=False, ncols=80,
                bar_format="{desc} {n_fmt}/{total_fmt} [{elapsed}]", mininterval=1.0,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def write(self, line: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        if self.bar is not None:
            self.bar.set_description_str(f"{self.title}: {name}")
        try:
            yield
        except BaseException:
            elapsed = time.monotonic() - t0
            self.times.append(StepTime(name, elapsed, False))
            self.write(f"  ✗ {name} failed after {elapsed:.0f}s" + (f"; {self.logs_hint}" if self.logs_hint else ""))
            raise
        elapsed = time.monotonic() - t0
        self.times.append(StepTime(name, elapsed, True))
        if self.bar is not None:
            self.bar.update(1)
        self.write(f"  ✓ {name} ({elapsed:.0f}s)")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
