"""The action check both labkit tasks share: right shape, finite, then clipped to the motor range.

Actions outside ``[-1, 1]`` are clipped, as a motor's limits would (documented in each task's
docstring and the README). Non-finite actions are refused with one line before they reach MuJoCo,
which would otherwise warn that "the simulation is unstable" and write ``MUJOCO_LOG.TXT`` into the
working directory.
"""

from __future__ import annotations

import numpy as np

__all__ = ["validate_action"]


def validate_action(action, task: str, dim: int = 2) -> np.ndarray:
    """``action`` as a float64 ``(dim,)`` array clipped to [-1, 1]; a one-line ``ValueError`` otherwise."""
    action = np.asarray(action, dtype=np.float64)
    if action.shape != (dim,):
        raise ValueError(f"{task} expects an action of shape ({dim},). Got {action.shape}.")
    if not np.all(np.isfinite(action)):
        raise ValueError(
            f"{task} got a non-finite action {action.tolist()}: check the policy's output "
            "(NaN usually means a diverged network or a NaN observation fed to it)."
        )
    return np.clip(action, -1.0, 1.0)
