"""Gymnasium wrappers shared by the kit: execute a chunk of actions as one step; record frames.

Observation histories are not kept here: the one history/queue executor is
``labkit.policies.ChunkRunner`` (and its ``ObsHistory``), which every runner and SB3 wrapper uses.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["ActionChunkWrapper", "FrameRecorder"]


class ActionChunkWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """One ``step`` executes a chunk of ``n_action_steps`` actions; their rewards are summed.

    Used where an agent decides once per chunk: DSRL picks the noise of a whole chunk, DPPO treats
    a chunk as one decision.

    - action: the env's Box tiled Ta times, flattened ``(Ta * A,)``. If the episode ends inside the
      chunk, the rest of the chunk is dropped;
    - observation: the env's own (the one after the chunk);
    - ``info["chunk_steps"]`` = k env steps taken, ``info["chunk_obs"]`` their observations ``(k, D)``
      (so a history can see every executed step, not only the last).
    """

    def __init__(self, env: gym.Env, n_action_steps: int) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, n_action_steps=n_action_steps)
        gym.Wrapper.__init__(self, env)
        box = env.action_space
        if (
            not isinstance(box, spaces.Box)
            or isinstance(n_action_steps, bool)
            or int(n_action_steps) != n_action_steps
            or n_action_steps < 1
        ):
            raise ValueError(
                f"ActionChunkWrapper needs a Box action space and an integer n_action_steps >= 1. "
                f"Got {box} and {n_action_steps!r}."
            )
        self.n_action_steps, self.action_dim = int(n_action_steps), int(np.prod(box.shape))
        self.action_space = spaces.Box(
            np.tile(box.low.ravel(), self.n_action_steps),
            np.tile(box.high.ravel(), self.n_action_steps),
            dtype=box.dtype,
        )

    def step(self, action):
        chunk = np.asarray(action, dtype=np.float32).reshape(self.n_action_steps, self.action_dim)  # (Ta, A)
        total, seen = 0.0, []
        for a in chunk:
            obs, reward, terminated, truncated, info = self.env.step(a)
            total += float(reward)
            seen.append(obs)
            if terminated or truncated:
                break
        info = dict(info, chunk_obs=np.stack(seen), chunk_steps=len(seen))
        return obs, total, terminated, truncated, info


class FrameRecorder(gym.Wrapper):
    """Records ``env.render()`` after reset and every step; finished episodes go to ``episodes``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError(f"FrameRecorder needs an env made with render_mode='rgb_array'. Got {env.render_mode!r}.")
        self.frames: list[np.ndarray] = []  # the current episode
        self.episodes: list[list[np.ndarray]] = []  # finished ones (closed by the next reset)

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        if self.frames:
            self.episodes.append(self.frames)
        self.frames = [self.env.render()]
        return out

    def step(self, action):
        out = self.env.step(action)
        self.frames.append(self.env.render())
        return out
