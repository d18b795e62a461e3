"""Gaussian behaviour cloning: the baseline a diffusion policy is compared with.

An MLP maps the observation history to the mean of a diagonal Gaussian over the flattened,
normalised action chunk (H * A numbers); the log-std is either one learned vector
(state-independent) or a second output head (state-dependent). Training maximises the likelihood
of the demonstrated chunks.

The lesson: with two equally good demonstrated actions (+1 and -1) a single Gaussian puts its
mean between them (near 0), an action nobody demonstrated; a diffusion policy keeps both modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from labkit.policies.base import BaseChunkPolicy, ChunkConfig, register_policy

__all__ = ["GaussianBCConfig", "GaussianBCPolicy"]


@dataclass
class GaussianBCConfig(ChunkConfig):
    """Configuration of ``GaussianBCPolicy``; same horizon fields as ``DiffusionPolicyConfig``."""

    hidden_dim: int = 256
    """MLP width."""
    n_layers: int = 3
    """MLP depth (hidden layers)."""
    state_dependent_std: bool = False
    """Predict the log-std from the observation (True) or learn one vector (False)."""
    log_std_min: float = -5.0
    """Lower clamp of the log-std (in normalised action units)."""
    log_std_max: float = 2.0
    """Upper clamp of the log-std."""
    init_log_std: float = 0.0
    """Initial log-std of the state-independent vector."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden_dim < 1 or self.n_layers < 1:
            raise ValueError(f"hidden_dim and n_layers must be >= 1. Got {self.hidden_dim}, {self.n_layers}.")
        if not self.log_std_min < self.log_std_max:
            raise ValueError(f"log_std_min must be < log_std_max. Got {self.log_std_min} and {self.log_std_max}.")


@register_policy
class GaussianBCPolicy(BaseChunkPolicy):
    """A diagonal Gaussian over the normalised action chunk, trained by maximum likelihood.

    Same interface and horizons as ``DiffusionPolicy`` (see its timeline).

    :param config: a ``GaussianBCConfig``.
    """

    kind: ClassVar[str] = "gaussian"
    config_class: ClassVar[type[ChunkConfig]] = GaussianBCConfig
    config: GaussianBCConfig

    def __init__(self, config: GaussianBCConfig) -> None:
        super().__init__(config)
        out_dim = config.horizon * config.action_dim
        layers: list[nn.Module] = []
        in_dim = config.n_obs_steps * config.obs_dim
        for _ in range(config.n_layers):
            layers += [nn.Linear(in_dim, config.hidden_dim), nn.Mish()]
            in_dim = config.hidden_dim
        self.trunk = nn.Sequential(*layers)
        self.mean_head = nn.Linear(in_dim, out_dim)
        if config.state_dependent_std:
            self.log_std_head = nn.Linear(in_dim, out_dim)
        else:
            self.log_std = nn.Parameter(torch.full((out_dim,), float(config.init_log_std)))

    def distribution_params(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std of the normalised chunk: (B, To, obs_dim) -> (B, H, A), (B, H, A)."""
        cfg = self.config
        h = self.trunk(self.encode_obs(obs))  # (B, hidden)
        B = h.shape[0]
        mean = self.mean_head(h)  # (B, H*A)
        log_std = self.log_std_head(h) if cfg.state_dependent_std else self.log_std.expand_as(mean)  # (B, H*A)
        log_std = log_std.clamp(cfg.log_std_min, cfg.log_std_max)
        shape = (B, cfg.horizon, cfg.action_dim)
        return mean.reshape(shape), log_std.exp().reshape(shape)  # (B, H*A) -> (B, H, A)

    def compute_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Negative log-likelihood of the normalised chunk, averaged over batch and dimensions.

        :param batch: {"obs": (B, To, obs_dim), "actions": (B, H, A)} in raw units.
        :param generator: unused (the loss is deterministic); accepted for a common signature.
        """
        mean, std = self.distribution_params(batch["obs"])  # (B, H, A) each
        x = self.normalize_actions(batch["actions"])  # (B, H, A)
        nll = 0.5 * ((x - mean) / std) ** 2 + std.log() + 0.5 * math.log(2 * math.pi)  # (B, H, A)
        return nll.mean()

    @torch.no_grad()
    def sample_actions(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        deterministic: bool = False,
    ) -> torch.Tensor:
        """Sample chunks in raw units: (B, To, obs_dim) -> (B, H, A).

        :param generator: torch.Generator for the Gaussian draw.
        :param noise: fixed standard-normal noise (B, H, A) instead of a draw.
        :param deterministic: return the mean (no noise).
        """
        mean, std = self.distribution_params(obs)  # (B, H, A)
        if deterministic:
            x = mean
        else:
            if noise is None:
                noise = torch.randn(mean.shape, generator=generator, device=mean.device)
            elif tuple(noise.shape) != tuple(mean.shape):
                raise ValueError(f"noise must have shape {tuple(mean.shape)}. Got {tuple(noise.shape)}.")
            x = mean + std * noise.to(mean.device)
        return self.normalizer_act.unnormalize(x)  # (B, H, A)
