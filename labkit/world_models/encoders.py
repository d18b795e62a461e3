"""Small convolutional encoder and decoder for ``(3, 64, 64)`` frames, sized for one CPU thread.

::

    frame (B, 3, 64, 64) uint8
      -> /255 - 0.5
      -> conv 4x4 stride 4 -> (B, c0, 16, 16) -> conv 3x3 stride 2 -> (B, c1, 8, 8)
      -> conv 3x3 stride 2 -> (B, c2, 4, 4) -> flatten -> linear -> z (B, latent_dim)

The first layer looks at 4 x 4 patches once (stride 4): a training step on 256 frames takes about a
tenth of a second on one thread, about four times less than the usual stack of stride-2 3 x 3
layers, and the robot (about 3 pixels across at 64 x 64) still falls in some patch. The decoder mirrors
it with transposed convolutions and a sigmoid, giving pixel intensities in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["EncoderConfig", "ConvEncoder", "ConvDecoder"]


@dataclass
class EncoderConfig:
    """Shapes of the frame encoder (and of the decoder that mirrors it).

    :param image_size: frame height = width in pixels, a multiple of 16 (4 x 2 x 2 downsampling).
    :param latent_dim: size of the representation z.
    :param channels: output channels of the three convolutions.
    """

    image_size: int = 64
    latent_dim: int = 16
    channels: tuple[int, int, int] = (32, 64, 64)

    def __post_init__(self) -> None:
        if self.image_size < 16 or self.image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16 (>= 16). Got {self.image_size}.")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1. Got {self.latent_dim}.")
        if len(self.channels) != 3 or min(self.channels) < 1:
            raise ValueError(f"channels must be three positive ints. Got {self.channels}.")
        c0, c1, c2 = (int(c) for c in self.channels)
        self.channels = (c0, c1, c2)

    @property
    def grid(self) -> int:
        """Side of the last feature map (image_size / 16)."""
        return self.image_size // 16


def _as_input(frames: torch.Tensor, image_size: int) -> torch.Tensor:
    if frames.ndim != 4 or frames.shape[1] != 3 or frames.shape[2] != image_size or frames.shape[3] != image_size:
        raise ValueError(f"expected frames of shape (B, 3, {image_size}, {image_size}). Got {tuple(frames.shape)}.")
    x = frames.float()
    if frames.dtype == torch.uint8:
        x = x / 255.0
    return x - 0.5


class ConvEncoder(nn.Module):
    """``(B, 3, S, S)`` frames (uint8 0..255, or float 0..1) -> ``(B, latent_dim)`` float."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or EncoderConfig()
        c0, c1, c2 = config.channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c0, kernel_size=4, stride=4),
            nn.ReLU(),
            nn.Conv2d(c0, c1, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),  # (B, c2 * g * g)
            nn.Linear(c2 * config.grid**2, config.latent_dim),
        )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(_as_input(frames, self.config.image_size))


class ConvDecoder(nn.Module):
    """``(B, latent_dim)`` -> ``(B, 3, S, S)`` pixel intensities in [0, 1]."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or EncoderConfig()
        c0, c1, c2 = config.channels
        self.fc = nn.Linear(config.latent_dim, c2 * config.grid**2)
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, c0, kernel_size=4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(c0, 3, kernel_size=4, stride=4),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        g, c2 = self.config.grid, self.config.channels[2]
        h = self.fc(z).reshape(len(z), c2, g, g)  # (B, C, g, g)
        return self.net(h)
