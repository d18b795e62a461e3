"""One small training loop for the planning models (Diffuser, its value, Decision Diffuser, inverse dynamics).

``fit(model, model.compute_loss, tensors, iterations)`` draws random minibatches from preloaded tensors
and runs AdamW (short warm-up, then a constant or cosine learning rate) with an EMA of the weights, inside
the kit's scaffold ``labkit.train.training``: a ``tqdm.auto`` bar, and Ctrl-C keeps the weights trained so
far (the EMA copy is written into the model; ``log.interrupted`` says so). Returns a ``TrainLog``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from labkit.models import EMA
from labkit.runtime import check_int, check_seed
from labkit.train import TrainLog, training

__all__ = ["fit"]

LR_SCHEDULES = ("constant", "cosine")


def _lr_factor(iterations: int, schedule: str, warmup: int = 100) -> Callable[[int], float]:
    def factor(i: int) -> float:
        warm = min(1.0, (i + 1) / warmup)
        if schedule == "constant":
            return warm
        return warm * 0.5 * (1 + math.cos(math.pi * min(i, iterations) / max(iterations, 1)))

    return factor


def fit(
    model: nn.Module,
    loss_fn: Callable[..., torch.Tensor],
    tensors: Sequence[torch.Tensor | None],
    iterations: int,
    *,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-6,
    ema_decay: float | None = 0.995,
    lr_schedule: str = "constant",
    seed: int = 0,
    progress: bool = True,
    desc: str = "train",
) -> TrainLog:
    """Train ``model`` by minimising ``loss_fn(*batch, generator=g)`` over random minibatches.

    :param tensors: aligned tensors with the same first axis N (None entries are passed as None).
    :param iterations: optimiser steps (0: nothing is trained).
    :param ema_decay: EMA of the weights, copied into the model at the end (None: no EMA).
    :param lr_schedule: ``"constant"`` after a short warm-up, or ``"cosine"`` decay to zero.
    :param seed: seeds the batches and the loss's noise.
    :return: a ``TrainLog`` with ``losses["loss"]``, ``seconds`` and ``interrupted``.
    """
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}. Got {lr_schedule!r}.")
    iterations, batch_size, seed = (
        check_int("iterations", iterations, 0),
        check_int("batch_size", batch_size),
        check_seed(seed),
    )
    present = [t for t in tensors if t is not None]
    n = present[0].shape[0]
    if any(t.shape[0] != n for t in present):
        raise ValueError(f"all tensors need the same first axis. Got {[tuple(t.shape) for t in present]}.")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_factor(iterations, lr_schedule))
    ema = EMA(model, ema_decay) if ema_decay else None
    log = TrainLog(meta={"model": type(model).__name__, "iterations": iterations, "seed": seed})
    losses = log.losses.setdefault("loss", [])
    model.train()
    with training(log, total=iterations, desc=desc, progress=progress) as bar:
        for _ in range(iterations):
            idx = torch.randint(0, n, (min(batch_size, n),), generator=g)  # (B,)
            loss = loss_fn(*[None if t is None else t[idx] for t in tensors], generator=g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update()
            losses.append(float(loss.detach()))
            log.iterations_done += 1
            bar.update(1)
            if log.iterations_done % 50 == 0:
                bar.set_postfix(loss=f"{sum(losses[-50:]) / 50:.4f}", refresh=False)
    if ema is not None and log.iterations_done:
        ema.copy_to(model)
    model.eval()
    return log
