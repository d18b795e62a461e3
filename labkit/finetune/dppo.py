"""DPPO: fine-tune a diffusion policy with PPO through its denoising chain (Ren et al., 2024).

Two MDPs nested in one. The *environment* MDP: at a decision the policy sees the last To
observations and emits a chunk, whose first Ta actions the env executes (one "env step" below is
one such decision; ``ActionChunkWrapper`` makes it a single ``step`` of a gymnasium env). The
*denoising* MDP inside each decision: K DDPM steps, each a Gaussian policy::

    x_{k-1} ~ N( mean_theta(x_k, t_k, s),  max(std_k, min_std)^2 I )

with (mean, std) from ``scheduler.step`` (see ``labkit.finetune.chain``). DPPO treats every
denoising step of a decision as an action of the same PPO problem and gives it the advantage of
that decision. So, for decision n and fine-tuned denoising step k::

    ratio_{n,k} = exp( log p_theta(x_{k-1} | x_k, s_n) - log p_theta_old(x_{k-1} | x_k, s_n) )
    L_clip      = -mean_{n,k} min( ratio_{n,k} A_n, clip(ratio_{n,k}, 1 - eps, 1 + eps) A_n )

(``logprob_mode="per_step"``, DPPO's choice; ``"chain"`` sums the K log-probabilities into one
ratio per decision, the textbook view of the whole chain as one action.) ``A_n`` comes from GAE
over decisions with a value network V(s) on the (encoded) observation. Only the last
``ft_denoising_steps`` steps are fine-tuned: earlier ones are sampled without gradients and need
not be stored.

The same loop fine-tunes a ``GaussianBCPolicy`` (``GaussianPPOActor``), whose log-probability is
direct: plain PPO, the baseline DPPO is compared with.

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
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from labkit.diffusion import DiffusionPolicy, GaussianBCPolicy
from labkit.envs.wrappers import ActionChunkWrapper
from labkit.finetune.chain import ddpm_scheduler, denoise, gaussian_log_prob, step_log_probs
from labkit.finetune.offline import mlp

__all__ = [
    "ActionChunkWrapper",
    "make_chunk_vec_env",
    "DiffusionPPOActor",
    "GaussianPPOActor",
    "PPOConfig",
    "PPOResult",
    "ppo_clip_loss",
    "compute_gae",
    "finetune_ppo",
]


# ---------------------------------------------------------------------------------------------
# env


def make_chunk_vec_env(env_id: str, n_envs: int, n_obs_steps: int, n_action_steps: int, seed: int = 0):
    """SB3 ``DummyVecEnv`` of ``n_envs`` copies of ``Monitor(env)`` wrapped in :class:`ActionChunkWrapper`."""
    import labkit.envs  # noqa: F401  (registers the labkit tasks)
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    return make_vec_env(env_id, n_envs=n_envs, seed=seed, vec_env_cls=DummyVecEnv,
                        wrapper_class=ActionChunkWrapper,
                        wrapper_kwargs={"n_obs_steps": n_obs_steps, "n_action_steps": n_action_steps})


# ---------------------------------------------------------------------------------------------
# actors: what PPO needs from a policy


class _ChunkActor(nn.Module):
    """Shared parts: the wrapped policy's config, observation encoding, ``predict_action``."""

    policy: Any
    n_log_probs: int = 1

    @property
    def config(self):
        return self.policy.config

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, To, D) raw -> (B, To * D) normalised (the value network's input)."""
        return self.policy.encode_obs(obs)

    def _executed(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised chunk (B, H, A) -> raw executed actions (B, Ta, A)."""
        start = self.config.n_obs_steps - 1
        return self.policy.normalizer_act.unnormalize(x[:, start : start + self.config.n_action_steps])

    @torch.no_grad()
    def predict_action(self, obs: torch.Tensor, generator: torch.Generator | None = None, **kwargs: Any) -> torch.Tensor:
        """(B, To, D) -> (B, Ta, A), sampled exactly as during fine-tuning (for ``evaluate``)."""
        return self.act(torch.as_tensor(obs, dtype=torch.float32), generator)[0]

    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None):
        raise NotImplementedError

    def log_prob(self, obs: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class DiffusionPPOActor(_ChunkActor):
    """A ``DiffusionPolicy`` seen as a chain of Gaussians (DPPO). Fine-tunes ``policy`` in place.

    :param policy: a trained ``DiffusionPolicy``.
    :param num_inference_steps: K, DDPM steps per decision.
    :param ft_denoising_steps: how many of the last steps are fine-tuned (1..K).
    :param min_std: lower bound of every step's std, in normalised action units.
    """

    def __init__(self, policy: DiffusionPolicy, num_inference_steps: int = 10, ft_denoising_steps: int | None = None,
                 min_std: float = 0.1) -> None:
        super().__init__()
        ft = num_inference_steps if ft_denoising_steps is None else ft_denoising_steps
        if not 1 <= ft <= num_inference_steps:
            raise ValueError(f"ft_denoising_steps must be in [1, {num_inference_steps}]. Got {ft}.")
        if min_std <= 0:
            raise ValueError(f"min_std must be > 0 so that every log-probability is finite. Got {min_std}.")
        self.policy, self.ft_denoising_steps, self.min_std = policy, ft, min_std
        self.n_log_probs = ft
        self.sched = ddpm_scheduler(policy, num_inference_steps)

    def actor_parameters(self):
        return self.policy.denoiser.parameters()

    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None):
        """Sample a decision: ``(executed actions (B, Ta, A), chain (B, R+1, H, A), logp (B, R))``."""
        with torch.no_grad():
            cond = self.policy.encode_obs(obs)  # (B, To*D)
            x0, chain, logp = denoise(self.policy, cond, self.sched, min_std=self.min_std,
                                      record_last=self.ft_denoising_steps, generator=generator)
        return self._executed(x0), chain, logp

    def log_prob(self, obs: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """Per-step log-probs (B, R) of a recorded chain under the current weights."""
        return step_log_probs(self.policy, self.policy.encode_obs(obs), self.sched, sample, self.min_std)


class GaussianPPOActor(_ChunkActor):
    """A ``GaussianBCPolicy``: log-probability of the whole normalised chunk (plain PPO)."""

    def __init__(self, policy: GaussianBCPolicy) -> None:
        super().__init__()
        self.policy = policy

    def actor_parameters(self):
        return [p for n, p in self.policy.named_parameters() if not n.startswith("normalizer")]

    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None):
        with torch.no_grad():
            mean, std = self.policy.distribution_params(obs)  # (B, H, A) each
            x = mean + std * torch.randn(mean.shape, generator=generator)
            logp = gaussian_log_prob(x, mean, std)[:, None]  # (B, 1)
        return self._executed(x), x, logp

    def log_prob(self, obs: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        mean, std = self.policy.distribution_params(obs)
        return gaussian_log_prob(sample, mean, std)[:, None]  # (B, 1)


# ---------------------------------------------------------------------------------------------
# PPO pieces


def ppo_clip_loss(logp_new: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor,
                  clip_range: float) -> tuple[torch.Tensor, dict[str, float]]:
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


def compute_gae(rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_values: np.ndarray,
                gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
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
        for name in ("n_envs", "n_steps", "n_epochs", "minibatch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1. Got {getattr(self, name)}.")
        if not 0 < self.clip_range < 1:
            raise ValueError(f"clip_range must be in (0, 1). Got {self.clip_range}.")


@dataclass
class PPOResult:
    """What :func:`finetune_ppo` returns.

    :ivar history: one dict per iteration: ``iteration, env_steps, seconds, success_rate,
        mean_return`` (over the last 100 finished training episodes), ``episodes`` (finished so
        far), ``policy_loss, value_loss, approx_kl, clip_frac``. ``pandas.DataFrame(history)``
        is a ready-made table.
    :ivar value: the trained value network (input: ``actor.encode(obs)``).
    """

    history: list[dict[str, float]] = field(default_factory=list)
    env_steps: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    value: nn.Module | None = None


def finetune_ppo(
    actor: DiffusionPPOActor | GaussianPPOActor,
    env_id: str,
    config: PPOConfig | None = None,
    *,
    progress: bool = True,
    callback: Callable[[dict[str, float]], bool] | None = None,
) -> PPOResult:
    """Fine-tune ``actor``'s policy in place with PPO on ``env_id``.

    :param actor: ``DiffusionPPOActor(policy, ...)`` (DPPO) or ``GaussianPPOActor(policy)`` (PPO).
    :param env_id: e.g. ``"labkit/TwoRoutesShifted-v0"``.
    :param callback: called with each history row; return False to stop.
    :return: a :class:`PPOResult`; Ctrl-C stops cleanly and keeps the weights (``interrupted=True``).
    """
    cfg = config or PPOConfig()
    pc = actor.config
    To, Ta, A, D = pc.n_obs_steps, pc.n_action_steps, pc.action_dim, pc.obs_dim
    S, E, R = cfg.n_steps, cfg.n_envs, actor.n_log_probs
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    venv = make_chunk_vec_env(env_id, E, To, Ta, seed=cfg.seed)
    value = mlp(To * D, 1, cfg.value_hidden_dim, cfg.value_n_layers)
    opt_actor = torch.optim.Adam(actor.actor_parameters(), lr=cfg.actor_lr)
    opt_value = torch.optim.Adam(value.parameters(), lr=cfg.critic_lr)

    def v_of(obs: torch.Tensor) -> torch.Tensor:  # (B, To, D) -> (B,)
        with torch.no_grad():
            enc = actor.encode(obs)
        return value(enc).squeeze(-1)

    result = PPOResult(value=value)
    recent_success: deque = deque(maxlen=100)
    recent_return: deque = deque(maxlen=100)
    n_episodes = 0
    obs_np = venv.reset()  # (E, To*D)
    start = time.perf_counter()
    bar = tqdm(total=cfg.total_env_steps, desc="PPO fine-tune", disable=not progress, dynamic_ncols=True)
    iteration = 0
    actor.train()
    try:
        while result.env_steps < cfg.total_env_steps:
            if cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds:
                break
            # ---- rollout: S decisions in each of E envs
            obs_buf = torch.zeros(S, E, To, D)
            samples, logp_buf = [], torch.zeros(S, E, R)
            rewards, values, dones = np.zeros((S, E)), np.zeros((S, E)), np.zeros((S, E))
            steps_before = result.env_steps
            for s in range(S):
                obs = torch.as_tensor(obs_np, dtype=torch.float32).reshape(E, To, D)  # (E, To*D) -> (E, To, D)
                actions, sample, logp = actor.act(obs, gen)  # (E, Ta, A), (E, ...), (E, R)
                with torch.no_grad():
                    values[s] = v_of(obs).numpy()
                obs_buf[s], logp_buf[s] = obs, logp
                samples.append(sample)
                obs_np, rew, done, infos = venv.step(actions.reshape(E, Ta * A).numpy())
                for i, info in enumerate(infos):
                    result.env_steps += int(info.get("chunk_steps", Ta))
                    if done[i] and info.get("TimeLimit.truncated", False):  # bootstrap a time-limit cut
                        term_obs = torch.as_tensor(info["terminal_observation"], dtype=torch.float32).reshape(1, To, D)
                        with torch.no_grad():
                            rew[i] += cfg.gamma * float(v_of(term_obs)[0])
                    if done[i]:
                        n_episodes += 1
                        recent_success.append(float(info.get("is_success", False)))
                        recent_return.append(float(info["episode"]["r"]) if "episode" in info else np.nan)
                rewards[s], dones[s] = rew, done
            with torch.no_grad():
                last_v = v_of(torch.as_tensor(obs_np, dtype=torch.float32).reshape(E, To, D)).numpy()
            adv, ret = compute_gae(rewards, values, dones, last_v, cfg.gamma, cfg.gae_lambda)

            # ---- update: n_epochs over the S * E decisions
            N = S * E
            flat_obs = obs_buf.reshape(N, To, D)
            flat_sample = torch.stack(samples).reshape(N, *samples[0].shape[1:])
            flat_logp = logp_buf.reshape(N, R)
            flat_adv = torch.as_tensor(adv, dtype=torch.float32).reshape(N)
            flat_adv = (flat_adv - flat_adv.mean()) / (flat_adv.std() + 1e-8)
            flat_ret = torch.as_tensor(ret, dtype=torch.float32).reshape(N)
            stats: dict[str, list[float]] = {"policy_loss": [], "value_loss": [], "approx_kl": [], "clip_frac": []}
            update_actor = iteration >= cfg.value_warmup_iterations
            stop = False
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
                        stop = True
                        break
                if stop:
                    break
            iteration += 1
            row = {
                "iteration": iteration,
                "env_steps": result.env_steps,
                "seconds": round(time.perf_counter() - start, 2),
                "success_rate": float(np.mean(recent_success)) if recent_success else float("nan"),
                "mean_return": float(np.nanmean(recent_return)) if recent_return else float("nan"),
                "episodes": n_episodes,
                **{k: float(np.mean(v)) if v else float("nan") for k, v in stats.items()},
            }
            result.history.append(row)
            bar.update(result.env_steps - steps_before)
            bar.set_postfix(success=f"{row['success_rate']:.2f}", ret=f"{row['mean_return']:.2f}", refresh=False)
            if callback is not None and callback(row) is False:
                break
            if cfg.stop_success is not None and len(recent_success) >= 50 and row["success_rate"] >= cfg.stop_success:
                break
    except KeyboardInterrupt:
        result.interrupted = True
        warnings.warn(f"PPO fine-tuning interrupted after {result.env_steps} env steps; keeping the weights.",
                      stacklevel=2)
    finally:
        bar.close()
        venv.close()
    actor.eval()
    result.seconds = time.perf_counter() - start
    return result
