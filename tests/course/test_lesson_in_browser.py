"""Notebooks in a real browser: JupyterLab on a free port, headless Chromium through Playwright, Run
All Cells. Every lesson must run all its cells with no error output (lesson 0 also shows its
reachability pictures); an exercise with a wrong answer must show the learner the wrong flow, the
reason and the matrix, and stop there. One JupyterLab server and one Chromium serve the whole module.

Uses Debian's ``/usr/bin/chromium`` (Playwright's own browser download is not available here);
skips with the reason when Chromium or Playwright is missing. A screenshot of the notebook and of
the first heatmap go to ``test-output/browser/`` (git-ignored) and the test's tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from support.lesson_helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LESSONS = sorted(p.stem for p in (ROOT / "course").glob("[0-9][0-9]-*.ipynb"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OUTPUT = ROOT / "test-output" / "browser"
DIALOGS: list[str] = []
"""Text of dialogs JupyterLab raised during the run (accepted, and reported if the test fails)."""
CONSOLE: list[str] = []
"""The browser console's warnings and errors, for the failure message."""


def chromium_path() -> str | None:
    for candidate in (os.environ.get("NETLAB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def user_settings(root: Path) -> Path:
    """JupyterLab settings for a quiet, deterministic session: every cell in the DOM, no news."""
    settings = root / "settings"
    for plugin, body in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        pkg, name = plugin.rsplit("/", 1)
        path = settings / pkg / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body))
    return settings


@pytest.fixture(scope="module")
def browser_tools():
    """Chromium and Playwright, or a skip that says which is missing (before JupyterLab starts)."""
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("Chromium not found at /usr/bin/chromium (apt-get install -y chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    return chromium, sync_api


@pytest.fixture(scope="module")
def jupyterlab(browser_tools, tmp_path_factory):
    """JupyterLab serving ``tmp_path/lab``, where each test puts copies of the notebooks it opens (the
    committed notebooks are never touched). One server for the module: starting it is the slow part."""
    tmp_path = tmp_path_factory.mktemp("jupyterlab")
    work = tmp_path / "lab"
    work.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "NETLAB_BACKEND": "sim",
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    log = (tmp_path / "jupyterlab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--port-retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}",
            f"--LabApp.user_settings_dir={user_settings(tmp_path)}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{(tmp_path / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 60 s")
            time.sleep(0.3)
        yield base, token, tmp_path, work
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser(browser_tools):
    """One headless Chromium for the module; each test opens its own page."""
    chromium, sync_api = browser_tools
    with sync_api.sync_playwright() as pw:
        chromium_browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield chromium_browser
        finally:
            chromium_browser.close()


def shut_down_kernels(base: str, token: str) -> None:
    """Stop every kernel of the server, so nine lessons do not keep nine kernels alive at once."""
    with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as r:
        sessions = json.load(r)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=20).close()


def run_all_cells(page, sync_api, name: str, log: Path) -> None:
    """Run menu -> Run All Cells, once the notebook is connected to its kernel and the kernel is idle.

    The execution indicator reads "idle" as soon as the cells render, before the notebook has found
    its session (started through the REST API, ``open_notebook``): the toolbar still says "No Kernel"
    then (measured: the first 0.1-0.2 s here, longer on a busy machine). A Run All in that window
    starts a second kernel for the same notebook and asks "Select Kernel", which in CI came back round
    after round. So Run All waits for the toolbar to name the Python 3 kernel. Should "Select Kernel"
    still appear, it is accepted once; if it comes back, the page is reloaded (a fresh JupyterLab finds
    the session). A click on Run All that lands while the session is still settling runs nothing, so
    Run All is repeated until some cell starts. Every dialog and the browser console go into the failure."""
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                       .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    ready = """() => document.querySelector('.jp-Dialog') !== null
                     || (document.querySelector('.jp-Toolbar-kernelName')?.textContent === 'Python 3 (ipykernel)'
                         && document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']") !== null)"""
    dialogs_in_a_row = 0
    for _ in range(8):
        page.wait_for_function(ready)
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            DIALOGS.append(f"{name}: " + " | ".join(dialog.first.inner_text().split("\n"))[:200])
            page.screenshot(path=str(OUTPUT / f"{name}-dialog.png"))
            dialogs_in_a_row += 1
            if dialogs_in_a_row > 1:
                DIALOGS.append(f"{name}: the dialog came back, page reloaded")
                page.reload()
                page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
                dialogs_in_a_row = 0
                continue
            dialog.first.locator(".jp-Dialog-button.jp-mod-accept").first.click()
            try:
                page.wait_for_selector(".jp-Dialog", state="detached", timeout=10_000)
            except sync_api.TimeoutError:
                pass  # the click landed while the dialog was still settling (or a new one opened): next round
            continue
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(started, timeout=15_000)
            return
        except sync_api.TimeoutError:
            continue
    pytest.fail(
        f"Run All Cells did not start any cell (eight rounds; dialogs: {DIALOGS}); browser console:\n"
        + "\n".join(CONSOLE[-40:]) + f"\nJupyterLab log:\n{log.read_text()[-3000:]}"
    )


def wait_until_cells_ran(page, sync_api, count: int, name: str, tmp_path: Path) -> None:
    """Until ``count`` code cells show an execution count and the kernel is idle again."""
    try:
        page.wait_for_function(
            """n => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                const done = prompts.filter(p => /\\[\\d+\\]/.test(p.textContent)).length;
                const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
                return done === n && idle !== null;
            }""",
            arg=count, timeout=90_000,
        )
    except sync_api.TimeoutError:
        page.screenshot(path=str(OUTPUT / f"{name}-timeout.png"))
        prompts = page.evaluate("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent)")
        status = page.evaluate("() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status")
        log = (tmp_path / "jupyterlab.log").read_text()[-2000:]
        pytest.fail(f"{count} cells did not run within 90 s: prompts {prompts}, kernel {status}, dialogs {DIALOGS}; screenshot in {OUTPUT}\n{log}")


def start_kernel_session(base: str, token: str, path: str) -> None:
    """The notebook's session with a Python 3 kernel, started through the REST API before the page
    opens it: a JupyterLab that opens a notebook before it has the kernel specs asks "Select Kernel",
    which on a busy machine came back round after round (the lab then finds this session instead)."""
    body = json.dumps({"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}}).encode()
    request = urllib.request.Request(
        f"{base}/api/sessions?token={token}", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=60).close()


def open_notebook(browser, base: str, token: str, path: str):
    """A page on a workspace of its own: JupyterLab would otherwise restore the notebooks the server
    showed before, and the selectors would find their cells first."""
    start_kernel_session(base, token, path)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: CONSOLE.append(f"{path}: {m.type}: {m.text[:300]}") if m.type in ("warning", "error") else None)
    page.set_default_timeout(60_000)
    page.goto(f"{base}/lab/workspaces/w{secrets.token_hex(6)}/tree/{path}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    return page


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_jupyterlab_in_a_real_browser(browser_tools, jupyterlab, browser, lesson):
    _, sync_api = browser_tools
    base, token, tmp_path, work = jupyterlab
    (work / "course").mkdir(exist_ok=True)
    shutil.copy(ROOT / "course" / f"{lesson}.ipynb", work / "course")
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(ROOT / "course" / f"{lesson}.ipynb", as_version=4).cells)
    OUTPUT.mkdir(parents=True, exist_ok=True)

    page = open_notebook(browser, base, token, f"course/{lesson}.ipynb")
    try:
        run_all_cells(page, sync_api, lesson, tmp_path / "jupyterlab.log")
        wait_until_cells_ran(page, sync_api, code_cells, lesson, tmp_path)

        # JupyterLab renders both error outputs (tracebacks) and stderr streams with this MIME type
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        error_text = [errors.nth(i).inner_text()[:500] for i in range(errors.count())]
        images = page.locator(".jp-OutputArea-output[data-mime-type='image/png'] img")
        loaded = page.evaluate(
            """() => [...document.querySelectorAll(".jp-OutputArea-output[data-mime-type='image/png'] img")]
                   .filter(img => img.complete && img.naturalWidth > 200).length"""
        )
        grids = page.locator(".jp-OutputArea-output table caption", has_text="Reachability 80/TCP").count()
        image_count = images.count()

        shot = OUTPUT / f"{lesson}.png"
        if lesson == "00-setup-and-the-lab" and image_count > 2:  # the first heatmap, for a look by eye
            images.nth(2).scroll_into_view_if_needed()
            images.nth(2).screenshot(path=str(OUTPUT / f"{lesson}-heatmap.png"))
        page.screenshot(path=str(shot))
        shutil.copy(shot, tmp_path / shot.name)
    finally:
        page.close()
        shut_down_kernels(base, token)

    assert not error_text, f"error or stderr output in the browser: {error_text}"
    assert loaded == image_count, f"{loaded} of {image_count} pictures rendered (screenshot: {shot})"
    if lesson == "00-setup-and-the-lab":
        assert grids == 1, "the coloured reachability table of lesson 0 is rendered"
        assert image_count >= 6, f"lesson 0 draws at least six pictures, the browser shows {image_count}"


EXERCISE = "07-network-policies"
WRONG_DEFAULT_DENY = """default_deny = \"\"\"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
\"\"\""""
"""Task 1 of exercise 7, too narrow: only the API is isolated, the web page stays open."""


def test_a_wrong_answer_shows_the_flow_and_the_reason_in_a_real_browser(browser_tools, jupyterlab, browser):
    """What a learner sees: the try-it cell draws the matrix, the visible test names the wrong flow
    and why, with no Python traceback, and Run All stops at that cell (JupyterLab's default)."""
    _, sync_api = browser_tools
    base, token, tmp_path, work = jupyterlab
    folder = work / "exercises" / EXERCISE
    shutil.copytree(ROOT / "exercises" / EXERCISE, folder)
    notebook = folder / f"{EXERCISE}.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    grade_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in code]
    answer, visible = grade_ids.index("default_deny"), grade_ids.index("np_default_deny_visible")
    code[answer].source = WRONG_DEFAULT_DENY
    nbformat.write(nb, notebook)
    OUTPUT.mkdir(parents=True, exist_ok=True)

    page = open_notebook(browser, base, token, f"exercises/{EXERCISE}/{EXERCISE}.ipynb")
    try:
        run_all_cells(page, sync_api, EXERCISE, tmp_path / "jupyterlab.log")
        wait_until_cells_ran(page, sync_api, visible + 1, EXERCISE, tmp_path)
        page.wait_for_timeout(1000)  # a later cell would have started by now if Run All went on

        cells = page.locator(".jp-CodeCell")
        prompts = [cells.nth(i).locator(".jp-InputArea-prompt").inner_text() for i in range(cells.count())]
        failed = cells.nth(visible)
        failure = failed.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        failure_text = failure.first.inner_text() if failure.count() else ""
        matrix_cells = cells.nth(visible - 1).locator(".jp-OutputArea-output table td").count()
        failed.scroll_into_view_if_needed()
        shot = OUTPUT / f"{EXERCISE}-wrong-answer.png"
        page.screenshot(path=str(shot))
        shutil.copy(shot, tmp_path / shot.name)
    finally:
        page.close()
        shut_down_kernels(base, token)

    assert "untrusted/attacker → shop/web 80/TCP: expected BLOCKED, observed ALLOWED" in failure_text, failure_text
    assert "why: egress from untrusted/attacker" in failure_text and "ingress to shop/web: allowed, not isolated" in failure_text
    assert "Traceback" not in failure_text and "site-packages" not in failure_text, failure_text
    assert matrix_cells > 0, "the try-it cell above the test shows the reachability matrix"
    assert not [p for p in prompts[visible + 1:] if re.search(r"\[(\*|\d+)\]", p)], f"Run All went past the failing test: {prompts}"
