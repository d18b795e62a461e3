"""Value guidance for Diffuser: a value J(x_t, t) of *noisy* plans, and its gradient as a guide.

Diffuser steers sampling towards high return with the gradient of a value model trained on noisy
trajectories (classifier guidance)::

    J_phi(x_t, t) ~ E[ R(x_0) | x_t ],   trained by regression:  min || J_phi(x_t, t) - R(x_0) ||^2,
                                          x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps  (the model's own noising)
    guided step:  x_t <- x_t + scale * var_t * grad_x J_phi(x_t, t)      (for t >= t_stopgrad)

``R(x_0)`` is the discounted return of the clean window, for whatever reward the data are labelled with.
The value is standardised (zero mean, unit variance over the training windows), so ``scale`` is in units
of "standard deviations of return per unit of normalised plan".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from labkit.diffusion import DDPMScheduler
from labkit.models import SinusoidalEmbedding, mlp

__all__ = ["TrajectoryValue", "ValueConfig", "ValueGuide"]


@dataclass
class ValueConfig:
    """:param horizon: H. :param transition_dim: D. :param hidden_dim: MLP width. :param n_layers: hidden layers.
    :param num_train_timesteps: T, must match the Diffuser's schedule."""

    horizon: int = 64
    transition_dim: int = 6
    hidden_dim: int = 256
    n_layers: int = 2
    num_train_timesteps: int = 20

    def __post_init__(self) -> None:
        if min(self.horizon, self.transition_dim, self.hidden_dim, self.n_layers, self.num_train_timesteps) < 1:
            raise ValueError(f"ValueConfig sizes must be >= 1. Got {self}.")


class TrajectoryValue(nn.Module):
    """J(x_t, t): an MLP on the flattened noisy plan (B, H, D) and a timestep embedding -> (B,)."""

    ret_mean: torch.Tensor  # registered buffers, declared for the type checker
    ret_std: torch.Tensor

    def __init__(self, config: ValueConfig) -> None:
        super().__init__()
        self.config = c = config
        self.time = nn.Sequential(SinusoidalEmbedding(32), nn.Linear(32, 64), nn.Mish())
        self.mlp = mlp(c.horizon * c.transition_dim + 64, 1, c.hidden_dim, c.n_layers)
        self.scheduler = DDPMScheduler(c.num_train_timesteps)
        self.register_buffer("ret_mean", torch.zeros(()))
        self.register_buffer("ret_std", torch.ones(()))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Standardised value of plans x (B, H, D) at timesteps t (B,) -> (B,)."""
        B = x.shape[0]
        h = torch.cat([x.reshape(B, -1), self.time(t)], dim=-1)  # (B, H*D + 64)
        return self.mlp(h).squeeze(-1)

    @torch.no_grad()
    def fit_returns(self, returns: torch.Tensor) -> None:
        """Store the mean and std of the training returns (N,) for standardisation."""
        self.ret_mean.copy_(returns.float().mean())
        self.ret_std.copy_(returns.float().std().clamp_min(1e-6))

    def compute_loss(
        self, x0: torch.Tensor, returns: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Regression loss on noisy plans: x0 (B, H, D) normalised, returns (B,) raw."""
        B = x0.shape[0]
        t = torch.randint(0, self.config.num_train_timesteps, (B,), generator=generator)
        x_t = self.scheduler.add_noise(x0, torch.randn(x0.shape, generator=generator), t)
        target = (returns - self.ret_mean) / self.ret_std
        return ((self(x_t, t) - target) ** 2).mean()

    def predict_return(self, x: torch.Tensor, t: int = 0) -> torch.Tensor:
        """Return in raw units of plans x (B, H, D) at timestep t."""
        ts = torch.full((x.shape[0],), int(t), dtype=torch.long)
        return self(x, ts) * self.ret_std + self.ret_mean

    def state(self) -> dict:
        return {"kind": "trajectory_value", "config": asdict(self.config), "state_dict": self.state_dict()}

    @classmethod
    def from_state(cls, state: dict) -> TrajectoryValue:
        model = cls(ValueConfig(**state["config"]))
        model.load_state_dict(state["state_dict"])
        return model.eval()


class ValueGuide:
    """``guide(x, t) -> (value (B,), grad (B, H, D))``: the gradient of J(x_t, t) for ``Diffuser.sample``.

    :param value: a trained :class:`TrajectoryValue`.
    """

    def __init__(self, value: TrajectoryValue) -> None:
        self.value = value

    def __call__(self, x: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.detach().requires_grad_(True)
        ts = torch.full((x.shape[0],), int(t), dtype=torch.long)
        y = self.value(x, ts)  # (B,)
        (grad,) = torch.autograd.grad(y.sum(), x)
        return y.detach(), grad
