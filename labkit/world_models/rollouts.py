"""Open-loop imagination: how far each ensemble member drifts from a real trajectory, step after step."""

from __future__ import annotations

import numpy as np

from labkit.world_models.ensemble import ProbabilisticEnsemble

__all__ = ["open_loop"]


def open_loop(
    ensemble: ProbabilisticEnsemble, observations: np.ndarray, actions: np.ndarray, starts: list[int], horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Replay a real trajectory's actions through every member, each feeding its own mean prediction back in.

    :param observations: ``(T + 1, D)`` a real trajectory; ``actions``: ``(T, A)`` the actions taken on it.
    :param starts: indices ``i`` with ``i + horizon <= T``; each is one branch point.
    :returns: ``real (N, H + 1, D)`` the real states from each start, and ``pred (N, K, H + 1, D)`` each member's.
    """
    t = len(actions)
    if len(observations) != t + 1 or any(i < 0 or i + horizon > t for i in starts):
        raise ValueError(
            f"need observations (T + 1, D), actions (T, A) and starts + horizon <= T = {t}. "
            f"Got {observations.shape}, {actions.shape}, starts {list(starts)}, horizon {horizon}."
        )
    k = ensemble.config.n_members
    real, pred = [], []
    for i in starts:
        s = np.repeat(observations[i][None].astype(np.float32), k, axis=0)  # (K, D): one row per member
        path = [s]
        for a in actions[i : i + horizon]:
            mean, _ = ensemble.predict_all(s, np.repeat(np.asarray(a, np.float32)[None], k, axis=0))  # (K, K, D + 1)
            s = s + mean[np.arange(k), np.arange(k), : ensemble.obs_dim].numpy()  # member m, on its own row m
            path.append(s)
        real.append(observations[i : i + horizon + 1])
        pred.append(np.stack(path, axis=1))  # (K, H + 1, D)
    return np.stack(real), np.stack(pred)
