"""Training windows for action-chunking policies (Diffusion Policy's observation/action horizons).

One sample is anchored at a step ``t`` of an episode. With ``n_obs_steps = To = 2`` and
``horizon = H = 6``::

    step              t-1    t     t+1   t+2   t+3   t+4
    obs   (To)       [o     o]                              <- what the policy conditions on
    actions (H)      [a     a     a     a     a     a]      <- the chunk the model learns to produce
                      ^     ^
                      |     first action a policy executes at time t (index To-1 of the chunk)
                      past action, aligned with the older observation

So the chunk covers steps ``t-To+1 .. t-To+H``: its first ``To-1`` actions are aligned with the past
observations, the rest is the future. How many of the future actions a policy executes before
replanning (``n_action_steps``) is the policy's choice, not the dataset's.

At the edges of an episode, indices are clamped to the episode: before the first step the first
observation/action is repeated, after the last step the last action is repeated. Windows never
cross into a neighbouring episode.
"""

from __future__ import annotations

import numpy as np
import torch

from labkit.data.episodes import EpisodeDataset


def window_indices(
    episode_starts: np.ndarray, episode_ends: np.ndarray, n_obs_steps: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of every training window.

    :returns: ``obs_idx (N, To)`` and ``act_idx (N, H)`` int64 arrays; row ``t`` is the window
        anchored at global step ``t``.
    """
    lengths = episode_ends - episode_starts  # (E,)
    step = np.arange(int(episode_ends[-1]) if len(episode_ends) else 0)  # (N,)
    start = np.repeat(episode_starts, lengths)  # (N,) first step of each step's episode
    last = np.repeat(episode_ends - 1, lengths)  # (N,) last step of each step's episode
    first = step - (n_obs_steps - 1)  # (N,) first step covered by the window
    obs_idx = first[:, None] + np.arange(n_obs_steps)[None, :]  # (N, To)
    act_idx = first[:, None] + np.arange(horizon)[None, :]  # (N, H)
    obs_idx = np.clip(obs_idx, start[:, None], last[:, None])
    act_idx = np.clip(act_idx, start[:, None], last[:, None])
    return obs_idx.astype(np.int64), act_idx.astype(np.int64)


class ChunkDataset(torch.utils.data.Dataset):
    """Every step of every episode as an ``{"obs": (To, obs_dim), "actions": (H, act_dim)}`` window.

    :param dataset: the episodes.
    :param n_obs_steps: ``To``, observations the policy conditions on (>= 1).
    :param horizon: ``H``, actions in a chunk (>= ``n_obs_steps``, so the chunk reaches step ``t``).
    :param device: where the tensors live; :meth:`sample` gathers there (the generator stays on CPU).

    Use :meth:`sample` in a training loop (one vectorised gather per batch), or wrap the object in
    a ``torch.utils.data.DataLoader`` (``__getitem__`` returns one window).
    """

    def __init__(
        self, dataset: EpisodeDataset, n_obs_steps: int, horizon: int, device: str | torch.device = "cpu"
    ) -> None:
        if n_obs_steps < 1:
            raise ValueError(f"n_obs_steps must be >= 1. Got {n_obs_steps}.")
        if horizon < n_obs_steps:
            raise ValueError(
                f"horizon must be >= n_obs_steps (the chunk starts at the oldest observation and must "
                f"reach the current step). Got horizon={horizon}, n_obs_steps={n_obs_steps}."
            )
        if dataset.n_steps == 0:
            raise ValueError("the dataset has no steps.")
        self.n_obs_steps = int(n_obs_steps)
        self.horizon = int(horizon)
        self.device = torch.device(device)
        obs_idx, act_idx = window_indices(dataset.episode_starts, dataset.episode_ends, n_obs_steps, horizon)
        self.obs_idx = torch.from_numpy(obs_idx).to(self.device)  # (N, To)
        self.act_idx = torch.from_numpy(act_idx).to(self.device)  # (N, H)
        self._obs = torch.from_numpy(np.array(dataset.observations)).to(self.device)  # (N, obs_dim)
        self._actions = torch.from_numpy(np.array(dataset.actions)).to(self.device)  # (N, act_dim)
        # Windows are materialised once: N * (To * obs_dim + H * act_dim) floats (a few MB for the
        # kit's datasets). A batch is then one index_select per tensor, much faster than gathering
        # with the 2-D index tensors on every call.
        self._obs_windows = self._obs[self.obs_idx]  # (N, To, obs_dim)
        self._act_windows = self._actions[self.act_idx]  # (N, H, act_dim)

    @property
    def obs_dim(self) -> int:
        return int(self._obs.shape[1])

    @property
    def action_dim(self) -> int:
        return int(self._actions.shape[1])

    def __len__(self) -> int:
        """Number of windows = number of steps N."""
        return int(self.obs_idx.shape[0])

    def __getitem__(self, t: int) -> dict[str, torch.Tensor]:
        """The window anchored at global step ``t``."""
        return {"obs": self._obs_windows[t], "actions": self._act_windows[t]}

    def gather(self, index: torch.Tensor) -> dict[str, torch.Tensor]:
        """Windows for a 1-D tensor of anchor steps: ``obs (B, To, obs_dim)``, ``actions (B, H, act_dim)``."""
        index = index.to(self.device)
        return {
            "obs": self._obs_windows.index_select(0, index),  # (B, To, obs_dim)
            "actions": self._act_windows.index_select(0, index),  # (B, H, act_dim)
        }

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """A batch of windows drawn uniformly with replacement; same generator state -> same batch."""
        index = torch.randint(len(self), (batch_size,), generator=generator)  # (B,) drawn on CPU
        return self.gather(index)

    def all_obs(self) -> torch.Tensor:
        """``(N, obs_dim)`` every recorded observation (to fit a normaliser)."""
        return self._obs

    def all_actions(self) -> torch.Tensor:
        """``(N, act_dim)`` every recorded action (to fit a normaliser)."""
        return self._actions

    def __repr__(self) -> str:
        return (
            f"ChunkDataset(windows={len(self)}, n_obs_steps={self.n_obs_steps}, horizon={self.horizon}, "
            f"obs_dim={self.obs_dim}, action_dim={self.action_dim}, device={self.device})"
        )
