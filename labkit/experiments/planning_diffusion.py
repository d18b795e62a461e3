"""Notebook 06, diffusion half: Diffuser (inpainting, value guidance, tracked states vs own actions) on TwoRoutes.

Shared with ``benchmarks/planning.py``; the makers of ``data/planning_diffuser.pt`` (here) and of
``data/planning_decision_diffuser.pt`` (``planning_dd``). Sweep trials (``run_*``: ``seed`` + settings ->
JSON-friendly dict) feed ``labkit.sweep.run`` in the benchmark.

    model, value, meta = load_diffuser()                      # the shipped planner and its value
    planner = diffuser_planner(model, value, scale=3.0)       # obs (B, 8) -> Plan, start and goal inpainted
    rollout_plans(lambda: lk.make("labkit/TwoRoutesBlocked-v0"), planner, 30, mode="track", seed=1000)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labkit import envs
from labkit.data.shipped import data_path, entry, load_demos
from labkit.envs.registry import make
from labkit.planning import (
    Diffuser,
    DiffuserConfig,
    Plan,
    TrajectoryValue,
    ValueConfig,
    ValueGuide,
    fit,
    load_planner,
    plan_route,
    rollout_plans,
    route_shares,
    save_planner,
    trajectory_windows,
)
from labkit.runtime import check_int

__all__ = [
    "GOAL_STATE",
    "START_STATE",
    "DiffuserPreset",
    "blocked_world_rewards",
    "diffuser_planner",
    "evaluate_diffuser",
    "guidance_sweep",
    "load_diffuser",
    "make_diffuser",
    "plans_per_second",
    "run_diffuser_rollouts",
    "run_route_balance",
    "train_diffuser",
    "unguided_route_balance",
]

#: The TwoRoutes goal and start as planning states (x, y, vx, vy), at rest.
GOAL_STATE = (0.0, 0.35, 0.0, 0.0)
START_STATE = (0.0, -0.35, 0.0, 0.0)
SHIPPED_NAME = "planning_diffuser"
#: The guidance of the shipped model's benchmark rows: the scale where the plan sweep reaches >= 95% left plans.
GUIDED = {"scale": 3.0, "t_stopgrad": 2, "n_guide_steps": 2}


@dataclass
class DiffuserPreset:
    """Size and training budget of the Diffuser and its value (the shipped model uses the defaults).

    Width 512: at width 256 the same budget gave right-biased unguided plans for training seeds 0, 1 and 2
    (left 14-16%, 30-32%, 27-28% of plans; the data are 41.5% left); at 512, seed 0 keeps both routes.
    """

    horizon: int = 64
    hidden_dim: int = 512
    value_hidden_dim: int = 128
    iterations: int = 4000
    batch_size: int = 128
    lr: float = 1e-3
    value_iterations: int = 1500
    discount: float = 0.99
    lr_schedule: str = "cosine"
    num_train_timesteps: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("horizon", self.horizon, 2), check_int("hidden_dim", self.hidden_dim)
        check_int("iterations", self.iterations, 0), check_int("value_iterations", self.value_iterations, 0)


def blocked_world_rewards(ds, blocked: str = "right") -> np.ndarray:
    """Relabel demonstrations for a changed world: replay each episode's actions (same reset seed) in
    ``TwoRoutesEnv(blocked=..., reward="dense")`` and record the rewards (N,), the value's training signal.

    Left-route demos replay exactly (the world is unchanged there); right-route ones hit the barrier.
    """
    env = envs.TwoRoutesEnv(blocked=blocked, reward="dense")  # the physics loads here, not on import
    ends = np.asarray(ds.episode_ends)
    rewards = np.zeros(len(ds.rewards), np.float32)
    for e, (a, b) in enumerate(zip(np.r_[0, ends[:-1]], ends)):
        env.reset(seed=int(ds.episode_fields["reset_seed"][e]))
        for k in range(a, b):
            _, r, term, _, _ = env.step(ds.actions[k])
            rewards[k] = r
            if term:
                break
    env.close()
    return rewards


def train_diffuser(
    preset: DiffuserPreset | None = None, progress: bool = True
) -> tuple[Diffuser, TrajectoryValue, dict]:
    """Diffuser on ``two_routes_demos`` windows, and a value for the right-blocked world on the same windows.

    :return: ``(model, value, info)``; ``info`` has the preset, window count and the two ``TrainLog``s.
    """
    p = preset or DiffuserPreset()
    ds = load_demos("two_routes_demos")
    w = trajectory_windows(ds, horizon=p.horizon, rewards=blocked_world_rewards(ds), discount=p.discount)
    torch.manual_seed(p.seed)  # the initial weights
    cfg = DiffuserConfig(
        horizon=p.horizon,
        hidden_dim=p.hidden_dim,
        num_train_timesteps=p.num_train_timesteps,
        num_inference_steps=p.num_train_timesteps,
    )
    model = Diffuser(cfg)
    S, A = torch.as_tensor(w.states), torch.as_tensor(w.actions)
    model.fit_normalizer(S, A)
    x0 = model.encode(S, A)  # (N, H, 6)
    log = fit(
        model,
        model.compute_loss,
        [x0],
        p.iterations,
        batch_size=p.batch_size,
        lr=p.lr,
        seed=p.seed,
        lr_schedule=p.lr_schedule,
        progress=progress,
        desc="Diffuser",
    )
    vcfg = ValueConfig(
        horizon=p.horizon,
        transition_dim=cfg.transition_dim,
        hidden_dim=p.value_hidden_dim,
        num_train_timesteps=cfg.num_train_timesteps,
    )
    value = TrajectoryValue(vcfg)
    ret = torch.as_tensor(w.returns)
    value.fit_returns(ret)
    vlog = fit(
        value,
        value.compute_loss,
        [x0, ret],
        p.value_iterations,
        batch_size=256,
        seed=p.seed + 1,
        progress=progress,
        desc="value",
        ema_decay=None,
    )
    return model, value, {"preset": asdict(p), "windows": len(w), "log": log, "value_log": vlog}


def make_diffuser(path: Path) -> None:
    """Maker of ``data/planning_diffuser.pt``: Diffuser + blocked-world value, ``DiffuserPreset()``, one thread."""
    torch.set_num_threads(1)
    model, value, info = train_diffuser(progress=False)
    meta = {"preset": info["preset"], "windows": info["windows"], "made_with": entry(SHIPPED_NAME).command}
    save_planner(path, {"diffuser": model, "value": value}, meta)


def load_diffuser(path: str | Path | None = None) -> tuple[Diffuser, TrajectoryValue, dict]:
    """The shipped Diffuser and its value (or those saved at ``path``); a missing file names its maker."""
    models, meta = load_planner(path or data_path(SHIPPED_NAME), hint=f"remake it with: {entry(SHIPPED_NAME).command}")
    return models["diffuser"], models["value"], meta


def diffuser_planner(
    model: Diffuser,
    value: TrajectoryValue | None = None,
    *,
    scale: float = 0.0,
    t_stopgrad: int = 0,
    n_guide_steps: int = 2,
    goal=GOAL_STATE,
    seed: int = 0,
):
    """``planner(obs (B, 8)) -> Plan``: inpaint the current state and the goal, guided if ``scale > 0``."""
    g = torch.Generator().manual_seed(seed)
    guide = ValueGuide(value) if value is not None and scale > 0 else None
    goal_t = torch.as_tensor(goal, dtype=torch.float32)

    def planner(obs: np.ndarray) -> Plan:
        s0 = torch.as_tensor(np.asarray(obs, np.float32)[:, :4])  # (B, 4)
        return model.sample(
            len(s0),
            {0: s0, -1: goal_t},
            guide=guide,
            scale=scale,
            t_stopgrad=t_stopgrad,
            n_guide_steps=n_guide_steps,
            generator=g,
        )

    return planner


def evaluate_diffuser(
    model: Diffuser,
    value: TrajectoryValue | None,
    *,
    env_ids=("labkit/TwoRoutes-v0", "labkit/TwoRoutesBlocked-v0"),
    modes=("track", "actions"),
    scales=(0.0, 1.0),
    t_stopgrad: int = 2,
    n_episodes: int = 50,
    seed: int = 1000,
) -> dict[str, dict]:
    """Success and route shares for every (env, guidance scale, execution mode); one plan per episode.

    Keys ``"<env>|scale=<s>|<mode>"``; each value is ``PlanRollouts.summary()`` plus the planned routes.
    """
    out = {}
    for env_id in env_ids:
        for scale in scales:
            for mode in modes:
                planner = diffuser_planner(model, value, scale=scale, t_stopgrad=t_stopgrad, seed=seed)
                r = rollout_plans(partial(make, env_id), planner, n_episodes, mode=mode, seed=seed)
                out[f"{env_id.split('/')[1]}|scale={scale:g}|{mode}"] = {
                    **r.summary(),
                    "plan_route_share": route_shares(np.stack(r.plans)),
                }
    return out


def unguided_route_balance(model: Diffuser, n_plans: int = 200, seed: int = 0) -> dict[str, float]:
    """Route shares of ``n_plans`` unguided plans from the start (sampling seed ``seed``)."""
    start, goal = torch.as_tensor(START_STATE), torch.as_tensor(GOAL_STATE)
    p = model.sample(n_plans, {0: start, -1: goal}, generator=torch.Generator().manual_seed(seed))
    return route_shares(p.states.numpy())


def guidance_sweep(
    model: Diffuser,
    value: TrajectoryValue,
    scales=(0.0, 0.3, 1.0, 3.0, 10.0),
    t_stopgrads=(0, 2, 5, 10),
    n_plans: int = 64,
    seed: int = 0,
) -> dict[tuple[float, int], dict]:
    """Plans from the start for every (scale, t_stopgrad): ``{(scale, t): {"plans", "routes", "value"}}``."""
    out = {}
    guide = ValueGuide(value)
    start, goal = torch.as_tensor(START_STATE), torch.as_tensor(GOAL_STATE)
    for t_stop in t_stopgrads:
        for scale in scales:
            plan = model.sample(
                n_plans,
                {0: start, -1: goal},
                guide=guide,
                scale=scale,
                t_stopgrad=t_stop,
                n_guide_steps=2,
                generator=torch.Generator().manual_seed(seed),
            )
            states = plan.states.numpy()
            with torch.no_grad():
                ret = value.predict_return(model.encode(plan.states, plan.actions))
            out[(scale, t_stop)] = {"plans": states, "routes": route_shares(states), "value": float(ret.mean())}
    return out


def plans_per_second(
    model: Diffuser, batch_sizes=(1, 64), repeats: int = 5, value: TrajectoryValue | None = None
) -> dict:
    """Plans per second (wall and CPU) of one ``sample`` call at each batch size (guided if ``value``)."""
    out = {}
    start, goal = torch.as_tensor(START_STATE), torch.as_tensor(GOAL_STATE)
    guide = ValueGuide(value) if value is not None else None
    kw = dict(guide=guide, scale=1.0 if guide else 0.0)
    for B in batch_sizes:
        model.sample(B, {0: start, -1: goal}, **kw)  # type: ignore[arg-type]  # warm-up
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            model.sample(B, {0: start, -1: goal}, **kw)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out[B] = {
            "plans_per_s": B * repeats / wall,
            "plans_per_cpu_s": B * repeats / max(cpu, 1e-9),
            "ms_per_call": 1000 * wall / repeats,
        }
    return out


# --- sweep trials (labkit.sweep.run) ------------------------------------------------------------------
def run_route_balance(
    seed: int, train_iterations: int = 0, n_plans: int = 200, hidden_dim: int = 512
) -> dict[str, Any]:
    """Left / right share of unguided plans. ``train_iterations=0``: the shipped model, ``seed`` = sampling seed;
    otherwise a model trained with training seed ``seed`` (sampling seed 0): balance across training runs."""
    if train_iterations:
        preset = DiffuserPreset(iterations=train_iterations, value_iterations=0, hidden_dim=hidden_dim, seed=seed)
        model, _, info = train_diffuser(preset, progress=False)
        shares, extra = unguided_route_balance(model, n_plans, 0), {"train_seconds": info["log"].seconds}
    else:
        shares, extra = unguided_route_balance(load_diffuser()[0], n_plans, seed), {}
    return {
        **{f"{k}_share": v for k, v in shares.items()},
        "min_route_share": min(shares["left"], shares["right"]),
        **extra,
    }


def run_diffuser_rollouts(
    seed: int, env: str = "TwoRoutes-v0", mode: str = "track", scale: float = 0.0, n_episodes: int = 30
) -> dict[str, Any]:
    """One cell of the tracked-vs-own-actions table with the shipped model: episodes from ``1000 + 100 * seed``."""
    model, value, _ = load_diffuser()
    planner = diffuser_planner(model, value, scale=scale, t_stopgrad=int(GUIDED["t_stopgrad"]), seed=seed)
    r = rollout_plans(lambda: make(f"labkit/{env}"), planner, n_episodes, mode=mode, seed=1000 + 100 * seed)
    left = [plan_route(p) == "left" for p in r.plans]
    return {"success": r.result.success_rate, "left_plan_share": float(np.mean(left)), "cpu_seconds": r.cpu_seconds}
