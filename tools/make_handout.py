"""Build the learners' hand-out: the course without its answer key, as a git repository.

    python tools/make_handout.py              # writes dist/handout/ (what `make handout` runs)
    python tools/make_handout.py --out DIR    # writes DIR instead
    python tools/make_handout.py --update     # one more commit on the hand-out already at --out

The full repository holds every answer and hidden test (``solutions/``, ``tools/``, the test banks),
so learners get this instead. What goes in is an explicit allow-list (``COPIED`` and ``TEMPLATES``
below, plus a ``pyproject.toml`` cut from the repository's); nothing else is copied, and only files
git tracks are taken from the allow-listed folders (no ``__pycache__``, no checkpoints).

The build refuses (exit status 1, one line saying why, nothing written) when
* ``exercises/`` is visibly out of date with ``solutions/`` (cells, prompts or tests differ; the
  full check is ``tests/exercises/test_nbgrader.py``, which runs nbgrader itself);
* any hand-out file holds an nbgrader marker (``BEGIN SOLUTION``, ``BEGIN HIDDEN TESTS``, ...), the
  YAML of a solution answer, or the source of a hidden test.

The output is a git repository with one commit whose author, date and message depend only on the
inputs, so building twice gives the same commit, ready to push for ``git clone`` or nbgitpuller.
Once learners have it, rebuild with ``--update`` (``make handout ARGS=--update``): the changes
become one more commit on top of the hand-out at ``--out`` (a clone of the published one), which
``git pull`` and nbgitpuller merge; a new one-commit repository would share no history with theirs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "dist" / "handout"

COPIED = ("course", "exercises", "grader", "kind-configs", "environment.yml")
"""Copied as they are in the repository: folders (their git-tracked files) and files."""

TEMPLATES = {
    "tools/handout/README.md": "README.md",
    "tools/handout/Makefile": "Makefile",
    "tools/handout/nbgrader_config.py": "nbgrader_config.py",
    "tools/handout/gitignore": ".gitignore",
}
"""Files written only for learners: repository path -> hand-out path."""

PYPROJECT_TABLES = (
    "build-system",
    "project",
    "project.optional-dependencies",
    "project.scripts",
    "tool.setuptools.packages.find",
    "tool.setuptools.package-data",
)
"""The tables of the repository's pyproject.toml the hand-out keeps (not the pytest settings,
which point at tests/). Its ``readme`` must be README.md: in the hand-out, the learner README."""

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
"""nbgrader's delimiters (ClearSolutions, ClearHiddenTests): never in anything learners get."""

COMMIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "k8s-networking course",
    "GIT_AUTHOR_EMAIL": "course@example.invalid",
    "GIT_COMMITTER_NAME": "k8s-networking course",
    "GIT_COMMITTER_EMAIL": "course@example.invalid",
}


class Refusal(Exception):
    """Why the hand-out is not built (one line)."""


# --- what goes in -----------------------------------------------------------------------------
def tracked_files(root: Path, path: str) -> list[str]:
    """Files git tracks at ``path`` (a file or a folder) in the repository at ``root``, sorted."""
    out = subprocess.run(["git", "ls-files", "-z", "--", path], cwd=root, capture_output=True, text=True, check=True)
    files = sorted(f for f in out.stdout.split("\0") if f)
    if not files:
        raise Refusal(f"{path}: not in the repository (nothing tracked by git)")
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        raise Refusal(f"{missing[0]}: tracked by git but missing from the working tree")
    return files


def learner_pyproject(text: str) -> str:
    """The repository's pyproject.toml with only the tables in ``PYPROJECT_TABLES``."""
    tables: list[tuple[str, list[str]]] = [("", [])]  # (table name, its lines); "" before the first
    for line in text.splitlines():
        header = re.match(r"^\[([A-Za-z0-9_.\-]+)\]\s*$", line)
        if header:
            tables.append((header.group(1), []))
        tables[-1][1].append(line)
    kept = ["\n".join(lines).strip("\n") for name, lines in tables if name in PYPROJECT_TABLES]
    result = "\n\n".join(kept) + "\n"
    if tomllib.loads(result).get("project", {}).get("readme") != "README.md":
        raise Refusal("pyproject.toml: project.readme must be README.md (the hand-out's README is the learner's)")
    return result


def handout_files(root: Path) -> dict[str, bytes]:
    """Every file of the hand-out: its path in the hand-out -> its content."""
    files: dict[str, bytes] = {}
    for path in COPIED:
        for f in tracked_files(root, path):
            files[f] = (root / f).read_bytes()
    for source, dest in TEMPLATES.items():
        tracked_files(root, source)
        files[dest] = (root / source).read_bytes()
    files["pyproject.toml"] = learner_pyproject((root / "pyproject.toml").read_text(encoding="utf-8")).encode()
    return dict(sorted(files.items()))


# --- what must not go in ------------------------------------------------------------------------
def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def without_hidden_tests(text: str) -> str:
    """What nbgrader's ClearHiddenTests leaves of a cell (nbgrader/preprocessors/clearhiddentests.py:
    every line from one holding BEGIN HIDDEN TESTS to one holding END HIDDEN TESTS is dropped)."""
    kept, hidden = [], False
    for line in text.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


def secrets(root: Path) -> Iterator[tuple[str, str]]:
    """(what, text) for every solution answer's YAML and every hidden test's source in solutions/."""
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        for cell in cells(path):
            meta, text = nbgrader_meta(cell), source(cell)
            if cell.get("cell_type") == "code" and meta.get("solution"):
                quoted = re.search(r'"""(.*?)"""', text, re.DOTALL)
                if quoted:
                    answer = "\n".join(line for line in quoted.group(1).split("\n") if "SOLUTION" not in line)
                    yield f"the answer {meta.get('grade_id')!r} of {path.relative_to(root)}", answer
            for hidden in re.findall(r"BEGIN HIDDEN TESTS[^\n]*\n(.*?)\n[^\n]*END HIDDEN TESTS", text, re.DOTALL):
                yield f"a hidden test of {meta.get('grade_id')!r} in {path.relative_to(root)}", hidden


def searchable(name: str, content: bytes) -> str:
    """A file's text as a learner could read it; for a notebook also its cells' sources and outputs."""
    text = content.decode("utf-8", "replace")
    if name.endswith(".ipynb"):
        nb = json.loads(text)
        parts = [source(c) for c in nb["cells"]]
        parts += [json.dumps(o, ensure_ascii=False) for c in nb["cells"] for o in c.get("outputs", [])]
        text += "\n" + "\n".join(parts)
    return text


def flat(text: str) -> str:
    """Whitespace collapsed: an answer re-indented or re-wrapped is still the answer."""
    return " ".join(text.split())


def leaks(files: dict[str, bytes], secret_texts: Iterable[tuple[str, str]]) -> Iterator[str]:
    """One line per hand-out file that holds an nbgrader marker, an answer or a hidden test."""
    secret_texts = [(what, flat(text)) for what, text in secret_texts if text.strip()]
    for name, content in files.items():
        text = searchable(name, content)
        marker = next((m for m in MARKERS if m in text), None)
        if marker:
            yield f"{name} contains the nbgrader marker {marker!r}"
            continue
        flat_text = flat(text)
        for what, secret in secret_texts:
            if secret in flat_text:
                yield f"{name} contains {what}"
                break


def stale_exercises(root: Path) -> Iterator[str]:
    """One line per student notebook that is not what ``make release`` would make of solutions/:
    the same cells in the same order with the same nbgrader metadata, every cell nbgrader copies
    unchanged identical, every hidden-test cell its solution without the hidden part. (Answer cells
    are not compared: nbgrader replaces them with the stub.)"""
    fix = "run `make release` and commit exercises/"
    sources = sorted(p.relative_to(root / "solutions") for p in (root / "solutions").glob("*/*.ipynb"))
    released = sorted(p.relative_to(root / "exercises") for p in (root / "exercises").glob("*/*.ipynb"))
    for extra in sorted(set(released) - set(sources)):
        yield f"exercises/{extra} has no source in solutions/: {fix}"
    for rel in sources:
        student = root / "exercises" / rel
        if not student.is_file():
            yield f"exercises/{rel} is missing: {fix}"
            continue
        theirs, ours = cells(root / "solutions" / rel), cells(student)
        if len(theirs) != len(ours):
            yield f"exercises/{rel} has {len(ours)} cells, solutions/{rel} has {len(theirs)}: {fix}"
            continue
        for i, (sol, ex) in enumerate(zip(theirs, ours, strict=True)):
            keys = ("grade_id", "grade", "solution", "locked", "points")
            sol_meta = {k: nbgrader_meta(sol).get(k) for k in keys}
            if sol.get("cell_type") != ex.get("cell_type") or sol_meta != {k: nbgrader_meta(ex).get(k) for k in keys}:
                yield f"exercises/{rel}: cell {i} differs from solutions/ in its type or nbgrader metadata: {fix}"
                break
            if not sol_meta["solution"] and without_hidden_tests(source(sol)) != source(ex):
                yield f"exercises/{rel}: cell {i} ({sol_meta['grade_id'] or sol.get('cell_type')}) differs from solutions/: {fix}"
                break


# --- writing ------------------------------------------------------------------------------------
def git(out: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    base.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, **(env or {}))
    proc = subprocess.run(["git", *args], cwd=out, env=base, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise Refusal(f"git {' '.join(args)} failed in {out}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip()


def source_commit(root: Path) -> tuple[str, str]:
    """(where from, committer date) of the repository's HEAD: the hand-out's commit says which commit
    it was built from (and whether copied files had uncommitted changes) and takes that commit's
    date, so that the same inputs give the same commit."""
    out = subprocess.run(["git", "log", "-1", "--format=%H %cI"], cwd=root, capture_output=True, text=True, check=True)
    commit, date = out.stdout.split()
    paths = [*COPIED, *TEMPLATES, "pyproject.toml"]
    changed = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=root, capture_output=True, text=True, check=True)
    return commit + (" with uncommitted changes" if changed.stdout.strip() else ""), date


def write_repository(files: dict[str, bytes], out: Path, commit: str, date: str, previous: Path | None) -> bool:
    """Write ``files`` to the empty folder ``out`` and commit them: as the only commit of a new
    repository, or on top of the repository of the ``previous`` hand-out. False if that already
    held exactly these files (then nothing is committed)."""
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(0o644)
    if previous is None:
        git(out, "init", "-q", "--template=", "--initial-branch=main")
    else:
        shutil.copytree(previous / ".git", out / ".git", symlinks=True)
    git(out, "add", "--all")
    if previous is not None and not git(out, "status", "--porcelain"):
        return False
    stamp = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **COMMIT_IDENTITY}
    title = "the learners' hand-out" if previous is None else "update of the learners' hand-out"
    message = f"Kubernetes networking course: {title}\n\nBuilt by tools/make_handout.py from commit {commit}."
    git(out, "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", message, env=stamp)
    return True


def is_previous_handout(out: Path) -> bool:
    return (out / ".git").is_dir() and (out / "exercises").is_dir() and (out / "grader").is_dir()


def build(root: Path, out: Path, update: bool = False) -> bool:
    """Check, then write the hand-out of the repository at ``root`` to ``out``: a new one-commit
    repository replacing whatever hand-out was there, or with ``update`` one more commit on top of
    the hand-out at ``out`` (what learners already cloned, so that their ``git pull`` or nbgitpuller
    link merges it). False if an update found nothing to change."""
    if update and not is_previous_handout(out):
        raise Refusal(f"--update needs the published hand-out at {out} (git clone <hand-out-url> {out})")
    if update and git(out, "status", "--porcelain"):
        raise Refusal(f"{out} has uncommitted changes; commit or discard them before --update")
    if out.exists() and any(out.iterdir()) and not is_previous_handout(out):
        raise Refusal(f"{out} exists and is not a hand-out this script built; remove it or choose another --out")
    files = handout_files(root)
    problems = [*leaks(files, secrets(root)), *stale_exercises(root)]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise Refusal(problems[0] + more)
    commit, date = source_commit(root)
    staging = out.with_name(f".{out.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        changed = write_repository(files, staging, commit, date, out if update else None)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not changed:
        shutil.rmtree(staging)
        return False
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write it (default: {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--source", type=Path, default=ROOT, help="the course repository (default: this one)")
    parser.add_argument("--update", action="store_true",
                        help="add a commit to the hand-out repository at --out instead of replacing it (for a course already handed out)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    try:
        changed = build(args.source.resolve(), out, update=args.update)
    except Refusal as why:
        print(f"make_handout: refusing to build the hand-out: {why}", file=sys.stderr)
        return 1
    head = git(out, "rev-parse", "--short", "HEAD")
    if not changed:
        print(f"hand-out at {out} is up to date (commit {head}): nothing to push")
    elif args.update:
        print(f"hand-out at {out} updated (commit {head}): push it (git push) and learners' pulls merge it")
    else:
        count = len(git(out, "ls-files").splitlines())
        print(f"hand-out written to {out} ({count} files, one commit {head}): "
              f"push it and give learners that repository, never this one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
