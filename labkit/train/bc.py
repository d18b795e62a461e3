"""Behaviour cloning in one call: a preset policy fitted to demonstrations, the kit's default recipe.

``behaviour_cloning(kind, demos, preset=..., iterations=...)`` builds a ``DiffusionPolicy`` or a
``GaussianBCPolicy`` with a preset's horizons (``labkit.policies.PRESETS``), fits its normalisers,
trains it with :func:`~labkit.train.loop.train_policy` and returns ``(policy, TrainLog)``. Notebooks,
benchmarks, the shipped priors and tests all call it, so they always measure the same thing.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset
from labkit.data.windows import ChunkDataset
from labkit.policies.base import BaseChunkPolicy, check_choice
from labkit.policies.presets import make_policy
from labkit.runtime import check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import train_policy

__all__ = ["behaviour_cloning"]


def behaviour_cloning(
    kind: str,
    demos: EpisodeDataset,
    *,
    iterations: int,
    preset: str = "chunked",
    seed: int = 0,
    batch_size: int = 256,
    lr: float = 1e-3,
    progress: bool = True,
    checkpoint_path: str | os.PathLike | None = None,
    action_range: Any = "data",
    device: str | torch.device | None = None,
    **overrides: Any,
) -> tuple[BaseChunkPolicy, TrainLog]:
    """Fit a ``kind`` policy to ``demos``; returns ``(policy, log)`` (policy in eval mode, EMA weights).

    :param kind: ``"diffusion"`` or ``"gaussian"``.
    :param demos: the demonstrations (an ``EpisodeDataset``, e.g. ``labkit.load("two_routes_demos")``).
    :param iterations: optimiser steps.
    :param preset: a name in ``labkit.policies.PRESETS`` (horizons and sampler); ``overrides`` change fields.
    :param action_range: what the action normaliser maps to [-1, 1]: ``"data"`` (the demonstrations'
        min and max, as in Diffusion Policy: the policy can never act outside them) or ``(low, high)``
        (e.g. the env's action bounds, so that RL fine-tuning can reach the whole range).
    :param seed: seeds the initial weights, the batches and the noise.
    :return: ``(policy, TrainLog)``; Ctrl-C during training keeps what was learned (``log.interrupted``).
    """
    if not isinstance(demos, EpisodeDataset):
        raise TypeError(
            f"demos must be an EpisodeDataset (e.g. labkit.load('two_routes_demos')). Got {type(demos).__name__}."
        )
    if isinstance(action_range, str):
        check_choice("action_range", action_range, ("data",))
    seed = check_seed(seed)
    env_id = demos.metadata["env_id"]
    torch.manual_seed(seed)  # the initial weights
    policy = make_policy(kind, demos.obs_dim, demos.action_dim, preset=preset, env_id=env_id, **overrides)
    windows = ChunkDataset(demos, n_obs_steps=policy.config.n_obs_steps, horizon=policy.config.horizon)
    bounds = None if isinstance(action_range, str) else (np.asarray(action_range[0]), np.asarray(action_range[1]))
    policy.fit_normalizers(windows.all_obs(), windows.all_actions(), action_bounds=bounds)
    meta = {
        "env_id": env_id,
        "dataset_hash": demos.content_hash,
        "kind": kind,
        "preset": preset,
        "seed": seed,
        "iterations": iterations,
    }
    log = train_policy(
        policy,
        windows,
        iterations=iterations,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        progress=progress,
        checkpoint_path=checkpoint_path,
        meta=meta,
        device=device,
    )
    log.meta.update(preset=preset, env_id=env_id)
    return policy, log
