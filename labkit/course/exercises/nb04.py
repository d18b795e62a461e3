"""Notebook 04's exercises: the diffusion reward's KL weight, the VLM-RMs goal-baseline reward,
potential-based shaping; each checked against the kit's own code (``labkit.rewards``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.course.checks import close, exercise
from labkit.experiments.rewards import TASK
from labkit.rewards import DiffusionRewardConfig, goal_baseline_projection
from labkit.rewards.diffusion_reward import DiffusionReward
from labkit.rewards.tabulated import TabulatedReward
from labkit.rewards.wrapper import RewardCore


@exercise(
    "04.kl_weight",
    hint="c0 = sqrt(a_s) * (1 - a_t/a_s) / (1 - a_t); var = (1 - a_s)/(1 - a_t) * (1 - a_t/a_s); "
    "return c0**2 / (2 * var), and 0 when var is 0",
)
def _kl_weight(fn: Any) -> tuple[bool, str]:
    """The learner's ``kl_weight(a_t, a_s)`` against the diffusion reward's own, on its 10-step DDPM schedule."""
    ref = DiffusionReward(DiffusionRewardConfig(), env_id=TASK, obs_dim=8)
    sched, steps = ref._sampler()
    for t, w, _ in steps:
        s = sched.previous_timestep(t)
        ok, detail = close(float(fn(sched.alpha_bar(t), sched.alpha_bar(s))), w, atol=1e-9, rtol=1e-6)
        if not ok:
            return False, f"step {t} -> {s}: {detail}"
    return True, "matches DiffusionReward._kl_weight on every step of the chain"


@exercise(
    "04.goal_projection",
    hint="d = g - b; P = alpha * outer(d, d) / |d|^2 + (1 - alpha) * I; reward = 1 - |(x - g) @ P|^2 / 2 per row x",
)
def _goal_projection(fn: Any) -> tuple[bool, str]:
    """The learner's ``vlm_reward(x (N, 384), g (384,), b (384,), alpha)`` against ``VLMReward``'s formula."""
    rng = np.random.default_rng(4)

    def unit(a: np.ndarray) -> np.ndarray:
        return a / np.linalg.norm(a, axis=-1, keepdims=True)

    x, g, b = unit(rng.normal(size=(6, 384))), unit(rng.normal(size=384)), unit(rng.normal(size=384))
    for alpha in (0.0, 0.3, 1.0):
        P = goal_baseline_projection(torch.tensor(g[None]), torch.tensor(b[None]), alpha).numpy()
        want = 1.0 - np.sum(((x - g) @ P) ** 2, axis=-1) / 2.0
        ok, detail = close(np.asarray(fn(x, g, b, alpha), dtype=float), want, atol=1e-5)
        if not ok:
            return False, f"alpha = {alpha}: {detail}"
    return True, "matches labkit.rewards.goal_baseline_projection for alpha 0, 0.3 and 1"


@exercise(
    "04.shaping",
    hint="paid_t = gamma * phi[t + 1] - phi[t], with phi[T] = 0 when the episode terminated; "
    "the discounted sum then equals -phi[0]",
)
def _shaping(fn: Any) -> tuple[bool, str]:
    """The learner's ``shaped(phi (T + 1,), gamma, terminated) -> (T,)`` against the wrapper's potential mode."""
    rng = np.random.default_rng(5)
    gamma, T = 0.97, 11
    for terminated in (True, False):
        phi = rng.normal(size=T + 1)
        got = np.asarray(fn(phi.copy(), gamma, terminated), dtype=float)
        want = _wrapper_shaping(phi, gamma, terminated)
        ok, detail = close(got, want, atol=1e-5)
        if not ok:
            return False, f"terminated={terminated}: {detail}"
    return True, "matches LearnedRewardVecEnv(mode='potential') step by step"


def _wrapper_shaping(phi: np.ndarray, gamma: float, terminated: bool) -> np.ndarray:
    """What ``RewardCore(mode="potential")`` pays along one episode whose potentials are ``phi`` (T + 1,).

    The potential is made position-only (a 1-cell-wide table over x) so the wrapper can be driven by states.
    """
    T = len(phi) - 1
    xs = np.linspace(-0.4, 0.4, T + 1)  # one distinct x per state: phi is a function of x
    model = _Lookup(xs, phi)
    core = RewardCore(model, 1, mode="potential", success_bonus=0.0, gamma=gamma)
    core.start(0, np.array([xs[0], 0.0] + [0.0] * 6, dtype=np.float32))
    paid = []
    for t in range(1, T + 1):
        obs = np.array([xs[t], 0.0] + [0.0] * 6, dtype=np.float32)
        done = t == T
        info: dict[str, Any] = {"TimeLimit.truncated": done and not terminated}
        paid.append(core.step(obs[None], np.zeros((1, 2)), np.zeros(1), np.array([done]), [info])[0])
    return np.asarray(paid, dtype=float)


class _Lookup(TabulatedReward):
    """A reward equal to ``phi[i]`` at ``x = xs[i]`` (nearest), for driving the wrapper in the check."""

    def __init__(self, xs: np.ndarray, phi: np.ndarray) -> None:
        super().__init__(np.zeros((2, 2)), 0.5, TASK, 8, name="lookup")
        self.xs, self.phi = xs, phi

    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        window = self._check_window(window)
        i = np.abs(window[:, -1, :1] - self.xs[None]).argmin(1)  # (B,) nearest x
        r = self.phi[i].astype(np.float64)
        return {"total": r, "model": r}
