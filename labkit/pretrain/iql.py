"""IQL (Kostrikov et al., 2022): a critic that never asks Q about actions outside the data.

Transitions ``(s, a, r, s', done)`` come from ``labkit.data.transitions_from_episodes``::

    L_V(psi)   = E_{(s,a)~D} [ L_2^tau( min_i Q_target_i(s, a) - V_psi(s) ) ]
    L_Q(theta) = E_{(s,a,r,s')~D} [ sum_i ( r + gamma (1 - done) V_psi(s') - Q_theta_i(s, a) )^2 ]
    L_2^tau(u) = | tau - 1(u < 0) | u^2                      (the expectile loss)

With tau = 0.5 V is the mean of Q over the data's actions (SARSA-like); as tau -> 1 it approaches
their maximum, so V(s) estimates the value of the *best* actions seen in s. IDQL (``idql.py``) samples
with this critic; Diffusion-QL (``diffusion_ql.py``) can use it frozen.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from labkit.data.episodes import EpisodeDataset
from labkit.data.transitions import Transitions, transitions_from_episodes
from labkit.models.critics import TwinQ, ValueNet
from labkit.models.ema import polyak_update
from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["IQLConfig", "IQLCritic", "expectile_loss", "train_iql"]


def expectile_loss(diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """``mean(|tau - 1(u < 0)| * u^2)`` for u = ``diff``: minimised over a constant by the tau-expectile."""
    weight = torch.where(diff < 0, 1.0 - expectile, expectile)
    return (weight * diff**2).mean()


@dataclass
class IQLConfig:
    """Hyper-parameters of the IQL critic."""

    gamma: float = 0.99
    """Discount factor."""
    expectile: float = 0.8
    """tau of the expectile loss for V (0.5 = mean, -> 1 = max over the data's actions)."""
    hidden_dim: int = 256
    """Width of the Q and V networks."""
    n_layers: int = 2
    """Hidden layers of the Q and V networks."""
    lr: float = 3e-4
    """Adam learning rate for Q and V."""
    batch_size: int = 256
    """Transitions per update."""
    target_tau: float = 0.005
    """Polyak rate of the target Q-network."""

    def __post_init__(self) -> None:
        if not 0.0 < self.expectile < 1.0:
            raise ValueError(f"expectile must be in (0, 1). Got {self.expectile}.")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1). Got {self.gamma}.")


class IQLCritic(nn.Module):
    """Twin Q(s, a), its slow target copy, and V(s), trained by :func:`train_iql`."""

    advantage_scale: torch.Tensor  # registered buffer, declared for the type checker

    def __init__(self, obs_dim: int, action_dim: int, config: IQLConfig | None = None) -> None:
        super().__init__()
        self.config = config or IQLConfig()
        c = self.config
        self.q = TwinQ(obs_dim, action_dim, c.hidden_dim, c.n_layers)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.v = ValueNet(obs_dim, c.hidden_dim, c.n_layers)
        # The spread of Q - V over the training data (fitted by train_iql): the natural unit of an
        # advantage, e.g. for IDQL's softmax temperature. Saved with the critic's state_dict.
        self.register_buffer("advantage_scale", torch.ones(()))

    @torch.no_grad()
    def q_value(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """min of the target twin: (B, D), (B, A) -> (B,)."""
        return self.q_target.min_q(obs, actions)

    @torch.no_grad()
    def advantage(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q(s, a) - V(s): (B,)."""
        return self.q_target.min_q(obs, actions) - self.v(obs)

    def losses(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(value loss, Q loss) on a batch of transitions (see the module docstring)."""
        c = self.config
        with torch.no_grad():
            q_t = self.q_target.min_q(batch["obs"], batch["actions"])  # (B,)
            next_v = self.v(batch["next_obs"])  # (B,)
            target = batch["rewards"] + c.gamma * (1.0 - batch["dones"]) * next_v  # (B,)
        v_loss = expectile_loss(q_t - self.v(batch["obs"]), c.expectile)
        q1, q2 = self.q(batch["obs"], batch["actions"])  # (B,), (B,)
        q_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        return v_loss, q_loss


def train_iql(
    critic: IQLCritic,
    data: EpisodeDataset | Transitions,
    *,
    iterations: int = 20_000,
    seed: int = 0,
    progress: bool = True,
) -> TrainLog:
    """Fit ``critic`` to the transitions of ``data`` (in place; Ctrl-C keeps what was learned).

    :param critic: an ``IQLCritic``; its observation scalers are fitted here.
    :param data: episodes (cut with :func:`transitions_from_episodes`) or transitions.
    :param iterations: gradient steps (each updates V, then Q, then the target).
    :return: a ``TrainLog`` with ``losses["v_loss"]`` and ``losses["q_loss"]`` per iteration.
    """
    tr = transitions_from_episodes(data) if isinstance(data, EpisodeDataset) else data
    c = critic.config
    for net in (critic.q, critic.q_target, critic.v):
        net.scaler.fit(tr.obs)
    iterations, seed = check_int("iterations", iterations), check_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt_q = torch.optim.Adam(critic.q.parameters(), lr=c.lr)
    opt_v = torch.optim.Adam(critic.v.parameters(), lr=c.lr)
    log = TrainLog(meta={"method": "IQL", "seed": seed})
    critic.train()
    with training(log, total=iterations, desc="IQL critic", progress=progress) as bar:
        for it in range(iterations):
            batch = tr.sample(c.batch_size, gen)
            v_loss, q_loss = critic.losses(batch)
            opt_v.zero_grad(set_to_none=True)
            v_loss.backward()
            opt_v.step()
            opt_q.zero_grad(set_to_none=True)
            q_loss.backward()
            opt_q.step()
            polyak_update(critic.q_target, critic.q, c.target_tau)
            log.add(v_loss=v_loss.item(), q_loss=q_loss.item())
            log.iterations_done += 1
            bar.update(1)
            if it % 100 == 0:
                bar.set_postfix(v=f"{v_loss.item():.3f}", q=f"{q_loss.item():.3f}", refresh=False)
    critic.eval()
    with torch.no_grad():
        critic.advantage_scale.copy_(critic.advantage(tr.obs, tr.actions).std().clamp(min=1e-6))
    return log
