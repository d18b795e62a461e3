"""Inference delay against the control rate: naive chunk switching vs real-time chunking (RTC).

A policy that needs ``d`` control steps to produce a chunk cannot stop the robot while it thinks:
the robot keeps executing the *previous* chunk. With execution horizon ``s`` (a new inference starts
every ``s`` steps, ``d <= s``) and chunk indices counted from "now" (index ``To - 1``)::

    time          t        t+1   ...   t+d-1 | t+d   ...   t+s-1 | t+s (next inference starts)
    inference     [ obs o_t in ........ chunk N out ]
    executed      C[s]     C[s+1] ...  C[s+d-1] | N[d] ... N[s-1]        C = previous chunk, planned at t-s

``naive`` samples N from o_t alone, so at ``t+d`` the robot jumps from C to whatever N chose (on
TwoRoutes possibly the other route). ``rtc`` (Black, Galliker & Levine 2025) *freezes* N's first
``d`` actions to the ones C is executing anyway and *inpaints* the rest: at every denoising step
the clean guess is pulled towards C on a soft mask that is 1 on the frozen prefix, decays over the
rest of the overlap with C, and is 0 on the new tail::

    x0_hat <- x0_hat + w_k * W * (Y - x0_hat)      Y = C shifted by s, W = prefix_weights(d, H - s, H)

(``jacobian=True`` replaces ``W * (Y - x0_hat)`` by its vector-Jacobian product through the
denoiser, as RTC's guidance does; the identity version needs no backward pass). Training-free: the
same frozen ``DiffusionPolicy``. ``run_delayed`` rolls out B envs in lockstep under either scheme
and records every executed action, so a test can check the frozen actions ran exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

__all__ = ["DelayConfig", "DelayResult", "prefix_weights", "run_delayed", "sample_inpainted", "shifted_target"]


@dataclass
class DelayConfig:
    """A simulated inference delay and how to switch chunks."""

    delay: int = 0
    """d: control steps an inference takes (0 = instantaneous)."""
    execute_horizon: int = 4
    """s: a new inference starts every s steps (d <= s)."""
    method: str = "naive"
    """"naive" (switch to the fresh chunk) or "rtc" (freeze the prefix, inpaint the rest)."""
    schedule: str = "exp"
    """Soft mask over the overlap: "exp" or "linear" decay after the frozen prefix, or "hard" (prefix only)."""
    max_guidance: float = 1.0
    """Cap of the per-step inpainting weight w_k (1 = replace the masked part of the clean guess)."""
    jacobian: bool = False
    """Pull through the denoiser's vector-Jacobian product (RTC's guidance) instead of the identity."""

    def __post_init__(self) -> None:
        if self.method not in ("naive", "rtc"):
            raise ValueError(f"method must be 'naive' or 'rtc'. Got {self.method!r}.")
        if self.schedule not in ("exp", "linear", "hard"):
            raise ValueError(f"schedule must be 'exp', 'linear' or 'hard'. Got {self.schedule!r}.")
        if not 0 <= self.delay <= self.execute_horizon or self.execute_horizon < 1:
            raise ValueError(
                "Need 0 <= delay <= execute_horizon and execute_horizon >= 1. "
                f"Got {self.delay}, {self.execute_horizon}."
            )
        if self.max_guidance <= 0:
            raise ValueError(f"max_guidance must be > 0. Got {self.max_guidance}.")


def prefix_weights(delay: int, overlap: int, length: int, schedule: str = "exp") -> np.ndarray:
    """Soft mask (length,): 1 on the first ``delay`` entries, decaying to 0 at ``overlap``, 0 after.

    ``delay=2, overlap=6, length=10, "linear"`` -> ``1 1 .8 .6 .4 .2 0 0 0 0``.
    """
    i = np.arange(length)
    delay = min(delay, overlap)
    if schedule == "hard":
        return (i < delay).astype(np.float64)
    w = np.clip((delay - 1 - i) / (overlap - delay + 1) + 1, 0.0, 1.0)
    if schedule == "exp":
        w = w * np.expm1(w) / (math.e - 1)
    return np.where(i >= overlap, 0.0, w)


def shifted_target(previous: np.ndarray, now: int, execute_horizon: int) -> np.ndarray:
    """What the previous chunk plans for the new chunk's control steps: ``Y`` of the module docstring.

    The new chunk is planned ``s = execute_horizon`` steps after the previous one, so its index ``j``
    (from "now" = ``now``) and the previous chunk's index ``j + s`` are the same control step.

    :param previous: (B, H, A) raw actions of the previous chunk.
    :param now: the chunk index of "now" (``n_obs_steps - 1``).
    :returns: (B, H, A): ``previous[:, now + s:]`` moved to ``now``, zeros after (nothing planned there).
    """
    previous = np.asarray(previous)
    target = np.zeros_like(previous)  # (B, H, A)
    horizon = previous.shape[1]
    target[:, now : horizon - execute_horizon] = previous[:, now + execute_horizon :]
    return target


@torch.no_grad()
def sample_inpainted(
    policy: Any,
    obs: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    max_guidance: float = 1.0,
    jacobian: bool = False,
) -> torch.Tensor:
    """Sample chunks (B, H, A) raw whose masked part follows ``target`` (RTC-style inpainting).

    :param policy: a frozen epsilon-prediction ``DiffusionPolicy`` (its own sampler and steps).
    :param obs: raw history (B, To, obs_dim).
    :param target: raw actions Y (B, H, A) to follow where ``weights`` > 0 (anything elsewhere).
    :param weights: (H,) soft mask, 1 = frozen.
    """
    cfg = policy.config
    sched = policy._scheduler(cfg.sampler, cfg.num_inference_steps)
    eta = cfg.ddim_eta if cfg.sampler == "ddim" else 1.0
    cond = policy.encode_obs(obs)  # (B, To*obs_dim)
    B = cond.shape[0]
    y = policy.normalizer_act.normalize(torch.as_tensor(target, dtype=torch.float32))  # (B, H, A)
    W = torch.as_tensor(weights, dtype=torch.float32)[None, :, None]  # (1, H, 1)
    x = torch.randn((B, cfg.horizon, cfg.action_dim), generator=generator)  # (B, H, A) x_T
    for t in sched.timesteps.tolist():
        a_t = sched.alpha_bar(t)
        t_batch = torch.full((B,), t, dtype=torch.long)
        if jacobian:
            with torch.enable_grad():
                xg = x.detach().requires_grad_(True)
                eps = policy.denoiser(xg, t_batch, cond)
                x0 = (xg - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)  # (B, H, A)
                (pull,) = torch.autograd.grad(x0, xg, grad_outputs=W * (y - x0.detach()))
            eps, x0 = eps.detach(), x0.detach()
        else:
            eps = policy.denoiser(x, t_batch, cond)
            x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
            pull = W * (y - x0)
        tau = math.sqrt(a_t) / (math.sqrt(a_t) + math.sqrt(1 - a_t))  # flow time: 0 = noise, 1 = data
        w_k = min(max_guidance, (1 - tau) / max(tau, 1e-6))  # RTC's weight grows towards the noise end, capped
        x0 = (x0 + w_k * pull).clamp(-1, 1)
        eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)  # the noise consistent with the pulled guess
        x = sched.step(eps, t, x, generator=generator, eta=eta).prev_sample  # (B, H, A)
    return policy.normalizer_act.unnormalize(x)  # (B, H, A)


@dataclass
class DelayResult:
    """What ``run_delayed`` measured; per episode unless said otherwise."""

    successes: np.ndarray
    lengths: np.ndarray
    routes: np.ndarray
    executed: list[np.ndarray] = field(repr=False)
    """Per episode, every executed action (T, A)."""
    planned: list[list[tuple[int, np.ndarray]]] = field(repr=False)
    """Per episode, (step the inference started, raw chunk (H, A)) for every chunk sampled."""
    switch_jumps: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    """|a_t - a_{t-1}| at every chunk switch (all episodes): how abruptly the robot changes command."""
    trajectories: list[np.ndarray] = field(repr=False, default_factory=list)
    """Per episode, the observations (T + 1, obs_dim) visited."""

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if len(self.successes) else 0.0


def run_delayed(
    policy: Any,
    make_env: Callable[[], gym.Env],
    n_episodes: int,
    config: DelayConfig,
    *,
    seed: int = 0,
    generator_seed: int = 0,
    max_steps: int = 100,
) -> DelayResult:
    """Roll out ``n_episodes`` envs in lockstep with a simulated inference delay.

    The first chunk of an episode is computed before the robot moves (no delay at t = 0); from then
    on an inference starts every ``s`` steps and its chunk takes over ``d`` steps later.

    :param policy: a ``DiffusionPolicy`` (chunk indices from ``To - 1`` are "now").
    :param make_env: zero-argument env factory (e.g. ``lambda: labkit.envs.make("labkit/TwoRoutes-v0")``).
    :param config: delay, execution horizon and method.
    """
    cfg, pcfg = config, policy.config
    now, H, s, d = pcfg.n_obs_steps - 1, pcfg.horizon, config.execute_horizon, config.delay
    if now + s + d > H:
        raise ValueError(
            f"The previous chunk must cover the delay: n_obs_steps - 1 + execute_horizon + delay <= horizon. "
            f"Got {now} + {s} + {d} > {H}: use a longer-horizon policy, or a smaller delay or execute_horizon."
        )
    gen = torch.Generator().manual_seed(generator_seed)
    envs = [make_env() for _ in range(n_episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])  # (B, D)
    history = np.repeat(obs[:, None], pcfg.n_obs_steps, axis=1)  # (B, To, D)
    weights = prefix_weights(d, H - now - s, H - now, cfg.schedule)  # over chunk indices now .. H-1
    full_w = np.concatenate([np.zeros(now), weights])  # (H,) the past entries are not constrained

    def sample(hist: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
        o = torch.as_tensor(hist, dtype=torch.float32)
        if cfg.method == "naive" or previous is None or d == 0 and cfg.schedule == "hard":
            return policy.sample_actions(o, generator=gen).numpy()  # (B, H, A)
        target = shifted_target(previous, now, s)  # (B, H, A): C shifted by s, what C plans for the same times
        return sample_inpainted(
            policy,
            o,
            torch.as_tensor(target),
            torch.as_tensor(full_w),
            generator=gen,
            max_guidance=cfg.max_guidance,
            jacobian=cfg.jacobian,
        ).numpy()

    B = n_episodes
    current = sample(history, None)  # (B, H, A), planned at t = 0
    offset = 0  # steps since `current` was planned
    pending, pending_at = None, -1
    planned = [[(0, current[i].copy())] for i in range(B)]
    active = np.ones(B, bool)
    successes, lengths, routes = np.zeros(B, bool), np.full(B, max_steps), np.array(["none"] * B, dtype=object)
    executed: list[list[np.ndarray]] = [[] for _ in range(B)]
    visited: list[list[np.ndarray]] = [[o.copy()] for o in obs]
    jumps: list[float] = []
    last = np.zeros((B, pcfg.action_dim))
    for t in range(max_steps):
        if pending is not None and t == pending_at + d:  # the chunk launched d steps ago takes over
            current, offset, pending = pending, d, None
            jumps.extend(np.linalg.norm(current[active, now + offset] - last[active], axis=-1).tolist())
        if t > 0 and t % s == 0:  # launch an inference on o_t; its chunk arrives at t + d
            pending, pending_at = sample(history, current), t
            for i in np.flatnonzero(active):
                planned[i].append((t, pending[i].copy()))
            if d == 0:  # instantaneous: it takes over now
                current, offset, pending = pending, 0, None
                jumps.extend(np.linalg.norm(current[active, now] - last[active], axis=-1).tolist())
        action = current[:, now + offset]  # (B, A)
        offset += 1
        for i in np.flatnonzero(active):
            o, _, term, trunc, info = envs[i].step(action[i])
            executed[i].append(action[i].copy())
            visited[i].append(o.copy())
            obs[i] = o
            if term or trunc or t == max_steps - 1:
                active[i] = False
                successes[i], lengths[i], routes[i] = bool(info.get("is_success")), t + 1, info.get("route", "none")
        last = action.copy()
        history = np.concatenate([history[:, 1:], obs[:, None]], axis=1)  # (B, To, D)
        if not active.any():
            break
    for env in envs:
        env.close()
    return DelayResult(
        successes,
        lengths,
        routes.astype(str),
        [np.array(e) for e in executed],
        planned,
        np.array(jumps),
        [np.array(v) for v in visited],
    )
