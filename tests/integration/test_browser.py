"""Every notebook in a real browser: JupyterLab + headless Chromium (Debian's package) via playwright.

nbclient tests prove the cells run; only a browser proves that what a student sees actually renders:
the plotly figures (need the jupyterlab-plotly extension) and the ipywidgets (need the widget manager
extension and a live kernel comm). Notebook 00 is checked in detail (the sunburst map; the leaf
explorer's dropdown changes its details); every other notebook is opened, run top to bottom, and must
finish with no error output, draw as many plotly figures as it displays, and render its widgets
(progress bars included: they are seen appearing while the notebook runs).

One server for the module, on 127.0.0.1 with a random token, LABKIT_SMOKE=1, and throw-away runtime,
workspace and settings directories. The settings turn autosave off so the repository's notebooks are
never rewritten with outputs. Without Chromium the test is skipped, except in CI (CI=true) where it fails.
"""

from __future__ import annotations

import json
import os
import secrets
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
NOTEBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
SCREENSHOTS = REPO / "build" / "browser"
SCREENSHOT = SCREENSHOTS / "notebook00.png"  # the page, scrolled to the map
WIDGET_SCREENSHOT = SCREENSHOTS / "notebook00_widget.png"  # the leaf explorer
SERVER_START_TIMEOUT = 40.0
RUN_TIMEOUT = 120.0  # notebook 00
NOTEBOOK_TIMEOUT = float(os.environ.get("LABKIT_BROWSER_NOTEBOOK_TIMEOUT", "600"))  # any other, in smoke mode

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("lab")]  # one JupyterLab server


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


@pytest.fixture(scope="module")
def chromium(chromium_path) -> str:
    return chromium_path


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory, chromium):
    """A JupyterLab server on loopback for the whole module; yields (base_url, token); always shut down."""
    tmp_path = tmp_path_factory.mktemp("lab")
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
      const o = c.outputs.get(j).toJSON();
      const data = o.data || {};
      outs.push({type: o.output_type, ename: o.ename || null, evalue: o.evalue || null,
                 plotly: "application/vnd.plotly.v1+json" in data,
                 widget: "application/vnd.jupyter.widget-view+json" in data});
    }
    cells.push({count: c.executionCount, outputs: outs, source: c.sharedModel.getSource().slice(0, 80)});
  }
  return {kernel: k ? k.status : "none", path: w.context.path, cells: cells};
}"""

# Counts widget views as they appear in the current notebook (progress bars close, and vanish, when done).
JS_WATCH_WIDGETS = """() => {
  const node = window.jupyterapp.shell.currentWidget.node;
  window.__labkitWidgets = new Set();
  const seen = el => el.querySelectorAll && [el, ...el.querySelectorAll('.jupyter-widgets')]
    .filter(e => e.classList && e.classList.contains('jupyter-widgets')).forEach(e => window.__labkitWidgets.add(e));
  window.__labkitObserver = new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(seen)));
  window.__labkitObserver.observe(node, {childList: true, subtree: true});
}"""

JS_DOM = """() => {
  const node = window.jupyterapp.shell.currentWidget.node;
  const txt = sel => [...node.querySelectorAll(sel)].map(e => e.innerText);
  return {
    plots: node.querySelectorAll('.js-plotly-plot').length,
    drawn: node.querySelectorAll('.js-plotly-plot .main-svg').length,
    widgetsSeen: window.__labkitWidgets ? window.__labkitWidgets.size : 0,
    widgetsNow: node.querySelectorAll('.jupyter-widgets').length,
    widgetErrors: txt('.jp-OutputArea-output').filter(t => /Error displaying widget|model not found/i.test(t)),
    stderr: txt('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
  };
}"""

# Close the notebook without saving (autosave is off: the repository's file stays without outputs).
JS_CLOSE = """async () => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext) return;
  if (window.__labkitObserver) window.__labkitObserver.disconnect();
  await w.sessionContext.shutdown();
  w.context.model.dirty = false;
  w.dispose();
}"""


@pytest.fixture(scope="module")
def lab_page(chromium, chromium_args, lab_server):
    """One Chromium page on the lab for the whole module; yields (page, base, token, page_errors)."""
    from playwright.sync_api import sync_playwright

    base, token = lab_server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=chromium_args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.set_default_timeout(30_000)
            yield page, base, token, page_errors
        finally:
            browser.close()


def _wait_until_run(page, timeout: float, t0: float) -> dict:
    """Poll until every code cell has an execution count and the kernel is idle (or an error stops it)."""
    deadline = time.monotonic() + timeout
    state = page.evaluate(JS_STATE)
    while True:
        done = all(c["count"] for c in state["cells"]) and state["kernel"] == "idle"
        errored = any(o["type"] == "error" for c in state["cells"] for o in c["outputs"])
        if done or (errored and state["kernel"] == "idle"):
            return state
        assert time.monotonic() < deadline, f"{state['path']} did not finish in {timeout:.0f} s: {state}"
        time.sleep(0.5)
        state = page.evaluate(JS_STATE)


def _assert_clean_and_rendered(page, state: dict) -> dict:
    """No error output (model and DOM); as many drawn plotly figures as plotly outputs; widgets rendered."""
    errors = [
        (c["source"], o["ename"], o["evalue"]) for c in state["cells"] for o in c["outputs"] if o["type"] == "error"
    ]
    assert not errors, f"{state['path']}: cells raised: {errors}"
    assert all(c["count"] for c in state["cells"]), f"{state['path']}: cells did not run: {state['cells']}"
    n_plots = sum(o["plotly"] for c in state["cells"] for o in c["outputs"])
    n_widgets = sum(o["widget"] for c in state["cells"] for o in c["outputs"])
    if n_plots:
        page.wait_for_function(
            "n => window.jupyterapp.shell.currentWidget.node.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=n_plots,
            timeout=60_000,
        )
    dom = page.evaluate(JS_DOM)
    tracebacks = [t[:2000] for t in dom["stderr"] if "Traceback" in t]
    assert not tracebacks, f"{state['path']}: error output: {tracebacks}"
    # >=: a figure that an ipywidgets control draws (interact's Output) is in the page, not in the outputs
    assert dom["plots"] >= n_plots and dom["drawn"] >= n_plots, (
        f"{state['path']}: {dom['plots']} plotly divs ({dom['drawn']} drawn) for {n_plots} plotly outputs"
    )
    assert not dom["widgetErrors"], f"{state['path']}: widgets failed: {dom['widgetErrors']}"
    if n_widgets:
        assert dom["widgetsSeen"] + dom["widgetsNow"] > 0, f"{state['path']}: {n_widgets} widget outputs, none rendered"
    return {"plots": n_plots, "widget_outputs": n_widgets, **{k: dom[k] for k in ("widgetsSeen", "widgetsNow")}}


def _ensure_lab(page, base: str, token: str) -> None:
    if page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.shell)"):
        return
    page.goto(f"{base}/lab?reset&token={token}", wait_until="domcontentloaded")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.started", timeout=60_000
    )
    page.evaluate("() => window.jupyterapp.started")


def test_notebook00_renders_in_jupyterlab(lab_page):
    page, base, token, page_errors = lab_page
    t0 = time.monotonic()
    try:
        _drive(page, base, token, t0)
    finally:
        try:
            page.screenshot(path=str(SCREENSHOT))
        except Exception as exc:  # noqa: BLE001 - the screenshot must not hide the real failure
            print(f"screenshot failed: {exc}")
        page.evaluate(JS_CLOSE)
    print(f"browser test took {time.monotonic() - t0:.1f} s; page errors: {page_errors}")


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOKS if n != NOTEBOOK], ids=lambda n: Path(n).stem)
def test_notebook_runs_and_renders_in_jupyterlab(lab_page, notebook):
    page, base, token, page_errors = lab_page
    t0 = time.monotonic()
    _ensure_lab(page, base, token)
    page.evaluate(
        "async p => { await window.jupyterapp.commands.execute('docmanager:open', {path: p, factory: 'Notebook'}); }",
        notebook,
    )
    page.wait_for_function(
        "p => { const w = window.jupyterapp.shell.currentWidget; return w && w.context && w.context.path === p"
        " && w.sessionContext; }",
        arg=notebook,
        timeout=60_000,
    )
    try:
        status = page.evaluate(JS_NOTEBOOK_READY)
        assert status in ("idle", "busy", "starting", "restarting", "unknown"), f"kernel not started: {status}"
        page.evaluate(JS_WATCH_WIDGETS)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        state = _wait_until_run(page, NOTEBOOK_TIMEOUT, t0)
        ran = time.monotonic() - t0
        found = _assert_clean_and_rendered(page, state)
        print(f"{notebook}: ran in {ran:.1f} s, checked in {time.monotonic() - t0:.1f} s; {found}")
    except BaseException:
        try:
            page.screenshot(path=str(SCREENSHOTS / f"lab_{Path(notebook).stem}.png"))
        except Exception as exc:  # noqa: BLE001 - the screenshot must not hide the real failure
            print(f"screenshot failed: {exc}")
        raise
    finally:
        page.evaluate(JS_CLOSE)


def _drive(page, base: str, token: str, t0: float) -> None:
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset&token={token}", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached", timeout=45_000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
        "&& window.jupyterapp.shell.currentWidget.sessionContext",
        timeout=30_000,
    )
    status = page.evaluate(JS_NOTEBOOK_READY)
    assert status in ("idle", "busy", "starting", "restarting", "unknown"), f"kernel not started: {status}"

    page.evaluate(JS_WATCH_WIDGETS)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    state = _wait_until_run(page, RUN_TIMEOUT, t0)
    print(f"cells ran after {time.monotonic() - t0:.1f} s")
    # (c) No errors (model and DOM), every plotly output drawn, widgets rendered.
    _assert_clean_and_rendered(page, state)

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
