"""Probes of a representation: can the robot's position be read off it, and which frames are its neighbours."""

from __future__ import annotations

import numpy as np
import torch

from labkit.world_models.representation import Representation

__all__ = ["position_probe", "nearest_frames"]


def position_probe(
    rep: Representation, frames: np.ndarray, positions: np.ndarray, steps: int = 1_500, seed: int = 0
) -> dict[str, float]:
    """How well the robot's position can be read off the latent: a small MLP fitted on half, tested on half.

    :returns: ``median_error`` and ``p90_error`` in metres on the held-out half.
    """
    torch.manual_seed(seed)
    z, p = torch.as_tensor(rep.encode(frames)), torch.as_tensor(positions, dtype=torch.float32)
    n = len(z) // 2
    net = torch.nn.Sequential(torch.nn.Linear(z.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 2))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(steps):
        loss = ((net(z[:n]) - p[:n]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        err = torch.linalg.norm(net(z[n:]) - p[n:], dim=1)
    return {"median_error": float(err.median()), "p90_error": float(err.quantile(0.9))}


def nearest_frames(rep: Representation, frames: np.ndarray, queries: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices ``(Q, k)`` of the ``k`` frames nearest to each query frame in ``rep``'s embedding (self excluded)."""
    z, q = rep.embed(frames), rep.embed(queries)
    d = torch.cdist(q, z)  # (Q, N)
    d[d < 1e-6] = float("inf")  # the query itself, if it is in the set
    return torch.topk(d, k, largest=False).indices.numpy()
