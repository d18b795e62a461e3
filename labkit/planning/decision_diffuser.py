"""Decision Diffuser (Ajay et al. 2023): diffuse *states only*, condition with classifier-free guidance, and
recover actions with an inverse-dynamics model.

::

    plan:     s_0 .. s_(H-1)  ~  p(tau | y)              states only; s_0 inpainted with the current state
    guidance: out = out(0) + w * (out(y) - out(0))       one condition (route, speed ...)
    compose:  out = out(0) + sum_i w_i (out(y_i) - out(0))   e.g. y_1 = "left route", y_2 = "slow"
    act:      a_t = f_inv(s_t, s_plan[t+1])              an MLP trained on the data's transitions

The condition vector is a row of one-hot groups, here ``[left, right | fast, slow]``; a group of zeros
means "not said". Training zeroes each group at random (``cond_drop``), so the one network learns p(tau),
p(tau | route), p(tau | speed) and p(tau | route, speed) at once. Composition at test time needs only the
single-condition models, so it can be asked for a combination the data never showed (notebook 06 holds
out "slow and left").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from labkit.models import ObsScaler, mlp

from .diffuser import Diffuser, DiffuserConfig, Plan

__all__ = ["CONDITION_GROUPS", "DecisionDiffuser", "InverseDynamics", "condition_vector"]

#: The attributes a plan can be conditioned on, one one-hot group each.
CONDITION_GROUPS: dict[str, tuple[str, ...]] = {"route": ("left", "right"), "speed": ("fast", "slow")}
#: What ``DecisionDiffuser.plan`` takes: [(attributes, weight)], e.g. ``[({"route": "left"}, 1.5)]``.
Conditions = Sequence[tuple[Mapping[str, str], float]]


def condition_vector(**attributes: str | None) -> torch.Tensor:
    """``condition_vector(route="left", speed=None)`` -> (C,) with the named one-hots set, others zero.

    :raises ValueError: an unknown attribute or value; the message lists the known ones.
    """
    unknown = sorted(set(attributes) - set(CONDITION_GROUPS))
    if unknown:
        raise ValueError(f"unknown condition(s) {unknown}; known: {list(CONDITION_GROUPS)}.")
    parts = []
    for group, values in CONDITION_GROUPS.items():
        v = attributes.get(group)
        one_hot = torch.zeros(len(values))
        if v is not None:
            if v not in values:
                raise ValueError(f"{group} must be one of {values} or None. Got {v!r}.")
            one_hot[values.index(v)] = 1.0
        parts.append(one_hot)
    return torch.cat(parts)


class InverseDynamics(nn.Module):
    """a_t = f(s_t, s_(t+1)): an MLP on standardised state pairs, output in [-1, 1] (tanh).

    :param state_dim: S. :param action_dim: A. :param hidden_dim: width of the two hidden layers.
    """

    def __init__(self, state_dim: int = 4, action_dim: int = 2, hidden_dim: int = 256) -> None:
        super().__init__()
        self.state_dim, self.action_dim, self.hidden_dim = state_dim, action_dim, hidden_dim
        self.scaler = ObsScaler(state_dim)
        self.net = nn.Sequential(mlp(2 * state_dim, action_dim, hidden_dim, 2), nn.Tanh())

    def fit_stats(self, states: torch.Tensor) -> None:
        """Standardisation statistics from states (N, S)."""
        self.scaler.fit(states)

    def forward(self, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
        """(B, S), (B, S) raw -> (B, A) in [-1, 1]."""
        return self.net(torch.cat([self.scaler(s), self.scaler(s_next)], dim=-1))  # (B, 2S) -> (B, A)

    def compute_loss(
        self, s: torch.Tensor, s_next: torch.Tensor, a: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return ((self(s, s_next) - a.clamp(-1, 1)) ** 2).mean()


class DecisionDiffuser(nn.Module):
    """A states-only :class:`Diffuser` with condition groups, plus an :class:`InverseDynamics` model.

    :param horizon: H, planned steps (a receding-horizon planner: replan every few steps).
    :param hidden_dim: MLP denoiser width.
    :param inverse_hidden_dim: width of the inverse-dynamics MLP.
    :param config_overrides: other :class:`DiffuserConfig` fields (``n_layers``, ``num_train_timesteps`` ...).
    """

    def __init__(self, horizon: int = 32, hidden_dim: int = 256, inverse_hidden_dim: int = 256, **config_overrides):
        super().__init__()
        groups = tuple(len(v) for v in CONDITION_GROUPS.values())
        cfg = dict(horizon=horizon, state_dim=4, action_dim=0, cond_dim=sum(groups), cond_groups=groups)
        cfg.update(inpaint_steps=(0,), hidden_dim=hidden_dim, **config_overrides)
        self.diffuser = Diffuser(DiffuserConfig(**cfg))  # type: ignore[arg-type]
        self.inverse = InverseDynamics(4, 2, inverse_hidden_dim)

    @property
    def config(self) -> DiffuserConfig:
        return self.diffuser.config

    def plan(
        self,
        obs: torch.Tensor,
        conditions: Conditions = (),
        *,
        temperature: float = 0.5,
        generator: torch.Generator | None = None,
        return_chain: bool = False,
    ) -> Plan:
        """Plans from observations (B, >= 4), e.g. ``conditions=[({"route": "left"}, 1.5), ({"speed": "slow"}, 1.5)]``.

        ``conditions=()`` samples the unconditional model; one entry is classifier-free guidance; several
        entries compose. The returned plan's ``actions`` are the inverse model's actions between consecutive
        planned states (B, H - 1, 2).
        """
        s0 = torch.as_tensor(obs, dtype=torch.float32)[:, :4]  # (B, 4)
        terms = [(condition_vector(**dict(attrs))[None], float(w)) for attrs, w in conditions]
        plan = self.diffuser.sample(
            s0.shape[0],
            {0: s0},
            cond_terms=terms,
            temperature=temperature,
            generator=generator,
            return_chain=return_chain,
        )
        B, H, S = plan.states.shape
        with torch.no_grad():
            flat = self.inverse(plan.states[:, :-1].reshape(-1, S), plan.states[:, 1:].reshape(-1, S))  # (B*(H-1), 2)
        plan.actions = flat.reshape(B, H - 1, -1)  # (B, H-1, 2)
        return plan

    def state(self) -> dict:
        c = self.config
        return {
            "kind": "decision_diffuser",
            "diffuser": self.diffuser.state(),
            "inverse": self.inverse.state_dict(),
            "inverse_hidden_dim": self.inverse.hidden_dim,
            "overrides": {
                "n_layers": c.n_layers,
                "num_train_timesteps": c.num_train_timesteps,
                "num_inference_steps": c.num_inference_steps,
                "cond_drop": c.cond_drop,
            },
        }

    @classmethod
    def from_state(cls, state: dict) -> DecisionDiffuser:
        cfg = state["diffuser"]["config"]
        model = cls(cfg["horizon"], cfg["hidden_dim"], state["inverse_hidden_dim"], **state["overrides"])
        model.diffuser.load_state_dict(state["diffuser"]["state_dict"])
        model.inverse.load_state_dict(state["inverse"])
        return model.eval()
