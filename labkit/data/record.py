"""Record episodes step by step, then freeze them into an :class:`~labkit.data.episodes.EpisodeDataset`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit.data.episodes import STEP_ARRAYS, EpisodeDataset

__all__ = ["EpisodeRecorder"]


class EpisodeRecorder:
    """Append steps, close episodes, then freeze everything into an :class:`EpisodeDataset`.

    Example::

        rec = EpisodeRecorder()
        obs, info = env.reset(seed=0)
        while True:
            action = policy(obs)
            next_obs, reward, terminated, truncated, info = env.step(action)
            rec.add_step(obs, action, reward, terminated, truncated, info)
            obs = next_obs
            if terminated or truncated:
                break
        rec.end_episode({"success": info["is_success"]}, final_observation=obs)
        ds = rec.to_dataset({"env_id": ..., "expert": ..., "seed": 0, "created_with": ...})
    """

    def __init__(self) -> None:
        self._steps: dict[str, list] = {name: [] for name in STEP_ARRAYS}
        self._episode_ends: list[int] = []
        self._extras: list[dict[str, Any]] = []
        self._current = 0  # steps in the open episode
        self.last_info: dict[str, Any] = {}

    @property
    def n_episodes(self) -> int:
        """Number of closed episodes."""
        return len(self._episode_ends)

    @property
    def in_episode(self) -> bool:
        """True when steps were added since the last :meth:`end_episode`."""
        return self._current > 0

    def add_step(
        self,
        obs: Any,
        action: Any,
        reward: float,
        terminated: bool,
        truncated: bool,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Record one step; ``obs`` is the observation the action was chosen from (not the next one)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1)  # (obs_dim,)
        action = np.asarray(action, dtype=np.float32).reshape(-1)  # (act_dim,)
        if self._steps["observations"]:
            for name, value in (("observations", obs), ("actions", action)):
                expected = self._steps[name][0].shape
                if value.shape != expected:
                    raise ValueError(f"{name[:-1]} has shape {value.shape} but earlier steps had {expected}.")
        self._steps["observations"].append(obs)
        self._steps["actions"].append(action)
        self._steps["rewards"].append(float(reward))
        self._steps["terminations"].append(bool(terminated))
        self._steps["truncations"].append(bool(truncated))
        self.last_info = dict(info or {})
        self._current += 1

    def end_episode(self, extra: Mapping[str, Any] | None = None, final_observation: Any = None) -> None:
        """Close the open episode.

        :param extra: per-episode values (``success``, ``route`` ...); every episode needs the same keys.
        :param final_observation: the observation after the last step (kept as the per-episode field
            ``final_observation``; needed to export to Minari, which stores N+1 observations).
        """
        if self._current == 0:
            raise ValueError("end_episode() called with no steps recorded since the last episode.")
        extra = dict(extra or {})
        if final_observation is not None:
            extra["final_observation"] = np.asarray(final_observation, dtype=np.float32).reshape(-1)
        if self._extras and set(extra) != set(self._extras[0]):
            raise ValueError(
                f"episode {self.n_episodes} has per-episode keys {sorted(extra)} but the first "
                f"episode had {sorted(self._extras[0])}; every episode needs the same keys."
            )
        self._extras.append(extra)
        self._episode_ends.append(len(self._steps["rewards"]))
        self._current = 0

    def discard_episode(self) -> None:
        """Drop the steps of the open episode (e.g. after an exception mid-rollout)."""
        keep = self._episode_ends[-1] if self._episode_ends else 0
        for values in self._steps.values():
            del values[keep:]
        self._current = 0

    def to_dataset(self, metadata: Mapping[str, Any]) -> EpisodeDataset:
        """Freeze the closed episodes (an open episode is an error: end or discard it first)."""
        if self.in_episode:
            raise ValueError("an episode is still open; call end_episode() or discard_episode() first.")
        if not self._episode_ends:
            raise ValueError("no episodes recorded.")
        fields = {k: np.stack([np.asarray(e[k]) for e in self._extras]) for k in self._extras[0]}
        return EpisodeDataset(
            observations=np.stack(self._steps["observations"]),
            actions=np.stack(self._steps["actions"]),
            rewards=np.asarray(self._steps["rewards"], dtype=np.float32),
            terminations=np.asarray(self._steps["terminations"], dtype=bool),
            truncations=np.asarray(self._steps["truncations"], dtype=bool),
            episode_ends=np.asarray(self._episode_ends, dtype=np.int64),
            episode_fields=fields,
            metadata=metadata,
        )
