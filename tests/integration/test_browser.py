"""Notebook 00 in a real browser: JupyterLab + headless Chromium (Debian's package) via playwright.

nbclient tests prove the cells run; only a browser proves that what a student sees actually renders:
the plotly sunburst (needs the jupyterlab-plotly extension) and the ipywidgets leaf explorer (needs
the widget manager extension and a live kernel comm).

The server runs on 127.0.0.1 with a random token, LABKIT_SMOKE=1, and throw-away runtime, workspace
and settings directories. The settings turn autosave off so the repository's notebook is never
rewritten with outputs. Without Chromium the test is skipped, except in CI (CI=true) where it fails.
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
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/00_map_and_setup.ipynb"
SCREENSHOT = REPO / "build" / "browser" / "notebook00.png"  # the page, scrolled to the map
WIDGET_SCREENSHOT = REPO / "build" / "browser" / "notebook00_widget.png"  # the leaf explorer
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT = 40.0
RUN_TIMEOUT = 120.0

pytestmark = pytest.mark.browser


def _find_chromium() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _require_chromium() -> str:
    chromium = _find_chromium()
    if chromium is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Chromium not found, and CI=true makes the browser test mandatory (.ci/run installs Debian's chromium)"
            )
        pytest.skip(
            "Chromium not found: install Debian's chromium (sudo apt-get install chromium) to run the browser test"
        )
    return chromium


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    """User settings for the throw-away lab: no autosave (keeps the repo clean), all cells in the DOM."""
    files = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for rel, content in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


@pytest.fixture
def chromium() -> str:
    return _require_chromium()


@pytest.fixture
def lab_server(tmp_path):
    """A JupyterLab server on loopback; yields (base_url, token); always shut down."""
    port, token = _free_port(), secrets.token_hex(24)
    # The runtime dir (connection files, cookie secret) is set through JUPYTER_RUNTIME_DIR.
    runtime, workspaces, settings = tmp_path / "runtime", tmp_path / "workspaces", tmp_path / "settings"
    for d in (runtime, workspaces, settings):
        d.mkdir()
    _write_settings(settings)
    env = dict(
        os.environ,
        LABKIT_SMOKE="1",
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTERLAB_WORKSPACES_DIR=str(workspaces),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "jupyterlab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={REPO}",
        f"--LabApp.workspaces_dir={workspaces}",
        f"--LabApp.user_settings_dir={settings}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI runners often run as root
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                req = urllib.request.Request(f"{base}/api/status", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab did not answer /api/status within {SERVER_START_TIMEOUT:.0f} s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()  # SIGTERM: jupyter_server shuts its kernels down cleanly
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# JavaScript run in the page, against the app object exposed by --LabApp.expose_app_in_browser.
JS_NOTEBOOK_READY = """async () => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return "no app";
  const w = app.shell.currentWidget;
  if (!w || !w.content || !w.sessionContext) return "no notebook";
  await w.context.ready;
  await w.sessionContext.ready;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : "no kernel";
}"""

JS_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = [];
  const model = w.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    if (c.type !== "code") continue;
    const outs = [];
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j);
      outs.push({type: o.type, ename: o.toJSON().ename || null, evalue: o.toJSON().evalue || null});
    }
    cells.push({count: c.executionCount, outputs: outs, source: c.sharedModel.getSource().slice(0, 80)});
  }
  return {kernel: k ? k.status : "none", cells: cells};
}"""


def test_notebook00_renders_in_jupyterlab(chromium, lab_server):
    from playwright.sync_api import sync_playwright

    base, token = lab_server
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.set_default_timeout(30_000)
            try:
                _drive(page, base, token, t0)
            finally:
                try:
                    page.screenshot(path=str(SCREENSHOT))
                except Exception as exc:  # noqa: BLE001 - the screenshot must not hide the real failure
                    print(f"screenshot failed: {exc}")
        finally:
            browser.close()
    print(f"browser test took {time.monotonic() - t0:.1f} s; page errors: {page_errors}")


def _drive(page, base: str, token: str, t0: float) -> None:
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached", timeout=45_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
        "&& window.jupyterapp.shell.currentWidget.sessionContext",
        timeout=30_000,
    )
    status = page.evaluate(JS_NOTEBOOK_READY)
    assert status in ("idle", "busy", "starting", "restarting", "unknown"), f"kernel not started: {status}"

    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    # Poll until every code cell has an execution count and the kernel is idle (or an error stops it).
    deadline = time.monotonic() + RUN_TIMEOUT
    state = page.evaluate(JS_STATE)
    while True:
        done = all(c["count"] for c in state["cells"]) and state["kernel"] == "idle"
        errored = any(o["type"] == "error" for c in state["cells"] for o in c["outputs"])
        if done or (errored and state["kernel"] == "idle"):
            break
        assert time.monotonic() < deadline, f"notebook did not finish in {RUN_TIMEOUT:.0f} s: {state}"
        time.sleep(0.5)
        state = page.evaluate(JS_STATE)
    print(f"cells ran after {time.monotonic() - t0:.1f} s")

    # (c) No errors: in the model, then in the DOM (JupyterLab 4 renders an error output as text with
    # data-mime-type application/vnd.jupyter.stderr and a Traceback / ename line).
    errors = [
        (c["source"], o["ename"], o["evalue"]) for c in state["cells"] for o in c["outputs"] if o["type"] == "error"
    ]
    assert not errors, f"cells raised: {errors}"
    assert all(c["count"] for c in state["cells"]), f"cells did not run: {state['cells']}"
    stderr_texts = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    for i in range(stderr_texts.count()):
        text = stderr_texts.nth(i).inner_text()
        assert "Traceback" not in text, f"error output: {text[:2000]}"

    # (a) The plotly sunburst rendered: a plotly div with the sunburst layer and drawn sectors.
    sunburst = page.locator(".js-plotly-plot:has(g.sunburstlayer)")
    sunburst.first.wait_for(state="attached", timeout=20_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot g.sunburstlayer path.surface').length > 5", timeout=20_000
    )
    n_sectors = page.locator(".js-plotly-plot g.sunburstlayer path.surface").count()
    assert n_sectors > 5, f"sunburst has only {n_sectors} sectors"
    sunburst.first.scroll_into_view_if_needed()
    box = sunburst.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, f"sunburst has no size: {box}"

    # (b) The ipywidgets leaf explorer rendered, with the leaves in its dropdown, and it reacts.
    select = page.locator(".jupyter-widgets.widget-dropdown select")
    select.first.wait_for(state="visible", timeout=20_000)
    assert select.count() == 1, f"expected one leaf dropdown, found {select.count()}"
    from labkit.course.taxonomy import LEAVES

    expected = [" / ".join(leaf.path[1:]) for leaf in LEAVES]
    # ipywidgets renders spaces in option labels as no-break spaces.
    options = [o.replace("\xa0", " ").strip() for o in select.locator("option").all_inner_texts()]
    assert options == expected, f"dropdown options {options} are not the taxonomy leaves {expected}"
    details_sel = ".jupyter-widgets.widget-html .widget-html-content"
    html = page.locator(details_sel)
    html.first.wait_for(state="attached")
    before = html.first.inner_text().replace("\xa0", " ")
    assert "methods:" in before and LEAVES[0].path[2] in before, (
        f"details {before!r} do not describe the selected leaf {LEAVES[0].path}"
    )
    select.first.scroll_into_view_if_needed()
    select.first.select_option(index=len(options) - 1)
    page.wait_for_function(
        "([sel, want]) => { const e = document.querySelector(sel);"
        " return e && e.innerText.replace(/\\u00a0/g, ' ').includes(want); }",
        arg=[details_sel, LEAVES[-1].path[2]],
        timeout=10_000,
    )
    after = html.first.inner_text().replace("\xa0", " ")
    assert after != before, "the details widget did not change with the dropdown"
    page.locator(".jupyter-widgets.widget-vbox").first.screenshot(path=str(WIDGET_SCREENSHOT))
    # Scroll back to the map so the screenshot shows it.
    sunburst.first.scroll_into_view_if_needed()
