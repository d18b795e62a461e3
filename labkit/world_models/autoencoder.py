"""The reconstruction baseline: an autoencoder's bottleneck as the representation.

``z = phi(o)``, ``o_hat = decoder(z)``, loss ``mean((o_hat - o / 255)^2)`` over pixels. Its only
signal is what costs pixels: on TwoRoutes the floor, walls, cup and goal are the same in every frame and
the robot is a few pixels, so most of the error is gone long before the robot's position is
encoded, and nothing in the loss knows which frames are close in *time* (VIP's signal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.world_models.encoders import ConvDecoder, ConvEncoder, EncoderConfig
from labkit.world_models.frames import FrameDataset
from labkit.world_models.representation import Representation, RepresentationSpec, fit_loop

__all__ = ["AutoencoderConfig", "train_autoencoder"]


@dataclass
class AutoencoderConfig:
    """Autoencoder training.

    :param latent_dim: bottleneck size (the same as VIP's for a fair comparison).
    :param iterations: optimiser steps.
    :param batch_size: frames per step.
    :param lr: Adam learning rate.
    """

    latent_dim: int = 16
    iterations: int = 2_000
    batch_size: int = 64
    lr: float = 1e-3

    def __post_init__(self) -> None:
        if self.iterations < 0 or self.batch_size < 1 or self.lr <= 0 or self.latent_dim < 1:
            raise ValueError(
                f"need iterations >= 0, batch_size >= 1, lr > 0, latent_dim >= 1. Got "
                f"{self.iterations}, {self.batch_size}, {self.lr}, {self.latent_dim}."
            )


def train_autoencoder(
    frames: FrameDataset,
    config: AutoencoderConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    encoder_config: EncoderConfig | None = None,
) -> Representation:
    """Train an autoencoder on ``frames``; return its encoder as a :class:`Representation`.

    ``rep.extras["decoder"]`` keeps the decoder (for reconstructions; not saved with the encoder),
    ``rep.log`` (a ``TrainLog``) the loss per step.
    """
    config = config or AutoencoderConfig()
    enc_cfg = encoder_config or EncoderConfig(image_size=frames.image_size, latent_dim=config.latent_dim)
    if enc_cfg.image_size != frames.image_size:
        raise ValueError(f"encoder image_size {enc_cfg.image_size} != frame size {frames.image_size}.")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    encoder, decoder = ConvEncoder(enc_cfg), ConvDecoder(enc_cfg)  # the decoder mirrors the linear head's shapes
    opt = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=config.lr)
    images = torch.from_numpy(frames.frames)  # (N, 3, S, S) uint8

    def step(_: int) -> float:
        x = images[torch.from_numpy(rng.integers(0, len(images), config.batch_size))]  # (B, 3, S, S)
        loss = torch.mean((decoder(encoder(x)) - x.float() / 255.0) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    log = fit_loop(step, config.iterations, "autoencoder", progress)
    rep = Representation(
        encoder,
        RepresentationSpec(
            "autoencoder",
            frames.env_id,
            frames.image_size,
            frames.source,
            log.iterations_done,
            seed,
            round(log.seconds, 2),
        ),
    )
    rep.set_statistics(frames.frames)
    rep.extras, rep.log = {"decoder": decoder.eval()}, log  # a dict: not a submodule
    return rep.eval()
