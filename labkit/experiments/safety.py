"""Notebook 12's ready-made runs (policy safety and open challenges), shared with ``benchmarks/safety.py``.

The notebook and the benchmark call the same functions, so a number in one is a number in the other.
Four parts, each small enough for a 2-core laptop:

1. ``compare_constraints``: the shipped TwoRoutes prior sampled with each constraint method
   around two hazard puddles (``PUDDLES``); violation rate, success, ms per chunk.
2. ``train_safe_rl``: PPO / PPO-Lagrangian (stock SB3 + ``LagrangianCallback``), from scratch or as
   residual RL on the prior; ``frontier`` over cost limits; ``elicit_starts`` for unsafe starts.
3. ``finetune_and_track``: a BC-pre-trained PPO policy fine-tuned on TwoRoutesBlocked, its success on
   the right-lane states it never revisits, with no term, a BC term or a kickstarting term.
4. ``delay_sweep`` / ``latency_rows``: success against inference delay (naive vs RTC), and the
   measured ms per chunk of DDPM / DDIM samplers against the 20 Hz budget.

The sweep-ready trials ``run_constraints``, ``run_saferl``, ``run_forgetting`` and ``run_latency``
(``fn(seed, **settings) -> dict``, JSON-friendly) are what the benchmark runs through ``labkit.sweep``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers import TimeLimit, TransformReward
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from tqdm.auto import tqdm

from labkit.envs.registry import make
from labkit.envs.two_routes import TwoRoutesEnv
from labkit.finetune.residual import ResidualVecEnv
from labkit.rollout import evaluate
from labkit.runtime import check_int, check_seed
from labkit.safety import (
    METHODS,
    ConstrainedPolicy,
    ConstraintConfig,
    DelayConfig,
    Disk,
    ElicitConfig,
    HazardCostWrapper,
    Hazards,
    LagrangeConfig,
    LagrangianCallback,
    RegularisedPPO,
    elicit_unsafe_starts,
    pretrain_bc,
    run_delayed,
    sample_constrained,
)
from labkit.sb3 import TrainingMonitor, learn
from labkit.store import load
from labkit.train.bc import behaviour_cloning

__all__ = [
    "CONSTRAINT_PRESETS",
    "CONTROL_HZ",
    "COST_LIMIT",
    "ENV_ID",
    "LATENCY_POLICY",
    "PRIOR_PRESET",
    "PUDDLES",
    "RTC_SETTINGS",
    "SCRATCH_PRESET",
    "ElicitConfig",
    "ForgettingPreset",
    "SafeRLPreset",
    "compare_constraints",
    "cached_results",
    "cpu_clock",
    "delay_sweep",
    "delay_trajectories",
    "describe_targets",
    "distortion",
    "elapsed",
    "elicit_starts",
    "finetune_and_track",
    "format_rows",
    "forgetting_tasks",
    "frontier",
    "latency_rows",
    "make_hazard_env",
    "pretrain_policy",
    "run_constraints",
    "run_forgetting",
    "run_latency",
    "run_saferl",
    "sample_ms",
    "start_rollout",
    "train_latency_policy",
    "train_safe_rl",
]

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
RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


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


# ============================================================================ 1. constrained sampling
#: Settings per method (chosen in the prototype on seed 0, 100 episodes).
CONSTRAINT_PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    "project_every": {},
    "project_final": {},
    "guidance": {"guidance_scale": 30.0},
}


def sample_ms(policy: Any, method: str, hazards: Hazards = PUDDLES, calls: int = 30, **over: Any) -> dict[str, float]:
    """Median wall and CPU milliseconds of one constrained chunk at batch 1 (near the hazard)."""
    env = TwoRoutesEnv()
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
    env = TwoRoutesEnv()
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


# ============================================================================ 2. safe RL on a prior
#: Reward minus this per step (0: the task's own reward). A penalty makes the shortcut through the
#: puddles pay and sharpens the return/cost trade-off, but (measured in the prototype) made the residual
#: Lagrangian runs miss their limit within the notebook's budget; the task's progress reward already
#: pays a little for the shorter way (fewer steps, earlier success bonus under discounting).
TIME_PENALTY = 0.0


@dataclass
class SafeRLPreset:
    """Budget and settings of one PPO / PPO-Lagrangian run (chosen by a small search in the prototype)."""

    prior: bool = True
    """True: residual PPO on the shipped diffusion prior (``ResidualVecEnv``); False: PPO from scratch."""
    steps: int = 40_000
    """Environment steps."""
    n_envs: int = 8
    n_steps: int = 128
    batch_size: int = 256
    learning_rate: float = 3e-4
    log_std_init: float = -1.5
    residual_scale: float = 1.0
    """Executed action = clip(prior + scale * residual): 1.0 lets the residual overrule the prior where it must."""
    lambda_lr: float = 0.2
    """Ascent step on lambda per rollout (from scratch a smaller one lets the agent find the goal first)."""
    time_penalty: float = TIME_PENALTY
    cost: str = "entry"
    """``HazardCostWrapper`` cost: "entry" (1 per entry: J_c is about the share of episodes that enter) or
    "inside" (1 per step in a hazard; measured, its heavy tail of episodes stuck in a puddle made the
    final cost too noisy to meet a limit reliably within the budget, measured in the prototype)."""
    eval_episodes: int = 100
    """Episodes of the final (stochastic, as trained) policy that measure its cost and success."""

    def __post_init__(self) -> None:
        if self.steps < 1 or self.n_envs < 1 or self.n_steps < 1 or self.residual_scale <= 0:
            raise ValueError(f"steps, n_envs, n_steps must be >= 1 and residual_scale > 0. Got {self}.")


PRIOR_PRESET = SafeRLPreset()
#: The limit d of the notebook's runs and the benchmark's target: at most 0.1 hazard entries per episode.
COST_LIMIT = 0.1
SCRATCH_PRESET = SafeRLPreset(prior=False, steps=120_000, n_steps=256, batch_size=256, lambda_lr=0.01, log_std_init=0.0)


class _StartPool(gym.Wrapper):
    """At each reset, with probability ``share`` start from a random position of ``pool`` (N, 2), else as usual."""

    def __init__(self, env: gym.Env, pool: np.ndarray, share: float, seed: int) -> None:
        super().__init__(env)
        self.pool, self.share, self.rng = np.asarray(pool, float), float(share), np.random.default_rng(seed)
        base: Any = env.unwrapped  # a TwoRoutesEnv: its start and start noise are plain attributes
        self.default = (base.start.copy(), base.start_noise.copy())

    def reset(self, **kwargs):
        base = self.env.unwrapped
        if len(self.pool) and self.rng.random() < self.share:
            base.start, base.start_noise = self.pool[self.rng.integers(len(self.pool))].copy(), np.zeros(2)
        else:
            base.start, base.start_noise = self.default[0].copy(), self.default[1].copy()
        return self.env.reset(**kwargs)


def _hazard_venv(
    n_envs: int,
    seed: int,
    time_penalty: float,
    starts: np.ndarray | None = None,
    start_pool: np.ndarray | None = None,
    pool_share: float = 0.5,
    cost: str = "inside",
) -> DummyVecEnv:
    """n_envs x Monitor(TimeLimit(hazard TwoRoutes)); ``starts`` (n_envs, 2) fixes each env's start position;
    ``start_pool`` (N, 2) mixes elicited starts into the start distribution (SafeVLA's elicit -> constrain)."""

    def factory(i: int):
        def make_one():
            kw = {} if starts is None else {"start": tuple(starts[i]), "start_noise": (0.0, 0.0)}
            env = TwoRoutesEnv(**kw)
            if start_pool is not None:
                env = _StartPool(env, start_pool, pool_share, seed + i)
            env = TimeLimit(env, 100)
            env = HazardCostWrapper(env, PUDDLES, cost=cost)
            return Monitor(TransformReward(env, lambda r: r - time_penalty) if time_penalty else env)

        return make_one

    venv = DummyVecEnv([factory(i) for i in range(n_envs)])
    venv.seed(seed)
    return venv


def _agent_venv(preset: SafeRLPreset, seed: int, prior: Any, starts: np.ndarray | None = None, **pool: Any) -> VecEnv:
    venv: VecEnv = _hazard_venv(
        preset.n_envs if starts is None else len(starts), seed, preset.time_penalty, starts, cost=preset.cost, **pool
    )
    if preset.prior:
        venv = ResidualVecEnv(venv, prior, scale=preset.residual_scale, seed=seed)
    return venv


def train_safe_rl(
    cost_limit: float | None,
    preset: SafeRLPreset = PRIOR_PRESET,
    *,
    seed: int = 0,
    prior: Any = None,
    start_pool: np.ndarray | None = None,
    pool_share: float = 0.5,
    progress: bool = True,
) -> dict[str, Any]:
    """Train PPO (``cost_limit=None``) or PPO-Lagrangian with limit ``d = cost_limit``; return its record.

    :param start_pool: (N, 2) start positions (e.g. elicited unsafe ones) used in a share ``pool_share``
        of the training episodes; the final evaluation uses the task's own start.

    :returns: ``{"model", "history" (per rollout: steps, lambda, episode_cost, episode_return, success),
        "final", "time"}``. ``final``: ``cost``, ``success``, ``violation_rate`` of ``eval_episodes`` fresh
        episodes of the trained (stochastic) policy; ``train_cost``, ``train_return``, ``train_success``
        over the last 10% of training rollouts; ``return`` = ``train_return``; the last ``lambda``.
    """
    if preset.prior and prior is None:
        prior = load("two_routes_prior")
    start = cpu_clock()
    pool: dict[str, Any] = {} if start_pool is None else {"start_pool": start_pool, "pool_share": pool_share}
    venv = _agent_venv(preset, seed, prior, **pool)
    lag = LagrangeConfig(
        cost_limit=cost_limit if cost_limit is not None else 0.0,
        lambda_lr=preset.lambda_lr if cost_limit is not None else 0.0,
    )
    callback = LagrangianCallback(lag)
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=preset.n_steps,
        batch_size=preset.batch_size,
        learning_rate=preset.learning_rate,
        policy_kwargs={"log_std_init": preset.log_std_init},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    learn(model, preset.steps, CallbackList([callback, TrainingMonitor(eval_env=None, progress=progress)]))
    h = callback.history
    k = max(1, len(h["steps"]) // 10)
    final = {
        f"train_{name}": float(np.mean(h[key][-k:])) if h[key] else float("nan")
        for name, key in [("cost", "episode_cost"), ("return", "episode_return"), ("success", "success")]
    }
    costs, succ = start_rollout(
        model, preset, preset.eval_episodes, prior=prior, seed=10_000 + seed, deterministic=False
    )
    final.update(
        cost=float(costs.mean()),
        success=float(succ.mean()),
        violation_rate=float(np.mean(costs > 0)),
        **{"lambda": h["lambda"][-1] if h["lambda"] else float("nan"), "return": final["train_return"]},
    )
    return {
        "model": model,
        "history": h,
        "final": final,
        "cost_limit": cost_limit,
        "seed": seed,
        "prior": preset.prior,
        "time": elapsed(start),
    }


def frontier(
    cost_limits=(0.05, 0.1, 0.2, 0.4, None), seeds=(0, 1, 2), preset: SafeRLPreset = PRIOR_PRESET, progress: bool = True
) -> list[dict[str, Any]]:
    """One run per (cost limit, seed): the cached points of the notebook's cost-limit slider (None = unconstrained)."""
    prior = load("two_routes_prior") if preset.prior else None
    rows = []
    for d in tqdm([(d, s) for d in cost_limits for s in seeds], desc="frontier", disable=not progress):
        run = train_safe_rl(d[0], preset, seed=d[1], prior=prior, progress=False)
        rows.append({"cost_limit": d[0], "seed": d[1], **run["final"], "label": f"d={d[0]} seed {d[1]}", **run["time"]})
    return rows


def start_rollout(
    model: Any,
    preset: SafeRLPreset,
    starts: np.ndarray | int,
    *,
    prior: Any = None,
    seed: int = 0,
    deterministic: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """One episode of ``model`` per env, all in lockstep: (episode costs (N,), successes (N,)).

    :param starts: (N, 2) start positions, or an int N for N episodes from the task's own start distribution.
    """
    if preset.prior and prior is None:
        prior = load("two_routes_prior")
    fixed = None if isinstance(starts, (int, np.integer)) else np.asarray(starts, float)  # (N, 2) or None
    n = int(starts) if fixed is None else len(fixed)
    venv = _agent_venv(replace(preset, n_envs=n), seed, prior, starts=fixed)
    obs = venv.reset()
    costs, succ, done = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    while not done.all():
        obs, _, dones, infos = venv.step(model.predict(obs, deterministic=deterministic)[0])
        for i in np.flatnonzero(~done):
            costs[i] += infos[i].get("cost", 0.0)
            if dones[i]:
                done[i], succ[i] = True, bool(infos[i].get("is_success", False))
    venv.close()
    return costs, succ


def elicit_starts(
    model: Any,
    preset: SafeRLPreset = PRIOR_PRESET,
    *,
    prior: Any = None,
    config: ElicitConfig | None = None,
    seed: int = 0,
):
    """Search start positions from which ``model`` (trained with ``preset``) enters a hazard (one episode each)."""
    if preset.prior and prior is None:
        prior = load("two_routes_prior")
    return elicit_unsafe_starts(
        lambda starts: start_rollout(model, preset, starts, prior=prior, seed=seed), config or ElicitConfig(seed=seed)
    )


# ============================================================================ 3. forgetting
@dataclass
class ForgettingPreset:
    """BC pre-training on ``two_routes_demos``, PPO fine-tuning on TwoRoutesBlocked (dense reward)."""

    y_min: float = -1.0
    """Pre-training keeps the demonstration states with y >= y_min (-1: all of them). With -0.15 the policy
    learns only the second half (beside and above the cup); measured, it then forgets nothing within
    the budget (measured in the prototype)."""
    pretrain_epochs: int = 60
    steps: int = 60_000
    eval_every: int = 10_000
    eval_episodes: int = 30
    n_envs: int = 8
    n_steps: int = 256
    batch_size: int = 256
    learning_rate: float = 3e-4
    log_std_init: float = -1.0
    reg_coef: float = 0.02
    """Weight of the BC / kickstarting KL term."""
    far_start: tuple[float, float] = (0.28, 0.02)
    """The old task: finish from the right lane, above where the barrier would be (never visited in fine-tuning)."""
    far_noise: tuple[float, float] = (0.04, 0.03)


def _tr_env(**kw):
    return lambda: TimeLimit(TwoRoutesEnv(**kw), 100)


def forgetting_tasks(p: ForgettingPreset) -> dict[str, Callable]:
    """Env factories: ``old`` = open TwoRoutes from the right lane (FAR), ``new`` = TwoRoutesBlocked from the start."""
    return {"old": _tr_env(start=p.far_start, start_noise=p.far_noise), "new": _tr_env(blocked="right")}


def pretraining_data(p: ForgettingPreset) -> tuple[np.ndarray, np.ndarray]:
    """(obs (N, 8), actions (N, 2)) of ``two_routes_demos`` with y >= ``p.y_min``."""
    demos = load("two_routes_demos")
    obs, act = np.asarray(demos.observations, np.float32), np.asarray(demos.actions, np.float32)
    keep = obs[:, 1] >= p.y_min
    return obs[keep], act[keep]


def _finetune_model(p: ForgettingPreset, reg: str | None, seed: int, demo_obs: np.ndarray) -> RegularisedPPO:
    venv = DummyVecEnv([lambda: Monitor(_tr_env(blocked="right")()) for _ in range(p.n_envs)])
    venv.seed(seed)
    return RegularisedPPO(
        "MlpPolicy",
        venv,
        reg=reg,
        reg_coef=p.reg_coef,
        demo_obs=demo_obs,
        n_steps=p.n_steps,
        batch_size=p.batch_size,
        learning_rate=p.learning_rate,
        seed=seed,
        device="cpu",
        policy_kwargs={"log_std_init": p.log_std_init},
    )


def pretrain_policy(p: ForgettingPreset, seed: int = 0, progress: bool = True) -> dict[str, torch.Tensor]:
    """BC pre-training (``pretrain_bc``) of an SB3 PPO policy; returns its state dict."""
    obs, act = pretraining_data(p)
    torch.manual_seed(seed)
    model = _finetune_model(p, None, seed, obs)
    pretrain_bc(model, obs, act, epochs=p.pretrain_epochs, seed=seed, progress=progress)
    return {k: v.clone() for k, v in model.policy.state_dict().items()}


def _success(model: Any, env_fn: Callable, n: int, seed: int) -> float:
    return evaluate(model, env_fn, n, seed=seed, deterministic=True, progress=False, batch_size=n).success_rate


def finetune_and_track(
    reg: str | None,
    p: ForgettingPreset | None = None,
    *,
    seed: int = 0,
    pretrained: dict[str, torch.Tensor] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune the pre-trained policy on the new task; track success on both tasks every ``eval_every`` steps.

    :param reg: None (plain PPO), "bc" or "ks" (see ``safety.forgetting``).
    :returns: ``{"steps", "old", "new"}`` curves (index 0 = before fine-tuning), ``"time"``.
    """
    p = p or ForgettingPreset()
    start = cpu_clock()
    obs, _ = pretraining_data(p)
    pretrained = pretrained if pretrained is not None else pretrain_policy(p, seed, progress)
    model = _finetune_model(p, reg, seed, obs)
    model.policy.load_state_dict(pretrained)
    model.set_teacher()
    tasks = forgetting_tasks(p)
    curve: dict[str, list[float]] = {
        "steps": [0],
        "old": [_success(model, tasks["old"], p.eval_episodes, 10_000)],
        "new": [_success(model, tasks["new"], p.eval_episodes, 10_000)],
    }
    bar = tqdm(total=p.steps, desc=f"fine-tune ({reg or 'plain'})", disable=not progress)
    while model.num_timesteps < p.steps:
        before = model.num_timesteps
        learn(model, min(p.eval_every, p.steps - model.num_timesteps), reset_num_timesteps=False)
        if model.num_timesteps == before:  # interrupted
            break
        bar.update(model.num_timesteps - before)
        curve["steps"].append(int(model.num_timesteps))
        curve["old"].append(_success(model, tasks["old"], p.eval_episodes, 10_000))
        curve["new"].append(_success(model, tasks["new"], p.eval_episodes, 10_000))
        bar.set_postfix(old=f"{curve['old'][-1]:.2f}", new=f"{curve['new'][-1]:.2f}")
    bar.close()
    return {**curve, "reg": reg or "plain", "seed": seed, "model": model, "time": elapsed(start)}


# ============================================================================ 4. latency
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


# ============================================================================ sweep-ready trials
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
