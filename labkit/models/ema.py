"""Exponential moving average (EMA) of a model's parameters.

Diffusion policies are usually evaluated with EMA weights: the average of the last few hundred
optimiser steps denoises more smoothly than the latest, noisier weights::

    shadow <- decay_n * shadow + (1 - decay_n) * param,   decay_n = min(decay, (1 + n) / (10 + n))

The warm-up term (1 + n) / (10 + n) lets the average forget the random initialisation quickly.
Only parameters are averaged; buffers (such as normaliser statistics) stay the model's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["EMA", "polyak_update"]


class EMA:
    """Keep an EMA copy of ``model``'s parameters.

    :param model: the model being trained.
    :param decay: the target decay (0.995 ~ an average over the last 200 steps).
    :param warmup: use ``min(decay, (1 + n) / (10 + n))`` early on instead of ``decay``.
    """

    def __init__(self, model: nn.Module, decay: float = 0.995, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1). Got {decay}.")
        self.decay, self.warmup = decay, warmup
        self.num_updates = 0
        self.shadow = [p.detach().clone() for p in model.parameters()]
        self._params = list(model.parameters())

    def current_decay(self) -> float:
        """The decay the next ``update()`` will use."""
        if not self.warmup:
            return self.decay
        n = self.num_updates
        return min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the model's current parameters (call after optimizer.step())."""
        weight = 1.0 - self.current_decay()
        # shadow <- shadow + weight * (param - shadow), for all tensors in one fused call
        torch._foreach_lerp_(self.shadow, [p.detach() for p in self._params], weight)
        self.num_updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite ``model``'s parameters with the EMA ones."""
        for s, p in zip(self.shadow, model.parameters()):
            p.copy_(s)

    @contextmanager
    def average_parameters(self, model: nn.Module) -> Iterator[nn.Module]:
        """``with ema.average_parameters(model):`` evaluates with EMA weights, then restores."""
        backup = [p.detach().clone() for p in model.parameters()]
        self.copy_to(model)
        try:
            yield model
        finally:
            with torch.no_grad():
                for b, p in zip(backup, model.parameters()):
                    p.copy_(b)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "warmup": self.warmup, "num_updates": self.num_updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.warmup, self.num_updates = state["decay"], state["warmup"], state["num_updates"]
        with torch.no_grad():
            for s, v in zip(self.shadow, state["shadow"]):
                s.copy_(v)


@torch.no_grad()
def polyak_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target <- (1 - tau) * target + tau * source``, parameter by parameter (slow target networks)."""
    for pt, ps in zip(target.parameters(), source.parameters()):
        pt.lerp_(ps, tau)
