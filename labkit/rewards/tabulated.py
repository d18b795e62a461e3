"""A position-only reward looked up in a table: render the plane once, then train at PPO speed.

A frame shows where the robot is, not how fast it moves, so the VLM reward of :mod:`.vlm` is a
function of the position alone. :func:`tabulate` evaluates it once on a ``grid x grid`` lattice of
the arena (``grid**2`` renders) and :class:`TabulatedReward` answers every later query by bilinear
interpolation: no rendering in the RL loop. With the default 61 x 61 grid the cells are about 1.6 cm,
smaller than the robot (radius 2 cm). It is an approximation of the model it was made from; the
benchmark reports both.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import LearnedReward

__all__ = ["TabulatedReward", "tabulate"]


class TabulatedReward(LearnedReward):
    """Bilinear look-up of ``table (grid, grid)`` (rows: y) over ``[-half, half]^2``.

    :param table: reward at the lattice points; ``half``: half-width of the lattice (m).
    :param env_id, obs_dim: what the tabulated model was trained for.
    :param name: the tabulated model's name (for logs and legends).
    """

    context = 0
    table: torch.Tensor

    def __init__(self, table: np.ndarray, half: float, env_id: str, obs_dim: int, name: str = "tabulated") -> None:
        super().__init__(env_id, obs_dim)
        table = np.asarray(table, dtype=np.float64)
        if table.ndim != 2 or table.shape[0] != table.shape[1] or table.shape[0] < 2:
            raise ValueError(f"table must be a square (grid, grid) array with grid >= 2. Got {table.shape}.")
        self.register_buffer("table", torch.as_tensor(table))
        self.half_width, self.name = float(half), f"{name} (tabulated)"
        self.config = {"grid": table.shape[0], "half": half, "source": name}

    def lookup(self, positions: np.ndarray) -> np.ndarray:
        """Reward ``(N,)`` at positions ``(N, 2)`` (clamped to the lattice)."""
        g = self.table.shape[0] - 1
        u = np.clip(
            (np.asarray(positions, dtype=np.float64) + self.half_width) / (2 * self.half_width) * g, 0, g
        )  # (N, 2) in cells
        i0 = np.minimum(np.floor(u).astype(int), g - 1)  # (N, 2) lower corner
        f = u - i0  # (N, 2) fraction inside the cell
        T = self.table.numpy()
        x0, y0, fx, fy = i0[:, 0], i0[:, 1], f[:, 0], f[:, 1]
        return (
            (1 - fx) * (1 - fy) * T[y0, x0]
            + fx * (1 - fy) * T[y0, x0 + 1]
            + (1 - fx) * fy * T[y0 + 1, x0]
            + fx * fy * T[y0 + 1, x0 + 1]
        )

    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        window = self._check_window(window)
        r = self.lookup(window[:, -1, :2])
        return {"total": r, "model": r}


def tabulate(model, grid: int = 61, half: float = 0.5) -> TabulatedReward:
    """Tabulate a position-only reward model (one with ``embed_positions`` and ``reward_from_embeddings``)."""
    if not hasattr(model, "embed_positions"):
        raise ValueError(f"tabulate needs a frame-based, position-only reward model. Got {type(model).__name__}.")
    xs = np.linspace(-half, half, grid)
    pos = np.array([[x, y] for y in xs for x in xs])  # (grid*grid, 2), rows along y
    table = model.reward_from_embeddings(model.embed_positions(pos)).numpy().reshape(grid, grid)  # (grid, grid)
    return TabulatedReward(table, half, model.env_id, model.obs_dim, name=model.name)
