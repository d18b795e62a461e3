"""Per-dimension normalisation that lives inside a policy, so a checkpoint carries its statistics.

``x_norm = (x - center) / scale`` with, per dimension,

- ``mode="minmax"`` (default): center = (max + min) / 2, scale = (max - min) / 2, so the data range
  maps to [-1, 1] (the range the diffusion scheduler clips to);
- ``mode="gaussian"``: center = mean, scale = std.

A constant dimension (scale ~ 0) gets scale = 1: it maps to 0 and comes back unchanged.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["Normalizer"]


class Normalizer(nn.Module):
    """Affine per-dimension normaliser whose statistics are registered buffers.

    :param dim: number of features D (the last axis of every tensor it sees).
    :param mode: ``"minmax"`` (to [-1, 1]) or ``"gaussian"`` (zero mean, unit variance).
    :param eps: dimensions whose scale is below ``eps`` are treated as constant.
    """

    center: torch.Tensor  # registered buffers, declared for the type checker
    scale: torch.Tensor
    fitted: torch.Tensor

    def __init__(self, dim: int, mode: Literal["minmax", "gaussian"] = "minmax", eps: float = 1e-6) -> None:
        super().__init__()
        if mode not in ("minmax", "gaussian"):
            raise ValueError(f"Normalizer mode must be 'minmax' or 'gaussian'. Got {mode!r}.")
        if dim < 1:
            raise ValueError(f"Normalizer dim must be >= 1. Got {dim}.")
        self.dim, self.mode, self.eps = dim, mode, eps
        self.register_buffer("center", torch.zeros(dim))  # (D,)
        self.register_buffer("scale", torch.ones(dim))  # (D,)
        self.register_buffer("fitted", torch.tensor(False))  # saved in checkpoints too

    @torch.no_grad()
    def fit(self, data: torch.Tensor) -> Normalizer:
        """Compute statistics from ``data`` of shape (..., D); returns self."""
        data = torch.as_tensor(data, dtype=torch.float32)
        if data.shape[-1] != self.dim:
            raise ValueError(f"Normalizer expects data with last dimension {self.dim}. Got shape {tuple(data.shape)}.")
        flat = data.reshape(-1, self.dim)  # (N, D)
        if flat.shape[0] == 0:
            raise ValueError("Normalizer.fit needs at least one row of data. Got an empty tensor.")
        if not torch.isfinite(flat).all():
            raise ValueError("Normalizer.fit got NaN or inf values; clean the dataset first.")
        if self.mode == "minmax":
            lo, hi = flat.min(dim=0).values, flat.max(dim=0).values  # (D,), (D,)
            center, scale = (hi + lo) / 2, (hi - lo) / 2
        else:
            center, scale = flat.mean(dim=0), flat.std(dim=0, unbiased=False)
        scale = torch.where(scale < self.eps, torch.ones_like(scale), scale)  # constant dims
        self.center.copy_(center)
        self.scale.copy_(scale)
        self.fitted.fill_(True)
        return self

    def _check(self, x: torch.Tensor) -> None:
        if not bool(self.fitted):
            raise RuntimeError("Normalizer used before fit(): call policy.fit_normalizers(obs, actions) first.")
        if x.shape[-1] != self.dim:
            raise ValueError(f"Normalizer expects last dimension {self.dim}. Got shape {tuple(x.shape)}.")

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Raw units -> normalised; any shape (..., D)."""
        self._check(x)
        return (x - self.center) / self.scale

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised -> raw units; any shape (..., D)."""
        self._check(x)
        return x * self.scale + self.center

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(x)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, mode={self.mode!r}"
