"""What a chunk policy is: its config (sizes, horizons, env id), the protocol, and the shared base class.

A *chunk policy* conditions on the last To observations and returns a chunk of actions, of which the
robot executes Ta before asking again. Everything in the kit that runs a policy (``labkit.evaluate``,
the SB3 wrappers of ``labkit.finetune``, DPPO, IDQL) relies only on the :class:`ChunkPolicy`
protocol: a ``config`` (:class:`ChunkConfig`) and ``predict_action(obs (B, To, D), ...) -> (B, Ta, A)``.

:class:`BaseChunkPolicy` is the ``nn.Module`` base of the kit's trained policies (diffusion and
Gaussian): normalisers inside the model (so a checkpoint carries its data statistics), observation
encoding with shape and NaN checks, ``predict_action`` from ``sample_actions``, and the config round
trip. ``POLICY_CLASSES`` maps the ``kind`` stored in checkpoints to the class.

:func:`check_fits` refuses, with one line, a policy plugged into an env it does not fit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Literal, Protocol, cast, runtime_checkable

import numpy as np
import torch
from torch import nn

from labkit.models.normalizer import Normalizer

__all__ = [
    "POLICY_CLASSES",
    "BaseChunkPolicy",
    "ChunkConfig",
    "ChunkPolicy",
    "PolicyMismatchError",
    "check_choice",
    "check_fits",
    "register_policy",
    "with_sampling",
]


def check_choice(name: str, value: Any, choices: tuple) -> None:
    """A one-line ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}. Got {value!r}.")


@dataclass
class ChunkConfig:
    """Dimensions and horizons shared by every chunk-predicting policy in the kit."""

    obs_dim: int
    """Size of one observation vector."""
    action_dim: int
    """Size of one action vector."""
    n_obs_steps: int = 2
    """To: how many past observations (ending with the current one) the policy conditions on."""
    horizon: int = 8
    """H: length of the predicted action chunk."""
    n_action_steps: int = 4
    """Ta: how many actions of the chunk are executed, starting at index To - 1 ("now")."""
    obs_norm: str = "minmax"
    """Observation normalisation: "minmax" (to [-1, 1]) or "gaussian"."""
    env_id: str | None = None
    """The env the policy was trained for (checked when it is plugged in; in checkpoints: ``meta["env_id"]``)."""

    def __post_init__(self) -> None:
        for name in ("obs_dim", "action_dim", "n_obs_steps", "horizon", "n_action_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1. Got {value!r}.")
        if self.n_obs_steps - 1 + self.n_action_steps > self.horizon:
            raise ValueError(
                "The executed actions must fit in the chunk: n_obs_steps - 1 + n_action_steps <= horizon. "
                f"Got n_obs_steps={self.n_obs_steps}, n_action_steps={self.n_action_steps}, horizon={self.horizon}."
            )
        check_choice("obs_norm", self.obs_norm, ("minmax", "gaussian"))
        if self.env_id is not None and not isinstance(self.env_id, str):
            raise ValueError(f"env_id must be a string or None. Got {self.env_id!r}.")


@runtime_checkable
class ChunkPolicy(Protocol):
    """Anything the kit can run as a chunk policy.

    ``predict_action`` takes raw observation histories ``(B, To, D)`` (To = ``config.n_obs_steps``)
    and returns the executable actions ``(B, Ta, A)`` in env units (Ta = ``config.n_action_steps``).
    Keyword arguments it may accept: ``generator`` (a ``torch.Generator``), ``noise`` (the initial
    noise of a sampler), ``deterministic``, sampler options.
    """

    config: ChunkConfig

    def predict_action(self, obs: torch.Tensor, **kwargs: Any) -> torch.Tensor: ...


POLICY_CLASSES: dict[str, type[BaseChunkPolicy]] = {}
"""Trained policy classes by ``kind`` (the name stored in checkpoints); filled by :func:`register_policy`."""


def register_policy(cls: type[BaseChunkPolicy]) -> type[BaseChunkPolicy]:
    """Class decorator: make ``cls`` loadable from checkpoints under ``cls.kind``."""
    if not cls.kind or cls.kind in POLICY_CLASSES:
        raise ValueError(f"policy kind must be a new, non-empty name. Got {cls.kind!r}.")
    POLICY_CLASSES[cls.kind] = cls
    return cls


class BaseChunkPolicy(nn.Module):
    """Base of the kit's trained policies: normalisers, observation encoding, ``predict_action``.

    Subclasses set ``kind`` and ``config_class`` and implement ``compute_loss`` and
    ``sample_actions``.
    """

    kind: ClassVar[str] = ""
    config_class: ClassVar[type[ChunkConfig]] = ChunkConfig

    def __init__(self, config: ChunkConfig) -> None:
        super().__init__()
        self.config = config
        obs_norm = cast(Literal["minmax", "gaussian"], config.obs_norm)  # checked in ChunkConfig.__post_init__
        self.normalizer_obs = Normalizer(config.obs_dim, mode=obs_norm)
        self.normalizer_act = Normalizer(config.action_dim, mode="minmax")  # actions -> [-1, 1]

    @property
    def device(self) -> torch.device:
        return self.normalizer_obs.center.device

    @property
    def env_id(self) -> str | None:
        """The env the policy was trained for (``config.env_id``)."""
        return self.config.env_id

    def fit_normalizers(
        self, obs: torch.Tensor, actions: torch.Tensor, action_bounds: tuple[Any, Any] | None = None
    ) -> None:
        """Fit both normalisers from raw data: obs (N, obs_dim), actions (N, action_dim).

        :param action_bounds: ``(low, high)`` (e.g. the env's action space) to normalise actions by
            instead of the data's min and max. With the data's range (the default, as in Diffusion
            Policy) a policy can never act outside what it was shown: fine for imitation, but it
            caps RL fine-tuning (DSRL, DPPO) to the demonstrations' range.
        """
        self.normalizer_obs.fit(torch.as_tensor(obs, dtype=torch.float32))
        if action_bounds is None:
            self.normalizer_act.fit(torch.as_tensor(actions, dtype=torch.float32))
        else:
            low, high = (
                torch.tensor(np.broadcast_to(np.asarray(b, np.float32), (self.config.action_dim,)))
                for b in action_bounds
            )
            if not (torch.isfinite(low).all() and torch.isfinite(high).all() and (high > low).all()):
                raise ValueError(f"action_bounds must be finite with high > low. Got {action_bounds}.")
            self.normalizer_act.fit(torch.stack([low, high]))  # min-max over the two bounds
        self.normalizer_obs.to(self.device)
        self.normalizer_act.to(self.device)

    def action_range(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` (A,) each: the only actions this policy can produce (its normaliser's range)."""
        lo = self.normalizer_act.unnormalize(-torch.ones(1, self.config.action_dim, device=self.device))
        hi = self.normalizer_act.unnormalize(torch.ones(1, self.config.action_dim, device=self.device))
        return lo[0].cpu().numpy(), hi[0].cpu().numpy()

    def encode_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw obs history (B, To, obs_dim) -> normalised, flattened condition (B, To * obs_dim).

        A single observation (B, obs_dim) is accepted when n_obs_steps == 1.
        """
        cfg = self.config
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        if obs.ndim == 2 and cfg.n_obs_steps == 1:
            obs = obs[:, None, :]  # (B, obs_dim) -> (B, 1, obs_dim)
        if obs.ndim != 3 or obs.shape[1:] != (cfg.n_obs_steps, cfg.obs_dim):
            raise ValueError(
                f"obs must have shape (B, n_obs_steps={cfg.n_obs_steps}, obs_dim={cfg.obs_dim}). "
                f"Got {tuple(obs.shape)}."
            )
        if not torch.isfinite(obs).all():
            raise ValueError(
                "obs contains NaN or inf: check the environment's observations (or the wrapper "
                "that builds the history) before asking the policy."
            )
        B = obs.shape[0]
        return self.normalizer_obs.normalize(obs).reshape(B, -1)  # (B, To, D) -> (B, To*D)

    def normalize_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Raw action chunk (B, H, A) -> normalised (B, H, A), checking the shape."""
        cfg = self.config
        actions = torch.as_tensor(actions, dtype=torch.float32, device=self.device)
        if actions.ndim != 3 or actions.shape[1:] != (cfg.horizon, cfg.action_dim):
            raise ValueError(
                f"actions must have shape (B, horizon={cfg.horizon}, action_dim={cfg.action_dim}). "
                f"Got {tuple(actions.shape)}."
            )
        return self.normalizer_act.normalize(actions)

    def compute_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def sample_actions(self, obs: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise NotImplementedError

    def predict_action(self, obs: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """The executable part of a sampled chunk: (B, To, obs_dim) -> (B, n_action_steps, A).

        Keyword arguments go to ``sample_actions``. The chunk index To - 1 is "now"; see the
        timeline in ``DiffusionPolicy``'s docstring.
        """
        chunk = self.sample_actions(obs, **kwargs)  # (B, H, A)
        start = self.config.n_obs_steps - 1
        return chunk[:, start : start + self.config.n_action_steps]  # (B, Ta, A)

    def config_dict(self) -> dict[str, Any]:
        """The config as JSON-friendly primitives (tuples become lists); ``env_id`` is kept in checkpoint meta."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.config).items() if k != "env_id"}

    @classmethod
    def from_config(cls, config: dict[str, Any] | ChunkConfig) -> BaseChunkPolicy:
        """Build an (untrained) policy from a config or the dict ``config_dict()`` returned."""
        if isinstance(config, dict):
            known = {f.name for f in fields(cls.config_class)}
            unknown = sorted(set(config) - known)
            if unknown:
                raise ValueError(f"Unknown {cls.config_class.__name__} fields {unknown}. Got {config}.")
            config = cls.config_class(**config)
        return cls(config)


class PolicyMismatchError(ValueError):
    """A policy that does not fit the env it is plugged into (another task, other sizes)."""


def check_fits(
    policy: Any, env_id: str | None, obs_dim: int, action_dim: int, *, check_env_id: bool = True
) -> ChunkPolicy:
    """Check that ``policy`` is a chunk policy made for this env; return it.

    :param env_id: the env's id (``env.spec.id``), or None if unknown (then not compared).
    :param obs_dim: size of the env's observation vector; ``action_dim``: of its action vector.
    :param check_env_id: False to plug a policy into another env on purpose (e.g. adapting a
        TwoRoutes prior to TwoRoutesBlocked with residual RL).
    :raises PolicyMismatchError: with a one-line message saying what to do.
    """
    if not isinstance(policy, ChunkPolicy):
        raise PolicyMismatchError(
            "Expected a labkit chunk policy (with config and predict_action), e.g. from labkit.behaviour_cloning "
            f"or labkit.load. Got {type(policy).__name__}."
        )
    cfg = policy.config
    trained_for = getattr(cfg, "env_id", None)
    if check_env_id and trained_for is not None and env_id is not None and trained_for != env_id:
        raise PolicyMismatchError(
            f"The policy was trained for {trained_for!r} but the env is {env_id!r}: use a policy trained for "
            f"{env_id!r}, or pass check_env_id=False to adapt it on purpose."
        )
    if cfg.obs_dim != obs_dim:
        raise PolicyMismatchError(
            f"The policy expects observations of size {cfg.obs_dim} but {env_id or 'the env'} gives {obs_dim}: "
            "train it on data from this env."
        )
    if cfg.action_dim != action_dim:
        raise PolicyMismatchError(
            f"The policy outputs actions of size {cfg.action_dim} but {env_id or 'the env'} takes {action_dim}: "
            "train it on data from this env."
        )
    return policy


class with_sampling:  # noqa: N801 (reads as a function at the call site)
    """The same chunk policy, sampling with fixed options (e.g. ``sampler="ddpm", num_inference_steps=20``).

    ``labkit.evaluate(with_sampling(policy, sampler="ddim", num_inference_steps=5), env_id)`` compares
    samplers without retraining. The generator passed by the runner is kept.
    """

    def __init__(self, policy: ChunkPolicy, **options: Any) -> None:
        if not isinstance(policy, ChunkPolicy):
            raise TypeError(f"with_sampling needs a chunk policy with predict_action(). Got {type(policy).__name__}.")
        self.policy, self.options = policy, options
        self.config = policy.config

    def predict_action(self, obs: torch.Tensor, generator: torch.Generator | None = None, **kw: Any) -> torch.Tensor:
        return self.policy.predict_action(obs, generator=generator, **{**kw, **self.options})
