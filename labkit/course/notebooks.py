"""Execute notebooks headless (for instructors and tests): executed .ipynb + HTML + a summary.

``python -m labkit run-notebooks --smoke`` runs every numbered notebook in smoke mode and writes
``build/notebooks/<name>.ipynb``, ``<name>.html`` and ``summary.json``, then prints a table of
per-notebook time and status. The exit code is non-zero if any notebook failed.

The HTML pages are made to be handed out and opened offline (a classroom without internet):

- one shared ``_static/plotly.min.js`` (from the plotly Python package) instead of a 4.8 MB copy per page;
- ipywidgets render from their saved state with a bundled renderer (``@jupyter-widgets/html-manager``
  and require.js, vendored once from the npm registry into ``build/vendor/`` and copied into
  ``_static/``); without npm they fall back to a static HTML summary of their final state. Either way a
  control that calls Python needs a live kernel, and the page says so under it;
- progress bars show their final state: the bars labkit closes (``leave=False``) are left out, as
  JupyterLab hides them too, instead of a mid-run text beside a full bar;
- equations render with a vendored MathJax 3 (npm), and nothing is loaded from a CDN;
- a banner on every page run with ``--smoke`` and on every page whose run failed; a failed run keeps
  the executed cells, the failing cell and its traceback;
- the page title is the notebook's first ``# `` heading, and links to ``NN_topic.ipynb`` point to
  ``NN_topic.html``.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import hashlib
import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.course.solutions import apply_solutions, load_solutions, solutions_for

__all__ = [
    "WebAssets",
    "error_outputs",
    "execute_notebook",
    "export_html",
    "notebook_title",
    "plotly_output_count",
    "prepare_for_html",
    "run_notebooks",
    "web_assets",
]

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOK_GLOB = "[0-9][0-9]*_*.ipynb"  # 00_map_and_setup.ipynb ... 04b_reward_design_with_llms.ipynb
STATIC = "_static"  # shared assets next to the pages
PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
SMOKE_TEXT = "Smoke run: numbers here mean nothing (tiny budgets, run in seconds): run without --smoke."
LIVE_KERNEL_TEXT = (
    "This control shows the state it had when the notebook ran; it needs a live kernel to respond: "
    "open {ipynb} in JupyterLab (make lab)."
)


def error_outputs(nb) -> list[str]:
    """Texts of error outputs (and stderr tracebacks) in an executed notebook."""
    errors = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append(f"{out.get('ename')}: {out.get('evalue')}")
            elif (
                out.get("output_type") == "stream"
                and out.get("name") == "stderr"
                and "Traceback" in out.get("text", "")
            ):
                errors.append(out["text"][-500:])
    return errors


def execute_notebook(
    path: str | Path,
    *,
    smoke: bool,
    timeout: int = 1800,
    cwd: str | Path | None = None,
    solutions: bool = False,
    check_log: str | Path | None = None,
):
    """Run one notebook top to bottom in a fresh kernel; return the executed ``NotebookNode``.

    Widget state is saved in the notebook's metadata (so exported pages can render the widgets).

    :param solutions: replace every exercise cell by its worked solution (``solutions/<stem>.py``) first.
    :param check_log: a file to which every ``lk.check`` appends its outcome (a JSON line each).
    :raises nbclient.exceptions.CellExecutionError: a cell raised. The exception's ``notebook``
        attribute holds the notebook as far as it ran (the failing cell with its traceback included);
        any other exception from the run (a cell timeout, a dead kernel) carries it too.
    """
    import nbformat  # the notebook machinery loads in seconds: only when a notebook runs
    from nbclient import NotebookClient

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no notebook at {path}; notebooks live in {ROOT / 'notebooks'}")
    nb = nbformat.read(path, as_version=4)
    if solutions:
        nb = apply_solutions(nb, load_solutions(solutions_for(path)))
    env = {"LABKIT_SMOKE": "1" if smoke else "0", "LABKIT_CHECK_LOG": str(check_log) if check_log else None}
    old = {k: os.environ.get(k) for k in env}
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    # Figures carry plotly's JSON only (JupyterLab renders it; the HTML export draws it with one shared
    # plotly.js), not a 4.8 MB copy of plotly.js inside every executed notebook.
    os.environ.setdefault("PLOTLY_RENDERER", "plotly_mimetype")
    client = None
    try:
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            store_widget_state=True,
            resources={"metadata": {"path": str(cwd or path.parent)}},
        )
        client.execute()
    except Exception as exc:
        try:  # nbclient saves the widget state only after the last cell: save what the run had
            if client is not None:
                client.set_widgets_metadata()
        except Exception:  # noqa: BLE001, S110 - a page without widget state still shows the error
            pass
        exc.notebook = nb  # type: ignore[attr-defined]  # executed in place: what ran, and the error
        raise
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


# --------------------------------------------------------------------------------------------------
# web assets: plotly.js from the plotly package; widget renderer, require.js and MathJax from npm


@dataclass(frozen=True)
class NpmAsset:
    """A pinned npm package (``integrity`` is the registry's sha512) and the files the pages need."""

    package: str
    version: str
    integrity: str
    files: tuple[str, ...]  # glob patterns inside the package
    strip: str = ""  # prefix removed from the copied paths


NPM_ASSETS: dict[str, NpmAsset] = {
    # The embed bundle nbconvert loads from a CDN by default (ipywidgets 8: html-manager 1.x), with its
    # icon fonts (modern browsers take woff2/woff; eot/svg/ttf are left out).
    "html-manager": NpmAsset(
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        ("dist/embed-amd.js", "dist/*.woff2", "dist/*.woff"),
        strip="dist/",
    ),
    "requirejs": NpmAsset(
        "requirejs",
        "2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        ("require.js",),
    ),
    # All TeX extensions in one file (nothing loaded on demand) and the CommonHTML fonts it looks for
    # next to itself (output/chtml/fonts/woff-v2).
    "mathjax": NpmAsset(
        "mathjax",
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        ("es5/tex-chtml-full.js", "es5/output/chtml/fonts/woff-v2/*.woff"),
        strip="es5/",
    ),
}
MAIN_FILE = {"html-manager": "embed-amd.js", "requirejs": "require.js", "mathjax": "tex-chtml-full.js"}


def _vendor_dir() -> Path:
    return Path(os.environ.get("LABKIT_VENDOR_DIR") or ROOT / "build" / "vendor")


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def vendor_npm(name: str, cache: Path | None = None) -> Path:
    """The files of ``NPM_ASSETS[name]``, fetched once with ``npm pack`` (checked against the pinned
    sha512) into ``build/vendor/<name>-<version>/``; returns that folder.

    :raises RuntimeError: npm is missing, the registry cannot be reached, or the tarball does not match.
    """
    asset = NPM_ASSETS[name]
    cache = cache or _vendor_dir()
    dest = cache / f"{name}-{asset.version}"
    if (dest / ".complete").exists():
        return dest
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found (install Node.js to vendor the widget renderer and MathJax)")
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"{asset.package}@{asset.version}"
        proc = subprocess.run(
            [npm, "pack", spec, "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack {spec} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        data = tarballs[0].read_bytes()
        if _sri(data) != asset.integrity:
            raise RuntimeError(f"npm pack {spec}: tarball does not match the pinned sha512")
        partial = cache / f".{name}-{asset.version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(tarballs[0]) as tar:
            for member in tar.getmembers():
                rel = member.name.removeprefix("package/")
                if not member.isfile() or ".." in Path(rel).parts:
                    continue
                if any(fnmatch.fnmatch(rel, pattern) for pattern in asset.files):
                    target = partial / rel.removeprefix(asset.strip)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tar.extractfile(member)
                    assert src is not None
                    target.write_bytes(src.read())
        (partial / ".complete").write_text(f"{spec} {asset.integrity}\n")
        shutil.rmtree(dest, ignore_errors=True)
        partial.rename(dest)
    return dest


@dataclass
class WebAssets:
    """Paths (relative to the pages) of the shared assets in ``static_dir``; ``None`` where missing."""

    static_dir: Path
    prefix: str = STATIC
    plotly: str | None = None
    requirejs: str | None = None
    widgets: str | None = None
    mathjax: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def widget_renderer(self) -> bool:
        return bool(self.widgets and self.requirejs)


def web_assets(static_dir: str | Path, *, npm: bool | None = None, prefix: str = STATIC) -> WebAssets:
    """Copy the shared page assets into ``static_dir`` (plotly.js always; the widget renderer,
    require.js and MathJax when npm can vendor them: ``npm=False`` or ``LABKIT_NO_NPM=1`` skips them).
    """
    import plotly

    static_dir = Path(static_dir)
    static_dir.mkdir(parents=True, exist_ok=True)
    assets = WebAssets(static_dir=static_dir, prefix=prefix)
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    _copy_if_changed(plotly_js, static_dir / "plotly.min.js")
    assets.plotly = f"{prefix}/plotly.min.js"
    if npm is None:
        npm = os.environ.get("LABKIT_NO_NPM", "") in ("", "0")
    if not npm:
        assets.notes.append("npm disabled: widgets shown as static summaries, equations as TeX")
        return assets
    for name in NPM_ASSETS:
        try:
            src = vendor_npm(name)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            assets.notes.append(f"{name}: {exc}")
            continue
        for f in src.rglob("*"):
            if f.is_file() and f.name != ".complete":
                _copy_if_changed(f, static_dir / name / f.relative_to(src))
        setattr(assets, {"html-manager": "widgets"}.get(name, name), f"{prefix}/{name}/{MAIN_FILE[name]}")
    return assets


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_size == src.stat().st_size and dst.stat().st_mtime >= src.stat().st_mtime:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


# --------------------------------------------------------------------------------------------------
# the executed notebook, made ready for a page


def notebook_title(nb, default: str = "Notebook") -> str:
    """The notebook's first ``# `` heading (markdown emphasis and code marks removed)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return re.sub(r"[*_`]", "", line[2:]).strip() or default
    return default


def plotly_output_count(nb) -> int:
    """How many plotly figures an executed notebook displays."""
    return sum(PLOTLY_MIME in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def _widget_state(nb) -> dict[str, Any]:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})


def _ref(value: Any) -> str | None:
    return value[len("IPY_MODEL_") :] if isinstance(value, str) and value.startswith("IPY_MODEL_") else None


_DISPLAY_ONLY = {"HTMLModel", "HTMLMathModel", "LabelModel", "FloatProgressModel", "IntProgressModel", "ImageModel"}
_BOXES = {"HBoxModel", "VBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel", "StackModel"}


def _models(state: dict, mid: str) -> list[dict]:
    """The model ``mid`` and every widget model under it (children, not layouts or styles)."""
    model = state.get(mid)
    if model is None:
        return []
    found = [model]
    for child in model["state"].get("children", []) or []:
        if (cid := _ref(child)) is not None:
            found += _models(state, cid)
    return found


def _hidden(state: dict, mid: str) -> bool:
    model = state.get(mid)
    if model is None:
        return True  # closed and gone: nothing to show (JupyterLab shows nothing either)
    layout = state.get(_ref(model["state"].get("layout")) or "", {}).get("state", {})
    return layout.get("visibility") == "hidden" or layout.get("display") == "none"


def _is_tqdm(state: dict, mid: str) -> bool:
    model = state.get(mid, {})
    kids = [state.get(_ref(c) or "", {}).get("model_name") for c in model.get("state", {}).get("children", [])]
    return model.get("model_name") == "HBoxModel" and kids == ["HTMLModel", "FloatProgressModel", "HTMLModel"]


def _finish_tqdm(state: dict, mid: str) -> None:
    """A visible bar whose progress reached its total says so in its texts too (tqdm throttles them)."""
    left, bar, right = (state[_ref(c) or ""]["state"] for c in state[mid]["state"]["children"])
    total = bar.get("max")
    if total and bar.get("value", 0) >= total:
        left["value"] = re.sub(r"\d+%", "100%", left.get("value", ""), count=1)
        n = f"{total:g}" if isinstance(total, float) else str(total)
        right["value"] = re.sub(r"^(\s*)[\d.]+/", rf"\g<1>{n}/", right.get("value", ""), count=1)


def _widget_html(state: dict, mid: str) -> str:
    """A static HTML summary of a widget's final state (the fallback without a widget renderer)."""
    model = state.get(mid)
    if model is None:
        return ""
    name, s = model["model_name"], model["state"]
    desc = html_lib.escape(str(s.get("description") or ""))
    label = f"<b>{desc}</b>: " if desc else ""
    if name in _BOXES:
        kids = "".join(_widget_html(state, cid) for c in s.get("children", []) if (cid := _ref(c)))
        flex = "row" if name == "HBoxModel" else "column"
        return f'<div style="display:flex; flex-direction:{flex}; gap:0.5em; align-items:baseline">{kids}</div>'
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{label}{s.get('value', '')}</div>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        return f'<progress value="{s.get("value", 0)}" max="{s.get("max", 100)}"></progress>'
    if "_options_labels" in s:
        index = s.get("index")
        labels = s["_options_labels"]
        chosen = (
            ", ".join(labels[i] for i in index)
            if isinstance(index, list)
            else (labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "")
        )
        return f"<div>{label}<code>{html_lib.escape(chosen)}</code> (one of {len(labels)})</div>"
    if "value" in s and not isinstance(s["value"], dict):
        return f"<div>{label}<code>{html_lib.escape(str(s['value']))}</code></div>"
    return ""


def _html_text(fragment: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\u2007", " ").strip()


def _widget_text(state: dict, mid: str) -> str:
    """A plain-text summary of a widget's final state (its ``text/plain``)."""
    if _is_tqdm(state, mid):
        left, bar, right = (state[_ref(c) or ""]["state"] for c in state[mid]["state"]["children"])
        return f"{_html_text(left.get('value', ''))} {_html_text(right.get('value', ''))}".strip()
    return re.sub(r"\s+", " ", _html_text(_widget_html(state, mid)))


def _plotly_html(fig: dict) -> str:
    """A figure's HTML without plotly.js (the page loads the shared copy) and without MathJax."""
    import plotly.io as pio

    config = fig.get("config") or {}
    return pio.to_html(
        {"data": fig.get("data", []), "layout": fig.get("layout", {})},
        config=config,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        validate=False,
    )


def _is_plotly_loader(out: dict) -> bool:
    """The output with which plotly's "notebook" renderer injects all of plotly.js (4.8 MB) into a page."""
    data = out.get("data", {})
    text = data.get("text/html", "")
    if isinstance(text, list):
        text = "".join(text)
    return set(data) == {"text/html"} and "window.PlotlyConfig" in text[:2000] and len(text) > 100_000


def _banner(kind: str, text: str) -> str:
    return f'<div class="labkit-banner labkit-{kind}" role="note"><strong>{text}</strong></div>'


def prepare_for_html(nb, *, smoke: bool | None = None, renderer: bool = True, failure: str | None = None):
    """A copy of an executed notebook ready to render as a page (nbconvert or a site builder).

    :param smoke: add the smoke banner (default: the ``labkit.mode`` recorded by ``run_notebooks``).
    :param renderer: the page loads a widget renderer; if not, widget views become static HTML summaries.
    :param failure: a run that failed: a banner names the error (default: ``labkit.error`` in metadata).
    """
    nb = copy.deepcopy(nb)
    meta = nb.metadata.get("labkit", {})
    smoke = meta.get("mode") == "smoke" if smoke is None else smoke
    failure = meta.get("error") if failure is None else failure
    state = _widget_state(nb)
    ipynb = meta.get("notebook", "the notebook")
    new_cells = []
    for cell in nb.cells:
        new_cells.append(cell)
        if cell.cell_type != "code":
            continue
        outputs, needs_kernel = [], False
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if _is_plotly_loader(out):
                continue
            if PLOTLY_MIME in data:
                data["text/html"] = _plotly_html(data[PLOTLY_MIME])
            view = data.get(WIDGET_VIEW_MIME)
            if view is not None:
                mid = view.get("model_id", "")
                if _hidden(state, mid):
                    continue  # a progress bar closed when it finished (leave=False): JupyterLab hides it too
                if _is_tqdm(state, mid):
                    _finish_tqdm(state, mid)
                models = _models(state, mid)
                needs_kernel |= any(m["model_name"] not in _DISPLAY_ONLY | _BOXES for m in models)
                data["text/plain"] = _widget_text(state, mid)
                if not renderer:
                    data.pop(WIDGET_VIEW_MIME)
                    data["text/html"] = _widget_html(state, mid)
            outputs.append(out)
        cell.outputs = outputs
        if needs_kernel:
            note = LIVE_KERNEL_TEXT.format(ipynb=f"<code>{html_lib.escape(ipynb)}</code>")
            new_cells.append(_markdown_cell(f'<div class="labkit-note labkit-live-kernel">{note}</div>'))
    nb.cells = new_cells
    if not renderer:
        nb.metadata.pop("widgets", None)
    banners = []
    if smoke:
        banners.append(_banner("smoke", SMOKE_TEXT))
    if failure:
        banners.append(
            _banner(
                "failed", f"This run failed: {html_lib.escape(failure)}. The cells below the failing one did not run."
            )
        )
    if banners:
        _insert_after_title(nb, "\n".join(banners))
    nb.metadata["title"] = notebook_title(nb)
    return nb


def _markdown_cell(source: str):
    import nbformat

    return nbformat.v4.new_markdown_cell(source)


def _insert_after_title(nb, block: str) -> None:
    """Put ``block`` (raw HTML) right under the first ``# `` heading, or at the top."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            for i, line in enumerate(lines):
                if line.startswith("# "):
                    cell.source = "\n".join(lines[: i + 1] + ["", block, ""] + lines[i + 1 :])
                    return
            break
    nb.cells.insert(0, _markdown_cell(block))


_IPYNB_HREF = re.compile(
    r"""(href=\\?["'])(?![a-zA-Z][a-zA-Z0-9+.-]*:|/|#)([^"'\\\s]*?)\.ipynb(#[^"'\\\s]*)?(?=\\?["'])"""
)


def ipynb_links_to_html(html: str, page_exists: Callable[[str], bool] | None = None) -> str:
    """Relative links to ``X.ipynb`` (in markdown and in outputs) point to the rendered ``X.html``.

    :param page_exists: called with ``X`` (the link without ``.ipynb``); only links for which it returns
        True are changed (a site keeps its "download the notebook" links); default: every link.
    """

    def swap(m: re.Match) -> str:
        if page_exists is not None and not page_exists(html_lib.unescape(urllib.parse.unquote(m.group(2)))):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}.html{m.group(3) or ''}"

    return _IPYNB_HREF.sub(swap, html)


PAGE_CSS = """
.labkit-banner { margin: 0.8em 0; padding: 0.7em 1em; border-radius: 4px; border-left: 6px solid; }
.labkit-smoke { background: #fff4e5; border-color: #f57c00; color: #5d3200; }
.labkit-failed { background: #fdecea; border-color: #d32f2f; color: #611a15; }
.labkit-note { margin: 0.3em 0 1em; padding: 0.4em 0.8em; font-size: 0.9em; color: #37474f;
  background: #eceff1; border-left: 4px solid #78909c; border-radius: 3px; }
"""

_PAGE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% from 'jupyter_widgets.html.j2' import jupyter_widgets %}
{%- block html_head_js -%}
{%- if resources.labkit.plotly %}<script src="{{ resources.labkit.plotly }}"></script>{% endif -%}
{%- if resources.labkit.requirejs %}<script src="{{ resources.labkit.requirejs }}"></script>{% endif -%}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}
{%- if "widgets" in nb.metadata and resources.labkit.widgets -%}
{{ jupyter_widgets('', '', resources.labkit.widgets) }}
{%- endif -%}
{% endblock jupyter_widgets %}
{% block extra_css %}<style type="text/css">{{ resources.labkit.css }}</style>{% endblock extra_css %}
{%- block html_head_js_mathjax -%}
{%- if resources.labkit.mathjax -%}
<script>
{{ resources.labkit.mathjax_config }}
</script>
<script defer src="{{ resources.labkit.mathjax }}"></script>
{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


# MathJax 3, configured as nbconvert configures MathJax 2 for its pages; ipywidgets' HTML widgets still
# typeset through MathJax 2's ``MathJax.Hub.Queue``, which the ready hook provides.
_MATHJAX_CONFIG = r"""window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true, tags: 'TAGS'},
  options: {ignoreHtmlClass: 'IGNORE', processHtmlClass: 'PROCESS'},
  startup: {ready: function () {
    MathJax.startup.defaultReady();
    MathJax.Hub = {Queue: function (job) {
      var el = job && job[2];
      return MathJax.typesetPromise(el ? [el] : undefined);
    }};
  }}
};"""


def mathjax_config(ignore: str = "tex2jax_ignore", process: str = "tex2jax_process", tags: str = "ams") -> str:
    """The MathJax 3 configuration script (a site builder passes its own classes; Sphinx numbers equations)."""
    return _MATHJAX_CONFIG.replace("IGNORE", ignore).replace("PROCESS", process).replace("TAGS", tags)


MATHJAX_CONFIG = mathjax_config()


def export_html(nb, assets: WebAssets) -> str:
    """The offline HTML page of a notebook prepared by :func:`prepare_for_html`."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[DictLoader({"labkit_page": _PAGE_TEMPLATE})], template_file="labkit_page")
    resources = {
        "metadata": {"name": nb.metadata.get("title") or notebook_title(nb)},
        "labkit": {
            "plotly": assets.plotly,
            "requirejs": assets.requirejs if assets.widget_renderer else None,
            "widgets": assets.widgets if assets.widget_renderer else None,
            "mathjax": assets.mathjax,
            "mathjax_config": MATHJAX_CONFIG,
            "css": PAGE_CSS,
        },
    }
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return ipynb_links_to_html(html)


# --------------------------------------------------------------------------------------------------
# run-notebooks


def run_one(nb_path: Path, *, smoke: bool, timeout: int, check_log: str | Path | None = None) -> tuple[Any, str, str]:
    """Execute one notebook: ``(notebook as far as it ran, status, detail)``; never raises for a failed run.

    The notebook carries its title and ``metadata["labkit"]`` (mode, status, error) for the pages.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError

    status, detail = "ok", ""
    try:
        nb = execute_notebook(nb_path, smoke=smoke, timeout=timeout, check_log=check_log)
        errs = error_outputs(nb)
        if errs:
            status, detail = "error", errs[0]
    except CellExecutionError as exc:
        nb = getattr(exc, "notebook", None) or nbformat.read(nb_path, as_version=4)
        status = "error"
        detail = f"{exc.ename}: {exc.evalue}"[:300] if exc.ename else str(exc).strip().splitlines()[-1][:300]
    except Exception as exc:  # noqa: BLE001 - a timeout or a dead kernel: keep what ran
        nb = getattr(exc, "notebook", None) or nbformat.read(nb_path, as_version=4)
        status, detail = "error", f"{type(exc).__name__}: {exc}"[:300]
    nb.metadata["title"] = notebook_title(nb)
    nb.metadata["labkit"] = {
        "notebook": nb_path.name,
        "mode": "smoke" if smoke else "full",
        "status": status,
        "error": detail if status != "ok" else None,
    }
    return nb, status, detail


def run_notebooks(
    paths: list[str] | None = None,
    *,
    smoke: bool = False,
    out: str = "build/notebooks",
    timeout: int = 1800,
    reuse: str | Path | None = None,
) -> int:
    """Execute notebooks, write executed copies, HTML pages (with ``_static/``) and ``summary.json``;
    return an exit code.

    :param reuse: a folder of notebooks that :func:`run_one` already executed in the same mode (the
        tests' own runs); those found there are exported as they are instead of running again.
    """
    import nbformat

    nbs = [Path(p) for p in paths] if paths else sorted((ROOT / "notebooks").glob(NOTEBOOK_GLOB))
    missing = [str(p) for p in nbs if not p.is_file()]
    if missing:
        print(f"error: no notebook at {', '.join(missing)}; notebooks live in {ROOT / 'notebooks'}", file=sys.stderr)
        return 2
    if not nbs:
        print(f"error: no notebooks found in {ROOT / 'notebooks'}", file=sys.stderr)
        return 2
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    assets = web_assets(out_dir / STATIC)
    for note in assets.notes:
        print(f"note: {note}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    mode = "smoke" if smoke else "full"
    for nb_path in nbs:
        print(f"running {nb_path.name} ({mode}) ...", flush=True)
        t0 = time.perf_counter()
        done = Path(reuse) / nb_path.name if reuse is not None else None
        prior = nbformat.read(done, as_version=4) if done is not None and done.is_file() else None
        if prior is not None and prior.metadata.get("labkit", {}).get("mode") == mode:
            nb, status, detail = prior, prior.metadata["labkit"]["status"], prior.metadata["labkit"].get("error") or ""
        else:
            nb, status, detail = run_one(nb_path, smoke=smoke, timeout=timeout)
        seconds = time.perf_counter() - t0
        nbformat.write(nb, out_dir / nb_path.name)
        page = prepare_for_html(nb, renderer=assets.widget_renderer)
        html_path = out_dir / nb_path.with_suffix(".html").name
        html_path.write_text(export_html(page, assets), encoding="utf-8")
        rows.append(
            {
                "notebook": nb_path.name,
                "mode": mode,
                "status": status,
                "seconds": round(seconds, 1),
                "detail": detail,
                "html_bytes": html_path.stat().st_size,
            }
        )
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=2))
    width = max(len(r["notebook"]) for r in rows)
    print(f"\n{'notebook':<{width}}  status  seconds  page MB")
    for r in rows:
        mb = r["html_bytes"] / 1e6
        print(f"{r['notebook']:<{width}}  {r['status']:<6}  {r['seconds']:>7.1f}  {mb:>7.2f}  {r['detail']}")
    static_mb = sum(f.stat().st_size for f in (out_dir / STATIC).rglob("*") if f.is_file()) / 1e6
    print(f"\nexecuted notebooks and HTML in {out_dir}/ (summary.json; shared assets in {STATIC}/: {static_mb:.1f} MB)")
    return 0 if all(r["status"] == "ok" for r in rows) else 1
