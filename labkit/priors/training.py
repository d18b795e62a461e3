"""Train or load a frozen prior for ``labkit.priors`` in one call (thin wrappers over ``labkit.train``).

    prior = train_prior("two_routes_demos", "labkit/TwoRoutes-v0", iterations=2_000)
    prior = load_prior("data/two_routes_prior.pt", env_id="labkit/TwoRoutes-v0")

Both set ``prior.env_id``, which the wrappers compare with the env they are plugged into.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from labkit.diffusion import DiffusionPolicy, DiffusionPolicyConfig

__all__ = ["train_prior", "load_prior"]


def train_prior(
    dataset: Any,
    env_id: str | None = None,
    iterations: int = 2_000,
    *,
    seed: int = 0,
    batch_size: int = 256,
    lr: float = 1e-3,
    progress: bool = False,
    checkpoint_path: str | os.PathLike | None = None,
    **config: Any,
) -> DiffusionPolicy:
    """Fit a ``DiffusionPolicy`` on demonstrations with ``labkit.train.train_policy``; return it (eval mode).

    :param dataset: an ``EpisodeDataset`` or the name of a shipped one (``"two_routes_demos"``).
    :param env_id: the env the data comes from (default: the dataset's ``metadata["env_id"]``).
    :param iterations: optimiser steps (a few hundred give an under-trained prior, ~2k a good one).
    :param config: ``DiffusionPolicyConfig`` fields; defaults here favour speed inside RL loops:
        ``sampler="ddim"``, ``num_inference_steps=10``, MLP denoiser of width 128.
    """
    from labkit.data import ChunkDataset
    from labkit.datasets import load_demos
    from labkit.train import train_policy

    if isinstance(dataset, str):
        dataset = load_demos(dataset)
    env_id = env_id or dataset.metadata.get("env_id")
    defaults = {"n_obs_steps": 2, "horizon": 8, "n_action_steps": 4, "sampler": "ddim", "num_inference_steps": 10,
                "mlp_hidden_dim": 128}
    cfg = DiffusionPolicyConfig(obs_dim=dataset.obs_dim, action_dim=dataset.action_dim, **{**defaults, **config})
    torch.manual_seed(seed)  # the initial weights
    prior = DiffusionPolicy(cfg)
    prior.fit_normalizers(np.array(dataset.observations), np.array(dataset.actions))
    windows = ChunkDataset(dataset, cfg.n_obs_steps, cfg.horizon)
    train_policy(prior, windows, iterations=iterations, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                 checkpoint_path=checkpoint_path, device="cpu", meta={"env_id": env_id, "iterations": iterations})
    prior.env_id = env_id
    return prior.eval()


def load_prior(path: str | os.PathLike, env_id: str | None = None, **kwargs: Any):
    """``labkit.train.load_checkpoint`` that also sets ``prior.env_id`` from the checkpoint's meta."""
    from labkit.train import load_checkpoint

    prior, meta = load_checkpoint(path, expected_env_id=env_id, **kwargs)
    prior.env_id = meta.get("env_id")
    return prior
