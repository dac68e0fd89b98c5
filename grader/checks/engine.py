"""Evaluate a check spec against answer texts in a fresh lab: the only place a verdict is computed.

Runs inside the verifier process (``python -m grader.verify``), never in the learner's kernel.
``evaluate`` never raises for anything a learner or an instructor can get wrong: it returns an
:class:`Outcome` whose ``error`` says what to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import LabError, ManifestError, NetlabError
from ..manifests import Manifest, parse_manifests
from ..manifests.bounded_yaml import YamlInputError, load_yaml_value
from .outcome import Finding, Outcome, request_digest
from .vocabulary import FORMATS, SPEC_VERSION, AnswerError, NotFound, SpecError


def backend_choice() -> str:
    """Grading uses the simulated cluster unless ``NETLAB_BACKEND`` says otherwise (never ``auto``
    by default: a grade must not depend on whether Docker happens to run on the grading machine)."""
    return os.environ.get("NETLAB_BACKEND", "").strip().lower() or "sim"


def _manifest_error_text(name: str, exc: ManifestError) -> str:
    lines = [f"`{name}` is not a valid manifest; fix these fields:"]
    lines += [f"  {p}" for p in exc.problems]
    return "\n".join(lines)


def _empty(name: str) -> AnswerError:
    return AnswerError(f"`{name}` is empty: write your YAML between the triple quotes of its answer cell")


class Context:
    """Parsed answers and the labs (one per CNI profile) they are applied to, created on demand."""

    def __init__(self, spec: Mapping[str, Any], answers: Mapping[str, str], backend: str, *, pictures: bool = True) -> None:
        self.spec = spec
        self.setup = spec["setup"]
        self.answers = dict(answers)
        self.backend = backend
        self.pictures = pictures
        """False in the trusted re-check: only pass/fail and the message count there, so no HTML or PNG is drawn."""
        self.manifests: dict[str, list[Manifest]] = {}
        self.values: dict[str, Any] = {}
        self.nsgs: dict[str, Any] = {}
        self._labs: dict[str, Any] = {}
        self._cas: dict[str, Any] = {}

    def ca(self, name: str) -> Any:
        """The certificate authority called ``name`` for this check (minted on first use, here in the verifier)."""
        if name not in self._cas:
            from ..tls import mint_ca

            self._cas[name] = mint_ca(name)
        return self._cas[name]

    @property
    def answer_names(self) -> list[str]:
        return list(self.spec["answers"])

    def parse(self) -> None:
        for name in self.answer_names:
            if name not in self.answers:
                raise AnswerError(f"no answer `{name}` was given to the check")
            text = self.answers[name]
            if self.spec["format"] == "manifests":
                try:
                    docs = parse_manifests(text, default_namespace=self.setup["namespace"])
                except ManifestError as exc:
                    raise AnswerError(_manifest_error_text(name, exc)) from None
                if not docs:
                    raise _empty(name)
                self.manifests[name] = docs
            elif self.spec["format"] == "nsg":
                self.nsgs[name] = _parse_nsg(name, text)
            else:
                data = _load_answer_yaml(name, text)
                if data is None:
                    raise _empty(name)
                if not isinstance(data, Mapping):
                    raise AnswerError(f"`{name}` should be YAML lines `key: value`, got a {type(data).__name__}: {str(data)[:60]!r}")
                for key, value in data.items():
                    self.values[str(key)] = value

    def notes(self) -> list[str]:
        """Likely slips worth a line above the wrong flows: objects in a namespace with no pods."""
        topology = self.setup.get("topology")
        if not topology or self.spec["format"] != "manifests":
            return []
        from ..topology import load_topology

        populated = {p.namespace for p in load_topology(topology).pods} | {"kube-system"}
        created = {m.key.name for m in self.all_manifests() if m.key.kind == "Namespace"} | self._setup_namespaces()
        return [f"note: {m.key} is in namespace {m.key.namespace!r}, where no pod of the lab runs: is metadata.namespace missing or misspelt?"
                for m in self.all_manifests() if m.key.namespace and m.key.namespace not in populated | created]

    def _setup_namespaces(self) -> set[str]:
        """Namespaces the test's own setup creates (``check.add_namespace``): an answer may put objects there."""
        steps = list(self.setup.get("steps", [])) + [{"apply": text} for text in self.setup.get("given", [])]
        out = set()
        for step in steps:
            if "apply" in step:
                out |= {m.key.name for m in parse_manifests(step["apply"], default_namespace=self.setup["namespace"]) if m.key.kind == "Namespace"}
        return out

    def all_manifests(self) -> list[Manifest]:
        return [m for name in self.answer_names for m in self.manifests.get(name, [])]

    def lab(self, profile: str | None = None) -> Any:
        """A lab for ``profile`` with the topology deployed, the given objects applied, then the answers."""
        profile = profile or self.setup["profile"]
        if profile in self._labs:
            return self._labs[profile]
        try:
            lab = _fresh_lab(self.backend, profile, self.setup.get("topology"), self.setup.get("load_balancer"))
        except ImportError as exc:
            raise LabError(f"backend {self.backend!r} is not available here: {exc}") from None
        except (ValueError, ManifestError) as exc:
            raise SpecError(f"the check's lab setup is invalid: {exc}") from None
        from .actions import ACTIONS

        steps = list(self.setup.get("steps", [])) + [{"apply": text} for text in self.setup.get("given", [])]
        for step in steps:
            if "apply" in step:
                try:
                    lab.apply(step["apply"], namespace=self.setup["namespace"])
                except ManifestError as exc:
                    raise SpecError(f"given objects are invalid: {exc}") from None
                continue
            run = ACTIONS.get(step.get("action", ""))
            if run is None:
                raise SpecError(f"unknown setup action {step.get('action')!r}; known: {', '.join(sorted(ACTIONS))}")
            run(self, lab, {k: v for k, v in step.items() if k != "action"})
        if self.spec["format"] == "manifests":
            for name in self.answer_names:
                try:
                    lab.apply(self.answers[name], namespace=self.setup["namespace"])
                except ManifestError as exc:
                    raise AnswerError(f"`{name}` could not be applied:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
        elif self.spec["format"] == "nsg":
            for name in self.answer_names:
                lab.attach_nsg(self.nsgs[name], to="subnet")
        self._labs[profile] = lab
        return lab


_LIVE: dict[tuple[str, str], tuple[Any, str | None]] = {}
"""Real clusters (kind) are reused between checks of one verifier process, with what is deployed."""


def _load_answer_yaml(name: str, text: str) -> Any:
    """A ``values`` or ``nsg`` answer through the one bounded loader (grader.manifests.bounded_yaml);
    an answer it refuses fails with where and why, and only this answer's cells lose points."""
    try:
        loaded = load_yaml_value(text, keys_as_written=True)
    except YamlInputError as exc:
        where = f" {exc.where}" if exc.where else ""
        reason = exc.reason.replace("not valid YAML: ", "", 1)
        if reason != exc.reason:
            raise AnswerError(f"`{name}` is not valid YAML{where}: {reason}") from None
        raise AnswerError(f"`{name}`{where}: {reason}") from None
    return None if loaded is None else loaded.value


def _parse_nsg(name: str, text: str) -> Any:
    """An ``nsg`` answer: Azure security rules, validated with field paths (grader.nsg.parse)."""
    from ..nsg import parse_nsg

    raw = _load_answer_yaml(name, text)
    if raw is None:
        raise _empty(name)
    try:
        named = isinstance(raw, Mapping) and bool(raw.get("name"))
        return parse_nsg(raw, name=None if named else name.replace("_", "-"))
    except ManifestError as exc:
        raise AnswerError("\n".join([f"`{name}` is not a valid set of NSG rules; fix these fields:", *(f"  {p}" for p in exc.problems)])) from None


def _fresh_lab(backend: str, profile: str, topology: str | None, load_balancer: str | None = None) -> Any:
    """The simulated cluster: a new one per check. A real cluster: the same one, reset to the bare
    topology (nbgrader grades one notebook at a time, so checks never overlap on it)."""
    from ..backends import connect

    if backend == "sim":
        lab = connect(profile, backend="sim", quiet=True, load_balancer=load_balancer)
        if topology:
            lab.deploy(topology)
        return lab
    if load_balancer not in (None, "cloud-provider-kind"):
        raise LabError(f"this check models load_balancer={load_balancer!r}, which only the simulated cluster has; "
                       "grade it with NETLAB_BACKEND=sim")
    lab, deployed = _LIVE.get((backend, profile), (None, None))
    if lab is None:
        lab = connect(profile, backend=backend, quiet=True)
    if topology and deployed == topology:
        lab.reset(keep_topology=True)
    else:
        lab.reset()
        if topology:
            lab.deploy(topology)
    _LIVE[(backend, profile)] = (lab, topology)
    return lab


def check_spec(spec: Any) -> None:
    from .catalog import EXPECTATIONS

    if not isinstance(spec, Mapping) or spec.get("version") != SPEC_VERSION:
        raise SpecError(f"unsupported check spec (version {spec.get('version') if isinstance(spec, Mapping) else None!r})")
    if spec.get("format") not in FORMATS:
        raise SpecError(f"unknown answer format {spec.get('format')!r}")
    for i, exp in enumerate(spec.get("expect", [])):
        if not isinstance(exp, Mapping) or exp.get("kind") not in EXPECTATIONS:
            raise SpecError(f"expectation {i}: unknown kind {exp.get('kind') if isinstance(exp, Mapping) else exp!r}; known: {', '.join(sorted(EXPECTATIONS))}")


def evaluate(spec: Mapping[str, Any], answers: Mapping[str, str], *, backend: str | None = None, pictures: bool = True) -> Outcome:
    """Apply the answers in a fresh lab and check every expectation. Never raises for bad input.
    ``pictures=False`` skips the HTML and PNG renderings (the trusted re-check only needs the verdict)."""
    from .catalog import EXPECTATIONS, group_tables

    digest = request_digest(dict(spec), dict(answers))
    check_id = str(spec.get("id", "?")) if isinstance(spec, Mapping) else "?"
    names = tuple(spec.get("answers", ())) if isinstance(spec, Mapping) else ()

    def failed(message: str, kind: str) -> Outcome:
        return Outcome(check_id, False, (), message, kind, names, digest=digest)

    try:
        check_spec(spec)
        ctx = Context(spec, answers, backend or backend_choice(), pictures=pictures)
        ctx.parse()
        expectations = list(spec["expect"])
        if not expectations and spec["format"] in ("manifests", "nsg"):
            ctx.lab()  # still apply the answer: a visible failure for answers the cluster would reject
        findings: list[Finding] = []
        for exp in expectations:
            params = {k: v for k, v in exp.items() if k != "kind"}
            try:
                findings.append(EXPECTATIONS[exp["kind"]](ctx, params))
            except NotFound as exc:
                findings.append(Finding(exp["kind"], str(exc).split(":")[0], False, (str(exc),)))
    except AnswerError as exc:
        return failed(str(exc), "answer")
    except SpecError as exc:
        return failed(str(exc), "spec")
    except (LabError, NetlabError) as exc:
        return failed(f"the lab could not run this check: {exc}", "lab")
    except (KeyError, TypeError, ValueError) as exc:
        return failed(f"{type(exc).__name__}: {exc}", "spec")
    findings = group_tables(findings)
    passed = all(f.ok for f in findings)
    extra = {"notes": ctx.notes()} if not passed else {}
    return Outcome(check_id, passed, tuple(findings), "", "", names, hidden=not findings, digest=digest, extra=extra)
