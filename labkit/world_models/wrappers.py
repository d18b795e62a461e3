"""Put a frozen representation between a pixel env and an agent, or use it as the reward.

::

    pixel env --(3, S, S) frame--> LatentObservation(rep) --z (latent_dim,)--> SB3 MlpPolicy
    pixel env --frame o'--> VIPReward(rep, goal) --reward d(o, g) - d(o', g)--> any agent

Both check, when they are built, that the representation was trained on this task and frame size
(:class:`RepresentationMismatchError` otherwise). The env must hand out channel-first uint8 frames,
as ``PixelObservation`` does; its ``task_id`` (else ``env.spec.id``) names the task.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from labkit.world_models.representation import Representation

__all__ = ["LatentObservation", "VIPReward", "frame_size_of", "task_of"]


def task_of(env: gym.Env) -> str | None:
    """The task an env's frames show: ``PixelObservation.task_id`` if a wrapper has it, else ``env.spec.id``."""
    try:
        task = env.get_wrapper_attr("task_id")
    except AttributeError:
        task = None
    return task if task is not None else (env.spec.id if env.spec is not None else None)


def frame_size_of(env: gym.Env) -> int:
    """The side of the env's ``(3, S, S)`` uint8 frame observations; a clear error for anything else."""
    space = env.observation_space
    if not (
        isinstance(space, spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and space.shape[0] == 3
        and space.shape[1] == space.shape[2]
    ):
        raise ValueError(f"expected an env with (3, S, S) uint8 frames (wrap it in PixelObservation). Got {space}.")
    return int(space.shape[1])


class LatentObservation(gym.ObservationWrapper):
    """Observation = ``rep.encode(frame)``, the standardised latent ``(latent_dim,)`` float32 (frozen)."""

    def __init__(self, env: gym.Env, representation: Representation) -> None:
        super().__init__(env)
        representation.check(task_of(env), frame_size_of(env))
        self.representation = representation.eval()
        d = representation.latent_dim
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(d,), dtype=np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.representation.encode(observation[None])[0]  # (1, 3, S, S) -> (d,)


class VIPReward(gym.Wrapper):
    """Replace the reward by VIP's: ``scale * (d(o, g) - d(o', g))``, ``d(o, g) = ||phi(o) - phi(g)||``.

    :param goal_frame: ``(3, S, S)`` uint8, a picture of the goal reached.
    :param scale: a constant factor (the reward's units are embedding lengths).
    ``info["true_reward"]`` keeps the task's reward, ``info["vip_distance"]`` ``d(o', g)``.
    """

    def __init__(
        self, env: gym.Env, representation: Representation, goal_frame: np.ndarray, scale: float = 1.0
    ) -> None:
        super().__init__(env)
        size = frame_size_of(env)
        representation.check(task_of(env), size)
        goal_frame = np.asarray(goal_frame)
        if goal_frame.shape != (3, size, size):
            raise ValueError(f"goal_frame must have shape (3, {size}, {size}). Got {goal_frame.shape}.")
        self.representation, self.goal_frame, self.scale = representation.eval(), goal_frame, float(scale)
        self._last = 0.0

    def _distance(self, frame: np.ndarray) -> float:
        return float(self.representation.distance(frame[None], self.goal_frame)[0])

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._last = self._distance(obs)
        return obs, dict(info, vip_distance=self._last)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        d = self._distance(obs)
        vip_reward, self._last = self.scale * (self._last - d), d
        return obs, vip_reward, terminated, truncated, dict(info, true_reward=float(reward), vip_distance=d)
