"""``labkit/TwoRoutes-v0``: reach a goal behind an obstacle; two equally good routes.

Top view (metres)::

        +-----------------------------+  y = +0.5
        |            (G)              |  goal, radius 0.05, at (0, 0.35)
        |                             |
        |  left    [#########]  right |  obstacle: a cup 0.32 wide, 0.18 tall,
        |  route   [#]     [#]  route |  open downwards, around (0, 0)
        |                             |
        |             (o)             |  robot starts near (0, -0.35)
        +-----------------------------+  y = -0.5

A point robot (a sphere on two slide joints) is driven by velocity servos. Going straight up drives
into the cup's pocket, a trap; going round it on the left or on the right is equally good. Demonstrations that use
both routes are therefore *bimodal*: a Gaussian policy fitted to them predicts the average action
(straight up, into the obstacle), a diffusion policy keeps both modes.

- action ``(2,)`` in [-1, 1]: desired velocity, scaled by ``max_speed`` (0.5 m/s); values outside [-1, 1]
  are clipped (motor limits), NaN or inf raise a ``ValueError``;
- observation ``(8,)`` float32: ``[x, y, vx, vy, goal_x - x, goal_y - y, obst_x - x, obst_y - y]``;
- reward: ``10 * (L_prev - L) - 0.01`` per step plus ``5`` on success, where ``L`` is the length of the
  shortest way round the cup to the goal (:meth:`TwoRoutesEnv.path_length`): progress on either route
  pays the same, and the cup's pocket is not a shortcut;
- terminated when the robot is within ``goal_radius`` of the goal (``info["is_success"] = True``);
  truncated after 100 steps (5 s at 20 Hz) by the registered ``TimeLimit``;
- ``info["route"]``: ``"left"`` / ``"right"`` once the robot has passed the obstacle's height,
  ``"none"`` before.

The start is on the centre line, with a little noise along it (``start_noise=(0, 0.02)`` m): nothing
observable tells left from right, so the choice of route is the demonstrator's alone.
``goal``, ``obstacle`` and ``start_noise`` are constructor arguments, so a variant is one keyword away.

``labkit/TwoRoutesBlocked-v0`` (``blocked="right", reward="sparse"``) is the world after it changed: a
barrier (orange) closes the right-hand route, and the reward is only ``1`` on success. The observation
does not show the barrier, so a prior trained on TwoRoutes demonstrations still takes the right route
about half the time and gets stuck; an agent that starts from scratch gets no reward until it finds
the goal by chance. (``blocked`` alone keeps the dense reward, whose path length then counts only the
open route.)
"""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
from gymnasium import spaces
from gymnasium.envs.mujoco import MujocoEnv

from labkit.envs.actions import validate_action

ASSET = Path(__file__).parent / "assets" / "two_routes.xml"


class TwoRoutesEnv(MujocoEnv):
    """The multimodal point-robot task. See the module docstring for spaces and reward."""

    #: Half-width of the cup (m), as in the XML.
    CUP_HALF_WIDTH = 0.16

    metadata = {"render_modes": ["rgb_array", "depth_array"], "render_fps": 20}

    def __init__(
        self,
        goal: tuple[float, float] = (0.0, 0.35),
        obstacle: tuple[float, float] = (0.0, 0.0),
        start: tuple[float, float] = (0.0, -0.35),
        start_noise: tuple[float, float] = (0.0, 0.02),
        goal_radius: float = 0.05,
        max_speed: float = 0.5,
        blocked: str | None = None,
        reward: str = "dense",
        render_mode: str | None = None,
        width: int = 240,
        height: int = 240,
    ):
        self.goal = np.asarray(goal, dtype=np.float64)
        self.obstacle = np.asarray(obstacle, dtype=np.float64)
        self.start = np.asarray(start, dtype=np.float64)
        self.start_noise = np.broadcast_to(np.asarray(start_noise, dtype=np.float64), (2,)).copy()
        self.goal_radius = float(goal_radius)
        self.max_speed = float(max_speed)
        if blocked not in (None, "left", "right"):
            raise ValueError(f"blocked must be None, 'left' or 'right'. Got {blocked!r}.")
        if reward not in ("dense", "sparse"):
            raise ValueError(f"reward must be 'dense' or 'sparse'. Got {reward!r}.")
        self.blocked, self.reward_type = blocked, reward
        obs_space = spaces.Box(-np.inf, np.inf, shape=(8,), dtype=np.float32)
        super().__init__(
            str(ASSET),
            frame_skip=5,
            observation_space=obs_space,
            render_mode=render_mode,
            width=width,
            height=height,
            camera_name="top",
        )
        # The policy acts in [-1, 1]; MujocoEnv set action_space from the actuators' ctrlrange.
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        # Move goal marker and obstacle to where this instance wants them.
        self.model.site("goal").pos[:2] = self.goal
        self.model.body("obstacle").pos[:2] = self.obstacle
        if blocked is not None:  # close the gap between the cup and the side wall on that side
            side = 1.0 if blocked == "right" else -1.0
            inner = self.obstacle[0] + side * self.CUP_HALF_WIDTH
            wall = side * float(self.model.geom("wall_e").pos[0] - self.model.geom("wall_e").size[0])
            geom = self.model.geom("blocker")
            geom.pos[:2] = [(inner + wall) / 2, self.obstacle[1] - 0.02]
            geom.pos[2] = 0.04
            geom.size[0] = abs(wall - inner) / 2
            if blocked == "left":
                # MuJoCo's midphase keeps the bounding boxes compiled from the XML (the barrier under the
                # floor): moved into the left gap, the barrier would never collide. The right gap shares its
                # box with the east wall, so only the left case needs the (equivalent, slower) full check.
                self.model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_MIDPHASE
        self._route = "none"
        self._prev_path = 0.0

    # --- helpers -------------------------------------------------------------------------
    @property
    def position(self) -> np.ndarray:
        """Robot position ``(2,)``: the two slide joints are its x and y offsets."""
        return self.data.qpos[:2].copy()

    def observation_at(self, position, velocity=(0.0, 0.0)) -> np.ndarray:
        """Put the robot at ``position`` (2,) with ``velocity`` (2,) and return the observation (8,).

        For probing a policy at a chosen state, e.g. the split point ``(0, -0.2)`` below the cup.
        """
        pos, vel = np.asarray(position, dtype=np.float64), np.asarray(velocity, dtype=np.float64)
        if pos.shape != (2,) or vel.shape != (2,):
            raise ValueError(f"position and velocity must have shape (2,). Got {pos.shape} and {vel.shape}.")
        self.set_state(pos, vel)
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        pos, vel = self.data.qpos[:2], self.data.qvel[:2]
        return np.concatenate([pos, vel, self.goal - pos, self.obstacle - pos]).astype(np.float32)

    def _distance(self) -> float:
        return float(np.linalg.norm(self.goal - self.data.qpos[:2]))

    def path_length(self, pos: np.ndarray) -> float:
        """Length of the shortest way from ``pos`` round the cup (either open side) to the goal.

        Piecewise: above the cup, straight to the goal; beside it, via the top corner on that side;
        below it, via the nearer bottom corner then the top corner; inside the pocket, out of the
        mouth first. The reward is progress along this length, so both routes pay the same and driving
        into the pocket pays nothing.
        """
        margin = 0.03  # robot radius plus a little clearance
        ox, oy = self.obstacle
        half_w, top, bottom = self.CUP_HALF_WIDTH + margin, oy + 0.07 + margin, oy - 0.11 - margin
        g = self.goal

        def dist(a, b):
            return float(np.hypot(a[0] - b[0], a[1] - b[1]))

        def from_corner(side: float) -> float:  # bottom corner -> top corner -> goal
            low, up = (ox + side * half_w, bottom), (ox + side * half_w, top)
            return dist(low, up) + dist(up, g)

        sides = {None: (-1.0, 1.0), "right": (-1.0,), "left": (1.0,)}[self.blocked]  # the open route(s)
        x, y = pos
        if y >= top:
            return dist(pos, g)
        if abs(x - ox) >= half_w:
            side = float(np.sign(x - ox))
            if side in sides or y > oy:  # an open side, or above the barrier (which spans oy - 0.04 .. oy)
                up = (ox + side * half_w, top)
                return dist(pos, up) + dist(up, g)
            if y > bottom:  # beside the cup, below the barrier: back down and under the cup to the open side
                low = (ox + side * half_w, bottom)
                return dist(pos, low) + dist(low, (ox - side * half_w, bottom)) + from_corner(-side)
            # below the cup on the blocked side: as below the cup (next case)
        if y <= bottom:
            return min(dist(pos, (ox + s * half_w, bottom)) + from_corner(s) for s in sides)
        mouth = (ox, bottom)
        return dist(pos, mouth) + min(dist(mouth, (ox + s * half_w, bottom)) + from_corner(s) for s in sides)

    def _update_route(self) -> None:
        x, y = self.data.qpos[:2]
        if self._route == "none" and y > self.obstacle[1]:
            self._route = "left" if x < self.obstacle[0] else "right"

    # --- gymnasium API ---------------------------------------------------------------------
    def reset_model(self) -> np.ndarray:
        noise = self.np_random.uniform(-1.0, 1.0, size=2) * self.start_noise  # (2,)
        qpos = self.start + noise
        self.set_state(qpos, np.zeros(2))
        self._route = "none"
        self._prev_path = self.path_length(self.data.qpos[:2])
        return self._get_obs()

    def step(self, action):
        ctrl = validate_action(action, "TwoRoutes") * self.max_speed
        self.do_simulation(ctrl, self.frame_skip)
        self._update_route()
        dist = self._distance()
        success = dist < self.goal_radius
        path = self.path_length(self.data.qpos[:2])
        if self.reward_type == "sparse":
            reward = 1.0 if success else 0.0
        else:
            reward = 10.0 * (self._prev_path - path) - 0.01 + (5.0 if success else 0.0)
        self._prev_path = path
        info = {"is_success": bool(success), "route": self._route, "distance": dist}
        return self._get_obs(), float(reward), bool(success), False, info

    def _get_reset_info(self) -> dict:
        return {"is_success": False, "route": "none", "distance": self._distance()}
