"""Videos without actions: episodes of frames, the data a representation learns from.

::

    frames        (N, 3, S, S)  uint8    every frame of every episode, episodes back to back
    states        (N, D)        float32  the true observation behind each frame (plots only)
    episode_ends  (E,)          int64    exclusive end of each episode (its last frame is the
                                         observation after the final action: T actions, T + 1 frames)

No actions and no rewards: VIP and an autoencoder need only the pictures (and VIP their order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FrameDataset"]


@dataclass
class FrameDataset:
    """Frames of whole episodes (see the module docstring for the layout).

    :param frames: ``(N, 3, S, S)`` uint8.
    :param states: ``(N, D)`` float32, the true state behind each frame.
    :param episode_ends: ``(E,)`` strictly increasing exclusive ends, the last equal to N.
    :param env_id: the task the frames show.
    :param source: where they come from (e.g. ``"two_routes_demos"``).
    """

    frames: np.ndarray
    states: np.ndarray
    episode_ends: np.ndarray
    env_id: str
    source: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames)
        self.states = np.asarray(self.states, dtype=np.float32)
        self.episode_ends = np.asarray(self.episode_ends, dtype=np.int64)
        n = len(self.frames)
        if self.frames.ndim != 4 or self.frames.shape[1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, 3, S, S) uint8. Got {self.frames.shape} {self.frames.dtype}.")
        if len(self.states) != n:
            raise ValueError(f"states must have one row per frame ({n}). Got {len(self.states)}.")
        ends = self.episode_ends
        if len(ends) == 0 or ends[-1] != n or np.any(np.diff(np.r_[0, ends]) < 2):
            raise ValueError(f"episode_ends must increase by >= 2 frames per episode and end at {n}. Got {ends[-5:]}.")

    @property
    def image_size(self) -> int:
        return int(self.frames.shape[-1])

    @property
    def episode_starts(self) -> np.ndarray:
        return np.r_[0, self.episode_ends[:-1]]

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def n_episodes(self) -> int:
        return len(self.episode_ends)

    def episode(self, i: int) -> slice:
        """The slice of episode ``i`` in ``frames`` / ``states``."""
        return slice(int(self.episode_starts[i]), int(self.episode_ends[i]))

    def sample_vip(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        """Indices ``(B, 4)`` of VIP's quadruple per sample: (first o_0, goal g, o_t, o_t+1).

        A random sub-clip ``[start, end]`` of a random episode; its last frame is the goal, its first
        the start; ``t`` is uniform in ``[start, end)``. Every sub-clip's end counts as a goal, so a
        video teaches the distance to every frame it reaches, not only to the task's goal.
        """
        ep = rng.integers(0, self.n_episodes, size=batch_size)
        s0, length = self.episode_starts[ep], self.episode_ends[ep] - self.episode_starts[ep]
        start = rng.integers(0, length - 1)  # in [0, L-2]
        end = start + 1 + (rng.random(batch_size) * (length - 1 - start)).astype(np.int64)  # in [start+1, L-1]
        t = start + (rng.random(batch_size) * (end - start)).astype(np.int64)  # in [start, end-1]
        return np.stack([s0 + start, s0 + end, s0 + t, s0 + t + 1], axis=1)  # (B, 4)

    def subset(self, episodes: np.ndarray | list[int]) -> FrameDataset:
        """A new dataset with only the given episodes (in that order)."""
        parts = [self.episode(int(i)) for i in episodes]
        lengths = [p.stop - p.start for p in parts]
        return FrameDataset(
            np.concatenate([self.frames[p] for p in parts]),
            np.concatenate([self.states[p] for p in parts]),
            np.cumsum(lengths),
            self.env_id,
            self.source,
            dict(self.info),
        )
