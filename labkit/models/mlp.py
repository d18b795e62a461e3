"""Plain MLPs and an observation scaler whose statistics travel with the model."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ObsScaler", "mlp"]


def mlp(in_dim: int, out_dim: int, hidden_dim: int, n_layers: int, layer_norm: bool = False) -> nn.Sequential:
    """``n_layers`` hidden Mish layers of ``hidden_dim`` (each after a LayerNorm if ``layer_norm``, TD-MPC2's
    block), then a linear output."""
    layers: list[nn.Module] = []
    for _ in range(n_layers):
        layers += [nn.Linear(in_dim, hidden_dim), *([nn.LayerNorm(hidden_dim)] if layer_norm else []), nn.Mish()]
        in_dim = hidden_dim
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class ObsScaler(nn.Module):
    """Standardise observations with statistics stored as buffers (so a saved critic carries them)."""

    mean: torch.Tensor  # registered buffers, declared for the type checker
    std: torch.Tensor

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(obs_dim))  # (D,)
        self.register_buffer("std", torch.ones(obs_dim))  # (D,)

    @torch.no_grad()
    def fit(self, obs: torch.Tensor) -> None:
        self.mean.copy_(obs.mean(0))
        self.std.copy_(obs.std(0).clamp(min=1e-3))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.mean) / self.std
