"""Notebook 02's exercises: the action a mean-squared-error fit predicts at the split; a dataset of both routes."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.analysis import action_directions
from labkit.course.checks import close, exercise
from labkit.data.episodes import EpisodeDataset
from labkit.store import load

#: the box below the cup, on the centre line, where the routes split (x range, y range in metres)
SPLIT_BOX = ((-0.03, 0.03), (-0.3, -0.15))


def split_actions(ds: EpisodeDataset) -> np.ndarray:
    """(M, 2) the actions taken inside the split box."""
    obs, act = np.asarray(ds.observations), np.asarray(ds.actions)
    (x0, x1), (y0, y1) = SPLIT_BOX
    inside = (obs[:, 0] >= x0) & (obs[:, 0] <= x1) & (obs[:, 1] >= y0) & (obs[:, 1] <= y1)
    return act[inside]


@exercise(
    "02.mse_action",
    hint="the constant a minimising the mean of |a - a_i|^2 over the demonstrated actions a_i is their mean",
)
def _mse_action(answer: Any) -> tuple[bool, str]:
    expected = split_actions(load("two_routes_demos")).mean(axis=0)  # (2,)
    ok, detail = close(answer, expected, atol=1e-4)
    if ok:
        angle = float(np.degrees(np.arctan2(expected[1], expected[0])))
        return True, f"it points at {angle:.0f} degrees: straight into the cup, an action nobody demonstrated"
    return False, detail


@exercise(
    "02.both_routes",
    hint="lk.collect(lk.experts.TwoRoutesExpert(route='left'), ...), the same for 'right', then left.concat(right)",
)
def _both_routes(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, EpisodeDataset):
        return False, f"expected an EpisodeDataset, got {type(answer).__name__}"
    routes = np.asarray(answer.episode_fields.get("route", []))
    n_left, n_right = int((routes == "left").sum()), int((routes == "right").sum())
    if answer.metadata["env_id"] != "labkit/TwoRoutes-v0" or n_left < 3 or n_left != n_right:
        return False, f"{n_left} left and {n_right} right episodes on {answer.metadata['env_id']}"
    angles = action_directions(answer.observations, answer.actions, *SPLIT_BOX)
    both = bool((angles > 100).any() and (angles < 80).any())  # some actions turn left, some right at the split
    return both, f"{n_left} left, {n_right} right" + ("" if both else "; but the actions at the split do not show both")
