"""See a MuJoCo task through a camera: observations become small ``(3, H, W)`` uint8 frames.

>>> env = PixelObservation(make("labkit/TwoRoutes-v0"), size=64)     # top camera, 64 x 64
>>> frame, info = env.reset(seed=0)       # frame (3, 64, 64) uint8; info["state"] (8,) the true state
>>> env = make("labkit/TwoRoutesPixels-v0")                        # the same, as a registered id

The wrapper owns its own ``mujoco.Renderer`` (one offscreen context, no anti-aliasing) instead of
calling ``env.render()``: on a software OpenGL (Mesa llvmpipe, what ``MUJOCO_GL=egl`` gives on a
laptop without a GPU) the 4x multisampled frame of ``render()`` costs about three times as much.
The frames are channel-first, the layout SB3's ``CnnPolicy`` and torch convolutions expect.
``info["state"]`` keeps the true observation for plots and analysis only; an agent never sees it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from labkit.envs.registry import make
from labkit.envs.two_routes import TwoRoutesEnv

__all__ = ["PixelObservation", "render_frames", "two_routes_pixels"]


class PixelObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Replace a MuJoCo env's observation by a ``(3, size, size)`` uint8 frame from ``camera``.

    :param env: a gymnasium MuJoCo env (``env.unwrapped.model`` and ``.data`` exist).
    :param size: frame height and width in pixels (8 .. the model's offscreen buffer, 480 for TwoRoutes).
    :param camera: name of a camera in the model (TwoRoutes: ``"top"``).
    :param antialias: render with the model's multisampling (slower, smoother edges).
    :param task_id: the task the frames show (default ``env.spec.id``); a frozen representation checks it.
    """

    def __init__(
        self, env: gym.Env, size: int = 64, camera: str = "top", antialias: bool = False, task_id: str | None = None
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, size=size, camera=camera, antialias=antialias, task_id=task_id)
        gym.ObservationWrapper.__init__(self, env)
        self._base: Any = env.unwrapped  # a MujocoEnv: has model and data
        model = getattr(self._base, "model", None)
        if not isinstance(model, mujoco.MjModel):
            raise TypeError(
                f"PixelObservation needs a MuJoCo env (env.unwrapped.model). Got {type(env.unwrapped).__name__}."
            )
        limit = min(int(model.vis.global_.offwidth), int(model.vis.global_.offheight))
        if not 8 <= int(size) <= limit:
            raise ValueError(f"size must be between 8 and the model's offscreen buffer ({limit}). Got {size}.")
        names = [model.camera(i).name for i in range(model.ncam)]
        if camera not in names:
            raise ValueError(f"camera {camera!r} is not in the model; its cameras are {names}.")
        self.size, self.camera, self.antialias = int(size), camera, bool(antialias)
        self.task_id = task_id if task_id is not None else (env.spec.id if env.spec is not None else None)
        self.observation_space = spaces.Box(0, 255, shape=(3, self.size, self.size), dtype=np.uint8)
        self._renderer: mujoco.Renderer | None = None

    def _frame(self) -> np.ndarray:
        if self._renderer is None:  # lazily, so that a pickled / vectorised copy makes its own context
            model = self._base.model
            samples = model.vis.quality.offsamples
            if not self.antialias:
                model.vis.quality.offsamples = 0  # read once, when the context is made
            try:
                self._renderer = mujoco.Renderer(model, self.size, self.size)
            finally:
                model.vis.quality.offsamples = samples
        self._renderer.update_scene(self._base.data, camera=self.camera)
        return np.ascontiguousarray(self._renderer.render().transpose(2, 0, 1))  # (H, W, 3) -> (3, H, W)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self._frame()

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._frame(), dict(info, state=np.asarray(obs, dtype=np.float32))

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._frame(), reward, terminated, truncated, dict(info, state=np.asarray(obs, dtype=np.float32))

    def frames_at(self, positions: np.ndarray, velocities: np.ndarray | None = None) -> np.ndarray:
        """Frames ``(N, 3, size, size)`` uint8 of the robot put at each of ``positions`` ``(N, 2)``.

        Uses ``env.unwrapped.observation_at(pos, vel)`` (TwoRoutes has it), so it moves the robot:
        call it on an env you are not stepping through an episode.
        """
        base = self.env.unwrapped
        if not hasattr(base, "observation_at"):
            raise TypeError(
                f"{type(base).__name__} has no observation_at(position, velocity); render states of TwoRoutes."
            )
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)  # (N, 2)
        velocities = (
            np.zeros_like(positions) if velocities is None else np.asarray(velocities, np.float64).reshape(-1, 2)
        )
        out = np.empty((len(positions), 3, self.size, self.size), dtype=np.uint8)  # (N, 3, H, W)
        for i, (p, v) in enumerate(zip(positions, velocities)):
            base.observation_at(p, v)
            out[i] = self._frame()
        return out

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        super().close()


def render_frames(
    env_id: str, positions: np.ndarray, velocities: np.ndarray | None = None, size: int = 64, **env_kwargs
) -> np.ndarray:
    """Frames ``(N, 3, size, size)`` uint8 of ``env_id``'s robot at ``positions`` ``(N, 2)`` (a fresh env)."""
    env = PixelObservation(make(env_id, **env_kwargs), size=size)
    try:
        env.reset(seed=0)
        return env.frames_at(positions, velocities)
    finally:
        env.close()


def two_routes_pixels(size: int = 64, **task_kwargs) -> PixelObservation:
    """The entry point of ``labkit/TwoRoutesPixels-v0``: TwoRoutes (``task_kwargs`` as for ``TwoRoutesEnv``) seen
    through its top camera as ``(3, size, size)`` uint8 frames (the registry adds the 100-step limit)."""
    return PixelObservation(TwoRoutesEnv(**task_kwargs), size=size, task_id="labkit/TwoRoutes-v0")
