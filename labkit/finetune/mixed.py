"""A mixed-quality dataset for offline RL on ``labkit/TwoRoutes-v0``.

Three kinds of episodes, each tagged in the per-episode field ``quality``:

- ``"expert"``: the scripted expert (both routes, small noise); always reaches the goal;
- ``"noisy"``: the same expert with large action noise (std 1.0); slow, and fails sometimes;
- ``"failing"``: :class:`StraightUpPolicy`, which drives exactly like the expert to the split
  point but never turns: straight up into the cup's pocket, where it stays until the time limit.
  It is the "average of the two routes" that Gaussian BC learns in notebook 03, recorded as data.

At the split point the data holds three modes (left, right, up) for the same states; only the
rewards tell the failing one apart.

Behaviour cloning copies all three (a diffusion policy faithfully reproduces the failing mode as
well); offline RL uses the rewards to prefer the actions that lead round the obstacle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from labkit.data import EpisodeDataset, collect_episodes, concat_datasets

__all__ = ["StraightUpPolicy", "collect_mixed_dataset", "QUALITIES"]

QUALITIES = ("expert", "noisy", "failing")
"""The values of the per-episode field ``quality``."""


@dataclass
class StraightUpPolicy:
    """Drive exactly like the expert to its split point, then keep going up into the cup's pocket.

    A proportional controller like ``TwoRoutesExpert``'s (same gain, speed capped at 1) with two
    waypoints: the expert's split point ``obstacle - (0, 0.2)`` (so up to there the failing episodes
    are indistinguishable from the expert's: same positions, same speeds), then
    ``obstacle + (0, 0.02)``, inside the cup. At the split the data therefore holds three actions for
    the same state - left, right and up - and only the rewards say which one is wrong. It reads the
    observation, so it works on shifted variants too.

    :param noise: standard deviation of Gaussian noise added to every action.
    :param gain: proportional gain from position error (m) to action.
    :param split_depth: how far below the obstacle's reference point the split point lies (m).
    """

    noise: float = 0.1
    gain: float = 10.0
    split_depth: float = 0.2
    _phase: int = field(default=0, init=False, repr=False)

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode heading for the split point."""
        self._phase = 0

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        pos, to_obst = obs[:2], obs[6:8]
        split = pos + to_obst - np.array([0.0, self.split_depth])
        if self._phase == 0 and pos[1] > split[1] - 0.02:  # the expert's switching rule
            self._phase = 1
        to_target = (split - pos) if self._phase == 0 else to_obst + np.array([0.0, 0.02])
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
