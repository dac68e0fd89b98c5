"""The repository's set-up promises: dependencies agree everywhere and are exactly what the code
imports, the README shows the two commands, CI calls the README's test command and the linters,
facts are dated and sourced, no build artefact or large file is tracked, the licence file is the
declared one, and the fast suite states its budget once."""

from __future__ import annotations

import ast
import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest
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


def test_readme_shows_the_two_commands_and_ci_runs_lint_and_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make lint" in ci


def test_every_fact_is_dated_and_sourced() -> None:
    from grader.facts import all_facts, reviewed

    facts = all_facts()
    assert len(facts) >= 20
    for f in facts.values():
        assert f.sources and all(s.startswith("http") for s in f.sources), f.id
        assert f.as_of <= reviewed(), f.id
        assert f.text.strip(), f.id


# --- repository hygiene ---------------------------------------------------------------------------

MAX_TRACKED_BYTES = 1_000_000
BUILD_ARTEFACTS = ("*.whl", "*.tar.gz", "*.egg", "*.zip")


def _tracked_files() -> list[str]:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to say about tracked files")
    out = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
    return sorted(name for name in out.decode("utf-8").split("\0") if name)


def test_no_tracked_file_is_a_build_artefact_or_over_a_megabyte() -> None:
    files = _tracked_files()
    artefacts = [f for f in files if any(fnmatch.fnmatch(f, pattern) for pattern in BUILD_ARTEFACTS)]
    big = [f"{f} ({size:,} bytes)" for f in files if (ROOT / f).is_file() and (size := (ROOT / f).stat().st_size) > MAX_TRACKED_BYTES]
    assert not artefacts, f"build artefacts are tracked (git rm --cached them): {artefacts}"
    assert not big, f"tracked files over {MAX_TRACKED_BYTES:,} bytes: {big}"


def test_gitignore_keeps_wheels_and_build_output_out() -> None:
    rules = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert {"*.whl", "build/", "dist/", "*.egg-info/"} <= rules


def test_the_licence_file_is_the_declared_licence() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "Apache-2.0"  # an SPDX expression (PEP 639), not the deprecated table
    assert data["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text and "END OF TERMS AND CONDITIONS" in text
    # setuptools reads the SPDX string and license-files from 77.0 on; older ones warn or refuse.
    setuptools = next(Requirement(r) for r in data["build-system"]["requires"] if Requirement(r).name == "setuptools")
    assert not setuptools.specifier.contains("76.9") and setuptools.specifier.contains("77.0")


# --- every imported package declared, every declared package used ---------------------------------

# Import name -> distribution name, where they differ.
DISTRIBUTION_OF = {"yaml": "pyyaml", "IPython": "ipython", "kubernetes_validate": "kubernetes-validate"}
# Declared but never imported by our code, and why.
NOT_IMPORTED = {
    "jupyterlab": "the application `make lab` starts",
    "pytest-xdist": "a pytest plugin (pytest -n 2)",
    "ruff": "make lint",
    "mypy": "make lint",
    "types-pyyaml": "stubs mypy reads",
    "types-jsonschema": "stubs mypy reads",
    "types-tqdm": "stubs mypy reads",
    "pandas-stubs": "stubs mypy reads",
}
RUNTIME_CODE = ("grader", "nbgrader_config.py")  # what learners' and instructors' installs run
DEVELOPER_CODE = ("tools", "tests", "benchmarks")  # may also use the test extra


@cache
def _local_names() -> frozenset[str]:
    """Modules of this repository that code imports by a bare name (tests/ and tools/ are on sys.path)."""
    names = set()
    for top in (ROOT, *(ROOT / d for d in DEVELOPER_CODE)):
        for path in top.iterdir():
            if path.suffix == ".py" or (path.is_dir() and not path.name.startswith(".")):
                names.add(path.stem)
    for path in (ROOT / "tests").rglob("*.py"):  # conftest-relative imports inside a test folder
        names.add(path.stem)
    return frozenset(names)


@cache
def _imported_names(path: Path) -> tuple[tuple[str, int], ...]:
    """(top-level name, line) of every import in one file; pytest.importorskip("x") counts."""
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.append((node.module.split(".")[0], node.lineno))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "importorskip"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.args[0].value.split(".")[0], node.lineno))
    return tuple(sorted(out, key=lambda item: item[1]))


def _third_party_imports(roots: tuple[str, ...]) -> dict[str, str]:
    """Top-level name -> first place it is imported (file:line), for imports that are neither the
    standard library nor this repository's own modules."""
    local = _local_names()
    found: dict[str, str] = {}
    files = [p for r in roots for p in ((ROOT / r).rglob("*.py") if (ROOT / r).is_dir() else [ROOT / r])]
    for path in sorted(files):
        for top, line in _imported_names(path):
            if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                found.setdefault(top, f"{path.relative_to(ROOT)}:{line}")
    return found


def _declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {_norm(Requirement(r).name) for r in reqs}


def _distribution(import_name: str) -> str:
    return _norm(DISTRIBUTION_OF.get(import_name, import_name))


def test_what_the_package_imports_is_a_runtime_dependency() -> None:
    runtime = _declared()
    missing = [f"{name} ({where})" for name, where in _third_party_imports(RUNTIME_CODE).items() if _distribution(name) not in runtime]
    assert not missing, f"imported but not in [project] dependencies of pyproject.toml (and environment.yml): {missing}"


def test_what_tools_tests_and_benchmarks_import_is_declared() -> None:
    declared = _declared() | _declared("test")
    missing = [f"{name} ({where})" for name, where in _third_party_imports(DEVELOPER_CODE).items() if _distribution(name) not in declared]
    assert not missing, f"imported but declared neither as a dependency nor in the test extra: {missing}"


def test_every_declared_package_is_imported_or_has_a_reason() -> None:
    declared = _declared() | _declared("test")
    imported = {_distribution(n) for n in _third_party_imports(RUNTIME_CODE + DEVELOPER_CODE)}
    unused = sorted(declared - imported - {_norm(n) for n in NOT_IMPORTED})
    assert not unused, f"declared in pyproject.toml but imported nowhere (drop them, or say why in NOT_IMPORTED): {unused}"
    assert {_norm(n) for n in NOT_IMPORTED} <= declared, "NOT_IMPORTED names a package that is not declared"
    assert not ({_norm(n) for n in NOT_IMPORTED} & imported), "NOT_IMPORTED names a package that is imported after all"


def test_the_import_scan_sees_what_it_must() -> None:
    found = _third_party_imports(("grader",))
    assert {"yaml", "jsonschema", "referencing", "nbformat", "traitlets", "IPython", "kubernetes"} <= set(found)
    assert found["IPython"].startswith("grader/checks/client.py:")
    assert "grader" not in found and "os" not in found
    assert "playwright" in _third_party_imports(("tests",))  # via pytest.importorskip


# --- the fast suite's budget ------------------------------------------------------------------------


def test_the_fast_suite_budget_is_stated_once_and_the_target_reports_against_it() -> None:
    makefile = (ROOT / "Makefile").read_text()
    budgets = re.findall(r"^TEST_FAST_BUDGET\s*:?=\s*(\d+)\s*$", makefile, flags=re.M)
    assert len(budgets) == 1, "TEST_FAST_BUDGET must be set exactly once in the Makefile"
    recipe = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert "tools/timed.py --budget $(TEST_FAST_BUDGET)" in recipe and "pytest" in recipe
    for doc in ("README.md", "docs/architecture.md"):
        text = (ROOT / doc).read_text()
        assert "TEST_FAST_BUDGET" in text, f"{doc} should refer to the Makefile's budget"
        assert not re.search(r"test-fast[^\n]*(under|within) (a minute|\d+ ?s\b)", text), f"{doc} states its own budget"


def test_the_timer_reports_wall_cpu_budget_and_load() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import timed
    finally:
        sys.path.remove(str(ROOT / "tools"))
    line = timed.report("make test-fast", 47.26, 80.04, 45, (3.5, 2.0, 1.25))
    assert line == ("make test-fast: 47.3 s wall, 80.0 s CPU, budget 45 s on a quiet 2-core machine: OVER BUDGET by 2.3 s; "
                    "load average 3.50 2.00 1.25 (over 1, 5, 15 min)")
    assert timed.report("x", 10.0, 15.0, 45, None) == "x: 10.0 s wall, 15.0 s CPU, budget 45 s on a quiet 2-core machine: within budget"
    assert timed.main(["--budget", "30", "--name", "t", "--", sys.executable, "-c", "raise SystemExit(3)"]) == 3
