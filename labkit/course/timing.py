"""How long a notebook takes to compute, as measured, never typed: read from ``benchmarks/results``.

``benchmarks/notebook_times.py`` runs every notebook top to bottom in full mode and writes
``benchmarks/results/notebook_times.json``; each notebook's first cell prints its own line:

    print(lk.course.compute_time("03_diffusion_policy"))
    # compute: 165 s for a full run on a 2-core laptop (no GPU; load 0.5 at the time) ...
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["RESULTS", "RESULTS_DIR", "benchmark_result", "compute_time", "notebook_times"]

RESULTS_DIR = Path(__file__).resolve().parent.parent.parent / "benchmarks" / "results"
RESULTS = RESULTS_DIR / "notebook_times.json"


def benchmark_result(name: str) -> dict[str, Any]:
    """``benchmarks/results/<name>.json`` as a dict, for a notebook to print its numbers from.

    Raises ``FileNotFoundError`` naming the benchmark to run when the file is missing.
    """
    path = RESULTS_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no {path.name} in benchmarks/results: run the benchmark that writes it first")
    return json.loads(path.read_text())


def notebook_times() -> dict[str, Any]:
    """The measured times (``{}`` if ``benchmarks/notebook_times.py`` has not been run)."""
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}


def compute_time(stem: str) -> str:
    """One line: the measured full-run time of notebook ``stem`` on the kit's 2-core reference machine."""
    data = notebook_times()
    row = data.get("notebooks", {}).get(stem)
    if not row or row.get("status") != "ok":
        return "compute: not measured yet (python benchmarks/notebook_times.py measures every notebook)"
    machine = row.get("machine") or data.get("machine", {})
    load = machine.get("load_1min")
    cpus = machine.get("cpus")
    return (
        f"compute: {row['seconds']:.0f} s for a full run on a {cpus}-core machine without GPU"
        + (f" (load {load:.1f} at the time)" if isinstance(load, (int, float)) else "")
        + "; LABKIT_SMOKE=1 runs it in seconds with tiny budgets"
    )
