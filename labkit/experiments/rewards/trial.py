"""The benchmark's sweep-ready trial: one reward family (or baseline), one seed."""

from __future__ import annotations

import time
from typing import Any

from labkit.experiments.rewards.common import BASELINES, REWARDS, train_reward
from labkit.experiments.rewards.ppo import ppo_summary, ppo_throughput, run_ppo
from labkit.experiments.rewards.probes import heldout_rollouts, reward_by_driver, reward_correlation, reward_cost
from labkit.rewards import (
    LearnedReward,
    tabulate,
)
from labkit.runtime import check_seed


# --- the benchmark's trial -----------------------------------------------------------------------
def run_reward(
    seed: int,
    reward: str = "diffusion",
    env_steps: int = 30_000,
    *,
    mode: str = "replace",
    train_ppo: bool = True,
    smoke: bool = False,
    n_heldout: int = 6,
    eval_every: int = 2_000,
    throughput_steps: int = 0,
) -> dict[str, Any]:
    """One reward family (or baseline), one seed: train it, probe it, train PPO on it (sweep-ready).

    :param reward: a key of :data:`REWARDS` or :data:`BASELINES`.
    :param mode: how a learned reward is paid (``"replace"`` or ``"potential"``).
    :param train_ppo: False: train and probe the reward model only (correlation, cost).
    :param smoke: tiny model budgets (the numbers then mean nothing).
    :param n_heldout: held-out episodes per driver for the correlations.
    :param throughput_steps: > 0: also measure PPO's env steps per CPU second with this reward in the loop.
    :return: JSON-friendly: ``correlation``, ``cost``, ``by_driver``, ``train_cpu_seconds`` (learned
        rewards), ``ppo`` (:func:`ppo_summary`), ``throughput``.
    """
    seed = check_seed(seed)
    if reward not in REWARDS and reward not in BASELINES:
        raise ValueError(f"reward must be one of {', '.join([*REWARDS, *BASELINES])}. Got {reward!r}.")
    out: dict[str, Any] = {"reward": reward, "mode": mode}
    agent_reward: str | LearnedReward = reward
    if reward in REWARDS:
        vlm = train_reward("vlm", seed=seed, smoke=smoke, progress=False)[0] if reward == "episode_similarity" else None
        c0 = time.process_time()
        model, _ = train_reward(reward, seed=seed, smoke=smoke, progress=False, vlm=vlm)
        rollouts = heldout_rollouts(n_per_driver=n_heldout)
        out.update(
            train_cpu_seconds=time.process_time() - c0,
            correlation=reward_correlation(model, rollouts),
            cost=reward_cost(model, rollouts, n_calls=10 if smoke else 50),
            by_driver=reward_by_driver(model, rollouts),
        )
        # the VLM reward depends on the position only: PPO uses its table (no rendering in the loop)
        agent_reward = tabulate(model, grid=15 if smoke else 61) if reward == "vlm" else model
    if train_ppo:
        log = run_ppo(agent_reward, env_steps, seed=seed, progress=False, mode=mode, eval_every=eval_every, name=reward)
        out["ppo"] = ppo_summary(log)
    if throughput_steps > 0:
        out["throughput"] = ppo_throughput(agent_reward, throughput_steps, seed=seed)
    return out
