"""Every expectation kind, collected from the modules that define them (no registration by import
side effect): :mod:`grader.checks.expectations` (``objects``, ``probe``, ``matrix``, ``value``),
:mod:`grader.checks.expect_web` (``http``, ``distribution``, ``service_type``) and
:mod:`grader.checks.expect_config` (``kind_config``, ``nsg_rules``). ``grader.checks.engine`` reads
:data:`EXPECTATIONS` and :func:`group_tables` from here.
"""

from __future__ import annotations

from dataclasses import replace

from . import expect_config, expect_web, expectations
from .expect_web import http_table
from .expectations import probe_table, value_table
from .kinds import Handler
from .outcome import Finding


def _collect(*tables: dict[str, Handler]) -> dict[str, Handler]:
    out: dict[str, Handler] = {}
    for table in tables:
        for kind, handler in table.items():
            if kind in out:
                raise ValueError(f"expectation kind {kind!r} is defined twice")
            out[kind] = handler
    return out


EXPECTATIONS: dict[str, Handler] = _collect(expectations.HANDLERS, expect_web.HANDLERS, expect_config.HANDLERS)


def group_tables(findings: list[Finding]) -> list[Finding]:
    """Probe and value findings carry a row each; one table per kind goes on the first of them."""
    out = list(findings)
    for kind, table in (("probe", probe_table), ("value", value_table), ("http", http_table)):
        index = [i for i, f in enumerate(out) if f.kind == kind and f.row]
        if index:
            out[index[0]] = replace(out[index[0]], html=table([out[i].row for i in index]))
    return out


__all__ = ["EXPECTATIONS", "group_tables"]
