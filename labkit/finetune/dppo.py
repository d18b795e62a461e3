"""DPPO: fine-tune a diffusion policy with PPO through its denoising chain (Ren et al., 2024).

Two MDPs nested in one. The *environment* MDP: at a decision the policy sees the last To
observations and emits a chunk, whose first Ta actions the env executes (one "env step" below is
one such decision; ``ActionChunkWrapper`` makes it a single ``step`` of a gymnasium env, and the
loop in ``ppo.py`` keeps the observation history with ``labkit.policies.ObsHistory``). The
*denoising* MDP inside each decision: K DDPM steps, each a Gaussian policy::

    x_{k-1} ~ N( mean_theta(x_k, t_k, s),  max(std_k, min_std)^2 I )

with (mean, std) from ``scheduler.step`` (see ``labkit.diffusion.chain``). DPPO treats every
denoising step of a decision as an action of the same PPO problem and gives it the advantage of
that decision. So, for decision n and fine-tuned denoising step k::

    ratio_{n,k} = exp( log p_theta(x_{k-1} | x_k, s_n) - log p_theta_old(x_{k-1} | x_k, s_n) )
    L_clip      = -mean_{n,k} min( ratio_{n,k} A_n, clip(ratio_{n,k}, 1 - eps, 1 + eps) A_n )

(``logprob_mode="per_step"``, DPPO's choice; ``"chain"`` sums the K log-probabilities into one
ratio per decision, the textbook view of the whole chain as one action.) ``A_n`` comes from GAE
over decisions with a value network V(s) on the (encoded) observation. Only the last
``ft_denoising_steps`` steps are fine-tuned: earlier ones are sampled without gradients and need
not be stored.

The same loop (``labkit.finetune.ppo.finetune_ppo``) fine-tunes a ``GaussianBCPolicy``
(``GaussianPPOActor``), whose log-probability is direct: plain PPO, the baseline DPPO is compared with.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from labkit.diffusion.chain import denoise, gaussian_log_prob, step_distributions, step_log_probs
from labkit.diffusion.scheduler import DDPMScheduler
from labkit.policies.base import ChunkConfig
from labkit.policies.diffusion import DiffusionPolicy
from labkit.policies.gaussian import GaussianBCPolicy

__all__ = ["DiffusionPPOActor", "GaussianPPOActor"]


class _PPOActor(nn.Module):
    """Shared parts: the wrapped policy's config, observation encoding, ``predict_action``."""

    policy: Any
    n_log_probs: int = 1

    @property
    def config(self) -> ChunkConfig:
        return self.policy.config

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, To, D) raw -> (B, To * D) normalised (the value network's input)."""
        return self.policy.encode_obs(obs)

    def _executed(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised chunk (B, H, A) -> raw executed actions (B, Ta, A)."""
        start = self.config.n_obs_steps - 1
        return self.policy.normalizer_act.unnormalize(x[:, start : start + self.config.n_action_steps])

    @torch.no_grad()
    def predict_action(
        self, obs: torch.Tensor, generator: torch.Generator | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """(B, To, D) -> (B, Ta, A), sampled exactly as during fine-tuning (for ``evaluate``)."""
        return self.act(torch.as_tensor(obs, dtype=torch.float32), generator)[0]

    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None):
        raise NotImplementedError

    def log_prob(self, obs: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class DiffusionPPOActor(_PPOActor):
    """A ``DiffusionPolicy`` seen as a chain of Gaussians (DPPO). Fine-tunes ``policy`` in place.

    :param policy: a trained ``DiffusionPolicy``.
    :param num_inference_steps: K, DDPM steps per decision.
    :param ft_denoising_steps: how many of the last steps are fine-tuned (1..K).
    :param min_std: lower bound of every step's std, in normalised action units.
    """

    def __init__(
        self,
        policy: DiffusionPolicy,
        num_inference_steps: int = 10,
        ft_denoising_steps: int | None = None,
        min_std: float = 0.1,
    ) -> None:
        super().__init__()
        ft = num_inference_steps if ft_denoising_steps is None else ft_denoising_steps
        if not 1 <= ft <= num_inference_steps:
            raise ValueError(f"ft_denoising_steps must be in [1, {num_inference_steps}]. Got {ft}.")
        if min_std <= 0:
            raise ValueError(f"min_std must be > 0 so that every log-probability is finite. Got {min_std}.")
        self.policy, self.ft_denoising_steps, self.min_std = policy, ft, min_std
        self.n_log_probs = ft
        self.sched = cast(DDPMScheduler, policy.make_scheduler("ddpm", num_inference_steps))  # "ddpm": a DDPMScheduler

    def actor_parameters(self):
        return self.policy.denoiser.parameters()

    def act(self, obs: torch.Tensor, generator: torch.Generator | None = None):
        """Sample a decision: ``(executed actions (B, Ta, A), chain (B, R+1, H, A), logp (B, R))``."""
        with torch.no_grad():
            cond = self.policy.encode_obs(obs)  # (B, To*D)
            shape = (len(obs), self.config.horizon, self.config.action_dim)
            x0, chain, logp = denoise(
                self.policy.denoiser,
                cond,
                self.sched,
                shape,
                min_std=self.min_std,
                record_last=self.ft_denoising_steps,
                generator=generator,
            )
        return self._executed(x0), chain, logp

    def log_prob(self, obs: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """Per-step log-probs (B, R) of a recorded chain under the current weights."""
        return step_log_probs(self.policy.denoiser, self.policy.encode_obs(obs), self.sched, sample, self.min_std)

    def step_distributions(self, obs: torch.Tensor, sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The Gaussian of each recorded step of ``sample`` (B, R+1, H, A): ``(means, stds)``, each (B, R, H, A)."""
        with torch.no_grad():
            cond = self.policy.encode_obs(obs)
            return step_distributions(self.policy.denoiser, cond, self.sched, sample, self.min_std)


class GaussianPPOActor(_PPOActor):
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
