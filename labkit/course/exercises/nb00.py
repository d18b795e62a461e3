"""Notebook 00's exercises: read the task's spaces; reason about the shifted obstacle."""

from __future__ import annotations

from typing import Any

from labkit.course.checks import exercise
from labkit.envs.registry import make


@exercise("00.sizes", hint="env.observation_space.shape[0] and env.action_space.shape[0] hold the two sizes")
def _sizes(answer: Any) -> tuple[bool, str]:
    env = make("labkit/TwoRoutes-v0")
    expected = (int(env.observation_space.shape[0]), int(env.action_space.shape[0]))  # type: ignore[index]
    env.close()
    got = tuple(int(v) for v in answer)
    return got == expected, f"you gave (observation, action) = {got}"


def _route_length(env_id: str, side: str) -> float:
    """Length of the shortest way from the start to the goal going round the cup on ``side`` only."""
    closed = "right" if side == "left" else "left"
    env: Any = make(env_id, blocked=closed).unwrapped  # with one side closed, path_length counts the other
    env.reset(seed=0)
    length = float(env.path_length(env.start))
    env.close()
    return length


@exercise("00.shorter_route", hint="the obstacle moved right: compare the two ways round it from the start")
def _shorter_route(answer: Any) -> tuple[bool, str]:
    if answer not in ("left", "right"):
        return False, f"answer 'left' or 'right', not {answer!r}"
    lengths = {side: _route_length("labkit/TwoRoutesShifted-v0", side) for side in ("left", "right")}
    best = min(lengths, key=lengths.__getitem__)
    return answer == best, f"{answer} is {'the shorter' if answer == best else 'the longer'} way round"
