"""PPO over chunk decisions, the loop behind DPPO (``DiffusionPPOActor``) and Gaussian PPO (``GaussianPPOActor``).

An actor (``labkit.finetune.dppo``) says how to sample a decision and how to recompute its
log-probabilities; this module collects rollouts in SB3 vectorised envs, computes GAE advantages over
decisions and optimises PPO's clipped surrogate::

    ratio = exp(logp_new - logp_old)       (per denoising step for DPPO: logp has R columns)
    L     = -mean( min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A) )
    GAE   : delta_t = r_t + gamma V(s_{t+1}) (1 - done_t) - V(s_t),  A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}

Pieces from Stable-Baselines3: the vectorised envs (``make_vec_env``, ``DummyVecEnv``), its
``Monitor`` for episode returns, and its conventions (``terminal_observation`` and
``TimeLimit.truncated`` in ``infos``, bootstrapping truncated episodes). SB3's ``PPO`` class cannot
express a policy whose log-probability is a sum over a sampling chain, so the update is ours.

Storage per iteration (S = n_steps decisions per env, E = n_envs)::

    obs      (S, E, To, D)     observation histories
    samples  (S, E, ...)       what the actor needs to recompute log-probs (the recorded chain
                               (R + 1, H, A) for diffusion, the normalised chunk (H, A) for Gaussian)
    logp_old (S, E, R)         per-step log-probs at sampling time (R = 1 for Gaussian)
    rewards, values, dones (S, E)
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

from labkit.envs.registry import register_all
from labkit.envs.wrappers import ActionChunkWrapper
from labkit.finetune.dppo import DiffusionPPOActor, GaussianPPOActor
from labkit.models.mlp import mlp
from labkit.policies.runner import ObsHistory
from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["PPOConfig", "compute_gae", "finetune_ppo", "make_chunk_vec_env", "ppo_clip_loss"]


def make_chunk_vec_env(env_id: str, n_envs: int, n_action_steps: int, seed: int = 0) -> DummyVecEnv:
    """SB3 ``DummyVecEnv`` of ``n_envs`` copies of ``ActionChunkWrapper(Monitor(env))``, seeded."""
    register_all()
    venv = make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        vec_env_cls=DummyVecEnv,
        wrapper_class=cast(Callable[[gym.Env], gym.Env], ActionChunkWrapper),  # called with **wrapper_kwargs
        wrapper_kwargs={"n_action_steps": n_action_steps},
    )
    return cast(DummyVecEnv, venv)  # vec_env_cls=DummyVecEnv


def ppo_clip_loss(
    logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, clip_range: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """PPO's clipped surrogate, to minimise: ``-mean(min(r A, clip(r, 1-eps, 1+eps) A))``.

    Shapes broadcast: log-probs (B, R) with advantages (B, 1) give one ratio per denoising step.
    :return: ``(loss, {"approx_kl", "clip_frac"})``.
    """
    log_ratio = logp_new - logp_old
    ratio = log_ratio.exp()
    surrogate = torch.minimum(ratio * advantages, ratio.clamp(1 - clip_range, 1 + clip_range) * advantages)
    with torch.no_grad():
        stats = {
            "approx_kl": float(((ratio - 1) - log_ratio).mean()),  # the low-variance k3 estimator
            "clip_frac": float(((ratio - 1).abs() > clip_range).float().mean()),
        }
    return -surrogate.mean(), stats


def compute_gae(
    rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_values: np.ndarray, gamma: float, lam: float
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation over decisions.

    :param rewards: (S, E); truncated episodes already include ``gamma * V(terminal obs)``.
    :param values: (S, E) V(s_t).
    :param dones: (S, E) 1 where the episode ended at step t (the next obs is a new episode).
    :param last_values: (E,) V of the observation after the last step.
    :return: ``(advantages (S, E), returns (S, E))``.
    """
    S = rewards.shape[0]
    adv = np.zeros_like(rewards)
    last = np.zeros_like(last_values)
    for t in reversed(range(S)):
        next_v = last_values if t == S - 1 else values[t + 1]
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_v * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


@dataclass
class PPOConfig:
    """Hyper-parameters of :func:`finetune_ppo` (DPPO, or PPO for a Gaussian policy)."""

    n_envs: int = 8
    """Parallel envs (an SB3 DummyVecEnv)."""
    n_steps: int = 16
    """Decisions per env per iteration (a decision executes n_action_steps env steps)."""
    n_epochs: int = 5
    """Passes over each iteration's data."""
    minibatch_size: int = 64
    """Decisions per gradient step."""
    gamma: float = 0.99
    """Discount per decision."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_range: float = 0.1
    """PPO ratio clip epsilon."""
    actor_lr: float = 1e-4
    """Adam learning rate of the policy."""
    critic_lr: float = 1e-3
    """Adam learning rate of the value network."""
    max_grad_norm: float = 1.0
    """Gradient clipping of actor and critic."""
    target_kl: float | None = None
    """Stop an iteration's epochs early when approx_kl exceeds this."""
    logprob_mode: str = "per_step"
    """"per_step" (one ratio per denoising step, DPPO) or "chain" (summed log-probs, one ratio per decision)."""
    value_hidden_dim: int = 256
    """Width of the value network."""
    value_n_layers: int = 2
    """Hidden layers of the value network."""
    value_warmup_iterations: int = 0
    """First iterations update only the value network (the policy waits for a sensible baseline)."""
    total_env_steps: int = 200_000
    """Budget in env steps (every executed action counts)."""
    max_seconds: float | None = None
    """Budget in wall-clock seconds (checked between iterations)."""
    stop_success: float | None = None
    """Stop when the success rate of the last 100 training episodes reaches this."""
    seed: int = 0
    """Seeds the envs, the sampling noise and the minibatches."""

    def __post_init__(self) -> None:
        if self.logprob_mode not in ("per_step", "chain"):
            raise ValueError(f"logprob_mode must be 'per_step' or 'chain'. Got {self.logprob_mode!r}.")
        for name in ("n_envs", "n_steps", "n_epochs", "minibatch_size", "total_env_steps"):
            check_int(name, getattr(self, name))
        check_seed(self.seed)
        if not 0 <= self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(f"gamma and gae_lambda must be in [0, 1]. Got {self.gamma} and {self.gae_lambda}.")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0 (or None). Got {self.max_seconds}.")
        if not 0 < self.clip_range < 1:
            raise ValueError(f"clip_range must be in (0, 1). Got {self.clip_range}.")


def _update(
    actor: DiffusionPPOActor | GaussianPPOActor,
    v_of: Callable,
    value: nn.Module,
    opt_actor: torch.optim.Optimizer,
    opt_value: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, ...],
    cfg: PPOConfig,
    gen: torch.Generator,
    update_actor: bool,
) -> dict[str, list[float]]:
    """``cfg.n_epochs`` passes of minibatch updates over one iteration's N decisions.

    :param batch: obs (N, To, D), samples (N, ...), old log-probs (N, R), advantages (N,), returns (N,).
    """
    flat_obs, flat_sample, flat_logp, flat_adv, flat_ret = batch
    N = len(flat_obs)
    stats: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "approx_kl": [], "clip_frac": []}
    for _ in range(cfg.n_epochs):
        perm = torch.randperm(N, generator=gen)
        for lo in range(0, N, cfg.minibatch_size):
            mb = perm[lo : lo + cfg.minibatch_size]
            v_loss = ((v_of(flat_obs[mb]) - flat_ret[mb]) ** 2).mean()
            opt_value.zero_grad(set_to_none=True)
            v_loss.backward()
            nn.utils.clip_grad_norm_(value.parameters(), cfg.max_grad_norm)
            opt_value.step()
            stats["value_loss"].append(v_loss.item())
            if not update_actor:
                continue
            new_logp = actor.log_prob(flat_obs[mb], flat_sample[mb])  # (b, R)
            old_logp, a = flat_logp[mb], flat_adv[mb][:, None]  # (b, R), (b, 1)
            if cfg.logprob_mode == "chain":
                new_logp, old_logp = new_logp.sum(1, keepdim=True), old_logp.sum(1, keepdim=True)
            loss, st = ppo_clip_loss(new_logp, old_logp, a, cfg.clip_range)
            opt_actor.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(list(actor.actor_parameters()), cfg.max_grad_norm)
            opt_actor.step()
            stats["policy_loss"].append(loss.item())
            stats["approx_kl"].append(st["approx_kl"])
            stats["clip_frac"].append(st["clip_frac"])
            if cfg.target_kl is not None and st["approx_kl"] > cfg.target_kl:
                return stats
    return stats


def finetune_ppo(
    actor: DiffusionPPOActor | GaussianPPOActor,
    env_id: str,
    config: PPOConfig | None = None,
    *,
    progress: bool = True,
    callback: Callable[[dict[str, float]], bool] | None = None,
    success: Callable[[dict[str, Any]], bool] | None = None,
) -> TrainLog:
    """Fine-tune ``actor``'s policy in place with PPO on ``env_id``.

    :param actor: ``DiffusionPPOActor(policy, ...)`` (DPPO) or ``GaussianPPOActor(policy)`` (PPO).
    :param env_id: e.g. ``"labkit/TwoRoutesShifted-v0"``.
    :param callback: called with each history row; return False to stop.
    :param success: ``info -> bool`` at an episode's end (the info has SB3's ``"episode"`` entry with
        the return ``r`` and length ``l``); default ``info["is_success"]``. E.g.
        ``lambda info: info["episode"]["r"] >= 950`` for InvertedPendulum.
    :return: a ``TrainLog``: one ``history`` row per iteration (``iteration, env_steps, seconds,
        success_rate, mean_return`` over the last 100 finished training episodes, ``episodes``,
        ``policy_loss, value_loss, approx_kl, clip_frac``); ``extras["value"]`` is the trained value
        network (input: ``actor.encode(obs)``). Ctrl-C stops cleanly and keeps the weights.
    """
    cfg = config or PPOConfig()
    pc = actor.config
    To, Ta, A, D = pc.n_obs_steps, pc.n_action_steps, pc.action_dim, pc.obs_dim
    S, E, R = cfg.n_steps, cfg.n_envs, actor.n_log_probs
    is_success = success or (lambda info: bool(info.get("is_success", False)))
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    venv = make_chunk_vec_env(env_id, E, Ta, seed=cfg.seed)
    history = ObsHistory(E, To, D)  # (E, To, D): what the actor conditions on
    value = mlp(To * D, 1, cfg.value_hidden_dim, cfg.value_n_layers)
    opt_actor = torch.optim.Adam(actor.actor_parameters(), lr=cfg.actor_lr)
    opt_value = torch.optim.Adam(value.parameters(), lr=cfg.critic_lr)

    def v_of(obs: torch.Tensor) -> torch.Tensor:  # (B, To, D) -> (B,)
        with torch.no_grad():
            enc = actor.encode(obs)
        return value(enc).squeeze(-1)

    log = TrainLog(meta={"method": type(actor).__name__, "seed": cfg.seed}, extras={"value": value})
    recent_success: deque = deque(maxlen=100)
    recent_return: deque = deque(maxlen=100)
    n_episodes = 0
    history.reset(cast(np.ndarray, venv.reset()))  # Box observations
    start = time.perf_counter()
    iteration = 0
    actor.train()
    with training(log, total=cfg.total_env_steps, desc="PPO fine-tune", progress=progress, unit="env step") as bar:
        while log.env_steps < cfg.total_env_steps:
            if cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds:
                break
            # ---- rollout: S decisions in each of E envs
            obs_buf = torch.zeros(S, E, To, D)
            samples, logp_buf = [], torch.zeros(S, E, R)
            rewards, values, dones = np.zeros((S, E)), np.zeros((S, E)), np.zeros((S, E))
            steps_before = log.env_steps
            for s in range(S):
                obs = torch.as_tensor(history.data.copy())  # (E, To, D)
                actions, sample, logp = actor.act(obs, gen)  # (E, Ta, A), (E, ...), (E, R)
                with torch.no_grad():
                    values[s] = v_of(obs).numpy()
                obs_buf[s], logp_buf[s] = obs, logp
                samples.append(sample)
                obs_np, rew, done, infos = venv.step(actions.reshape(E, Ta * A).numpy())
                for i, info in enumerate(infos):
                    log.env_steps += int(info.get("chunk_steps", Ta))
                    for o in info["chunk_obs"]:  # the history sees every executed step
                        history.push(o[None], [i])
                    if done[i] and info.get("TimeLimit.truncated", False):  # bootstrap a time-limit cut
                        with torch.no_grad():
                            rew[i] += cfg.gamma * float(v_of(torch.as_tensor(history.data[i : i + 1].copy()))[0])
                    if done[i]:
                        n_episodes += 1
                        recent_success.append(float(is_success(info)))
                        recent_return.append(float(info["episode"]["r"]) if "episode" in info else np.nan)
                # a done env's obs is its next episode's first
                history.reset(cast(np.ndarray, obs_np), np.flatnonzero(done))
                rewards[s], dones[s] = rew, done
            with torch.no_grad():
                last_v = v_of(torch.as_tensor(history.data.copy())).numpy()
            adv, ret = compute_gae(rewards, values, dones, last_v, cfg.gamma, cfg.gae_lambda)

            # ---- update: n_epochs over the S * E decisions
            N = S * E
            flat_obs = obs_buf.reshape(N, To, D)
            flat_sample = torch.stack(samples).reshape(N, *samples[0].shape[1:])
            flat_logp = logp_buf.reshape(N, R)
            flat_adv = torch.as_tensor(adv, dtype=torch.float32).reshape(N)
            flat_adv = (flat_adv - flat_adv.mean()) / (flat_adv.std() + 1e-8)
            flat_ret = torch.as_tensor(ret, dtype=torch.float32).reshape(N)
            stats = _update(
                actor,
                v_of,
                value,
                opt_actor,
                opt_value,
                (flat_obs, flat_sample, flat_logp, flat_adv, flat_ret),
                cfg,
                gen,
                update_actor=iteration >= cfg.value_warmup_iterations,
            )
            iteration += 1
            log.iterations_done = iteration
            row = log.record(
                iteration=iteration,
                env_steps=log.env_steps,
                seconds=round(time.perf_counter() - start, 2),
                success_rate=float(np.mean(recent_success)) if recent_success else float("nan"),
                mean_return=float(np.nanmean(recent_return)) if recent_return else float("nan"),
                episodes=n_episodes,
                **{k: float(np.mean(v)) if v else float("nan") for k, v in stats.items()},
            )
            bar.update(log.env_steps - steps_before)
            bar.set_postfix(success=f"{row['success_rate']:.2f}", ret=f"{row['mean_return']:.2f}", refresh=False)
            if callback is not None and callback(row) is False:
                break
            if cfg.stop_success is not None and len(recent_success) >= 50 and row["success_rate"] >= cfg.stop_success:
                break
    venv.close()
    actor.eval()
    return log
