"""Two verbs for files: ``labkit.load`` and ``labkit.save``.

``load(NAME)`` takes a shipped name (``"two_routes_demos"``, ``"two_routes_prior"``: see
``labkit.data.SHIPPED`` and ``data/README.md``) or a path; ``.npz`` files are episode datasets,
``.pt`` files policy checkpoints. Every failure is one line that says what to do: a missing shipped
file names its remake command, a damaged one says it is not a usable labkit file.

    demos = lk.load("two_routes_demos")                 # EpisodeDataset, validated and hashed
    prior = lk.load("two_routes_prior")                 # DiffusionPolicy, config.env_id set
    lk.save(policy, "runs/my_policy.pt")                # atomic; lk.load("runs/my_policy.pt")
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from labkit.data.episodes import EpisodeDataset
from labkit.data.files import load_dataset, save_dataset
from labkit.data.shipped import SHIPPED, data_path, entry, load_demos
from labkit.policies.base import BaseChunkPolicy
from labkit.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["load", "save"]

_KINDS = {".npz": "dataset", ".pt": "policy"}


#: Shipped kinds that lk.load does not build: the call that does.
_OWN_LOADERS = {
    "planner": "labkit.experiments.planning_diffusion.load_diffuser() or planning_dd.load_decision_diffuser()",
    "skills": "labkit.experiments.planning_language.load_skill_library()",
    "llm_cache": "labkit.experiments.planning_language.language_client()",
}


def load(
    name_or_path: str | os.PathLike,
    *,
    env_id: str | None = None,
    obs_dim: int | None = None,
    action_dim: int | None = None,
) -> Any:
    """Load a shipped entry by name, or a dataset (``.npz``) or policy checkpoint (``.pt``) by path.

    :param env_id: refuse a file made for another env (shipped entries always check their own).
    :param obs_dim, action_dim: refuse a policy of other sizes.
    :return: an ``EpisodeDataset`` or a policy (eval mode, ``config.env_id`` set).
    """
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        item = entry(name_or_path)
        if env_id is not None and env_id != item.env_id:
            raise ValueError(f"{name_or_path!r} was made for {item.env_id!r}, not {env_id!r}.")
        if item.kind == "dataset":
            return load_demos(name_or_path)
        if item.kind in _OWN_LOADERS:  # not a dataset or a chunk policy: its package has the loader
            raise ValueError(f"{name_or_path!r} is a {item.kind} file; load it with {_OWN_LOADERS[item.kind]}.")
        policy, _ = load_checkpoint(
            data_path(name_or_path),
            expected_env_id=item.env_id,
            expected_obs_dim=obs_dim,
            expected_action_dim=action_dim,
            regenerate_hint=item.command,
        )
        return policy
    path = Path(name_or_path)
    kind = _KINDS.get(path.suffix)
    if kind is None:
        known = ", ".join(SHIPPED)
        raise ValueError(
            f"Cannot load {str(name_or_path)!r}: give a shipped name ({known}) or a path ending in "
            ".npz (dataset) or .pt (policy checkpoint)."
        )
    if kind == "dataset":
        return load_dataset(path, expected_env_id=env_id)
    policy, _ = load_checkpoint(path, expected_env_id=env_id, expected_obs_dim=obs_dim, expected_action_dim=action_dim)
    return policy


def save(obj: EpisodeDataset | BaseChunkPolicy, path: str | os.PathLike, meta: dict[str, Any] | None = None) -> Path:
    """Save a dataset (to ``.npz``) or a trained policy (to ``.pt``), atomically; return the path.

    :param meta: JSON-friendly notes stored with a policy (the command that made it, a dataset hash ...).
    """
    path = Path(path)
    if isinstance(obj, EpisodeDataset):
        if path.suffix != ".npz":
            raise ValueError(f"datasets are saved as .npz files. Got {str(path)!r}.")
        if meta:
            raise ValueError("a dataset carries its own metadata (made when it was collected); meta= is for policies.")
        return save_dataset(obj, path)
    if isinstance(obj, BaseChunkPolicy):
        if path.suffix != ".pt":
            raise ValueError(f"policies are saved as .pt checkpoints. Got {str(path)!r}.")
        return save_checkpoint(obj, path, meta)
    raise TypeError(f"labkit.save takes an EpisodeDataset or a trained labkit policy. Got {type(obj).__name__}.")
