"""Execute notebooks headless (for instructors and tests): executed .ipynb + HTML + a summary.

``python -m labkit run-notebooks --smoke`` runs every numbered notebook in smoke mode and writes
``build/notebooks/<name>.ipynb``, ``<name>.html`` and ``summary.json``, then prints a table of
per-notebook time and status. The exit code is non-zero if any notebook failed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from labkit.course.solutions import apply_solutions, load_solutions, solutions_for

__all__ = ["execute_notebook", "run_notebooks", "error_outputs"]

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOK_GLOB = "[0-9][0-9]*_*.ipynb"  # 00_map_and_setup.ipynb ... 04b_reward_design_with_llms.ipynb


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

    :param solutions: replace every exercise cell by its worked solution (``solutions/<stem>.py``) first.
    :param check_log: a file to which every ``lk.check`` appends its outcome (a JSON line each).
    :raises nbclient.exceptions.CellExecutionError: a cell raised.
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
    # Figures carry plotly.js inline as well as plotly's JSON, so the HTML export shows them offline.
    os.environ.setdefault("PLOTLY_RENDERER", "plotly_mimetype+notebook")
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd or path.parent)}}
        )
        client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def run_notebooks(
    paths: list[str] | None = None, *, smoke: bool = False, out: str = "build/notebooks", timeout: int = 1800
) -> int:
    """Execute notebooks, write executed copies, HTML and ``summary.json``; return an exit code."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

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
    rows: list[dict[str, Any]] = []
    mode = "smoke" if smoke else "full"
    for nb_path in nbs:
        print(f"running {nb_path.name} ({mode}) ...", flush=True)
        t0 = time.perf_counter()
        status, detail, nb = "ok", "", None
        try:
            nb = execute_notebook(nb_path, smoke=smoke, timeout=timeout)
            errs = error_outputs(nb)
            if errs:
                status, detail = "error", errs[0]
        except CellExecutionError as exc:
            status, detail = "error", str(exc).strip().splitlines()[-1][:300]
            nb = nbformat.read(nb_path, as_version=4)
        except Exception as exc:
            status, detail = "error", f"{type(exc).__name__}: {exc}"[:300]
        seconds = time.perf_counter() - t0
        if nb is not None:
            nbformat.write(nb, out_dir / nb_path.name)
            html, _ = HTMLExporter().from_notebook_node(nb)
            (out_dir / nb_path.with_suffix(".html").name).write_text(html, encoding="utf-8")
        rows.append(
            {"notebook": nb_path.name, "mode": mode, "status": status, "seconds": round(seconds, 1), "detail": detail}
        )
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=2))
    width = max(len(r["notebook"]) for r in rows)
    print(f"\n{'notebook':<{width}}  status  seconds")
    for r in rows:
        print(f"{r['notebook']:<{width}}  {r['status']:<6}  {r['seconds']:>7.1f}  {r['detail']}")
    print(f"\nexecuted notebooks and HTML in {out_dir}/ (summary.json)")
    return 0 if all(r["status"] == "ok" for r in rows) else 1
