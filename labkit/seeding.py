"""Seed everything a run touches, so that the same seed gives the same numbers.

``seed_everything(0)`` seeds python's ``random``, NumPy's global generator and torch (CPU and CUDA).
Environments are seeded separately, through ``env.reset(seed=...)`` on the first reset
(gymnasium's convention) - ``make_env(..., seed=...)`` in :mod:`labkit.envs` does that.
For sampling, pass a ``torch.Generator`` from :func:`torch_generator` rather than relying on the
global state: two generators with the same seed give bitwise-identical samples.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

__all__ = ["seed_everything", "torch_generator", "np_rng"]


def seed_everything(seed: int, deterministic_torch: bool = False) -> int:
    """Seed python, numpy and torch; return the seed.

    :param seed: a non-negative integer.
    :param deterministic_torch: also ask torch for deterministic kernels (slower; CPU ops already are).
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # affects subprocesses only
    if deterministic_torch:
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` seeded with ``seed`` on ``device``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def np_rng(seed: int | None) -> np.random.Generator:
    """A NumPy ``Generator`` (PCG64) seeded with ``seed``."""
    return np.random.default_rng(seed)
