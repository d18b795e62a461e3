"""Notebook 11's shared pieces: the TwoRoutes variants, their condition and envs, the budgets, PPO settings."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from labkit.distill import ConditionObservation, one_hot
from labkit.envs.registry import make
from labkit.sb3 import TrainingMonitor, learn
from labkit.train.log import TrainLog

ENV_ID = "labkit/TwoRoutes-v0"
#: The task variants: TwoRoutesEnv keyword arguments. "left"/"right": the other route is closed by a
#: barrier the observation does not show (only the condition tells them apart).
VARIANTS: dict[str, dict[str, Any]] = {
    "left": {"blocked": "right"},
    "right": {"blocked": "left"},
    "shifted": {"obstacle": (0.12, 0.0)},
    "goal_left": {"goal": (-0.2, 0.35)},
    "goal_right": {"goal": (0.2, 0.35)},
}
#: The route the scripted demonstrator takes on each variant ("random": a fair coin per episode).
SCRIPTED_ROUTE = {"left": "left", "right": "right"}
#: PPO settings of every specialist, of the RPD student and of PPO from scratch (notebook 01's).
PPO_KWARGS: dict[str, Any] = dict(n_steps=256, batch_size=256, n_epochs=5, learning_rate=1e-3, gamma=0.98)
#: The generalist: a diffusion policy on [obs, one-hot variant], one observation, chunks of 8, 4 executed.
GENERALIST: dict[str, Any] = dict(n_obs_steps=1, horizon=8, n_action_steps=4, mlp_hidden_dim=128)
DATA_SOURCES = ("RL specialists", "scripted demos", "RL states + scripted actions", "scripted states + RL actions")
PARTS = ("rldg", "rpd", "consistency")


@dataclass
class DistillBudget:
    """Budgets of the three runs; validated on construction."""

    specialist_steps: int = 20_000
    """PPO env steps per specialist."""
    episodes_per_variant: int = 20
    """Episodes recorded per variant and data source."""
    demo_noise: float = 0.3
    """Action noise of the scripted demonstrator (the stand-in for a human teleoperator)."""
    generalist_iterations: int = 1_000
    """Optimiser steps of each generalist (the same for every data source)."""
    eval_episodes: int = 30
    """Evaluation episodes per variant (generalists, specialists, the RPD teacher)."""
    rpd_variant: str = "left"
    """The variant the RPD student specialises in."""
    rpd_reward: str = "sparse"
    """Reward of the RPD student's task: "sparse" (1 on success only) or "dense" (progress along the path)."""
    rpd_steps: int = 30_000
    """PPO env steps of the RPD student and of PPO from scratch."""
    rpd_anneal_steps: int = 15_000
    """Env steps over which the RPD weight decays to 0."""
    rpd_weight: float = 3.0
    """RPD weight at the start."""
    rpd_teacher_samples: int = 8
    """Teacher actions averaged per state for the RPD target."""
    rpd_eval_every: int = 2_000
    """Env steps between evaluations of the RPD student and PPO."""
    rpd_eval_episodes: int = 20
    """Episodes per evaluation during RPD / PPO training."""
    cm_iterations: int = 1_500
    """Optimiser steps of consistency distillation."""
    cm_lr: float = 1e-3
    """Learning rate of consistency distillation."""
    cm_eval_episodes: int = 50
    """Evaluation episodes per sampler setting (route shares need many: their standard error is ~0.5 / sqrt(n))."""
    cm_steps: tuple[int, ...] = (1, 2, 5, 10)
    """Numbers of steps K measured for DDIM-K and consistency-K (DDPM-100 is always measured)."""
    latency_calls: int = 100
    """Timed calls per latency measurement (batch 1)."""

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{name} must be >= 0. Got {value}.")
        self.cm_steps = tuple(int(k) for k in self.cm_steps)
        if any(not 1 <= k <= 10 for k in self.cm_steps) or not {1, 10} <= set(self.cm_steps):
            raise ValueError(
                f"cm_steps must hold 1 and 10 (the targets' settings), each in [1, 10]. Got {self.cm_steps}."
            )
        if self.rpd_reward not in ("dense", "sparse"):
            raise ValueError(f"rpd_reward must be 'dense' or 'sparse'. Got {self.rpd_reward!r}.")
        if self.rpd_variant not in VARIANTS:
            raise ValueError(f"rpd_variant must be one of {list(VARIANTS)}. Got {self.rpd_variant!r}.")


BUDGETS: dict[str, DistillBudget] = {
    "smoke": DistillBudget(
        specialist_steps=1_024,
        episodes_per_variant=2,
        generalist_iterations=20,
        eval_episodes=4,
        rpd_steps=2_048,
        rpd_anneal_steps=1_024,
        rpd_eval_every=1_024,
        rpd_eval_episodes=4,
        cm_iterations=20,
        cm_eval_episodes=4,
        cm_steps=(1, 2, 10),
        latency_calls=5,
    ),
    "notebook": DistillBudget(),
    "quick": DistillBudget(
        eval_episodes=20,
        rpd_steps=16_000,
        rpd_anneal_steps=8_000,
        cm_eval_episodes=100,
        cm_steps=(1, 2, 10),
        latency_calls=50,
    ),
    "full": DistillBudget(
        eval_episodes=50,
        rpd_steps=40_000,
        rpd_anneal_steps=20_000,
        cm_iterations=3_000,
        cm_eval_episodes=200,
        cm_steps=(1, 2, 3, 5, 10),
        latency_calls=200,
    ),
}


def budget(name: str, **overrides: Any) -> DistillBudget:
    """A budget by name, with fields overridden (``budget("quick", rpd_steps=8_000)``)."""
    if name not in BUDGETS:
        raise ValueError(f"budget must be one of {list(BUDGETS)}. Got {name!r}.")
    return replace(BUDGETS[name], **overrides)


def cpu_clock() -> dict[str, float]:
    """Wall clock, CPU seconds of this process and the 1-minute load, now: pass it to ``elapsed`` later."""
    return {"wall": time.perf_counter(), "cpu": time.process_time(), "load": os.getloadavg()[0]}


def elapsed(start: dict[str, float]) -> dict[str, float]:
    """Wall seconds, CPU seconds of this process and the 1-minute load since ``start = cpu_clock()``."""
    now = cpu_clock()
    return {
        "wall_s": round(now["wall"] - start["wall"], 2),
        "cpu_s": round(now["cpu"] - start["cpu"], 2),
        "load_start": round(start["load"], 2),
        "load_end": round(now["load"], 2),
    }


# --- the variants ---------------------------------------------------------------------------------
def variant_condition(name: str) -> np.ndarray:
    """The one-hot condition (n_variants,) of variant ``name``."""
    if name not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}. Got {name!r}.")
    return one_hot(list(VARIANTS).index(name), len(VARIANTS))


def variant_env(name: str, conditioned: bool = False, render_mode: str | None = None, **overrides: Any) -> gym.Env:
    """TwoRoutes variant ``name`` (100 steps); ``conditioned`` appends its one-hot to the observation."""
    env = make(ENV_ID, render_mode=render_mode, **{**VARIANTS[name], **overrides})
    return ConditionObservation(env, variant_condition(name)) if conditioned else env


def variant_factory(name: str, conditioned: bool = False, **overrides: Any) -> Callable[[], gym.Env]:
    """A zero-argument maker of ``variant_env(name, conditioned, **overrides)`` (for SB3 and ``lk.evaluate``)."""
    return lambda: variant_env(name, conditioned, **overrides)


def train_ppo(
    env_fn: Callable[[], gym.Env],
    steps: int,
    seed: int,
    eval_env: Callable[[], gym.Env] | None = None,
    eval_every: int = 5_000,
    eval_episodes: int = 10,
    progress: bool = True,
    algo: type[PPO] = PPO,
    desc: str | None = None,
    **kwargs: Any,
) -> tuple[PPO, TrainLog]:
    """PPO (or an ``RPDPPO``) with the kit's settings on 4 envs; returns ``(model, monitor.log)``."""
    venv = make_vec_env(env_fn, n_envs=4, seed=seed)
    model = algo("MlpPolicy", venv, seed=seed, verbose=0, **{**PPO_KWARGS, **kwargs})
    monitor = TrainingMonitor(
        eval_env=eval_env, eval_every=eval_every, n_eval_episodes=eval_episodes, progress=progress, desc=desc
    )
    learn(model, steps, monitor)  # Ctrl-C keeps what was learned
    return model, monitor.log
