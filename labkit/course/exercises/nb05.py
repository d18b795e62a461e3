"""Notebook 05's exercises: VIP's loss, VIP's reward from a frozen embedding, the ensemble's disagreement.

Each is compared with the kit's own code (``labkit.world_models.vip_loss``, ``Representation.distance``,
``ProbabilisticEnsemble.step``) on random inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from labkit.course.checks import exercise
from labkit.experiments.world_models import ENV_ID, IMAGE_SIZE
from labkit.world_models.encoders import ConvEncoder, EncoderConfig
from labkit.world_models.ensemble import EnsembleConfig, ProbabilisticEnsemble
from labkit.world_models.representation import Representation, RepresentationSpec
from labkit.world_models.vip import vip_loss


def _number(x: Any) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


@exercise(
    "05.vip_loss",
    hint="V = -||e - eg|| (torch.linalg.norm over the last dim); "
    "(1 - gamma) * mean(-V(e0)) + log(mean(exp(-(r + gamma * V(et1) - V(et))))) with r = -1",
)
def _vip_loss(fn: Any) -> tuple[bool, str]:
    gen = torch.Generator().manual_seed(5)
    e0, eg, et, et1 = (torch.randn(64, 8, generator=gen) for _ in range(4))  # (B, d) start, goal, o_t, o_t+1
    for gamma in (0.9, 0.98):
        got = _number(fn(e0.clone(), eg.clone(), et.clone(), et1.clone(), gamma=gamma))
        expected = float(vip_loss(e0, eg, et, et1, gamma=gamma))
        if abs(got - expected) > 1e-4 * max(1.0, abs(expected)):
            return False, f"gamma = {gamma}: you give {got:.4f}, labkit.world_models.vip_loss gives {expected:.4f}"
    return True, "matches labkit.world_models.vip_loss for gamma = 0.9 and 0.98"


@exercise(
    "05.vip_reward",
    hint="rep.distance(frames, goal) gives d(o_t, g) for every frame (T + 1,); the reward is d[:-1] - d[1:] (T,)",
)
def _vip_reward(fn: Any) -> tuple[bool, str]:
    torch.manual_seed(0)
    rep = Representation(ConvEncoder(EncoderConfig(image_size=IMAGE_SIZE)), RepresentationSpec("vip", ENV_ID, 64))
    rep.eval()
    frames = np.random.default_rng(0).integers(0, 256, size=(6, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    d = rep.distance(frames, frames[-1])  # (6,)
    got = np.asarray(fn(rep, frames, frames[-1]), dtype=float)
    if got.shape != (5,):
        return False, f"6 frames make 5 transitions: expected shape (5,), got {got.shape}"
    ok = bool(np.allclose(got, d[:-1] - d[1:], atol=1e-5))
    return ok, "d(o_t, g) - d(o_t+1, g) for every transition" if ok else "positive when a step gets closer to g"


@exercise(
    "05.disagreement",
    hint="ensemble.predict_all(obs, act) gives means (K, B, D + 1): take [..., :D], divide by "
    "ensemble.out_std[:D], std over members (dim 0), mean over state dims -> (B,)",
)
def _disagreement(fn: Any) -> tuple[bool, str]:
    ens = ProbabilisticEnsemble(8, 2, EnsembleConfig(hidden=32, layers=2), seed=3)
    rng = np.random.default_rng(0)
    obs, act = rng.normal(size=(32, 8)).astype(np.float32), rng.uniform(-1, 1, size=(32, 2)).astype(np.float32)
    _, _, expected = ens.step(obs, act, sample=False)  # (B,)
    got = np.asarray(fn(ens, obs, act), dtype=float)
    if got.shape != (32,):
        return False, f"one number per row: expected shape (32,), got {got.shape}"
    ok = bool(np.allclose(got, expected, atol=1e-5))
    return ok, "matches ProbabilisticEnsemble.step's disagreement" if ok else "compare with ensemble.step(...)[2]"
