"""Offline RL with diffusion policies: an IQL critic, IDQL sampling, and Diffusion-QL.

All three learn from the same data: transitions ``(s, a, r, s', done)`` cut from an
``EpisodeDataset`` (one action per step). Actions are single steps, not chunks, because a
one-step Q-function ``Q(s, a)`` is the simplest thing that Bellman backups work on. The policies
in this module therefore use horizon-1 chunks (``n_obs_steps = horizon = n_action_steps = 1``)
by default; IDQL also accepts a behaviour policy with longer chunks, and then the critic judges
each candidate chunk by its first executed action (a common shortcut, stated here so nobody is
surprised).

IQL (Kostrikov et al., 2022) never asks the Q-function about actions outside the data::

    L_V(psi)   = E_{(s,a)~D} [ L_2^tau( min_i Q_target_i(s, a) - V_psi(s) ) ]
    L_Q(theta) = E_{(s,a,r,s')~D} [ sum_i ( r + gamma (1 - done) V_psi(s') - Q_theta_i(s, a) )^2 ]
    L_2^tau(u) = | tau - 1(u < 0) | u^2                      (the expectile loss)

With tau = 0.5 V is the mean of Q over the data's actions (SARSA-like); as tau -> 1 it approaches
their maximum, so V(s) estimates the value of the *best* actions seen in s.

IDQL (Hansen-Estruch et al., 2023): sample N candidates from a diffusion *behaviour* policy (plain
BC on all the data), score them with the IQL critic, and draw one with probabilities
``softmax(Q / temperature)`` (the default) or keep the best (``selection="argmax"``, greedier and
more exposed to the critic's errors on rare candidates).

Diffusion-QL (Wang et al., 2023) trains the diffusion policy itself::

    L_pi = L_diffusion(s, a)  -  alpha * Q(s, a_pi) / mean|Q|.detach(),   a_pi = DDPM chain(s)

with the gradient of the second term flowing back through the (short, K-step) sampling chain,
and a twin Q learned by TD with actions from the current policy::

    y = r + gamma (1 - done) min_i Q_target_i(s', a'),   a' ~ pi(s')
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from labkit.data import EpisodeDataset
from labkit.diffusion import DiffusionPolicy
from labkit.finetune.chain import ddpm_scheduler, denoise

__all__ = [
    "Transitions",
    "transitions_from_episodes",
    "expectile_loss",
    "TwinQ",
    "ValueNet",
    "IQLConfig",
    "IQLCritic",
    "train_iql",
    "IDQLPolicy",
    "DiffusionQLConfig",
    "train_diffusion_ql",
    "OfflineLog",
]


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class Transitions:
    """One row per step: obs (N, D), actions (N, A), rewards (N,), next_obs (N, D), dones (N,)."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_obs: torch.Tensor
    dones: torch.Tensor

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        idx = torch.randint(len(self), (batch_size,), generator=generator)  # (B,)
        return self.gather(idx)

    def gather(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k)[idx] for k in ("obs", "actions", "rewards", "next_obs", "dones")}


def transitions_from_episodes(ds: EpisodeDataset) -> Transitions:
    """Cut an ``EpisodeDataset`` into transitions.

    ``next_obs`` of an episode's last step is the per-episode field ``final_observation`` (which
    ``collect_episodes`` records); without it the last step's own observation is used. ``dones``
    are the *terminations* only: a time-limit truncation is not an end of the task, so its
    ``next_obs`` is still bootstrapped.
    """
    obs = torch.as_tensor(np.array(ds.observations), dtype=torch.float32)  # (N, D)
    next_obs = torch.roll(obs, shifts=-1, dims=0).clone()  # (N, D): row t <- row t + 1
    last = torch.as_tensor(ds.episode_ends - 1)  # (E,) last step of each episode
    if "final_observation" in ds.episode_fields:
        next_obs[last] = torch.as_tensor(np.array(ds.episode_fields["final_observation"]), dtype=torch.float32)
    else:
        next_obs[last] = obs[last]
    return Transitions(
        obs=obs,
        actions=torch.as_tensor(np.array(ds.actions), dtype=torch.float32),  # (N, A)
        rewards=torch.as_tensor(np.array(ds.rewards), dtype=torch.float32),  # (N,)
        next_obs=next_obs,
        dones=torch.as_tensor(np.array(ds.terminations), dtype=torch.float32),  # (N,)
    )


# ---------------------------------------------------------------------------------------------
# networks


def expectile_loss(diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """``mean(|tau - 1(u < 0)| * u^2)`` for u = ``diff``: minimised over a constant by the tau-expectile."""
    weight = torch.where(diff < 0, 1.0 - expectile, expectile)
    return (weight * diff**2).mean()


def mlp(in_dim: int, out_dim: int, hidden_dim: int, n_layers: int) -> nn.Sequential:
    """``n_layers`` hidden Mish layers of ``hidden_dim``, then a linear output."""
    layers: list[nn.Module] = []
    for _ in range(n_layers):
        layers += [nn.Linear(in_dim, hidden_dim), nn.Mish()]
        in_dim = hidden_dim
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class _ObsScaler(nn.Module):
    """Standardise observations with statistics stored as buffers (so a saved critic carries them)."""

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


class TwinQ(nn.Module):
    """Two independent Q-networks: (B, D), (B, A) -> two (B,) tensors. Use ``min`` of the pair."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_dim: int = 256, n_layers: int = 2) -> None:
        super().__init__()
        self.scaler = _ObsScaler(obs_dim)
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
        self.scaler = _ObsScaler(obs_dim)
        self.net = mlp(obs_dim, 1, hidden_dim, n_layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(self.scaler(obs)).squeeze(-1)  # (B,)


def _polyak(target: nn.Module, source: nn.Module, tau: float) -> None:
    with torch.no_grad():
        for pt, ps in zip(target.parameters(), source.parameters()):
            pt.lerp_(ps, tau)


@dataclass
class OfflineLog:
    """What an offline trainer returns: per-iteration losses, completion and timing."""

    losses: dict[str, list[float]] = field(default_factory=dict)
    iterations_done: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    def add(self, **values: float) -> None:
        for k, v in values.items():
            self.losses.setdefault(k, []).append(float(v))


# ---------------------------------------------------------------------------------------------
# IQL


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

    def __init__(self, obs_dim: int, action_dim: int, config: IQLConfig | None = None) -> None:
        super().__init__()
        self.config = config or IQLConfig()
        c = self.config
        self.q = TwinQ(obs_dim, action_dim, c.hidden_dim, c.n_layers)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.v = ValueNet(obs_dim, c.hidden_dim, c.n_layers)

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
) -> OfflineLog:
    """Fit ``critic`` to the transitions of ``data`` (in place; Ctrl-C keeps what was learned).

    :param critic: an ``IQLCritic``; its observation scalers are fitted here.
    :param data: episodes (cut with :func:`transitions_from_episodes`) or transitions.
    :param iterations: gradient steps (each updates V, then Q, then the target).
    :return: an :class:`OfflineLog` with ``v_loss`` and ``q_loss`` per iteration.
    """
    tr = transitions_from_episodes(data) if isinstance(data, EpisodeDataset) else data
    c = critic.config
    for net in (critic.q, critic.q_target, critic.v):
        net.scaler.fit(tr.obs)
    gen = torch.Generator().manual_seed(seed)
    opt_q = torch.optim.Adam(critic.q.parameters(), lr=c.lr)
    opt_v = torch.optim.Adam(critic.v.parameters(), lr=c.lr)
    log, start = OfflineLog(), time.perf_counter()
    critic.train()
    bar = tqdm(total=iterations, desc="IQL critic", disable=not progress, dynamic_ncols=True)
    try:
        for it in range(iterations):
            batch = tr.sample(c.batch_size, gen)
            v_loss, q_loss = critic.losses(batch)
            opt_v.zero_grad(set_to_none=True)
            v_loss.backward()
            opt_v.step()
            opt_q.zero_grad(set_to_none=True)
            q_loss.backward()
            opt_q.step()
            _polyak(critic.q_target, critic.q, c.target_tau)
            log.add(v_loss=v_loss.item(), q_loss=q_loss.item())
            log.iterations_done += 1
            bar.update(1)
            if it % 100 == 0:
                bar.set_postfix(v=f"{v_loss.item():.3f}", q=f"{q_loss.item():.3f}", refresh=False)
    except KeyboardInterrupt:
        log.interrupted = True
        warnings.warn(f"IQL interrupted after {log.iterations_done} iterations; keeping the critic.", stacklevel=2)
    finally:
        bar.close()
    critic.eval()
    log.seconds = time.perf_counter() - start
    return log


# ---------------------------------------------------------------------------------------------
# IDQL


class IDQLPolicy(nn.Module):
    """Sample-and-select: N candidates from a behaviour diffusion policy, re-ranked by a critic.

    Works with ``labkit.evaluate.evaluate`` like any chunk policy (``predict_action`` and
    ``config``). The critic scores a candidate chunk by its first executed action (index To - 1)
    from the current observation ``obs[:, -1]``.

    :param behaviour: a trained ``DiffusionPolicy`` (plain BC on all the data).
    :param critic: an ``IQLCritic`` (or any module with ``q_value(obs (B, D), actions (B, A)) -> (B,)``).
    :param n_samples: N, candidates per decision.
    :param selection: ``"softmax"`` (draw one with probabilities ``softmax(Q / temperature)``, the
        default) or ``"argmax"`` (the best candidate). Argmax trusts the critic's ranking of every
        candidate, including the rare off-data ones a diffusion sampler produces, where Q is an
        extrapolation; on ``two_routes_mixed`` it picks those and succeeds ~10% of the time, while
        softmax (temperature 0.3) succeeds ~90%.
    :param temperature: softmax temperature (in units of Q; TwoRoutes returns are ~10).
    """

    def __init__(self, behaviour: DiffusionPolicy, critic: nn.Module, n_samples: int = 32,
                 selection: str = "softmax", temperature: float = 0.3) -> None:
        super().__init__()
        if selection not in ("argmax", "softmax"):
            raise ValueError(f"selection must be 'argmax' or 'softmax'. Got {selection!r}.")
        if n_samples < 1 or temperature <= 0:
            raise ValueError(f"n_samples must be >= 1 and temperature > 0. Got {n_samples} and {temperature}.")
        self.behaviour, self.critic = behaviour, critic
        self.n_samples, self.selection, self.temperature = n_samples, selection, temperature

    @property
    def config(self):
        """The behaviour policy's config (horizons, dimensions)."""
        return self.behaviour.config

    @torch.no_grad()
    def sample_actions(self, obs: torch.Tensor, generator: torch.Generator | None = None, **kwargs: Any) -> torch.Tensor:
        """Selected chunks (B, H, A) for observation histories (B, To, D); kwargs go to the behaviour sampler."""
        cfg = self.config
        obs = torch.as_tensor(obs, dtype=torch.float32)
        if obs.ndim == 2:
            obs = obs[:, None]  # (B, D) -> (B, 1, D)
        B, N = obs.shape[0], self.n_samples
        rep = obs.repeat_interleave(N, dim=0)  # (B*N, To, D)
        chunks = self.behaviour.sample_actions(rep, generator=generator, **kwargs)  # (B*N, H, A)
        first = chunks[:, cfg.n_obs_steps - 1]  # (B*N, A) the action executed now
        scores = self.critic.q_value(rep[:, -1], first).reshape(B, N)  # (B, N)
        if self.selection == "argmax":
            pick = scores.argmax(dim=1)  # (B,)
        else:
            probs = torch.softmax(scores / self.temperature, dim=1)  # (B, N)
            pick = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (B,)
        return chunks.reshape(B, N, *chunks.shape[1:])[torch.arange(B), pick]  # (B, H, A)

    def predict_action(self, obs: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """(B, To, D) -> (B, Ta, A): the executable part of the selected chunk."""
        chunk = self.sample_actions(obs, **kwargs)
        start = self.config.n_obs_steps - 1
        return chunk[:, start : start + self.config.n_action_steps]  # (B, Ta, A)


# ---------------------------------------------------------------------------------------------
# Diffusion-QL


@dataclass
class DiffusionQLConfig:
    """Hyper-parameters of :func:`train_diffusion_ql`."""

    alpha: float = 1.0
    """Weight of the Q term relative to the diffusion (BC) loss; Q is divided by mean|Q|."""
    gamma: float = 0.99
    """Discount factor."""
    num_inference_steps: int = 5
    """K, DDPM steps of the sampler that gradients flow through."""
    actor_lr: float = 3e-4
    """Adam learning rate of the diffusion policy."""
    critic_lr: float = 3e-4
    """Adam learning rate of the twin Q."""
    batch_size: int = 256
    """Transitions per update."""
    target_tau: float = 0.005
    """Polyak rate of the target Q and target policy."""
    hidden_dim: int = 256
    """Width of the Q-networks."""
    n_layers: int = 2
    """Hidden layers of the Q-networks."""
    grad_clip: float = 5.0
    """Max gradient norm of the actor and critic."""
    bc_warmup: int = 0
    """Iterations of pure BC (alpha = 0) before the Q term switches on."""

    def __post_init__(self) -> None:
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0. Got {self.alpha}.")
        if self.num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be >= 1. Got {self.num_inference_steps}.")


def _actions_with_grad(policy: DiffusionPolicy, obs: torch.Tensor, sched, generator, grad: bool) -> torch.Tensor:
    """Executed-now raw actions (B, A) sampled from ``policy`` for raw obs (B, D), To = 1."""
    cond = policy.encode_obs(obs[:, None])  # (B, 1, D) -> (B, D)
    x0, _, _ = denoise(policy, cond, sched, grad=grad, generator=generator)  # (B, H, A) normalised
    return policy.normalizer_act.unnormalize(x0[:, 0])  # (B, A) raw


def train_diffusion_ql(
    policy: DiffusionPolicy,
    data: EpisodeDataset,
    config: DiffusionQLConfig | None = None,
    *,
    iterations: int = 20_000,
    seed: int = 0,
    fit_normalizers: bool = True,
    critic: IQLCritic | None = None,
    progress: bool = True,
) -> tuple[TwinQ, OfflineLog]:
    """Train ``policy`` with Diffusion-QL on ``data`` (in place); returns the learned twin Q and a log.

    The policy must condition on one observation (``n_obs_steps == 1``); a chunk longer than one
    step is trained with the diffusion loss as a whole, while Q judges its first action.
    Its ``num_inference_steps`` and ``sampler`` are set to ``config.num_inference_steps`` and
    ``"ddpm"`` so that evaluation samples with the same short chain the Q-gradient was taken through.

    :param fit_normalizers: fit the policy's normalisers on ``data`` first.
    :param critic: a trained :class:`IQLCritic` to use, frozen, for the Q term instead of learning a
        twin Q by TD on the policy's own actions (a cheaper, more conservative variant: IQL's Q was
        fitted on the data's actions only). Its ``q_target`` is returned.
    :return: ``(q, log)``; ``log.losses`` has ``bc``, ``q_term``, ``critic`` per iteration.
    """
    from labkit.data import ChunkDataset

    cfg = config or DiffusionQLConfig()
    pc = policy.config
    if pc.n_obs_steps != 1:
        raise ValueError(f"Diffusion-QL here needs a policy with n_obs_steps=1. Got {pc.n_obs_steps}.")
    tr = transitions_from_episodes(data)
    windows = ChunkDataset(data, n_obs_steps=1, horizon=pc.horizon)  # row t <-> transition t
    if fit_normalizers:
        policy.fit_normalizers(windows.all_obs(), windows.all_actions())
    pc.num_inference_steps = cfg.num_inference_steps
    pc.sampler = "ddpm"  # evaluate with the chain the Q-gradient went through (not DDIM)
    sched = ddpm_scheduler(policy, cfg.num_inference_steps)
    if critic is not None:
        q = critic.q_target
    else:
        q = TwinQ(pc.obs_dim, pc.action_dim, cfg.hidden_dim, cfg.n_layers)
        q.scaler.fit(tr.obs)
    q_target = copy.deepcopy(q).requires_grad_(False)
    policy_target = copy.deepcopy(policy).requires_grad_(False)
    opt_pi = torch.optim.Adam(policy.parameters(), lr=cfg.actor_lr)
    opt_q = torch.optim.Adam(q.parameters(), lr=cfg.critic_lr)
    gen = torch.Generator().manual_seed(seed)
    log, start = OfflineLog(), time.perf_counter()
    policy.train()
    bar = tqdm(total=iterations, desc="Diffusion-QL", disable=not progress, dynamic_ncols=True)
    try:
        for it in range(iterations):
            idx = torch.randint(len(tr), (cfg.batch_size,), generator=gen)  # (B,)
            batch, win = tr.gather(idx), windows.gather(idx)
            if critic is None:  # Critic: TD with next actions from the (target) diffusion policy.
                with torch.no_grad():
                    a_next = _actions_with_grad(policy_target, batch["next_obs"], sched, gen, grad=False)  # (B, A)
                    y = batch["rewards"] + cfg.gamma * (1 - batch["dones"]) * q_target.min_q(batch["next_obs"], a_next)
                q1, q2 = q(batch["obs"], batch["actions"])
                critic_loss = F.mse_loss(q1, y) + F.mse_loss(q2, y)
                opt_q.zero_grad(set_to_none=True)
                critic_loss.backward()
                nn.utils.clip_grad_norm_(q.parameters(), cfg.grad_clip)
                opt_q.step()
            else:
                critic_loss = torch.zeros(())
            # Actor: diffusion loss + alpha * (-Q) through the sampling chain.
            bc = policy.compute_loss(win, generator=gen)
            alpha = cfg.alpha if it >= cfg.bc_warmup else 0.0
            if alpha > 0:
                a_pi = _actions_with_grad(policy, batch["obs"], sched, gen, grad=True)  # (B, A)
                q_pi = q.min_q(batch["obs"], a_pi)  # (B,)  gradients reach the policy only (opt_pi)
                q_term = -q_pi.mean() / q_pi.abs().mean().detach().clamp(min=1e-6)
            else:
                q_term = torch.zeros(())
            actor_loss = bc + alpha * q_term
            opt_pi.zero_grad(set_to_none=True)
            actor_loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
            opt_pi.step()
            if critic is None:
                _polyak(q_target, q, cfg.target_tau)
                _polyak(policy_target, policy, cfg.target_tau)
            log.add(bc=bc.item(), q_term=q_term.item(), critic=critic_loss.item())
            log.iterations_done += 1
            bar.update(1)
            if it % 100 == 0:
                bar.set_postfix(bc=f"{bc.item():.3f}", q=f"{q_term.item():.2f}", refresh=False)
    except KeyboardInterrupt:
        log.interrupted = True
        warnings.warn(f"Diffusion-QL interrupted after {log.iterations_done} iterations; keeping the weights.",
                      stacklevel=2)
    finally:
        bar.close()
    policy.eval()
    q.eval()
    log.seconds = time.perf_counter() - start
    return q, log
