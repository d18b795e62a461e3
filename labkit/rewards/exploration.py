"""Exploration bonuses that learn online, from the agent's own states: RND and ensemble disagreement.

Both pay for *novelty*, so the agent leaves the states it knows; both shrink where the agent has
been often. They are what Diffusion Reward (RND) and VIPER (Plan2Explore-style disagreement) add to
their model-based reward.

- **RND** (Burda et al. 2018): a fixed random network ``f`` and a predictor ``f_hat`` trained to match
  it on visited states; ``bonus(s) = ||f(s) - f_hat(s)||^2 / 2`` is large where ``f_hat`` has not
  been trained, i.e. on new states.
- **Disagreement** (Pathak et al. 2019; Sekar et al. 2020): ``M`` predictors of the next state from
  (state, action), trained on the agent's transitions; ``bonus = mean over dims of the ensemble
  variance``: they agree where data was seen.

Each bonus is divided by a running standard deviation of its raw values (as RND does), so its scale
does not depend on the network. Updates: every ``update_every`` observed steps, one Adam step on a
minibatch drawn from a buffer of recent inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .base import RunningStd

__all__ = ["BonusConfig", "RNDBonus", "DisagreementBonus"]


@dataclass
class BonusConfig:
    """Settings of an online exploration bonus.

    :param hidden_dim: width of the (2-layer) networks.
    :param feature_dim: RND's output size.
    :param n_models: ensemble size of the disagreement bonus.
    :param lr: Adam learning rate of the online updates.
    :param update_every: observed vector steps between two updates.
    :param batch_size: minibatch of one update.
    :param buffer_size: recent inputs kept for the updates.
    :param seed: seeds the networks' initialisation and the minibatch draws.
    """

    hidden_dim: int = 64
    feature_dim: int = 32
    n_models: int = 5
    lr: float = 1e-3
    update_every: int = 1
    batch_size: int = 128
    buffer_size: int = 4096
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden_dim", "feature_dim", "n_models", "update_every", "batch_size", "buffer_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"BonusConfig.{name} must be >= 1. Got {getattr(self, name)}.")
        if self.lr <= 0:
            raise ValueError(f"BonusConfig.lr must be > 0. Got {self.lr}.")


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inp, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out)
    )


class _OnlineBonus:
    """Buffer, update schedule and running standardisation shared by both bonuses."""

    def __init__(self, in_dim: int, target_dim: int, config: BonusConfig) -> None:
        self.in_dim, self.target_dim, self.config = in_dim, target_dim, config
        self.reset()

    def _build(self) -> None:
        raise NotImplementedError

    def _trainable(self) -> Any:
        raise NotImplementedError

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reset(self) -> None:
        """Fresh networks, empty buffer, fresh statistics (same seed: the same fresh start)."""
        c = self.config
        self.gen = torch.Generator().manual_seed(c.seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(c.seed)
            self._build()
        self.opt = torch.optim.Adam(self._trainable(), lr=c.lr)
        self.buf_x = torch.zeros(c.buffer_size, self.in_dim)  # (capacity, in_dim)
        self.buf_y = torch.zeros(c.buffer_size, self.target_dim)  # (capacity, target_dim)
        self.n_seen, self.n_calls, self.stats = 0, 0, RunningStd()

    def observe(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        """Store a batch ``x (B, in_dim)`` (and targets ``y (B, target_dim)``); update on schedule."""
        c = self.config
        idx = (self.n_seen + torch.arange(len(x))) % c.buffer_size  # ring buffer slots
        self.buf_x[idx] = x.float()
        if y is not None:
            self.buf_y[idx] = y.float()
        self.n_seen += len(x)
        self.n_calls += 1
        if self.n_calls % c.update_every == 0:
            n = min(self.n_seen, c.buffer_size)
            pick = torch.randint(0, n, (min(c.batch_size, n),), generator=self.gen)
            loss = self._loss(self.buf_x[pick], self.buf_y[pick])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    @torch.no_grad()
    def bonus(self, x: torch.Tensor, update_stats: bool = True) -> np.ndarray:
        """Standardised bonus ``(B,)`` for inputs ``x (B, in_dim)``."""
        raw = self._raw(x.float()).numpy()
        if update_stats:
            self.stats.update(raw)
        return raw / max(self.stats.std, 1e-8)


class RNDBonus(_OnlineBonus):
    """Random network distillation on (normalised) states; see the module docstring."""

    def _build(self) -> None:
        c = self.config
        self.target = _mlp(self.in_dim, c.hidden_dim, c.feature_dim).requires_grad_(False)
        self.predictor = _mlp(self.in_dim, c.hidden_dim, c.feature_dim)

    def _trainable(self):
        return self.predictor.parameters()

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.target(x) - self.predictor(x)).pow(2).sum(-1)  # (B,)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.target(x) - self.predictor(x)).pow(2).sum(-1).mean()


class DisagreementBonus(_OnlineBonus):
    """Variance of an ensemble of next-state predictors; inputs ``[state features, action]``."""

    def _build(self) -> None:
        c = self.config
        self.models = nn.ModuleList([_mlp(self.in_dim, c.hidden_dim, self.target_dim) for _ in range(c.n_models)])

    def _trainable(self):
        return self.models.parameters()

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        preds = torch.stack([m(x) for m in self.models])  # (M, B, target_dim)
        return preds.var(dim=0).mean(-1)  # (B,)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        preds = torch.stack([m(x) for m in self.models])  # (M, b, target_dim)
        return (preds - y[None]).pow(2).mean()
