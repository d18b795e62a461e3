"""Experts -> generalist (RLDG, Xu et al. 2024): the data side of distilling specialists into one policy.

One conditioned policy learns every task variant from the specialists' rollouts. The condition
(a one-hot variant id) is appended to each observation, in the data and in the env::

    obs_i  = [ s_i (D,) , c_v (C,) ]          c_v = one_hot(variant v)
    L(phi) = E_{(obs, a) ~ D_1 u ... u D_V}  || eps - eps_phi(sqrt(abar_t) a + sqrt(1 - abar_t) eps, t, obs) ||^2

so any labkit policy trained on the concatenated data is a generalist, and ``ConditionObservation``
makes its env. ``relabel_actions`` keeps a dataset's states and replaces its actions with another
policy's (the ablation of action quality against state coverage).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from labkit.data.episodes import EpisodeDataset

__all__ = ["ConditionObservation", "one_hot", "relabel_actions", "with_condition"]


def one_hot(index: int, size: int) -> np.ndarray:
    """The condition vector (size,) float32 of variant ``index``."""
    if not 0 <= index < size:
        raise ValueError(f"index must be in [0, {size}). Got {index}.")
    return np.eye(size, dtype=np.float32)[index]


class ConditionObservation(gym.ObservationWrapper):
    """Append a fixed condition vector (C,) to every observation: (D,) -> (D + C,).

    :param env: a gymnasium env with a flat Box observation.
    :param condition: the vector to append, e.g. ``one_hot(v, n_variants)``.
    """

    def __init__(self, env: gym.Env, condition: np.ndarray) -> None:
        super().__init__(env)
        self.condition = np.asarray(condition, dtype=np.float32).reshape(-1)  # (C,)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"ConditionObservation needs a flat Box observation. Got {space}.")
        low = np.concatenate([space.low, np.full_like(self.condition, -np.inf)]).astype(np.float32)
        high = np.concatenate([space.high, np.full_like(self.condition, np.inf)]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.concatenate([observation, self.condition]).astype(np.float32)  # (D + C,)


def _rebuild(ds: EpisodeDataset, observations: np.ndarray, actions: np.ndarray, **meta: Any) -> EpisodeDataset:
    derived = ("obs_dim", "action_dim", "n_episodes", "version")
    metadata = {k: v for k, v in ds.metadata.items() if k not in derived}
    metadata.update(meta)
    return EpisodeDataset(
        observations,
        actions,
        ds.rewards,
        ds.terminations,
        ds.truncations,
        ds.episode_ends,
        dict(ds.episode_fields),
        metadata,
    )


def with_condition(ds: EpisodeDataset, condition: np.ndarray) -> EpisodeDataset:
    """The same episodes with ``condition`` (C,) appended to every observation: (N, D) -> (N, D + C)."""
    cond = np.asarray(condition, dtype=np.float32).reshape(1, -1)  # (1, C)
    obs = np.concatenate([ds.observations, np.repeat(cond, ds.n_steps, axis=0)], axis=1)  # (N, D + C)
    return _rebuild(ds, obs, np.array(ds.actions), condition=cond[0].tolist())


def relabel_actions(ds: EpisodeDataset, labeller_for: Callable[[int], Callable], name: str) -> EpisodeDataset:
    """Keep the states of ``ds``, replace every action by a labeller's action at that state.

    :param labeller_for: ``labeller_for(episode_index) -> policy(obs, rng) -> action``; a policy with a
        ``reset(rng)`` method is reset first. It is called on the episode's states in order, as if it
        had been driving (so stateful scripted experts follow their phases).
    :param name: who labelled (stored as ``metadata["labels"]``).
    """
    actions = np.empty_like(np.asarray(ds.actions))  # (N, A)
    seeds = ds.episode_fields.get("reset_seed", np.arange(len(ds.episode_ends)))
    for i, (a, b) in enumerate(zip(ds.episode_starts, ds.episode_ends)):
        labeller = labeller_for(i)
        rng = np.random.default_rng(int(seeds[i]))
        if hasattr(labeller, "reset"):
            labeller.reset(rng)
        for j in range(a, b):
            actions[j] = labeller(ds.observations[j], rng)
    return _rebuild(ds, np.array(ds.observations), actions, labels=name)
