"""VIPER-style reward (Escontrela et al. 2023): the likelihood of what happened under an expert predictor.

VIPER trains an autoregressive video model on expert videos and pays the agent the log-likelihood of
each observed frame given the previous ones. Here the "video" is the state sequence and the model a
small mixture density network: an MLP maps the last ``k`` states to a ``K``-component diagonal
Gaussian mixture over the normalised change of state ``d = s_{t+1} - s_t``::

    p(d | h) = sum_j  pi_j(h) * N(d; mu_j(h), diag sigma_j(h)^2)          h = s_{t-k+1..t}
    r_t      = (1 - expl_scale) * symlog( standardise( log p(d_t | h_t) ) )  +  expl_scale * disagreement(h_t, a_t)
               (+ the sparse task reward, added by the wrapper, as Diffusion Reward's VIPER baseline does)

A mixture, because the demonstrations are bimodal where the routes split: one Gaussian would put its
mass between the two routes. The exploration term is VIPER's Plan2Explore-style disagreement of an
ensemble of next-state predictors trained online on the agent's own transitions
(:class:`~.exploration.DisagreementBonus`). ``standardise`` uses held-out expert windows.

Known limit (measured, ``benchmarks/rewards.py``): a likelihood pays for being *precisely* like the
expert, so PPO's exploration noise costs about as much as going the wrong way, and continuing the
expert's first leg straight up into the cup is likely under the model; PPO on this reward ends in the
cup's pocket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from labkit.models import Normalizer
from labkit.train import TrainLog

from .base import LearnedReward, fit, symlog
from .exploration import BonusConfig, DisagreementBonus
from .windows import episode_states, split_episodes, transition_windows

__all__ = ["VideoPredictionConfig", "VideoPredictionReward", "train_video_prediction_reward"]


@dataclass
class VideoPredictionConfig:
    """Settings of the mixture-density predictor and its reward.

    :param stride: ``m``, control steps between the states the model sees (a video model's frame skip).
    :param context: ``k``, past states the predictor conditions on.
    :param state_dims: which observation entries form the state (TwoRoutes: x, y, vx, vy).
    :param n_components: ``K`` mixture components.
    :param hidden_dim, n_layers: the MLP.
    :param min_std: floor on each component's standard deviation (normalised units).
    :param expl_scale: weight of the disagreement bonus; the likelihood gets ``1 - expl_scale``.
    The standardised model reward ``z`` is squashed with ``symlog(z) = sign(z) log(1 + |z|)``: far-off
    states get a large but bounded penalty whose ordering is kept (a hard clip would flatten it).
    :param iterations, batch_size, lr: training.
    :param holdout: fraction of episodes kept out for the standardisation statistics.
    :param action_dim: size of the actions the disagreement ensemble sees.
    :param seed: seeds initialisation and minibatches.
    """

    context: int = 2
    stride: int = 1
    state_dims: tuple[int, ...] = (0, 1, 2, 3)
    n_components: int = 5
    hidden_dim: int = 128
    n_layers: int = 2
    min_std: float = 0.01
    expl_scale: float = 0.5
    iterations: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    holdout: float = 0.1
    action_dim: int = 2
    seed: int = 0
    disagreement: BonusConfig = field(default_factory=BonusConfig)

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1. Got {self.stride}.")
        if self.context < 1 or self.n_components < 1:
            raise ValueError(f"context and n_components must be >= 1. Got {self.context}, {self.n_components}.")
        if not 0.0 <= self.expl_scale <= 1.0:
            raise ValueError(f"expl_scale must be in [0, 1]. Got {self.expl_scale}.")
        if self.min_std <= 0:
            raise ValueError(f"min_std must be > 0. Got {self.min_std}.")
        if self.iterations < 0 or self.batch_size < 1:
            raise ValueError(f"iterations must be >= 0 and batch_size >= 1. Got {self.iterations}, {self.batch_size}.")
        self.state_dims = tuple(int(d) for d in self.state_dims)


class MixtureDensityNet(nn.Module):
    """MLP ``(B, C) -> (logits (B, K), means (B, K, D), stds (B, K, D))``."""

    def __init__(
        self, cond_dim: int, out_dim: int, n_components: int, hidden_dim: int, n_layers: int, min_std: float
    ) -> None:
        super().__init__()
        layers, d = [], cond_dim
        for _ in range(n_layers):
            layers += [nn.Linear(d, hidden_dim), nn.Mish()]
            d = hidden_dim
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(d, n_components * (1 + 2 * out_dim))
        self.K, self.D, self.min_std = n_components, out_dim, min_std

    def forward(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.head(self.trunk(cond))  # (B, K * (1 + 2D))
        logits, mean, raw_std = out.split([self.K, self.K * self.D, self.K * self.D], dim=-1)
        mean = mean.reshape(-1, self.K, self.D)  # (B, K, D)
        std = nn.functional.softplus(raw_std).reshape(-1, self.K, self.D) + self.min_std  # (B, K, D)
        return logits, mean, std

    def log_prob(self, cond: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``log p(x | cond)`` (B,) for ``x`` (B, D)."""
        logits, mean, std = self(cond)
        z = (x[:, None, :] - mean) / std  # (B, K, D)
        comp = -0.5 * z.pow(2).sum(-1) - std.log().sum(-1) - 0.5 * self.D * math.log(2 * math.pi)  # (B, K)
        return torch.logsumexp(torch.log_softmax(logits, -1) + comp, dim=-1)  # (B,)


class VideoPredictionReward(LearnedReward):
    """The trained predictor plus its reward; build it with :func:`train_video_prediction_reward`."""

    name = "video_prediction"
    stat_mean: torch.Tensor
    stat_std: torch.Tensor

    def __init__(self, config: VideoPredictionConfig, env_id: str, obs_dim: int) -> None:
        super().__init__(env_id, obs_dim)
        if max(config.state_dims) >= obs_dim:
            raise ValueError(f"state_dims {config.state_dims} do not fit observations of size {obs_dim}.")
        self.config, self.context, self.stride = config, config.context, config.stride
        D = len(config.state_dims)
        self.state_norm = Normalizer(D, mode="gaussian")
        self.delta_norm = Normalizer(D, mode="gaussian")
        self.net = MixtureDensityNet(
            config.context * D, D, config.n_components, config.hidden_dim, config.n_layers, config.min_std
        )
        self.register_buffer("stat_mean", torch.tensor(0.0))
        self.register_buffer("stat_std", torch.tensor(1.0))
        self.action_dim = config.action_dim
        self.disagreement = DisagreementBonus(config.context * D + self.action_dim, D, config.disagreement)

    def _split(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, k+1, obs_dim) -> normalised history (B, k*D) and normalised change (B, D)."""
        s = window[..., list(self.config.state_dims)]  # (B, k+1, D)
        return self.state_norm(s[:, :-1]).flatten(1), self.delta_norm(s[:, -1] - s[:, -2])

    def loss(self, window: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of the expert's next state, averaged over the batch."""
        cond, x = self._split(window)
        return -self.net.log_prob(cond, x).mean()

    @torch.no_grad()
    def raw_reward(self, window: np.ndarray | torch.Tensor) -> torch.Tensor:
        """``log p(s_{t+1} | history)`` (B,), unstandardised."""
        cond, x = self._split(torch.as_tensor(np.asarray(window, dtype=np.float32)))
        return self.net.log_prob(cond, x)

    def _bonus_io(self, window: np.ndarray, actions: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
        cond, x = self._split(torch.as_tensor(window))
        a = torch.zeros(len(window), self.action_dim) if actions is None else torch.as_tensor(actions).float()
        return torch.cat([cond, a], dim=-1), x  # (B, k*D + A), (B, D)

    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        window = self._check_window(window)
        z = symlog((self.raw_reward(window) - self.stat_mean) / self.stat_std)
        model = (1.0 - self.config.expl_scale) * z.numpy().astype(np.float64)
        explore = np.zeros(len(window))
        if self.config.expl_scale > 0:
            explore = self.config.expl_scale * self.disagreement.bonus(self._bonus_io(window, actions)[0])
        return {"total": model + explore, "model": model, "explore": explore}

    def observe(self, window: np.ndarray, actions: np.ndarray | None = None) -> None:
        window = self._check_window(window)
        if self.config.expl_scale > 0:
            self.disagreement.observe(*self._bonus_io(np.asarray(window, dtype=np.float32), actions))

    def reset_online(self) -> None:
        self.disagreement.reset()


def train_video_prediction_reward(
    demos, config: VideoPredictionConfig | None = None, progress: bool = True
) -> tuple[VideoPredictionReward, TrainLog]:
    """Fit the mixture predictor on ``demos`` by maximum likelihood and fit the reward statistics."""
    config = config or VideoPredictionConfig()
    if config.action_dim != int(demos.action_dim):
        raise ValueError(
            f"config.action_dim is {config.action_dim} but the demos' actions have size {demos.action_dim}."
        )
    torch.manual_seed(config.seed)
    model = VideoPredictionReward(config, env_id=demos.metadata["env_id"], obs_dim=int(demos.obs_dim))
    states = episode_states(demos)
    train_idx, hold_idx = split_episodes(len(states), config.holdout, config.seed)
    train = torch.as_tensor(
        transition_windows([states[i] for i in train_idx], config.context, config.stride)[:, :: config.stride]
    )  # (N, k+1, obs)
    s = train[..., list(config.state_dims)]  # (N, k+1, D)
    model.state_norm.fit(s.reshape(-1, s.shape[-1]))
    model.delta_norm.fit(s[:, -1] - s[:, -2])
    opt = torch.optim.AdamW(model.net.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, config.iterations))
    gen = torch.Generator().manual_seed(config.seed)

    def step(i: int) -> float:
        loss = model.loss(train[torch.randint(0, len(train), (config.batch_size,), generator=gen)])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return loss.item()

    log = fit(step, config.iterations, "video-prediction reward", progress)
    model.eval()
    ref = transition_windows([states[i] for i in hold_idx] or states, config.context, config.stride)[
        :2000, :: config.stride
    ]
    raw = model.raw_reward(ref)
    model.stat_mean.fill_(raw.mean())
    model.stat_std.fill_(raw.std().clamp_min(1e-6))
    return model, log
