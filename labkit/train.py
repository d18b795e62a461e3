"""The kit's one training loop, plus checkpoints that carry everything needed to rebuild a policy.

``train_policy`` runs AdamW with a warm-up + cosine learning-rate schedule and an EMA of the
weights, shows a ``tqdm`` progress bar with the loss, and stops cleanly on Ctrl-C / the notebook's
"interrupt kernel" button: the weights trained so far are kept (EMA weights copied in) and the
result says ``interrupted=True``.

Checkpoints are plain dicts of tensors and primitives, written atomically and read with
``torch.load(weights_only=True)`` (no arbitrary pickle code runs)::

    {"format": "labkit-checkpoint", "version": 1, "kind": "diffusion" | "gaussian",
     "config": {...}, "state_dict": {...}, "meta": {...}}
"""

from __future__ import annotations

import json
import math
import os
import pickle
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from labkit.diffusion import EMA, POLICY_CLASSES, ChunkPolicy

__all__ = [
    "BatchSource",
    "TensorBatchSampler",
    "TrainResult",
    "CheckpointError",
    "train_policy",
    "save_checkpoint",
    "load_checkpoint",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
]

CHECKPOINT_FORMAT = "labkit-checkpoint"
CHECKPOINT_VERSION = 1


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


@dataclass
class TrainResult:
    """What ``train_policy`` returns.

    :param losses: the loss of every completed iteration.
    :param iterations_done: number of completed optimiser steps.
    :param interrupted: True when stopped by KeyboardInterrupt.
    :param seconds: wall-clock duration.
    """

    losses: list[float]
    iterations_done: int
    interrupted: bool
    seconds: float


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
    policy: ChunkPolicy,
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
) -> TrainResult:
    """Train ``policy`` in place by minimising ``policy.compute_loss(batch)``.

    Fit the policy's normalisers (``policy.fit_normalizers``) before calling this.

    :param policy: a ``DiffusionPolicy`` or ``GaussianBCPolicy`` (anything with ``compute_loss``).
    :param dataset: has ``sample(batch_size, generator) -> {"obs", "actions"}``, or is a map-style
        torch Dataset (preloaded into a ``TensorBatchSampler``).
    :param iterations: number of optimiser steps.
    :param batch_size: batch size.
    :param lr: peak AdamW learning rate.
    :param weight_decay: AdamW weight decay.
    :param warmup_steps: linear warm-up length (default: 5% of ``iterations``, at most 500).
    :param ema_decay: EMA decay, or None for no EMA. EMA weights end up in ``policy``.
    :param seed: seeds the batch sampling and the loss's noise draws.
    :param progress: show a tqdm progress bar.
    :param checkpoint_path: where to save (at the end, and every ``checkpoint_every`` iterations).
    :param checkpoint_every: save period in iterations (None: only at the end).
    :param device: default: CUDA if available, else CPU.
    :param meta: JSON-friendly metadata stored in the checkpoint (env id, dataset hash, command ...).
    :return: a ``TrainResult``.
    """
    if iterations < 0 or batch_size < 1:
        raise ValueError(f"iterations must be >= 0 and batch_size >= 1. Got {iterations} and {batch_size}.")
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

    losses: list[float] = []
    interrupted = False
    start = time.perf_counter()
    bar = tqdm(total=iterations, disable=not progress, desc="train", dynamic_ncols=True)
    try:
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
            bar.update(1)
            if it % 50 == 0 or it == iterations - 1:
                bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}", refresh=False)
            if checkpoint_every and checkpoint_path is not None and (it + 1) % checkpoint_every == 0:
                if ema is not None:
                    with ema.average_parameters(policy):
                        save()
                else:
                    save()
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn(
            f"Training interrupted after {len(losses)} of {iterations} iterations; keeping the weights trained so far.",
            stacklevel=2,
        )
    finally:
        bar.close()
    if ema is not None and len(losses) > 0:
        ema.copy_to(policy)
    policy.eval()
    save()
    return TrainResult(losses=losses, iterations_done=len(losses), interrupted=interrupted, seconds=time.perf_counter() - start)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why and what to do."""


def save_checkpoint(policy: ChunkPolicy, path: str | os.PathLike, meta: dict[str, Any] | None = None) -> Path:
    """Write ``policy`` (kind, config, weights, normaliser statistics) and ``meta`` to ``path``.

    The write is atomic: a temporary file in the same folder is written, fsynced and renamed over
    ``path``, so an interrupted save never leaves a half-written checkpoint behind.

    :param meta: JSON-serialisable primitives only (e.g. {"env_id": ..., "regenerate": "python ..."}).
    :return: the path written.
    """
    meta = dict(meta or {})
    try:
        meta = json.loads(json.dumps(meta))  # primitives only; tuples become lists
    except (TypeError, ValueError) as err:
        raise TypeError(f"Checkpoint meta must be JSON-serialisable (str, int, float, bool, None, list, dict). {err}") from None
    if policy.kind not in POLICY_CLASSES:
        raise TypeError(f"Cannot checkpoint a {type(policy).__name__}: kind must be one of {sorted(POLICY_CLASSES)}.")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "kind": policy.kind,
        "config": policy.config_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
        "meta": meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike,
    expected_env_id: str | None = None,
    expected_obs_dim: int | None = None,
    expected_action_dim: int | None = None,
    *,
    regenerate_hint: str | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[ChunkPolicy, dict[str, Any]]:
    """Load a checkpoint written by ``save_checkpoint``; returns ``(policy, meta)`` (policy in eval mode).

    Refuses with one clear message (``FileNotFoundError`` or ``CheckpointError``, a ``ValueError``)
    when the file is missing, truncated or corrupt, of another format or version, or made for
    another environment or other observation/action sizes.

    :param expected_env_id: if given, must equal ``meta["env_id"]``.
    :param expected_obs_dim: if given, must equal the policy's obs_dim.
    :param expected_action_dim: if given, must equal the policy's action_dim.
    :param regenerate_hint: the command that recreates the file, quoted in error messages.
    :param map_location: device for the loaded tensors.
    """
    path = Path(path)
    redo = f"Regenerate it with: {regenerate_hint}" if regenerate_hint else (
        "Regenerate it by training a policy (labkit.train.train_policy) and saving it with save_checkpoint."
    )
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. {redo}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err):
            raise CheckpointError(
                f"Checkpoint {path} contains Python objects beyond tensors and plain data; refusing to load it "
                f"(that could run arbitrary code). Only load labkit checkpoints. {redo}"
            ) from None
        raise CheckpointError(f"Checkpoint {path} is truncated or corrupt ({err}). Delete it. {redo}") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        raise CheckpointError(f"Checkpoint {path} is truncated or corrupt ({type(err).__name__}). Delete it. {redo}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a labkit checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r}). {redo}")
    version = payload.get("version")
    if version != CHECKPOINT_VERSION:
        advice = "Upgrade labkit." if isinstance(version, int) and version > CHECKPOINT_VERSION else redo
        raise CheckpointError(f"Checkpoint {path} has version {version!r}; this labkit reads version {CHECKPOINT_VERSION}. {advice}")
    kind, config, meta = payload.get("kind"), payload.get("config"), payload.get("meta") or {}
    if kind not in POLICY_CLASSES or not isinstance(config, dict):
        raise CheckpointError(f"Checkpoint {path} has unknown policy kind {kind!r} (expected one of {sorted(POLICY_CLASSES)}). {redo}")
    if expected_env_id is not None and meta.get("env_id") != expected_env_id:
        raise CheckpointError(
            f"Checkpoint {path} was trained on env {meta.get('env_id')!r}, not {expected_env_id!r}. "
            f"Use the checkpoint made for {expected_env_id!r}, or train one. {redo}"
        )
    for name, expected in (("obs_dim", expected_obs_dim), ("action_dim", expected_action_dim)):
        if expected is not None and config.get(name) != expected:
            raise CheckpointError(
                f"Checkpoint {path} has {name}={config.get(name)}, but {expected} was expected: it belongs to "
                f"another task or observation layout. {redo}"
            )
    try:
        policy = POLICY_CLASSES[kind].from_config(config)
        policy.load_state_dict(payload["state_dict"])
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        raise CheckpointError(f"Checkpoint {path} does not match this labkit's {kind} policy: {err}. {redo}") from None
    return policy.to(map_location).eval(), meta
