"""Transitions ``(s, a, r, s', done)`` cut from episodes: what one-step Bellman backups learn from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset

__all__ = ["Transitions", "transitions_from_episodes"]


@dataclass
class Transitions:
    """One row per step: obs (N, D), actions (N, A), rewards (N,), next_obs (N, D), dones (N,)."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    dones: torch.Tensor

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        idx = torch.randint(len(self), (batch_size,), generator=generator)  # (B,)
        return self.gather(idx)

    def gather(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k)[idx] for k in ("obs", "actions", "rewards", "next_obs", "dones")}


def transitions_from_episodes(ds: EpisodeDataset) -> Transitions:
    """Cut an ``EpisodeDataset`` into transitions.

    ``next_obs`` of an episode's last step is the per-episode field ``final_observation`` (which
    ``labkit.collect`` records); without it the last step's own observation is used. ``dones``
    are the *terminations* only: a time-limit truncation is not an end of the task, so its
    ``next_obs`` is still bootstrapped.
    """
    obs = torch.as_tensor(np.array(ds.observations), dtype=torch.float32)  # (N, D)
    next_obs = torch.roll(obs, shifts=-1, dims=0).clone()  # (N, D): row t <- row t + 1
    last = torch.as_tensor(ds.episode_ends - 1)  # (E,) last step of each episode
    if "final_observation" in ds.episode_fields:
        next_obs[last] = torch.as_tensor(np.array(ds.episode_fields["final_observation"]), dtype=torch.float32)
    else:
        next_obs[last] = obs[last]
    return Transitions(
        obs=obs,
        actions=torch.as_tensor(np.array(ds.actions), dtype=torch.float32),  # (N, A)
        rewards=torch.as_tensor(np.array(ds.rewards), dtype=torch.float32),  # (N,)
        next_obs=next_obs,
        dones=torch.as_tensor(np.array(ds.terminations), dtype=torch.float32),  # (N,)
    )
