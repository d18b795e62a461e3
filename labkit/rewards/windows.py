"""Demonstrations -> the windows a reward model learns from (history + the state that came next).

For every transition ``s_t -> s_{t+1}`` of every episode, with ``k = context`` and ``m = stride``::

    window = [s_{t+1-km}, ..., s_t, s_{t+1}]        (k*m + 1, obs_dim), the layout the wrapper feeds

The state after the last action is the episode field ``final_observation``, so an episode of ``T``
actions gives ``T`` windows. Before the first step the first observation is repeated (the wrapper
pads the same way online). Windows never cross into the next episode.
"""

from __future__ import annotations

import numpy as np

__all__ = ["episode_states", "transition_windows", "split_episodes"]


def episode_states(dataset) -> list[np.ndarray]:
    """The visited states of each episode, ``[(T_i + 1, obs_dim), ...]`` (final observation included)."""
    starts, ends = dataset.episode_starts, dataset.episode_ends
    finals = np.asarray(dataset.episode_fields["final_observation"], dtype=np.float32)  # (E, obs_dim)
    obs = np.asarray(dataset.observations, dtype=np.float32)  # (N, obs_dim)
    return [np.concatenate([obs[s:e], finals[i : i + 1]], axis=0) for i, (s, e) in enumerate(zip(starts, ends))]


def _windows_of(states: np.ndarray, length: int) -> np.ndarray:
    """(T + 1, D) states -> (T, length, D) windows ending at s_1 .. s_T, padded with the first state."""
    T = len(states) - 1
    idx = np.arange(1, T + 1)[:, None] + np.arange(-length + 1, 1)[None, :]  # (T, length), newest last
    return states[np.clip(idx, 0, T)]  # (T, length, D)


def transition_windows(dataset_or_states, context: int, stride: int = 1) -> np.ndarray:
    """Every transition as a window ``(N, context * stride + 1, obs_dim)`` float32 (the wrapper's layout).

    :param dataset_or_states: an ``EpisodeDataset`` or a list of per-episode state arrays ``(T_i + 1, D)``.
    :param context: ``k``, the number of past states the model conditions on (>= 0).
    :param stride: ``m``, control steps between the states the model looks at (>= 1).
    """
    if context < 0 or stride < 1:
        raise ValueError(f"context must be >= 0 and stride >= 1. Got {context}, {stride}.")
    states = dataset_or_states if isinstance(dataset_or_states, list) else episode_states(dataset_or_states)
    windows = [_windows_of(s, context * stride + 1) for s in states if len(s) > 1]
    if not windows:
        raise ValueError("transition_windows needs at least one episode with one step. Got none.")
    return np.concatenate(windows, axis=0).astype(np.float32)


def split_episodes(n_episodes: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train / held-out episode indices (held-out windows give the standardisation stats)."""
    if not 0.0 <= holdout < 1.0:
        raise ValueError(f"holdout must be in [0, 1). Got {holdout}.")
    order = np.random.default_rng(seed).permutation(n_episodes)
    n_hold = int(round(holdout * n_episodes))
    return np.sort(order[n_hold:]), np.sort(order[:n_hold])
