"""``labkit/TwoRoutesSkills-v0``: the TwoRoutes plane with coloured marks, a barrier that may close either
route, and a *skill* to perform: the training ground of the skill library that SayCan sequences (notebook 06).

Top view (metres)::

      blue (-0.35, 0.35)        goal (0, 0.35)        red (0.35, 0.35)
                         [##########]
                         [#]      [#]          cup at (0, 0), open downwards
            barrier?  ===            ===  barrier?   (closes the left or the right gap, or neither)
                          home (0, -0.35)

Skills (one-hot in the observation), each with a time budget of ``budget`` steps (2 s by default):

- ``"go round the cup on the left"`` / ``"... right"``: succeed on crossing y = 0 beside the cup on that
  side (impossible when the barrier closes that gap);
- ``"go to the goal"``, ``"go to the blue mark"``, ``"go to the red mark"``, ``"go home"``: succeed within
  ``mark_radius`` of the mark. They are *local*: trained with a straight-line shaping term, and the straight
  line from home to the goal ends in the cup's pocket (the way round is 0.84 m, 34 steps at full speed).

The barrier is TwoRoutes' own (``TwoRoutesEnv(blocked=...)``): the env keeps one physics instance per
barrier (none / left / right) and switches at ``reset``, so the blocked worlds are exactly those of
``labkit/TwoRoutesBlocked-v0`` and its mirror image.

Observation ``(10 + K,)`` float32: ``[x, y, vx, vy, target - pos (2), barrier left, barrier right,
time left (1 -> 0), 0, one-hot skill (K)]``. Reward: 1 on success plus potential-based shaping
``gamma * Phi(s') - Phi(s)`` with ``Phi = -shaping * |target - pos|`` and ``Phi = 0`` at termination (success
or time out: both are terminal, since the time left is observed). With that convention the critic of a
skill trained on this reward satisfies ``V_shaped(s) = V_success(s) - Phi(s)``, so the discounted success
probability SayCan needs is ``V_shaped(s) + Phi(s)`` (Ng, Harada & Russell 1999).

``begin_skill(k)`` switches skill and restarts the budget *without* resetting the physics, so a planner can
chain skills in one episode; ``visited`` lists the marks reached, in order.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from labkit.envs.actions import validate_action
from labkit.envs.skill_marks import BARRIERS, MARKS, SKILLS
from labkit.envs.two_routes import TwoRoutesEnv

__all__ = ["BARRIERS", "MARKS", "SKILLS", "TwoRoutesSkillsEnv", "skill_target"]

_SIDE_TARGET = {"left": (-0.33, 0.06), "right": (0.33, 0.06)}  # where the shaping of a route skill pulls
_MARK_COLORS = {"blue mark": (40, 90, 220), "red mark": (220, 50, 50), "home": (120, 120, 120)}
_ROUTE_PREFIX = "go round the cup on the "


def skill_target(skill: str) -> np.ndarray:
    """The point (2,) the shaping of ``skill`` pulls towards."""
    if skill.startswith(_ROUTE_PREFIX):
        return np.asarray(_SIDE_TARGET[skill.rsplit(" ", 1)[1]])
    return np.asarray(MARKS[skill.removeprefix("go to the ").removeprefix("go ")])


class TwoRoutesSkillsEnv(gym.Env):
    """Skill-conditioned TwoRoutes with marks and a barrier (see the module docstring).

    :param skill: fix the skill (a text of :data:`SKILLS`), or None to draw one per reset.
    :param barrier: fix the barrier (``"none"``, ``"left"``, ``"right"``), or None to draw one per reset.
    :param budget: steps per skill.
    :param start: ``"random"`` (uniform over free space) or ``"home"``.
    :param shaping: k of the potential ``Phi = -k * distance``.
    :param gamma: discount the shaping is written for (use the same in PPO).
    :param mark_radius: how close to a mark counts as reaching it (m).

    ``reset(options={"skill": ..., "barrier": ..., "start": (x, y)})`` overrides the draws for one episode.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        skill: str | None = None,
        barrier: str | None = None,
        budget: int = 40,
        start: str = "random",
        shaping: float = 1.0,
        gamma: float = 0.99,
        mark_radius: float = 0.05,
        render_mode: str | None = None,
    ) -> None:
        if skill is not None and skill not in SKILLS:
            raise ValueError(f"skill must be one of {SKILLS} or None. Got {skill!r}.")
        if barrier is not None and barrier not in BARRIERS:
            raise ValueError(f"barrier must be one of {BARRIERS} or None. Got {barrier!r}.")
        if budget < 1 or start not in ("random", "home") or shaping < 0 or not 0 < gamma <= 1 or mark_radius <= 0:
            raise ValueError(
                "need budget >= 1, start 'random' or 'home', shaping >= 0, 0 < gamma <= 1, mark_radius > 0. "
                f"Got {budget}, {start!r}, {shaping}, {gamma}, {mark_radius}."
            )
        self.fixed_skill, self.fixed_barrier, self.budget, self.start_mode = skill, barrier, budget, start
        self.shaping, self.gamma, self.mark_radius = shaping, gamma, mark_radius
        self.render_mode = render_mode
        # One physics instance per barrier: TwoRoutesEnv places (and collides) its own barrier.
        self._sims = {
            b: TwoRoutesEnv(start_noise=(0.0, 0.0), blocked=None if b == "none" else b, render_mode=render_mode)
            for b in BARRIERS
        }
        self.barrier = "none"
        K = len(SKILLS)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(10 + K,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.skill, self.t = SKILLS[0], 0
        self.visited: list[str] = []

    @property
    def sim(self) -> TwoRoutesEnv:
        """The physics of the current barrier."""
        return self._sims[self.barrier]

    @property
    def position(self) -> np.ndarray:
        return self.sim.data.qpos[:2].copy()

    def is_free(self, p: np.ndarray) -> bool:
        """Whether the robot may start at ``p`` (2,): inside the walls, clear of the cup and the barrier."""
        x, y = float(p[0]), float(p[1])
        if abs(x) > 0.45 or abs(y) > 0.45:
            return False
        if abs(x) < 0.21 and -0.15 < y < 0.12:  # the cup and its pocket, with a margin
            return False
        side = {"left": -1.0, "right": 1.0}.get(self.barrier)
        return not (side is not None and side * x > 0.16 and -0.07 < y < 0.03)

    def _draw_start(self) -> np.ndarray:
        if self.start_mode == "home":
            return np.asarray(MARKS["home"]) + self.np_random.uniform(-0.02, 0.02, 2)
        while True:
            p = self.np_random.uniform(-0.45, 0.45, 2)
            if self.is_free(p):
                return p

    # --- skills ---------------------------------------------------------------------------------------
    def begin_skill(self, skill: str) -> np.ndarray:
        """Start ``skill`` from the current physical state; returns the observation."""
        if skill not in SKILLS:
            raise ValueError(f"skill must be one of {SKILLS}. Got {skill!r}.")
        self.skill, self.t = skill, 0
        return self._obs()

    def potential_for(self, skill: str) -> float:
        """Phi(s) of the current state for ``skill`` (add it to the critic's value for the affordance)."""
        return -self.shaping * float(np.linalg.norm(skill_target(skill) - self.position))

    def potential(self) -> float:
        """Phi(s) of the current state for the current skill."""
        return self.potential_for(self.skill)

    def observation_for(self, skill: str, time_left: float = 1.0) -> np.ndarray:
        """The observation ``(10 + K,)`` skill ``skill`` would see now with ``time_left`` of its budget."""
        pos, vel = self.sim.data.qpos[:2], self.sim.data.qvel[:2]
        one_hot = np.zeros(len(SKILLS))
        one_hot[SKILLS.index(skill)] = 1.0
        flags = [float(self.barrier == "left"), float(self.barrier == "right")]
        parts = [pos, vel, skill_target(skill) - pos, flags, [time_left, 0.0], one_hot]
        return np.concatenate(parts).astype(np.float32)

    def _obs(self) -> np.ndarray:
        return self.observation_for(self.skill, 1.0 - self.t / self.budget)

    def _succeeded(self, prev: np.ndarray, pos: np.ndarray) -> bool:
        if self.skill.startswith(_ROUTE_PREFIX):
            side = -1.0 if self.skill.endswith("left") else 1.0
            return bool(prev[1] < 0.0 <= pos[1] and side * pos[0] > TwoRoutesEnv.CUP_HALF_WIDTH)
        return float(np.linalg.norm(skill_target(self.skill) - pos)) < self.mark_radius

    # --- gymnasium API --------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        barrier = options.get("barrier", self.fixed_barrier) or str(self.np_random.choice(BARRIERS))
        skill = options.get("skill", self.fixed_skill) or str(self.np_random.choice(SKILLS))
        if barrier not in BARRIERS:
            raise ValueError(f"barrier must be one of {BARRIERS}. Got {barrier!r}.")
        self.barrier = barrier
        self.sim.reset(seed=None if seed is None else int(self.np_random.integers(2**31)))
        start = np.asarray(options["start"], float) if "start" in options else self._draw_start()
        self.sim.set_state(start, np.zeros(2))
        self.visited = []
        return self.begin_skill(skill), {"skill": skill, "barrier": barrier, "is_success": False}

    def step(self, action):
        ctrl = validate_action(action, "TwoRoutesSkills") * self.sim.max_speed
        prev = self.position
        phi_prev = self.potential()
        self.sim.do_simulation(ctrl, self.sim.frame_skip)
        pos = self.position
        self.t += 1
        for name, mark in MARKS.items():
            near = np.linalg.norm(np.asarray(mark) - pos) < self.mark_radius
            if near and (not self.visited or self.visited[-1] != name):
                self.visited.append(name)
        success = self._succeeded(prev, pos)
        terminated = success or self.t >= self.budget
        phi = 0.0 if terminated else self.potential()
        reward = float(success) + self.gamma * phi - phi_prev
        info = {
            "is_success": bool(success),
            "skill": self.skill,
            "barrier": self.barrier,
            "visited": list(self.visited),
        }
        return self._obs(), reward, bool(terminated), False, info

    def render(self):
        frame = self.sim.render()
        if frame is None:
            return None
        frame = np.array(frame)  # (H, W, 3) uint8, a copy
        H, W = frame.shape[:2]
        half = 1.38 * np.tan(np.deg2rad(22.5))  # half the width (m) the top camera sees
        yy, xx = np.mgrid[0:H, 0:W]
        for name, color in _MARK_COLORS.items():  # the XML draws the goal itself
            mx, my = MARKS[name]
            cx, cy = (mx / half + 1) / 2 * W, (1 - (my / half + 1) / 2) * H
            disc = (xx - cx) ** 2 + (yy - cy) ** 2 < (self.mark_radius / half * W / 2) ** 2
            frame[disc] = (0.5 * frame[disc] + 0.5 * np.asarray(color)).astype(np.uint8)
        return frame

    def close(self) -> None:
        for sim in self._sims.values():
            sim.close()
