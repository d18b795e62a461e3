"""A consistency policy: a diffusion policy's many denoising steps replaced by one (or a few) jumps.

A diffusion policy turns noise ``x_T`` into an action chunk ``x_0`` by integrating an ODE in K small
steps (DDIM). A *consistency function* ``f(x_t, t, cond)`` jumps from any point of that ODE's path
straight to its end, so one network call replaces K (Song et al. 2023; Consistency Policy, Prasad et
al. 2024). It is learned from a teacher by making ``f`` agree with itself one teacher step later::

    n ~ U{0 .. N-1},  t = t_n,  s = t_{n+1}            (grid t_0 = T-1 > t_1 > ... > t_{N-1} > t_N = -1)
    x_t     = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps                      (a demonstration, noised)
    x_s     = DDIM_teacher(x_t, t -> s)                                    (one ODE step, no gradient)
    target  = x_s                  if s = -1 (the end of the path: f(x, -1) = x)
            = f_target(x_s, s)     otherwise (stop-gradient copy of the student, or its EMA)
    loss    = || f(x_t, t) - target ||^2  +  dsm_weight * || f(x_t, t) - x_0 ||^2

The second term is Consistency Policy's denoising loss; it pulls ``f`` towards the *average* clean
chunk, which blurs the two routes of TwoRoutes at high noise, so it is off by default.

Sampling with K steps chains the jumps: ``x_0 = f(x_T, T-1)``, then for each later chain time
``t_k``: re-noise ``x_0`` to ``t_k`` and jump again. ``labkit.distill.distill_consistency(teacher,
demos)`` attaches a teacher and trains the policy with the kit's loop; the teacher is never saved.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from labkit.diffusion.scheduler import DDIMScheduler
from labkit.models.denoisers import MLPDenoiser
from labkit.policies.base import BaseChunkPolicy, ChunkConfig, check_choice, register_policy
from labkit.policies.diffusion import DiffusionPolicy

__all__ = ["ConsistencyPolicy", "ConsistencyPolicyConfig", "consistency_target"]


def consistency_target(
    x_s: torch.Tensor, s: torch.Tensor, f_target: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """The regression target of consistency distillation: ``x_s`` where ``s == -1`` (the end of the ODE
    path, ``f(x, -1) = x``), else ``f_target(x_s, s)``.

    :param x_s: the teacher's one-step result (B, H, A); ``s``: its timesteps (B,), -1 at the end.
    :param f_target: ``(x (B, H, A), t (B,)) -> (B, H, A)``, called with ``s`` clamped to >= 0.
    """
    at_end = (s < 0).view(-1, 1, 1)  # (B, 1, 1)
    return torch.where(at_end, x_s, f_target(x_s, s.clamp(min=0)))


@dataclass
class ConsistencyPolicyConfig(ChunkConfig):
    """Configuration of ``ConsistencyPolicy``; validated on construction."""

    num_train_timesteps: int = 100
    """T of the teacher's noise schedule."""
    beta_schedule: str = "squaredcos_cap_v2"
    """The teacher's noise schedule."""
    n_grid: int = 10
    """N: the teacher's ODE is cut at its DDIM-N timesteps; consistency is enforced between neighbours."""
    num_inference_steps: int = 1
    """Default K at sampling time (1 = one network call per chunk; <= n_grid)."""
    dsm_weight: float = 0.0
    """Weight of the denoising term ||f(x_t, t) - x_0||^2 (Consistency Policy's alpha)."""
    target_ema: float = 0.0
    """Decay of the target network (0 = the student itself, without gradient)."""
    time_embed_dim: int = 64
    """Size of the timestep embedding (even)."""
    mlp_hidden_dim: int = 256
    """Width of the MLP network."""
    mlp_n_layers: int = 3
    """Residual blocks of the MLP network."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("beta_schedule", self.beta_schedule, ("squaredcos_cap_v2", "linear"))
        if not 1 <= self.n_grid <= self.num_train_timesteps:
            raise ValueError(
                f"n_grid must be in [1, num_train_timesteps={self.num_train_timesteps}]. Got {self.n_grid}."
            )
        if not 1 <= self.num_inference_steps <= self.n_grid:
            raise ValueError(
                f"num_inference_steps must be in [1, n_grid={self.n_grid}]. Got {self.num_inference_steps}."
            )
        if self.dsm_weight < 0:
            raise ValueError(f"dsm_weight must be >= 0. Got {self.dsm_weight}.")
        if not 0.0 <= self.target_ema < 1.0:
            raise ValueError(f"target_ema must be in [0, 1). Got {self.target_ema}.")
        if self.time_embed_dim < 2 or self.time_embed_dim % 2:
            raise ValueError(f"time_embed_dim must be even and >= 2. Got {self.time_embed_dim}.")


@register_policy
class ConsistencyPolicy(BaseChunkPolicy):
    """A chunk policy that maps noise to an action chunk in 1 (or a few) network calls.

    The network ``f(x_t, t, cond)`` predicts the clean, normalised chunk ``x_0`` (B, H, A) from a
    noisy one at a grid timestep ``t``. Same observation encoding and horizons as its teacher (see
    ``DiffusionPolicy``'s timeline), so the two are interchangeable in ``labkit.evaluate``.

    :param config: a ``ConsistencyPolicyConfig``.
    """

    kind: ClassVar[str] = "consistency"
    config_class: ClassVar[type[ChunkConfig]] = ConsistencyPolicyConfig
    config: ConsistencyPolicyConfig
    grid: torch.Tensor
    abar: torch.Tensor

    def __init__(self, config: ConsistencyPolicyConfig) -> None:
        super().__init__(config)
        cond_dim = config.n_obs_steps * config.obs_dim
        self.network = MLPDenoiser(
            config.action_dim,
            config.horizon,
            cond_dim,
            config.mlp_hidden_dim,
            config.mlp_n_layers,
            config.time_embed_dim,
        )
        sched = DDIMScheduler(config.num_train_timesteps, config.beta_schedule, "epsilon", True)  # type: ignore[arg-type]
        sched.set_timesteps(config.n_grid)
        self.register_buffer("grid", torch.cat([sched.timesteps, torch.tensor([-1])]), persistent=False)  # (N + 1,)
        abar = torch.cat([sched.alphas_cumprod.float(), torch.ones(1)])  # (T + 1,); index -1 -> abar = 1
        self.register_buffer("abar", abar, persistent=False)
        self._teacher: DiffusionPolicy | None = None
        self._target: MLPDenoiser | None = None
        self._emb_cache: dict[int, torch.Tensor] = {}

    def consistency_fn(
        self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, network: MLPDenoiser | None = None
    ) -> torch.Tensor:
        """f(x_t, t, cond): noisy normalised chunk (B, H, A), timesteps (B,), condition (B, C) -> x_0 (B, H, A)."""
        return (network or self.network)(x_t, t, cond)

    def chain_times(self, num_inference_steps: int) -> torch.Tensor:
        """The K grid timesteps a K-step sample jumps from: (K,), starting at T - 1, evenly spread."""
        N, K = self.config.n_grid, num_inference_steps
        if not 1 <= K <= N:
            raise ValueError(f"num_inference_steps must be in [1, n_grid={N}]. Got {K}.")
        return self.grid[[round(k * N / K) for k in range(K)]]  # (K,)

    def train(self, mode: bool = True) -> ConsistencyPolicy:
        self._emb_cache.clear()  # embeddings are cached for sampling only; the weights may change now
        return super().train(mode)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        self._emb_cache.clear()
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @torch.no_grad()
    def sample_actions(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = None,
        num_inference_steps: int | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sample action chunks in raw units: obs (B, To, obs_dim) -> (B, H, A).

        :param generator: torch.Generator for x_T and the re-noising between jumps.
        :param num_inference_steps: K network calls (default: the config's).
        :param noise: a fixed x_T of shape (B, H, A) instead of a random draw.
        """
        cfg = self.config
        K = num_inference_steps or cfg.num_inference_steps
        times = self.chain_times(K)  # (K,)
        emb = self._emb_cache.get(K)
        if emb is None:
            emb = self.network.time_mlp(times)  # (K, E), computed once per K while the weights are fixed
            if not self.training:
                self._emb_cache[K] = emb
        cond = self.encode_obs(obs)  # (B, To*obs_dim)
        B = cond.shape[0]
        shape = (B, cfg.horizon, cfg.action_dim)
        if noise is not None and tuple(noise.shape) != shape:
            raise ValueError(f"noise must be x_T of shape (B, H, A) = {shape}. Got {tuple(noise.shape)}.")
        x = torch.randn(shape, generator=generator, device=self.device) if noise is None else noise.to(self.device)
        for k in range(K):
            if k > 0:  # re-noise the current guess to the next chain time, then jump again
                z = torch.randn(shape, generator=generator, device=self.device)
                a = self.abar[times[k]]
                x = a.sqrt() * x + (1 - a).sqrt() * z  # (B, H, A)
            x = self.network(x, times[k].expand(B), cond, time_emb=emb[k].expand(B, -1)).clamp_(-1.0, 1.0)
        return self.normalizer_act.unnormalize(x)  # (B, H, A)

    # --- distillation ---------------------------------------------------------------------------
    def attach_teacher(self, teacher: DiffusionPolicy | None) -> None:
        """Set (or, with None, drop) the teacher whose ODE ``compute_loss`` distils; it is not saved."""
        object.__setattr__(self, "_teacher", teacher)  # a plain reference: not a submodule, not in state_dict
        target = None
        if teacher is not None and self.config.target_ema > 0:
            target = copy.deepcopy(self.network).requires_grad_(False)
        object.__setattr__(self, "_target", target)

    @torch.no_grad()
    def teacher_step(self, x_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """One deterministic DDIM step of the teacher, per sample: x_t (B, H, A) at t (B,) -> x_s at s (B,)."""
        teacher = self._teacher
        if teacher is None:
            raise RuntimeError("No teacher attached: train with labkit.distill.distill_consistency(teacher, demos).")
        out = teacher.denoiser(x_t, t, cond)  # (B, H, A)
        a_t, a_s = self.abar[t].view(-1, 1, 1), self.abar[s].view(-1, 1, 1)  # (B, 1, 1)
        x0 = (x_t - (1 - a_t).sqrt() * out) / a_t.sqrt() if teacher.config.prediction_type == "epsilon" else out
        x0 = x0.clamp(-1.0, 1.0)  # as the teacher's own sampler does (clip_sample)
        eps = (x_t - a_t.sqrt() * x0) / (1 - a_t).sqrt()  # the noise consistent with the clipped x0
        return a_s.sqrt() * x0 + (1 - a_s).sqrt() * eps  # (B, H, A); = x0 when s = -1

    def compute_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Consistency distillation loss on {"obs": (B, To, obs_dim), "actions": (B, H, A)} (raw units)."""
        if self._teacher is None:
            raise RuntimeError("No teacher attached: train with labkit.distill.distill_consistency(teacher, demos).")
        cond = self.encode_obs(batch["obs"])  # (B, To*obs_dim)
        x0 = self.normalize_actions(batch["actions"])  # (B, H, A) in [-1, 1]
        B, N = x0.shape[0], self.config.n_grid
        n = torch.randint(0, N, (B,), generator=generator, device=x0.device)  # (B,) grid index
        t, s = self.grid[n], self.grid[n + 1]  # (B,), (B,): s = -1 at the end of the path
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)  # (B, H, A)
        a_t = self.abar[t].view(-1, 1, 1)  # (B, 1, 1)
        x_t = a_t.sqrt() * x0 + (1 - a_t).sqrt() * noise  # (B, H, A)
        x_s = self.teacher_step(x_t, t, s, cond)  # (B, H, A)
        with torch.no_grad():
            target_net = self._target if self._target is not None else self.network
            target = consistency_target(x_s, s, lambda x, t: self.consistency_fn(x, t, cond, network=target_net))
        pred = self.consistency_fn(x_t, t, cond)  # (B, H, A)
        loss = F.mse_loss(pred, target)
        if self.config.dsm_weight > 0:
            loss = loss + self.config.dsm_weight * F.mse_loss(pred, x0)
        if self._target is not None and self.training:  # move the EMA target after this step's targets
            with torch.no_grad():
                for p_t, p in zip(self._target.parameters(), self.network.parameters()):
                    p_t.lerp_(p.detach(), 1.0 - self.config.target_ema)
        return loss
