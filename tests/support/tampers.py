"""Submissions that try to earn points they did not earn, harm a classmate, or just had an accident.

Tampers start from the student version of the network-policies exercise with only ``default_deny``
answered correctly (3 points earned honestly) and the rest blank, then cheat in one way: through
the kernel (patching, displaying values, forging outputs and the ledger), through the file system
(reading the answer key or a classmate's submission, rewriting a classmate's submission, writing
the gradebook, the grader package, its bytecode, a ``.pth`` file, home-directory configuration that
later kernels or nbgrader would run), or by leaving a process behind. The honest score is 3:
nothing may score more, and the classmate graded after them (``VICTIM``, the full solution) keeps
full marks. Accidents start from the full solution and keep every point they did not lose.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbformat.v4 import new_code_cell, new_output

from support.nbtools import answer_source, nbg, grade_cells

NOTEBOOK = "07-network-policies"
HONEST = {"np_default_deny_visible", "np_default_deny_all_in", "np_default_deny_rest"}
PROBE_FILE = "zz_tamper_probe.py"
VICTIM = "zz-victim"
"""A classmate who hands in the solution; nbgrader grades students in sorted order, so after every tamper."""
LATE_MARKER = "late-writer-was-here"


def _insert_after_setup(nb: Any, source: str) -> Any:
    """Put a code cell right after the first code cell (the one that imports grader)."""
    nb = copy.deepcopy(nb)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, new_code_cell(source, id="tamper"))
    return nb


def monkeypatch_verify(nb: Any) -> Any:
    return _insert_after_setup(nb, "import grader.checks.spec as s\ns.Check.verify = lambda self: None")


def fake_module(nb: Any) -> Any:
    return _insert_after_setup(nb, (
        "import sys, types\n"
        "fake = types.ModuleType('grader.checks')\n"
        "class Check:\n"
        "    def __init__(self, *a, **k): pass\n"
        "    def __getattr__(self, name): return lambda *a, **k: self\n"
        "    def verify(self): print('✓ all expectations met')\n"
        "fake.Check = Check\n"
        "sys.modules['grader.checks'] = fake\n"
    ))


def forged_outcome(nb: Any) -> Any:
    """Replace the kernel-side client with one that returns a passing outcome with a valid digest."""
    return _insert_after_setup(nb, (
        "from grader.checks import client, outcome\n"
        "def fake(spec, answers):\n"
        "    return outcome.Outcome(spec['id'], True, (), answers=tuple(answers), digest=outcome.request_digest(spec, answers))\n"
        "client.verify = fake\n"
    ))


def input_transformer(nb: Any) -> Any:
    """Rewrite every later cell that mentions the checks into `pass` before IPython runs it."""
    return _insert_after_setup(nb, (
        "def neuter(lines):\n"
        "    return ['pass\\n'] if any('grader.checks' in line for line in lines) else lines\n"
        "get_ipython().input_transformers_post.append(neuter)\n"
    ))


def hide_tracebacks(nb: Any) -> Any:
    return _insert_after_setup(nb, (
        "ip = get_ipython()\n"
        "ip.showtraceback = lambda *a, **k: None\n"
        "ip.showsyntaxerror = lambda *a, **k: None\n"
    ))


def edited_locked_cells(nb: Any) -> Any:
    nb = copy.deepcopy(nb)
    for cell in grade_cells(nb).values():
        cell.source = "print('✓ all expectations met')"
    return nb


def deleted_test_cells(nb: Any) -> Any:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (nbg(c).get("grade") and not nbg(c).get("solution"))]
    return nb


def fake_outputs(nb: Any) -> Any:
    """Pre-filled success outputs in every test cell, and a cell printing success."""
    nb = copy.deepcopy(nb)
    for cell in grade_cells(nb).values():
        cell.execution_count = 1
        cell.outputs = [new_output("stream", name="stdout", text="✓ 5 expectations met\n")]
    return _insert_after_setup(nb, "print('✓ all expectations met: 23/23')")


def ledger_forgery(nb: Any) -> Any:
    """Write ledger records for other checks (wrong answers, malformed lines) before they run."""
    return _insert_after_setup(nb, (
        "import os, json\n"
        "path = os.environ.get('NETLAB_LEDGER')\n"
        "if path:\n"
        "    with open(path, 'a') as fh:\n"
        "        fh.write('not json\\n')\n"
        "        fh.write(json.dumps({'check': 'np_api_who', 'answers': {'api_from_frontend': 42}}) + '\\n')\n"
        "        fh.write(json.dumps({'check': 'np_db_who', 'answers': 'everything'}) + '\\n')\n"
    ))


def gradebook_write(nb: Any) -> Any:
    """Give every grade in the gradebook a manual score (manual scores win over auto scores)."""
    return _insert_after_setup(nb, (
        "import sqlite3\n"
        "db = sqlite3.connect('../../../gradebook.db')\n"
        "db.execute('UPDATE grade SET manual_score = 100')\n"
        "db.commit(); db.close()\n"
    ))


def grader_write(nb: Any) -> Any:
    """Write into the grader package (an edit to it would change what the re-check computes)."""
    return _insert_after_setup(nb, (
        "import os, grader\n"
        f"open(os.path.join(os.path.dirname(grader.__file__), 'checks', {PROBE_FILE!r}), 'w').write('# tampered\\n')\n"
    ))


def interactivity_all(nb: Any) -> Any:
    """Make IPython display every expression's value: test cells then end in an execute_result,
    which nbgrader reads as the score before it reaches any error."""
    return _insert_after_setup(nb, "get_ipython().ast_node_interactivity = 'all'")


def verify_returns_value(nb: Any) -> Any:
    """Make the test cells' last line return a number: nbgrader reads it as partial credit."""
    return _insert_after_setup(nb, "import grader.checks.spec as s\ns.Check.verify = lambda self: 1.0")


FIND_COURSE = """\
import os, json, glob
def course_dirs():
    here = os.path.abspath(os.getcwd())
    while True:
        yield here
        if here == os.path.dirname(here):
            return
        here = os.path.dirname(here)
"""


def steal_answers(nb: Any) -> Any:
    """Look for the answer key (solutions/) and classmates' notebooks in every folder above the
    submission, and take the answers from the first complete one found."""
    return _insert_after_setup(nb, FIND_COURSE + f"""\
found = []
for d in course_dirs():
    found += glob.glob(os.path.join(d, 'solutions', '*', '{NOTEBOOK}.ipynb'))
    found += glob.glob(os.path.join(d, '*', '*', '{NOTEBOOK}', '{NOTEBOOK}.ipynb'))
    found += glob.glob(os.path.join(d, '.grading', '*', '*', '{NOTEBOOK}', '{NOTEBOOK}.ipynb'))
found = [p for p in found if not os.path.abspath(p).startswith(os.path.abspath(os.getcwd()))]  # not its own
print('found', len(found))
for path in found:
    try:
        cells = json.load(open(path))['cells']
    except (OSError, ValueError, KeyError):
        continue
    answers = [''.join(c['source']) for c in cells if c.get('metadata', {{}}).get('nbgrader', {{}}).get('solution')]
    if sum('apiVersion' in a for a in answers) >= 7:
        stolen = {{}}
        for a in answers:
            exec(a.replace('### BEGIN SOLUTION', '').replace('### END SOLUTION', ''), stolen)
        stolen.pop('__builtins__', None)
        # the blank answer cells below would overwrite them: put them back after every cell
        get_ipython().events.register('post_run_cell', lambda *_: get_ipython().user_ns.update(stolen))
        print('stole from', path)
        break
""")


def rewrite_classmate(nb: Any) -> Any:
    """Blank the answers of every other submission still waiting to be graded (nbgrader's
    ``submitted/`` folder, found above the submission; nothing else, so that the unsandboxed
    control cannot damage the test run's other courses)."""
    return _insert_after_setup(nb, FIND_COURSE + f"""\
for d in course_dirs():
    for path in glob.glob(os.path.join(d, 'submitted', '*', '{NOTEBOOK}', '{NOTEBOOK}.ipynb')):
        if os.path.abspath(path).startswith(os.path.abspath(os.getcwd())):
            continue
        try:
            data = json.load(open(path))
            for c in data['cells']:
                if c.get('metadata', {{}}).get('nbgrader', {{}}).get('solution'):
                    c['source'] = ''
            json.dump(data, open(path, 'w'))
            print('rewrote', path)
        except (OSError, ValueError, KeyError) as exc:
            print('could not rewrite', path, type(exc).__name__)
""")


LATE_SCRIPT = f"""\
import time, os, glob, sqlite3
time.sleep(4)
open({LATE_MARKER!r}, 'w').write('alive')
here = os.getcwd()
while here != os.path.dirname(here):
    for db in glob.glob(os.path.join(here, '*.db')) + glob.glob(os.path.join(here, '.grading', '*.db')):
        con = sqlite3.connect(db); con.execute('UPDATE grade SET manual_score = 100'); con.commit(); con.close()
    here = os.path.dirname(here)
"""


def late_writer(nb: Any) -> Any:
    """Leave a process behind that, after the notebook ended, sets every manual score in the
    gradebook to 100 and writes a marker into this submission's folder."""
    return _insert_after_setup(nb, f"""\
import subprocess, sys, os
subprocess.Popen([sys.executable, '-c', {LATE_SCRIPT!r}], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.getcwd())
""")


HOME_PLANTS = (".jupyter/nbgrader_config.py", ".ipython/profile_default/startup/00-netlab-tamper.py")


def plant_home_config(nb: Any) -> Any:
    """Plant configuration that later nbgrader commands and kernels would run: an nbgrader_config.py
    that empties the autograde pipeline and an IPython startup file that disables the re-check."""
    return _insert_after_setup(nb, f"""\
import os
home = os.path.expanduser('~')
contents = ['c = get_config()\\nc.Autograde.autograde_preprocessors = []\\n',
            'import grader.checks.trusted as t\\nt.recheck = lambda *a, **k: {{}}\\n']
for rel, text in zip({HOME_PLANTS!r}, contents):
    path = os.path.join(home, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, 'w').write(text)
print('planted in', home)
""")


def forge_bytecode(nb: Any) -> Any:
    """Write bytecode for grader.checks.trusted under __pycache__ that grades nothing, and a .pth
    file in site-packages that would run at every interpreter start."""
    return _insert_after_setup(nb, """\
import os, importlib.util, py_compile, site, tempfile, grader.checks.trusted as t
src = os.path.join(tempfile.mkdtemp(), 'trusted.py')
open(src, 'w').write(open(t.__file__).read() + '\\ndef recheck(*a, **k):\\n    return {}\\n')
target = importlib.util.cache_from_source(t.__file__)
try:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    py_compile.compile(src, cfile=target, dfile=t.__file__)
    print('forged', target)
except OSError as exc:
    print('could not forge', target, exc)
for d in site.getsitepackages():
    try:
        open(os.path.join(d, 'zz_netlab_tamper.pth'), 'w').write('import os; os.environ["NETLAB_TAMPERED"] = "1"\\n')
        print('planted .pth in', d)
    except OSError as exc:
        print('could not plant .pth in', d, exc)
""")


@dataclass(frozen=True)
class Tamper:
    name: str
    build: Callable[[Any], Any]
    expect: frozenset[str]
    """Test cells that may score (full); all others must score 0."""


TAMPERS = [
    Tamper("monkeypatch_verify", monkeypatch_verify, frozenset(HONEST)),
    Tamper("fake_module", fake_module, frozenset(HONEST)),
    Tamper("forged_outcome", forged_outcome, frozenset(HONEST)),
    Tamper("input_transformer", input_transformer, frozenset(HONEST)),
    Tamper("hide_tracebacks", hide_tracebacks, frozenset(HONEST)),
    Tamper("edited_locked_cells", edited_locked_cells, frozenset(HONEST)),
    Tamper("deleted_test_cells", deleted_test_cells, frozenset(HONEST)),
    Tamper("fake_outputs", fake_outputs, frozenset(HONEST)),
    Tamper("ledger_forgery", ledger_forgery, frozenset(HONEST)),
    Tamper("gradebook_write", gradebook_write, frozenset(HONEST)),
    Tamper("grader_write", grader_write, frozenset(HONEST)),
    Tamper("interactivity_all", interactivity_all, frozenset(HONEST)),
    Tamper("verify_returns_value", verify_returns_value, frozenset(HONEST)),
    Tamper("steal_answers", steal_answers, frozenset(HONEST)),
    Tamper("rewrite_classmate", rewrite_classmate, frozenset(HONEST)),
    Tamper("late_writer", late_writer, frozenset(HONEST)),
    Tamper("plant_home_config", plant_home_config, frozenset(HONEST)),
    Tamper("forge_bytecode", forge_bytecode, frozenset(HONEST)),
]
"""In the sandbox every tamper keeps exactly its honest points: what it attacks is not there, is
read-only, or is gone when its kernel ends."""

UNSANDBOXED_CONTROL = ("steal_answers", "rewrite_classmate")
"""Graded once more with ``--VerifiedExecute.sandbox=none`` in a class of their own: there they
work (the thief scores full, the victim loses points), so it is the sandbox that stops them."""


def base_submission(exercise_nb: Any, solution_answers: dict[str, str]) -> Any:
    nb = copy.deepcopy(exercise_nb)
    for cell in nb.cells:
        if nbg(cell).get("grade_id") == "default_deny":
            cell.source = answer_source("default_deny", solution_answers["default_deny"])
    return nb


@dataclass(frozen=True)
class KernelTamper:
    """A submission for another notebook that answers one task wrongly and makes the kernel compute
    its own verdicts with patched expectation kinds (every HTTP expectation passes, every
    certificate is trusted): only the cells of the wrong answer may lose, and they must."""

    notebook: str
    answer: str
    wrong: Callable[[str], str]
    lose: frozenset[str]

    def build(self, exercise_nb: Any, solution_answers: dict[str, str]) -> Any:
        from support.nbtools import with_answers

        nb = with_answers(exercise_nb, {**solution_answers, self.answer: self.wrong(solution_answers[self.answer])})
        return _insert_after_setup(nb, (
            "import grader.checks.client as client, grader.checks.engine as engine, grader.checks.catalog as kinds\n"
            "import grader.tls.certificates as certificates\n"
            "from grader.checks.outcome import Finding\n"
            "kinds.EXPECTATIONS['http'] = lambda ctx, p: Finding('http', 'ok', True, passed_count=1)\n"
            "certificates.verify = lambda *a, **k: certificates.Verification(True, 'trusted')\n"
            "client.verify = lambda spec, answers: engine.evaluate(spec, answers)   # verdicts computed here, where they are patched\n"
        ))


KERNEL_PATCH_TLS = KernelTamper(
    "03-ingress-gateway", "shop_tls", lambda text: text.replace("      - name: shop-tls", "      - name: api-tls"),
    frozenset({"tls_visible", "tls_listener"}),
)


# -- accidents: a correct notebook, handled carelessly ------------------------------------------
def _index(nb: Any, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == grade_id)


def _copy_after(nb: Any, grade_id: str) -> Any:
    nb = copy.deepcopy(nb)
    at = _index(nb, grade_id)
    cell = copy.deepcopy(nb.cells[at])
    cell.id = f"copy-of-{grade_id}"[:64]
    nb.cells.insert(at + 1, cell)
    return nb


def pasted_answer_cell(nb: Any) -> Any:
    return _copy_after(nb, "api_from_frontend")


def pasted_test_cell(nb: Any) -> Any:
    return _copy_after(nb, "np_api_who")


def reordered_cells(nb: Any) -> Any:
    """Every test cell moved to the top, before the answers it grades."""
    nb = copy.deepcopy(nb)
    tests = [c for c in nb.cells if nbg(c).get("grade") and not nbg(c).get("solution")]
    nb.cells = tests + [c for c in nb.cells if not (nbg(c).get("grade") and not nbg(c).get("solution"))]
    return nb


def kernel_dies(nb: Any) -> Any:
    """The kernel dies half-way (a crash, out of memory): the cells after it never run."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(_index(nb, "np_and_visible"), new_code_cell("import os\nos._exit(1)", id="crash"))
    return nb


def retyped_test_cells(nb: Any) -> Any:
    """A test cell turned into markdown, another stripped of its grade_id."""
    nb = copy.deepcopy(nb)
    cell = nb.cells[_index(nb, "np_db_who")]
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)
    del nb.cells[_index(nb, "np_db_ports")].metadata.nbgrader["grade_id"]
    return nb


def stray_markers(nb: Any) -> Any:
    """nbgrader's hidden-test markers pasted into an ordinary cell (nbgrader's feedback refuses them
    outside test cells)."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(_index(nb, "default_deny") + 1, new_code_cell(
        "### BEGIN HIDDEN TESTS\nnotes = 'copied from a forum'\n### END HIDDEN TESTS", id="stray"))
    return nb


def deleted_answer_cell(nb: Any) -> Any:
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if nbg(c).get("grade_id") != "allow_metrics"]
    return nb


@dataclass(frozen=True)
class Accident:
    name: str
    build: Callable[[Any], Any]
    lose: frozenset[str] = frozenset()
    note: str = ""
    """A fragment of the "Notes from grading" cell at the top of the graded notebook ("" for no note)."""


ACCIDENTS = [
    Accident("pasted_answer_cell", pasted_answer_cell, note="it is a copy of `api_from_frontend`"),
    Accident("pasted_test_cell", pasted_test_cell, note="it is a copy of `np_api_who`"),
    Accident("reordered_cells", reordered_cells),
    Accident("kernel_dies", kernel_dies),
    Accident("retyped_test_cells", retyped_test_cells, note="changed from a code cell to a markdown cell"),
    Accident("stray_markers", stray_markers, note="nbgrader's markers"),
    Accident("deleted_answer_cell", deleted_answer_cell,
             frozenset({"np_metrics_visible", "np_metrics_who", "np_metrics_ports"}), note="`allow_metrics` was missing"),
]
