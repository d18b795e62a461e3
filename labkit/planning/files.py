"""Planner checkpoints: one torch file of plain dicts (configs, weights, JSON-friendly meta), no timings,
so the same training run writes the same bytes. ``lk.load`` knows datasets and chunk policies; planners
load here (``load_planner``), and the skill library with ``SkillLibrary.load``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from labkit.io import atomic_write

from .decision_diffuser import DecisionDiffuser
from .diffuser import Diffuser
from .guidance import TrajectoryValue

__all__ = ["FORMAT", "load_planner", "save_planner"]

FORMAT = "labkit-planner"
_KINDS: dict[str, Any] = {
    "diffuser": Diffuser,
    "trajectory_value": TrajectoryValue,
    "decision_diffuser": DecisionDiffuser,
}


def save_planner(path: str | os.PathLike, models: dict[str, Any], meta: dict[str, Any] | None = None) -> Path:
    """Write ``{name: model}`` (each with ``.state()``) and ``meta`` to ``path`` atomically."""
    payload = {"format": FORMAT, "models": {k: m.state() for k, m in models.items()}, "meta": dict(meta or {})}
    return atomic_write(Path(path), lambda f: torch.save(payload, f))


def load_planner(path: str | os.PathLike, *, hint: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """``({name: model (eval mode)}, meta)`` from a file written by :func:`save_planner`.

    :param hint: what to do if the file is missing or foreign (e.g. the command that remakes it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no planner checkpoint at {path}; {hint or 'save one with save_planner()'}")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not a labkit planner checkpoint (format {FORMAT!r}). {hint}")
    models = {k: _KINDS[s["kind"]].from_state(s) for k, s in blob["models"].items()}
    return models, blob["meta"]
