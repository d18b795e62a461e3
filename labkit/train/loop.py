"""The kit's training scaffold (progress bar, Ctrl-C keeps what was learned, timing) and the BC loop.

Every trainer in the kit runs inside :func:`training`::

    log = TrainLog()
    with training(log, total=iterations, desc="IQL critic", progress=progress) as bar:
        for it in range(iterations):
            ...                       # one update
            log.add(loss=loss.item())
            bar.update(1)
    # here: log.seconds is set; after Ctrl-C, log.interrupted is True and the loop simply ended

``train_policy`` is the supervised loop of the kit's policies: AdamW with a warm-up + cosine
learning-rate schedule, an EMA of the weights, optional periodic checkpoints.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from labkit.models.ema import EMA
from labkit.policies.base import BaseChunkPolicy
from labkit.runtime import check_int, check_seed
from labkit.train.checkpoint import save_checkpoint
from labkit.train.log import TrainLog

__all__ = ["BatchSource", "TensorBatchSampler", "train_policy", "training"]


@contextmanager
def training(log: TrainLog, *, total: int | None, desc: str, progress: bool = True, unit: str = "it") -> Iterator[tqdm]:
    """Run a training loop with a ``tqdm.auto`` bar; Ctrl-C ends the loop and keeps what was learned.

    :param log: filled with ``seconds`` and, on Ctrl-C, ``interrupted = True``.
    :param total: the bar's length (iterations or env steps; None: unknown).
    :return: (as the ``with`` target) the bar; call ``bar.update(n)`` and ``bar.set_postfix(...)``.
    """
    start = time.perf_counter()
    bar = tqdm(total=total, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True, leave=False)
    try:
        yield bar
    except KeyboardInterrupt:
        log.interrupted = True
        done = f"{log.env_steps} env steps" if log.env_steps else f"{log.iterations_done} iterations"
        warnings.warn(f"{desc} interrupted after {done}; keeping what was learned so far.", stacklevel=3)
    finally:
        bar.close()
        log.seconds = time.perf_counter() - start


class BatchSource(Protocol):
    """Anything the loop can draw batches from."""

    def __len__(self) -> int: ...

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]: ...


class TensorBatchSampler:
    """Random batches from preloaded tensors: much faster on CPU than a DataLoader.

    :param obs: (N, To, obs_dim) observation histories.
    :param actions: (N, H, A) action chunks.
    """

    def __init__(self, obs: torch.Tensor, actions: torch.Tensor) -> None:
        obs, actions = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(actions, dtype=torch.float32)
        if len(obs) != len(actions) or len(obs) == 0:
            raise ValueError(f"obs and actions need the same, non-zero length. Got {len(obs)} and {len(actions)}.")
        self.obs, self.actions = obs, actions

    @classmethod
    def from_dataset(cls, dataset: Any) -> TensorBatchSampler:
        """Preload a map-style dataset whose items are {"obs": (To, obs_dim), "actions": (H, A)}."""
        items = [dataset[i] for i in range(len(dataset))]
        obs = torch.stack([torch.as_tensor(it["obs"]) for it in items])  # (N, To, obs_dim)
        actions = torch.stack([torch.as_tensor(it["actions"]) for it in items])  # (N, H, A)
        return cls(obs, actions)

    def __len__(self) -> int:
        return len(self.obs)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        idx = torch.randint(0, len(self), (batch_size,), generator=generator)  # (B,) with replacement
        return {"obs": self.obs[idx], "actions": self.actions[idx]}


def _as_batch_source(dataset: Any) -> BatchSource:
    if hasattr(dataset, "sample"):
        return dataset
    if hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        return TensorBatchSampler.from_dataset(dataset)
    raise TypeError(
        "dataset must have sample(batch_size, generator) or be a map-style torch Dataset. "
        f"Got {type(dataset).__name__}."
    )


def _cosine_with_warmup(warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def train_policy(
    policy: BaseChunkPolicy,
    dataset: Any,
    *,
    iterations: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 1e-6,
    warmup_steps: int | None = None,
    ema_decay: float | None = 0.995,
    seed: int = 0,
    progress: bool = True,
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    device: str | torch.device | None = None,
    meta: dict[str, Any] | None = None,
) -> TrainLog:
    """Train ``policy`` in place by minimising ``policy.compute_loss(batch)``; returns a ``TrainLog``.

    Fit the policy's normalisers (``policy.fit_normalizers``) before calling this.

    :param policy: a ``DiffusionPolicy`` or ``GaussianBCPolicy`` (anything with ``compute_loss``).
    :param dataset: has ``sample(batch_size, generator) -> {"obs", "actions"}``, or is a map-style
        torch Dataset (preloaded into a ``TensorBatchSampler``).
    :param iterations: number of optimiser steps (>= 1).
    :param warmup_steps: linear warm-up length (default: 5% of ``iterations``, at most 500).
    :param ema_decay: EMA decay, or None for no EMA. EMA weights end up in ``policy``.
    :param seed: seeds the batch sampling and the loss's noise draws.
    :param checkpoint_path: where to save (at the end, and every ``checkpoint_every`` iterations).
    :param device: default: CUDA if available, else CPU.
    :param meta: JSON-friendly metadata stored in the checkpoint (dataset hash, command ...).
    :return: a ``TrainLog`` with ``losses["loss"]`` per iteration.
    """
    iterations, batch_size, seed = (
        check_int("iterations", iterations),
        check_int("batch_size", batch_size),
        check_seed(seed),
    )
    if checkpoint_every is not None:
        check_int("checkpoint_every", checkpoint_every)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    source = _as_batch_source(dataset)
    policy.to(device).train()
    batch_gen = torch.Generator().manual_seed(seed)  # batches are drawn on the CPU
    loss_gen = torch.Generator(device=device).manual_seed(seed + 1)  # noise and timesteps
    optimizer = torch.optim.AdamW(policy.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)
    warmup = warmup_steps if warmup_steps is not None else max(1, min(500, iterations // 20))
    lr_schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _cosine_with_warmup(warmup, iterations))
    ema = EMA(policy, decay=ema_decay) if ema_decay is not None else None

    def save() -> None:
        if checkpoint_path is not None:
            save_checkpoint(policy, checkpoint_path, meta or {})

    log = TrainLog(meta={"kind": policy.kind, "iterations": iterations, "seed": seed})
    losses = log.losses.setdefault("loss", [])
    with training(log, total=iterations, desc="train", progress=progress) as bar:
        for it in range(iterations):
            batch = source.sample(batch_size, batch_gen)
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            loss = policy.compute_loss(batch, generator=loss_gen)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            lr_schedule.step()
            if ema is not None:
                ema.update()
            losses.append(loss.item())
            log.iterations_done += 1
            bar.update(1)
            if it % 50 == 0 or it == iterations - 1:
                bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}", refresh=False)
            if checkpoint_every and checkpoint_path is not None and (it + 1) % checkpoint_every == 0:
                if ema is not None:
                    with ema.average_parameters(policy):
                        save()
                else:
                    save()
    if ema is not None and log.iterations_done > 0:
        ema.copy_to(policy)
    policy.eval()
    save()
    return log
