"""Diffusion Reward (Huang et al. 2023), state-based: a conditional diffusion model of what comes next.

A DDPM learns ``p(s_{t+1} | s_{t-k+1..t})`` from expert transitions (it diffuses the normalised change
``d = s_{t+1} - s_t``; the entropy and likelihood of ``d`` and of ``s_{t+1}`` differ by a constant).
Expert-like histories are ones the model can predict confidently, so low conditional entropy
means "this looks like the demonstrations". The paper's reward (code: ``reward_type='entropy'``)::

    r_t = (1 - expl_scale) * symlog( standardise( -H_hat[ p(. | history ending at s_{t+1}) ] ) )
          + expl_scale * rnd(s_{t+1})            (+ the sparse task reward, added by the wrapper)

``-H_hat`` is the variational bound (VLB) of the model's OWN samples: run the DDPM chain
``x_T -> ... -> x_0`` with the history as condition, then score the final sample ``x_0`` against every
step of the chain that produced it. Each stochastic step ``t -> s`` contributes the KL between the
true posterior given ``x_0`` and the model's step; both are Gaussians with the step's variance
``sigma^2`` whose means differ by ``c_0 (x_0 - x0_hat_t)``::

    VLB(x_0) = sum_t  c_0(t, s)^2 * || x_0 - x0_hat_t ||^2 / (2 sigma_ts^2)      (+ constants)
    H_hat    = mean over n_samples chains of VLB(x_0)

Confident model: its early guesses ``x0_hat_t`` already equal the final sample, VLB ~ 0. Unsure model:
the sample lands far from the early guesses, large VLB. The ``"likelihood"`` variant scores the
OBSERVED next state instead: the textbook ELBO, ``x_t`` from the forward process of the observed
``x_0`` at every step ``t -> t-1`` (the paper's code runs the model's own chain there too; with a
continuous, bimodal target a model chain commits to one mode and penalises the other, so we use the
forward process). ``standardise`` uses the mean and std of the raw reward on held-out expert windows;
``symlog(z) = sign(z) log(1 + |z|)`` keeps the order of far-off states but bounds their penalty.

The states the model sees are every ``stride``-th one (a video model's frame skip): over one control
step the change of position is mostly the agent's exploration noise; over several, the direction of
travel. With ``stride = 5`` and positions only, the entropy reward ranks a noisy drive along the
demonstrated routes above a quiet drive into the cup (``benchmarks/results/search/README.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from labkit.diffusion import DDPMScheduler
from labkit.models import MLPDenoiser, Normalizer
from labkit.train import TrainLog

from .base import LearnedReward, fit, symlog
from .exploration import BonusConfig, RNDBonus
from .windows import episode_states, split_episodes, transition_windows

__all__ = ["DiffusionRewardConfig", "DiffusionReward", "train_diffusion_reward"]


@dataclass
class DiffusionRewardConfig:
    """Settings of the diffusion reward (model, reward, training).

    :param stride: ``m``, control steps between the states the model sees (a video model's frame skip).
    :param context: ``k``, past states the model conditions on.
    :param state_dims: which observation entries form the state (TwoRoutes: x, y, vx, vy; the goal
        and cup are fixed, so the relative coordinates would add nothing).
    :param reward_type: ``"entropy"`` (paper default) or ``"likelihood"`` (scores the observed state).
    :param hidden_dim, n_layers: the MLP denoiser.
    :param num_train_timesteps: ``T`` of the DDPM.
    :param num_inference_steps: steps of the sampling chain used by the entropy estimate.
    :param n_samples: chains per history for the entropy estimate (paper: 1).
    :param expl_scale: weight of RND; the model term gets ``1 - expl_scale`` (paper: 0.95).
    The standardised model reward ``z`` is squashed with ``symlog(z) = sign(z) log(1 + |z|)``: far-off
    states get a large but bounded penalty whose ordering is kept (a hard clip would flatten it).
    :param iterations, batch_size, lr: training.
    :param holdout: fraction of episodes kept out of training for the standardisation statistics.
    :param seed: seeds initialisation, minibatches and the reward's sampling noise.
    """

    context: int = 2
    stride: int = 1
    state_dims: tuple[int, ...] = (0, 1, 2, 3)
    reward_type: Literal["entropy", "likelihood"] = "entropy"
    hidden_dim: int = 128
    n_layers: int = 2
    num_train_timesteps: int = 100
    num_inference_steps: int = 10
    n_samples: int = 4
    expl_scale: float = 0.5
    iterations: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    holdout: float = 0.1
    seed: int = 0
    rnd: BonusConfig = field(default_factory=BonusConfig)

    def __post_init__(self) -> None:
        if self.reward_type not in ("entropy", "likelihood"):
            raise ValueError(f"reward_type must be 'entropy' or 'likelihood'. Got {self.reward_type!r}.")
        if self.stride < 1:
            raise ValueError(f"stride must be >= 1. Got {self.stride}.")
        if self.context < 1:
            raise ValueError(f"context must be >= 1. Got {self.context}.")
        if not 0.0 <= self.expl_scale <= 1.0:
            raise ValueError(f"expl_scale must be in [0, 1]. Got {self.expl_scale}.")
        if not 1 <= self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"num_inference_steps must be in [1, num_train_timesteps]. Got {self.num_inference_steps}."
            )
        for name in ("n_samples", "iterations", "batch_size", "hidden_dim", "n_layers"):
            if getattr(self, name) < (0 if name == "iterations" else 1):
                raise ValueError(f"DiffusionRewardConfig.{name} must be positive. Got {getattr(self, name)}.")
        if len(self.state_dims) < 1:
            raise ValueError(f"state_dims must name at least one observation entry. Got {self.state_dims}.")
        self.state_dims = tuple(int(d) for d in self.state_dims)


class DiffusionReward(LearnedReward):
    """The trained model plus its reward; build it with :func:`train_diffusion_reward`."""

    name = "diffusion"
    stat_mean: torch.Tensor
    stat_std: torch.Tensor

    def __init__(self, config: DiffusionRewardConfig, env_id: str, obs_dim: int) -> None:
        super().__init__(env_id, obs_dim)
        if max(config.state_dims) >= obs_dim:
            raise ValueError(f"state_dims {config.state_dims} do not fit observations of size {obs_dim}.")
        self.config, self.context, self.stride = config, config.context, config.stride
        D = len(config.state_dims)
        self.state_norm = Normalizer(D, mode="gaussian")  # the history the model conditions on
        self.delta_norm = Normalizer(D, mode="gaussian")  # the change it diffuses
        self.denoiser = MLPDenoiser(
            action_dim=D, horizon=1, cond_dim=config.context * D, hidden_dim=config.hidden_dim, n_layers=config.n_layers
        )
        self.scheduler = DDPMScheduler(
            num_train_timesteps=config.num_train_timesteps, clip_sample=True, clip_sample_range=5.0
        )
        self.register_buffer("stat_mean", torch.tensor(0.0))  # raw reward statistics on held-out demos
        self.register_buffer("stat_std", torch.tensor(1.0))
        self.rnd = RNDBonus(D, 1, config.rnd)
        self._sampling: tuple[DDPMScheduler, list[tuple[int, float, torch.Tensor]]] | None = None
        self.gen = torch.Generator().manual_seed(config.seed + 1)

    # --- data -------------------------------------------------------------------------------
    def _split(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, k+1, obs_dim) -> normalised history (B, k*D) and normalised change (B, 1, D)."""
        s = window[..., list(self.config.state_dims)]  # (B, k+1, D)
        cond = self.state_norm(s[:, :-1]).flatten(1)  # (B, k, D) -> (B, k*D)
        delta = self.delta_norm(s[:, -1] - s[:, -2])[:, None, :]  # (B, 1, D)
        return cond, delta

    def loss(self, window: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Denoising loss (epsilon prediction) on a batch of windows (B, k+1, obs_dim)."""
        cond, x0 = self._split(window)
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.randint(0, self.scheduler.num_train_timesteps, (len(x0),), generator=gen)
        return F.mse_loss(self.denoiser(self.scheduler.add_noise(x0, noise, t), t, cond), noise)

    # --- the two estimates --------------------------------------------------------------------
    def _kl_weight(self, t: int, s: int) -> tuple[float, float]:
        """``(c_0(t, s)^2 / (2 sigma_ts^2), sigma_ts^2)`` of the DDPM step t -> s."""
        a_t, a_s = self.scheduler.alpha_bar(t), self.scheduler.alpha_bar(s)
        beta_ts = 1.0 - a_t / a_s
        var = (1.0 - a_s) / (1.0 - a_t) * beta_ts
        c0 = math.sqrt(a_s) * beta_ts / (1.0 - a_t)
        return (c0**2 / (2.0 * var) if var > 0 else 0.0), var

    def _sampler(self) -> tuple[DDPMScheduler, list[tuple[int, float, torch.Tensor]]]:
        """The sampling scheduler and, per step, ``(t, KL weight, time embedding (1, E))``: built once."""
        cached = getattr(self, "_sampling", None)
        if cached is None:
            sched = DDPMScheduler(
                num_train_timesteps=self.scheduler.num_train_timesteps, clip_sample=True, clip_sample_range=5.0
            )
            sched.set_timesteps(self.config.num_inference_steps)
            with torch.no_grad():
                steps = [
                    (t, self._kl_weight(t, sched.previous_timestep(t))[0], self.denoiser.time_mlp(torch.tensor([t])))
                    for t in sched.timesteps.tolist()
                ]
            cached = self._sampling = (sched, steps)
        return cached

    def train(self, mode: bool = True):  # weights may change: rebuild the cached time embeddings
        self._sampling = None
        return super().train(mode)

    @torch.no_grad()
    def vlb_of_samples(self, cond: torch.Tensor, n_samples: int | None = None) -> torch.Tensor:
        """Entropy estimate ``H_hat`` (B,) from ``n_samples`` DDPM chains per condition (B, k*D)."""
        n = n_samples or self.config.n_samples
        B, D = len(cond), len(self.config.state_dims)
        sched, steps = self._sampler()
        c = cond.repeat_interleave(n, dim=0)  # (B*n, k*D)
        x = torch.randn((B * n, 1, D), generator=self.gen)  # x_T
        ts = torch.zeros(B * n, dtype=torch.long)  # unused by the denoiser when time_emb is given
        guesses, weights = [], []
        for t, w, emb in steps:
            eps = self.denoiser(x, ts, c, time_emb=emb.expand(B * n, -1))
            out = sched.step(eps, t, x, generator=self.gen)
            if w > 0:
                guesses.append(out.pred_original_sample)
                weights.append(w)
            x = out.prev_sample
        x0 = x  # the final sample, (B*n, 1, D)
        vlb = torch.zeros(B * n)
        for w, g in zip(weights, guesses):
            vlb = vlb + w * (x0 - g).pow(2).sum((-1, -2))  # (B*n,)
        return vlb.reshape(B, n).mean(1)  # (B, n) -> (B,)

    @torch.no_grad()
    def elbo_of_observed(self, cond: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood bound (B,) of the observed change ``x0`` (B, 1, D) given ``cond``."""
        T = self.scheduler.num_train_timesteps
        B = len(x0)
        ts = torch.arange(1, T)  # steps t -> t-1, t = 1 .. T-1 (t = 0 ends the chain with no noise)
        xb = x0.repeat_interleave(len(ts), dim=0)  # (B*(T-1), 1, D)
        tb = ts.repeat(B)  # (B*(T-1),)
        noise = torch.randn(xb.shape, generator=self.gen)
        xt = self.scheduler.add_noise(xb, noise, tb)
        eps = self.denoiser(xt, tb, cond.repeat_interleave(len(ts), dim=0))
        a = self.scheduler.alphas_cumprod[tb].float().reshape(-1, 1, 1)  # (B*(T-1), 1, 1)
        x0_hat = ((xt - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-5.0, 5.0)
        w = torch.tensor([self._kl_weight(t, t - 1)[0] for t in ts.tolist()]).repeat(B)  # (B*(T-1),)
        kl = w * (xb - x0_hat).pow(2).sum((-1, -2))  # (B*(T-1),)
        return kl.reshape(B, len(ts)).sum(1)  # (B, T-1) -> (B,)

    @torch.no_grad()
    def raw_reward(self, window: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Unstandardised model reward (B,): ``-H_hat`` (entropy) or ``-NLL bound`` (likelihood)."""
        w = torch.as_tensor(np.asarray(window, dtype=np.float32))
        if self.config.reward_type == "entropy":
            s = w[..., list(self.config.state_dims)][:, 1:]  # the newest k states: (B, k, D)
            return -self.vlb_of_samples(self.state_norm(s).flatten(1))
        cond, x0 = self._split(w)
        return -self.elbo_of_observed(cond, x0)

    def _rnd_input(self, window: np.ndarray) -> torch.Tensor:
        s = torch.as_tensor(window[:, -1, list(self.config.state_dims)])  # (B, D) newest state
        return self.state_norm(s)

    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        window = self._check_window(window)
        z = symlog((self.raw_reward(window) - self.stat_mean) / self.stat_std)
        model = (1.0 - self.config.expl_scale) * z.numpy().astype(np.float64)
        explore = np.zeros(len(window))
        if self.config.expl_scale > 0:
            explore = self.config.expl_scale * self.rnd.bonus(self._rnd_input(window))
        return {"total": model + explore, "model": model, "explore": explore}

    def observe(self, window: np.ndarray, actions: np.ndarray | None = None) -> None:
        window = self._check_window(window)
        if self.config.expl_scale > 0:
            self.rnd.observe(self._rnd_input(np.asarray(window, dtype=np.float32)))

    def reset_online(self) -> None:
        self.rnd.reset()
        self.gen = torch.Generator().manual_seed(self.config.seed + 1)


def train_diffusion_reward(
    demos, config: DiffusionRewardConfig | None = None, progress: bool = True
) -> tuple[DiffusionReward, TrainLog]:
    """Train the diffusion model on ``demos`` (an ``EpisodeDataset``) and fit the reward statistics.

    :return: the reward model and the training log (losses, CPU and wall seconds).
    """
    config = config or DiffusionRewardConfig()
    env_id, obs_dim = demos.metadata["env_id"], int(demos.obs_dim)
    torch.manual_seed(config.seed)
    model = DiffusionReward(config, env_id=env_id, obs_dim=obs_dim)
    states = episode_states(demos)
    train_idx, hold_idx = split_episodes(len(states), config.holdout, config.seed)
    train = torch.as_tensor(
        transition_windows([states[i] for i in train_idx], config.context, config.stride)[:, :: config.stride]
    )  # (N, k+1, obs)
    s = train[..., list(config.state_dims)]  # (N, k+1, D)
    model.state_norm.fit(s.reshape(-1, s.shape[-1]))  # (N*(k+1), D)
    model.delta_norm.fit(s[:, -1] - s[:, -2])
    opt = torch.optim.AdamW(model.denoiser.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, config.iterations))
    gen = torch.Generator().manual_seed(config.seed)

    def step(i: int) -> float:
        batch = train[torch.randint(0, len(train), (config.batch_size,), generator=gen)]
        loss = model.loss(batch, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return loss.item()

    log = fit(step, config.iterations, f"diffusion reward ({config.reward_type})", progress)
    model.eval()
    hold = [states[i] for i in hold_idx] or states
    ref = transition_windows(hold, config.context, config.stride)[:2000, :: config.stride]
    raw = model.raw_reward(ref)
    model.stat_mean.fill_(raw.mean())
    model.stat_std.fill_(raw.std().clamp_min(1e-6))
    model.reset_online()
    return model, log
