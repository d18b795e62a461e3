"""The marks, skills and barriers of ``labkit/TwoRoutesSkills-v0``, without the physics.

Kept apart from ``two_routes_skills`` so that the planners (SayCan, ELLM) can name skills and marks
without importing MuJoCo when ``labkit`` is imported (``import labkit`` must work, and ``labkit doctor``
must explain, on a machine whose rendering backend is broken).
"""

from __future__ import annotations

__all__ = ["BARRIERS", "MARKS", "SKILLS"]

#: Where the marks are, (x, y) in metres.
MARKS: dict[str, tuple[float, float]] = {
    "goal": (0.0, 0.35),
    "blue mark": (-0.35, 0.35),
    "red mark": (0.35, 0.35),
    "home": (0.0, -0.35),
}
#: Skill texts, in the order of the one-hot.
SKILLS: tuple[str, ...] = (
    "go round the cup on the left",
    "go round the cup on the right",
    "go to the goal",
    "go to the blue mark",
    "go to the red mark",
    "go home",
)
BARRIERS: tuple[str, ...] = ("none", "left", "right")
