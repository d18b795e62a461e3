"""Q-Transformer (Chebotar et al., 2023), small: per-dimension discretised Q-learning with a transformer.

Each action dimension is cut into ``n_bins`` cells and treated as one step of an autoregressive
sequence. For a 2-D action the transformer reads two tokens::

    token index :     0                1
    input       :   [ s ]          [ bin(a_1) ]
    output      :   Q_1(s, .)      Q_2(s, a_1, .)          each (n_bins,): a Q-value per cell

Greedy action: ``a_1 = argmax Q_1(s, .)``, then ``a_2 = argmax Q_2(s, a_1, .)`` (d cheap argmaxes
instead of one over n_bins^d joint actions).

Per-dimension Bellman backups (the paper's eq. 1), with the *target* network Q'::

    y_i = max_b Q'_{i+1}(s, a_1..a_i, b)                      i < d   (no reward, no discount inside a step)
    y_d = r + gamma (1 - done) max_b Q'_1(s', b)              the last dimension closes the time step

(with ``n_step = n``: ``r`` is the discounted sum of the next n rewards and s' the state n steps on).

Two additions make it work offline:

- *conservative regulariser*: every cell the data did NOT take is pushed to the lowest return,
  ``L_cons = mean_i mean_{b != a_i} (Q_i(s, .., b) - q_min)^2``, so the argmax cannot land on an
  action nobody tried (where the net would otherwise extrapolate);
- *Monte-Carlo lower bound*: ``y_i <- max(y_i, G_t)`` with G_t the data's discounted return from
  this step; the demonstrator got G_t, so the best action is worth at least that. It speeds up value
  propagation along long successful episodes.

Total loss ``0.5 * L_td + 0.5 * w_cons * L_cons`` (w_cons = 1, the paper's choice).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.data.episodes import EpisodeDataset
from labkit.data.transitions import transitions_from_episodes
from labkit.models.ema import polyak_update
from labkit.models.normalizer import Normalizer
from labkit.pretrain.gpt import CausalTransformer, GPTConfig
from labkit.pretrain.sequences import ActionBins, returns_to_go
from labkit.runtime import check_int, check_seed
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = [
    "QTConfig",
    "QTransformer",
    "per_dimension_targets",
    "conservative_penalty",
    "n_step_transitions",
    "train_q_transformer",
    "bellman_table",
]


@dataclass
class QTConfig:
    """Shape and training hyper-parameters of a :class:`QTransformer`."""

    obs_dim: int
    """Size of one observation."""
    action_dim: int
    """d, action dimensions (= tokens per decision)."""
    n_bins: int = 41
    """Cells per action dimension."""
    n_layer: int = 2
    """Transformer blocks."""
    n_head: int = 1
    """Attention heads."""
    n_embd: int = 64
    """Token width C."""
    value_scale: float = 10.0
    """The head outputs Q / value_scale (returns are ~ -1.5 .. 12.6)."""
    gamma: float = 0.99
    """Discount factor between time steps."""
    conservative_weight: float = 1.0
    """w_cons; 0 switches the regulariser off."""
    mc_lower_bound: bool = True
    """Clip every target from below by the data's Monte-Carlo return."""
    n_step: int = 1
    """The last dimension's backup uses n-step returns (the paper does; values travel n steps per backup)."""
    q_min: float | None = None
    """Value the unseen cells are pushed to; None = the lowest Monte-Carlo return in the data."""
    lr: float = 3e-4
    """AdamW learning rate."""
    batch_size: int = 256
    """Transitions per update."""
    target_tau: float = 0.02
    """Polyak rate of the target network."""
    grad_clip: float = 1.0
    """Max gradient norm."""
    n_obs_steps: int = 1
    """Fixed: one observation per decision (what ``labkit.evaluate`` reads)."""
    horizon: int = 1
    """Fixed: one action per decision."""
    n_action_steps: int = 1
    """Fixed: one action executed per decision."""

    def __post_init__(self) -> None:
        if min(self.obs_dim, self.action_dim) < 1 or self.n_bins < 2:
            raise ValueError(f"obs_dim, action_dim must be >= 1 and n_bins >= 2. Got {self}.")
        if self.n_step < 1:
            raise ValueError(f"n_step must be >= 1. Got {self.n_step}.")
        if not 0.0 <= self.gamma < 1.0 or not 0.0 < self.target_tau <= 1.0 or self.conservative_weight < 0:
            raise ValueError(f"need gamma in [0, 1), target_tau in (0, 1], conservative_weight >= 0. Got {self}.")


class QTransformer(nn.Module):
    """Autoregressive per-dimension Q-values. ``config`` has the kit's horizon fields (To = H = Ta = 1),
    so :func:`labkit.evaluate.evaluate` runs it like any chunk policy (greedy actions)."""

    def __init__(self, config: QTConfig) -> None:
        super().__init__()
        self.config = c = config
        self.bins = ActionBins(c.n_bins)
        self.normalizer_obs = Normalizer(c.obs_dim, mode="gaussian")
        self.embed_state = nn.Linear(c.obs_dim, c.n_embd)
        self.embed_bin = nn.Embedding(c.n_bins, c.n_embd)
        self.embed_dim = nn.Embedding(c.action_dim, c.n_embd)  # which action dimension a token is
        self.trunk = CausalTransformer(GPTConfig(c.n_layer, c.n_head, c.n_embd, 0.0, max_tokens=c.action_dim))
        self.head = nn.Linear(c.n_embd, c.n_bins)

    def forward(
        self, obs: torch.Tensor, action_bins: torch.Tensor | None = None, return_attention: bool = False
    ) -> Any:
        """Q-values per dimension and cell: obs (B, D), action_bins (B, d) long -> (B, d, n_bins)
        (with ``return_attention``: ``(q, per-layer attention (B, nh, d, d))``).

        Row i is ``Q_i(s, a_1..a_{i-1}, .)``: it sees the cells of the dimensions before i only, so
        ``action_bins[:, i:]`` never matters for row i (None = zeros, fine for row 0).
        """
        c = self.config
        B = obs.shape[0]
        if action_bins is None:
            action_bins = torch.zeros(B, c.action_dim, dtype=torch.long, device=obs.device)
        s_tok = self.embed_state(self.normalizer_obs.normalize(obs))[:, None]  # (B, 1, C)
        a_tok = self.embed_bin(action_bins[:, :-1])  # (B, d-1, C): a_1 .. a_{d-1}
        x = torch.cat([s_tok, a_tok], dim=1) + self.embed_dim.weight[None]  # (B, d, C)
        h, maps = self.trunk(x, return_attention=return_attention)  # (B, d, C)
        q = self.head(h) * c.value_scale  # (B, d, n_bins)
        if return_attention:
            return q, maps
        return q

    @torch.no_grad()
    def greedy_bins(self, obs: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, d) long: argmax one dimension at a time, feeding each choice back in."""
        B, d = obs.shape[0], self.config.action_dim
        chosen = torch.zeros(B, d, dtype=torch.long, device=obs.device)
        for i in range(d):
            chosen[:, i] = self(obs, chosen)[:, i].argmax(-1)  # (B,)
        return chosen

    @torch.no_grad()
    def predict_action(self, obs: torch.Tensor, **_: Any) -> torch.Tensor:
        """The kit's policy interface: (B, 1, D) or (B, D) raw observations -> (B, 1, A) greedy actions."""
        obs = torch.as_tensor(obs, dtype=torch.float32)
        if obs.ndim == 3:
            obs = obs[:, -1]  # (B, To, D) -> (B, D)
        return self.bins.to_value(self.greedy_bins(obs))[:, None]  # (B, 1, A)


def per_dimension_targets(
    q_target_taken: torch.Tensor,
    q_next_first: torch.Tensor,
    rewards: torch.Tensor,
    dones: torch.Tensor,
    gamma: float | torch.Tensor,
    mc_return: torch.Tensor | None = None,
) -> torch.Tensor:
    """The per-dimension Bellman targets y (B, d) (see the module docstring).

    :param q_target_taken: (B, d, n_bins) target-net Q-values at s with the data's cells fed in.
    :param q_next_first: (B, n_bins) target-net ``Q_1(s', .)``.
    :param rewards: (B,); ``dones``: (B,) 1.0 where s' is terminal; ``gamma``: a float or (B,) (n-step: gamma^m).
    :param mc_return: (B,) Monte-Carlo returns G_t for the lower bound, or None.
    """
    inner = q_target_taken[:, 1:].amax(-1)  # (B, d-1): y_i = max_b Q'_{i+1}(s, a_<=i, b)
    last = rewards + gamma * (1.0 - dones) * q_next_first.amax(-1)  # (B,)
    y = torch.cat([inner, last[:, None]], dim=1)  # (B, d)
    if mc_return is not None:
        y = torch.maximum(y, mc_return[:, None])
    return y


def conservative_penalty(q_all: torch.Tensor, taken: torch.Tensor, q_min: float) -> torch.Tensor:
    """mean over samples and dimensions of ``mean_{b != taken} (Q_b - q_min)^2``: q_all (B, d, n), taken (B, d)."""
    n = q_all.shape[-1]
    unseen = torch.ones_like(q_all, dtype=torch.bool).scatter_(-1, taken[..., None], False)  # (B, d, n)
    sq = ((q_all - q_min) ** 2) * unseen  # (B, d, n)
    return (sq.sum(-1) / (n - 1)).mean()


def n_step_transitions(data: EpisodeDataset, n: int, gamma: float) -> dict[str, torch.Tensor]:
    """For every step t: ``reward`` = sum_{k<m} gamma^k r_{t+k}, ``next_obs`` = s_{t+m}, ``discount`` = gamma^m
    and ``done`` (the episode terminated within those m steps), m = min(n, steps left in the episode).

    Past a time-limit truncation the episode's ``final_observation`` is bootstrapped, as in
    ``transitions_from_episodes``.
    """
    tr = transitions_from_episodes(data)
    N = len(tr)
    ends = np.asarray(data.episode_ends)
    ep_end = np.repeat(ends, np.diff(np.r_[0, ends]))  # (N,) exclusive end of each row's episode
    rewards = tr.rewards.numpy().astype(np.float64)
    out_r, m = np.zeros(N), np.zeros(N, dtype=np.int64)
    for k in range(n):
        idx = np.arange(N) + k
        live = idx < ep_end  # (N,) step t + k is still in the episode
        out_r[live] += gamma**k * rewards[idx[live]]
        m[live] = k + 1
    last = np.arange(N) + m - 1  # (N,) the last step used
    return {
        "reward": torch.as_tensor(out_r, dtype=torch.float32),
        "next_obs": tr.next_obs[torch.as_tensor(last)],  # (N, D) s_{t+m}
        "discount": torch.as_tensor(gamma**m, dtype=torch.float32),  # (N,)
        "done": tr.dones[torch.as_tensor(last)],
    }  # (N,)


def train_q_transformer(
    model: QTransformer, data: EpisodeDataset, *, iterations: int = 3000, seed: int = 0, progress: bool = True
) -> TrainLog:
    """Offline Q-learning of ``model`` on ``data`` (in place; Ctrl-C keeps what was learned).

    :param model: a fresh :class:`QTransformer`; its normaliser (and ``q_min`` if None) are set here.
    :param data: episodes with rewards (demonstrations and failures alike).
    :param iterations: updates of ``config.batch_size`` transitions.
    :return: a ``TrainLog`` with ``td``, ``cons`` and ``q_data`` (mean Q of the data's actions) per update.
    """
    iterations, seed = check_int("iterations", iterations), check_seed(seed)
    c = model.config
    tr = transitions_from_episodes(data)
    nstep = n_step_transitions(data, c.n_step, c.gamma)
    mc = torch.as_tensor(returns_to_go(data.rewards, data.episode_ends, c.gamma), dtype=torch.float32)  # (N,)
    q_min = float(mc.min()) if c.q_min is None else c.q_min
    c.q_min = q_min
    model.normalizer_obs.fit(tr.obs)
    bins = model.bins.to_index(tr.actions)  # (N, d)
    target = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    log = TrainLog(meta={"method": "Q-Transformer", "seed": seed})
    model.train()
    with training(log, total=iterations, desc="Q-Transformer", progress=progress) as bar:
        for it in range(iterations):
            idx = torch.randint(len(tr), (c.batch_size,), generator=gen)  # (B,)
            b, taken = tr.gather(idx), bins[idx]  # taken: (B, d)
            with torch.no_grad():
                y = per_dimension_targets(
                    target(b["obs"], taken),
                    target(nstep["next_obs"][idx])[:, 0],
                    nstep["reward"][idx],
                    nstep["done"][idx],
                    nstep["discount"][idx],
                    mc[idx] if c.mc_lower_bound else None,
                )  # (B, d)
            q_all = model(b["obs"], taken)  # (B, d, n_bins)
            q_taken = q_all.gather(-1, taken[..., None]).squeeze(-1)  # (B, d)
            td = F.mse_loss(q_taken, y)
            cons = conservative_penalty(q_all, taken, q_min) if c.conservative_weight > 0 else torch.zeros(())
            loss = 0.5 * td + 0.5 * c.conservative_weight * cons
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), c.grad_clip)
            opt.step()
            polyak_update(target, model, c.target_tau)
            log.add(td=td.item(), cons=cons.item(), q_data=q_taken.mean().item())
            log.iterations_done += 1
            bar.update(1)
            if it % 100 == 0:
                bar.set_postfix(td=f"{td.item():.3f}", cons=f"{cons.item():.2f}", refresh=False)
    model.eval()
    return log


def bellman_table(model: QTransformer, obs: np.ndarray) -> np.ndarray:
    """Q over the full n_bins x n_bins action grid at one state (2-D actions only), for plots: (n, n)."""
    if model.config.action_dim != 2:
        raise ValueError(f"bellman_table needs a 2-D action. Got action_dim={model.config.action_dim}.")
    n = model.config.n_bins
    o = torch.as_tensor(np.asarray(obs, np.float32)).reshape(1, -1).expand(n, -1)  # (n, D)
    a1 = torch.arange(n)  # (n,) every first-dimension cell
    with torch.no_grad():
        q = model(o, torch.stack([a1, torch.zeros(n, dtype=torch.long)], 1))[:, 1]  # (n, n): Q_2(s, a1, .)
    return q.numpy()
