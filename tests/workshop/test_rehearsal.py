"""A whole workshop on a real JupyterHub (slow; needs root, npm and useradd; Chromium for one part).

The hub of ``make workshop`` (workshop/admin.py) on free ports with 3 participants and 1 instructor,
each a Unix user of their own. The instructor releases 07-network-policies through the nbgrader
exchange; one participant logs in with Chromium, lands on lesson 0 and fetches the assignment from
the Assignments tab; the others fetch through the same API. Each writes answers (all correct; one
typical mistake; none), runs the notebook's visible tests in a kernel of their server, and submits.
The instructor collects, runs ``make autograde feedback grades`` and releases feedback, which every
participant fetches. Asserted: the grades (full / partial with the wrong flow named in the feedback
/ zero), that no participant can read another's work or the answer key, and that nothing is left
behind (processes, Unix users, the workshop's state). Step times go to
test-output/workshop/rehearsal-times.json.

The servers' Python (``<home>/venv``, built from the hand-out) and the proxy (``<home>/node_modules``)
are built on the first run and kept, like ``.venv``; home is $NETLAB_WORKSHOP_HOME or
/srv/netlab-workshop. Everything else lives in a fresh state folder and is removed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.nbtools import SOLUTIONS, answer_source, answers_of, points, read

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from workshop import admin  # noqa: E402
from workshop.client import Hub, Server  # noqa: E402
from workshop.settings import COURSE_FOLDER, COURSE_ID, LESSON_0, Workshop  # noqa: E402

pytestmark = [pytest.mark.slow]

ASSIGNMENT = "07-network-policies"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
HOME = Path(os.environ.get("NETLAB_WORKSHOP_HOME", "/srv/netlab-workshop"))
OUTPUT = ROOT / "test-output" / "workshop"
WRONG_DEFAULT_DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
"""
"""Task 1, too narrow (the typical mistake): only the API is isolated, the web page stays open."""
WRONG_FLOW = "untrusted/attacker → shop/web 80/TCP: expected BLOCKED, observed ALLOWED"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class Steps:
    """Wall time per step of the rehearsal."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.start = time.monotonic()

    def __call__(self, name: str):
        steps = self

        class _Step:
            def __enter__(self):
                self.t = time.monotonic()

            def __exit__(self, *exc):
                steps.times[name] = round(time.monotonic() - self.t, 1)

        return _Step()

    def save(self) -> None:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        self.times["total"] = round(time.monotonic() - self.start, 1)
        (OUTPUT / "rehearsal-times.json").write_text(json.dumps(self.times, indent=2) + "\n")


def _requirements() -> None:
    if os.geteuid() != 0:
        pytest.skip("the workshop creates Unix users: run as root")
    for tool in ("useradd", "userdel", "git"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found")
    if shutil.which("npm") is None and not (HOME / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        pytest.skip("npm not found (apt-get install -y npm; .ci/run does it)")


def run_cells(server: Server, path: str) -> list[tuple[str | None, object]]:
    """Every code cell of the notebook in order in one kernel, stopping at the first error (Run All)."""
    nb = server.read_notebook(path)
    kernel = server.kernel(path)
    ran = []
    try:
        for cell in nb["cells"]:
            if cell["cell_type"] != "code":
                continue
            result = kernel.execute(cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"]))
            ran.append((cell["metadata"].get("nbgrader", {}).get("grade_id"), result))
            if result.status != "ok":
                break
    finally:
        kernel.close()
    return ran


def run_python(server: Server, code: str, where: str) -> str:
    kernel = server.kernel(where)
    try:
        result = kernel.execute(code, timeout=1200)
    finally:
        kernel.close()
    assert result.status == "ok", f"{result.error}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def with_answers(server: Server, answers: dict[str, str]) -> None:
    nb = server.read_notebook(NOTEBOOK)
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["cell_type"] == "code" and grade_id in answers:
            cell["source"] = answer_source(grade_id, answers[grade_id])
    server.write_notebook(NOTEBOOK, nb)


PROBE = """
import json, os
out = {}
for label, path in json.loads(%r).items():
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, 'rb').read(1)
        out[label] = 'read'
    except PermissionError:
        out[label] = 'denied'
    except FileNotFoundError:
        out[label] = 'missing'
print(json.dumps(out))
"""


def browser_fetch(ws: Workshop, name: str, password: str, shots: Path) -> dict[str, object]:
    """Log in as ``name`` in Chromium, land on lesson 0, fetch the assignment in the Assignments tab."""
    chromium = next((c for c in (os.environ.get("NETLAB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                     if c and Path(c).is_file()), None)  # as tests/course/test_lesson_in_browser.py
    if chromium is None:
        pytest.skip("Chromium not found at /usr/bin/chromium (apt-get install -y chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    seen: dict[str, object] = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(90_000)
            page.goto(f"{ws.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
            seen["url"] = page.url
            seen["tab"] = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").first.inner_text()
            page.screenshot(path=str(shots / "lesson-0.png"))
            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
            seen["menu"] = sorted(page.locator(".lm-Menu-itemLabel").all_inner_texts())
            page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
            released = page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
            released.wait_for()
            released.locator("button", has_text="Fetch").click()
            page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
            page.screenshot(path=str(shots / "assignments.png"))
        finally:
            browser.close()
    return seen


@pytest.fixture
def workshop():
    _requirements()
    HOME.mkdir(parents=True, exist_ok=True)
    HOME.chmod(0o755)
    prefix = "w" + secrets.token_hex(3)
    state = Path(tempfile.mkdtemp(prefix="state-", dir=HOME))
    state.chmod(0o755)
    handout = state / "handout"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_handout.py"), "--out", str(handout)], check=True, capture_output=True, text=True)
    ws = Workshop(repo=ROOT, state=state, tools=HOME, venv=HOME / "venv", handout=handout,
                  participants=(f"{prefix}-full", f"{prefix}-part", f"{prefix}-blank"), instructors=(f"{prefix}-ins",),
                  port=admin.free_port(), hub_port=admin.free_port(), proxy_api_port=admin.free_port())
    steps = Steps()
    hub = None
    log = Path(tempfile.mkdtemp(prefix="netlab-workshop-log-")) / "hub.log"
    try:
        with steps("prepare (venv check, proxy, users, exchange)"):
            admin.prepare(ws)
        with steps("start the hub"):
            hub = admin.start_hub(ws, log=log)
        yield ws, steps, hub
    finally:
        if hub is not None:
            with steps("stop the hub (servers, proxy, culler)"):
                admin.stop_hub(hub)
        uids = {pwd.getpwnam(n).pw_uid for n in ws.participants + ws.instructors if n in admin.workshop_users()}
        with steps("remove users and state"):
            admin.down(ws)
        steps.save()
        shutil.copy(log, OUTPUT / "hub.log") if log.exists() else None
        shutil.rmtree(log.parent, ignore_errors=True)
        # nothing left behind: no process of the workshop's users, no user, no state, no hub
        assert admin.processes_of(uids) == []
        assert not set(ws.participants + ws.instructors) & set(admin.workshop_users())
        assert not state.exists()
        assert hub is None or hub.poll() is not None


def test_a_workshop_rehearsal(workshop):
    ws, steps, _ = workshop
    full, part, blank = ws.participants
    instructor = ws.instructors[0]
    hub = Hub(ws.url, ws.secret("api-token").read_text().strip())
    hub.add_users([*ws.participants, instructor])

    with steps("start 4 servers"), ThreadPoolExecutor(4) as pool:
        list(pool.map(hub.start, [*ws.participants, instructor]))
    servers = {name: hub.server(name) for name in [*ws.participants, instructor]}
    teacher = servers[instructor]

    # the idle culler runs as a hub-managed service, with the workshop's timeout
    culler = hub.api("GET", "/services/idle-culler")
    assert culler["pid"] > 0 and f"--timeout={ws.idle_timeout}" in culler["command"], culler
    os.kill(culler["pid"], 0)  # alive

    # the instructor's server has nbgrader's instructor tools and the answer key; learners' do not
    assert teacher.session.get(f"{teacher.url}/formgrader").status_code == 200
    assert servers[full].session.get(f"{servers[full].url}/formgrader").status_code == 404
    assert servers[full].exists(LESSON_0) and not servers[full].exists("solutions")
    assert teacher.exists(f"solutions/{NOTEBOOK}")

    with steps("instructor releases 07-network-policies"):
        run_python(teacher, f"import subprocess; r = subprocess.run('nbgrader generate_assignment {ASSIGNMENT} --force && "
                            f"nbgrader release_assignment {ASSIGNMENT}', shell=True, capture_output=True, text=True); "
                            "print(r.stdout, r.stderr); assert r.returncode == 0, r.returncode", "release.ipynb")

    shots = OUTPUT / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with steps("participant logs in with Chromium, fetches in the Assignments tab"):
        seen = browser_fetch(ws, full, ws.secret("user-password").read_text().strip(), shots)
    assert seen["url"].endswith(f"/user/{full}/lab/tree/{LESSON_0}"), seen
    assert "00-setup-and-the-lab" in seen["tab"], seen
    assert "Assignment List" in seen["menu"] and not {"Formgrader", "Course List"} & set(seen["menu"]), seen
    assert servers[full].exists(NOTEBOOK)

    with steps("two participants fetch (API)"):
        for name in (part, blank):
            servers[name].assignment_action("fetch", COURSE_ID, ASSIGNMENT)
            assert servers[name].exists(NOTEBOOK)

    correct = answers_of(read(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    with_answers(servers[full], correct)
    with_answers(servers[part], {**correct, "default_deny": WRONG_DEFAULT_DENY})
    with steps("three participants run the visible tests at once"), ThreadPoolExecutor(3) as pool:
        runs = dict(zip((full, part, blank), pool.map(lambda n: run_cells(servers[n], NOTEBOOK), (full, part, blank)), strict=True))
    assert all(r.status == "ok" for _, r in runs[full]), [(g, r.error) for g, r in runs[full] if r.status != "ok"]
    failed = runs[part][-1]
    assert failed[0] == "np_default_deny_visible" and failed[1].status == "error", failed
    assert WRONG_FLOW in failed[1].stderr + failed[1].error + "".join(failed[1].outputs), failed
    assert runs[blank][-1][1].status == "error"

    with steps("three participants submit"):
        for name in ws.participants:
            servers[name].assignment_action("submit", COURSE_ID, ASSIGNMENT)

    with steps("instructor collects, make autograde feedback grades, releases feedback"):
        log = run_python(teacher, (
            "import subprocess\n"
            f"for cmd in ['nbgrader collect {ASSIGNMENT}', 'make autograde feedback grades', 'nbgrader release_feedback {ASSIGNMENT}']:\n"
            "    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)\n"
            "    print('$', cmd, r.returncode, r.stdout[-1500:], r.stderr[-1500:])\n"
            "    assert r.returncode == 0, cmd\n"), "grade.ipynb")
    exported = run_python(teacher, "print(open('.grading/grades.csv').read(), end='')", "grades.ipynb")  # hidden from the contents API
    grades = {row["student_id"]: row for row in csv.DictReader(io.StringIO(exported))}

    with steps("three participants fetch feedback"):
        feedback = {}
        for name in ws.participants:
            servers[name].assignment_action("fetch_feedback", COURSE_ID, ASSIGNMENT)
            folder = servers[name].get(f"{ASSIGNMENT}/feedback")["content"]
            assert len(folder) == 1, folder
            feedback[name] = servers[name].get(f"{folder[0]['path']}/{ASSIGNMENT}.html")["content"]

    maximum = sum(points(read(SOLUTIONS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")).values())
    scores = {name: float(grades[name]["raw_score"]) for name in ws.participants}
    assert scores[full] == maximum, (scores, log)
    assert 0 < scores[part] < maximum, (scores, log)
    assert scores[blank] == 0, (scores, log)
    assert WRONG_FLOW.replace("→", "&rarr;") in feedback[part] or WRONG_FLOW in feedback[part]
    assert WRONG_FLOW not in feedback[full]

    # privacy: a participant reads nothing of another participant, of the exchange's submissions or
    # of the instructor's course (answers, hidden tests, submissions, grades)
    home = {name: pwd.getpwnam(name).pw_dir for name in [*ws.participants, instructor]}
    targets = {
        "classmate's notebook": f"{home[part]}/{COURSE_FOLDER}/{NOTEBOOK}",
        "classmate's home": home[part],
        "exchange inbound": str(ws.exchange / COURSE_ID / "inbound"),
        "solutions": f"{home[instructor]}/{COURSE_FOLDER}/solutions/{NOTEBOOK}",
        "submissions": f"{home[instructor]}/{COURSE_FOLDER}/.grading/submitted",
        "gradebook": f"{home[instructor]}/{COURSE_FOLDER}/.grading/gradebook.db",
    }
    probe = json.loads(run_python(servers[full], PROBE % json.dumps(targets), "privacy.ipynb"))
    assert probe == dict.fromkeys(targets, "denied"), probe
    own = json.loads(run_python(servers[part], PROBE % json.dumps({"own": targets["classmate's notebook"]}), "privacy.ipynb"))
    assert own == {"own": "read"}  # the same paths do exist and are readable by their owner
