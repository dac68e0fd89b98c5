"""`make handout` (tools/make_handout.py): what learners get holds the course and the exercises and
nothing that gives answers away, is a one-commit git repository built the same way every time,
installs as a package with its data files, and runs an exercise on its own.

Answers and hidden tests are read from solutions/ here with the test suite's own helpers
(support.nbtools), not with the script's code, so a mistake in one is not repeated in the other."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from support.kernels import execute_cells, running_kernel
from support.nbtools import ROOT, SOLUTIONS, STUB, answer_cells, answer_source, answers_of, grade_cells, nbg, notebooks, read

SCRIPT = ROOT / "tools" / "make_handout.py"
TOP_LEVEL = {"course", "exercises", "grader", "kind-configs", "environment.yml", "pyproject.toml", "Makefile",
             "README.md", "nbgrader_config.py", ".gitignore"}
"""Everything learners get, and nothing else."""
COPIED_AS_IS = ("course", "exercises", "grader", "kind-configs", "environment.yml")
NEVER = ("solutions", "tools", "tests", "benchmarks", "docs", ".ci")
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def make_handout(out: Path, source: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--source", str(source), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, check=False)


def built(out: Path, source: Path = ROOT) -> Path:
    proc = make_handout(out, source)
    assert proc.returncode == 0, proc.stderr
    return out


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def tracked(root: Path, *paths: str) -> list[str]:
    return sorted(git(root, "ls-files", "--", *paths).splitlines())


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` except git's own, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


def readable_text(path: Path) -> str:
    """What a learner can read in a file; for a notebook, also every cell's source and output."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        nb = nbformat.reads(text, as_version=4)
        text += "\n" + "\n".join(c.source for c in nb.cells)
        text += "\n" + "\n".join(json.dumps(o) for c in nb.cells for o in c.get("outputs", []))
    return text


def flat(text: str) -> str:
    return " ".join(text.split())


def hidden_regions(source: str) -> list[str]:
    return re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source, re.DOTALL)


def secrets() -> dict[str, str]:
    """Every solution answer's YAML and every hidden test's source, by a name saying where it is from."""
    out: dict[str, str] = {}
    for path in notebooks(SOLUTIONS):
        nb = read(path)
        for name, yaml_text in answers_of(nb).items():
            out[f"{path.parent.name}: answer {name}"] = yaml_text
        for gid, cell in grade_cells(nb).items():
            for i, region in enumerate(hidden_regions(cell.source)):
                out[f"{path.parent.name}: hidden test {gid}[{i}]"] = region
    return out


@pytest.fixture(scope="module")
def handout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("handout") / "handout")


@pytest.fixture(scope="module")
def source_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course repository holding what the hand-out is built from, and building into a hand-out."""
    repo = tmp_path_factory.mktemp("source") / "course-repo"
    for rel in tracked(ROOT, *COPIED_AS_IS, "solutions", "tools/handout", "pyproject.toml"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, repo / rel)
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", "--all")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false",
        "commit", "-q", "--no-verify", "-m", "course")
    built(repo.parent / "handout-of-the-copy", repo)
    return repo


@pytest.fixture
def source_copy(source_template: Path, tmp_path: Path) -> Path:
    """A throw-away copy of ``source_template``, to break or change."""
    return shutil.copytree(source_template, tmp_path / "course-repo", symlinks=True)


# --- what is in it ------------------------------------------------------------------------------
def test_it_holds_exactly_the_allow_listed_parts(handout: Path) -> None:
    assert {p.name for p in handout.iterdir()} == TOP_LEVEL | {".git"}
    for name in NEVER:
        assert not (handout / name).exists(), name
    for rel in tracked(ROOT, *COPIED_AS_IS):
        assert (handout / rel).read_bytes() == (ROOT / rel).read_bytes(), rel
    copied = {f for f in files_of(handout) if f.split("/")[0] in COPIED_AS_IS}
    assert copied == set(tracked(ROOT, *COPIED_AS_IS)), "only files git tracks are copied"
    assert len(list((handout / "exercises").glob("*/*.ipynb"))) == len(notebooks(SOLUTIONS))


def test_no_file_gives_away_an_answer_or_a_hidden_test(handout: Path) -> None:
    found = secrets()
    assert sum(": answer " in k for k in found) == sum(len(answer_cells(read(p))) for p in notebooks(SOLUTIONS)) >= 16
    assert sum(": hidden test " in k for k in found) >= 16
    flat_secrets = {what: flat(text) for what, text in found.items()}
    for rel in files_of(handout):
        text = readable_text(handout / rel)
        assert not [m for m in MARKERS if m in text], rel
        flat_text = flat(text)
        assert not [what for what, secret in flat_secrets.items() if secret in flat_text], rel


def test_exercises_keep_their_visible_tests_and_blank_answers(handout: Path) -> None:
    for path in notebooks(SOLUTIONS):
        student = read(handout / "exercises" / path.relative_to(SOLUTIONS))
        assert list(grade_cells(student)) == list(grade_cells(read(path)))
        assert all(f"\n{STUB}\n" in c.source for c in answer_cells(student).values())


def test_the_pyproject_installs_the_package_with_the_learner_readme(handout: Path) -> None:
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())
    theirs = tomllib.loads((handout / "pyproject.toml").read_text())
    assert theirs["project"] == ours["project"] and theirs["project"]["readme"] == "README.md"
    assert theirs["build-system"] == ours["build-system"]
    assert theirs["tool"] == {"setuptools": ours["tool"]["setuptools"]}, "no pytest settings pointing at tests/"


def test_relative_links_in_the_handout_lead_to_handout_files(handout: Path) -> None:
    checked = 0
    for rel in files_of(handout):
        path = handout / rel
        if path.suffix == ".md":
            texts = [path.read_text()]
        elif path.suffix == ".ipynb":
            texts = [c.source for c in read(path).cells if c.cell_type == "markdown"]
        else:
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", "\n".join(texts)):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            checked += 1
            assert (path.parent / target.split("#")[0]).resolve().is_relative_to(handout.resolve()), f"{rel}: {target}"
            assert (path.parent / target.split("#")[0]).exists(), f"{rel} links to {target}, which learners do not get"
    assert checked >= 10


def test_the_learner_readme_says_how_to_start_and_how_grading_works(handout: Path) -> None:
    readme = flat((handout / "README.md").read_text())
    for promise in ("make lab", "Visible tests", "Hidden tests", "Validate", "Grading happens at your instructor's"):
        assert promise in readme, promise
    for absent in ("solutions/", "make release", "make autograde", "tools/"):
        assert absent not in readme, absent


def test_the_learner_makefile_starts_the_lab_and_has_no_instructor_targets(handout: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    lab = subprocess.run(["make", "-n", "lab"], cwd=handout, capture_output=True, text=True, env=env, check=True).stdout
    assert "-m venv .venv" in lab and "pip install -q -e ." in lab
    start = re.search(r"jupyter lab .*?(\S+\.ipynb)$", lab, re.MULTILINE)
    assert start is not None and (handout / start.group(1)).is_file()
    readme_targets = set(re.findall(r"`make (\w+)", (handout / "README.md").read_text()))
    for target in readme_targets | {"help", "install", "doctor"}:
        assert subprocess.run(["make", "-n", target], cwd=handout, capture_output=True, env=env, check=False).returncode == 0, target
    for instructor_only in ("test", "release", "autograde", "feedback", "grades", "build-exercises", "lessons", "handout"):
        proc = subprocess.run(["make", "-n", instructor_only], cwd=handout, capture_output=True, text=True, env=env, check=False)
        assert proc.returncode != 0 and "No rule to make target" in proc.stderr, instructor_only


def test_validate_uses_the_time_limits_grading_uses(handout: Path) -> None:
    from traitlets.config.loader import PyFileConfigLoader

    learner = PyFileConfigLoader("nbgrader_config.py", path=str(handout)).load_config()
    source = (ROOT / "nbgrader_config.py").read_text()
    for name in ("timeout", "startup_timeout"):
        value = re.search(rf"^c\.Execute\.{name} = (\d+)$", source, re.MULTILINE)
        assert value is not None and learner.Execute[name] == int(value.group(1)), name
    assert set(learner) == {"Execute"}, "learners' nbgrader settings are only the Validate button's time limits"


def test_the_repository_makefile_builds_it_with_the_script() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    plan = subprocess.run(["make", "-n", "handout"], cwd=ROOT, capture_output=True, text=True, env=env, check=True)
    assert "tools/make_handout.py" in plan.stdout


# --- a git repository, the same every time --------------------------------------------------------
def test_it_is_a_git_repository_with_one_commit_and_a_clean_tree(handout: Path) -> None:
    assert git(handout, "rev-list", "--count", "HEAD") == "1"
    assert git(handout, "status", "--porcelain", "--ignored") == ""
    assert sorted(git(handout, "ls-files").splitlines()) == sorted(files_of(handout))
    assert git(handout, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(ROOT, "rev-parse", "HEAD") in git(handout, "log", "-1", "--format=%B")


@pytest.mark.slow  # builds a second hand-out through real git
def test_building_twice_gives_the_same_commit_and_files(handout: Path, tmp_path: Path) -> None:
    again = built(tmp_path / "again")
    assert git(again, "rev-parse", "HEAD") == git(handout, "rev-parse", "HEAD")
    assert files_of(again) == files_of(handout)
    built(again)  # over the previous hand-out
    assert git(again, "rev-parse", "HEAD") == git(handout, "rev-parse", "HEAD")
    assert git(again, "rev-list", "--count", "HEAD") == "1"


def _nbgitpuller_update(clone: Path) -> None:
    """What an nbgitpuller link does to a learner's existing copy (nbgitpuller/pull.py, GitPuller.update):
    fetch, commit the learner's changes as WIP, merge the branch preferring the learner's side."""
    git(clone, "fetch", "-q")
    git(clone, "commit", "-qam", "WIP", "--allow-empty")
    git(clone, "merge", "-q", "-Xours", "origin/main")


@pytest.mark.slow  # clones, pushes and merges through real git, and builds three hand-outs
def test_an_update_is_one_more_commit_that_learners_copies_merge(source_copy: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "clone", "-q", "--bare", str(built(tmp_path / "first", source_copy)), str(tmp_path / "published.git")], check=True)
    first = git(tmp_path / "published.git", "rev-parse", "main")
    learner = tmp_path / "learner"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "published.git"), str(learner)], check=True)
    git(learner, "config", "user.email", "nbgitpuller@example.com")
    git(learner, "config", "user.name", "nbgitpuller")
    exercise = learner / "exercises" / "07-network-policies" / "07-network-policies.ipynb"
    nb = read(exercise)
    answer_cells(nb)["default_deny"].source = answer_source("default_deny", "kind: NetworkPolicy  # my answer")
    nbformat.write(nb, exercise)

    instructor = tmp_path / "instructor"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "published.git"), str(instructor)], check=True)
    with (source_copy / "course" / "README.md").open("a") as fh:
        fh.write("\nA sentence added after the course started.\n")
    git(source_copy, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qam", "course: one more sentence")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--source", str(source_copy), "--out", str(instructor), "--update"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "updated" in proc.stdout, proc.stderr
    assert git(instructor, "rev-list", "--count", "HEAD") == "2" and git(instructor, "rev-parse", "HEAD^") == first
    assert git(instructor, "rev-parse", "HEAD^{tree}") == git(built(tmp_path / "fresh", source_copy), "rev-parse", "HEAD^{tree}")
    assert git(instructor, "status", "--porcelain", "--ignored") == ""
    git(instructor, "push", "-q", "origin", "main")

    _nbgitpuller_update(learner)
    assert "added after the course started" in (learner / "course" / "README.md").read_text()
    assert "# my answer" in answer_cells(read(exercise))["default_deny"].source

    again = subprocess.run([sys.executable, str(SCRIPT), "--source", str(source_copy), "--out", str(instructor), "--update"],
                           capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "up to date" in again.stdout
    assert git(instructor, "rev-list", "--count", "HEAD") == "2", "an update without changes commits nothing"


def test_an_update_needs_the_published_handout(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "nothing"), "--update"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1 and "--update needs the published hand-out" in proc.stderr


# --- refusals -----------------------------------------------------------------------------------
def _add_to_first_markdown_cell(path: Path, text: str) -> None:
    nb = read(path)
    next(c for c in nb.cells if c.cell_type == "markdown").source += "\n\n" + text
    nbformat.write(nb, path)


def _an_answer_and_a_hidden_test() -> tuple[str, str]:
    nb = read(SOLUTIONS / "07-network-policies" / "07-network-policies.ipynb")
    hidden = next(r for c in grade_cells(nb).values() for r in hidden_regions(c.source))
    return answers_of(nb)["api_from_frontend"], hidden


def _leak_answer_into_a_lesson(repo: Path) -> str:
    answer, _ = _an_answer_and_a_hidden_test()
    reindented = "\n".join("    " + line for line in answer.splitlines())  # a copy in a code block is still the answer
    _add_to_first_markdown_cell(repo / "course" / "07-network-policies.ipynb", reindented)
    return "course/07-network-policies.ipynb contains the answer 'api_from_frontend'"


def _leak_hidden_test_into_an_exercise(repo: Path) -> str:
    _, hidden = _an_answer_and_a_hidden_test()
    _add_to_first_markdown_cell(repo / "exercises" / "07-network-policies" / "07-network-policies.ipynb", hidden)
    return "exercises/07-network-policies/07-network-policies.ipynb contains a hidden test"


def _marker_in_the_package(repo: Path) -> str:
    path = repo / "grader" / "verify.py"
    path.write_text(path.read_text() + "\n# ### BEGIN HIDDEN TESTS\n")
    return "grader/verify.py contains the nbgrader marker 'BEGIN HIDDEN TESTS'"


def _prompt_changed_but_not_released(repo: Path) -> str:
    _add_to_first_markdown_cell(repo / "solutions" / "02-services" / "02-services.ipynb", "A new sentence.")
    return "exercises/02-services/02-services.ipynb: cell 0 (markdown) differs from solutions/: run `make release`"


def _points_changed_but_not_released(repo: Path) -> str:
    path = repo / "solutions" / "06-nsg" / "06-nsg.ipynb"
    nb = read(path)
    cell = next(c for c in nb.cells if nbg(c).get("grade") and not nbg(c).get("solution"))
    cell.metadata["nbgrader"]["points"] += 1
    nbformat.write(nb, path)
    return "exercises/06-nsg/06-nsg.ipynb: cell"


def _exercise_never_released(repo: Path) -> str:
    (repo / "exercises" / "05-egress" / "05-egress.ipynb").unlink()
    git(repo, "rm", "-q", "--cached", "exercises/05-egress/05-egress.ipynb")
    return "exercises/05-egress/05-egress.ipynb is missing: run `make release`"


@pytest.mark.slow  # builds the hand-out of a copied course, then one more (refused) build per damage, through real git
@pytest.mark.parametrize("damage", [_leak_answer_into_a_lesson, _leak_hidden_test_into_an_exercise, _marker_in_the_package,
                                    _prompt_changed_but_not_released, _points_changed_but_not_released, _exercise_never_released],
                         ids=lambda f: f.__name__.strip("_"))
def test_it_refuses_with_one_line_and_writes_nothing(handout: Path, source_copy: Path, tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    reason = damage(source_copy)  # the undamaged copy builds: see source_template
    previous = shutil.copytree(handout, tmp_path / "handout", symlinks=True)
    head = git(previous, "rev-parse", "HEAD")
    proc = make_handout(previous, source_copy)
    assert proc.returncode == 1
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("make_handout: refusing to build the hand-out: ") and reason in proc.stderr, proc.stderr
    assert git(previous, "rev-parse", "HEAD") == head, "a refused build leaves the previous hand-out alone"
    assert not (tmp_path / ".handout.building").exists()


def test_it_refuses_to_replace_a_folder_it_did_not_build(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    proc = make_handout(tmp_path / "mine")
    assert proc.returncode == 1 and "is not a hand-out this script built" in proc.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# --- it installs, and it runs on its own ----------------------------------------------------------
def _build_backend_is_installed(pyproject: Path) -> bool:
    for req in map(Requirement, tomllib.loads(pyproject.read_text())["build-system"]["requires"]):
        try:
            if importlib.metadata.version(req.name) not in req.specifier:
                return False
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


@pytest.mark.slow  # pip builds a wheel (seconds; longer where it must fetch the build backend)
def test_the_package_builds_with_its_data_files(handout: Path, tmp_path: Path) -> None:
    project = shutil.copytree(handout, tmp_path / "project")  # building writes build/ and *.egg-info next to it
    # --no-build-isolation when this environment has the build backend pyproject.toml names; otherwise
    # pip installs that backend into an isolated build environment from the configured index.
    isolation = ["--no-build-isolation"] if _build_backend_is_installed(project / "pyproject.toml") else []
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation,
                           "-w", str(tmp_path / "wheels"), str(project)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("netlab_grader-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package_data = {f for f in tracked(ROOT, "grader") if not f.endswith(".py")}
    assert package_data >= {"grader/data/facts.yaml", "grader/topology/data/shop.yaml", "grader/py.typed"}
    assert package_data <= names, package_data - names
    assert {f for f in tracked(ROOT, "grader") if f.endswith(".py")} <= names
    assert not [n for n in names if n.split("/")[0] in NEVER]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Grading happens at your instructor's" in metadata, "the package's readme is the learner README"


@pytest.mark.slow  # starts a kernel and a verifier
def test_an_exercise_runs_from_the_handout_alone(handout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first code cells of exercise 7 and the visible test of its first answer, in a kernel whose
    only course files are the hand-out's (PYTHONPATH is the hand-out, the kernel runs in the
    exercise's folder): the solution passes the visible test, the blank answer fails it."""
    handout = shutil.copytree(handout, tmp_path / "handout")  # importing writes __pycache__; keep the shared one clean
    monkeypatch.setenv("PYTHONPATH", str(handout))
    monkeypatch.setenv("NETLAB_BACKEND", "sim")
    folder = handout / "exercises" / "07-network-policies"
    exercise = read(folder / "07-network-policies.ipynb")
    solution = answers_of(read(SOLUTIONS / "07-network-policies" / "07-network-policies.ipynb"))
    answer = next(iter(answer_cells(exercise)))
    code = [c for c in exercise.cells if c.cell_type == "code"]
    first_answer = code.index(answer_cells(exercise)[answer])
    visible = next(c for c in grade_cells(exercise).values() if f'answer="{answer}"' in c.source and "Visible test" in c.source)
    where = nbformat.v4.new_code_cell("import grader, os\nprint(os.path.abspath(grader.__file__))\nprint(os.getcwd())")
    filled = nbformat.v4.new_code_cell(answer_source(answer, solution[answer]))
    cells = [where, *code[:first_answer], filled, visible, answer_cells(exercise)[answer], visible]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in cells], metadata=exercise.metadata)

    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    with running_kernel(client):
        execute_cells(client)

    def outputs(cell: nbformat.NotebookNode, kind: str) -> list[nbformat.NotebookNode]:
        return [o for o in cell.outputs if o.output_type == kind]

    grader_file, cwd = "".join(o.text for o in outputs(nb.cells[0], "stream")).split()
    assert Path(grader_file).is_relative_to(handout) and Path(cwd) == folder
    for cell in nb.cells[:-1]:
        assert not outputs(cell, "error"), cell.source
        assert not [o for o in outputs(cell, "stream") if o.name == "stderr"], cell.source
    set_up = "".join(o.text for c in nb.cells[1:1 + first_answer] for o in outputs(c, "stream"))
    assert "shop/web" in set_up, "the set-up cell lists the shop's pods"
    (error,) = outputs(nb.cells[-1], "error")
    assert error.ename == "CheckFailed" and f"`{answer}` is empty" in error.evalue
