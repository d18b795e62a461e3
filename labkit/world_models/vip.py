"""VIP: a representation from action-free video whose distances are goal-conditioned values.

Value-Implicit Pre-training (Ma et al. 2022, arXiv 2210.00030) reads a video as a task that rewards
``r = -1`` per step until the goal (the sub-clip's last frame) is reached, and asks the embedding
``phi`` to make ``V(o; g) = -||phi(o) - phi(g)||`` the optimal value of that task. The dual of
KL-regularised goal-conditioned RL gives the loss, for a sub-clip ``(o_0, ..., o_t, o_t+1, ..., g)``::

    L(phi) = (1 - gamma) * E[ -V(o_0; g) ]                                   pull the start to the goal
           + log E[ exp( -(r + gamma * V(o_t+1; g) - V(o_t; g)) ) ]         push the middle apart

With ``d = -V``: the first term shrinks ``d(o_0, g)``; the second (a log-sum-exp, soft maximum)
penalises steps where ``d(o_t, g) < 1 + gamma * d(o_t+1, g)``, so the distance to the goal falls
along the video. VIP's reward for a transition is the change in value,
``R(o, o'; g) = V(o'; g) - V(o; g) = d(o, g) - d(o', g)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.world_models.encoders import ConvEncoder, EncoderConfig
from labkit.world_models.frames import FrameDataset
from labkit.world_models.representation import Representation, RepresentationSpec, fit_loop

__all__ = ["VIPConfig", "vip_loss", "train_vip"]

EPS = 1e-8


@dataclass
class VIPConfig:
    """VIP training (defaults: small enough for a couple of CPU minutes on 64 x 64 frames).

    :param latent_dim: size of phi(o).
    :param gamma: the discount of VIP's implicit -1-per-step task (the anchor repo's 0.98).
    :param iterations: optimiser steps.
    :param batch_size: sub-clips per step (each costs four frames).
    :param lr: Adam learning rate.
    :param norm_weight: L2 penalty on the embeddings' length (the anchor's l2weight; 0 by default).
    :param n_negatives: extra terms where (o_t, o_t+1) come from *other* clips of the batch, shuffled, with
        this clip's goal (the anchor's ``num_negatives``, 0 in its config): frames of other episodes must be
        far from it too. Without them nothing relates frames of different videos; on TwoRoutes PPO on such
        a latent stalled just above the cup in our runs (REPORT.md), with them it learned the task.
    """

    latent_dim: int = 16
    gamma: float = 0.98
    iterations: int = 2_000
    batch_size: int = 32
    lr: float = 3e-4
    norm_weight: float = 0.0
    n_negatives: int = 3

    def __post_init__(self) -> None:
        if not 0.0 < self.gamma < 1.0:
            raise ValueError(f"gamma must be in (0, 1). Got {self.gamma}.")
        if self.iterations < 0 or self.batch_size < 2 or self.lr <= 0 or self.norm_weight < 0 or self.n_negatives < 0:
            raise ValueError(
                f"need iterations >= 0, batch_size >= 2, lr > 0, norm_weight >= 0, n_negatives >= 0. Got "
                f"{self.iterations}, {self.batch_size}, {self.lr}, {self.norm_weight}, {self.n_negatives}."
            )


def _soft_step_term(vt: torch.Tensor, vt1: torch.Tensor, gamma: float) -> torch.Tensor:
    reward = -1.0  # o_t is never the goal (t < end)
    return torch.log(EPS + torch.exp(-(reward + gamma * vt1 - vt)).mean())


def vip_loss(
    e0: torch.Tensor,
    eg: torch.Tensor,
    et: torch.Tensor,
    et1: torch.Tensor,
    gamma: float = 0.98,
    n_negatives: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """VIP's objective for a batch of embeddings, each ``(B, latent_dim)``: start, goal, o_t and o_t+1.

    ``V(o; g) = -||phi(o) - phi(g)||``, reward ``r = -1``. With ``n_negatives``, the second term is repeated
    with (o_t, o_t+1) pairs of other clips (a random permutation of the batch) against this clip's goal.
    """
    value = lambda e: -torch.linalg.norm(e - eg, dim=-1)  # (B,)
    loss = (1.0 - gamma) * (-value(e0)).mean() + _soft_step_term(value(et), value(et1), gamma)
    for _ in range(n_negatives):
        perm = torch.randperm(len(et), generator=generator)
        loss = loss + _soft_step_term(value(et[perm]), value(et1[perm]), gamma)
    return loss


def train_vip(
    frames: FrameDataset,
    config: VIPConfig | None = None,
    seed: int = 0,
    progress: bool = True,
    encoder_config: EncoderConfig | None = None,
) -> Representation:
    """Train a VIP representation on ``frames`` (no actions, no rewards).

    :param frames: episodes of frames; every sub-clip's last frame serves as a goal.
    :param encoder_config: encoder shapes; its ``image_size`` must match the frames.
    :returns: a :class:`Representation` with ``spec.kind == "vip"``, latent statistics set, in eval mode;
        ``rep.losses`` holds the loss per step.
    """
    config = config or VIPConfig()
    enc_cfg = encoder_config or EncoderConfig(image_size=frames.image_size, latent_dim=config.latent_dim)
    if enc_cfg.image_size != frames.image_size:
        raise ValueError(f"encoder image_size {enc_cfg.image_size} != frame size {frames.image_size}.")
    torch.manual_seed(seed)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    encoder = ConvEncoder(enc_cfg)
    opt = torch.optim.Adam(encoder.parameters(), lr=config.lr)
    images = torch.from_numpy(frames.frames)  # (N, 3, S, S) uint8, shared memory

    def step(_: int) -> float:
        idx = torch.from_numpy(frames.sample_vip(rng, config.batch_size))  # (B, 4)
        z = encoder(images[idx.reshape(-1)]).reshape(config.batch_size, 4, -1)  # (B, 4, d)
        loss = vip_loss(z[:, 0], z[:, 1], z[:, 2], z[:, 3], config.gamma, config.n_negatives, gen)
        if config.norm_weight:
            loss = loss + config.norm_weight * torch.linalg.norm(z, dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    log = fit_loop(step, config.iterations, "VIP", progress)
    rep = Representation(
        encoder,
        RepresentationSpec(
            "vip", frames.env_id, frames.image_size, frames.source, log.iterations_done, seed, round(log.seconds, 2)
        ),
    )
    rep.set_statistics(frames.frames)
    rep.log = log
    return rep.eval()
