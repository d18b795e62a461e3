"""Small top-view frames of TwoRoutes at any robot position: real MuJoCo renders, cheap enough per step.

``StateRenderer`` keeps its own copy of the task's MuJoCo model and data and a ``mujoco.Renderer``
at ``size x size`` pixels. ``render(positions)`` puts the robot at each position ``(x, y)``, runs the
kinematics and renders through the env's ``top`` camera: the same picture ``env.render()`` shows,
only smaller. A frame is a function of the robot's position (velocity is invisible in one frame),
so a reward model built on frames can be asked about any observation, including probe states for
heat maps, without touching the envs the agent acts in.

Cost: the software rasteriser (llvmpipe on a CPU-only machine) spends most of a frame on
multisampling and shadows; without them a 64 x 64 frame costs about a third (measured in
``benchmarks/rewards.py``) and looks the same apart from anti-aliasing.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from labkit.envs.registry import make

__all__ = ["StateRenderer"]


def _mujoco():
    """mujoco, imported on first use: with a broken rendering backend its import fails, and ``import labkit``
    (and ``python -m labkit doctor``, which names the fix) must still work there (as in ``labkit.envs``)."""
    return importlib.import_module("mujoco")


class StateRenderer:
    """Render ``(N, size, size, 3)`` uint8 frames of a TwoRoutes-family task at robot positions.

    :param env_id: the task whose scene (walls, cup, goal marker) is drawn.
    :param size: frame width and height in pixels.
    :param env_kwargs: options of the task (e.g. ``obstacle=(0.12, 0)``), as for ``make``.
    """

    def __init__(self, env_id: str = "labkit/TwoRoutes-v0", size: int = 64, env_kwargs: dict | None = None) -> None:
        if size < 8:
            raise ValueError(f"size must be >= 8 pixels. Got {size}.")
        self.env_id, self.size, self.env_kwargs = env_id, int(size), dict(env_kwargs or {})
        self._env = make(env_id, **self.env_kwargs)  # keeps the model (with goal / cup moved) alive
        scene: Any = self._env.unwrapped  # the MujocoEnv under the wrappers
        self.model = scene.model
        self.model.vis.quality.offsamples = 0  # no multisampling: same picture, less than half the cost
        mujoco = _mujoco()
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, self.size, self.size)
        for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION):
            self.renderer.scene.flags[flag] = False  # flat top view: shadows and reflections add nothing

    def render(self, positions: np.ndarray) -> np.ndarray:
        """Frames ``(N, size, size, 3)`` uint8 for robot positions ``(N, 2)`` (or one ``(2,)``)."""
        pos = np.asarray(positions, dtype=np.float64)
        single = pos.ndim == 1
        pos = pos.reshape(-1, 2)  # (N, 2)
        out = np.empty((len(pos), self.size, self.size, 3), dtype=np.uint8)
        mujoco = _mujoco()
        for i, p in enumerate(pos):
            self.data.qpos[:2] = p
            self.data.qvel[:] = 0.0
            mujoco.mj_kinematics(self.model, self.data)
            mujoco.mj_camlight(self.model, self.data)  # the camera pose (mj_kinematics leaves it out)
            self.renderer.update_scene(self.data, camera="top")
            out[i] = self.renderer.render()
        return out[0] if single else out

    def close(self) -> None:
        self.renderer.close()
        self._env.close()

    def __getstate__(self) -> dict:  # a copy (deepcopy, pickling) rebuilds its own GL renderer
        return {"env_id": self.env_id, "size": self.size, "env_kwargs": self.env_kwargs}

    def __setstate__(self, state: dict) -> None:
        StateRenderer.__init__(self, state["env_id"], state["size"], state["env_kwargs"])
