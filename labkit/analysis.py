"""Small analyses of demonstrations and rollouts: where actions point, what a policy does at one state,
where paths cross a height. They return arrays; ``labkit.viz`` draws them.

- ``action_directions``: angles of the actions taken inside a box of the plane (the demonstrations
  are bimodal where TwoRoutes' routes split);
- ``first_actions``: many samples of the action a chunk policy executes first at one state;
- ``crossing_x``: where each trajectory first reaches a height (the cup's mouth: into it, or beside it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from labkit.policies.base import ChunkPolicy

__all__ = ["action_directions", "crossing_x", "first_actions"]


def action_directions(
    observations: np.ndarray, actions: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float]
) -> np.ndarray:
    """Angles (degrees, 0 = +x, 90 = +y) of the actions taken where the robot was inside a box.

    :param observations: ``(N, obs_dim)`` with x, y in columns 0, 1 (TwoRoutes layout).
    :param actions: ``(N, 2)``.
    :returns: ``(M,)`` angles of the M actions taken inside ``x_range`` x ``y_range``.
    """
    observations, actions = np.asarray(observations), np.asarray(actions)
    if len(observations) != len(actions) or actions.ndim != 2 or actions.shape[1] != 2:
        raise ValueError(
            f"need observations (N, obs_dim) and actions (N, 2). Got {observations.shape} and {actions.shape}."
        )
    x, y = observations[:, 0], observations[:, 1]
    inside = (x >= x_range[0]) & (x <= x_range[1]) & (y >= y_range[0]) & (y <= y_range[1])
    a = actions[inside]
    return np.degrees(np.arctan2(a[:, 1], a[:, 0]))


@torch.no_grad()
def first_actions(policy: ChunkPolicy, obs: np.ndarray, n: int = 200, seed: int = 0, **kwargs: Any) -> np.ndarray:
    """``n`` actions (n, A) a chunk policy executes first in observation ``obs`` (D,) (one history row)."""
    To = policy.config.n_obs_steps
    hist = torch.as_tensor(np.asarray(obs, np.float32)).reshape(1, 1, -1).repeat(n, To, 1)  # (n, To, D)
    gen = torch.Generator().manual_seed(seed)
    return policy.predict_action(hist, generator=gen, **kwargs)[:, 0].numpy()  # (n, A)


def crossing_x(trajectories: Sequence[np.ndarray], y_level: float = 0.0) -> np.ndarray:
    """x where each trajectory (T, >= 2) first reaches height ``y_level`` (NaN if it never does)."""
    out = []
    for traj in trajectories:
        traj = np.asarray(traj)
        hit = np.flatnonzero(traj[:, 1] >= y_level)
        out.append(traj[hit[0], 0] if len(hit) else np.nan)
    return np.array(out)
