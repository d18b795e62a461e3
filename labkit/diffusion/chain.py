"""The denoising chain as a sequence of Gaussian policies, with log-probabilities and gradients.

A DDPM sampler turns noise ``x_K`` into an action chunk ``x_0`` in K steps; each step draws::

    x_{k-1} ~ N( mean_theta(x_k, t_k, s),  std_k^2 I )        (mean, std from scheduler.step)

so the whole chain is a product of Gaussians and its log-probability is a sum::

    log p_theta(x_{K-1}, ..., x_0 | x_K, s) = sum_k  log N(x_{k-1}; mean_theta(x_k, t_k, s), std_k^2 I)

DDPM's last step has std = 0 (a deterministic step), where the log-probability is undefined. RL
fine-tuning (DPPO) therefore clips the std from below, ``std_k <- max(std_k, min_std)``: every
step explores a little and every log-probability is finite.

The functions take the *denoiser* (any module ``denoiser(x (B, ...), t (B,), cond (B, C)) -> (B, ...)``),
not a policy, so action chunks, whole planned trajectories and next-state predictions share them.
``denoise(...)`` runs the chain with or without gradients (Diffusion-QL back-propagates through
it), optionally recording the samples of the last ``record_last`` steps; ``step_log_probs(...)``
recomputes the per-step log-probabilities of a recorded chain under the current weights (PPO's
"new" log-probabilities).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from labkit.diffusion.scheduler import DDPMScheduler

__all__ = ["denoise", "gaussian_log_prob", "step_distributions", "step_log_probs"]


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``log N(x; mean, std^2 I)`` summed over every axis but the first: (B, ...) -> (B,)."""
    z = (x - mean) / std
    logp = -0.5 * z**2 - std.log() - 0.5 * math.log(2 * math.pi)  # (B, ...)
    return logp.reshape(x.shape[0], -1).sum(dim=1)  # (B,)


def _mean_std(
    denoiser: nn.Module, sched: DDPMScheduler, x: torch.Tensor, t: int, cond: torch.Tensor, min_std: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (clipped) std of the Gaussian of the step leaving timestep ``t``: (B, H, A) each."""
    t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)  # (B,)
    out = sched.step(denoiser(x, t_batch, cond), t, x, noise=torch.zeros_like(x))  # no draw here
    return out.mean, out.std.clamp(min=min_std)


def denoise(
    denoiser: nn.Module,
    cond: torch.Tensor,
    sched: DDPMScheduler,
    shape: tuple[int, ...],
    *,
    min_std: float = 0.0,
    record_last: int = 0,
    grad: bool = False,
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Run the DDPM chain from noise to a normalised chunk.

    :param denoiser: predicts each step (e.g. ``policy.denoiser``).
    :param cond: encoded observations (B, C) (e.g. ``policy.encode_obs(obs)``).
    :param sched: a DDPM scheduler with ``set_timesteps`` called (``policy.make_scheduler("ddpm", K)``).
    :param shape: the sample's shape, ``(B, H, A)`` for an action chunk.
    :param min_std: lower bound for every step's std (0 = plain DDPM).
    :param record_last: record the samples and log-probabilities of the last this-many steps.
    :param grad: keep the autograd graph (for Diffusion-QL); otherwise run under ``no_grad``.
    :param generator: source of all noise.
    :param x_T: the initial noise (B, H, A) instead of a draw.
    :return: ``(x_0 (B, H, A), chain (B, record_last + 1, H, A) or None, log_probs (B, record_last) or None)``;
        ``chain[:, 0]`` is the input of the first recorded step, ``chain[:, -1] = x_0``.
    """
    K = len(sched.timesteps)
    if not 0 <= record_last <= K:
        raise ValueError(f"record_last must be in [0, {K}] (the number of denoising steps). Got {record_last}.")
    x = torch.randn(shape, generator=generator, device=cond.device) if x_T is None else x_T  # (B, H, A)
    chain: list[torch.Tensor]
    chain, logps = [], []
    with torch.set_grad_enabled(grad):
        for k, t in enumerate(sched.timesteps.tolist()):
            recording = k >= K - record_last
            if recording and not chain:
                chain.append(x)
            mean, std = _mean_std(denoiser, sched, x, t, cond, min_std)  # (B, H, A) each
            if float(std.max()) > 0.0:
                z = torch.randn(shape, generator=generator, device=cond.device)
                x = mean + std * z
            else:
                x = mean
            if recording:
                chain.append(x)
                logps.append(gaussian_log_prob(x.detach(), mean, std))  # (B,)
    if not record_last:
        return x, None, None
    return x, torch.stack(chain, dim=1), torch.stack(logps, dim=1)  # (B, R+1, H, A), (B, R)


def step_distributions(
    denoiser: nn.Module, cond: torch.Tensor, sched: DDPMScheduler, chain: torch.Tensor, min_std: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian of each recorded step: step j drew ``chain[:, j + 1] ~ N(means[:, j], stds[:, j]^2)``.

    :param cond: (B, C) encoded observations.
    :param chain: (B, R + 1, H, A) from ``denoise(..., record_last=R)``.
    :return: ``(means, stds)``, each (B, R, H, A); stds already clipped at ``min_std``.
    """
    R = chain.shape[1] - 1  # chain: (B, R + 1, H, A)
    timesteps = sched.timesteps.tolist()[len(sched.timesteps) - R :]
    pairs = [_mean_std(denoiser, sched, chain[:, j], t, cond, min_std) for j, t in enumerate(timesteps)]
    return torch.stack([m for m, _ in pairs], dim=1), torch.stack([s for _, s in pairs], dim=1)


def step_log_probs(
    denoiser: nn.Module, cond: torch.Tensor, sched: DDPMScheduler, chain: torch.Tensor, min_std: float
) -> torch.Tensor:
    """Log-probabilities of a recorded chain's last R steps under the current weights.

    :param cond: (B, C) encoded observations.
    :param chain: (B, R + 1, H, A) from ``denoise(..., record_last=R)``.
    :return: (B, R), differentiable with respect to the denoiser.
    """
    means, stds = step_distributions(denoiser, cond, sched, chain, min_std)  # (B, R, H, A) each
    R = means.shape[1]
    return torch.stack([gaussian_log_prob(chain[:, j + 1], means[:, j], stds[:, j]) for j in range(R)], dim=1)
