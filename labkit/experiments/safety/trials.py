"""Sweep-ready trials (``fn(seed, **settings) -> dict``, JSON-friendly): what ``benchmarks/safety.py`` runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from labkit.experiments.safety.common import cpu_clock, elapsed
from labkit.experiments.safety.constraints import compare_constraints
from labkit.experiments.safety.forgetting import ForgettingPreset, finetune_and_track
from labkit.experiments.safety.latency import delay_sweep, train_latency_policy
from labkit.experiments.safety.saferl import COST_LIMIT, PRIOR_PRESET, SCRATCH_PRESET, train_safe_rl
from labkit.runtime import check_int, check_seed

# One (part, seed) each, JSON-friendly: ``labkit.sweep.run(run_saferl, grid(cost_limit=[0.1, None]), seeds=3)``.
# ``benchmarks/safety.py`` runs them; the notebook reads its results file for the runs it cannot afford.


def run_constraints(seed: int, n_episodes: int = 200, timing_calls: int = 10) -> dict[str, Any]:
    """Part 1 for one seed: ``{method: {success, violation_rate, mean_cost, mean_length, distortion, ms_cpu, ...}}``."""
    res = compare_constraints(
        n_episodes=check_int("n_episodes", n_episodes), seed=check_seed(seed), timing_calls=timing_calls, progress=False
    )
    methods = {r["method"]: {k: v for k, v in r.items() if k not in ("method", "seed")} for r in res["rows"]}
    return {"methods": methods, "time": res["time"]}


def run_saferl(
    seed: int, cost_limit: float | None = COST_LIMIT, steps: int = PRIOR_PRESET.steps, prior: bool = True
) -> dict[str, Any]:
    """Part 2 for one seed: PPO-Lagrangian with limit ``cost_limit`` (None: unconstrained PPO), on the prior or not.

    :returns: the run's ``final`` numbers (``cost``, ``success``, ``violation_rate``, ``lambda``, ``return`` ...),
        ``cost_limit``, ``prior``, the per-rollout ``history`` (steps, episode_cost, lambda, success), ``time``.
    """
    preset = replace(PRIOR_PRESET if prior else SCRATCH_PRESET, steps=check_int("steps", steps))
    run = train_safe_rl(cost_limit, preset, seed=check_seed(seed), progress=False)
    h = run["history"]
    return {
        **run["final"],
        "cost_limit": cost_limit,
        "prior": prior,
        "history": {k: h[k] for k in ("steps", "episode_cost", "lambda", "success")},
        "time": run["time"],
    }


def run_forgetting(
    seed: int,
    reg: str | None = None,
    steps: int = 60_000,
    eval_every: int = 10_000,
    pretrain_epochs: int = 60,
    eval_episodes: int = 30,
) -> dict[str, Any]:
    """Part 3 for one seed: BC pre-training (deterministic per seed), then fine-tuning with term ``reg``.

    :returns: ``steps``, ``old``, ``new`` curves (index 0: before fine-tuning), ``old_before``,
        ``old_after``, ``new_after``, ``kept_share`` (old task after / before), ``reg``, ``time``.
    """
    p = replace(
        ForgettingPreset(),
        steps=check_int("steps", steps),
        eval_every=check_int("eval_every", eval_every),
        pretrain_epochs=check_int("pretrain_epochs", pretrain_epochs),
        eval_episodes=check_int("eval_episodes", eval_episodes),
    )
    run = finetune_and_track(reg, p, seed=check_seed(seed), progress=False)
    return {
        "reg": run["reg"],
        "steps": run["steps"],
        "old": run["old"],
        "new": run["new"],
        "old_before": run["old"][0],
        "old_after": run["old"][-1],
        "new_after": run["new"][-1],
        "kept_share": run["old"][-1] / max(run["old"][0], 1e-9),
        "time": run["time"],
    }


def run_latency(
    seed: int, iterations: int = 3_000, delays: Sequence[int] = (0, 1, 2, 3, 4), n_episodes: int = 200
) -> dict[str, Any]:
    """Part 4 for one seed: train the ``LATENCY_POLICY`` (BC), then success per (method, delay).

    :returns: ``rows`` (one per method and delay: success, mean_length, switch_jump, time),
        ``success`` (``{"naive@4": ..., "rtc@4": ...}``), ``train_time``.
    """
    start = cpu_clock()
    policy = train_latency_policy(iterations=check_int("iterations", iterations), seed=check_seed(seed), progress=False)
    train_time = elapsed(start)
    rows = delay_sweep(policy, tuple(delays), seed=seed, n_episodes=check_int("n_episodes", n_episodes), progress=False)
    return {
        "rows": rows,
        "success": {f"{r['method']}@{r['delay']}": r["success"] for r in rows},
        "train_time": train_time,
    }
