"""Roll out a Decision Transformer with a target return: the return-to-go falls as rewards arrive.

``labkit.rollout.evaluate`` feeds a policy its observations only; a return-conditioned policy
also needs the rewards (``R <- R - r`` after every step) and its own past actions. This loop runs
``n_episodes`` envs in lockstep (env seeds ``seed + i``, as ``evaluate`` does) and returns the same
``EvalResult``, so success rates and returns are comparable with every other row of a table::

    history (per env)   : s_0 a_0 r_0 s_1 a_1 r_1 ... s_t
    tokens at step t    : last K of (R_k, s_k, a_k),  R_0 = target,  R_{k+1} = R_k - r_k
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from labkit.envs.registry import make
from labkit.pretrain.decision_transformer import DecisionTransformer
from labkit.rollout import EvalResult

__all__ = ["evaluate_return_conditioned", "ReturnConditioned"]


class ReturnConditioned:
    """A Decision Transformer with a fixed target return and sampling options (a table row)."""

    def __init__(
        self, model: DecisionTransformer, target_return: float, sample: bool = False, temperature: float = 1.0
    ) -> None:
        self.model, self.target_return = model, float(target_return)
        self.sample, self.temperature = sample, temperature

    def __repr__(self) -> str:
        return f"ReturnConditioned(target_return={self.target_return}, sample={self.sample})"


def evaluate_return_conditioned(
    model: DecisionTransformer | ReturnConditioned,
    env_id: str,
    n_episodes: int = 100,
    *,
    target_return: float | None = None,
    seed: int = 0,
    generator_seed: int | None = None,
    sample: bool | None = None,
    record_episodes: int = 0,
    max_steps: int = 1000,
    progress: bool = True,
    env_kwargs: dict[str, Any] | None = None,
) -> EvalResult:
    """Run ``n_episodes`` episodes of ``model`` asked for ``target_return``.

    :param model: a trained :class:`DecisionTransformer` (then pass ``target_return``) or a
        :class:`ReturnConditioned` that carries its target and sampling options.
    :param env_id: e.g. ``"labkit/TwoRoutes-v0"``.
    :param seed: env seeds ``seed, seed + 1, ...``.
    :param generator_seed: seeds the action sampling (default ``seed``).
    :param record_episodes: render frames of the first this-many episodes.
    :return: an ``EvalResult`` (successes, returns, lengths, routes, trajectories, frames).
    """
    if isinstance(model, ReturnConditioned):
        rc = model
        target_return = rc.target_return if target_return is None else target_return
        sample = rc.sample if sample is None else sample
        temperature, model = rc.temperature, rc.model
    else:
        temperature = 1.0
    sample = bool(sample)
    if target_return is None:
        raise ValueError("pass target_return=... (the return the model is asked to collect).")
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1. Got {n_episodes}.")
    start_time = time.perf_counter()
    c = model.config
    K, n = c.context, n_episodes
    envs = [
        make(env_id, render_mode="rgb_array" if i < record_episodes else None, **(env_kwargs or {})) for i in range(n)
    ]
    gen = torch.Generator().manual_seed(seed if generator_seed is None else generator_seed)
    first = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    spec = envs[0].spec
    T = min(max_steps, int((spec.max_episode_steps if spec is not None else None) or max_steps))
    states = torch.zeros(n, T + 1, c.obs_dim)  # (n, T+1, D) s_0 .. s_T
    actions = torch.zeros(n, T + 1, c.action_dim)  # (n, T+1, A)
    rtg = torch.zeros(n, T + 1, 1)  # (n, T+1, 1)
    states[:, 0] = torch.as_tensor(np.stack(first))
    rtg[:, 0] = float(target_return)
    active = np.ones(n, dtype=bool)
    returns, lengths = np.zeros(n), np.zeros(n, dtype=int)
    successes, routes = np.zeros(n, dtype=bool), np.array(["none"] * n, dtype=object)
    frames: list[list[np.ndarray]] = [[np.asarray(env.render())] for env in envs[:record_episodes]]
    model.eval()
    bar = tqdm(total=T, desc=f"DT target {target_return:g}", disable=not progress, leave=False)
    for t in range(T):
        lo = max(0, t - K + 1)
        idx = np.flatnonzero(active)
        sl = slice(lo, t + 1)
        steps = torch.arange(lo, t + 1).expand(len(idx), -1)  # (n', k)
        a = model.act(
            states[idx, sl],
            actions[idx, sl],
            rtg[idx, sl],
            steps,
            sample=sample,
            temperature=temperature,
            generator=gen,
        )  # (n', A)
        for j, i in enumerate(idx):
            obs, r, term, trunc, info = envs[i].step(a[j].numpy())
            actions[i, t] = a[j]
            states[i, t + 1] = torch.as_tensor(obs)
            rtg[i, t + 1] = rtg[i, t] - float(r)
            returns[i] += float(r)
            lengths[i] += 1
            if i < record_episodes:
                frames[i].append(np.asarray(envs[i].render()))
            if term or trunc:
                active[i] = False
                successes[i], routes[i] = bool(info.get("is_success", False)), str(info.get("route", "none"))
        bar.update(1)
        if not active.any():
            break
    bar.close()
    for i in np.flatnonzero(active):  # ran out of max_steps
        routes[i] = "none"
    for env in envs:
        env.close()
    trajectories = [states[i, : lengths[i] + 1].numpy() for i in range(n)]
    return EvalResult(
        successes=successes,
        returns=returns,
        lengths=lengths,
        routes=routes.astype(str),
        trajectories=trajectories,
        frames=frames,
        seconds=time.perf_counter() - start_time,
        has_routes=True,
        env_steps=int(lengths.sum()),
    )
