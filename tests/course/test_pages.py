"""The hand-out pages of ``run-notebooks``: offline assets, titles, banners, links, widgets, progress bars,
and a failed run that keeps what ran. A tiny notebook runs in a real kernel (seconds); the npm assets are
switched off here (``LABKIT_NO_NPM=1``: the static widget fallback), the browser tests cover the renderer.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from labkit.course.notebooks import (
    LIVE_KERNEL_TEXT,
    SMOKE_TEXT,
    ipynb_links_to_html,
    notebook_title,
    plotly_output_count,
    prepare_for_html,
    run_notebooks,
)

pytestmark = pytest.mark.xdist_group("pages")  # one tiny notebook run for the module

CELLS = [
    ("markdown", "# 99 · A *tiny* notebook\n\nSee [the next one](98_next.ipynb#top) and $x^2$."),
    ("code", "import plotly.graph_objects as go\ngo.Figure(go.Scatter(y=[1, 3, 2])).show()"),
    ("code", "import ipywidgets as w\nw.Dropdown(options=['left', 'right'], value='right', description='route')"),
    ("code", "from tqdm.auto import tqdm\nfor _ in tqdm(range(50), desc='hidden', leave=False): pass"),
    ("code", "for _ in tqdm(range(7), desc='kept', mininterval=10): pass"),
    ("code", "print('before the error')\n1 / 0"),
    ("code", "print('never runs')"),
]


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        for kind, src in CELLS
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    src = _notebook(root / "99_tiny.ipynb")
    mp = pytest.MonkeyPatch()
    mp.setenv("LABKIT_NO_NPM", "1")
    try:
        code = run_notebooks([str(src)], smoke=True, out=str(root / "out"), timeout=120)
    finally:
        mp.undo()
    out = root / "out"
    return {
        "code": code,
        "html": (out / "99_tiny.html").read_text(encoding="utf-8"),
        "nb": nbformat.read(out / "99_tiny.ipynb", as_version=4),
        "summary": json.loads((out / "summary.json").read_text()),
        "out": out,
    }


@pytest.mark.notebook
def test_a_failed_run_keeps_what_ran_and_its_traceback(exported):
    assert exported["code"] == 1
    row = exported["summary"][0]
    assert row["status"] == "error" and "ZeroDivisionError" in row["detail"], row
    html = exported["html"]
    assert "before the error" in html and "ZeroDivisionError" in html and "Traceback" in html
    assert "never runs" in html  # the source of the cell after the error, not run
    assert html.count("never runs") == 1, "the cell after the error must not have run"
    assert "This run failed: ZeroDivisionError" in html
    cells = exported["nb"].cells
    assert cells[5].outputs[-1]["output_type"] == "error" and cells[6].execution_count is None


@pytest.mark.notebook
def test_page_title_banner_links_and_offline_assets(exported):
    html, out = exported["html"], exported["out"]
    assert "<title>99 · A tiny notebook</title>" in html
    assert SMOKE_TEXT in html
    assert 'href="98_next.html#top"' in html and "98_next.ipynb" not in html
    # One shared plotly.js next to the pages, none inside; nothing from a CDN.
    assert '<script src="_static/plotly.min.js"></script>' in html and (out / "_static" / "plotly.min.js").is_file()
    assert "window.PlotlyConfig" not in html and len(html) < 1_000_000
    assert not re.search(r"""<script[^>]+src=["']https?://""", html), "a script comes from the network"
    assert not re.search(r"cdnjs|unpkg|jsdelivr|googleapis", html)
    assert plotly_output_count(exported["nb"]) == 1 and html.count('class="plotly-graph-div"') == 1


@pytest.mark.notebook
def test_widgets_and_progress_bars_show_their_final_state(exported):
    html = exported["html"]
    # Without a renderer (no npm here), the dropdown is a static summary of its final state, with the note.
    assert "application/vnd.jupyter.widget-view+json" not in html
    assert "<code>right</code> (one of 2)" in html
    assert LIVE_KERNEL_TEXT.split(":")[0] in html
    # The bar closed with leave=False is gone (JupyterLab hides it too); the kept one shows 7/7, 100%.
    assert "hidden:" not in html
    kept = re.search(r"kept:[^<]*", html)
    assert kept and "100%" in kept.group(0), kept
    assert "7/7" in html


def _bar_state(visible: bool, left: str, value: float, right: str) -> tuple[dict, dict]:
    ids = ["box", "l", "bar", "r", "lay"]
    state = {
        "box": {
            "model_name": "HBoxModel",
            "state": {"children": [f"IPY_MODEL_{i}" for i in ids[1:4]], "layout": "IPY_MODEL_lay"},
        },
        "l": {"model_name": "HTMLModel", "state": {"value": left}},
        "bar": {"model_name": "FloatProgressModel", "state": {"value": value, "max": 4.0}},
        "r": {"model_name": "HTMLModel", "state": {"value": right}},
        "lay": {"model_name": "LayoutModel", "state": {"visibility": None if visible else "hidden"}},
    }
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    return state, view


@pytest.mark.parametrize("visible", [True, False])
def test_prepare_drops_closed_bars_and_finishes_visible_ones(visible):
    state, view = _bar_state(visible, "evaluate: 25%", 4.0, "\u20071/4\u2007[00:01]")
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"application/vnd.jupyter.widget-view+json": view, "text/plain": "evaluate: 25% 1/4"}
        ),
        nbformat.v4.new_output("display_data", data={"text/html": "<script>window.PlotlyConfig = {};" + "x" * 200_000}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), cell]
    page = prepare_for_html(nb, smoke=False)
    outs = page.cells[1].outputs
    assert all("window.PlotlyConfig" not in str(o) for o in outs), "plotly.js loader output kept"
    if not visible:
        assert outs == []
    else:
        assert outs[0]["data"]["text/plain"] == "evaluate: 100% 4/4 [00:01]"
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "evaluate: 25% 1/4", "the input notebook is unchanged"


def test_title_and_link_rewriting():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("Intro\n\n# 03 · `Diffusion` policy\n\ntext")]
    assert notebook_title(nb) == "03 · Diffusion policy"
    assert notebook_title(nbformat.v4.new_notebook()) == "Notebook"
    html = (
        '<a href="01_rl.ipynb">a</a> <a href="https://x.org/y.ipynb">b</a> <a href="/abs.ipynb">c</a>'
        ' <a href=\\"02_d.ipynb#s\\">e</a> <a href="../_sources/n.ipynb">d</a>'
    )
    fixed = ipynb_links_to_html(html)
    assert 'href="01_rl.html"' in fixed and "https://x.org/y.ipynb" in fixed and "/abs.ipynb" in fixed
    assert '\\"02_d.html#s\\"' in fixed
    kept = ipynb_links_to_html(html, lambda rel: not rel.startswith("../_sources"))
    assert 'href="../_sources/n.ipynb"' in kept and 'href="01_rl.html"' in kept


@pytest.mark.notebook
def test_reuse_exports_an_executed_notebook_without_running_it(exported, tmp_path, monkeypatch):
    import labkit.course.notebooks as notebooks

    def no_run(*args, **kwargs):
        raise AssertionError("a notebook found in reuse= must not run again")

    monkeypatch.setattr(notebooks, "run_one", no_run)
    monkeypatch.setenv("LABKIT_NO_NPM", "1")
    src = tmp_path / "99_tiny.ipynb"
    nbformat.write(nbformat.read(exported["out"] / "99_tiny.ipynb", as_version=4), src)
    code = notebooks.run_notebooks([str(src)], smoke=True, out=str(tmp_path / "out"), reuse=exported["out"])
    assert code == 1  # the reused run failed (ZeroDivisionError), and says so
    assert "This run failed: ZeroDivisionError" in (tmp_path / "out" / "99_tiny.html").read_text(encoding="utf-8")
