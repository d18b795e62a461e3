"""Part 4: success against a simulated inference delay (naive vs RTC), and ms per chunk against the 20 Hz budget."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from labkit.envs.registry import make
from labkit.experiments.safety.common import CONTROL_HZ, ENV_ID, cpu_clock, elapsed
from labkit.safety import (
    DelayConfig,
    run_delayed,
)
from labkit.store import load
from labkit.train.bc import behaviour_cloning

#: A policy with no observation history (To = 1), chunks of H = 8, Ta = 4: a delay of half a chunk
#: (d = 4) still fits in the previous chunk with execution horizon s = 4 (as in RTC's Kinetix runs).
LATENCY_POLICY: dict[str, Any] = dict(n_obs_steps=1, horizon=8, n_action_steps=4)


def train_latency_policy(iterations: int = 3_000, seed: int = 0, progress: bool = True) -> Any:
    """``lk.behaviour_cloning`` (diffusion, preset "prior": DDIM-10) on ``two_routes_demos`` with ``LATENCY_POLICY``."""
    policy, _ = behaviour_cloning(
        "diffusion",
        load("two_routes_demos"),
        iterations=iterations,
        preset="prior",
        seed=seed,
        progress=progress,
        **LATENCY_POLICY,
    )
    return policy


#: RTC settings: the vector-Jacobian pull through the denoiser, exponential soft mask (RTC's default).
RTC_SETTINGS: dict[str, Any] = dict(jacobian=True, schedule="exp", max_guidance=1.0)


def delay_sweep(
    policy: Any,
    delays=(0, 1, 2, 3, 4),
    methods=("naive", "rtc"),
    *,
    execute_horizon: int = 4,
    n_episodes: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Success (and mean |jump| at chunk switches) for every (method, delay) on TwoRoutes."""
    rows = []
    for method, d in tqdm([(m, d) for m in methods for d in delays], desc="delay sweep", disable=not progress):
        start = cpu_clock()
        cfg = DelayConfig(
            delay=d, execute_horizon=execute_horizon, method=method, **(RTC_SETTINGS if method == "rtc" else {})
        )
        res = run_delayed(policy, lambda: make(ENV_ID), n_episodes, cfg, seed=seed, generator_seed=seed)
        rows.append(
            {
                "method": method,
                "delay": d,
                "seed": seed,
                "success": res.success_rate,
                "mean_length": float(res.lengths.mean()),
                "switch_jump": float(res.switch_jumps.mean()),
                **elapsed(start),
            }
        )
    return rows


def delay_trajectories(
    policy: Any,
    delays=(0, 2, 4),
    methods=("naive", "rtc"),
    *,
    execute_horizon: int = 4,
    n_episodes: int = 30,
    seed: int = 0,
) -> dict[tuple[str, int], list[np.ndarray]]:
    """``{(method, d): trajectories}`` for the delay slider (the same env and noise seeds per method)."""
    out = {}
    for m in methods:
        for d in delays:
            cfg = DelayConfig(
                delay=d, execute_horizon=execute_horizon, method=m, **(RTC_SETTINGS if m == "rtc" else {})
            )
            out[(m, d)] = run_delayed(
                policy, lambda: make(ENV_ID), n_episodes, cfg, seed=seed, generator_seed=seed
            ).trajectories
    return out


def _chunk_ms(policy: Any, calls: int = 20, **sample_kwargs: Any) -> dict[str, float]:
    obs = torch.zeros(1, policy.config.n_obs_steps, policy.config.obs_dim)  # (1, To, D)
    gen = torch.Generator().manual_seed(0)
    wall, cpu = [], []
    with torch.no_grad():
        for i in range(calls + 3):
            w, c = time.perf_counter(), time.process_time()
            policy.predict_action(obs, generator=gen, **sample_kwargs)
            if i >= 3:
                wall.append(time.perf_counter() - w)
                cpu.append(time.process_time() - c)
    return {"ms_wall": 1000 * float(np.median(wall)), "ms_cpu": 1000 * float(np.median(cpu))}


def latency_rows(prior: Any = None, extra: dict[str, Any] | None = None, calls: int = 20) -> list[dict[str, Any]]:
    """ms per chunk at batch 1 for DDPM-100, DDIM-10, DDIM-2 and one network pass, against the 20 Hz budget.

    A consistency-distilled one-step policy (notebook 11) costs one network pass, like "DDIM-1" here;
    DDIM with few steps is the stand-in this notebook times until ``labkit.distill`` is in the kit.

    :param extra: more policies to time, ``{"consistency (1 step)": policy}`` (e.g. notebook 11's
        distilled policy, anything with ``predict_action`` and ``config``): the hook for labkit.distill.
    :returns: rows ``{policy, ms_wall, ms_cpu, ms_per_action, delay_steps}``; ``delay_steps`` =
        ceil(ms_cpu / (1000 / CONTROL_HZ)), the d an inference costs at 20 Hz on this CPU.
    """
    prior = prior if prior is not None else load("two_routes_prior")
    budget = 1000.0 / CONTROL_HZ
    timed = [
        ("DDPM-100", prior, dict(sampler="ddpm", num_inference_steps=100)),
        ("DDIM-10", prior, dict(sampler="ddim", num_inference_steps=10)),
        ("DDIM-2", prior, dict(sampler="ddim", num_inference_steps=2)),
        ("one pass (DDIM-1 timing)", prior, dict(sampler="ddim", num_inference_steps=1)),
    ]
    timed += [(name, pol, {}) for name, pol in (extra or {}).items()]
    rows = []
    for name, pol, kw in timed:
        ms = _chunk_ms(pol, calls, **kw)
        rows.append(
            {
                "policy": name,
                **ms,
                "ms_per_action": ms["ms_cpu"] / pol.config.n_action_steps,
                "delay_steps": int(math.ceil(ms["ms_cpu"] / budget)),
                "budget_ms": budget,
            }
        )
    return rows
