"""A small TD-MPC-style latent world model that plans with MPPI (Hansen et al. 2022; TD-MPC2, 2024).

Six kinds of small network share one latent space ``z`` (``L`` numbers, softmax-normalised in groups of 8,
TD-MPC2's "SimNorm", which keeps latents bounded as the model trains)::

    encoder   h(o)      (B, D)        -> z  (B, L)
    dynamics  d(z, a)   (B, L + A)    -> z' (B, L)      no decoder: z is never asked to rebuild o
    reward    R(z, a)   (B, L + A)    -> r  (B,)
    ends      T(z, a)   (B, L + A)    -> logit (B,)     does this step end the episode (TD-MPC2's episodic head)
    values    Q1, Q2    (B, L + A)    -> q  (B,)        twin critics with slow target copies
    policy    pi(z)     (B, L)        -> a  (B, A) in [-1, 1]

They learn together from windows of ``H`` real steps (:class:`WindowReplay`): the model starts at
``z_0 = h(o_0)`` and *imagines* ``z_t+1 = d(z_t, a_t)`` with the window's actions, and every imagined
latent is asked to match the (target) encoding of the observation that really came, to predict the reward
and the episode's end that really came, and to have TD values
``Q(z_t, a_t) ~ r_t + gamma (1 - done_t) min Q_target(zbar_t+1, pi(zbar_t+1))`` with
``zbar_t+1 = h_target(o_t+1)``; later steps weigh ``rho**t``, and a window that runs past its episode's
end is masked there. The policy climbs the critic, ``max Q(z_t, pi(z_t))``.

To act, the agent does not simply ask the policy: it *plans* (:meth:`TDMPCAgent.plan`). MPPI samples
action sequences of length ``H`` (some from the policy, most from a Gaussian), scores each by its imagined
return plus the critic's value at the end, ``sum_t gamma^t R(z_t, a_t) + gamma^H Q(z_H, pi(z_H))`` (each
term weighted by the predicted chance the episode is still running), refits the Gaussian to the best ones,
and repeats; the first action of the result is executed, and the rest, shifted, seeds the next step's
plan. ``plan=False`` acts with the policy alone (a latent-model actor-critic, cheaper per step).

    agent, log = train_tdmpc("labkit/TwoRoutes-v0", 10_000, TDMPCConfig(), seed=0)
    actions, _ = agent.predict(obs_batch, deterministic=True)   # (B, D) -> (B, A), SB3's convention
    lk.evaluate(agent, "labkit/TwoRoutes-v0", 20)

This is a teaching port for state observations and short budgets: no pixels, no discrete value
regression, no multi-task embeddings, one update per env step.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from labkit.envs.registry import make
from labkit.models.ema import polyak_update
from labkit.models.mlp import mlp
from labkit.rollout import evaluate
from labkit.runtime import check_int, check_seed, seed_everything
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["TDMPCAgent", "TDMPCConfig", "WindowReplay", "simnorm", "train_tdmpc"]

SIMNORM_GROUP = 8


@dataclass
class TDMPCConfig:
    """Sizes, losses and planner of the TD-MPC-style agent (defaults: measured on TwoRoutes, 2 cores).

    :param latent_dim: size of ``z`` (a multiple of 8, the SimNorm group).
    :param hidden: width of the two hidden layers of every network.
    :param horizon: ``H``, steps imagined in training windows and in planning.
    :param batch_size: windows per update.
    :param lr: Adam learning rate of the model and the policy.
    :param gamma: discount.
    :param rho: weight ``rho**t`` of the ``t``-th imagined step in the losses.
    :param tau: Polyak rate of the target encoder and critics.
    :param consistency_coef, reward_coef, value_coef, termination_coef: weights of the model's losses (the
        consistency term is a mean over latent features, as in TD-MPC2).
    :param seed_steps: uniform random actions first; then as many updates on that data at once.
    :param plan: act by MPPI planning (True) or with the policy alone (False).
    :param samples, policy_samples, elites, iterations: MPPI's Gaussian and policy samples, the elites it refits
        to, and its refits per env step.
    :param temperature: MPPI's weight ``exp(temperature * (value - best))`` over elites.
    :param min_std, max_std: bounds of the planner's action standard deviation.
    :param explore_std: Gaussian noise on the policy's actions while collecting data (``plan=False``), on its
        planning samples, and the least noise on a planned action while collecting.
    :param target_noise: Gaussian noise on the policy's action in the TD target (smooths the critic's peaks).
    :param grad_clip: gradient-norm clip of each update.
    """

    latent_dim: int = 32
    hidden: int = 128
    horizon: int = 3
    batch_size: int = 128
    lr: float = 1e-3
    gamma: float = 0.98
    rho: float = 0.5
    tau: float = 0.01
    consistency_coef: float = 20.0
    reward_coef: float = 0.5
    value_coef: float = 0.1
    termination_coef: float = 1.0
    seed_steps: int = 1_000
    plan: bool = True
    samples: int = 128
    policy_samples: int = 16
    elites: int = 16
    iterations: int = 3
    temperature: float = 0.5
    min_std: float = 0.05
    max_std: float = 1.0
    explore_std: float = 0.2
    target_noise: float = 0.1
    grad_clip: float = 20.0

    def __post_init__(self) -> None:
        if self.latent_dim < SIMNORM_GROUP or self.latent_dim % SIMNORM_GROUP:
            raise ValueError(f"latent_dim must be a positive multiple of {SIMNORM_GROUP}. Got {self.latent_dim}.")
        for name in ("hidden", "horizon", "batch_size", "samples", "elites", "iterations"):
            check_int(name, getattr(self, name))
        check_int("seed_steps", self.seed_steps, minimum=0)
        check_int("policy_samples", self.policy_samples, minimum=0)
        if self.elites > self.samples + self.policy_samples:
            raise ValueError(f"elites ({self.elites}) must not exceed samples + policy_samples.")
        if not (0 < self.gamma <= 1 and 0 < self.rho <= 1 and 0 < self.tau <= 1 and self.lr > 0):
            raise ValueError(f"need 0 < gamma, rho, tau <= 1 and lr > 0. Got {self}.")
        if not 0 < self.min_std <= self.max_std:
            raise ValueError(f"need 0 < min_std <= max_std. Got {self.min_std}, {self.max_std}.")


def simnorm(x: torch.Tensor, group: int = SIMNORM_GROUP) -> torch.Tensor:
    """Softmax over consecutive groups of ``group`` features: ``(..., L)`` -> ``(..., L)``, each group sums to 1."""
    shape = x.shape
    return F.softmax(x.reshape(*shape[:-1], shape[-1] // group, group), dim=-1).reshape(shape)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """Two hidden layers with LayerNorm and Mish (TD-MPC2's block), a linear output."""
    return mlp(n_in, n_out, hidden, n_layers=2, layer_norm=True)


class WindowReplay:
    """Real transitions, sampled as windows of ``horizon`` consecutive steps of one episode.

    ``add`` one transition at a time (``episode`` numbers each episode); ``sample(B)`` returns
    ``obs (B, D)`` (the window's first observation), ``actions (B, H, A)``, ``rewards (B, H)``,
    ``next_obs (B, H, D)``, ``terminated (B, H)`` and ``valid (B, H)``. A window may start at any step; where
    it would run past its episode's end (or past the newest step) ``valid`` is 0 and the step repeats the
    last real one, so the losses can mask it. Every step, the terminal ones too, is seen in every position.
    """

    def __init__(self, obs_dim: int, act_dim: int, horizon: int, capacity: int = 100_000) -> None:
        self.horizon, self.capacity, self.n = check_int("horizon", horizon), check_int("capacity", capacity), 0
        self.obs = np.zeros((capacity, obs_dim), np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), np.float32)
        self.actions = np.zeros((capacity, act_dim), np.float32)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, bool)
        self.episode = np.full(capacity, -1, np.int64)

    def add(
        self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray, terminated: bool, episode: int
    ) -> None:
        if self.n >= self.capacity:
            raise ValueError(f"the replay is full ({self.capacity} transitions); make it with a larger capacity.")
        if np.shape(obs) != self.obs.shape[1:] or np.shape(next_obs) != self.obs.shape[1:]:
            raise ValueError(
                f"observations must be {self.obs.shape[1:]}. Got {np.shape(obs)} and {np.shape(next_obs)}."
            )
        if np.shape(action) != self.actions.shape[1:]:
            raise ValueError(f"actions must be {self.actions.shape[1:]}. Got {np.shape(action)}.")
        i = self.n
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i], self.episode[i] = next_obs, terminated, episode
        self.n += 1

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        if self.n == 0:
            raise ValueError("the replay is empty; add transitions before sampling.")
        start = rng.integers(0, self.n, size=batch_size)  # (B,)
        idx = start[:, None] + np.arange(self.horizon)  # (B, H)
        clipped = np.minimum(idx, self.n - 1)
        valid = (idx < self.n) & (self.episode[clipped] == self.episode[start][:, None])
        valid = np.cumprod(valid, axis=1).astype(bool)  # once a window has left its episode it stays out
        last = np.where(valid, clipped, 0).max(axis=1, keepdims=True)  # (B, 1): the window's last real step
        idx = np.where(valid, clipped, last)
        return {
            "obs": self.obs[start],
            "actions": self.actions[idx],
            "rewards": self.rewards[idx],
            "next_obs": self.next_obs[idx],
            "terminated": self.terminated[idx].astype(np.float32),
            "valid": valid.astype(np.float32),
        }


class TDMPCAgent(nn.Module):
    """The encoder, latent dynamics, reward, termination, twin critics and policy of a TD-MPC-style agent, and its
    planner.

    ``predict(obs)`` follows SB3: ``(B, D)`` or ``(D,)`` observations in, ``(actions, None)`` out, so
    ``labkit.evaluate`` and the rollout views take the agent like any SB3 model.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        config: TDMPCConfig | None = None,
        device: str | None = None,
        action_low: np.ndarray | None = None,
        action_high: np.ndarray | None = None,
    ):
        super().__init__()
        low, high = (-1.0, 1.0) if action_low is None or action_high is None else (action_low, action_high)
        self.action_low = np.broadcast_to(np.asarray(low, np.float32), (act_dim,))  # the env's bounds, for predict
        self.action_high = np.broadcast_to(np.asarray(high, np.float32), (act_dim,))
        self.config = c = config or TDMPCConfig()
        self.obs_dim, self.act_dim = check_int("obs_dim", obs_dim), check_int("act_dim", act_dim)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        L, A, H = c.latent_dim, act_dim, c.hidden
        self.encoder = _mlp(obs_dim, H, L)
        self.dynamics = _mlp(L + A, H, L)
        self.reward = _mlp(L + A, H, 1)
        self.termination = _mlp(L + A, H, 1)  # logit of "this step ends the episode" (goal reached, pole fallen)
        self.critics = nn.ModuleList([_mlp(L + A, H, 1) for _ in range(2)])
        self.policy = _mlp(L, H, A)
        for net in (self.reward, *self.critics):  # start from zero predictions: no made-up returns early on
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        model_params = [
            *self.encoder.parameters(),
            *self.dynamics.parameters(),
            *self.reward.parameters(),
            *self.termination.parameters(),
            *self.critics.parameters(),
        ]
        self.model_optim = torch.optim.Adam(model_params, lr=c.lr)
        self.policy_optim = torch.optim.Adam(self.policy.parameters(), lr=c.lr)
        self.last_plan: torch.Tensor | None = None  # the planner's last refitted mean (B, H, A)
        self.q_scale = 1.0  # running mean |Q|: the policy loss is divided by it, so its step size does not grow
        self.to(self.device)

    # -- the networks, on latents -------------------------------------------------------------------------------
    def encode(self, obs: torch.Tensor, target: bool = False) -> torch.Tensor:
        """``(B, D)`` observations -> ``(B, L)`` latents."""
        return simnorm((self.target_encoder if target else self.encoder)(obs))

    def next_latent(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return simnorm(self.dynamics(torch.cat([z, a], -1)))

    def predicted_reward(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.reward(torch.cat([z, a], -1)).squeeze(-1)

    def termination_logit(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.termination(torch.cat([z, a], -1)).squeeze(-1)

    def q(self, z: torch.Tensor, a: torch.Tensor, target: bool = False) -> torch.Tensor:
        """``min(Q1, Q2)(z, a)``: ``(B, L), (B, A)`` -> ``(B,)``."""
        za = torch.cat([z, a], -1)
        critics = self.target_critics if target else self.critics
        return torch.minimum(critics[0](za), critics[1](za)).squeeze(-1)

    def act(self, z: torch.Tensor) -> torch.Tensor:
        """The policy's action ``(B, A)`` in [-1, 1]."""
        return torch.tanh(self.policy(z))

    # -- learning -----------------------------------------------------------------------------------------------
    def update(self, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """One gradient step on a batch of windows (:meth:`WindowReplay.sample`); returns the losses.

        Each loss is a ``rho**t``-weighted mean over the windows' valid steps (``batch["valid"]``).
        """
        c = self.config
        t = {k: torch.as_tensor(v, device=self.device) for k, v in batch.items()}
        actions, rewards, next_obs, done = t["actions"], t["rewards"], t["next_obs"], t["terminated"]
        B, steps = rewards.shape
        valid = t["valid"] if "valid" in t else torch.ones_like(rewards)  # (B, H)
        with torch.no_grad():
            z_next = self.encode(next_obs.reshape(B * steps, -1), target=True)  # (B * H, L)
            a_next = self.act(z_next)
            a_next = (a_next + c.target_noise * torch.randn_like(a_next)).clamp(-1, 1)
            td = rewards.reshape(-1) + c.gamma * (1 - done.reshape(-1)) * self.q(z_next, a_next, target=True)
            z_next, td = z_next.reshape(B, steps, -1), td.reshape(B, steps)
        weights = valid * c.rho ** torch.arange(steps, device=self.device)  # (B, H)
        norm = weights.sum().clamp(min=1e-6)

        def mean(per_step: list[torch.Tensor]) -> torch.Tensor:  # H tensors (B,) -> the weighted mean
            return (torch.stack(per_step, 1) * weights).sum() / norm

        z = self.encode(t["obs"])
        latents, consistency, reward, value, termination = [], [], [], [], []
        for k in range(steps):
            a = actions[:, k]
            za = torch.cat([z, a], -1)
            value.append(sum((q(za).squeeze(-1) - td[:, k]) ** 2 for q in self.critics))
            reward.append((self.predicted_reward(z, a) - rewards[:, k]) ** 2)
            termination.append(
                F.binary_cross_entropy_with_logits(self.termination_logit(z, a), done[:, k], reduction="none")
            )
            latents.append(z.detach())
            z = self.next_latent(z, a)
            consistency.append(((z - z_next[:, k]) ** 2).mean(-1))
        losses = {
            "consistency": mean(consistency),
            "reward": mean(reward),
            "value": mean(value),
            "termination": mean(termination),
        }
        coefs = (c.consistency_coef, c.reward_coef, c.value_coef, c.termination_coef)
        loss = sum(w * x for w, x in zip(coefs, losses.values()))
        self.model_optim.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[union-attr]
        nn.utils.clip_grad_norm_([p for g in self.model_optim.param_groups for p in g["params"]], c.grad_clip)
        self.model_optim.step()

        zs = torch.stack(latents, 1)  # (B, H, L), detached
        q_pi = self.q(zs.reshape(B * steps, -1), self.act(zs.reshape(B * steps, -1))).reshape(B, steps)
        self.q_scale = 0.99 * self.q_scale + 0.01 * max(float(q_pi.detach().abs().mean()), 1e-3)
        policy_loss = -(q_pi * weights).sum() / norm / self.q_scale
        self.policy_optim.zero_grad(set_to_none=True)
        policy_loss.backward()
        nn.utils.clip_grad_norm_(self.policy.parameters(), c.grad_clip)
        self.policy_optim.step()
        for p in self.critics.parameters():
            p.grad = None  # the policy's backward pass went through the critics; their step is the model's

        polyak_update(self.target_encoder, self.encoder, c.tau)
        polyak_update(self.target_critics, self.critics, c.tau)
        return {**{k: float(v.detach()) for k, v in losses.items()}, "policy": float(policy_loss.detach())}

    # -- acting -------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def imagined_return(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``sum_t gamma^t R(z_t, a_t) + gamma^H Q(z_H, pi(z_H))``: ``z (M, L)``, ``actions (M, H, A)`` -> ``(M,)``."""
        g, discount = torch.zeros(len(z), device=z.device), 1.0
        alive = torch.ones(len(z), device=z.device)  # the predicted chance that the episode is still running
        for k in range(actions.shape[1]):
            g = g + discount * alive * self.predicted_reward(z, actions[:, k])
            alive = alive * (1 - torch.sigmoid(self.termination_logit(z, actions[:, k])))
            z = self.next_latent(z, actions[:, k])
            discount *= self.config.gamma
        return g + discount * alive * self.q(z, self.act(z))

    @torch.no_grad()
    def plan(
        self,
        obs: torch.Tensor,
        explore: bool = False,
        generator: torch.Generator | None = None,
        warm_start: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """MPPI in the latent space: ``obs (B, D)`` -> first actions ``(B, A)``.

        ``explore``: sample the executed action from the refitted Gaussian (training); else its mean.
        ``warm_start``: the previous step's plan ``(B, H, A)``, shifted by one step, as a candidate and first mean
        (else the policy's own sequence is). ``self.last_plan`` keeps this call's refitted mean.
        """
        c, dev = self.config, self.device
        B, H, A = obs.shape[0], c.horizon, self.act_dim
        z = self.encode(obs)  # (B, L)

        def noise(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, device=dev, generator=generator)

        # the policy's own sequences: one clean (the Gaussian's first mean), the rest with exploration noise
        zp = z.repeat_interleave(max(c.policy_samples, 1), 0)  # (B * P, L)
        pi_seq = []
        for _ in range(H):
            a = self.act(zp)
            pi_seq.append(a)
            zp = self.next_latent(zp, a)
        pi_actions = torch.stack(pi_seq, 1).reshape(B, -1, H, A)  # (B, P, H, A)
        mean = pi_actions[:, 0].clone() if warm_start is None else warm_start  # (B, H, A)
        if warm_start is not None:  # the shifted plan competes with the policy's sequence from the start
            pi_actions = torch.cat([warm_start[:, None], pi_actions[:, 1:]], 1)
        if c.policy_samples > 1:
            jitter = c.explore_std * noise(B, c.policy_samples - 1, H, A)
            pi_actions = torch.cat([pi_actions[:, :1], (pi_actions[:, 1:] + jitter).clamp(-1, 1)], 1)
        pi_actions = pi_actions[:, : c.policy_samples]
        std = torch.full((B, H, A), c.max_std, device=dev)
        z_all = z.repeat_interleave(c.samples + c.policy_samples, 0)  # (B * N, L)
        for _ in range(c.iterations):
            gauss = (mean[:, None] + std[:, None] * noise(B, c.samples, H, A)).clamp(-1, 1)  # (B, S, H, A)
            cand = torch.cat([pi_actions, gauss], 1)  # (B, N, H, A)
            value = self.imagined_return(z_all, cand.reshape(-1, H, A)).reshape(B, -1)  # (B, N)
            value = torch.nan_to_num(value, nan=-1e6)
            top, idx = value.topk(c.elites, dim=1)  # (B, E)
            elite = cand.gather(1, idx[:, :, None, None].expand(-1, -1, H, A))  # (B, E, H, A)
            w = torch.softmax(c.temperature * (top - top[:, :1]), dim=1)[:, :, None, None]  # (B, E, 1, 1)
            mean = (w * elite).sum(1)
            std = ((w * (elite - mean[:, None]) ** 2).sum(1)).sqrt().clamp(c.min_std, c.max_std)
        self.last_plan = mean
        if not explore:
            return mean[:, 0]
        pick = torch.multinomial(w[:, :, 0, 0], 1, generator=generator).squeeze(1)  # one elite per row, by weight
        first = elite[torch.arange(B, device=dev), pick, 0]  # (B, A)
        return (first + std[:, 0].clamp(min=c.explore_std) * noise(B, A)).clamp(-1, 1)

    @torch.no_grad()
    def choose(
        self,
        obs: np.ndarray,
        explore: bool,
        generator: torch.Generator | None = None,
        warm_start: torch.Tensor | None = None,
    ) -> np.ndarray:
        """Actions ``(B, A)`` for observations ``(B, D)``: planned (``config.plan``) or the policy's."""
        x = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        if self.config.plan:
            a = self.plan(x, explore=explore, generator=generator, warm_start=warm_start)
        else:
            a = self.act(self.encode(x))
            if explore:
                a = a + self.config.explore_std * torch.randn(a.shape, device=self.device, generator=generator)
                a = a.clamp(-1, 1)
        return a.cpu().numpy()

    def to_env(self, action: np.ndarray) -> np.ndarray:
        """Actions in [-1, 1] ``(..., A)`` -> the env's bounds."""
        return self.action_low + 0.5 * (action + 1.0) * (self.action_high - self.action_low)

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """SB3's ``predict``: ``(D,)`` or ``(B, D)`` -> ``(A,)`` or ``(B, A)`` actions, and no recurrent state."""
        obs = np.asarray(observation, dtype=np.float32)
        if obs.shape[-1:] != (self.obs_dim,) or obs.ndim not in (1, 2):
            raise ValueError(f"observations must be ({self.obs_dim},) or (B, {self.obs_dim}). Got {obs.shape}.")
        if not np.isfinite(obs).all():
            raise ValueError("observations contain NaN or inf; check the env or the wrapper that produced them.")
        actions = self.to_env(self.choose(obs.reshape(-1, self.obs_dim), explore=not deterministic))
        return (actions[0] if obs.ndim == 1 else actions), None


def _box_dims(env: gym.Env) -> tuple[int, int]:
    obs, act = env.observation_space, env.action_space
    if not (isinstance(obs, gym.spaces.Box) and isinstance(act, gym.spaces.Box) and len(obs.shape or ()) == 1):
        raise ValueError(f"TD-MPC here needs flat Box observations and Box actions. Got {obs} and {act}.")
    if not (np.isfinite(act.low).all() and np.isfinite(act.high).all()):
        raise ValueError(f"TD-MPC here needs a bounded action space. Got {act}.")
    return int(obs.shape[0]), int(act.shape[0])


def train_tdmpc(
    env_id: str,
    env_steps: int,
    config: TDMPCConfig | None = None,
    seed: int = 0,
    eval_every: int = 1_000,
    n_eval_episodes: int = 10,
    eval_seed: int = 10_000,
    progress: bool = True,
    agent: TDMPCAgent | None = None,
    success: Callable[[Any], bool] | None = None,
) -> tuple[TDMPCAgent, TrainLog]:
    """Train a TD-MPC-style agent on ``env_id`` for ``env_steps`` env steps, one update per step.

    Every ``eval_every`` steps ``labkit.evaluate`` runs ``n_eval_episodes`` greedy (planned-mean) episodes:
    ``log.history`` rows have ``env_steps``, ``success_rate``, ``mean_return`` and ``seconds``;
    ``log.losses`` has ``consistency``, ``reward``, ``value``, ``termination`` and ``policy`` per update;
    ``log.meta`` the CPU seconds spent updating and acting. Ctrl-C stops training and keeps the agent.
    ``success``: ``Episode -> bool`` for tasks without ``info["is_success"]`` (as in ``labkit.evaluate``).
    The agent plans in [-1, 1] and ``predict`` maps its actions onto the env's own bounds, as SB3 does.
    """
    env_steps, seed = check_int("env_steps", env_steps), check_seed(seed)
    eval_every = check_int("eval_every", eval_every)
    config = config or (agent.config if agent is not None else TDMPCConfig())
    seed_everything(seed)
    env = make(env_id)
    obs_dim, act_dim = _box_dims(env)
    if agent is None:
        box = env.action_space
        assert isinstance(box, gym.spaces.Box)  # checked by _box_dims
        agent = TDMPCAgent(obs_dim, act_dim, config, action_low=box.low, action_high=box.high)
    elif (agent.obs_dim, agent.act_dim) != (obs_dim, act_dim):
        raise ValueError(
            f"the agent was built for ({agent.obs_dim}, {agent.act_dim}) obs/action sizes, "
            f"{env_id} has ({obs_dim}, {act_dim})."
        )
    replay = WindowReplay(obs_dim, act_dim, config.horizon, capacity=env_steps + 1)
    rng = np.random.default_rng(seed)
    gen = torch.Generator(device=agent.device).manual_seed(seed)
    log = TrainLog(meta=dict(method="TD-MPC" if config.plan else "TD-MPC (policy only)", seed=seed, env_id=env_id))
    cpu = {"update": 0.0, "act": 0.0}
    train_seconds = 0.0

    def evaluate_now() -> None:
        res = evaluate(agent, env_id, n_eval_episodes, seed=eval_seed, progress=False, success=success)
        log.record(
            env_steps=log.env_steps,
            success_rate=float(res.success_rate),
            mean_return=float(np.mean(res.returns)),
            seconds=round(train_seconds, 1),
        )

    def learn(n: int) -> None:
        if replay.n == 0:
            return
        t0 = time.process_time()
        for _ in range(n):
            log.add(**agent.update(replay.sample(config.batch_size, rng)))
            log.iterations_done += 1
        cpu["update"] += time.process_time() - t0

    obs, _ = env.reset(seed=seed)
    episode, last = 0, None
    with training(log, total=env_steps, desc=log.meta["method"], progress=progress, unit="step") as bar:
        while log.env_steps < env_steps:
            start = time.perf_counter()
            if log.env_steps < config.seed_steps:
                action = rng.uniform(-1, 1, act_dim).astype(np.float32)
            else:
                t0 = time.process_time()
                warm = None if last is None else torch.cat([last[:, 1:], last[:, -1:]], 1)  # shifted by one step
                action = agent.choose(obs[None], explore=True, generator=gen, warm_start=warm)[0]
                last = agent.last_plan if config.plan else None
                cpu["act"] += time.process_time() - t0
            next_obs, reward, terminated, truncated, _ = env.step(agent.to_env(action))
            replay.add(obs, action, float(reward), next_obs, bool(terminated), episode)
            log.env_steps += 1
            if log.env_steps == config.seed_steps:
                learn(config.seed_steps)  # catch up on the random data (TD-MPC's "seed updates")
            elif log.env_steps > config.seed_steps:
                learn(1)
            obs = next_obs
            if terminated or truncated:
                obs, _ = env.reset()
                episode, last = episode + 1, None
            train_seconds += time.perf_counter() - start
            bar.update(1)
            if log.env_steps % eval_every == 0 or log.env_steps == env_steps:
                evaluate_now()
                if log.history:
                    bar.set_postfix(success=log.history[-1]["success_rate"])
    env.close()
    log.meta.update(
        env_steps=log.env_steps,
        update_cpu_seconds=round(cpu["update"], 1),
        act_cpu_seconds=round(cpu["act"], 1),
    )
    log.extras["replay"] = replay
    return agent, log
