"""Shared bits of the benchmark scripts: result files and a plain-text table."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from labkit.io import atomic_write

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import torch

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "load_1min": load,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def write_results(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` atomically and return its path."""
    text = json.dumps({"machine": machine(), **payload}, indent=2, default=float)
    return atomic_write(RESULTS / f"{name}.json", lambda f: f.write(text.encode()))


def table(rows: list[dict], columns: list[str]) -> str:
    """A GitHub-markdown table of ``rows`` restricted to ``columns``."""

    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)
