"""Gymnasium wrappers shared by the kit's RL-on-generative-policy methods."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["ActionChunkWrapper"]


class ActionChunkWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """One ``step`` executes a chunk of ``n_action_steps`` actions; their rewards are summed.

    Used where an agent decides once per chunk: DSRL picks the noise of a whole chunk, DPPO treats
    a chunk as one decision.

    - action: the env's Box tiled Ta times, flattened ``(Ta * A,)``. If the episode ends inside the
      chunk, the rest of the chunk is dropped;
    - observation: the env's own, or with ``n_obs_steps=To`` the last To observations flattened
      ``(To * D,)`` (the first observation of an episode repeated to fill the history);
    - ``info["chunk_steps"]`` = k env steps taken, ``info["chunk_obs"]`` their observations ``(k, D)``.
    """

    def __init__(self, env: gym.Env, n_action_steps: int, n_obs_steps: int | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, n_action_steps=n_action_steps, n_obs_steps=n_obs_steps)
        gym.Wrapper.__init__(self, env)
        box = env.action_space
        if not isinstance(box, spaces.Box) or n_action_steps < 1 or (n_obs_steps is not None and n_obs_steps < 1):
            raise ValueError(
                f"ActionChunkWrapper needs a Box action space, n_action_steps >= 1 and n_obs_steps >= 1 (or None). "
                f"Got {box}, {n_action_steps}, {n_obs_steps}."
            )
        self.n_action_steps, self.action_dim = int(n_action_steps), int(np.prod(box.shape))
        self.n_obs_steps = n_obs_steps
        self.action_space = spaces.Box(np.tile(box.low.ravel(), n_action_steps),
                                       np.tile(box.high.ravel(), n_action_steps), dtype=box.dtype)
        if n_obs_steps is not None:
            obs_dim = env.observation_space.shape[0]
            self.observation_space = spaces.Box(-np.inf, np.inf, (n_obs_steps * obs_dim,), np.float32)
            self._history: deque = deque(maxlen=n_obs_steps)

    def _out(self, obs: np.ndarray) -> np.ndarray:
        if self.n_obs_steps is None:
            return obs
        self._history.append(obs)
        return np.concatenate(list(self._history)).astype(np.float32)  # (To * D,)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        if self.n_obs_steps is not None:
            self._history.clear()
            self._history.extend([obs] * (self.n_obs_steps - 1))
        return self._out(obs), info

    def step(self, action):
        chunk = np.asarray(action, dtype=np.float32).reshape(self.n_action_steps, self.action_dim)  # (Ta, A)
        total, seen = 0.0, []
        for a in chunk:
            obs, reward, terminated, truncated, info = self.env.step(a)
            total += float(reward)
            seen.append(obs)
            if self.n_obs_steps is not None and len(seen) < len(chunk) and not (terminated or truncated):
                self._history.append(obs)  # the history sees every executed step, not only the last
            if terminated or truncated:
                break
        info = dict(info, chunk_obs=np.stack(seen), chunk_steps=len(seen))
        return self._out(obs), total, terminated, truncated, info
