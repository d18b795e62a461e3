"""Forbidden regions in the plane and the cost wrapper that reports entering them.

A constrained MDP (CMDP) adds a *cost* ``c_t`` beside the reward ``r_t``; the agent maximises the return
subject to an expected episode cost of at most a limit ``d``::

    max_pi  E[ sum_t r_t ]   subject to   J_c(pi) = E[ sum_t c_t ] <= d

Here ``c_t = 1`` when the robot's centre is inside a hazard disk after step ``t`` (else 0), so an
episode's cost counts the control steps spent in a hazard. ``Hazards`` holds the disks and answers
the two questions the notebook asks: *is this position inside?* (``cost``) and *how far inside?*
(``penetration``, differentiable, for guidance). ``HazardCostWrapper`` puts the cost into
``info["cost"]`` of any env whose unwrapped env has a ``position`` (labkit's TwoRoutes), and paints
the disks onto ``render()`` frames (the MuJoCo scene itself is left untouched).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

__all__ = ["Disk", "Hazards", "HazardCostWrapper"]


@dataclass(frozen=True)
class Disk:
    """A forbidden disk in the plane (metres)."""

    x: float
    y: float
    radius: float

    def __post_init__(self) -> None:
        if not self.radius > 0:
            raise ValueError(f"A hazard disk needs radius > 0. Got {self.radius}.")


class Hazards:
    """A set of forbidden disks.

    :param disks: the ``Disk`` s (they may overlap; a position inside any of them costs 1).
    """

    def __init__(self, disks: list[Disk] | tuple[Disk, ...]) -> None:
        disks = tuple(disks)
        if not disks or not all(isinstance(d, Disk) for d in disks):
            raise ValueError(f"Hazards needs a non-empty list of Disk(x, y, radius). Got {disks!r}.")
        self.disks = disks
        self.centers = np.array([[d.x, d.y] for d in disks], dtype=np.float64)  # (J, 2)
        self.radii = np.array([d.radius for d in disks], dtype=np.float64)  # (J,)

    def __repr__(self) -> str:
        return f"Hazards({list(self.disks)})"

    def signed_distance(self, pos: np.ndarray) -> np.ndarray:
        """Distance to the nearest disk's boundary, negative inside: pos (..., 2) -> (...,)."""
        pos = np.asarray(pos, dtype=np.float64)
        d = np.linalg.norm(pos[..., None, :] - self.centers, axis=-1) - self.radii  # (..., J)
        return d.min(axis=-1)

    def cost(self, pos: np.ndarray) -> np.ndarray:
        """1.0 where a position is inside a hazard, else 0.0: pos (..., 2) -> (...,)."""
        return (self.signed_distance(pos) < 0).astype(np.float64)

    def penetration(self, paths: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
        """Sum over waypoints and disks of ``relu(radius + margin - distance)^2``, differentiable.

        :param paths: (B, N, 2) waypoints (torch, any dtype).
        :returns: (B,) zero exactly when every waypoint keeps ``margin`` away from every disk.
        """
        c = torch.as_tensor(self.centers, dtype=paths.dtype, device=paths.device)  # (J, 2)
        r = torch.as_tensor(self.radii, dtype=paths.dtype, device=paths.device)  # (J,)
        dist = (paths[:, :, None, :] - c).norm(dim=-1)  # (B, N, J)
        return torch.relu(r + margin - dist).pow(2).sum(dim=(1, 2))  # (B,)

    def project_point(self, point: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """The nearest point of the feasible set (outside every disk grown by ``margin``): (2,) -> (2,).

        For one disk this is the exact Euclidean projection (push radially to the boundary). Disks
        that overlap after growing are handled one after the other, which may leave the point inside
        an earlier one; callers check feasibility (``signed_distance``) and fall back.
        """
        q = np.asarray(point, dtype=np.float64).copy()
        for center, radius in zip(self.centers, self.radii + margin):
            offset = q - center
            dist = float(np.hypot(*offset))
            if dist < radius:
                direction = offset / dist if dist > 1e-9 else np.array([1.0, 0.0])
                q = center + radius * direction
        return q


class HazardCostWrapper(gym.Wrapper):
    """Adds ``info["cost"]`` and ``info["episode_cost"]`` (their sum so far); the reward is untouched.

    ``cost="inside"`` (default, as Safety-Gym): 1 for every step that ends inside a hazard, so an
    episode's cost counts the steps spent there. ``cost="entry"``: 1 only on the step that enters one,
    so an episode's cost counts the entries (its mean over episodes is about the violation rate).
    A safe-RL method decides what to do with the cost (PPO-Lagrangian shapes ``r - lambda * c`` in a
    callback). ``render()`` frames show the disks in translucent purple.

    :param env: an env whose ``unwrapped`` has a ``position`` (2,) property (labkit's TwoRoutes).
    :param hazards: the forbidden disks.
    :param cost: ``"inside"`` or ``"entry"``.
    """

    #: Top camera of TwoRoutes: half the floor width seen by the 240 x 240 image (m), at floor height.
    VIEW_HALF_WIDTH = 1.38 * np.tan(np.deg2rad(22.5))

    def __init__(self, env: gym.Env, hazards: Hazards, cost: str = "inside") -> None:
        super().__init__(env)
        if cost not in ("inside", "entry"):
            raise ValueError(f"cost must be 'inside' or 'entry'. Got {cost!r}.")
        if not hasattr(env.unwrapped, "position"):
            raise ValueError(
                f"HazardCostWrapper needs an env whose unwrapped env has a `position` (like labkit/TwoRoutes-v0). "
                f"Got {type(env.unwrapped).__name__}."
            )
        self.hazards, self.cost_mode = hazards, cost
        self.episode_cost, self._inside = 0.0, False

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.episode_cost = 0.0
        self._inside = bool(self.hazards.cost(self.env.unwrapped.position))
        return obs, dict(info, cost=0.0, episode_cost=0.0)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        inside = bool(self.hazards.cost(self.env.unwrapped.position))
        cost = float(inside and (self.cost_mode == "inside" or not self._inside))
        self._inside = inside
        self.episode_cost += cost
        return obs, reward, terminated, truncated, dict(info, cost=cost, episode_cost=self.episode_cost)

    def render(self):
        frame = self.env.render()
        if frame is None or np.ndim(frame) != 3:
            return frame
        h, w = frame.shape[:2]
        half = self.VIEW_HALF_WIDTH
        xs = (np.arange(w) + 0.5) / w * 2 * half - half  # (W,) world x of each pixel column
        ys = half - (np.arange(h) + 0.5) / h * 2 * half  # (H,) world y of each pixel row
        grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # (H, W, 2)
        inside = self.hazards.signed_distance(grid) < 0  # (H, W)
        out = frame.copy()
        out[inside] = (0.55 * out[inside] + 0.45 * np.array([150, 60, 200])).astype(frame.dtype)
        return out
