"""Scripted experts: hand-written controllers that make demonstrations.

``TwoRoutesExpert`` drives the point robot round the obstacle through a waypoint on the left or on
the right (chosen at random each episode, 50/50), then to the goal. Gaussian action noise and a
random waypoint offset make the demonstrations look like a person's: not two identical lines, but
two clouds of paths. It reads only the observation, so it works on shifted variants of the task.

An expert is a callable ``expert(obs, rng) -> action`` with a ``reset(rng)`` method that starts a
new episode (``labkit.data.collect_episodes`` calls both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["TwoRoutesExpert"]


@dataclass
class TwoRoutesExpert:
    """Waypoint follower for ``labkit/TwoRoutes-v0``.

    :param route: ``"left"``, ``"right"`` or ``"random"`` (a fair coin at every ``reset``).
    :param noise: standard deviation of Gaussian noise added to every action (action units).
    :param gain: proportional gain from position error (m) to action.
    :param clearance: how far beside the obstacle's edge the waypoint lies (m), before jitter.
    """

    route: str = "random"
    noise: float = 0.1
    gain: float = 6.0
    clearance: float = 0.1
    obstacle_half: tuple[float, float] = (0.16, 0.06)
    _side: float = field(default=1.0, init=False, repr=False)
    _jitter: np.ndarray = field(default_factory=lambda: np.zeros(2), init=False, repr=False)
    _passed: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.route not in ("left", "right", "random"):
            raise ValueError(f"route must be 'left', 'right' or 'random'. Got {self.route!r}.")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0. Got {self.noise}.")

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode: pick the side and jitter the waypoint."""
        if self.route == "random":
            self._side = -1.0 if rng.random() < 0.5 else 1.0
        else:
            self._side = -1.0 if self.route == "left" else 1.0
        self._jitter = np.clip(rng.normal(0.0, 0.03, size=2), -0.05, 0.05) * np.array([1.0, 0.4])
        self._passed = False

    @property
    def side(self) -> str:
        return "left" if self._side < 0 else "right"

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Action ``(2,)`` in [-1, 1] for observation ``(8,)`` (see ``TwoRoutesEnv``)."""
        obs = np.asarray(obs, dtype=np.float64)
        pos, to_goal, to_obst = obs[:2], obs[4:6], obs[6:8]
        goal, obst = pos + to_goal, pos + to_obst
        half_w, half_h = self.obstacle_half
        waypoint = obst + np.array([self._side * (half_w + self.clearance), 0.04]) + self._jitter
        # Head for the waypoint (just above the obstacle's centre line, beside it), then the goal.
        if pos[1] > obst[1] and abs(pos[0] - obst[0]) > half_w:
            self._passed = True
        target = goal if self._passed else waypoint
        action = self.gain * (target - pos)
        norm = np.linalg.norm(action)
        if norm > 1.0:  # keep the direction, cap the speed
            action = action / norm
        action = action + rng.normal(0.0, self.noise, size=2)
        return np.clip(action, -1.0, 1.0).astype(np.float32)
