"""Diffusion Policy (Chi et al., 2023) for low-dimensional observations.

The policy sees the last ``n_obs_steps`` observations, denoises a chunk of ``horizon`` actions
from pure noise, and the robot executes ``n_action_steps`` of them before planning again.
Normalisers live inside the policy (``normalizer_obs``, ``normalizer_act``), so a checkpoint
carries the data statistics and every public method takes and returns raw (unnormalised) units.

What both trained policies share (``ChunkConfig``, normalisers, observation encoding, config round
trip) is in ``labkit.policies.base``, so ``DiffusionPolicy`` and ``GaussianBCPolicy`` are
interchangeable everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, cast, overload

import torch
import torch.nn.functional as F

from labkit.diffusion.scheduler import BetaSchedule, DDIMScheduler, DDPMScheduler, PredictionType
from labkit.models.denoisers import MLPDenoiser, UNet1DDenoiser
from labkit.policies.base import BaseChunkPolicy, ChunkConfig, check_choice, register_policy

__all__ = ["DiffusionPolicy", "DiffusionPolicyConfig"]


@dataclass
class DiffusionPolicyConfig(ChunkConfig):
    """Configuration of ``DiffusionPolicy``; validated on construction."""

    denoiser: str = "mlp"
    """"mlp" (flattened chunk, fast) or "unet" (1-D temporal U-Net)."""
    num_train_timesteps: int = 100
    """T: number of noise levels in training."""
    num_inference_steps: int = 100
    """Default number of denoising steps at sampling time (<= T)."""
    sampler: str = "ddpm"
    """Default sampler: "ddpm" (stochastic) or "ddim" (deterministic for ddim_eta = 0)."""
    prediction_type: str = "epsilon"
    """What the denoiser predicts: "epsilon" (noise) or "sample" (clean chunk)."""
    beta_schedule: str = "squaredcos_cap_v2"
    """Noise schedule: "squaredcos_cap_v2" or "linear"."""
    clip_sample: bool = True
    """Clip the predicted clean chunk to [-1, 1] (the normalised action range) at each step."""
    ddim_eta: float = 0.0
    """DDIM stochasticity (0 = deterministic)."""
    time_embed_dim: int = 64
    """Size of the timestep embedding (even)."""
    mlp_hidden_dim: int = 256
    """MLP denoiser width."""
    mlp_n_layers: int = 3
    """MLP denoiser depth (residual blocks)."""
    unet_channels: tuple[int, ...] = (64, 128)
    """U-Net channels per level; horizon must be divisible by 2 ** (levels - 1)."""
    unet_kernel_size: int = 5
    """U-Net temporal kernel size (odd)."""
    unet_n_groups: int = 8
    """GroupNorm groups in the U-Net (must divide every channel count)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("denoiser", self.denoiser, ("mlp", "unet"))
        check_choice("sampler", self.sampler, ("ddpm", "ddim"))
        check_choice("prediction_type", self.prediction_type, ("epsilon", "sample"))
        check_choice("beta_schedule", self.beta_schedule, ("squaredcos_cap_v2", "linear"))
        if self.num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be >= 1. Got {self.num_train_timesteps}.")
        if not 1 <= self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"num_inference_steps must be in [1, num_train_timesteps={self.num_train_timesteps}]. "
                f"Got {self.num_inference_steps}."
            )
        if self.ddim_eta < 0:
            raise ValueError(f"ddim_eta must be >= 0. Got {self.ddim_eta}.")
        if self.time_embed_dim < 2 or self.time_embed_dim % 2:
            raise ValueError(f"time_embed_dim must be even and >= 2. Got {self.time_embed_dim}.")
        if self.mlp_hidden_dim < 1 or self.mlp_n_layers < 1:
            raise ValueError(
                f"mlp_hidden_dim and mlp_n_layers must be >= 1. Got {self.mlp_hidden_dim}, {self.mlp_n_layers}."
            )
        self.unet_channels = tuple(int(c) for c in self.unet_channels)
        if self.denoiser == "unet":
            if len(self.unet_channels) < 1 or any(c % self.unet_n_groups for c in self.unet_channels):
                raise ValueError(
                    f"unet_channels must be non-empty and divisible by unet_n_groups={self.unet_n_groups}. "
                    f"Got {self.unet_channels}."
                )
            factor = 2 ** (len(self.unet_channels) - 1)
            if self.horizon % factor:
                raise ValueError(
                    f"With {len(self.unet_channels)} U-Net levels the horizon must be divisible by {factor}. "
                    f"Got horizon={self.horizon}."
                )
            if self.unet_kernel_size % 2 == 0:
                raise ValueError(f"unet_kernel_size must be odd. Got {self.unet_kernel_size}.")


@register_policy
class DiffusionPolicy(BaseChunkPolicy):
    """Denoise an action chunk conditioned on a short observation history.

    Timeline for n_obs_steps To = 2, horizon H = 8, n_action_steps Ta = 4 (one column = one
    control step; "now" is the step of the latest observation, chunk index To - 1)::

        chunk index :  0   1   2   3   4   5   6   7
        observations: |o | o|                             To = 2 (o at index 1 is "now")
        chunk       : |a | a | a | a | a | a | a | a |    H = 8 predicted actions
        executed    :     | x | x | x | x |               Ta = 4, from index To - 1
                            ^ now

    Then the policy observes again and predicts a new chunk (receding horizon).

    :param config: a ``DiffusionPolicyConfig``.
    """

    kind: ClassVar[str] = "diffusion"
    config_class: ClassVar[type[ChunkConfig]] = DiffusionPolicyConfig
    config: DiffusionPolicyConfig
    denoiser: MLPDenoiser | UNet1DDenoiser

    def __init__(self, config: DiffusionPolicyConfig) -> None:
        super().__init__(config)
        cond_dim = config.n_obs_steps * config.obs_dim
        if config.denoiser == "mlp":
            self.denoiser = MLPDenoiser(
                config.action_dim,
                config.horizon,
                cond_dim,
                config.mlp_hidden_dim,
                config.mlp_n_layers,
                config.time_embed_dim,
            )
        else:
            self.denoiser = UNet1DDenoiser(
                config.action_dim,
                cond_dim,
                config.unet_channels,
                config.unet_kernel_size,
                config.unet_n_groups,
                config.time_embed_dim,
            )
        self.noise_scheduler = self.make_scheduler("ddpm", config.num_train_timesteps)  # used for training
        self._schedulers: dict[tuple[str, int], DDPMScheduler | DDIMScheduler] = {}

    def make_scheduler(
        self, sampler: str | None = None, num_inference_steps: int | None = None
    ) -> DDPMScheduler | DDIMScheduler:
        """A scheduler matching the config, with ``set_timesteps`` already called."""
        cfg = self.config
        sampler = sampler or cfg.sampler
        check_choice("sampler", sampler, ("ddpm", "ddim"))
        cls = DDPMScheduler if sampler == "ddpm" else DDIMScheduler
        beta_schedule = cast(BetaSchedule, cfg.beta_schedule)  # both checked in DiffusionPolicyConfig.__post_init__
        prediction_type = cast(PredictionType, cfg.prediction_type)
        sched = cls(cfg.num_train_timesteps, beta_schedule, prediction_type, cfg.clip_sample)
        sched.set_timesteps(num_inference_steps or cfg.num_inference_steps)
        return sched

    def _scheduler(self, sampler: str, num_inference_steps: int) -> DDPMScheduler | DDIMScheduler:
        key = (sampler, num_inference_steps)
        if key not in self._schedulers:
            self._schedulers[key] = self.make_scheduler(sampler, num_inference_steps)
        return self._schedulers[key]

    def compute_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Denoising loss on a batch in raw units: {"obs": (B, To, obs_dim), "actions": (B, H, A)}.

        Noise each chunk to a random timestep and regress the denoiser's output on the noise
        ("epsilon") or on the clean chunk ("sample"). Returns a scalar.
        """
        cond = self.encode_obs(batch["obs"])  # (B, To*obs_dim)
        x0 = self.normalize_actions(batch["actions"])  # (B, H, A) in [-1, 1]
        B = x0.shape[0]
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)  # (B, H, A)
        t = torch.randint(0, self.config.num_train_timesteps, (B,), generator=generator, device=x0.device)  # (B,)
        noisy = self.noise_scheduler.add_noise(x0, noise, t)  # (B, H, A)
        pred = self.denoiser(noisy, t, cond)  # (B, H, A)
        target = noise if self.config.prediction_type == "epsilon" else x0
        return F.mse_loss(pred, target)

    @overload
    def sample_actions(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = ...,
        noise: torch.Tensor | None = ...,
        num_inference_steps: int | None = ...,
        sampler: str | None = ...,
        return_chain: Literal[False] = ...,
    ) -> torch.Tensor: ...

    @overload
    def sample_actions(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = ...,
        noise: torch.Tensor | None = ...,
        num_inference_steps: int | None = ...,
        sampler: str | None = ...,
        *,
        return_chain: Literal[True],
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    @torch.no_grad()
    def sample_actions(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        num_inference_steps: int | None = None,
        sampler: str | None = None,
        return_chain: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Sample action chunks (raw units) by running the reverse diffusion.

        :param obs: raw observation history (B, To, obs_dim).
        :param generator: torch.Generator for all random draws (reproducible sampling).
        :param noise: fixed noise instead of random draws: either the initial x_T of shape
            (B, H, A) (enough for deterministic DDIM; stochastic samplers then need ``generator``
            for the per-step noise), or all the noise, shape (K + 1, B, H, A): x_T then one z per
            step, K = the number of inference steps.
        :param num_inference_steps: K (default: the config's).
        :param sampler: "ddpm" or "ddim" (default: the config's).
        :param return_chain: also return the normalised samples x_T, ..., x_0 as (K + 1, B, H, A).
        :return: actions (B, H, A), or (actions, chain) when ``return_chain``.
        """
        cfg = self.config
        sampler = sampler or cfg.sampler
        K = num_inference_steps or cfg.num_inference_steps
        sched = self._scheduler(sampler, K)
        eta = cfg.ddim_eta if sampler == "ddim" else 1.0
        cond = self.encode_obs(obs)  # (B, To*obs_dim)
        B, shape = cond.shape[0], (cond.shape[0], cfg.horizon, cfg.action_dim)
        step_noise: torch.Tensor | None = None
        if noise is None:
            x = torch.randn(shape, generator=generator, device=self.device)  # (B, H, A) = x_T
        else:
            noise = noise.to(device=self.device, dtype=torch.float32)
            if tuple(noise.shape) == shape:
                x = noise
                if eta > 0 and K > 1 and generator is None:
                    raise ValueError(
                        f"Sampler {sampler!r} draws fresh noise at every step: pass generator=... as well, or "
                        f"noise of shape (K + 1, B, H, A) = {(K + 1, *shape)}. Got noise of shape {tuple(noise.shape)}."
                    )
            elif tuple(noise.shape) == (K + 1, *shape):
                x, step_noise = noise[0], noise[1:]  # (B, H, A), (K, B, H, A)
            else:
                raise ValueError(
                    f"noise must have shape (B, H, A) = {shape} or (K + 1, B, H, A) = {(K + 1, *shape)}. "
                    f"Got {tuple(noise.shape)}."
                )
        chain = [x] if return_chain else None
        timesteps = sched.timesteps.to(self.device)  # (K,)
        t_embs = self.denoiser.time_mlp(timesteps)  # (K, E): embed every step's timestep at once
        for k, t in enumerate(timesteps.tolist()):
            t_batch = timesteps[k].expand(B)  # (B,)
            t_emb = t_embs[k].expand(B, -1)  # (E,) -> (B, E)
            model_output = self.denoiser(x, t_batch, cond, time_emb=t_emb)  # (B, H, A)
            z = step_noise[k] if step_noise is not None else None
            x = sched.step(model_output, t, x, generator=generator, noise=z, eta=eta).prev_sample  # (B, H, A)
            if chain is not None:
                chain.append(x)
        actions = self.normalizer_act.unnormalize(x)  # (B, H, A) raw units
        if chain is not None:
            return actions, torch.stack(chain)  # (K + 1, B, H, A)
        return actions
