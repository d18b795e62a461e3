"""The benchmark's trial: one part of notebook 11 for one seed, JSON-friendly (``labkit.sweep.run``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.experiments.distill.common import DATA_SOURCES, PARTS, budget, cpu_clock, elapsed
from labkit.experiments.distill.consistency import consistency_targets, make_cm_teacher, run_consistency
from labkit.experiments.distill.rldg import demo_generalist, rldg_summary, run_rldg
from labkit.experiments.distill.rpd import rpd_summary, run_rpd
from labkit.runtime import check_seed


def run_part(
    seed: int, part: str, budget_name: str = "quick", teacher: str = "shipped", reward: str = "sparse"
) -> dict[str, Any]:
    """One sweep trial (``labkit.sweep.run``): one part of notebook 11 for one seed; JSON-friendly metrics.

    :param part: ``"rldg"``, ``"rpd"`` (the teacher is ``run_rldg``'s scripted-demo generalist, remade
        from the same data and seed) or ``"consistency"``.
    :param budget_name: a name in ``BUDGETS``.
    :param teacher: consistency teacher: ``"shipped"`` or ``"nb03"`` (notebook 03's recipe, trained per seed).
    :param reward: the RPD student's reward, ``"sparse"`` or ``"dense"``.
    """
    seed = check_seed(seed)
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}. Got {part!r}.")
    b = budget(budget_name, rpd_reward=reward)
    clock = cpu_clock()
    out: dict[str, Any]
    if part == "rldg":
        table = rldg_summary(run_rldg(b, seed, progress=False))["table"]
        out = {
            "table_success": {s: table[s]["success"] for s in DATA_SOURCES},
            "mean_success": {s: table[s]["mean_success"] for s in [*DATA_SOURCES, "specialists"]},
            "mean_length": {s: table[s]["mean_length"] for s in [*DATA_SOURCES, "specialists"]},
            "data_steps": {s: table[s]["data_steps"] for s in DATA_SOURCES},
        }
    elif part == "rpd":
        s = rpd_summary(run_rpd(demo_generalist(b, seed), b, seed, progress=False))
        inf = float("inf")
        reach = {m: s[m]["steps_to_teacher"] for m in ("RPD student", "PPO from scratch")}
        out = {
            **s,
            "faster_than_ppo": (reach["RPD student"] if reach["RPD student"] is not None else inf)
            < (reach["PPO from scratch"] if reach["PPO from scratch"] is not None else inf),
            "ends_above_teacher": s["RPD student"]["final_success"] > s["teacher_success"],
        }
    else:
        cm_teacher, demos = make_cm_teacher(teacher, seed=seed, progress=False)
        c = run_consistency(cm_teacher, demos, b, seed, progress=False)
        out = {
            "rows": c["rows"],
            "targets": consistency_targets(c["rows"]),
            "teacher": teacher,
            "final_loss": float(np.mean(c["log"].loss[-50:])),
        }
    return {**out, "part": part, "total": elapsed(clock)}
