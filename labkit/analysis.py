"""Small analyses of demonstrations: where actions point, and what "averaging" them does.

``action_directions`` shows that the demonstrations are bimodal where the routes split;
``NearestNeighbourMeanPolicy`` acts with the *average* demonstrated action near the current state,
which is what any regression to the mean (mean-squared-error BC, a unimodal Gaussian) converges to.
"""

from __future__ import annotations

import numpy as np

__all__ = ["action_directions", "NearestNeighbourMeanPolicy"]


def action_directions(observations: np.ndarray, actions: np.ndarray, x_range: tuple[float, float],
                      y_range: tuple[float, float]) -> np.ndarray:
    """Angles (degrees, 0 = +x, 90 = +y) of the actions taken where the robot was inside a box.

    :param observations: ``(N, obs_dim)`` with x, y in columns 0, 1 (TwoRoutes layout).
    :param actions: ``(N, 2)``.
    :returns: ``(M,)`` angles of the M actions taken inside ``x_range`` x ``y_range``.
    """
    observations, actions = np.asarray(observations), np.asarray(actions)
    if len(observations) != len(actions) or actions.ndim != 2 or actions.shape[1] != 2:
        raise ValueError(f"need observations (N, obs_dim) and actions (N, 2). Got {observations.shape} and {actions.shape}.")
    x, y = observations[:, 0], observations[:, 1]
    inside = (x >= x_range[0]) & (x <= x_range[1]) & (y >= y_range[0]) & (y <= y_range[1])
    a = actions[inside]
    return np.degrees(np.arctan2(a[:, 1], a[:, 0]))


class NearestNeighbourMeanPolicy:
    """Act with the mean action of the ``k`` demonstrated states nearest to the current one.

    A stand-in for any regression to the mean: where demonstrations split left and right, the mean
    points between them. Distances use the observation columns ``dims`` (default: position).

    :param observations: ``(N, obs_dim)`` demonstrated observations.
    :param actions: ``(N, act_dim)`` the actions taken there.
    """

    def __init__(self, observations: np.ndarray, actions: np.ndarray, k: int = 50, dims: tuple[int, ...] = (0, 1)):
        if len(observations) != len(actions):
            raise ValueError(f"observations and actions differ in length: {len(observations)} vs {len(actions)}.")
        if not 1 <= k <= len(observations):
            raise ValueError(f"k must be in [1, {len(observations)}]. Got {k}.")
        self.keys = np.asarray(observations)[:, list(dims)]  # (N, len(dims))
        self.actions = np.asarray(actions, dtype=np.float32)  # (N, act_dim)
        self.k, self.dims = k, list(dims)

    def __call__(self, obs: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        d = np.linalg.norm(self.keys - np.asarray(obs)[self.dims], axis=1)  # (N,)
        nearest = np.argpartition(d, self.k - 1)[: self.k]
        return self.actions[nearest].mean(axis=0)
