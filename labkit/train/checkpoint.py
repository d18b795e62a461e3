"""Checkpoints that carry everything needed to rebuild a policy, written atomically, loaded safely.

A checkpoint is a plain dict of tensors and primitives, read with ``torch.load(weights_only=True)``
(no arbitrary pickle code runs)::

    {"format": "labkit-checkpoint", "version": 1, "kind": "diffusion" | "gaussian",
     "config": {...}, "state_dict": {...}, "meta": {"env_id": ..., ...}}

The policy's ``config.env_id`` is stored as ``meta["env_id"]`` and restored from it on load.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from labkit.io import atomic_write
from labkit.policies.base import POLICY_CLASSES, BaseChunkPolicy

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "CheckpointError", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "labkit-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why and what to do."""


def save_checkpoint(policy: BaseChunkPolicy, path: str | os.PathLike, meta: dict[str, Any] | None = None) -> Path:
    """Write ``policy`` (kind, config, weights, normaliser statistics) and ``meta`` to ``path``.

    The write is atomic: a temporary file in the same folder is written, fsynced and renamed over
    ``path``, so an interrupted save never leaves a half-written checkpoint behind.

    :param meta: JSON-serialisable primitives only (e.g. {"env_id": ..., "regenerate": "python ..."}).
    :return: the path written.
    """
    meta = dict(meta or {})
    if getattr(policy.config, "env_id", None) is not None:
        meta.setdefault("env_id", policy.config.env_id)
    try:
        meta = json.loads(json.dumps(meta))  # primitives only; tuples become lists
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"Checkpoint meta must be JSON-serialisable (str, int, float, bool, None, list, dict). {err}"
        ) from None
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
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(
    path: str | os.PathLike,
    expected_env_id: str | None = None,
    expected_obs_dim: int | None = None,
    expected_action_dim: int | None = None,
    *,
    regenerate_hint: str | None = None,
    map_location: str | torch.device = "cpu",
) -> tuple[BaseChunkPolicy, dict[str, Any]]:
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
    redo = (
        f"Regenerate it with: {regenerate_hint}"
        if regenerate_hint
        else ("Remake it by training a policy (labkit.behaviour_cloning) and saving it with labkit.save.")
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
        raise CheckpointError(
            f"{path} is not a labkit checkpoint, or it is truncated or corrupt. Delete it. {redo}"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a labkit checkpoint, or it is truncated or corrupt "
            f"({type(err).__name__}). Delete it. {redo}"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{path} is not a labkit checkpoint (format {found!r}, expected {CHECKPOINT_FORMAT!r}). {redo}"
        )
    version = payload.get("version")
    if version != CHECKPOINT_VERSION:
        advice = "Upgrade labkit." if isinstance(version, int) and version > CHECKPOINT_VERSION else redo
        raise CheckpointError(
            f"Checkpoint {path} has version {version!r}; this labkit reads version {CHECKPOINT_VERSION}. {advice}"
        )
    kind, config, meta = payload.get("kind"), payload.get("config"), payload.get("meta") or {}
    if kind not in POLICY_CLASSES or not isinstance(config, dict):
        raise CheckpointError(
            f"Checkpoint {path} has unknown policy kind {kind!r} (expected one of {sorted(POLICY_CLASSES)}). {redo}"
        )
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
        reason = str(err).splitlines()[0][:160]
        raise CheckpointError(
            f"Checkpoint {path} does not match this labkit's {kind} policy ({reason}). {redo}"
        ) from None
    policy.config.env_id = meta.get("env_id")
    return policy.to(map_location).eval(), meta
