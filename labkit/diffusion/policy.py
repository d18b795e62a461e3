"""Diffusion Policy (Chi et al., 2023) for low-dimensional observations.

The policy sees the last ``n_obs_steps`` observations, denoises a chunk of ``horizon`` actions
from pure noise, and the robot executes ``n_action_steps`` of them before planning again.
Normalisers live inside the policy (``normalizer_obs``, ``normalizer_act``), so a checkpoint
carries the data statistics and every public method takes and returns raw (unnormalised) units.

This module also holds what both policies in the kit share: ``ChunkConfig`` (the horizons) and
``ChunkPolicy`` (normalisers, observation encoding, ``predict_action``, config round trip), so
``DiffusionPolicy`` and ``GaussianBCPolicy`` are interchangeable everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from labkit.diffusion.denoisers import MLPDenoiser, UNet1DDenoiser
from labkit.diffusion.normalizer import Normalizer
from labkit.diffusion.scheduler import DDIMScheduler, DDPMScheduler

__all__ = ["ChunkConfig", "ChunkPolicy", "DiffusionPolicyConfig", "DiffusionPolicy"]


def _check_choice(name: str, value: Any, choices: tuple) -> None:
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
        _check_choice("obs_norm", self.obs_norm, ("minmax", "gaussian"))


class ChunkPolicy(nn.Module):
    """Base of the kit's policies: normalisers, observation encoding, ``predict_action``.

    Subclasses set ``kind`` and ``config_class`` and implement ``compute_loss`` and
    ``sample_actions``.
    """

    kind: ClassVar[str] = ""
    config_class: ClassVar[type] = ChunkConfig

    def __init__(self, config: ChunkConfig) -> None:
        super().__init__()
        self.config = config
        self.normalizer_obs = Normalizer(config.obs_dim, mode=config.obs_norm)
        self.normalizer_act = Normalizer(config.action_dim, mode="minmax")  # actions -> [-1, 1]

    @property
    def device(self) -> torch.device:
        return self.normalizer_obs.center.device

    def fit_normalizers(self, obs: torch.Tensor, actions: torch.Tensor) -> None:
        """Fit both normalisers from raw data: obs (N, obs_dim), actions (N, action_dim)."""
        self.normalizer_obs.fit(torch.as_tensor(obs, dtype=torch.float32))
        self.normalizer_act.fit(torch.as_tensor(actions, dtype=torch.float32))
        self.normalizer_obs.to(self.device)
        self.normalizer_act.to(self.device)

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

    def sample_actions(self, obs: torch.Tensor, **kwargs: Any) -> torch.Tensor:
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
        """The config as JSON-friendly primitives (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.config).items()}

    @classmethod
    def from_config(cls, config: dict[str, Any] | ChunkConfig) -> ChunkPolicy:
        """Build an (untrained) policy from a config or the dict ``config_dict()`` returned."""
        if isinstance(config, dict):
            known = {f.name for f in fields(cls.config_class)}
            unknown = sorted(set(config) - known)
            if unknown:
                raise ValueError(f"Unknown {cls.config_class.__name__} fields {unknown}. Got {config}.")
            config = cls.config_class(**config)
        return cls(config)


@dataclass
class DiffusionPolicyConfig(ChunkConfig):
    """Configuration of ``DiffusionPolicy``; validated on construction."""

    denoiser: str = "mlp"
    """"mlp" (flattened chunk, fast) or "unet" (1-D temporal U-Net)."""
    num_train_timesteps: int = 100
    """T: number of noise levels in training."""
    num_inference_steps: int = 100
    """Default number of denoising steps at sampling time (<= T)."""
    sampler: str = "ddpm"
    """Default sampler: "ddpm" (stochastic) or "ddim" (deterministic for ddim_eta = 0)."""
    prediction_type: str = "epsilon"
    """What the denoiser predicts: "epsilon" (noise) or "sample" (clean chunk)."""
    beta_schedule: str = "squaredcos_cap_v2"
    """Noise schedule: "squaredcos_cap_v2" or "linear"."""
    clip_sample: bool = True
    """Clip the predicted clean chunk to [-1, 1] (the normalised action range) at each step."""
    ddim_eta: float = 0.0
    """DDIM stochasticity (0 = deterministic)."""
    time_embed_dim: int = 64
    """Size of the timestep embedding (even)."""
    mlp_hidden_dim: int = 256
    """MLP denoiser width."""
    mlp_n_layers: int = 3
    """MLP denoiser depth (residual blocks)."""
    unet_channels: tuple[int, ...] = (64, 128)
    """U-Net channels per level; horizon must be divisible by 2 ** (levels - 1)."""
    unet_kernel_size: int = 5
    """U-Net temporal kernel size (odd)."""
    unet_n_groups: int = 8
    """GroupNorm groups in the U-Net (must divide every channel count)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_choice("denoiser", self.denoiser, ("mlp", "unet"))
        _check_choice("sampler", self.sampler, ("ddpm", "ddim"))
        _check_choice("prediction_type", self.prediction_type, ("epsilon", "sample"))
        _check_choice("beta_schedule", self.beta_schedule, ("squaredcos_cap_v2", "linear"))
        if self.num_train_timesteps < 1:
            raise ValueError(f"num_train_timesteps must be >= 1. Got {self.num_train_timesteps}.")
        if not 1 <= self.num_inference_steps <= self.num_train_timesteps:
            raise ValueError(
                f"num_inference_steps must be in [1, num_train_timesteps={self.num_train_timesteps}]. "
                f"Got {self.num_inference_steps}."
            )
        if self.ddim_eta < 0:
            raise ValueError(f"ddim_eta must be >= 0. Got {self.ddim_eta}.")
        if self.time_embed_dim < 2 or self.time_embed_dim % 2:
            raise ValueError(f"time_embed_dim must be even and >= 2. Got {self.time_embed_dim}.")
        if self.mlp_hidden_dim < 1 or self.mlp_n_layers < 1:
            raise ValueError(f"mlp_hidden_dim and mlp_n_layers must be >= 1. Got {self.mlp_hidden_dim}, {self.mlp_n_layers}.")
        self.unet_channels = tuple(int(c) for c in self.unet_channels)
        if self.denoiser == "unet":
            if len(self.unet_channels) < 1 or any(c % self.unet_n_groups for c in self.unet_channels):
                raise ValueError(
                    f"unet_channels must be non-empty and divisible by unet_n_groups={self.unet_n_groups}. "
                    f"Got {self.unet_channels}."
                )
            factor = 2 ** (len(self.unet_channels) - 1)
            if self.horizon % factor:
                raise ValueError(
                    f"With {len(self.unet_channels)} U-Net levels the horizon must be divisible by {factor}. "
                    f"Got horizon={self.horizon}."
                )
            if self.unet_kernel_size % 2 == 0:
                raise ValueError(f"unet_kernel_size must be odd. Got {self.unet_kernel_size}.")


class DiffusionPolicy(ChunkPolicy):
    """Denoise an action chunk conditioned on a short observation history.

    Timeline for n_obs_steps To = 2, horizon H = 8, n_action_steps Ta = 4 (one column = one
    control step; "now" is the step of the latest observation, chunk index To - 1)::

        chunk index :  0   1   2   3   4   5   6   7
        observations: |o | o|                             To = 2 (o at index 1 is "now")
        chunk       : |a | a | a | a | a | a | a | a |    H = 8 predicted actions
        executed    :     | x | x | x | x |               Ta = 4, from index To - 1
                            ^ now

    Then the policy observes again and predicts a new chunk (receding horizon).

    :param config: a ``DiffusionPolicyConfig``.
    """

    kind: ClassVar[str] = "diffusion"
    config_class: ClassVar[type] = DiffusionPolicyConfig

    def __init__(self, config: DiffusionPolicyConfig) -> None:
        super().__init__(config)
        cond_dim = config.n_obs_steps * config.obs_dim
        if config.denoiser == "mlp":
            self.denoiser = MLPDenoiser(
                config.action_dim, config.horizon, cond_dim, config.mlp_hidden_dim, config.mlp_n_layers, config.time_embed_dim
            )
        else:
            self.denoiser = UNet1DDenoiser(
                config.action_dim, cond_dim, config.unet_channels, config.unet_kernel_size, config.unet_n_groups,
                config.time_embed_dim,
            )
        self.noise_scheduler = self.make_scheduler("ddpm", config.num_train_timesteps)  # used for training
        self._schedulers: dict[tuple[str, int], DDPMScheduler | DDIMScheduler] = {}

    def make_scheduler(self, sampler: str | None = None, num_inference_steps: int | None = None) -> DDPMScheduler | DDIMScheduler:
        """A scheduler matching the config, with ``set_timesteps`` already called."""
        cfg = self.config
        sampler = sampler or cfg.sampler
        _check_choice("sampler", sampler, ("ddpm", "ddim"))
        cls = DDPMScheduler if sampler == "ddpm" else DDIMScheduler
        sched = cls(cfg.num_train_timesteps, cfg.beta_schedule, cfg.prediction_type, cfg.clip_sample)
        sched.set_timesteps(num_inference_steps or cfg.num_inference_steps)
        return sched

    def _scheduler(self, sampler: str, num_inference_steps: int) -> DDPMScheduler | DDIMScheduler:
        key = (sampler, num_inference_steps)
        if key not in self._schedulers:
            self._schedulers[key] = self.make_scheduler(sampler, num_inference_steps)
        return self._schedulers[key]

    def compute_loss(self, batch: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> torch.Tensor:
        """Denoising loss on a batch in raw units: {"obs": (B, To, obs_dim), "actions": (B, H, A)}.

        Noise each chunk to a random timestep and regress the denoiser's output on the noise
        ("epsilon") or on the clean chunk ("sample"). Returns a scalar.
        """
        cond = self.encode_obs(batch["obs"])  # (B, To*obs_dim)
        x0 = self.normalize_actions(batch["actions"])  # (B, H, A) in [-1, 1]
        B = x0.shape[0]
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)  # (B, H, A)
        t = torch.randint(0, self.config.num_train_timesteps, (B,), generator=generator, device=x0.device)  # (B,)
        noisy = self.noise_scheduler.add_noise(x0, noise, t)  # (B, H, A)
        pred = self.denoiser(noisy, t, cond)  # (B, H, A)
        target = noise if self.config.prediction_type == "epsilon" else x0
        return F.mse_loss(pred, target)

    @torch.no_grad()
    def sample_actions(
        self,
        obs: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
        num_inference_steps: int | None = None,
        sampler: str | None = None,
        return_chain: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Sample action chunks (raw units) by running the reverse diffusion.

        :param obs: raw observation history (B, To, obs_dim).
        :param generator: torch.Generator for all random draws (reproducible sampling).
        :param noise: fixed noise instead of random draws: either the initial x_T of shape
            (B, H, A) (enough for deterministic DDIM; stochastic samplers then need ``generator``
            for the per-step noise), or all the noise, shape (K + 1, B, H, A): x_T then one z per
            step, K = the number of inference steps.
        :param num_inference_steps: K (default: the config's).
        :param sampler: "ddpm" or "ddim" (default: the config's).
        :param return_chain: also return the normalised samples x_T, ..., x_0 as (K + 1, B, H, A).
        :return: actions (B, H, A), or (actions, chain) when ``return_chain``.
        """
        cfg = self.config
        sampler = sampler or cfg.sampler
        K = num_inference_steps or cfg.num_inference_steps
        sched = self._scheduler(sampler, K)
        eta = cfg.ddim_eta if sampler == "ddim" else 1.0
        cond = self.encode_obs(obs)  # (B, To*obs_dim)
        B, shape = cond.shape[0], (cond.shape[0], cfg.horizon, cfg.action_dim)
        step_noise: torch.Tensor | None = None
        if noise is None:
            x = torch.randn(shape, generator=generator, device=self.device)  # (B, H, A) = x_T
        else:
            noise = noise.to(device=self.device, dtype=torch.float32)
            if tuple(noise.shape) == shape:
                x = noise
                if eta > 0 and K > 1 and generator is None:
                    raise ValueError(
                        f"Sampler {sampler!r} draws fresh noise at every step: pass generator=... as well, or "
                        f"noise of shape (K + 1, B, H, A) = {(K + 1, *shape)}. Got noise of shape {tuple(noise.shape)}."
                    )
            elif tuple(noise.shape) == (K + 1, *shape):
                x, step_noise = noise[0], noise[1:]  # (B, H, A), (K, B, H, A)
            else:
                raise ValueError(
                    f"noise must have shape (B, H, A) = {shape} or (K + 1, B, H, A) = {(K + 1, *shape)}. "
                    f"Got {tuple(noise.shape)}."
                )
        chain = [x] if return_chain else None
        timesteps = sched.timesteps.to(self.device)  # (K,)
        t_embs = self.denoiser.time_mlp(timesteps)  # (K, E): embed every step's timestep at once
        for k, t in enumerate(timesteps.tolist()):
            t_batch = timesteps[k].expand(B)  # (B,)
            t_emb = t_embs[k].expand(B, -1)  # (E,) -> (B, E)
            model_output = self.denoiser(x, t_batch, cond, time_emb=t_emb)  # (B, H, A)
            z = step_noise[k] if step_noise is not None else None
            x = sched.step(model_output, t, x, generator=generator, noise=z, eta=eta).prev_sample  # (B, H, A)
            if chain is not None:
                chain.append(x)
        actions = self.normalizer_act.unnormalize(x)  # (B, H, A) raw units
        if chain is not None:
            return actions, torch.stack(chain)  # (K + 1, B, H, A)
        return actions
