"""Part 1: constraint-aware sampling of the shipped TwoRoutes prior around the puddles, one row per method."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from labkit import envs  # envs.TwoRoutesEnv: the physics loads on first use, not on import
from labkit.experiments.safety.common import PUDDLES, _episode_costs, cpu_clock, elapsed, make_hazard_env
from labkit.rollout import evaluate
from labkit.safety import (
    METHODS,
    ConstrainedPolicy,
    ConstraintConfig,
    Hazards,
    sample_constrained,
)
from labkit.store import load

#: Settings per method (chosen in the prototype on seed 0, 100 episodes).
CONSTRAINT_PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    "project_every": {},
    "project_final": {},
    "guidance": {"guidance_scale": 30.0},
}


def sample_ms(policy: Any, method: str, hazards: Hazards = PUDDLES, calls: int = 30, **over: Any) -> dict[str, float]:
    """Median wall and CPU milliseconds of one constrained chunk at batch 1 (near the hazard)."""
    env = envs.TwoRoutesEnv()
    env.reset(seed=0)
    o = env.observation_at((0.2, -0.2), (0.0, 0.3))
    obs = torch.as_tensor(np.repeat(o[None, None], policy.config.n_obs_steps, axis=1))  # (1, To, D)
    cfg = ConstraintConfig(method=method, **{**CONSTRAINT_PRESETS.get(method, {}), **over})
    gen = torch.Generator().manual_seed(0)
    wall, cpu = [], []
    for i in range(calls + 3):
        w, c = time.perf_counter(), time.process_time()
        sample_constrained(policy, obs, hazards, cfg, generator=gen)
        if i >= 3:
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
    return {"ms_wall": 1000 * float(np.median(wall)), "ms_cpu": 1000 * float(np.median(cpu))}


def probe_states(n: int = 64, seed: int = 0) -> torch.Tensor:
    """(n, To = 2, 8) observation histories just below the puddles, moving up: where the constraint bites."""
    rng = np.random.default_rng(seed)
    env = envs.TwoRoutesEnv()
    env.reset(seed=seed)
    obs = [
        env.observation_at((s * rng.uniform(0.12, 0.3), rng.uniform(-0.26, -0.12)), (0.0, 0.25))
        for s in rng.choice([-1.0, 1.0], size=n)
    ]
    return torch.as_tensor(np.repeat(np.stack(obs)[:, None], 2, axis=1))  # (n, 8) -> (n, 2, 8)


def distortion(policy: Any, method: str, hazards: Hazards = PUDDLES, n: int = 64, **over: Any) -> float:
    """Mean distance (action units, per future action) between a method's chunk and the unconstrained chunk
    sampled from the *same* initial noise, at ``probe_states``: how much a method changes the sample."""
    obs = probe_states(n)
    now = policy.config.n_obs_steps - 1
    cfg = lambda m: ConstraintConfig(method=m, **{**CONSTRAINT_PRESETS.get(m, {}), **over})  # noqa: E731
    free = sample_constrained(policy, obs, hazards, cfg("none"), generator=torch.Generator().manual_seed(1))
    other = sample_constrained(policy, obs, hazards, cfg(method), generator=torch.Generator().manual_seed(1))
    return float((other - free)[:, now:].norm(dim=-1).mean())


def compare_constraints(
    prior: Any = None,
    *,
    hazards: Hazards = PUDDLES,
    methods=METHODS,
    n_episodes: int = 100,
    seed: int = 0,
    presets: dict[str, dict] | None = None,
    timing_calls: int = 30,
    progress: bool = True,
) -> dict[str, Any]:
    """Roll the prior out on TwoRoutes with every constraint method; one row per method.

    :returns: ``{"rows": [{method, success, violation_rate, mean_cost, mean_length, distortion, ms_wall, ms_cpu}],
        "trajectories": {method: [(T + 1, 8) ...]}, "time": {...}}``.
    """
    prior = prior if prior is not None else load("two_routes_prior")
    presets = {**CONSTRAINT_PRESETS, **(presets or {})}
    start, rows, trajs = cpu_clock(), [], {}
    for method in tqdm(list(methods), desc="constraint methods", disable=not progress):
        policy = ConstrainedPolicy(prior, hazards, ConstraintConfig(method=method, **presets.get(method, {})))
        res = evaluate(
            policy, lambda: make_hazard_env(hazards=hazards), n_episodes, seed=seed, generator_seed=seed, progress=False
        )
        costs = _episode_costs(res.trajectories, hazards)
        rows.append(
            {
                "method": method,
                "seed": seed,
                "success": res.success_rate,
                "violation_rate": float(np.mean(costs > 0)),
                "mean_cost": float(costs.mean()),
                "mean_length": float(res.lengths.mean()),
                "distortion": distortion(prior, method, hazards, **presets.get(method, {})),
                **sample_ms(prior, method, hazards, calls=timing_calls, **presets.get(method, {})),
            }
        )
        trajs[method] = res.trajectories
    return {"rows": rows, "trajectories": trajs, "time": elapsed(start)}
