"""Notebook 04's ready-made runs: train each reward model, probe it, and train PPO on it.

Everything notebook 04 and ``benchmarks/rewards.py`` compute goes through these functions:

- :data:`REWARDS` the reward families and their chosen settings (:func:`reward_config`);
- :func:`train_reward` trains one family on ``two_routes_demos`` (the VLM also renders frames);
- :func:`heldout_rollouts` + :func:`reward_correlation`: Pearson r of each learned reward with the true
  per-step progress on episodes none of the models saw (expert, noisy, failing and random drivers);
- :func:`reward_heatmap`: the reward over the plane, probing states with ``env.unwrapped.observation_at``;
- :func:`run_ppo`: stock SB3 PPO on the true dense reward, the sparse reward, or a learned reward
  (success against env steps on the TRUE task, learned and true episode returns; a ``TrainLog``);
- :func:`reward_cost`: milliseconds of reward computation per env step, batched over the envs;
- :func:`run_reward`: the benchmark's sweep-ready trial (one reward family, one seed).

Files: ``common.py`` (task, :data:`REWARDS`, settings, :func:`train_reward`), ``probes.py`` (held-out
rollouts, correlation, heat maps, cost), ``ppo.py`` (:func:`run_ppo`, throughput), ``trial.py``
(:func:`run_reward`).
"""

from labkit.experiments.rewards.common import (
    BASELINES,
    DEMOS,
    N_ENVS,
    PPO_SETTINGS,
    REWARDS,
    SUCCESS_BONUS,
    TASK,
    THRESHOLD,
    reward_config,
    train_reward,
)
from labkit.experiments.rewards.ppo import make_training_env, ppo_summary, ppo_throughput, run_ppo
from labkit.experiments.rewards.probes import (
    HELDOUT_DRIVERS,
    Rollouts,
    heldout_rollouts,
    probe_windows,
    reward_by_driver,
    reward_correlation,
    reward_cost,
    reward_heatmap,
    true_progress_by_driver,
)
from labkit.experiments.rewards.trial import run_reward
from labkit.rewards import tabulate

__all__ = [
    "BASELINES",
    "DEMOS",
    "HELDOUT_DRIVERS",
    "N_ENVS",
    "PPO_SETTINGS",
    "REWARDS",
    "SUCCESS_BONUS",
    "TASK",
    "THRESHOLD",
    "Rollouts",
    "heldout_rollouts",
    "make_training_env",
    "ppo_summary",
    "ppo_throughput",
    "probe_windows",
    "reward_by_driver",
    "reward_config",
    "reward_correlation",
    "reward_cost",
    "reward_heatmap",
    "run_ppo",
    "run_reward",
    "tabulate",
    "train_reward",
    "true_progress_by_driver",
]
