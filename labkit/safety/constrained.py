"""Constraint-aware sampling from a frozen diffusion policy: four ways to keep a chunk out of a hazard.

The policy's reverse diffusion walks ``x_T -> ... -> x_0`` in normalised action units; at every step
the denoiser also gives ``x0_hat``, its guess of the clean chunk. A constraint on actions is a
constraint on the path they drive (``paths.py``). The four methods differ in *where* it acts::

    "none"             x_T -> step -> ... -> step -> x_0                      (the prior as trained)
    "project_final"    x_T -> step -> ... -> step -> x_0 -> Proj(x_0)         (DiRecT: only the end)
    "project_every"    x_T -> Proj -> step -> Proj -> ... -> step -> Proj     (projected diffusion)
    "guidance"         at every step x0_hat <- x0_hat - scale * grad P(x0_hat)  (gradient of a penalty)

with ``P`` = ``Hazards.penetration`` (squared depth of every waypoint inside a grown disk). Projecting
the *noisy* iterates ``x_t`` moves samples the denoiser then has to explain: it over-constrains
(SafeDiffuser, Constrained Diffusers and DiRecT discuss this). Guidance only nudges the clean guess,
so the denoiser keeps the chunk on the data, but nothing guarantees feasibility. Projection is
exact by construction, wherever it is applied last.

Only the chunk's future (index ``To - 1``, "now", onwards) is constrained; the earlier entries
describe actions already executed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from labkit.safety.hazards import Hazards
from labkit.safety.paths import STEP_LENGTH, paths_from_actions, project_actions

__all__ = ["METHODS", "ConstraintConfig", "sample_constrained", "ConstrainedPolicy"]

METHODS = ("none", "project_every", "guidance", "project_final")


@dataclass
class ConstraintConfig:
    """How to keep sampled chunks out of the hazards."""

    method: str = "project_final"
    """One of ``METHODS``."""
    margin: float = 0.03
    """Clearance (m) the commanded path keeps from every disk (the real robot lags its commands)."""
    guidance_scale: float = 30.0
    """Step size of the penalty gradient, in normalised action units per unit of ``P`` gradient."""
    guidance_margin: float = 0.05
    """Clearance (m) the guidance penalty aims for (a little more than ``margin``: guidance is soft)."""
    step_length: float = STEP_LENGTH
    """Metres per control step at a full command."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}. Got {self.method!r}.")
        if self.margin < 0 or self.guidance_margin < 0 or self.guidance_scale < 0 or self.step_length <= 0:
            raise ValueError(
                "margin, guidance_margin and guidance_scale must be >= 0 and step_length > 0. "
                f"Got {self.margin}, {self.guidance_margin}, {self.guidance_scale}, {self.step_length}."
            )


def _project_normalised(
    policy: Any, x: torch.Tensor, start: np.ndarray, hazards: Hazards, cfg: ConstraintConfig
) -> torch.Tensor:
    """Project the future part of a normalised chunk x (B, H, A); returns it normalised."""
    now = policy.config.n_obs_steps - 1
    raw = policy.normalizer_act.unnormalize(x).cpu().numpy()  # (B, H, A)
    raw[:, now:] = project_actions(raw[:, now:], start, hazards, cfg.margin, cfg.step_length)
    return policy.normalizer_act.normalize(torch.as_tensor(raw, dtype=x.dtype, device=x.device))


def _guide(policy: Any, x0: torch.Tensor, start: torch.Tensor, hazards: Hazards, cfg: ConstraintConfig) -> torch.Tensor:
    """One gradient step on the penalty of the clean guess x0 (B, H, A), normalised units."""
    now = policy.config.n_obs_steps - 1
    with torch.enable_grad():
        x0 = x0.detach().requires_grad_(True)
        raw = policy.normalizer_act.unnormalize(x0)  # (B, H, A)
        paths = paths_from_actions(raw[:, now:], start, cfg.step_length)  # (B, H - now + 1, 2)
        penalty = hazards.penetration(paths[:, 1:], cfg.guidance_margin).sum()
        (grad,) = torch.autograd.grad(penalty, x0)
    return (x0 - cfg.guidance_scale * grad).detach()


@torch.no_grad()
def sample_constrained(
    policy: Any,
    obs: torch.Tensor,
    hazards: Hazards,
    config: ConstraintConfig | None = None,
    *,
    generator: torch.Generator | None = None,
    sampler: str | None = None,
    num_inference_steps: int | None = None,
) -> torch.Tensor:
    """Sample raw action chunks (B, H, A) from a ``DiffusionPolicy`` with a constraint method.

    :param policy: a trained labkit ``DiffusionPolicy`` with ``prediction_type="epsilon"``.
    :param obs: raw observation history (B, To, obs_dim); ``obs[:, -1, :2]`` is the robot's position.
    :param hazards: the forbidden disks.
    :param config: the method and its settings (default: ``ConstraintConfig()``).
    :param generator: torch.Generator for all random draws.
    """
    cfg = config or ConstraintConfig()
    pcfg = policy.config
    if pcfg.prediction_type != "epsilon":
        raise ValueError(f"sample_constrained needs an epsilon-prediction policy. Got {pcfg.prediction_type!r}.")
    sampler = sampler or pcfg.sampler
    K = num_inference_steps or pcfg.num_inference_steps
    sched = policy._scheduler(sampler, K)
    eta = pcfg.ddim_eta if sampler == "ddim" else 1.0
    obs = torch.as_tensor(obs, dtype=torch.float32, device=policy.device)
    cond = policy.encode_obs(obs)  # (B, To*obs_dim)
    B = cond.shape[0]
    start_np = obs[:, -1, :2].cpu().numpy().astype(np.float64)  # (B, 2) robot position now
    start_t = obs[:, -1, :2]
    x = torch.randn((B, pcfg.horizon, pcfg.action_dim), generator=generator, device=policy.device)  # (B, H, A) x_T
    every, guided = cfg.method == "project_every", cfg.method == "guidance"
    if every:
        x = _project_normalised(policy, x, start_np, hazards, cfg)
    for t in sched.timesteps.tolist():
        t_batch = torch.full((B,), t, dtype=torch.long, device=policy.device)
        eps = policy.denoiser(x, t_batch, cond)  # (B, H, A)
        if guided:
            a_t = sched.alpha_bar(t)
            x0 = ((x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)).clamp(-1, 1)  # (B, H, A) clean guess
            x0 = _guide(policy, x0, start_t, hazards, cfg)
            eps = (x - math.sqrt(a_t) * x0) / math.sqrt(1 - a_t)  # the noise that points at the guided guess
        x = sched.step(eps, t, x, generator=generator, eta=eta).prev_sample  # (B, H, A)
        if every:
            x = _project_normalised(policy, x, start_np, hazards, cfg)
    if cfg.method == "project_final":
        x = _project_normalised(policy, x, start_np, hazards, cfg)
    return policy.normalizer_act.unnormalize(x)  # (B, H, A) raw


class ConstrainedPolicy:
    """A diffusion policy that samples with a constraint method; drop-in for ``labkit.evaluate.evaluate``.

    :param policy: the frozen ``DiffusionPolicy``.
    :param hazards: the forbidden disks.
    :param config: method and settings.
    """

    def __init__(
        self, policy: Any, hazards: Hazards, config: ConstraintConfig | None = None, **sample_kwargs: Any
    ) -> None:
        self.policy, self.hazards = policy, hazards
        self.constraint = config or ConstraintConfig()
        self.config = policy.config  # what evaluate() reads (n_obs_steps ...)
        self.env_id = getattr(policy, "env_id", None)
        self.sample_kwargs = sample_kwargs

    def sample_actions(self, obs: torch.Tensor, generator: torch.Generator | None = None, **kw: Any) -> torch.Tensor:
        return sample_constrained(
            self.policy, obs, self.hazards, self.constraint, generator=generator, **{**self.sample_kwargs, **kw}
        )

    def predict_action(self, obs: torch.Tensor, generator: torch.Generator | None = None, **kw: Any) -> torch.Tensor:
        """(B, To, obs_dim) -> the executed part (B, Ta, A) of a constrained chunk."""
        chunk = self.sample_actions(obs, generator=generator, **kw)  # (B, H, A)
        now = self.config.n_obs_steps - 1
        return chunk[:, now : now + self.config.n_action_steps]  # (B, Ta, A)
