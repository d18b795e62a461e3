"""Episodes as sequences: returns-to-go, context windows, and per-dimension action bins.

Return-to-go at step t of an episode with rewards r_0 .. r_{T-1}::

    R_t = r_t + gamma r_{t+1} + ... + gamma^{T-1-t} r_{T-1}       (gamma = 1 for the Decision Transformer)

A context window is the ``K`` most recent steps up to and including a decision step ``t``; near an
episode's start it is shorter and padded on the left, exactly what a policy sees at test time::

    window slot   :   0    1   ...   K-2   K-1
    step (t >= K) :  t-K+1 ...               t       <- all real
    step (t = 1)  :  pad  pad  ...    0     1       <- mask False on the pads

``ActionBins`` cuts each action dimension of ``[low, high]`` into ``n_bins`` equal cells (the
Q-Transformer and the binned Decision Transformer head predict a cell index per dimension).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset

__all__ = ["returns_to_go", "episode_index", "ContextWindows", "ActionBins"]


def returns_to_go(rewards: np.ndarray, episode_ends: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Per-step (discounted) sum of the rewards from that step to its episode's end.

    :param rewards: (N,) rewards of all episodes, concatenated.
    :param episode_ends: (E,) exclusive end index of each episode (``EpisodeDataset.episode_ends``).
    :param gamma: discount (1.0 = plain sum).
    :return: (N,) float64.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    ends = np.asarray(episode_ends, dtype=np.int64)
    if ends.size == 0 or ends[-1] != len(rewards) or np.any(np.diff(np.r_[0, ends]) <= 0):
        raise ValueError(f"episode_ends must be increasing and end at len(rewards)={len(rewards)}. Got {ends[-5:]}.")
    out = np.empty_like(rewards)
    start = 0
    for end in ends:
        acc = 0.0
        for t in range(end - 1, start - 1, -1):  # backwards through the episode
            acc = rewards[t] + gamma * acc
            out[t] = acc
        start = end
    return out


def episode_index(episode_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(episode id (N,), step within its episode (N,)) for every row."""
    ends = np.asarray(episode_ends, dtype=np.int64)
    lengths = np.diff(np.r_[0, ends])  # (E,)
    ep = np.repeat(np.arange(len(ends)), lengths)  # (N,)
    t = np.arange(int(ends[-1])) - np.repeat(np.r_[0, ends[:-1]], lengths)  # (N,)
    return ep, t


class ContextWindows:
    """Every step of every episode as the decision step of a ``context``-long window.

    Sampling is uniform over steps (so an episode is drawn in proportion to its length, as in the
    Decision Transformer's code), and each window ends at its decision step (what the policy sees).

    :param data: the episodes (rewards needed).
    :param context: K, steps per window.
    :param gamma: discount of the return-to-go (1.0 for DT).
    """

    def __init__(self, data: EpisodeDataset, context: int, gamma: float = 1.0) -> None:
        if context < 1:
            raise ValueError(f"context must be >= 1. Got {context}.")
        self.context = context
        self.states = torch.as_tensor(np.array(data.observations), dtype=torch.float32)  # (N, D)
        self.actions = torch.as_tensor(np.array(data.actions), dtype=torch.float32)  # (N, A)
        self.rtg = torch.as_tensor(returns_to_go(data.rewards, data.episode_ends, gamma), dtype=torch.float32)  # (N,)
        ep, t = episode_index(data.episode_ends)
        self.timesteps = torch.as_tensor(t, dtype=torch.long)  # (N,)
        offsets = torch.arange(-context + 1, 1)  # (K,) -K+1 .. 0
        rows = torch.arange(len(t))[:, None] + offsets[None, :]  # (N, K) candidate rows
        self.mask = offsets[None, :] >= -self.timesteps[:, None]  # (N, K) inside the episode
        self.rows = torch.where(self.mask, rows, rows[:, -1:])  # pads point at the decision row

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def gather(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """Windows ending at rows ``idx`` (B,); padded slots hold zeros and ``mask`` False."""
        rows, mask = self.rows[idx], self.mask[idx]  # (B, K) each
        m = mask[..., None].float()  # (B, K, 1)
        return {
            "states": self.states[rows] * m,  # (B, K, D)
            "actions": self.actions[rows] * m,  # (B, K, A)
            "rtg": self.rtg[rows][..., None] * m,  # (B, K, 1)
            "timesteps": self.timesteps[rows] * mask,  # (B, K)
            "mask": mask,  # (B, K)
        }

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        idx = torch.randint(len(self), (batch_size,), generator=generator)  # (B,)
        return self.gather(idx)


@dataclass(frozen=True)
class ActionBins:
    """Equal-width bins per action dimension: value in [low, high] <-> index in [0, n_bins)."""

    n_bins: int = 41
    low: float = -1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.n_bins < 2 or not self.high > self.low:
            raise ValueError(f"need n_bins >= 2 and high > low. Got {self.n_bins}, [{self.low}, {self.high}].")

    @property
    def centers(self) -> torch.Tensor:
        """(n_bins,) the value each index decodes to (cell centres)."""
        width = (self.high - self.low) / self.n_bins
        return self.low + width * (torch.arange(self.n_bins, dtype=torch.float32) + 0.5)

    def to_index(self, actions: torch.Tensor) -> torch.Tensor:
        """(..., A) float -> (..., A) long, values outside [low, high] go to the edge cells."""
        u = (torch.as_tensor(actions, dtype=torch.float32) - self.low) / (self.high - self.low)  # (..., A) in [0, 1]
        return (u * self.n_bins).floor().long().clamp(0, self.n_bins - 1)

    def to_value(self, index: torch.Tensor) -> torch.Tensor:
        """(..., A) long -> (..., A) float (cell centres)."""
        return self.centers.to(index.device)[index]
