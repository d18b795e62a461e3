"""Executing plans: track the planned *states* with a simple controller, or replay the planned *actions*.

Diffuser's published Maze2D scores track the planned states with a hand-written PD controller; with its
own diffused actions it scores an order of magnitude lower (Diffusion Forcing's table: 6.3 / 13.5 / 6.3 vs
113.9 / 121.5 / 123.0). :func:`rollout_plans` measures both on our task::

    mode="track":    a_k = clip( v_plan[k+1] / v_max  +  kp * (p_plan[k+1] - p_k) )   (feed-forward + P)
    mode="actions":  a_k = a_plan[k]                                                   (open loop)
    mode="inverse":  a_k = f(s_k, s_plan[k+1])     an inverse-dynamics model (Decision Diffuser)

After the plan's last step the tracker holds the last planned state (the goal). With ``replan_every=k`` a
new plan starts from the current state every k steps (receding horizon). Episodes run in lock-step so each
(re)plan is one batched call; episode ``i`` starts from ``reset(seed=seed + i)``, as in ``lk.evaluate``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from labkit.rollout import EvalResult
from labkit.runtime import check_int, check_seed

from .diffuser import Plan

__all__ = ["MODES", "PlanRollouts", "TrackingController", "rollout_plans"]

MODES = ("track", "actions", "inverse")


@dataclass
class TrackingController:
    """Feed-forward on the planned velocity plus P on the position error, norm capped at 1.

    :param kp: action per metre of position error (the scripted expert uses 10).
    :param max_speed: m/s of action 1 (TwoRoutes: 0.5).
    :param feedforward: add the planned velocity.
    """

    kp: float = 10.0
    max_speed: float = 0.5
    feedforward: bool = True

    def __post_init__(self) -> None:
        if self.kp < 0 or self.max_speed <= 0:
            raise ValueError(f"need kp >= 0 and max_speed > 0. Got {self.kp}, {self.max_speed}.")

    def __call__(self, state: np.ndarray, target: np.ndarray) -> np.ndarray:
        """state (4,) [x, y, vx, vy], target (4,) planned state -> action (2,)."""
        a = self.kp * (target[:2] - state[:2])
        if self.feedforward:
            a = a + target[2:4] / self.max_speed
        n = float(np.linalg.norm(a))
        return (a / n if n > 1.0 else a).astype(np.float32)


@dataclass
class PlanRollouts:
    """:param result: the kit's ``EvalResult`` (successes, routes, trajectories ...).
    :param plans: per episode, the first plan's states (H, 4).
    :param plan_seconds: wall time spent planning; :param n_plans: plan calls (batched).
    :param cpu_seconds: process CPU time of the whole rollout."""

    result: EvalResult
    plans: list[np.ndarray]
    plan_seconds: float
    n_plans: int
    cpu_seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            **self.result.summary(),
            "plan_seconds": round(self.plan_seconds, 3),
            "n_plans": self.n_plans,
            "cpu_seconds": round(self.cpu_seconds, 2),
        }


def _actions(mode, obs, plan_s, plan_a, since, idx, ctrl, inverse_dynamics) -> np.ndarray:
    """Actions (B, 2) of the active episodes ``idx`` following their plans."""
    H = plan_s.shape[1]
    actions = np.zeros((obs.shape[0], 2), np.float32)
    if mode == "inverse":
        nxt = plan_s[idx, np.minimum(since[idx] + 1, H - 1)]  # (b, 4)
        with torch.no_grad():
            actions[idx] = inverse_dynamics(torch.as_tensor(obs[idx, :4]), torch.as_tensor(nxt)).numpy()
        return actions
    for i in idx:
        k = since[i]
        if mode == "track":
            actions[i] = ctrl(obs[i, :4], plan_s[i, min(k + 1, H - 1)])
        elif k < plan_a.shape[1]:
            actions[i] = plan_a[i, k]
    return actions


def rollout_plans(
    make_env: Callable[[], gym.Env],
    planner: Callable[[np.ndarray], Plan],
    n_episodes: int,
    *,
    mode: str = "track",
    seed: int = 0,
    replan_every: int | None = None,
    controller: TrackingController | None = None,
    inverse_dynamics: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    max_steps: int = 100,
) -> PlanRollouts:
    """Run ``n_episodes`` episodes (reset seeds ``seed, seed + 1, ...``) that follow plans.

    :param make_env: zero-argument factory of a TwoRoutes-like env (obs[:4] = x, y, vx, vy).
    :param planner: ``planner(obs (B, 8)) -> Plan`` with ``states`` (B, H, 4) and ``actions`` (B, H', A).
    :param mode: ``"track"``, ``"actions"`` or ``"inverse"`` (needs ``inverse_dynamics(s (B,4), s_next (B,4))``).
    :param replan_every: replan every this many steps (None: one plan per episode).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}. Got {mode!r}.")
    if mode == "inverse" and inverse_dynamics is None:
        raise ValueError("mode='inverse' needs inverse_dynamics=...; pass the Decision Diffuser's inverse model.")
    B, seed, max_steps = check_int("n_episodes", n_episodes), check_seed(seed), check_int("max_steps", max_steps)
    if replan_every is not None:
        check_int("replan_every", replan_every)
    ctrl = controller or TrackingController()
    c0 = time.process_time()
    envs = [make_env() for _ in range(B)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype(np.float32)  # (B, 8)
    active = np.ones(B, bool)
    trajs = [[o[:4].copy()] for o in obs]
    returns, lengths = np.zeros(B), np.zeros(B, int)
    success, routes = np.zeros(B, bool), np.array(["none"] * B, dtype=object)
    plan_s, plan_a = np.zeros((B, 1, 4), np.float32), np.zeros((B, 1, 2), np.float32)
    since = np.zeros(B, int)  # steps since each episode's current plan started
    first_plans: list[np.ndarray] = [np.zeros((0, 4))] * B
    plan_seconds, n_plans = 0.0, 0
    for step in range(max_steps):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        if step == 0 or (replan_every is not None and step % replan_every == 0):
            t0 = time.perf_counter()
            plan = planner(obs[idx])
            plan_seconds += time.perf_counter() - t0
            n_plans += 1
            s_new = plan.states.detach().cpu().numpy()  # (b, H, 4)
            a_new = plan.actions.detach().cpu().numpy()  # (b, H', A)
            if step == 0:
                plan_s = np.zeros((B, *s_new.shape[1:]), np.float32)
                plan_a = np.zeros((B, *a_new.shape[1:]), np.float32)
                first_plans = list(s_new)
            plan_s[idx], plan_a[idx] = s_new, a_new
            since[idx] = 0
        actions = _actions(mode, obs, plan_s, plan_a, since, idx, ctrl, inverse_dynamics)
        for i in idx:
            o, r, term, trunc, info = envs[i].step(np.clip(actions[i], -1.0, 1.0))
            obs[i] = o
            trajs[i].append(o[:4].copy())
            returns[i] += r
            lengths[i] += 1
            routes[i] = info.get("route", "none")
            if term or trunc:
                success[i] = bool(info.get("is_success", False))
                active[i] = False
        since += 1
    for env in envs:
        env.close()
    result = EvalResult(
        successes=success,
        returns=returns,
        lengths=lengths,
        routes=routes.astype(str),
        trajectories=[np.asarray(t) for t in trajs],
        frames=[],
        has_routes=True,
        env_steps=int(lengths.sum()),
    )
    return PlanRollouts(result, first_plans, plan_seconds, n_plans, time.process_time() - c0)
