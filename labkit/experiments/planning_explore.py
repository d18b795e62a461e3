"""Notebook 06, exploration: PPO on a sparse task with no bonus, an RND bonus, or ELLM's language bonus.

The task is TwoRoutes with the goal moved to the blue mark (top left, behind the cup) and a sparse
reward; coverage is the share of the free cells of a 10 x 10 grid visited during training. Shared with
``benchmarks/planning.py`` (``run_exploration`` is its sweep trial).

    res = run_exploration(0, method="ellm", steps=10_000)   # {"coverage", "success", "counts", ...}
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from labkit import envs  # envs.TwoRoutesEnv: the physics loads on first use, not on import
from labkit.experiments.planning_language import ellm_suggester, language_client
from labkit.llm import Embedder
from labkit.planning.ellm import CoverageWrapper, ELLMReward, RNDReward
from labkit.runtime import check_int, check_seed
from labkit.sb3 import TrainingMonitor, learn

__all__ = ["EXPLORE_GOAL", "METHODS", "explore_env", "free_cells", "run_exploration"]

#: The exploration task's goal: the blue mark, behind the cup on the left.
EXPLORE_GOAL = (-0.35, 0.35)
METHODS = ("none", "rnd", "ellm")


def explore_env(
    method: str,
    counts: np.ndarray,
    *,
    embed=None,
    suggest=None,
    seed: int = 0,
    coef: float | None = None,
    threshold: float = 0.6,
) -> gym.Env:
    """One env of the exploration task with ``method``'s intrinsic reward and a coverage counter."""
    env: gym.Env = gym.wrappers.TimeLimit(envs.TwoRoutesEnv(goal=EXPLORE_GOAL, reward="sparse"), 100)
    if method == "rnd":
        env = RNDReward(env, coef=0.1 if coef is None else coef, seed=seed)
    elif method == "ellm":
        if embed is None or suggest is None:
            raise ValueError("method='ellm' needs embed=Embedder().encode and suggest=ellm_suggester(client).")
        env = ELLMReward(env, embed, suggest, threshold=threshold, coef=0.5 if coef is None else coef)
    elif method != "none":
        raise ValueError(f"method must be one of {METHODS}. Got {method!r}.")
    return CoverageWrapper(env, counts)


def free_cells(cells: int = 10) -> np.ndarray:
    """(cells, cells) bool, True where the robot can be (not inside the cup's walls); row = y."""
    centres = (np.arange(cells) + 0.5) / cells - 0.5
    y, x = np.meshgrid(centres, centres, indexing="ij")  # (cells, cells) each
    wall = (np.abs(x) < 0.16) & (-0.11 < y) & (y < 0.07) & ((np.abs(x) > 0.1) | (y > 0.01))
    return ~wall


def run_exploration(
    seed: int,
    method: str = "none",
    steps: int = 30_000,
    *,
    embed=None,
    suggest=None,
    llm: str = "cache",
    cells: int = 10,
    n_envs: int = 4,
    eval_episodes: int = 20,
    progress: bool = False,
) -> dict[str, Any]:
    """PPO on the sparse exploration task plus ``method``'s intrinsic reward (a sweep trial).

    :param embed, suggest: ELLM's embedder and goal suggester (defaults: MiniLM, and the language model
        chosen by ``llm``: ``"cache"`` = the shipped replies only, ``"model"`` = run it on a miss).
    :return: ``{"coverage", "success", "counts" (cells x cells list), "cpu_seconds", ...}``.
    """
    seed, steps = check_seed(seed), check_int("steps", steps)
    if method == "ellm":
        embed = embed or Embedder().encode
        suggest = suggest or ellm_suggester(language_client(offline=llm == "cache"))
    counts = np.zeros((cells, cells), np.int64)
    fns = [lambda i=i: explore_env(method, counts, embed=embed, suggest=suggest, seed=seed + i) for i in range(n_envs)]
    venv = DummyVecEnv(fns)  # type: ignore[arg-type]
    venv.seed(seed)
    model = PPO("MlpPolicy", venv, n_steps=256, batch_size=256, n_epochs=5, learning_rate=1e-3, seed=seed, device="cpu")
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        learn(model, steps, TrainingMonitor(eval_env=None, progress=progress))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    venv.close()
    env, succ = envs.TwoRoutesEnv(goal=EXPLORE_GOAL, reward="sparse"), []
    for i in range(eval_episodes):
        obs, _ = env.reset(seed=90_000 + i)
        info: dict = {}
        for _ in range(100):
            obs, _, term, _, info = env.step(model.predict(obs, deterministic=True)[0])
            if term:
                break
        succ.append(bool(info.get("is_success", False)))
    env.close()
    free = free_cells(cells)
    return {
        "method": method,
        "steps": steps,
        "coverage": float(((counts > 0) & free).sum() / free.sum()),
        "success": float(np.mean(succ)),
        "counts": counts.tolist(),
        "seconds": seconds,
        "cpu_seconds": cpu,
    }
