"""Notebook 10's ready-made runs: an under-trained policy, the DPPO actor, the fine-tuning settings.

    policy = pretrain_diffusion(lk.load("two_routes_demos"), iterations=200)   # deliberately under-trained
    actor = DiffusionPPOActor(policy, **DPPO_ACTOR)
    log = finetune_ppo(actor, "labkit/TwoRoutes-v0", dppo_config(max_seconds=120))

Policies use the ``"dppo"`` preset: one observation, a chunk of 4 actions, all 4 executed (a decision
every 0.2 s), sampled by DDPM so that every denoising step is a Gaussian PPO can take a ratio of.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from labkit.data.episodes import EpisodeDataset
from labkit.finetune.dppo import DiffusionPPOActor
from labkit.finetune.ppo import PPOConfig, finetune_ppo
from labkit.policies.base import BaseChunkPolicy
from labkit.rollout import evaluate
from labkit.store import load
from labkit.train.bc import behaviour_cloning

__all__ = ["DPPO_ACTOR", "dppo_config", "pretrain_diffusion", "pretrain_gaussian", "run_dppo"]

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


def run_dppo(
    seed: int,
    total_env_steps: int = 24_000,
    max_seconds: float = 600.0,
    episodes: int = 100,
    pretrain_iterations: int = 200,
) -> dict[str, Any]:
    """One seed of the DPPO benchmark, as a ``labkit.sweep`` trial (JSON-friendly metrics).

    Pre-trains an under-trained diffusion policy, evaluates it on ``episodes`` fixed start states
    (``seed=1000``), fine-tunes it with DPPO and evaluates again. Keys: ``before``, ``after`` (success
    rates), ``env_steps``, ``train_seconds``, ``steps_to_90`` / ``seconds_to_90`` (the first time the
    training success over at least 50 episodes reached 0.9; None if never) and ``history``.
    """
    policy = pretrain_diffusion(load("two_routes_demos"), iterations=pretrain_iterations, seed=seed, progress=False)
    actor = DiffusionPPOActor(copy.deepcopy(policy), **DPPO_ACTOR)  # type: ignore[arg-type]
    env_id = "labkit/TwoRoutes-v0"
    before = evaluate(actor, env_id, episodes, seed=1000, generator_seed=seed, progress=False)
    log = finetune_ppo(
        actor, env_id, dppo_config(seed=seed, total_env_steps=total_env_steps, max_seconds=max_seconds), progress=False
    )
    after = evaluate(actor, env_id, episodes, seed=1000, generator_seed=seed, progress=False)
    hit = next((h for h in log.history if h["episodes"] >= 50 and h["success_rate"] >= 0.9), None)
    return {
        "before": before.success_rate,
        "after": after.success_rate,
        "env_steps": log.env_steps,
        "train_seconds": log.seconds,
        "steps_to_90": hit["env_steps"] if hit else None,
        "seconds_to_90": hit["seconds"] if hit else None,
        "history": log.history,
    }
