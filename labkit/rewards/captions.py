"""Templated captions of a TwoRoutes state: the text side of the self-trained vision-language model.

Each robot position gets two captions, one saying where it is relative to the cup and one saying how
far it is from the goal (straight-line distance, as a person glancing at the picture would say)::

    (-0.25, -0.20)  ->  "the robot is left of the cup",  "the robot is far from the goal"
    ( 0.00,  0.33)  ->  "the robot is above the cup",    "the robot is at the goal"

The phrases and thresholds are the module constants below; the cup and goal come from the task.
These captions are all the "language" the image tower ever sees, so the reward can only know what
they say: nothing in them describes the way round the cup.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REGION_CAPTIONS", "DISTANCE_CAPTIONS", "CAPTIONS", "caption_indices", "captions_of"]

#: Where the robot is relative to the cup (the cup is 0.32 wide, from 0.11 below to 0.07 above its centre).
REGION_CAPTIONS = (
    "the robot is inside the cup",
    "the robot is below the cup",
    "the robot is left of the cup",
    "the robot is right of the cup",
    "the robot is above the cup",
)
#: How far the robot is from the goal, with the upper bound of each band (m).
DISTANCE_CAPTIONS = (
    ("the robot is at the goal", 0.05),
    ("the robot is near the goal", 0.15),
    ("the robot is not far from the goal", 0.35),
    ("the robot is far from the goal", 0.6),
    ("the robot is very far from the goal", np.inf),
)
#: Every caption string, in index order (regions first, then distances).
CAPTIONS = REGION_CAPTIONS + tuple(c for c, _ in DISTANCE_CAPTIONS)


def caption_indices(positions: np.ndarray, goal=(0.0, 0.35), obstacle=(0.0, 0.0)) -> np.ndarray:
    """Indices into :data:`CAPTIONS` of the two captions of each position: ``(N, 2)`` int64.

    :param positions: robot positions ``(N, 2)``.
    :param goal: the goal position; ``obstacle``: the cup's reference point (as in ``TwoRoutesEnv``).
    """
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    dx, dy = pos[:, 0] - obstacle[0], pos[:, 1] - obstacle[1]
    inside = (np.abs(dx) < 0.10) & (dy > -0.11) & (dy < 0.01)
    region = np.where(
        dy >= 0.07, 4, np.where(dx <= -0.16, 2, np.where(dx >= 0.16, 3, 1))
    )  # above / left / right / below
    region = np.where(inside, 0, region)
    dist = np.hypot(pos[:, 0] - goal[0], pos[:, 1] - goal[1])
    bounds = np.array([b for _, b in DISTANCE_CAPTIONS])
    band = np.searchsorted(bounds, dist, side="right").clip(0, len(bounds) - 1)  # first band whose bound > dist
    return np.stack([region, len(REGION_CAPTIONS) + band], axis=1).astype(np.int64)


def captions_of(position, goal=(0.0, 0.35), obstacle=(0.0, 0.0)) -> list[str]:
    """The two caption strings of one position ``(2,)``."""
    return [CAPTIONS[i] for i in caption_indices(np.asarray(position)[None], goal, obstacle)[0]]
