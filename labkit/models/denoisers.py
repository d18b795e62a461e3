"""Denoising networks: given a noisy action chunk, its timestep and observation features, predict
the noise (or the clean chunk).

Both networks have the same signature::

    forward(noisy_actions (B, H, A), timesteps (B,), cond (B, C)) -> (B, H, A)

with B the batch size, H the chunk length (horizon), A the action dimension and C the size of the
conditioning vector (the flattened, normalised observation history).

- ``MLPDenoiser`` flattens the chunk and runs a residual MLP whose blocks are modulated by FiLM
  (a per-feature scale and shift computed from [timestep embedding, cond]): fast on a CPU.
- ``UNet1DDenoiser`` convolves over time (the H axis) with a small 1-D U-Net whose residual blocks
  are modulated by FiLM (a per-channel scale and shift computed from [timestep embedding, cond]).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import cast

import torch
from torch import nn

__all__ = ["SinusoidalEmbedding", "MLPDenoiser", "UNet1DDenoiser"]


class SinusoidalEmbedding(nn.Module):
    """Transformer-style embedding of integer timesteps: (B,) -> (B, dim)."""

    freqs: torch.Tensor  # registered buffer, declared for the type checker

    def __init__(self, dim: int, max_period: float = 10_000.0) -> None:
        super().__init__()
        if dim % 2 != 0:
            raise ValueError(f"SinusoidalEmbedding dim must be even. Got {dim}.")
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)  # (dim/2,)

    def forward(self, timesteps: torch.Tensor) -> torch.Tensor:
        args = timesteps.float()[:, None] * self.freqs[None, :]  # (B, dim/2)
        return torch.cat([args.sin(), args.cos()], dim=-1)  # (B, dim)


def _time_mlp(dim: int) -> nn.Sequential:
    """Sinusoidal embedding followed by a small MLP: (B,) -> (B, dim)."""
    return nn.Sequential(SinusoidalEmbedding(dim), nn.Linear(dim, 2 * dim), nn.Mish(), nn.Linear(2 * dim, dim))


class MLPDenoiser(nn.Module):
    """A residual MLP over the flattened chunk, FiLM-conditioned on [time embedding, cond].

    ::

        h = Linear([x (H*A), cond (C)])                              (B, hidden)
        n_layers times:  h = h + (1 + scale) * Linear(Mish(h)) + shift,
                         (scale, shift) = Linear([time embedding (E), cond (C)])
        out = Linear(Mish(h))                                        (B, H*A)

    FiLM (a per-feature scale and shift computed from the condition) lets the timestep steer
    every layer; with plain concatenation at the input the network sits on a long loss plateau
    before it learns to use the timestep.

    :param action_dim: A.
    :param horizon: H.
    :param cond_dim: C.
    :param hidden_dim: width of the hidden layers.
    :param n_layers: number of residual blocks.
    :param time_embed_dim: E.
    """

    def __init__(
        self,
        action_dim: int,
        horizon: int,
        cond_dim: int,
        hidden_dim: int = 256,
        n_layers: int = 3,
        time_embed_dim: int = 64,
    ) -> None:
        super().__init__()
        self.action_dim, self.horizon = action_dim, horizon
        self.time_mlp = _time_mlp(time_embed_dim)
        self.inp = nn.Linear(horizon * action_dim + cond_dim, hidden_dim)
        self.blocks = nn.ModuleList(
            [nn.Sequential(nn.Mish(), nn.Linear(hidden_dim, hidden_dim)) for _ in range(n_layers)]
        )
        self.film = nn.Linear(time_embed_dim + cond_dim, 2 * hidden_dim * n_layers)  # all blocks' FiLM at once
        self.out = nn.Sequential(nn.Mish(), nn.Linear(hidden_dim, horizon * action_dim))

    def forward(
        self,
        noisy_actions: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        time_emb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, H, A), (B,), (B, C) -> (B, H, A).

        :param time_emb: optional precomputed ``self.time_mlp(timesteps)`` (B, E); sampling loops
            compute it once for all steps.
        """
        B, H, A = noisy_actions.shape
        x = noisy_actions.reshape(B, H * A)  # (B, H*A)
        t_emb = self.time_mlp(timesteps) if time_emb is None else time_emb  # (B, E)
        film = self.film(torch.cat([t_emb, cond], dim=-1))  # (B, 2 * hidden * n_layers)
        gains, shifts = film.chunk(2, dim=-1)  # 2 x (B, hidden * n_layers)
        gains = (gains + 1).chunk(len(self.blocks), dim=-1)  # n_layers x (B, hidden): 1 + scale
        shifts = shifts.chunk(len(self.blocks), dim=-1)  # n_layers x (B, hidden)
        h = self.inp(torch.cat([x, cond], dim=-1))  # (B, hidden)
        for block, gain, shift in zip(self.blocks, gains, shifts):
            h = torch.addcmul(h + shift, gain, block(h))  # h + shift + (1 + scale) * block(h), (B, hidden)
        return self.out(h).reshape(B, H, A)  # (B, H*A) -> (B, H, A)


class Conv1dBlock(nn.Module):
    """Conv1d -> GroupNorm -> Mish, keeping the length: (B, C_in, L) -> (B, C_out, L)."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, n_groups: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv1d(in_ch, out_ch, kernel_size, padding=kernel_size // 2),
            nn.GroupNorm(n_groups, out_ch),
            nn.Mish(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class FiLMResBlock(nn.Module):
    """Two conv blocks; between them the features are scaled and shifted per channel by FiLM.

    (B, C_in, L), (B, D) -> (B, C_out, L), where D is the conditioning size.
    """

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, kernel_size: int, n_groups: int) -> None:
        super().__init__()
        self.out_ch = out_ch
        self.conv1 = Conv1dBlock(in_ch, out_ch, kernel_size, n_groups)
        self.conv2 = Conv1dBlock(out_ch, out_ch, kernel_size, n_groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * out_ch))
        self.skip = nn.Conv1d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)  # (B, C_out, L)
        scale, shift = self.film(cond).unsqueeze(-1).chunk(2, dim=1)  # (B, 2*C_out, 1) -> 2 x (B, C_out, 1)
        h = scale * h + shift  # (B, C_out, L)
        h = self.conv2(h)  # (B, C_out, L)
        return h + self.skip(x)  # (B, C_out, L)


class UNet1DDenoiser(nn.Module):
    """A small 1-D temporal U-Net over the chunk (time is the convolution axis).

    Layout with ``channels=(64, 128)`` and H = 8 (channels x length)::

        x (A x 8) -> Res Res -> (64 x 8) ---------------- skip ---------------+
                                 Down -> (64 x 4)                             |
                                 Res Res -> (128 x 4)                         |
                                 mid: Res Res -> (128 x 4)                    |
                                 Up -> (128 x 8) -> cat skip (192 x 8) <------+
                                 Res Res -> (64 x 8) -> Conv -> (A x 8)

    Every residual block is FiLM-conditioned on [time embedding (E), cond (C)].
    H must be divisible by 2 ** (len(channels) - 1).

    :param action_dim: A.
    :param cond_dim: C.
    :param channels: feature channels per level.
    :param kernel_size: temporal kernel size (odd).
    :param n_groups: GroupNorm groups (must divide every channel count).
    :param time_embed_dim: E.
    """

    def __init__(
        self,
        action_dim: int,
        cond_dim: int,
        channels: tuple[int, ...] = (64, 128),
        kernel_size: int = 5,
        n_groups: int = 8,
        time_embed_dim: int = 64,
    ) -> None:
        super().__init__()
        self.time_mlp = _time_mlp(time_embed_dim)
        self.n_levels = len(channels)
        D = time_embed_dim + cond_dim
        ins = [action_dim, *channels[:-1]]
        self.down = nn.ModuleList()
        for i, (cin, cout) in enumerate(zip(ins, channels)):
            last = i == self.n_levels - 1
            self.down.append(
                nn.ModuleList(
                    [
                        FiLMResBlock(cin, cout, D, kernel_size, n_groups),
                        FiLMResBlock(cout, cout, D, kernel_size, n_groups),
                        nn.Conv1d(cout, cout, 3, stride=2, padding=1) if not last else nn.Identity(),
                    ]
                )
            )
        c_mid = channels[-1]
        self.mid = nn.ModuleList([FiLMResBlock(c_mid, c_mid, D, kernel_size, n_groups) for _ in range(2)])
        self.up = nn.ModuleList()
        for cin, cout in reversed(list(zip(channels[:-1], channels[1:]))):  # e.g. (64, 128)
            self.up.append(
                nn.ModuleList(
                    [
                        nn.ConvTranspose1d(cout, cout, 4, stride=2, padding=1),  # doubles the length
                        FiLMResBlock(cout + cin, cin, D, kernel_size, n_groups),
                        FiLMResBlock(cin, cin, D, kernel_size, n_groups),
                    ]
                )
            )
        self.final = nn.Sequential(
            Conv1dBlock(channels[0], channels[0], kernel_size, n_groups), nn.Conv1d(channels[0], action_dim, 1)
        )

    def forward(
        self,
        noisy_actions: torch.Tensor,
        timesteps: torch.Tensor,
        cond: torch.Tensor,
        time_emb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, H, A), (B,), (B, C) -> (B, H, A).

        :param time_emb: optional precomputed ``self.time_mlp(timesteps)`` (B, E).
        """
        H = noisy_actions.shape[1]
        if H % (2 ** (self.n_levels - 1)) != 0:
            raise ValueError(f"UNet1DDenoiser needs horizon divisible by {2 ** (self.n_levels - 1)}. Got {H}.")
        t_emb = self.time_mlp(timesteps) if time_emb is None else time_emb  # (B, E)
        c = torch.cat([t_emb, cond], dim=-1)  # (B, E + C)
        x = noisy_actions.transpose(1, 2)  # (B, H, A) -> (B, A, H): channels first for Conv1d
        skips = []
        for res1, res2, down in cast(Iterable[nn.ModuleList], self.down):
            x = res2(res1(x, c), c)  # (B, C_i, L_i)
            skips.append(x)
            x = down(x)  # (B, C_i, L_i / 2), or unchanged at the last level
        skips.pop()  # the deepest level feeds mid directly: no skip needed there
        for res in self.mid:
            x = res(x, c)  # (B, C_last, L_last)
        for up, res1, res2 in cast(Iterable[nn.ModuleList], self.up):
            x = up(x)  # (B, C_{i+1}, L_{i+1}) -> (B, C_{i+1}, L_i)
            x = torch.cat([x, skips.pop()], dim=1)  # (B, C_{i+1} + C_i, L_i)
            x = res2(res1(x, c), c)  # (B, C_i, L_i)
        x = self.final(x)  # (B, A, H)
        return x.transpose(1, 2)  # (B, A, H) -> (B, H, A)
