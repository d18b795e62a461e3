"""Language-guided exploration, ELLM (Du et al. 2023), against a novelty bonus, RND (Burda et al. 2019).

ELLM asks a language model what would be worth doing from a text caption of the state, and pays the
agent when a caption of what just happened matches one of those suggestions::

    goals_t  = LLM(caption(s_t))                                     suggested goals (cached per caption)
    r_int    = max_g cos(E(caption(s_t, s_t+1)), E(g))  if > threshold, each goal paid once per episode
    E        = a sentence embedder (MiniLM, ``labkit.llm.Embedder``)

RND pays for states its predictor has not learned yet: ``r_int = |f(s') - f_hat(s')|^2`` with f a
fixed random network and f_hat trained online on visited states (bonus divided by a running std).

Both are gymnasium wrappers that *add* ``coef * r_int`` to the env reward and put it in
``info["intrinsic"]``; :class:`CoverageWrapper` counts which cells of the plane were visited.
Captions are templated from the robot's position (:func:`caption_state`, :func:`caption_transition`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from labkit.envs.skill_marks import MARKS

__all__ = [
    "GOALS",
    "CoverageWrapper",
    "ELLMReward",
    "RNDReward",
    "caption_state",
    "caption_transition",
    "cosine_matrix",
    "goal_prompt",
    "suggest_goals",
]

#: Goals a suggester may propose (ELLM's closed-form variant ranks them with the language model).
GOALS: tuple[str, ...] = (
    "go round the cup on the left",
    "go round the cup on the right",
    "reach the goal",
    "reach the blue mark",
    "reach the red mark",
    "drive into the cup",
    "touch the left wall",
    "touch the right wall",
    "touch the top wall",
    "stay at home",
)
_CUP_HALF, _CUP_TOP, _CUP_BOTTOM = 0.16, 0.07, -0.11
Embed = Callable[[list[str]], np.ndarray]


def caption_state(pos: np.ndarray) -> str:
    """Where the robot at ``pos`` (2,) is, in words (the question put to the goal suggester)."""
    x, y = float(pos[0]), float(pos[1])
    if np.hypot(x - MARKS["home"][0], y - MARKS["home"][1]) < 0.1:
        where = "at home, below the cup"
    elif y > _CUP_TOP:
        where = "above the cup"
    elif abs(x) > _CUP_HALF:
        where = f"{'left' if x < 0 else 'right'} of the cup"
    elif y < _CUP_BOTTOM:
        where = "below the cup"
    else:
        where = "inside the cup"
    return f"The robot is {where}."


def _inside_cup(p: np.ndarray) -> bool:
    return abs(p[0]) < _CUP_HALF - 0.06 and _CUP_BOTTOM < p[1] < _CUP_TOP - 0.06


def caption_transition(prev: np.ndarray, pos: np.ndarray, mark_radius: float = 0.05) -> list[str]:
    """Captions of what happened between positions ``prev`` (2,) and ``pos`` (2,) (often none)."""
    prev, pos = np.asarray(prev, float), np.asarray(pos, float)
    out = []
    if prev[1] < 0.0 <= pos[1] and abs(pos[0]) > _CUP_HALF:
        out.append(f"the robot went round the cup on the {'left' if pos[0] < 0 else 'right'}")
    for name, m in MARKS.items():
        if name != "home" and np.hypot(*(pos - m)) < mark_radius <= np.hypot(*(prev - m)):
            out.append(f"the robot reached the {name}")
    if _inside_cup(pos) and not _inside_cup(prev):
        out.append("the robot drove into the cup")
    for name, axis, sign in (("left", 0, -1), ("right", 0, 1), ("top", 1, 1)):
        if sign * pos[axis] > 0.44 >= sign * prev[axis]:
            out.append(f"the robot touched the {name} wall")
    return out


def cosine_matrix(embed: Embed, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """cos(E(a_i), E(b_j)) as an (len(a), len(b)) array; ``embed(texts) -> (N, d)``."""
    ea, eb = np.asarray(embed(list(a)), float), np.asarray(embed(list(b)), float)
    ea /= np.linalg.norm(ea, axis=1, keepdims=True)
    eb /= np.linalg.norm(eb, axis=1, keepdims=True)
    return ea @ eb.T


def goal_prompt(caption: str) -> str:
    """The prompt whose continuation is a goal (ELLM's question to the language model)."""
    return (
        "A robot explores a room with a cup-shaped obstacle in the middle, a goal behind it, a blue mark "
        f"top-left and a red mark top-right. {caption} A useful next goal for the robot is to"
    )


def suggest_goals(client: Any, caption: str, goals: Sequence[str] = GOALS, k: int = 4) -> list[str]:
    """ELLM's closed-form suggestion: the ``k`` goals a language model finds most likely after the caption.

    :param client: anything with ``score(prompt, options) -> log-likelihoods``; None returns every goal.
    """
    if client is None:
        return list(goals)
    s = np.asarray(client.score(goal_prompt(caption), [" " + g for g in goals]), float)
    return [goals[i] for i in np.argsort(-s, kind="stable")[:k]]


class _Cached:
    """Unit embeddings per string, so a run embeds each caption and goal once."""

    def __init__(self, embed: Embed) -> None:
        self.embed, self.table = embed, {}  # type: ignore[var-annotated]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.table]
        if new:
            for t, e in zip(new, np.asarray(self.embed(new), float)):
                self.table[t] = e / np.linalg.norm(e)
        return np.stack([self.table[t] for t in texts])  # (N, d)


class ELLMReward(gym.Wrapper):
    """Adds ``coef * r_ELLM`` (see the module docstring) to a TwoRoutes-like env (obs[:2] = position).

    :param embed: ``embed(texts) -> (N, d)`` sentence embeddings (``labkit.llm.Embedder().encode``).
    :param suggest: ``suggest(state caption) -> goals``, e.g. ``lambda c: suggest_goals(client, c)``.
    :param threshold: minimum cosine for a match. :param coef: weight of the intrinsic reward.
    """

    def __init__(
        self,
        env: gym.Env,
        embed: Embed,
        suggest: Callable[[str], list[str]],
        threshold: float = 0.6,
        coef: float = 0.5,
    ) -> None:
        super().__init__(env)
        if not -1.0 <= threshold < 1.0 or coef < 0:
            raise ValueError(f"need -1 <= threshold < 1 and coef >= 0. Got {threshold}, {coef}.")
        self.embed, self.suggest, self.threshold, self.coef = _Cached(embed), suggest, threshold, coef
        self._suggestions: dict[str, list[str]] = {}
        self.achieved: set[str] = set()
        self._prev = np.zeros(2)

    def goals_for(self, caption: str) -> list[str]:
        """The suggested goals for a state caption (asked once per caption)."""
        if caption not in self._suggestions:
            self._suggestions[caption] = list(self.suggest(caption))
        return self._suggestions[caption]

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.achieved, self._prev = set(), np.asarray(obs[:2], float)
        return obs, info

    def intrinsic(self, prev: np.ndarray, pos: np.ndarray) -> tuple[float, list[str]]:
        """``(r_ELLM, captions of the transition)``; a matched goal is marked achieved for this episode."""
        events = caption_transition(prev, pos)
        goals = [g for g in self.goals_for(caption_state(prev)) if g not in self.achieved]
        if not events or not goals:
            return 0.0, events
        cos = self.embed(events) @ self.embed(goals).T  # (n_events, n_goals)
        i, j = np.unravel_index(int(np.argmax(cos)), cos.shape)
        if cos[i, j] <= self.threshold:
            return 0.0, events
        self.achieved.add(goals[j])
        return float(cos[i, j]), events

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        pos = np.asarray(obs[:2], float)
        r_int, events = self.intrinsic(self._prev, pos)
        self._prev = pos
        info = dict(info, intrinsic=r_int, events=events)
        return obs, float(reward) + self.coef * r_int, terminated, truncated, info


class RNDReward(gym.Wrapper):
    """Random network distillation bonus on the position and velocity (obs[:4]).

    :param coef: weight of the normalised bonus. :param update_every: predictor update period (steps).
    :param lr: predictor learning rate. :param seed: seeds both networks.
    """

    def __init__(self, env: gym.Env, coef: float = 0.1, update_every: int = 32, lr: float = 1e-3, seed: int = 0):
        super().__init__(env)
        if coef < 0 or update_every < 1:
            raise ValueError(f"need coef >= 0 and update_every >= 1. Got {coef}, {update_every}.")
        g = torch.Generator().manual_seed(seed)

        def net() -> nn.Sequential:
            m = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 16))
            with torch.no_grad():
                for p in m.parameters():
                    p.copy_(torch.randn(p.shape, generator=g) / max(1, p.shape[-1]) ** 0.5)
            return m

        self.target, self.predictor = net(), net()
        self.target.requires_grad_(False)
        self.opt = torch.optim.Adam(self.predictor.parameters(), lr=lr)
        self.coef, self.update_every = coef, update_every
        self.buffer: list[np.ndarray] = []
        self.var, self.count = 1.0, 1e-4

    @staticmethod
    def _features(obs: np.ndarray) -> np.ndarray:
        return np.asarray(obs[:4], np.float32) * 2.0  # positions and velocities to about [-1, 1]

    def bonus(self, obs: np.ndarray) -> float:
        """The raw prediction error at ``obs``."""
        x = torch.as_tensor(self._features(obs))[None]  # (1, 4)
        with torch.no_grad():
            return float(((self.predictor(x) - self.target(x)) ** 2).mean())

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        b = self.bonus(obs)
        self.count += 1
        self.var += (b * b - self.var) / self.count  # running second moment
        self.buffer.append(self._features(obs))
        if len(self.buffer) >= self.update_every:
            x = torch.as_tensor(np.stack(self.buffer))  # (update_every, 4)
            loss = ((self.predictor(x) - self.target(x)) ** 2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            self.buffer.clear()
        r_int = b / max(float(np.sqrt(self.var)), 1e-8)
        info = dict(info, intrinsic=r_int)
        return obs, float(reward) + self.coef * r_int, terminated, truncated, info


class CoverageWrapper(gym.Wrapper):
    """Counts visits of the cells of a ``cells x cells`` grid over [-0.5, 0.5]^2 into ``counts``.

    :param counts: a shared (cells, cells) int array (one per run, shared by its vector envs); row = y.
    """

    def __init__(self, env: gym.Env, counts: np.ndarray) -> None:
        super().__init__(env)
        self.counts = counts

    def _visit(self, obs: np.ndarray) -> None:
        n = self.counts.shape[0]
        i, j = np.clip(((np.asarray(obs[:2]) + 0.5) * n).astype(int), 0, n - 1)
        self.counts[j, i] += 1

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self._visit(obs)
        return obs, info

    def step(self, action):
        out = self.env.step(action)
        self._visit(out[0])
        return out
