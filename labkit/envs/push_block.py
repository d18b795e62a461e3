"""``labkit/PushBlock-v0``: push a square block into a target pose (position and orientation).

Top view (metres)::

        +-------------------------------+  y = +0.32 (walls)
        |                               |
        |              [T]              |  target: the block's pose, drawn translucent green,
        |                               |  (0, 0.10), angle 0 by default
        |                               |
        |             [###]             |  block: 8 cm square, starts near (0, -0.08),
        |                               |  +-6 cm in x, +-4 cm in y, +-0.6 rad
        |    (o)                        |  pusher: 3 cm disk, starts anywhere >= 12 cm away
        +-------------------------------+  y = -0.32

A disk "pusher" is driven by velocity servos on two slide joints (as in ``TwoRoutes``). The block
slides on the table on three joints (x, y, rotation about z); floor friction is modelled by joint
damping and frictionloss, so the block stops as soon as it is not pushed. Pushing through the
block's centre moves it straight; pushing off-centre also turns it. The contact-rich dynamics
(sticking, sliding, turning) make this the kit's "Push-T"-like task.

The square looks the same every quarter turn, so orientation is compared modulo ``pi / 2``:
``angle_error`` lies in ``[-pi/4, pi/4]``.

- action ``(2,)`` in [-1, 1]: desired pusher velocity, scaled by ``max_speed`` (0.3 m/s); values outside
  [-1, 1] are clipped (motor limits), NaN or inf raise a ``ValueError``;
- observation ``(13,)`` float32::

      [0:2]   pusher x, y                    [2:4]   pusher vx, vy
      [4:6]   block x, y                     [6:8]   cos(block angle), sin(block angle)
      [8:10]  block - pusher (x, y)          [10:12] target - block (x, y)
      [12]    angle_error = target angle - block angle, wrapped to [-pi/4, pi/4]

- reward per step::

      10 * (position_error_prev - position_error)       # block moves towards the target
    +  2 * (|angle_error_prev| - |angle_error|)         # block turns towards the target
    -  0.2 * max(0, |block - pusher| - reach)           # stay in touch (reach = 7 cm)
    -  0.01                                             # time
    +  5 on success

- terminated on success: ``position_error < position_tolerance`` (2.5 cm) and
  ``|angle_error| < angle_tolerance`` (0.25 rad); ``info["is_success"] = True``;
  truncated after 200 steps (10 s at 20 Hz) by the registered ``TimeLimit``;
- ``info["position_error"]`` (m) and ``info["angle_error"]`` (rad, absolute) at every step.

``target``, ``target_angle``, ``block_start``, ``block_noise``, ``angle_noise`` and the tolerances
are constructor arguments, so a variant is one keyword away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gymnasium import spaces
from gymnasium.envs.mujoco import MujocoEnv

from labkit.envs.actions import validate_action

ASSET = Path(__file__).parent / "assets" / "push_block.xml"

#: The square block is symmetric under quarter turns.
SYMMETRY = np.pi / 2


def wrap_angle(angle: float, period: float = SYMMETRY) -> float:
    """Wrap ``angle`` to ``[-period/2, period/2)`` (default: a quarter turn, the square's symmetry)."""
    return float((angle + period / 2) % period - period / 2)


class PushBlockEnv(MujocoEnv):
    """The planar pushing task. See the module docstring for spaces and reward."""

    metadata = {"render_modes": ["rgb_array", "depth_array"], "render_fps": 20}

    def __init__(
        self,
        target: tuple[float, float] = (0.0, 0.10),
        target_angle: float = 0.0,
        block_start: tuple[float, float] = (0.0, -0.08),
        block_noise: tuple[float, float] = (0.06, 0.04),
        angle_noise: float = 0.6,
        pusher_clearance: float = 0.12,
        position_tolerance: float = 0.025,
        angle_tolerance: float = 0.25,
        max_speed: float = 0.3,
        render_mode: str | None = None,
        width: int = 240,
        height: int = 240,
    ):
        """:param target: target block position (m).
        :param target_angle: target block angle (rad); only its value modulo ``pi/2`` matters.
        :param block_start: centre of the block's start positions (m).
        :param block_noise: half-widths (m) of the uniform box the start position is drawn from.
        :param angle_noise: the start angle is uniform in ``[-angle_noise, angle_noise]`` (rad).
        :param pusher_clearance: the pusher starts at least this far from the block's centre (m).
        :param position_tolerance: success radius for the block's centre (m).
        :param angle_tolerance: success tolerance for ``|angle_error|`` (rad).
        :param max_speed: pusher speed (m/s) for an action of norm 1 per axis.
        """
        self.target = np.asarray(target, dtype=np.float64)
        self.target_angle = float(target_angle)
        self.block_start = np.asarray(block_start, dtype=np.float64)
        self.block_noise = np.asarray(block_noise, dtype=np.float64)
        self.angle_noise = float(angle_noise)
        self.pusher_clearance = float(pusher_clearance)
        self.position_tolerance = float(position_tolerance)
        self.angle_tolerance = float(angle_tolerance)
        self.max_speed = float(max_speed)
        self.reach = 0.07
        if self.block_noise.shape != (2,) or (self.block_noise < 0).any():
            raise ValueError(f"block_noise must be two non-negative half-widths. Got {block_noise}.")
        obs_space = spaces.Box(-np.inf, np.inf, shape=(13,), dtype=np.float32)
        super().__init__(
            str(ASSET),
            frame_skip=10,  # 10 x 5 ms = 50 ms per step: 20 Hz
            observation_space=obs_space,
            render_mode=render_mode,
            width=width,
            height=height,
            camera_name="top",
        )
        # The policy acts in [-1, 1]; MujocoEnv set action_space from the actuators' ctrlrange.
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.model.actuator_ctrlrange[:] = [[-self.max_speed, self.max_speed]] * 2
        # Draw the target marker at this instance's target pose.
        self.model.site("target").pos[:2] = self.target
        half = self.target_angle / 2
        self.model.site("target").quat[:] = [np.cos(half), 0.0, 0.0, np.sin(half)]
        adr = lambda name: int(self.model.joint(name).qposadr[0])  # noqa: E731
        self._block_q = np.array([adr("block_x"), adr("block_y"), adr("block_rot")])
        self._pusher_q = np.array([adr("pusher_x"), adr("pusher_y")])
        self._pusher_v = np.array([int(self.model.joint(n).dofadr[0]) for n in ("pusher_x", "pusher_y")])
        self.arena_half = float(self.model.geom("wall_e").pos[0] - self.model.geom("wall_e").size[0])
        self._prev_pos_err = 0.0
        self._prev_ang_err = 0.0

    # --- helpers -------------------------------------------------------------------------
    @property
    def pusher_position(self) -> np.ndarray:
        return self.data.qpos[self._pusher_q].copy()

    @property
    def block_pose(self) -> np.ndarray:
        """``(x, y, angle)`` of the block."""
        return self.data.qpos[self._block_q].copy()

    def _errors(self) -> tuple[float, float]:
        """Position error (m) and signed angle error (rad, modulo the square's symmetry)."""
        x, y, angle = self.data.qpos[self._block_q]
        pos_err = float(np.hypot(self.target[0] - x, self.target[1] - y))
        return pos_err, wrap_angle(self.target_angle - angle)

    def _get_obs(self) -> np.ndarray:
        pusher = self.data.qpos[self._pusher_q]
        pusher_vel = self.data.qvel[self._pusher_v]
        x, y, angle = self.data.qpos[self._block_q]
        block = np.array([x, y])
        _, ang_err = self._errors()
        return np.concatenate(
            [pusher, pusher_vel, block, [np.cos(angle), np.sin(angle)], block - pusher, self.target - block, [ang_err]]
        ).astype(np.float32)

    def _info(self) -> dict:
        pos_err, ang_err = self._errors()
        success = pos_err < self.position_tolerance and abs(ang_err) < self.angle_tolerance
        return {"is_success": bool(success), "position_error": pos_err, "angle_error": abs(ang_err)}

    # --- gymnasium API ---------------------------------------------------------------------
    def reset_model(self) -> np.ndarray:
        rng = self.np_random
        block = self.block_start + rng.uniform(-1.0, 1.0, size=2) * self.block_noise
        angle = rng.uniform(-self.angle_noise, self.angle_noise)
        # The pusher starts anywhere on the table, but not on top of the block (rejection sampling).
        lim = self.arena_half - 0.03
        for _ in range(100):
            pusher = rng.uniform(-lim, lim, size=2)
            if np.linalg.norm(pusher - block) >= self.pusher_clearance:
                break
        qpos = self.init_qpos.copy()
        qpos[self._block_q] = [block[0], block[1], angle]
        qpos[self._pusher_q] = pusher
        self.set_state(qpos, np.zeros(self.model.nv))
        self._prev_pos_err, ang_err = self._errors()
        self._prev_ang_err = abs(ang_err)
        return self._get_obs()

    def step(self, action):
        ctrl = validate_action(action, "PushBlock") * self.max_speed
        self.do_simulation(ctrl, self.frame_skip)
        info = self._info()
        pos_err, ang_err = info["position_error"], info["angle_error"]
        gap = np.linalg.norm(self.data.qpos[self._block_q[:2]] - self.data.qpos[self._pusher_q])
        reward = (
            10.0 * (self._prev_pos_err - pos_err)
            + 2.0 * (self._prev_ang_err - ang_err)
            - 0.2 * max(0.0, gap - self.reach)
            - 0.01
            + (5.0 if info["is_success"] else 0.0)
        )
        self._prev_pos_err, self._prev_ang_err = pos_err, ang_err
        return self._get_obs(), float(reward), info["is_success"], False, info

    def _get_reset_info(self) -> dict:
        return self._info()
