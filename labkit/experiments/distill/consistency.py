"""Many steps -> one: consistency distillation of a diffusion policy, every sampler's latency and success."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset
from labkit.distill import distill_consistency
from labkit.experiments.distill.common import ENV_ID, DistillBudget, cpu_clock, elapsed
from labkit.policies.base import with_sampling
from labkit.policies.consistency import ConsistencyPolicy
from labkit.policies.diffusion import DiffusionPolicy
from labkit.rollout import evaluate, measure_latency
from labkit.store import load
from labkit.train.bc import behaviour_cloning
from labkit.train.log import TrainLog


def sampler_settings(steps: Sequence[int] = (1, 2, 5, 10)) -> list[tuple[str, str, int]]:
    """``(label, kind, K)``: DDPM-100, DDIM-K and consistency-K for each K in ``steps``."""
    rows = [("DDPM-100", "ddpm", 100)]
    rows += [(f"DDIM-{k}", "ddim", k) for k in steps]
    rows += [(f"consistency-{k}", "consistency", k) for k in steps]
    return rows


def make_cm_teacher(
    source: str, seed: int = 0, iterations: int = 6_000, progress: bool = True
) -> tuple[DiffusionPolicy, EpisodeDataset]:
    """``(teacher, demos)``: ``"shipped"``, the shipped TwoRoutes prior; ``"nb03"``, notebook 03's recipe."""
    demos = load("two_routes_demos")
    if source == "shipped":
        teacher = load("two_routes_prior")
    elif source == "nb03":
        teacher = behaviour_cloning("diffusion", demos, iterations=iterations, seed=seed, progress=progress)[0]
    else:
        raise ValueError(f"source must be 'shipped' or 'nb03'. Got {source!r}.")
    assert isinstance(teacher, DiffusionPolicy)  # both are diffusion policies
    return teacher, demos


def cpu_latency(policy: Any, obs_dim: int, *, calls: int = 50, warmup: int = 5, **kwargs: Any) -> float:
    """Median CPU time (ms, this thread) of one ``predict_action`` call at batch 1: robust to other processes' load."""
    obs = torch.zeros(1, policy.config.n_obs_steps, obs_dim)  # (1, To, obs_dim)
    gen = torch.Generator().manual_seed(0)
    times = []
    with torch.no_grad():
        for i in range(warmup + calls):
            t0 = time.thread_time_ns()
            policy.predict_action(obs, generator=gen, **kwargs)
            if i >= warmup:
                times.append(time.thread_time_ns() - t0)
    return float(np.median(times)) / 1e6


def run_consistency(
    teacher: DiffusionPolicy,
    demos: EpisodeDataset,
    b: DistillBudget,
    seed: int = 0,
    progress: bool = True,
    student: ConsistencyPolicy | None = None,
) -> dict[str, Any]:
    """Distil ``teacher`` (unless ``student`` is given), then measure every sampler setting on TwoRoutes.

    :returns: ``{"student", "rows": [{label, kind, steps, ms_per_call, ms_per_action, cpu_ms_per_action,
        success, left, right}], "log", "timing"}``; ``left``/``right`` are shares of the successful episodes.
    """
    clock = cpu_clock()
    log = TrainLog()
    if student is None:
        student, log = distill_consistency(
            teacher, demos, iterations=b.cm_iterations, lr=b.cm_lr, seed=seed, progress=progress
        )
    timing = {"distill": elapsed(clock)}
    rows, ta, obs_dim = [], teacher.config.n_action_steps, teacher.config.obs_dim
    clock = cpu_clock()
    for label, kind, k in sampler_settings(b.cm_steps):
        policy: Any = student if kind == "consistency" else teacher
        opts: dict[str, Any] = (
            {"num_inference_steps": k} if kind == "consistency" else {"sampler": kind, "num_inference_steps": k}
        )
        ms = measure_latency(policy, obs_dim, calls=b.latency_calls, **opts)
        cpu_ms = cpu_latency(policy, obs_dim, calls=b.latency_calls, **opts)
        r = evaluate(
            with_sampling(policy, **opts), ENV_ID, b.cm_eval_episodes, seed=3_000 + 1_000 * seed, progress=False
        )
        counts, n_ok = r.route_counts, max(1, int(r.successes.sum()))
        rows.append(
            {
                "label": label,
                "kind": kind,
                "steps": k,
                "ms_per_call": ms,
                "ms_per_action": ms / ta,
                "cpu_ms_per_action": cpu_ms / ta,
                "success": r.success_rate,
                "left": counts.get("left", 0) / n_ok,
                "right": counts.get("right", 0) / n_ok,
            }
        )
    timing["measure"] = elapsed(clock)
    return {"student": student, "rows": rows, "log": log, "timing": timing}


def consistency_targets(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The issue's targets from ``run_consistency`` rows: one-step against DDIM-10."""
    by = {r["label"]: r for r in rows}
    one, ddim = by["consistency-1"], by["DDIM-10"]
    return {
        "speedup_vs_ddim10": ddim["ms_per_action"] / one["ms_per_action"],
        "cpu_speedup_vs_ddim10": ddim["cpu_ms_per_action"] / one["cpu_ms_per_action"],
        "success_drop_points": 100 * (ddim["success"] - one["success"]),
        "one_step_left": one["left"],
        "one_step_right": one["right"],
    }
