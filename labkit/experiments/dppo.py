"""Notebook 10's ready-made runs: an under-trained policy, the DPPO actor, the fine-tuning settings.

    policy = pretrain_diffusion(lk.load("two_routes_demos"), iterations=200)   # deliberately under-trained
    actor = DiffusionPPOActor(policy, **DPPO_ACTOR)
    log = finetune_ppo(actor, "labkit/TwoRoutes-v0", dppo_config(max_seconds=120))

Policies use the ``"dppo"`` preset: one observation, a chunk of 4 actions, all 4 executed (a decision
every 0.2 s), sampled by DDPM so that every denoising step is a Gaussian PPO can take a ratio of.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.data.episodes import EpisodeDataset
from labkit.finetune.ppo import PPOConfig
from labkit.policies.base import BaseChunkPolicy
from labkit.train.bc import behaviour_cloning

__all__ = ["DPPO_ACTOR", "dppo_config", "pretrain_diffusion", "pretrain_gaussian"]

#: How DPPO sees the pre-trained policy: K = 10 DDPM steps, all fine-tuned, std never below 0.1.
DPPO_ACTOR = dict(num_inference_steps=10, ft_denoising_steps=10, min_std=0.1)


def _pretrain(
    kind: str, demos: EpisodeDataset, iterations: int, n_episodes: int, seed: int, progress: bool
) -> BaseChunkPolicy:
    subset = demos.filter(np.arange(min(n_episodes, len(demos))))
    policy, _ = behaviour_cloning(kind, subset, iterations=iterations, seed=seed, progress=progress, preset="dppo")
    return policy


def pretrain_diffusion(
    demos: EpisodeDataset, *, iterations: int = 200, n_episodes: int = 100, seed: int = 0, progress: bool = True
) -> BaseChunkPolicy:
    """A deliberately under-trained diffusion policy: ``iterations`` of BC on the first ``n_episodes`` demos."""
    return _pretrain("diffusion", demos, iterations, n_episodes, seed, progress)


def pretrain_gaussian(
    demos: EpisodeDataset, *, iterations: int = 200, n_episodes: int = 100, seed: int = 0, progress: bool = True
) -> BaseChunkPolicy:
    """The Gaussian counterpart of :func:`pretrain_diffusion` (same data, horizons and budget)."""
    return _pretrain("gaussian", demos, iterations, n_episodes, seed, progress)


def dppo_config(**overrides: Any) -> PPOConfig:
    """The fine-tuning hyper-parameters used in notebook 10 and the benchmark (overridable)."""
    cfg: dict[str, Any] = dict(n_envs=8, n_steps=16, actor_lr=3e-4, total_env_steps=60_000, stop_success=None)
    cfg.update(overrides)
    return PPOConfig(**cfg)
