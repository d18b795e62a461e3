"""Shared pieces of notebook 12's runs: the task and its hazard puddles, clocks, the benchmark's results file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium.wrappers import TransformReward

from labkit.envs.registry import make
from labkit.safety import (
    Disk,
    HazardCostWrapper,
    Hazards,
)

ENV_ID = "labkit/TwoRoutes-v0"
#: Two hazard "puddles" on the inner lanes beside the cup, one per route: the shortest way round the cup
#: crosses them, the demonstrations often do (the prior hugs the cup), a wider lane stays clear.
PUDDLES = Hazards([Disk(-0.16, -0.04, 0.09), Disk(0.16, -0.04, 0.09)])
CONTROL_HZ = 20


def cpu_clock() -> dict[str, float]:
    """Wall and CPU seconds now, and the load average (the machine is shared)."""
    return {"wall": time.perf_counter(), "cpu": time.process_time(), "load": os.getloadavg()[0]}


def elapsed(start: dict[str, float]) -> dict[str, float]:
    """Wall and CPU seconds since ``start = cpu_clock()``, with the load average at start and end."""
    return {
        "wall_s": round(time.perf_counter() - start["wall"], 2),
        "cpu_s": round(time.process_time() - start["cpu"], 2),
        "load_start": round(start["load"], 2),
        "load_end": round(os.getloadavg()[0], 2),
    }


#: Where ``benchmarks/safety.py`` writes its results (a source checkout; absent in an installed package).
RESULTS_DIR = Path(__file__).resolve().parents[3] / "benchmarks" / "results"


def cached_results() -> tuple[dict[str, Any] | None, str]:
    """The benchmark's results, for the runs a notebook cannot afford: ``(data or None, file name or hint)``.

    The full run (``safety.json``) if there is one, else the ``--quick`` run (``safety_quick.json``).
    """
    for name in ("safety.json", "safety_quick.json"):
        path = RESULTS_DIR / name
        if path.is_file():
            return json.loads(path.read_text()), name
    return None, "no results yet: run python benchmarks/safety.py --quick (or without --quick)"


def _numbers(d: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """(name, value) of every number in a target, a summary (``labkit.stats.summarize``) by its mean."""
    out: list[tuple[str, float]] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += [(prefix + k, float(v["mean"]))] if "mean" in v else _numbers(v, f"{prefix}{k}.")
        elif isinstance(v, float):
            out.append((prefix + k, v))
    return out


def describe_targets(results: dict[str, Any]) -> list[str]:
    """One line per target of a benchmark results file: ``[x]`` (met) or ``[ ]``, its name and its numbers."""
    lines = []
    for name, target in results.get("targets", {}).items():
        text = target.get("summary") or ", ".join(f"{k} {v:.3f}" for k, v in _numbers(target))
        lines.append(f"[{'x' if target.get('pass') else ' '}] {name}: {text}")
    return lines


def format_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], digits: int = 3) -> str:
    """Rows of a run as an aligned plain-text table of ``columns`` (floats rounded to ``digits``)."""

    def cell(v: Any) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def make_hazard_env(env_id: str = ENV_ID, hazards: Hazards = PUDDLES, time_penalty: float = 0.0, **kwargs: Any):
    """``HazardCostWrapper(make(env_id))`` (+ a per-step time penalty on the reward, gymnasium's TransformReward)."""
    env = HazardCostWrapper(make(env_id, **kwargs), hazards)
    return TransformReward(env, lambda r: float(r) - time_penalty) if time_penalty else env


def _episode_costs(trajectories: list[np.ndarray], hazards: Hazards) -> np.ndarray:
    """Steps spent in a hazard per episode, from evaluate()'s trajectories (row 0 is the reset obs)."""
    return np.array([hazards.cost(np.asarray(tr)[1:, :2]).sum() for tr in trajectories])
