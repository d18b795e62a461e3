"""A frozen frame encoder that knows what it was trained on: ``phi(o)`` for an agent or a reward.

>>> rep = train_vip(frames)                        # or train_autoencoder(frames)
>>> z = rep.encode(frames.frames[:10])             # (10, latent_dim), standardised
>>> d = rep.distance(frames.frames[:10], goal)     # (10,) ||phi(o) - phi(g)||, VIP's -V(o; g)
>>> rep.check("labkit/TwoRoutes-v0", 64)           # raises RepresentationMismatchError otherwise

``encode`` standardises each latent dimension with the mean and standard deviation it had on the
training frames (kept inside the module, so a checkpoint carries them), which is what an RL agent's
input layer wants; ``distance`` uses the raw embedding, the one VIP's objective shaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from labkit.train.log import TrainLog
from labkit.train.loop import training
from labkit.world_models.encoders import ConvEncoder, EncoderConfig

__all__ = ["RepresentationSpec", "Representation", "RepresentationMismatchError", "fit_loop"]


class RepresentationMismatchError(ValueError):
    """A representation used on frames of another task or of another size than it was trained on."""


@dataclass
class RepresentationSpec:
    """What a representation was trained on, checked before it is used.

    :param kind: ``"vip"`` or ``"autoencoder"``.
    :param env_id: the task whose frames it saw.
    :param image_size: their height = width.
    :param source: the frame dataset (e.g. ``"two_routes_demos"``).
    """

    kind: str
    env_id: str
    image_size: int
    source: str = ""
    iterations: int = 0
    seed: int = 0
    train_seconds: float = 0.0


class Representation(nn.Module):
    """A trained :class:`ConvEncoder` plus its :class:`RepresentationSpec` and latent statistics."""

    z_mean: torch.Tensor
    z_std: torch.Tensor

    def __init__(self, encoder: ConvEncoder, spec: RepresentationSpec) -> None:
        super().__init__()
        self.encoder, self.spec = encoder, spec
        self.register_buffer("z_mean", torch.zeros(encoder.config.latent_dim))
        self.register_buffer("z_std", torch.ones(encoder.config.latent_dim))
        self.log = TrainLog()  # filled by the trainer (not saved with the weights)
        self.extras: dict = {}  # e.g. the autoencoder's decoder (a plain dict: not a submodule)

    @property
    def losses(self) -> list[float]:
        """The training loss per step (``self.log.loss``)."""
        return self.log.loss

    @property
    def latent_dim(self) -> int:
        return self.encoder.config.latent_dim

    def check(self, env_id: str | None, image_size: int) -> None:
        """Raise :class:`RepresentationMismatchError` unless trained on ``env_id`` frames of ``image_size``."""
        s = self.spec.image_size
        if int(image_size) != s:
            raise RepresentationMismatchError(
                f"this {self.spec.kind} representation was trained on {s}x{s} frames, not {image_size}x{image_size}: "
                f"use PixelObservation(..., size={s}) or train one for this size."
            )
        if env_id is not None and env_id != self.spec.env_id:
            raise RepresentationMismatchError(
                f"this {self.spec.kind} representation was trained on frames of {self.spec.env_id!r}, not {env_id!r}: "
                "train one on that task's frames (a new scene is a new input distribution)."
            )

    @torch.no_grad()
    def embed(self, frames: np.ndarray | torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Raw embeddings ``(N, latent_dim)`` of ``frames`` ``(N, 3, S, S)`` uint8."""
        x = torch.as_tensor(np.asarray(frames)) if not torch.is_tensor(frames) else frames
        if x.ndim == 3:
            x = x[None]  # (1, 3, S, S)
        if x.ndim != 4 or x.shape[-1] != self.spec.image_size:
            self.check(None, x.shape[-1] if x.ndim >= 2 else -1)
        was_training = self.training
        self.eval()
        out = torch.cat([self.encoder(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
        self.train(was_training)
        return out

    def encode(self, frames: np.ndarray | torch.Tensor) -> np.ndarray:
        """Standardised latents ``(N, latent_dim)`` float32 (the agent's observation)."""
        return ((self.embed(frames) - self.z_mean) / self.z_std).numpy().astype(np.float32)

    def distance(self, frames: np.ndarray | torch.Tensor, goal: np.ndarray | torch.Tensor) -> np.ndarray:
        """``||phi(o) - phi(g)||`` ``(N,)`` for frames ``(N, 3, S, S)`` and one goal frame ``(3, S, S)``."""
        return torch.linalg.norm(self.embed(frames) - self.embed(goal), dim=-1).numpy()

    def set_statistics(self, frames: np.ndarray) -> None:
        """Store the mean and std of the raw embedding over ``frames`` (used by :meth:`encode`)."""
        z = self.embed(frames)
        self.z_mean.copy_(z.mean(0))
        self.z_std.copy_(z.std(0).clamp_min(1e-6))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        torch.save(
            {"spec": asdict(self.spec), "encoder": asdict(self.encoder.config), "state": self.state_dict()}, path
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Representation:
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        rep = cls(ConvEncoder(EncoderConfig(**blob["encoder"])), RepresentationSpec(**blob["spec"]))
        rep.load_state_dict(blob["state"])
        return rep.eval()


def fit_loop(step: Callable[[int], float], iterations: int, desc: str, progress: bool = True) -> TrainLog:
    """Run ``step(i) -> loss`` for ``iterations`` steps inside the kit's scaffold (bar, Ctrl-C keeps the weights).

    :returns: a :class:`~labkit.train.TrainLog` with ``losses["loss"]`` per step and the wall ``seconds``.
    """
    log = TrainLog(meta={"trainer": desc, "iterations": iterations})
    with training(log, total=iterations, desc=desc, progress=progress) as bar:
        for i in range(iterations):
            log.add(loss=step(i))
            log.iterations_done += 1
            bar.update(1)
            if i % 50 == 0:
                bar.set_postfix(loss=f"{np.mean(log.loss[-50:]):.4f}", refresh=False)
    return log
