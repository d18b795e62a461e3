"""Diffuser (Janner et al. 2022): a diffusion model over whole trajectories, planning by inpainting.

A plan is one array ``x`` of shape (H, D): H steps of ``[state (S), action (A)]`` (A = 0 for a
states-only model such as Decision Diffuser). Sampling starts from noise and denoises the whole array at
once; *inpainting* overwrites the known entries (the current state at step 0, the goal at step H-1) with
their clean values before every denoising step and at the end, so the rest of the plan is denoised to
agree with them::

    x_K ~ N(0, I)                     K = num_inference_steps
    for t in timesteps (descending):                      (labkit.diffusion.chain.denoise)
        x_t[:, k, :S] <- s_k          for every inpainted step k          (hold the known states)
        x_t <- x_t + scale * var_t * grad_x J(x_t, t)   if a guide is given and t >= t_stopgrad
        x_t[:, k, :S] <- s_k
        x_(t-1) ~ p(x_(t-1) | x_t)    one DDPM step, with classifier-free guidance if conditions are given
    x_0[:, k, :S] <- s_k

Classifier-free guidance over a condition vector ``c`` (B, C), as in Decision Diffuser: the network is
trained with groups of ``c`` zeroed at random ("unknown"), and at sampling the estimate is
``out = out(0) + sum_i w_i (out(c_i) - out(0))``; one term is ordinary CFG, two terms compose two
conditions that were never seen together.

The network is the kit's residual ``MLPDenoiser`` over the flattened (H * D) plan (the kit's 1-D U-Net
trains ~15x slower on one CPU thread at H = 64).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from labkit.diffusion import DDPMScheduler, denoise
from labkit.diffusion.scheduler import PredictionType
from labkit.models import MLPDenoiser, Normalizer

__all__ = ["Diffuser", "DiffuserConfig", "Guide", "Plan"]

#: ``guide(x (B, H, D), t) -> (value (B,), grad (B, H, D))``, e.g. :class:`labkit.planning.guidance.ValueGuide`.
Guide = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class DiffuserConfig:
    """Shape and schedule of a trajectory diffusion model.

    :param horizon: H, steps per plan.
    :param state_dim: S (4 for the point robot: x, y, vx, vy).
    :param action_dim: A (2; 0 for a states-only model).
    :param cond_dim: C, size of the condition vector for classifier-free guidance (0: none).
    :param inpaint_steps: plan steps whose state is given at training and sampling (-1 = last step).
    :param hidden_dim: width of the MLP denoiser.
    :param n_layers: residual blocks of the MLP denoiser.
    :param num_train_timesteps: T (Diffuser's code default is 20).
    :param num_inference_steps: K <= T denoising steps when sampling.
    :param prediction_type: the network predicts ``"sample"`` (the clean plan x_0, Diffuser's locomotion
        default) or ``"epsilon"`` (the noise).
    :param cond_drop: probability of zeroing each condition group during training (CFG).
    :param cond_groups: sizes of the groups of ``cond`` that are dropped independently (sum = C).
    """

    horizon: int = 64
    state_dim: int = 4
    action_dim: int = 2
    cond_dim: int = 0
    inpaint_steps: tuple[int, ...] = (0, -1)
    hidden_dim: int = 256
    n_layers: int = 3
    num_train_timesteps: int = 20
    num_inference_steps: int = 20
    prediction_type: PredictionType = "sample"
    cond_drop: float = 0.25
    cond_groups: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.horizon < 2 or self.state_dim < 1 or self.action_dim < 0 or self.cond_dim < 0 or self.hidden_dim < 1:
            raise ValueError(
                "need horizon >= 2, state_dim >= 1, action_dim >= 0, cond_dim >= 0, hidden_dim >= 1. Got "
                f"{self.horizon}, {self.state_dim}, {self.action_dim}, {self.cond_dim}, {self.hidden_dim}."
            )
        if not 1 <= self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"num_inference_steps must be in [1, num_train_timesteps={self.num_train_timesteps}]. "
                f"Got {self.num_inference_steps}."
            )
        if self.prediction_type not in ("sample", "epsilon"):
            raise ValueError(f"prediction_type must be 'sample' or 'epsilon'. Got {self.prediction_type!r}.")
        if not 0.0 <= self.cond_drop < 1.0:
            raise ValueError(f"cond_drop must be in [0, 1). Got {self.cond_drop}.")
        self.inpaint_steps = tuple(int(k) for k in self.inpaint_steps)
        if any(not -self.horizon <= k < self.horizon for k in self.inpaint_steps):
            raise ValueError(f"inpaint_steps must index a plan of {self.horizon} steps. Got {self.inpaint_steps}.")
        self.cond_groups = tuple(int(g) for g in self.cond_groups) or ((self.cond_dim,) if self.cond_dim else ())
        if sum(self.cond_groups) != self.cond_dim:
            raise ValueError(f"cond_groups must add up to cond_dim={self.cond_dim}. Got {self.cond_groups}.")

    @property
    def transition_dim(self) -> int:
        return self.state_dim + self.action_dim


@dataclass
class Plan:
    """Sampled plans in raw units.

    :param states: (B, H, S).
    :param actions: (B, H, A) (A = 0 for a states-only model; Decision Diffuser: (B, H - 1, A) from its
        inverse dynamics).
    :param chain: (K + 1, B, H, D) normalised iterates x_K ... x_0 if requested, else None.
    :param values: (B,) the guide's value of the final plans (None without a guide).
    """

    states: torch.Tensor
    actions: torch.Tensor
    chain: torch.Tensor | None = None
    values: torch.Tensor | None = None


class _Composed(nn.Module):
    """The denoiser seen by the chain: classifier-free guidance over ``terms`` [(cond (1 or B, C), w)]."""

    def __init__(self, net: nn.Module, cond_dim: int, terms: list[tuple[torch.Tensor, float]]) -> None:
        super().__init__()
        self.net, self.cond_dim, self.terms = net, cond_dim, terms

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        null = torch.zeros(B, self.cond_dim)
        if not self.terms:
            return self.net(x, t, null)
        n = len(self.terms) + 1
        conds = torch.cat([null] + [c.expand(B, -1) for c, _ in self.terms])  # (n B, C)
        out = self.net(x.repeat(n, 1, 1), t.repeat(n), conds).reshape(n, *x.shape)  # (n, B, H, D)
        mix = out[0].clone()
        for i, (_, w) in enumerate(self.terms, start=1):
            mix += w * (out[i] - out[0])
        return mix


class Diffuser(nn.Module):
    """Trajectory diffusion with inpainting, value guidance and classifier-free guidance."""

    def __init__(self, config: DiffuserConfig) -> None:
        super().__init__()
        self.config = c = config
        D = c.transition_dim
        self.net = MLPDenoiser(D, c.horizon, c.cond_dim, hidden_dim=c.hidden_dim, n_layers=c.n_layers)
        self.normalizer = Normalizer(D)
        self.scheduler = DDPMScheduler(c.num_train_timesteps, prediction_type=c.prediction_type, clip_sample=True)

    # --- data ---------------------------------------------------------------------------------------
    def _join(self, states: torch.Tensor, actions: torch.Tensor | None) -> torch.Tensor:
        states = torch.as_tensor(states, dtype=torch.float32)
        if self.config.action_dim == 0:
            return states
        if actions is None:
            raise ValueError(f"this model plans actions too (action_dim={self.config.action_dim}); pass actions.")
        return torch.cat([states, torch.as_tensor(actions, dtype=torch.float32)], dim=-1)  # (B, H, S + A)

    def fit_normalizer(self, states: torch.Tensor, actions: torch.Tensor | None = None) -> None:
        """Min-max statistics from raw windows: states (N, H, S), actions (N, H, A)."""
        self.normalizer.fit(self._join(states, actions))

    def encode(self, states: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Raw states (B, H, S) [+ actions (B, H, A)] -> normalised plan x (B, H, D)."""
        return self.normalizer.normalize(self._join(states, actions))

    def decode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised x (B, H, D) -> raw (states (B, H, S), actions (B, H, A))."""
        raw = self.normalizer.unnormalize(x)
        S = self.config.state_dim
        return raw[..., :S], raw[..., S:]

    def normalize_state(self, state: torch.Tensor) -> torch.Tensor:
        """Raw states (..., S) -> normalised (..., S) (the state part of the normaliser)."""
        S = self.config.state_dim
        center, scale = self.normalizer.center[:S], self.normalizer.scale[:S]
        return (torch.as_tensor(state, dtype=torch.float32) - center) / scale

    def apply_conditioning(self, x: torch.Tensor, known: dict[int, torch.Tensor]) -> torch.Tensor:
        """Overwrite the state part of x (B, H, D) at the given steps with normalised states (B, S)."""
        S = self.config.state_dim
        for k, s in known.items():
            x[:, k, :S] = s
        return x

    # --- training -----------------------------------------------------------------------------------
    def compute_loss(
        self, x0: torch.Tensor, cond: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Denoising loss of normalised plans x0 (B, H, D); the inpainted states are held clean, not scored.

        :param cond: (B, C) condition vectors (each group zeroed with probability ``cond_drop``).
        """
        c = self.config
        B = x0.shape[0]
        t = torch.randint(0, c.num_train_timesteps, (B,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        mask = torch.ones_like(x0)  # 1 where the network is scored
        for k in c.inpaint_steps:
            noise[:, k, : c.state_dim] = 0.0  # the known states are not noised ...
            mask[:, k, : c.state_dim] = 0.0  # ... and not scored
        x_t = self.scheduler.add_noise(x0, noise, t)  # (B, H, D)
        pred = self.net(x_t, t, self._drop(cond, B, generator))
        target = x0 if c.prediction_type == "sample" else noise
        return ((pred - target) ** 2 * mask).sum() / mask.sum()

    def _drop(self, cond: torch.Tensor | None, B: int, generator: torch.Generator | None) -> torch.Tensor:
        c = self.config
        if c.cond_dim == 0:
            return torch.zeros(B, 0)
        if cond is None:
            raise ValueError(
                f"this model is conditioned (cond_dim={c.cond_dim}); pass cond of shape (B, {c.cond_dim})."
            )
        cond = cond.clone()
        start = 0
        for g in c.cond_groups:
            drop = torch.rand(B, generator=generator) < c.cond_drop  # (B,)
            cond[drop, start : start + g] = 0.0
            start += g
        return cond

    # --- sampling -----------------------------------------------------------------------------------
    def step_variance(self, t: int) -> float:
        """Variance of the DDPM step leaving timestep t (0 at the last step); ``set_timesteps`` first."""
        s = self.scheduler.previous_timestep(t)
        a_t, a_s = self.scheduler.alpha_bar(t), self.scheduler.alpha_bar(s)
        return (1.0 - a_s) / (1.0 - a_t) * (1.0 - a_t / a_s)

    @torch.no_grad()
    def sample(
        self,
        batch_size: int,
        known: dict[int, torch.Tensor] | None = None,
        *,
        cond_terms: list[tuple[torch.Tensor, float]] | None = None,
        guide: Guide | None = None,
        scale: float = 0.0,
        t_stopgrad: int = 0,
        n_guide_steps: int = 1,
        scale_grad_by_std: bool = True,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        return_chain: bool = False,
    ) -> Plan:
        """Sample ``batch_size`` plans.

        :param known: {step: raw state (S,) or (B, S)} to inpaint, e.g. ``{0: s0, -1: goal}``.
        :param cond_terms: [(condition (1 or B, C), weight w)] for classifier-free guidance / composition.
        :param guide: ``guide(x (B, H, D), t) -> (value (B,), grad (B, H, D))``; ``scale`` is the step size.
        :param t_stopgrad: no guidance at timesteps t < t_stopgrad (Diffuser's name).
        :param n_guide_steps: gradient steps per denoising step.
        :param scale_grad_by_std: multiply the gradient by the step's variance (Diffuser's default).
        :param temperature: scales every step's noise (Decision Diffuser samples at 0.5).
        :param generator: seeds the initial noise and every step's noise.
        :param return_chain: keep every iterate (for the denoising figure).
        """
        if batch_size < 1 or scale < 0 or n_guide_steps < 1 or temperature < 0:
            raise ValueError(
                "need batch_size >= 1, scale >= 0, n_guide_steps >= 1, temperature >= 0. "
                f"Got {batch_size}, {scale}, {n_guide_steps}, {temperature}."
            )
        c = self.config
        H, D = c.horizon, c.transition_dim
        known_n = {k % H: self.normalize_state(v).expand(batch_size, -1) for k, v in (known or {}).items()}
        self.scheduler.set_timesteps(c.num_inference_steps)
        guided = guide is not None and scale > 0

        def before_step(x: torch.Tensor, t: int) -> torch.Tensor:
            x = self.apply_conditioning(x.clone(), known_n)
            if guided and t >= t_stopgrad:
                var = self.step_variance(t) if scale_grad_by_std else 1.0
                for _ in range(n_guide_steps):
                    with torch.enable_grad():
                        _, grad = guide(x, t)  # type: ignore[misc]
                    x = self.apply_conditioning(x + scale * var * grad, known_n)
            return x

        net = _Composed(self.net, c.cond_dim, list(cond_terms or []))
        K = c.num_inference_steps
        x, chain, _ = denoise(
            net,
            torch.zeros(batch_size, 0),
            self.scheduler,
            (batch_size, H, D),
            record_last=K if return_chain else 0,
            generator=generator,
            before_step=before_step,
            noise_scale=temperature,
        )
        x = self.apply_conditioning(x, known_n)
        if chain is not None:  # (B, K + 1, H, D): the known states hold at every iterate
            chain = torch.stack([self.apply_conditioning(chain[:, i], known_n) for i in range(K + 1)])  # (K+1, B, H, D)
        values = None
        if guide is not None:
            with torch.enable_grad():
                values = guide(x, 0)[0].detach()
        states, actions = self.decode(x)
        return Plan(states, actions, chain, values)

    # --- checkpoints --------------------------------------------------------------------------------
    def state(self) -> dict:
        """A plain dict (config + weights) for ``torch.save``; rebuild with :meth:`from_state`."""
        return {"kind": "diffuser", "config": asdict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_state(cls, state: dict) -> Diffuser:
        cfg = dict(state["config"])
        cfg["inpaint_steps"], cfg["cond_groups"] = tuple(cfg["inpaint_steps"]), tuple(cfg["cond_groups"])
        model = cls(DiffuserConfig(**cfg))
        model.load_state_dict(state["state_dict"])
        return model.eval()
