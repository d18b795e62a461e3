"""The course site (``make site``) and the hand-out pages of ``run-notebooks``, in headless Chromium, offline.

Once per session, every notebook runs in smoke mode (``run_notebooks``: executed notebooks and hand-out pages;
the notebook tests' own runs of the session are reused) and the site is built from them (``build_site``). The
site is served on 127.0.0.1; the exported pages are opened from disk (file://), as an instructor's hand-out
would be. Every request that leaves the machine is aborted and recorded, so the test proves the pages work
without internet:

- every page loads without a JavaScript error;
- each page shows as many plotly figures as its notebook displays, its widgets render, and its videos
  have a source;
- no internal link is broken (a crawl of every ``<a href>`` that stays inside the site);
- the search finds a word from the notebooks;
- smoke banners, page titles and the links of the map to the rendered pages.

``LABKIT_TEST_SITE=DIR`` reuses a folder that a previous run left (``DIR/notebooks``, ``DIR/site``,
``DIR/site-src``) instead of running the notebooks again (for working on this test).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from labkit.course.notebooks import NOTEBOOK_GLOB, SMOKE_TEXT, notebook_title, plotly_output_count

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob(NOTEBOOK_GLOB))
SCREENSHOTS = REPO / "build" / "browser"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

# with pytest -n: on the worker whose notebook tests ran the notebooks this test builds its pages from
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("notebooks")]


@pytest.fixture(scope="module")
def built(tmp_path_factory, chromium_path, executed_dir) -> Path:
    """A folder with ``notebooks/`` (executed in smoke mode + hand-out pages), ``site-src/`` and ``site/``."""
    from labkit.course.notebooks import run_notebooks
    from labkit.course.site import build_site

    reuse = os.environ.get("LABKIT_TEST_SITE")
    if reuse and (Path(reuse) / "site" / "index.html").exists():
        return Path(reuse)
    root = Path(reuse) if reuse else tmp_path_factory.mktemp("course")
    t0 = time.monotonic()
    # the notebook tests' own smoke runs (same session) are reused; a notebook they did not run runs here
    code = run_notebooks(smoke=True, out=str(root / "notebooks"), timeout=600, reuse=executed_dir)
    t1 = time.monotonic()
    summary = build_site(root / "notebooks", root / "site", src=root / "site-src")
    print(f"notebooks ran in {t1 - t0:.0f} s (exit {code}); site built in {time.monotonic() - t1:.0f} s")
    print("\n".join(f"sphinx: {w}" for w in summary["warnings"]))
    missing = [w for w in summary["warnings"] if re.search(r"not found|target|undefined label|unknown document", w)]
    assert not missing, f"Sphinx could not resolve links: {missing[:10]}"
    return root


@pytest.fixture(scope="module")
def browser(chromium_path, chromium_args):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=chromium_args)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def server(built):
    """The site over HTTP on loopback (Sphinx's search loads its index with a script, fine over file:// too)."""
    handler = functools.partial(_QuietHandler, directory=str(built / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D102 - no request log in the test output
        pass


def _expected(built: Path) -> dict[str, dict]:
    """Per notebook page: its title, plotly figure count and visible widget views (from the page's notebook)."""
    out = {}
    for path in sorted((built / "site-src" / "notebooks").glob(NOTEBOOK_GLOB)):
        nb = nbformat.read(path, as_version=4)
        views = sum(WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
        notes = sum("labkit-live-kernel" in c.source for c in nb.cells if c.cell_type == "markdown")
        out[path.stem] = {
            "title": notebook_title(nb),
            "plots": plotly_output_count(nb),
            "widgets": views,
            "notes": notes,
        }
    return out


def _open(browser, url: str, external: list[str], allowed: tuple[str, ...]):
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(r):
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.set_default_timeout(30_000)
    page.goto(url, wait_until="load")
    return page, errors


JS_PAGE_INFO = """() => ({
  title: document.title,
  plots: document.querySelectorAll('.js-plotly-plot').length,
  drawn: document.querySelectorAll('.js-plotly-plot .main-svg').length,
  widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
  widgets: document.querySelectorAll('.jupyter-widgets.widget-box, .jupyter-widgets.widget-inline-hbox, '
    + '.jupyter-widgets.widget-hbox, .jupyter-widgets.widget-vbox, .jupyter-widgets.widget-html').length,
  widgetErrors: [...document.querySelectorAll('.jupyter-widgets')].filter(
    e => /Error displaying widget|model not found/i.test(e.innerText)).length,
  videos: [...document.querySelectorAll('video')].map(
    v => v.currentSrc || v.src || (v.querySelector('source') || {}).src || ''),
  banners: [...document.querySelectorAll('.labkit-banner')].map(e => e.innerText),
  notes: document.querySelectorAll('.labkit-live-kernel').length,
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
})"""


# nbconvert's pages: widget outputs the bundled renderer filled with a rendered widget.
JS_RENDERED_VIEWS = """n => [...document.querySelectorAll('div.jupyter-widgets.jp-OutputArea-output')]
  .filter(d => d.querySelector('.lm-Widget')).length"""


def _wait_for_figures(page, n: int) -> None:
    if n:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=n, timeout=30_000
        )


def test_site_pages_render_offline_and_links_resolve(built, browser, server):
    """Crawl the site from its front page: every page loads, figures/widgets/videos render, no link is broken."""
    site = built / "site"
    expected = _expected(built)
    assert set(expected) == {p.stem for p in NOTEBOOKS}, "the site has a page per notebook"
    external: list[str] = []
    todo, seen, broken, visited = [f"{server}/index.html"], set(), [], {}
    t0 = time.monotonic()
    while todo:
        url = todo.pop(0)
        path = urllib.parse.urlparse(url).path
        if path in seen:
            continue
        seen.add(path)
        target = site / urllib.parse.unquote(path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(url)
            continue
        if target.suffix != ".html":
            continue
        page, errors = _open(browser, url, external, (server,))
        try:
            stem = target.stem if target.parent.name == "notebooks" else None
            want = expected.get(stem or "", {})
            _wait_for_figures(page, want.get("plots", 0))
            if want.get("widgets"):
                page.wait_for_selector(".jupyter-widgets.widget-vbox, .jupyter-widgets.widget-hbox", timeout=30_000)
            info = page.evaluate(JS_PAGE_INFO)
            if stem == "00_map_and_setup":
                page.screenshot(path=str(SCREENSHOTS / "site_00.png"), full_page=False)
        finally:
            page.close()
        visited[path] = info
        assert not errors, f"{path}: JavaScript errors {errors}"
        if stem:
            assert info["title"].startswith(want["title"]), f"{path}: title {info['title']!r}"
            assert info["plots"] == want["plots"] and info["drawn"] >= want["plots"], (
                f"{path}: {info['plots']} plotly divs, {info['drawn']} drawn; the notebook has {want['plots']}"
            )
            assert info["widgetViews"] == want["widgets"], f"{path}: widget views {info['widgetViews']} != {want}"
            assert info["widgets"] >= want["widgets"] and info["widgetErrors"] == 0, f"{path}: widgets {info}"
            assert all(v and (v.startswith("data:video/") or v.startswith(server)) for v in info["videos"]), (
                f"{path}: videos without a source: {info['videos']}"
            )
            assert any(SMOKE_TEXT in b for b in info["banners"]), f"{path}: no smoke banner"
            assert info["notes"] == want["notes"], f"{path}: {info['notes']} live-kernel notes, want {want['notes']}"
        for link in info["links"]:
            if link.startswith(server):
                todo.append(link.split("#")[0])
    pages = [p for p in visited if "/notebooks/" in p]
    print(f"crawled {len(visited)} pages ({len(seen)} targets) in {time.monotonic() - t0:.0f} s")
    assert not broken, f"broken internal links: {broken}"
    assert len(pages) == len(NOTEBOOKS), f"notebook pages reached from the front page: {sorted(pages)}"
    assert not external, f"requests that left the machine: {sorted(set(external))[:10]}"


def test_site_search_finds_a_notebook(built, browser, server):
    external: list[str] = []
    page, errors = _open(browser, f"{server}/search.html?q=diffusion", external, (server,))
    try:
        page.wait_for_function("() => document.querySelectorAll('#search-results li').length > 0", timeout=30_000)
        hits = page.locator("#search-results li a").all_inner_texts()
    finally:
        page.close()
    assert any("Diffusion" in h for h in hits), hits
    assert not errors and not external, (errors, external)


def test_exported_pages_work_offline_from_disk(built, browser):
    """The hand-out pages: opened as files, one shared plotly.js, widgets rendered, the map links to pages."""
    out = built / "notebooks"
    external: list[str] = []
    sizes = {}
    for nb_path in NOTEBOOKS:
        html = out / f"{nb_path.stem}.html"
        assert html.exists(), f"no exported page {html}"
        sizes[html.name] = html.stat().st_size
        text = html.read_text(encoding="utf-8")
        assert text.count("window.PlotlyConfig") == 0 and sizes[html.name] < 3_000_000, (
            f"{html.name} embeds plotly.js ({sizes[html.name] / 1e6:.1f} MB)"
        )
        assert not re.search(r'href="[^"]*\.ipynb', text), f"{html.name} links to .ipynb files"
        nb = nbformat.read(out / nb_path.name, as_version=4)
        plots = plotly_output_count(nb)
        page, errors = _open(browser, html.resolve().as_uri(), external, ("file:",))
        try:
            _wait_for_figures(page, plots)
            views = text.count('<script type="application/vnd.jupyter.widget-view+json">')
            if views:  # every widget output gets a rendered widget from the bundled renderer
                page.wait_for_function(JS_RENDERED_VIEWS + " >= n", arg=views, timeout=30_000)
            info = page.evaluate(JS_PAGE_INFO)
            if nb_path.stem == "00_map_and_setup":
                page.screenshot(path=str(SCREENSHOTS / "export_00.png"))
        finally:
            page.close()
        assert not errors, f"{html.name}: JavaScript errors {errors}"
        assert info["title"] == notebook_title(nb), info["title"]
        assert info["plots"] == plots and info["drawn"] >= plots, f"{html.name}: {info['plots']} figures, want {plots}"
        assert info["widgetErrors"] == 0, f"{html.name}: a widget failed to render"
        assert any(SMOKE_TEXT in b for b in info["banners"]), f"{html.name}: no smoke banner"
        assert all(v.startswith("data:video/") for v in info["videos"]), f"{html.name}: {info['videos']}"
    print("exported page sizes (MB): " + ", ".join(f"{k} {v / 1e6:.2f}" for k, v in sizes.items()))
    assert not external, f"requests that left the machine: {sorted(set(external))[:10]}"
