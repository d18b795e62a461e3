"""Ready-made recipes: the same policy configurations for notebooks, benchmarks and tests.

``behaviour_cloning(kind, demos, iterations=...)`` builds a ``DiffusionPolicy`` or a
``GaussianBCPolicy`` with the kit's default horizons for a dataset, fits its normalisers, trains it
with :func:`labkit.train.train_policy` and returns ``(policy, TrainResult)``. One place to change a
default, so notebook 03 and ``benchmarks/diffusion_policy.py`` always measure the same thing.
"""

from __future__ import annotations

from typing import Any

from labkit.data import ChunkDataset, EpisodeDataset
from labkit.diffusion import DiffusionPolicy, DiffusionPolicyConfig, GaussianBCConfig, GaussianBCPolicy
from labkit.train import TrainResult, train_policy

__all__ = ["HORIZONS", "make_policy", "behaviour_cloning"]

#: Observation history, predicted chunk and executed chunk lengths (Diffusion Policy's To, H, Ta).
HORIZONS = dict(n_obs_steps=2, horizon=16, n_action_steps=8)


def make_policy(kind: str, obs_dim: int, action_dim: int, **overrides: Any):
    """A fresh ``"diffusion"`` or ``"gaussian"`` policy with the kit's defaults (overridable)."""
    if kind == "diffusion":
        cfg = dict(HORIZONS, denoiser="mlp", num_train_timesteps=100, num_inference_steps=10, sampler="ddim")
        cfg.update(overrides)
        return DiffusionPolicy(DiffusionPolicyConfig(obs_dim=obs_dim, action_dim=action_dim, **cfg))
    if kind == "gaussian":
        cfg = dict(HORIZONS)
        cfg.update(overrides)
        return GaussianBCPolicy(GaussianBCConfig(obs_dim=obs_dim, action_dim=action_dim, **cfg))
    raise ValueError(f"kind must be 'diffusion' or 'gaussian'. Got {kind!r}.")


def behaviour_cloning(kind: str, demos: EpisodeDataset, *, iterations: int, seed: int = 0, batch_size: int = 256,
                      lr: float = 1e-3, progress: bool = True, checkpoint_path=None,
                      **overrides: Any) -> tuple[Any, TrainResult]:
    """Fit a policy of ``kind`` to ``demos``; returns ``(policy, result)`` (policy in eval mode, EMA weights).

    Ctrl-C during training keeps what was learned (``result.interrupted``).
    """
    import torch

    torch.manual_seed(seed)
    policy = make_policy(kind, demos.obs_dim, demos.action_dim, **overrides)
    windows = ChunkDataset(demos, n_obs_steps=policy.config.n_obs_steps, horizon=policy.config.horizon)
    policy.fit_normalizers(windows.all_obs(), windows.all_actions())
    meta = {"env_id": demos.metadata["env_id"], "dataset_hash": demos.content_hash, "kind": kind, "seed": seed,
            "iterations": iterations}
    result = train_policy(policy, windows, iterations=iterations, batch_size=batch_size, lr=lr, seed=seed,
                          progress=progress, checkpoint_path=checkpoint_path, meta=meta)
    policy.env_id = demos.metadata["env_id"]
    return policy, result
