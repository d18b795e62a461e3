"""Scripted experts: hand-written controllers that make demonstrations.

``TwoRoutesExpert`` drives the point robot towards the obstacle, then round it through a waypoint on
the left or on the right (chosen at random each episode, 50/50), then to the goal. Gaussian action noise and a
random waypoint offset make the demonstrations look like a person's: not two identical lines, but
two clouds of paths. It reads only the observation, so it works on shifted variants of the task.

``PushBlockExpert`` pushes the block of ``labkit/PushBlock-v0``: it walks round to the face that
looks towards the target, pushes off-centre to turn the block while it slides, and re-positions when
the contact is lost. It misjudges the target a little in every episode (like a person eyeballing
it), so it is deliberately *imperfect*: about 75% success with the default settings.

``StraightUpPolicy`` drives like ``TwoRoutesExpert`` to the split point and then straight up into the
cup: the failing third of notebook 08's mixed-quality data. ``AverageOfExperts`` acts with the mean
of several experts' actions (what a regression to the mean would do); ``SB3Expert`` makes any trained
SB3 model an expert.

An expert is a callable ``expert(obs, rng) -> action`` with a ``reset(rng)`` method that starts a
new episode (``labkit.collect`` and ``labkit.evaluate`` call both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["AverageOfExperts", "PushBlockExpert", "SB3Expert", "StraightUpPolicy", "TwoRoutesExpert"]


def _cap_and_jitter(action: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Cap the speed at 1 keeping the direction, add Gaussian noise (std ``noise``), clip to [-1, 1]."""
    norm = np.linalg.norm(action)
    if norm > 1.0:
        action = action / norm
    action = action + rng.normal(0.0, noise, size=action.shape)
    return np.clip(action, -1.0, 1.0).astype(np.float32)


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
    gain: float = 10.0
    clearance: float = 0.1
    rise: float = 0.0
    obstacle_half: tuple[float, float] = (0.16, 0.11)  # half width; depth below the reference point
    _side: float = field(default=1.0, init=False, repr=False)
    _jitter: np.ndarray = field(default_factory=lambda: np.zeros(2), init=False, repr=False)
    _phase: int = field(default=0, init=False, repr=False)

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
        # Only the height of the sideways leg varies: the decision point stays on the centre line.
        self._jitter = np.clip(rng.normal(0.0, 0.03, size=2), -0.05, 0.05) * np.array([0.0, 0.4])
        self._phase = 0

    @property
    def side(self) -> str:
        return "left" if self._side < 0 else "right"

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Action ``(2,)`` in [-1, 1] for observation ``(8,)`` (see ``TwoRoutesEnv``)."""
        obs = np.asarray(obs, dtype=np.float64)
        pos, to_goal, to_obst = obs[:2], obs[4:6], obs[6:8]
        goal, obst = pos + to_goal, pos + to_obst
        half_w, half_h = self.obstacle_half
        # Waypoints, as a person would drive: straight towards the obstacle, then (the decision)
        # sideways on the chosen side, up beside the obstacle, then to the goal. The decision is taken
        # at the same place for both routes, so the demonstrations are bimodal exactly there.
        split = obst + np.array([self._jitter[0], -half_h - 0.09])
        side_x = self._side * (half_w + self.clearance) + self._jitter[0]
        aside = obst + np.array([side_x, -half_h - 0.09 + self.rise + self._jitter[1]])
        beside = obst + np.array([side_x, 0.04 + self._jitter[1]])
        if self._phase == 0 and pos[1] > split[1] - 0.02:
            self._phase = 1
        if self._phase == 1 and abs(pos[0] - obst[0]) > half_w + 0.04:
            self._phase = 2
        if self._phase == 2 and pos[1] > obst[1] and abs(pos[0] - obst[0]) > half_w:
            self._phase = 3
        target = (split, aside, beside, goal)[self._phase]
        action = self.gain * (target - pos)
        return _cap_and_jitter(action, self.noise, rng)


@dataclass
class PushBlockExpert:
    """Scripted pusher for ``labkit/PushBlock-v0``; imperfect on purpose.

    Each step it picks the block face whose push moves the block most towards the target (with
    hysteresis, so it does not hop between faces), and a contact point on that face shifted
    sideways by ``-turn_gain * angle_error`` (pushing off-centre turns the block). If the pusher is
    behind that point it pushes, steering slightly towards the target; otherwise it walks round the
    block to a point just behind the face.

    Two kinds of noise make its demonstrations human-like and its success rate ~75%
    (``evaluate(PushBlockExpert(), "labkit/PushBlock-v0", 100, seed=0)``):

    :param noise: standard deviation of white Gaussian noise on every action (action units).
        The physics filters it: on its own it costs only a few percent of success.
    :param aim_noise: standard deviation (m, per axis) of a per-episode error in where the expert
        believes the target is. This is what makes it fail: a miss of more than the env's 2.5 cm
        tolerance. Over 100 episodes: ``aim_noise=0, noise=0`` ~94% success; with ``noise=0.2``,
        ``aim_noise=0.01`` ~90%, ``0.02`` (default) ~75%.
    :param aim_angle_noise: the same for the target angle (rad).
    :param turn_gain: sideways contact offset per radian of angle error (m/rad).
    :param max_offset: largest sideways offset (m); the block's half-size is 0.04.
    :param steer: how much the push direction is bent from the face normal towards the target
        (0: push straight into the face; 1: up to 45 degrees).
    :param half_size: the block's half-size (m); ``pusher_radius``: the pusher's radius (m).
    """

    noise: float = 0.2
    aim_noise: float = 0.02
    aim_angle_noise: float = 0.1
    turn_gain: float = 0.1
    max_offset: float = 0.03
    steer: float = 0.5
    gain: float = 8.0
    lateral_gain: float = 10.0
    half_size: float = 0.04
    pusher_radius: float = 0.015
    _aim: np.ndarray = field(default_factory=lambda: np.zeros(3), init=False, repr=False)
    _face: int = field(default=-1, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("noise", "aim_noise", "aim_angle_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0. Got {getattr(self, name)}.")

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode: forget the face, misjudge the target afresh."""
        self._face = -1
        scale = np.array([self.aim_noise, self.aim_noise, self.aim_angle_noise])
        self._aim = rng.normal(0.0, 1.0, size=3) * scale  # (dx, dy, dangle) added to the target

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Action ``(2,)`` in [-1, 1] for observation ``(13,)`` (see ``PushBlockEnv``)."""
        obs = np.asarray(obs, dtype=np.float64)
        pusher, block = obs[0:2], obs[4:6]
        to_target = obs[10:12] + self._aim[:2]  # where the expert *believes* the target is
        angle_error = float(obs[12]) + self._aim[2]
        theta = float(np.arctan2(obs[7], obs[6]))
        dist = float(np.linalg.norm(to_target))
        towards = to_target / dist if dist > 1e-4 else np.array([0.0, 1.0])

        # Pushing on face k moves the block along -normal_k: pick the face that helps most.
        angles = theta + np.arange(4) * np.pi / 2
        normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (4, 2) outward
        score = -(normals @ towards)
        k = int(np.argmax(score))
        if self._face >= 0 and score[self._face] > score[k] - 0.15:
            k = self._face  # hysteresis: keep the current face unless another is clearly better
        self._face = k
        push = -normals[k]  # into the block
        side = np.array([-push[1], push[0]])  # along the face
        # A contact on the `-side` half turns the block counter-clockwise (positive angle).
        offset = float(np.clip(-self.turn_gain * angle_error, -self.max_offset, self.max_offset))

        rel = pusher - block
        along, across = float(rel @ push), float(rel @ side)
        touch = self.half_size + self.pusher_radius  # centre distance when touching the face
        if along < -touch + 0.008 and abs(across - offset) < 0.015:
            # In place: push, bent towards the target (within the contact's friction cone).
            direction = push + self.steer * (towards - (towards @ push) * push)
            direction /= np.linalg.norm(direction)
            speed = float(np.clip(4.0 * dist, 0.25, 0.8))  # slow down near the target
            action = direction * speed + self.lateral_gain * (offset - across) * side
        else:
            waypoint = block - push * (touch + 0.02) + side * offset
            if along > -touch:  # beside or in front of the face: go round the block first
                sign = np.sign(across) if abs(across) > 1e-3 else 1.0
                waypoint = (
                    block + sign * side * (1.5 * self.half_size + self.pusher_radius + 0.02) - push * (touch + 0.02)
                )
            action = self.gain * (waypoint - pusher)
        return _cap_and_jitter(action, self.noise, rng)


@dataclass
class StraightUpPolicy:
    """Drive exactly like the expert to its split point, then keep going up into the cup's pocket.

    A proportional controller like ``TwoRoutesExpert``'s (same gain, speed capped at 1) with two
    waypoints: the expert's split point ``obstacle - (0, 0.2)`` (so up to there the failing episodes
    are indistinguishable from the expert's: same positions, same speeds), then
    ``obstacle + (0, 0.02)``, inside the cup. At the split the data therefore holds three actions for
    the same state - left, right and up - and only the rewards say which one is wrong. It reads the
    observation, so it works on shifted variants too.

    :param noise: standard deviation of Gaussian noise added to every action.
    :param gain: proportional gain from position error (m) to action.
    :param split_depth: how far below the obstacle's reference point the split point lies (m).
    """

    noise: float = 0.1
    gain: float = 10.0
    split_depth: float = 0.2
    _phase: int = field(default=0, init=False, repr=False)

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode heading for the split point."""
        self._phase = 0

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        pos, to_obst = obs[:2], obs[6:8]
        split = pos + to_obst - np.array([0.0, self.split_depth])
        if self._phase == 0 and pos[1] > split[1] - 0.02:  # the expert's switching rule
            self._phase = 1
        to_target = (split - pos) if self._phase == 0 else to_obst + np.array([0.0, 0.02])
        action = self.gain * to_target
        return _cap_and_jitter(action, self.noise, rng)


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


class SB3Expert:
    """A trained Stable-Baselines3 model seen as an expert ``expert(obs, rng) -> action``.

    :param model: any SB3 algorithm (PPO, SAC, TD3 ...) or anything with ``predict(obs, deterministic)``.
    :param deterministic: take the mean/greedy action. With ``False`` SB3 samples with torch's global
        RNG (not ``rng``), so seed torch for repeatable data.

    If the model was trained behind ``VecNormalize``, normalise observations before calling it.
    """

    def __init__(self, model: Any, deterministic: bool = True) -> None:
        if not hasattr(model, "predict"):
            raise TypeError(f"SB3Expert needs an SB3 model (with predict()). Got {type(model).__name__}.")
        self.model = model
        self.deterministic = deterministic

    def reset(self, rng: np.random.Generator) -> None:
        """SB3 models keep no per-episode state (recurrent policies are not supported here)."""

    def __call__(self, obs: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        action, _state = self.model.predict(obs, deterministic=self.deterministic)
        return action

    @property
    def name(self) -> str:
        return f"sb3:{type(self.model).__name__}" + ("" if self.deterministic else ":stochastic")

    def __repr__(self) -> str:
        return f"SB3Expert({type(self.model).__name__}, deterministic={self.deterministic})"
