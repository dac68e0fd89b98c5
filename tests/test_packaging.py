"""The repository's set-up promises: dependencies agree everywhere, the README shows the two
commands, CI calls the README's test command, facts are dated and sourced."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names
CONDA_NAMES = {"python-kubernetes": "kubernetes", "pyyaml": "PyYAML"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    return {_norm(r.name): str(r.specifier) for r in map(Requirement, reqs)}


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                if not pip_dep.startswith("-e"):
                    r = Requirement(pip_dep.split("#")[0].strip())
                    out[_norm(r.name)] = str(r.specifier)
            continue
        r = Requirement(dep)
        if r.name in ("python", "pip"):
            continue
        out[_norm(CONDA_NAMES.get(r.name, r.name))] = str(r.specifier)
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    assert _environment() == _pyproject()


def test_environment_installs_the_package_itself() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_readme_shows_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_fact_is_dated_and_sourced() -> None:
    from grader.facts import all_facts, reviewed

    facts = all_facts()
    assert len(facts) >= 20
    for f in facts.values():
        assert f.sources and all(s.startswith("http") for s in f.sources), f.id
        assert f.as_of <= reviewed(), f.id
        assert f.text.strip(), f.id
