"""Value networks: twin Q(s, a) and V(s), with observation scaling built in."""

from __future__ import annotations

import torch
from torch import nn

from labkit.models.mlp import ObsScaler, mlp

__all__ = ["TwinQ", "ValueNet"]


class TwinQ(nn.Module):
    """Two independent Q-networks: (B, D), (B, A) -> two (B,) tensors. Use ``min`` of the pair."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_dim: int = 256, n_layers: int = 2) -> None:
        super().__init__()
        self.scaler = ObsScaler(obs_dim)
        self.q1 = mlp(obs_dim + action_dim, 1, hidden_dim, n_layers)
        self.q2 = mlp(obs_dim + action_dim, 1, hidden_dim, n_layers)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([self.scaler(obs), actions], dim=-1)  # (B, D + A)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)  # (B,), (B,)

    def min_q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.minimum(*self(obs, actions))  # (B,)


class ValueNet(nn.Module):
    """V(s): (B, D) -> (B,)."""

    def __init__(self, obs_dim: int, hidden_dim: int = 256, n_layers: int = 2) -> None:
        super().__init__()
        self.scaler = ObsScaler(obs_dim)
        self.net = mlp(obs_dim, 1, hidden_dim, n_layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(self.scaler(obs)).squeeze(-1)  # (B,)
