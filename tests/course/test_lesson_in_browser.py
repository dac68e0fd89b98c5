"""A lesson in a real browser: JupyterLab on a free port, headless Chromium through Playwright, Run
All Cells, then the rendered notebook must show the reachability pictures and no error output.

Uses Debian's ``/usr/bin/chromium`` (Playwright's own browser download is not available here);
skips with the reason when Chromium or Playwright is missing. A screenshot of the notebook and of
the first heatmap go to ``test-output/browser/`` (git-ignored) and the test's tmp_path.
"""

from __future__ import annotations

import json
import os
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

LESSON = "00-setup-and-the-lab"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OUTPUT = ROOT / "test-output" / "browser"
DIALOGS: list[str] = []
"""Text of dialogs JupyterLab raised during the run (accepted, and reported if the test fails)."""


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


@pytest.fixture
def browser_tools():
    """Chromium and Playwright, or a skip that says which is missing (before JupyterLab starts)."""
    chromium = chromium_path()
    if chromium is None:
        pytest.skip("Chromium not found at /usr/bin/chromium (apt-get install -y chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    return chromium, sync_api


@pytest.fixture
def jupyterlab(browser_tools, tmp_path):
    """JupyterLab serving a copy of the lesson (the committed notebook is never touched)."""
    work = tmp_path / "lab"
    (work / "course").mkdir(parents=True)
    shutil.copy(ROOT / "course" / f"{LESSON}.ipynb", work / "course")
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
        yield base, token, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def run_all_cells(page, sync_api) -> None:
    """Run menu -> Run All Cells, once the kernel is idle.

    On a busy machine JupyterLab may open the notebook before it has the kernel specs and ask
    "Select Kernel"; that dialog is accepted (Python 3, the notebook's own kernel) and noted, again if
    it outlives the click. A click that lands while the session is still settling runs nothing, so
    Run All is repeated (at most six rounds) until some cell starts."""
    started = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                       .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    for _ in range(6):
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Dialog")
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            DIALOGS.append(" | ".join(dialog.first.inner_text().split("\n"))[:200])
            page.screenshot(path=str(OUTPUT / f"{LESSON}-dialog.png"))
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
    pytest.fail(f"Run All Cells did not start any cell (six attempts; dialogs: {DIALOGS})")


def test_lesson_runs_in_jupyterlab_in_a_real_browser(browser_tools, jupyterlab):
    chromium, sync_api = browser_tools
    base, token, tmp_path = jupyterlab
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(ROOT / "course" / f"{LESSON}.ipynb", as_version=4).cells)
    OUTPUT.mkdir(parents=True, exist_ok=True)

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/course/{LESSON}.ipynb?token={token}")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
            run_all_cells(page, sync_api)

            # Done when every code cell shows an execution count and the kernel is idle again.
            try:
                page.wait_for_function(
                    """n => {
                        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                        const done = prompts.filter(p => /\\[\\d+\\]/.test(p.textContent)).length;
                        const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
                        return done === n && idle !== null;
                    }""",
                    arg=code_cells, timeout=90_000,
                )
            except sync_api.TimeoutError:
                page.screenshot(path=str(OUTPUT / f"{LESSON}-timeout.png"))
                prompts = page.evaluate("() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent)")
                status = page.evaluate("() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status")
                log = (tmp_path / "jupyterlab.log").read_text()[-2000:]
                pytest.fail(f"cells did not all run within 90 s: prompts {prompts}, kernel {status}, dialogs {DIALOGS}; screenshot in {OUTPUT}\n{log}")

            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            error_text = [errors.nth(i).inner_text()[:500] for i in range(errors.count())]
            images = page.locator(".jp-OutputArea-output[data-mime-type='image/png'] img")
            loaded = page.evaluate(
                """() => [...document.querySelectorAll(".jp-OutputArea-output[data-mime-type='image/png'] img")]
                       .filter(img => img.complete && img.naturalWidth > 200).length"""
            )
            grids = page.locator(".jp-OutputArea-output table caption", has_text="Reachability 80/TCP").count()
            image_count = images.count()

            shot = OUTPUT / f"{LESSON}.png"
            images.nth(2).scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
            images.nth(2).screenshot(path=str(OUTPUT / f"{LESSON}-heatmap.png"))
            shutil.copy(shot, tmp_path / shot.name)
        finally:
            browser.close()

    assert not error_text, f"error or stderr output in the browser: {error_text}"
    assert grids == 1, "the coloured reachability table of lesson 0 is rendered"
    assert image_count >= 6 and loaded == image_count, f"{loaded} of {image_count} pictures rendered (screenshot: {shot})"
