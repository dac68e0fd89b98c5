"""The lesson notebooks are generated, clean, and follow the course's conventions.

Fast checks on the committed files and on ``tools/lessons`` (no kernel is started here; the
notebooks are executed by ``test_lessons_execute.py``).
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
import yaml

from support.lesson_helpers import ROOT, lesson_names

NOTEBOOK_NAME = re.compile(r"^(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*\.ipynb$")
EXERCISE_LINK = re.compile(r"\(\.\./exercises/((\d\d)-[a-z0-9-]+)/\1\.ipynb\)")
PICTURE_CALLS = ("draw_topology(", ".plot(", "compare_matrices(", "who_can_use(", "draw_distribution(")


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "course" / f"{name}.ipynb", as_version=4)


def test_generated_files_are_in_sync_with_the_source(build):
    stale = [str(p.relative_to(ROOT)) for p in build.stale()]
    assert not stale, f"regenerate with `python tools/build_lessons.py`: {stale}"


def test_check_mode_reports_a_stale_notebook(build, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build, "COURSE", tmp_path)
    assert build.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "out of date" in out and "FACTS.md" in out
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
    first = build.LESSONS[0]
    path = tmp_path / f"{first.name}.ipynb"
    path.write_text(path.read_text().replace("Setup", "Set-up"))
    assert build.main(["--check"]) == 1


def test_notebooks_in_course_are_exactly_the_lessons(build):
    on_disk = sorted(p.name for p in (ROOT / "course").glob("*.ipynb"))
    assert on_disk == sorted(f"{name}.ipynb" for name in lesson_names())
    for name in on_disk:
        m = NOTEBOOK_NAME.match(name)
        assert m, f"{name} is not NN-slug.ipynb"


def test_lesson_zero_is_what_make_lab_opens():
    makefile = (ROOT / "Makefile").read_text()
    start = re.search(r"^COURSE_START \?= (.+)$", makefile, re.M)
    assert start is not None
    assert start.group(1).strip() == "course/00-setup-and-the-lab.ipynb"
    assert (ROOT / start.group(1).strip()).is_file()


@pytest.mark.parametrize("name", lesson_names())
def test_notebook_is_committed_without_outputs(name):
    nb = read(name)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert "execution" not in cell.metadata


@pytest.mark.parametrize("name", lesson_names())
def test_lesson_follows_the_course_conventions(name):
    nb = read(name)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    number = int(name[:2])

    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# Lesson {number} ")
    objectives = first.source.split("**What you will learn**", 1)
    assert len(objectives) == 2, "the first cell lists learning objectives"
    assert len(re.findall(r"^- ", objectives[1], re.M)) >= 3

    assert any(s.startswith("## On AKS") for s in md), "an 'On AKS' section maps the lesson to AKS"
    assert sum(s.startswith("**Predict, then run.**") for s in md) >= 2, "predict-then-run moments"
    assert any(call in s for s in code for call in PICTURE_CALLS), "at least one picture"
    assert any("cite(" in s for s in code), "cites dated facts"

    links = [m for s in md for m in EXERCISE_LINK.finditer(s)]
    assert links, "links to its graded exercise"
    expected = max(number, 1)  # lesson 0 points to the first graded exercise
    assert int(links[0].group(2)) == expected

    joined = "\n".join(md + code)
    assert "TODO" not in joined, "TODO notes belong in tools/lessons, not in the notebook"
    assert "[FACTS.md](FACTS.md)" in joined


@pytest.mark.parametrize("name", lesson_names())
def test_every_code_cell_is_valid_python(name):
    for i, cell in enumerate(read(name).cells):
        if cell.cell_type == "code":
            try:
                ast.parse(cell.source)
            except SyntaxError as exc:  # pragma: no cover - the message is the point
                pytest.fail(f"{name} cell {i}: {exc}")


CONNECT = re.compile(r"^lab = grader\.connect\(PROFILE[,)]", re.M)


MANIFEST_MARK = "apiVersion:"


def hidden_manifest_edits(cells: list[str]) -> list[str]:
    """What in these code cells builds YAML out of the learner's sight.

    The rule: a lesson shows the whole manifest it applies. A manifest derived from another with
    ``.replace()``, or rendered by an f-string (or ``str.format``) whose doubled braces ``{{ }}``
    stand for YAML's flow mappings, hides what the cluster receives. Flagged: any ``{{`` in a code
    cell, and any ``.replace(`` call on a manifest, i.e. on a name bound to a string holding
    ``apiVersion:`` in the same lesson, on such a string itself, or with a multi-line YAML argument."""
    trees = [ast.parse(source) for source in cells]
    manifest_names = {
        target.id
        for tree in trees for node in ast.walk(tree) if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
        and any(isinstance(c, ast.Constant) and isinstance(c.value, str) and MANIFEST_MARK in c.value for c in ast.walk(node.value))
    }

    def yaml_text(node: ast.AST) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and (MANIFEST_MARK in node.value or "\n" in node.value)

    found = []
    for source, tree in zip(cells, trees, strict=True):
        first_line = source.strip().splitlines()[0] if source.strip() else ""
        if "{{" in source:
            found.append(f"doubled braces (a templated manifest) in the cell starting {first_line!r}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
                receiver = node.func.value
                if (isinstance(receiver, ast.Name) and receiver.id in manifest_names) or yaml_text(receiver) or any(yaml_text(a) for a in node.args):
                    found.append(f"line {node.lineno}: .replace() on a manifest in the cell starting {first_line!r}")
    return found


def test_the_manifest_check_flags_replace_chains_and_templated_yaml():
    manifest = "WEB = \'\'\'\napiVersion: v1\nkind: Service\nspec: {type: ClusterIP}\n\'\'\'"
    assert hidden_manifest_edits([manifest, 'lab.apply(WEB.replace("ClusterIP", "NodePort"))'])
    assert hidden_manifest_edits(['def svc(kind):\n    return f"apiVersion: v1\\nspec: {{type: {kind}}}"'])
    assert hidden_manifest_edits(['lab.apply(POLICY.replace("  ports:\\n", ""))'])
    assert not hidden_manifest_edits([manifest, "lab.apply(WEB)", 'name = "shop/web".replace("/", "-")'])


@pytest.mark.parametrize("name", lesson_names())
def test_lessons_show_every_manifest_whole(name):
    """A lesson applies manifests written out in full: no ``.replace()`` chains and no f-strings
    with doubled braces building YAML where the learner reads it (issue 13, section 4)."""
    cells = [c.source for c in read(name).cells if c.cell_type == "code"]
    found = hidden_manifest_edits(cells)
    assert not found, f"{name}: write the manifest out in full in the builder (tools/lessons): {found}"


def test_setup_cells_make_reruns_safe():
    """Every lesson connects its lab from PROFILE and brings it back to the bare topology right away
    (a lesson on an Azure-only model may ask for the simulated cluster explicitly)."""
    for name in lesson_names():
        code = [c.source for c in read(name).cells if c.cell_type == "code"]
        connect = next(i for i, s in enumerate(code) if CONNECT.search(s))
        window = "\n".join(code[connect:connect + 3])
        assert 'lab.deploy("shop")' in window and "lab.reset(keep_topology=True)" in window, name


def test_every_other_lab_a_lesson_connects_is_reset_or_fresh():
    """Second labs (simulated comparisons, the Cilium part of lesson 5) are either created fresh in
    the same cell, which a re-run repeats, or deployed and reset like the main lab."""
    for name in lesson_names():
        for source in (c.source for c in read(name).cells if c.cell_type == "code"):
            for m in re.finditer(r"^\s*(\w+) = grader\.connect\(([^)]*)\)", source, re.M):
                var, args = m.groups()
                if var == "lab" or 'backend="sim"' in args:
                    continue  # the main lab (checked above), or a fresh simulated cluster
                rest = source[m.end():]
                assert f'{var}.deploy("shop")' in rest and f"{var}.reset(keep_topology=True)" in rest, f"{name}: {var}"


def test_lessons_cover_the_course_plan(build):
    """Lessons 0 to 8, one per concept of the issue, with the file names exercises link back to."""
    assert [lesson.name for lesson in build.LESSONS] == [
        "00-setup-and-the-lab", "01-networking-basics", "02-services-and-load-balancing", "03-ingress-and-gateway",
        "04-network-models", "05-controlling-egress", "06-network-security-groups", "07-network-policies", "08-capstone",
    ]
    assert [lesson.exercise for lesson in build.LESSONS] == [
        "01-basics", "01-basics", "02-services", "03-ingress-gateway", "04-network-models", "05-egress", "06-nsg",
        "07-network-policies", "08-capstone",
    ]


def test_no_todo_notes_are_left_in_the_lesson_sources():
    for path in sorted((ROOT / "tools" / "lessons").glob("l*.py")):
        assert "TODO" not in path.read_text(), f"{path.name} still has a TODO note"


def test_cited_facts_exist_and_every_lesson_cites_some(build):
    facts = yaml.safe_load((ROOT / "grader" / "data" / "facts.yaml").read_text())["facts"]
    for lesson in build.LESSONS:
        cited = build.cited_facts(lesson)
        assert cited, lesson.name
        unknown = [f for f in cited if f not in facts]
        assert not unknown, f"{lesson.name} cites unknown facts {unknown}"


def test_cited_facts_finds_cite_and_fact_calls(build):
    from lessons import Lesson, code, md

    lesson = Lesson(9, "x", "X", None, [
        md('cite("not-code")'),
        code('cite("a-b", "c")\nv = grader.fact("d").value\ncite(\n  "a-b",\n  "e")'),
    ])
    assert build.cited_facts(lesson) == ["a-b", "c", "d", "e"]


def test_facts_page_lists_every_fact_with_date_and_source(build):
    raw = yaml.safe_load((ROOT / "grader" / "data" / "facts.yaml").read_text())
    page = (ROOT / "course" / "FACTS.md").read_text()
    assert f"Facts last reviewed: **{raw['reviewed']}**" in page
    rows = {line.split("|")[1].strip(" `"): line for line in page.splitlines() if line.startswith("| `")}
    assert sorted(rows) == sorted(raw["facts"])
    for fid, body in raw["facts"].items():
        assert str(body["as_of"]) in rows[fid]
        for src in body["sources"]:
            assert f"<{src}>" in rows[fid]
    # Where a fact is cited, the page links every lesson that cites it.
    assert "[7](07-network-policies.ipynb)" in rows["aks-cilium-ipblock"]
    assert "[6](06-network-security-groups.ipynb), [8](08-capstone.ipynb)" in rows["aks-lb-source-ranges"]


def test_exercise_links_point_at_existing_notebooks():
    if not (ROOT / "exercises").is_dir():
        pytest.skip("exercises/ is not in this checkout yet (built on the exercises branch)")
    for name in lesson_names():
        for cell in read(name).cells:
            for m in EXERCISE_LINK.finditer(cell.source):
                target = ROOT / "exercises" / m.group(1) / f"{m.group(1)}.ipynb"
                assert target.is_file(), f"{name} links to missing {target.relative_to(ROOT)}"


def test_lesson_links_between_notebooks_resolve():
    for name in lesson_names():
        for cell in read(name).cells:
            for target in re.findall(r"\]\((\d\d-[a-z0-9-]+\.ipynb)\)", cell.source):
                assert (ROOT / "course" / target).is_file(), f"{name} links to missing {target}"


def test_course_index_lists_every_lesson_with_its_objectives(build):
    index = (ROOT / "course" / "README.md").read_text()
    for lesson in build.LESSONS:
        assert f"]({lesson.name}.ipynb)" in index
        for item in build.objectives(lesson):
            assert f"- {item}" in index
        assert len(build.objectives(lesson)) >= 3
