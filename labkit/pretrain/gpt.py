"""A small causal transformer (nanoGPT-style), shared by the Decision Transformer and the Q-Transformer.

One block, pre-norm as in GPT-2::

    x = x + Attention(LayerNorm(x))        every token looks at itself and the tokens before it
    x = x + MLP(LayerNorm(x))              4x wider, GELU

Attention for one head of size ``hs`` on a sequence of ``T`` tokens::

    q, k, v = x W_q, x W_k, x W_v                      (B, T, hs) each
    w = softmax( q k^T / sqrt(hs) + mask )             (B, T, T), mask = -inf above the diagonal
    y = w v                                            (B, T, hs)

The weights ``w`` are what the notebook draws as a heatmap (``return_attention=True``). We compute
them explicitly (no fused kernel): with T <= 60 tokens the cost is negligible on a CPU.

``key_padding`` marks left-padded tokens of a short history: no token may attend to them (a padded
query attends to itself only, so its softmax is defined; its output is never used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["GPTConfig", "CausalSelfAttention", "Block", "CausalTransformer", "causal_mask"]


@dataclass
class GPTConfig:
    """Size of the transformer trunk."""

    n_layer: int = 3
    """Number of blocks."""
    n_head: int = 1
    """Attention heads per block (n_embd must be divisible by it)."""
    n_embd: int = 64
    """Token width C."""
    dropout: float = 0.1
    """Dropout on attention weights and residual branches (training only)."""
    max_tokens: int = 64
    """Longest sequence the trunk accepts."""

    def __post_init__(self) -> None:
        if min(self.n_layer, self.n_head, self.n_embd, self.max_tokens) < 1:
            raise ValueError(f"n_layer, n_head, n_embd, max_tokens must be >= 1. Got {self}.")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd must be divisible by n_head. Got n_embd={self.n_embd}, n_head={self.n_head}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Got {self.dropout}.")


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True where query i may attend to key j (j <= i)."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention that can hand back its weights."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.attn_drop, self.resid_drop = nn.Dropout(cfg.dropout), nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C), allowed (B, T, T) bool -> y (B, T, C), weights (B, nh, T, T)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        weights = F.softmax(scores, dim=-1)  # (B, nh, T, T)
        y = self.attn_drop(weights) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side
        return self.resid_drop(self.proj(y)), weights


class Block(nn.Module):
    """Pre-norm transformer block: attention then MLP, each with a residual connection."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.n_embd), nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
            nn.GELU(),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = self.attn(self.ln1(x), allowed)
        x = x + h
        return x + self.mlp(self.ln2(x)), w


class CausalTransformer(nn.Module):
    """A stack of :class:`Block` s and a final LayerNorm over already-embedded tokens.

    :param cfg: a :class:`GPTConfig`.
    """

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections by depth
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(
        self, tokens: torch.Tensor, key_padding: torch.Tensor | None = None, return_attention: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """tokens (B, T, C), key_padding (B, T) bool (True = padded) -> (B, T, C), [per layer (B, nh, T, T)]."""
        B, T, _ = tokens.shape
        if T > self.cfg.max_tokens:
            raise ValueError(f"sequence of {T} tokens is longer than max_tokens={self.cfg.max_tokens}.")
        allowed = causal_mask(T, tokens.device).expand(B, T, T)  # (B, T, T)
        if key_padding is not None:
            eye = torch.eye(T, dtype=torch.bool, device=tokens.device)  # (T, T)
            allowed = (allowed & ~key_padding[:, None, :]) | eye  # (B, T, T)
        x = self.drop(tokens)
        maps = []
        for block in self.blocks:
            x, w = block(x, allowed)
            maps.append(w)
        return self.ln_f(x), (maps if return_attention else None)
