"""An ensemble of probabilistic MLPs that predicts the next state and the reward (as in MBPO / PETS).

Each member ``k`` maps ``(s, a)`` to a Gaussian over ``y = [s' - s, r]``::

    (s, a) (B, D + A) --standardise--> MLP_k --> mean_k (B, D + 1), log_var_k (B, D + 1)

trained with the Gaussian negative log-likelihood ``(y - mean)^2 / var + log var``, with the log
variance softly clipped between two learned bounds (MBPO's ``max_logvar`` / ``min_logvar``). All
members are one batched network (weights ``(K, in, out)``), so K members cost about one MLP on a CPU.
Two kinds of uncertainty come out of it: each member's own variance (noise in the data: *aleatoric*)
and the spread of the members' means (they disagree where data is missing: *epistemic*). A rollout
picks one random elite member per sample and samples its Gaussian, so both show up in imagined data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["EnsembleConfig", "ProbabilisticEnsemble"]


@dataclass
class EnsembleConfig:
    """Sizes and training of the dynamics ensemble.

    :param n_members: networks trained side by side (MBPO: 7).
    :param n_elites: members with the lowest held-out error used for rollouts (MBPO: 5).
    :param hidden: width of each hidden layer.
    :param layers: number of hidden layers.
    :param lr: Adam learning rate.
    :param weight_decay: L2 penalty on the weights.
    :param batch_size: transitions per member per step.
    :param holdout: fraction of transitions held out to rank members (elites).
    """

    n_members: int = 5
    n_elites: int = 3
    hidden: int = 128
    layers: int = 3
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 256
    holdout: float = 0.1

    def __post_init__(self) -> None:
        if not 1 <= self.n_elites <= self.n_members:
            raise ValueError(f"need 1 <= n_elites <= n_members. Got {self.n_elites} and {self.n_members}.")
        if self.hidden < 1 or self.layers < 1 or self.lr <= 0 or self.batch_size < 1 or not 0.0 <= self.holdout < 1.0:
            raise ValueError(f"need hidden, layers, batch_size >= 1, lr > 0, 0 <= holdout < 1. Got {self}.")


class _BatchedLinear(nn.Module):
    """K independent linear layers applied to ``(K, B, in)`` -> ``(K, B, out)``."""

    def __init__(self, k: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(k, n_in, n_out) / np.sqrt(n_in))
        self.bias = nn.Parameter(torch.zeros(k, 1, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class ProbabilisticEnsemble(nn.Module):
    """K Gaussian dynamics-and-reward models for observations ``(D,)`` and actions ``(A,)``."""

    in_mean: torch.Tensor
    in_std: torch.Tensor
    out_mean: torch.Tensor
    out_std: torch.Tensor
    elites: torch.Tensor

    def __init__(self, obs_dim: int, action_dim: int, config: EnsembleConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        self.config = c = config or EnsembleConfig()
        self.obs_dim, self.action_dim = int(obs_dim), int(action_dim)
        n_in, n_out = obs_dim + action_dim, obs_dim + 1
        torch.manual_seed(seed)
        sizes = [n_in] + [c.hidden] * c.layers
        self.hidden = nn.ModuleList(_BatchedLinear(c.n_members, a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.head = _BatchedLinear(c.n_members, c.hidden, 2 * n_out)
        self.max_logvar = nn.Parameter(torch.full((n_out,), 0.5))
        self.min_logvar = nn.Parameter(torch.full((n_out,), -10.0))
        for name, size in [("in_mean", n_in), ("in_std", n_in), ("out_mean", n_out), ("out_std", n_out)]:
            self.register_buffer(name, torch.zeros(size) if "mean" in name else torch.ones(size))
        self.register_buffer("elites", torch.arange(c.n_elites))
        self.opt = torch.optim.Adam(self.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.n_updates = 0

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised inputs ``(K, B, D + A)`` -> standardised mean and log variance ``(K, B, D + 1)``."""
        h = x
        for layer in self.hidden:
            h = F.silu(layer(h))
        mean, logvar = self.head(h).chunk(2, dim=-1)
        logvar = self.max_logvar - F.softplus(self.max_logvar - logvar)  # soft upper bound
        logvar = self.min_logvar + F.softplus(logvar - self.min_logvar)  # soft lower bound
        return mean, logvar

    def _inputs(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return (torch.cat([obs, act], dim=-1) - self.in_mean) / self.in_std

    def set_normalizer(self, obs: np.ndarray, act: np.ndarray, target: np.ndarray) -> None:
        x = np.concatenate([obs, act], axis=1)  # (N, D + A)
        self.in_mean.copy_(torch.as_tensor(x.mean(0)))
        self.in_std.copy_(torch.as_tensor(x.std(0) + 1e-6))
        self.out_mean.copy_(torch.as_tensor(target.mean(0)))
        self.out_std.copy_(torch.as_tensor(target.std(0) + 1e-6))

    def fit(self, obs: np.ndarray, act: np.ndarray, next_obs: np.ndarray, reward: np.ndarray, steps: int) -> dict:
        """``steps`` Adam steps of Gaussian NLL on the transitions (each member its own minibatches).

        :param obs: ``(N, D)``; ``act`` ``(N, A)``; ``next_obs`` ``(N, D)``; ``reward`` ``(N,)``.
        :returns: ``{"train_nll", "holdout_mse", "elites"}``; the elites are re-chosen on the held-out part.
        """
        target = np.concatenate([next_obs - obs, reward.reshape(-1, 1)], axis=1).astype(np.float32)  # (N, D + 1)
        n = len(obs)
        perm = self.rng.permutation(n)
        n_hold = int(n * self.config.holdout) if n >= 20 else 0
        hold, train = perm[:n_hold], perm[n_hold:]
        self.set_normalizer(obs[train], act[train], target[train])
        o, a, y = (torch.as_tensor(v, dtype=torch.float32) for v in (obs, act, target))
        y_std = (y - self.out_mean) / self.out_std  # (N, D + 1)
        k, b = self.config.n_members, min(self.config.batch_size, len(train))
        nll = torch.zeros(())
        for _ in range(steps):
            idx = torch.as_tensor(train[self.rng.integers(0, len(train), size=(k, b))])  # (K, b)
            mean, logvar = self(self._inputs(o[idx], a[idx]))  # (K, b, D + 1)
            nll = (((mean - y_std[idx]) ** 2) * torch.exp(-logvar) + logvar).mean()
            loss = nll + 0.01 * (self.max_logvar.sum() - self.min_logvar.sum())
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.n_updates += steps
        out = {"train_nll": nll.item(), "holdout_mse": float("nan"), "elites": self.elites.tolist()}
        if n_hold:
            mse = self.member_mse(obs[hold], act[hold], next_obs[hold], reward[hold])  # (K,)
            self.elites.copy_(torch.as_tensor(np.argsort(mse)[: self.config.n_elites]))
            out.update(holdout_mse=float(np.mean(np.sort(mse)[: self.config.n_elites])), elites=self.elites.tolist())
        return out

    @torch.no_grad()
    def predict_all(
        self, obs: np.ndarray | torch.Tensor, act: np.ndarray | torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every member's Gaussian over ``[s' - s, r]`` in real units: mean and variance ``(K, B, D + 1)``."""
        o, a = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(act, dtype=torch.float32)
        x = self._inputs(o, a).expand(self.config.n_members, -1, -1)  # (K, B, D + A)
        mean, logvar = self(x)
        return mean * self.out_std + self.out_mean, torch.exp(logvar) * self.out_std**2

    def member_mse(self, obs, act, next_obs, reward) -> np.ndarray:
        """Squared error ``(K,)`` of each member's mean on ``[s' - s, r]`` (standardised units)."""
        mean, _ = self.predict_all(obs, act)
        y = torch.as_tensor(np.concatenate([next_obs - obs, np.reshape(reward, (-1, 1))], 1), dtype=torch.float32)
        return (((mean - y) / self.out_std) ** 2).mean(dim=(1, 2)).numpy()

    @torch.no_grad()
    def step(self, obs: np.ndarray, act: np.ndarray, sample: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Imagine one step for a batch: a random elite per row, its Gaussian sampled (or its mean).

        :returns: ``next_obs (B, D)``, ``reward (B,)`` and ``disagreement (B,)``: the standard deviation
            of all members' mean next states, averaged over state dimensions (standardised units).
        """
        mean, var = self.predict_all(obs, act)  # (K, B, D + 1)
        elites = self.elites
        pick = elites[torch.as_tensor(self.rng.integers(0, len(elites), size=len(obs)))]  # (B,)
        rows = torch.arange(len(obs))
        mu, v = mean[pick, rows], var[pick, rows]  # (B, D + 1)
        y = mu + torch.randn(mu.shape, generator=self.gen) * v.sqrt() if sample else mu
        spread = (mean[:, :, : self.obs_dim] / self.out_std[: self.obs_dim]).std(dim=0).mean(dim=-1)  # (B,)
        return (np.asarray(obs, np.float32) + y[:, : self.obs_dim].numpy(), y[:, -1].numpy(), spread.numpy())
