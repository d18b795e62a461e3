"""Constraints on action chunks, expressed through the path they drive.

A chunk of velocity commands ``a_0 .. a_{N-1}`` (each in [-1, 1]^2) integrated from the robot's
position ``p_0`` is the short path it would drive (``labkit.viz.denoising.chunks_to_paths``; on
TwoRoutes one full command moves ``step_length = 0.5 m/s x 0.05 s = 0.025 m``)::

    p_{k+1} = p_k + step_length * clip(a_k, -1, 1)

A chunk is *feasible* when every waypoint ``p_1 .. p_N`` keeps ``margin`` away from every hazard.
``project_actions`` maps any chunk to a feasible one with as few changes as it can: it walks the
path and, where a waypoint would land inside, moves it radially to the grown disk's boundary (the
exact Euclidean projection for one disk) and rewrites that one action so it lands there. Actions
whose waypoints are already feasible are returned unchanged (not even clipped), so projecting a
feasible chunk is the identity.
"""

from __future__ import annotations

import numpy as np
import torch

from labkit.safety.hazards import Hazards

__all__ = ["STEP_LENGTH", "paths_from_actions", "project_actions", "is_feasible"]

#: Metres per control step at a full command on TwoRoutes (0.5 m/s x 0.05 s).
STEP_LENGTH = 0.025


def paths_from_actions(actions: torch.Tensor, start: torch.Tensor, step_length: float = STEP_LENGTH) -> torch.Tensor:
    """Differentiable ``chunks_to_paths``: actions (B, N, 2), start (B, 2) -> waypoints (B, N + 1, 2)."""
    steps = torch.cumsum(actions.clamp(-1.0, 1.0) * step_length, dim=1)  # (B, N, 2)
    return torch.cat([start[:, None, :], start[:, None, :] + steps], dim=1)  # (B, N + 1, 2)


def _project_rows(q: np.ndarray, hazards: Hazards, margin: float) -> np.ndarray:
    """Push every point of q (R, 2) radially out of every disk grown by margin (disk after disk)."""
    q = q.copy()
    for center, radius in zip(hazards.centers, hazards.radii + margin):
        offset = q - center  # (R, 2)
        dist = np.linalg.norm(offset, axis=-1)  # (R,)
        inside = dist < radius
        if inside.any():
            safe = np.where(
                dist[inside, None] > 1e-9, offset[inside] / np.maximum(dist[inside, None], 1e-9), [1.0, 0.0]
            )
            q[inside] = center + radius * safe
    return q


def project_actions(
    actions: np.ndarray, start: np.ndarray, hazards: Hazards, margin: float = 0.0, step_length: float = STEP_LENGTH
) -> np.ndarray:
    """The nearest feasible chunk, waypoint by waypoint (see the module docstring).

    :param actions: (B, N, 2) raw velocity commands.
    :param start: (B, 2) the robot's position now.
    :param margin: clearance kept from every disk (m).
    :returns: (B, N, 2); rows whose path already keeps ``margin`` are unchanged. If a rewritten
        action cannot reach the boundary within [-1, 1], the robot stays where it is for that step
        (feasible whenever the previous waypoint was), or, if it starts inside a hazard, moves
        straight out as fast as it can.
    """
    a = np.array(actions, dtype=np.float64, copy=True)  # (B, N, 2)
    if a.ndim != 3 or a.shape[-1] != 2:
        raise ValueError(f"actions must be (B, N, 2) velocity commands. Got {a.shape}.")
    p = np.broadcast_to(np.asarray(start, dtype=np.float64), (len(a), 2)).copy()  # (B, 2)
    for k in range(a.shape[1]):
        q = p + step_length * np.clip(a[:, k], -1.0, 1.0)  # (B, 2) next waypoint
        bad = hazards.signed_distance(q) < margin  # (B,)
        if bad.any():
            target = _project_rows(q[bad], hazards, margin)  # (R, 2)
            new = np.clip((target - p[bad]) / step_length, -1.0, 1.0)  # (R, 2)
            landed = p[bad] + step_length * new
            stuck = hazards.signed_distance(landed) < margin
            if stuck.any():  # cannot reach the boundary this step: stay, or leave a hazard by the shortest way
                rows = np.flatnonzero(bad)[stuck]
                outside = hazards.signed_distance(p[rows]) >= margin
                new[stuck] = 0.0
                if (~outside).any():
                    away = _project_rows(p[rows[~outside]], hazards, margin + step_length) - p[rows[~outside]]
                    new[np.flatnonzero(stuck)[~outside]] = np.clip(away / step_length, -1.0, 1.0)
                landed = p[bad] + step_length * new
            a[bad, k] = new
            q[bad] = landed
        p = q
    return a


def is_feasible(
    actions: np.ndarray, start: np.ndarray, hazards: Hazards, margin: float = 0.0, step_length: float = STEP_LENGTH
) -> np.ndarray:
    """(B,) True where every waypoint p_1..p_N of the chunk keeps ``margin`` from every disk."""
    paths = paths_from_actions(
        torch.as_tensor(np.asarray(actions, dtype=np.float64)),
        torch.as_tensor(np.broadcast_to(start, (len(actions), 2)).astype(np.float64)),
        step_length,
    ).numpy()  # (B, N + 1, 2)
    return np.asarray((hazards.signed_distance(paths[:, 1:]) >= margin - 1e-9).all(axis=1))
