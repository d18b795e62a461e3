"""A mixed-quality dataset for offline RL on ``labkit/TwoRoutes-v0``.

Three kinds of episodes, each tagged in the per-episode field ``quality``:

- ``"expert"``: the scripted expert (both routes, small noise); always reaches the goal;
- ``"noisy"``: the same expert with large action noise (std 1.0); slow, and fails sometimes;
- ``"failing"``: :class:`StraightUpPolicy`, which drives like the expert towards the obstacle
  but never turns: straight up into the cup's pocket, where it stays until the time limit. It is
  the "average of the two routes" that Gaussian BC learns in notebook 03, recorded as data.

Behaviour cloning copies all three (a diffusion policy faithfully reproduces the failing mode as
well); offline RL uses the rewards to prefer the actions that lead round the obstacle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.data import EpisodeDataset, collect_episodes, concat_datasets

__all__ = ["StraightUpPolicy", "collect_mixed_dataset", "QUALITIES"]

QUALITIES = ("expert", "noisy", "failing")
"""The values of the per-episode field ``quality``."""


@dataclass
class StraightUpPolicy:
    """Head for the obstacle's reference point (inside the cup) and push on: the averaged route.

    A proportional controller like ``TwoRoutesExpert``'s (same gain, speed capped at 1), whose
    only waypoint is ``obstacle + (0, 0.02)``; it reads the observation, so it works on shifted
    variants too.

    :param noise: standard deviation of Gaussian noise added to every action.
    :param gain: proportional gain from position error (m) to action.
    """

    noise: float = 0.1
    gain: float = 10.0

    def reset(self, rng: np.random.Generator) -> None:
        """Nothing to remember between episodes."""

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        to_target = np.asarray(obs[6:8], dtype=np.float64) + np.array([0.0, 0.02])  # obstacle - pos, nudged up
        action = self.gain * to_target
        norm = np.linalg.norm(action)
        if norm > 1.0:  # keep the direction, cap the speed
            action = action / norm
        action = action + rng.normal(0.0, self.noise, size=2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


def collect_mixed_dataset(
    n_expert: int = 100,
    n_noisy: int = 100,
    n_failing: int = 150,
    *,
    seed: int = 0,
    env_id: str = "labkit/TwoRoutes-v0",
    noisy_std: float = 1.0,
    created_with: str = "",
    progress: bool = True,
) -> EpisodeDataset:
    """Record expert, noisy-expert and failing episodes; tag them in ``episode_fields["quality"]``.

    Episode seeds are disjoint: ``seed + i`` for the experts, ``seed + 10_000 + i`` for the noisy
    experts, ``seed + 20_000 + i`` for the failing policy.

    :param n_expert: episodes of ``TwoRoutesExpert(noise=0.1)``.
    :param n_noisy: episodes of ``TwoRoutesExpert(noise=noisy_std)``.
    :param n_failing: episodes of ``StraightUpPolicy()``.
    :param created_with: the command that regenerates the dataset (stored in the metadata).
    :return: one ``EpisodeDataset`` with per-episode fields ``success``, ``route``, ``reset_seed``,
        ``final_observation`` and ``quality``.
    """
    from labkit.envs import make
    from labkit.envs.experts import TwoRoutesExpert

    env = make(env_id)
    parts = []
    for quality, policy, n, offset in (
        ("expert", TwoRoutesExpert(noise=0.1), n_expert, 0),
        ("noisy", TwoRoutesExpert(noise=noisy_std), n_noisy, 10_000),
        ("failing", StraightUpPolicy(), n_failing, 20_000),
    ):
        if n < 1:
            raise ValueError(f"every quality needs at least one episode. Got {n} for {quality!r}.")
        ds = collect_episodes(env, policy, n, seed=seed + offset, expert_name=f"{quality}:{policy!r}",
                              created_with=created_with, progress=progress)
        parts.append((ds, quality))
    env.close()
    mixed = concat_datasets([ds for ds, _ in parts])
    quality = np.concatenate([np.full(len(ds), q) for ds, q in parts])  # (E,) str
    meta = {k: v for k, v in mixed.metadata.items() if k not in ("obs_dim", "action_dim", "n_episodes", "version")}
    meta["expert"] = "mixed: " + ", ".join(f"{len(ds)} {q}" for ds, q in parts)
    return EpisodeDataset(
        mixed.observations, mixed.actions, mixed.rewards, mixed.terminations, mixed.truncations,
        mixed.episode_ends, episode_fields={**mixed.episode_fields, "quality": quality}, metadata=meta,
    )
