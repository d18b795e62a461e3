"""Small analyses of demonstrations: where actions point, and what "averaging" them does.

``action_directions`` shows that the demonstrations are bimodal where the routes split;
``AverageOfExperts`` acts with the *average* of several experts' actions, the limit that a
regression to the mean (mean-squared-error BC, a unimodal Gaussian) is pulled towards.
"""

from __future__ import annotations

import numpy as np

__all__ = ["action_directions", "AverageOfExperts"]


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


class AverageOfExperts:
    """Act with the average of several experts' actions: the "mean of the modes".

    ``AverageOfExperts(TwoRoutesExpert(route="left"), TwoRoutesExpert(route="right"))`` is what a
    regression to the mean would do with perfect data: each expert alone succeeds, their average
    stops where they disagree. Same callable protocol as the experts (``reset(rng)``, ``__call__``).
    """

    def __init__(self, *experts):
        if len(experts) < 2:
            raise ValueError(f"need at least two experts to average. Got {len(experts)}.")
        self.experts = experts

    def reset(self, rng: np.random.Generator) -> None:
        for expert in self.experts:
            expert.reset(rng)

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.mean([expert(obs, rng) for expert in self.experts], axis=0).astype(np.float32)
