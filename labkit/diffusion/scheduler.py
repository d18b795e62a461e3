"""Noise schedulers for DDPM and DDIM, in the vocabulary of Hugging Face diffusers.

Notation: ``x_0`` is a clean sample (a normalised action chunk), ``x_t`` the sample after ``t``
noising steps, ``eps ~ N(0, I)`` standard Gaussian noise, ``T = num_train_timesteps``.

Noise schedule::

    beta_t        variance added at step t                      (t = 0 .. T-1)
    alpha_t       = 1 - beta_t
    alpha_bar_t   = alpha_1 * ... * alpha_t  (cumulative product; alpha_bar_{-1} := 1)

Forward process (``add_noise``), in one jump from x_0 to any t::

    q(x_t | x_0) = N( sqrt(alpha_bar_t) * x_0 ,  (1 - alpha_bar_t) * I )
    x_t          = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps

The network predicts eps (``prediction_type="epsilon"``) or x_0 (``"sample"``); either way we get
an estimate of the clean sample::

    x0_hat = (x_t - sqrt(1 - alpha_bar_t) * eps_hat) / sqrt(alpha_bar_t)

Sampling walks down a descending list of timesteps ``t -> s`` (``s`` = the previous timestep, with
``s = t - 1`` when every training step is used, and ``s = -1`` after the last one). With
``a_t = alpha_bar_t``, ``a_s = alpha_bar_s`` and ``beta_ts = 1 - a_t / a_s``:

DDPM posterior (``DDPMScheduler.step``), the Gaussian q(x_s | x_t, x_0 = x0_hat)::

    mean = sqrt(a_s) * beta_ts / (1 - a_t) * x0_hat  +  sqrt(a_t / a_s) * (1 - a_s) / (1 - a_t) * x_t
    var  = (1 - a_s) / (1 - a_t) * beta_ts          ("fixed_small"; var = 0 at the last step)
    x_s  = mean + sqrt(var) * z,   z ~ N(0, I)

DDIM update (``DDIMScheduler.step``), eta in [0, 1] (eta = 0: deterministic, eta = 1: DDPM-like)::

    eps_hat = (x_t - sqrt(a_t) * x0_hat) / sqrt(1 - a_t)
    sigma   = eta * sqrt((1 - a_s) / (1 - a_t)) * sqrt(beta_ts)
    mean    = sqrt(a_s) * x0_hat + sqrt(1 - a_s - sigma^2) * eps_hat
    x_s     = mean + sigma * z

``step`` returns ``mean`` and ``std`` (= sqrt(var) or sigma) together with ``prev_sample``: they are
exactly the parameters of the Gaussian that ``prev_sample`` was drawn from, so an RL fine-tuning
method (DPPO) can compute ``log N(prev_sample; mean, std^2)`` for every denoising step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

__all__ = ["SchedulerOutput", "DDPMScheduler", "DDIMScheduler", "make_betas"]

BetaSchedule = Literal["squaredcos_cap_v2", "linear"]
PredictionType = Literal["epsilon", "sample"]


@dataclass
class SchedulerOutput:
    """What one denoising step returns. All tensors have the shape of ``sample``.

    :param prev_sample: x_s, the less-noisy sample: ``mean + std * z``.
    :param pred_original_sample: x0_hat, the model's current guess of the clean sample.
    :param mean: mean of the Gaussian that ``prev_sample`` was drawn from.
    :param std: its standard deviation (broadcast to the sample's shape; all zeros for a
        deterministic step).
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor


def make_betas(num_train_timesteps: int, beta_schedule: str) -> torch.Tensor:
    """Return ``betas`` of shape (T,) in float64.

    ``"squaredcos_cap_v2"`` is the cosine schedule of Nichol & Dhariwal (2021), betas capped at
    0.999. ``"linear"`` goes from 1e-4 to 0.02 *scaled by 1000 / T*, so that short schedules
    (T = 100) still end in almost pure noise (unscaled, alpha_bar_T would be ~0.37 at T = 100).
    """
    T = num_train_timesteps
    if beta_schedule == "squaredcos_cap_v2":

        def alpha_bar(u: float) -> float:  # u in [0, 1]
            return math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = [min(1.0 - alpha_bar((i + 1) / T) / alpha_bar(i / T), 0.999) for i in range(T)]
        return torch.tensor(betas, dtype=torch.float64)
    if beta_schedule == "linear":
        scale = 1000.0 / T
        return torch.linspace(scale * 1e-4, scale * 0.02, T, dtype=torch.float64)
    raise ValueError(f"beta_schedule must be 'squaredcos_cap_v2' or 'linear'. Got {beta_schedule!r}.")


class _Scheduler:
    """Shared parts of DDPM and DDIM: the schedule, ``add_noise``, ``set_timesteps``, x0_hat."""

    def __init__(
        self,
        num_train_timesteps: int = 100,
        beta_schedule: BetaSchedule = "squaredcos_cap_v2",
        prediction_type: PredictionType = "epsilon",
        clip_sample: bool = True,
        clip_sample_range: float = 1.0,
    ) -> None:
        """
        :param num_train_timesteps: T, the number of noising steps used in training.
        :param beta_schedule: ``"squaredcos_cap_v2"`` (cosine) or ``"linear"``.
        :param prediction_type: what the model outputs: ``"epsilon"`` (the noise) or ``"sample"`` (x_0).
        :param clip_sample: clip x0_hat to ``[-clip_sample_range, clip_sample_range]`` at every step
            (our actions are normalised to [-1, 1], so this keeps the chain in range).
        :param clip_sample_range: the clipping bound.
        """
        if num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be >= 1. Got {num_train_timesteps}.")
        if prediction_type not in ("epsilon", "sample"):
            raise ValueError(f"prediction_type must be 'epsilon' or 'sample'. Got {prediction_type!r}.")
        if clip_sample_range <= 0:
            raise ValueError(f"clip_sample_range must be > 0. Got {clip_sample_range}.")
        self.num_train_timesteps = num_train_timesteps
        self.beta_schedule = beta_schedule
        self.prediction_type = prediction_type
        self.clip_sample = clip_sample
        self.clip_sample_range = clip_sample_range
        self.betas = make_betas(num_train_timesteps, beta_schedule)  # (T,) float64
        self.alphas = 1.0 - self.betas  # (T,)
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)  # (T,) alpha_bar_t
        self._alpha_bar = self.alphas_cumprod.tolist()  # python floats: fast scalar look-ups
        self.set_timesteps(num_train_timesteps)

    def alpha_bar(self, t: int) -> float:
        """alpha_bar_t as a python float, with alpha_bar_{-1} = 1 (no noise at all)."""
        return 1.0 if t < 0 else self._alpha_bar[t]

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Forward process: ``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps``.

        :param original_samples: x_0, shape (B, ...).
        :param noise: eps, same shape.
        :param timesteps: (B,) integer timesteps in [0, T).
        :return: x_t, shape (B, ...).
        """
        a = self.alphas_cumprod.to(device=original_samples.device)[timesteps.long()]  # (B,)
        a = a.to(original_samples.dtype).reshape(-1, *([1] * (original_samples.ndim - 1)))  # (B, 1, ...)
        return a.sqrt() * original_samples + (1.0 - a).sqrt() * noise

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Choose the descending timesteps used for sampling; sets ``self.timesteps`` (LongTensor).

        Steps are evenly spaced and always start at T - 1 ("trailing" spacing), so the first step
        sees pure noise even with few steps: T = 100, 10 steps -> [99, 89, ..., 9].
        """
        T = self.num_train_timesteps
        if not 1 <= num_inference_steps <= T:
            raise ValueError(f"num_inference_steps must be in [1, {T}]. Got {num_inference_steps}.")
        self.num_inference_steps = num_inference_steps
        ts = [round(T - i * T / num_inference_steps) - 1 for i in range(num_inference_steps)]
        self.timesteps = torch.tensor(ts, dtype=torch.long, device=device)  # (K,) descending
        self._prev = {t: s for t, s in zip(ts, ts[1:] + [-1])}  # t -> previous timestep s

    def previous_timestep(self, timestep: int) -> int:
        """The timestep that follows ``timestep`` in ``self.timesteps`` (-1 after the last one)."""
        try:
            return self._prev[int(timestep)]
        except KeyError:
            raise ValueError(
                f"timestep {int(timestep)} is not in the current schedule {self.timesteps.tolist()}. "
                "Call set_timesteps(...) first and loop over scheduler.timesteps."
            ) from None

    def _predict_x0(self, model_output: torch.Tensor, t: int, sample: torch.Tensor) -> torch.Tensor:
        """x0_hat from the model output (before clipping)."""
        if self.prediction_type == "sample":
            return model_output
        a_t = self.alpha_bar(t)
        return torch.add(sample, model_output, alpha=-math.sqrt(1.0 - a_t)).mul_(1.0 / math.sqrt(a_t))

    def _clip(self, x0: torch.Tensor) -> torch.Tensor:
        return x0.clamp(-self.clip_sample_range, self.clip_sample_range) if self.clip_sample else x0

    @staticmethod
    def _draw(
        mean: torch.Tensor, std: float, generator: torch.Generator | None, noise: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean + std * z, std broadcast to mean's shape)``; no noise is drawn when std == 0."""
        std_t = torch.full((), std, dtype=mean.dtype, device=mean.device).expand_as(mean)
        if std == 0.0:
            return mean, std_t
        if noise is None:
            noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + std * noise, std_t

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_train_timesteps={self.num_train_timesteps}, "
            f"beta_schedule={self.beta_schedule!r}, prediction_type={self.prediction_type!r}, "
            f"clip_sample={self.clip_sample}, num_inference_steps={self.num_inference_steps})"
        )


class DDPMScheduler(_Scheduler):
    """Ancestral DDPM sampling (Ho et al., 2020); works with fewer inference steps than T."""

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int,
        sample: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        eta: float = 0.0,
    ) -> SchedulerOutput:
        """One step ``x_t -> x_s`` (s = the previous timestep in ``self.timesteps``).

        :param model_output: the network's eps_hat or x0_hat, shape of ``sample``.
        :param timestep: t, an element of ``self.timesteps``.
        :param sample: x_t, shape (B, ...).
        :param generator: source of z when ``noise`` is None.
        :param noise: z ~ N(0, I) to use instead of drawing it (for reproducibility).
        :param eta: ignored (DDPM is always stochastic); accepted so both schedulers share a signature.
        :return: SchedulerOutput(prev_sample, pred_original_sample, mean, std).
        """
        t = int(timestep)
        s = self.previous_timestep(t)
        a_t, a_s = self.alpha_bar(t), self.alpha_bar(s)
        beta_ts = 1.0 - a_t / a_s
        x0 = self._clip(self._predict_x0(model_output, t, sample))
        coef_x0 = math.sqrt(a_s) * beta_ts / (1.0 - a_t)
        coef_xt = math.sqrt(a_t / a_s) * (1.0 - a_s) / (1.0 - a_t)
        mean = torch.add(coef_xt * sample, x0, alpha=coef_x0)  # coef_x0 * x0 + coef_xt * x_t
        var = (1.0 - a_s) / (1.0 - a_t) * beta_ts  # exactly 0 when s = -1
        prev, std = self._draw(mean, math.sqrt(max(var, 0.0)), generator, noise)
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0, mean=mean, std=std)


class DDIMScheduler(_Scheduler):
    """DDIM sampling (Song et al., 2021): deterministic for eta = 0, few steps work well."""

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int,
        sample: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        eta: float = 0.0,
    ) -> SchedulerOutput:
        """One step ``x_t -> x_s``; see the module docstring for the update.

        :param model_output: the network's eps_hat or x0_hat, shape of ``sample``.
        :param timestep: t, an element of ``self.timesteps``.
        :param sample: x_t, shape (B, ...).
        :param generator: source of z when ``noise`` is None and eta > 0.
        :param noise: z ~ N(0, I) to use instead of drawing it.
        :param eta: 0 = deterministic DDIM, 1 = the DDPM posterior variance.
        :return: SchedulerOutput(prev_sample, pred_original_sample, mean, std).
        """
        if eta < 0:
            raise ValueError(f"eta must be >= 0. Got {eta}.")
        t = int(timestep)
        s = self.previous_timestep(t)
        a_t, a_s = self.alpha_bar(t), self.alpha_bar(s)
        x0 = self._clip(self._predict_x0(model_output, t, sample))
        sigma = eta * math.sqrt((1.0 - a_s) / (1.0 - a_t) * (1.0 - a_t / a_s))
        # eps_hat = (x_t - sqrt(a_t) x0_hat) / sqrt(1 - a_t), consistent with the clipped x0_hat;
        # mean = sqrt(a_s) x0_hat + c_eps eps_hat, written as c_x0 * x0_hat + c_xt * x_t:
        c_eps = math.sqrt(max(1.0 - a_s - sigma**2, 0.0)) / math.sqrt(1.0 - a_t)
        c_x0 = math.sqrt(a_s) - c_eps * math.sqrt(a_t)
        mean = torch.add(c_eps * sample, x0, alpha=c_x0)
        prev, std = self._draw(mean, sigma, generator, noise)
        return SchedulerOutput(prev_sample=prev, pred_original_sample=x0, mean=mean, std=std)
