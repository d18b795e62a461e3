"""Notebook 07's exercises: the residual action, DSRL's noise-to-chunk map and sample-and-select's pick,
each against the kit's own wrapper or agent (``ResidualVecEnv``, ``NoiseSpaceVecEnv``, ``SampleSelectSAC``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium.wrappers import RescaleAction
from stable_baselines3.common.vec_env import DummyVecEnv

from labkit.course.checks import close, exercise
from labkit.envs.registry import make
from labkit.finetune.dsrl import make_noise_space_env
from labkit.finetune.residual import ResidualVecEnv
from labkit.finetune.sample_select import SampleSelectSAC
from labkit.policies.select import select_by_value
from labkit.store import load

_BLOCKED, _PUSH = "labkit/TwoRoutesBlocked-v0", "labkit/PushBlock-v0"


@exercise(
    "07.residual_action",
    hint="a = clip(p + scale * (high - low) / 2 * clip(r, -1, 1), low, high): the residual is clipped to "
    "[-1, 1], scale is a fraction of the action box's half-range, and the sum is clipped to the box",
)
def _residual_action(fn: Any) -> tuple[bool, str]:
    # The kit's wrapper on a real env whose action box is not [-1, 1] (so the half-range matters).
    low, high = np.array([-2.0, -0.5], np.float32), np.array([2.0, 1.5], np.float32)
    venv = DummyVecEnv([lambda: RescaleAction(make(_BLOCKED), low, high)])
    rng = np.random.default_rng(7)
    prior_action = rng.uniform(low, high, (64, 2)).astype(np.float32)  # (n, A), some near the bounds
    residual = rng.normal(0.0, 1.2, (64, 2)).astype(np.float32)  # (n, A), some outside [-1, 1]
    prior = load("two_routes_prior")
    for scale in (0.3, 1.0):
        env = ResidualVecEnv(venv, prior, scale, check_env_id=False)
        expected = env.execute(prior_action, residual)  # (n, A)
        got = np.asarray(fn(prior_action, residual, scale, low, high), dtype=float)
        ok, detail = close(got, expected, atol=1e-5)
        if not ok:
            no_half = np.clip(prior_action + scale * np.clip(residual, -1, 1), low, high)
            no_inner = np.clip(prior_action + scale * (high - low) / 2 * residual, low, high)
            if got.shape == expected.shape and np.allclose(got, no_half, atol=1e-5):
                detail = f"scale {scale}: right on a [-1, 1] box only; scale multiplies the half-range (high - low) / 2"
            elif got.shape == expected.shape and np.allclose(got, no_inner, atol=1e-5):
                detail = f"scale {scale}: clip the residual to [-1, 1] before scaling it"
            else:
                detail = f"scale {scale}: {detail}"
            return False, detail
    return True, "matches labkit.finetune.ResidualVecEnv.execute (scale 0.3 and 1.0, a [-2, 2] x [-0.5, 1.5] box)"


@exercise(
    "07.noise_to_chunk",
    hint="clip w to [-bound, bound], reshape (B, H*A) -> (B, H, A) = x_T, then "
    "prior.predict_action(torch history (B, To, obs_dim), noise=x_T) runs DDIM from that x_T; return numpy (B, Ta, A)",
)
def _noise_to_chunk(fn: Any) -> tuple[bool, str]:
    prior = load("two_routes_prior")
    env = make_noise_space_env(_BLOCKED, prior, 3, seed=5, check_env_id=False)
    env.reset()
    H, A = env.runner.chunk_shape
    env.step(np.zeros((3, H * A), np.float32))  # one chunk in: the histories hold two different observations
    history = env.runner.history.data.copy()  # (B, To, obs_dim)
    w = np.random.default_rng(3).normal(0.0, 1.5, (3, H * A)).astype(np.float32)  # some beyond the bound
    expected = env.runner.plan(history, noise=env.noise_from(w))  # what the DSRL env executes for action w
    got = fn(prior, history, w, env.bound)
    got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got, dtype=float)
    env.close()
    ok, detail = close(got, expected, atol=1e-5)
    if not ok and got.shape == expected.shape:
        unclipped = env.runner.plan(history, noise=torch.from_numpy(w).reshape(3, H, A))
        if np.allclose(got, unclipped, atol=1e-5):
            detail = "the agent's action must be clipped to [-bound, bound] first, as NoiseSpaceVecEnv does"
    return (True, "matches what labkit.finetune.NoiseSpaceVecEnv executes") if ok else (False, detail)


@exercise(
    "07.select_candidate",
    hint="repeat each obs N times (np.repeat(obs, N, axis=0)), flatten the candidates to (n*N, A), "
    "q1, q2 = critic(obs_t, act_t), take min(q1, q2) per candidate, reshape (n, N), argmax over N",
)
def _select_candidate(fn: Any) -> tuple[bool, str]:
    env = make(_PUSH)
    agent = SampleSelectSAC("MlpPolicy", env, prior=load("push_block_prior"), buffer_size=1_000, seed=0)
    obs = np.stack([env.reset(seed=s)[0] for s in range(5)]).astype(np.float32)  # (n, obs_dim)
    candidates = np.random.default_rng(4).uniform(-1, 1, (5, 9, 2)).astype(np.float32)  # (n, N, A), scaled
    n, N, A = candidates.shape
    obs_t = torch.as_tensor(np.repeat(obs, N, axis=0))  # (n*N, obs_dim)
    act_t = torch.as_tensor(candidates.reshape(n * N, A))  # (n*N, A)
    with torch.no_grad():  # as SampleSelectSAC.select scores its candidates
        q1, q2 = (q.reshape(n, N) for q in agent.critic(obs_t, act_t))
    expected, _ = select_by_value(torch.as_tensor(candidates), torch.minimum(q1, q2), selection="argmax")
    got = fn(agent.critic, obs, candidates)
    got = got.detach().cpu().numpy() if isinstance(got, torch.Tensor) else np.asarray(got, dtype=float)
    ok, detail = close(got, expected.numpy(), atol=1e-6)
    if not ok and got.shape == (n, A):
        for name, q in (
            ("Q1 alone", q1),
            ("the mean of Q1 and Q2", (q1 + q2) / 2),
            ("max(Q1, Q2)", torch.maximum(q1, q2)),
        ):
            if np.allclose(got, select_by_value(torch.as_tensor(candidates), q)[0].numpy()):
                detail = f"you picked by {name}; SAC's twin critics are combined pessimistically, min(Q1, Q2)"
                break
    return (
        (True, "matches SampleSelectSAC's pick (labkit.policies.select_by_value on min(Q1, Q2))")
        if ok
        else (False, detail)
    )
