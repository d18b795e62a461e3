"""What every learned reward model in this package shares: the contract with the wrapper.

A reward model is trained for ONE task (``env_id``) and ONE observation size (``obs_dim``); the
wrapper (:mod:`.wrapper`) refuses it elsewhere with a :class:`RewardMismatchError`.

The wrapper keeps, per vectorised env, the last ``history_length = context * stride + 1`` observations
and calls the model once per vector step with all of them. The model looks at every ``stride``-th
one (``stride`` = the frame skip of a video model: over several control steps the agent's action
noise averages out and the expert's direction shows)::

    window (B, k*m + 1, obs_dim) -> [s_{t+1-km}, ..., s_{t+1-m}, s_{t+1}]      k = context, m = stride
                                     \\_______ history _______/  newest: the state just reached

At the start of an episode the first observation is repeated to fill the history (as Diffusion
Reward does with its first frames). ``step_reward(window, actions)`` returns a dict of ``(B,)``
arrays: ``"total"`` (what the agent is paid) plus one entry per term (``"model"``, ``"explore"``
...), so the wrapper can log each term. Episode-level models (``episodic = True``) pay nothing per
step and are asked ``episode_reward([obs sequence (T_i, obs_dim), ...])`` when episodes end.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from labkit.io import atomic_write
from labkit.train import TrainLog, training

__all__ = [
    "LearnedReward",
    "RewardMismatchError",
    "RunningStd",
    "fit",
    "load_reward_model",
    "save_reward_model",
    "symlog",
]


class RewardMismatchError(ValueError):
    """A reward model used with an env (or observation size) it was not trained for."""


def fit(step_fn: Callable[[int], float], iterations: int, desc: str, progress: bool = True) -> TrainLog:
    """Call ``step_fn(i) -> loss`` for ``i < iterations`` inside the kit's scaffold (bar, Ctrl-C keeps the weights).

    :return: a ``TrainLog`` with ``losses["loss"]`` per iteration and ``meta["cpu_seconds"]``.
    """
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0. Got {iterations}.")
    log = TrainLog(meta={"model": desc, "iterations": iterations})
    losses = log.losses.setdefault("loss", [])
    c0 = time.process_time()
    with training(log, total=iterations, desc=desc, progress=progress) as bar:
        for i in range(iterations):
            losses.append(float(step_fn(i)))
            log.iterations_done = i + 1
            bar.update(1)
            if i % 50 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    log.meta["cpu_seconds"] = time.process_time() - c0
    return log


def symlog(x: torch.Tensor) -> torch.Tensor:
    """``sign(x) * log(1 + |x|)`` (DreamerV3's squashing): keeps the order, compresses the tails."""
    return torch.sign(x) * torch.log1p(x.abs())


class RunningStd:
    """Running mean and variance of a stream of scalars (Welford / Chan's parallel update).

    Used to standardise exploration bonuses online, as RND does with its intrinsic reward.
    """

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def update(self, x: np.ndarray) -> None:
        """Fold a batch ``x`` (any shape) into the statistics."""
        x = np.asarray(x, dtype=np.float64).ravel()
        if x.size == 0:
            return
        n_b, mean_b, m2_b = x.size, float(x.mean()), float(((x - x.mean()) ** 2).sum())
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta**2 * self.n * n_b / n
        self.n = n

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / self.n)) if self.n > 1 else 1.0


class LearnedReward(nn.Module):
    """Base class: a reward model trained from demonstrations of one env.

    Subclasses set ``name``, ``context`` and ``episodic`` and implement :meth:`step_reward` (or
    :meth:`episode_reward`). ``config`` is the subclass's dataclass config; checkpoints store it.

    :param env_id: the task the model was trained for, e.g. ``"labkit/TwoRoutes-v0"``.
    :param obs_dim: the observation size it expects.
    """

    name: str = "learned"
    config: Any = None
    context: int = 1
    stride: int = 1
    episodic: bool = False

    @property
    def history_length(self) -> int:
        """Observations per window: ``context * stride + 1`` (the model looks at every ``stride``-th)."""
        return self.context * self.stride + 1

    def __init__(self, env_id: str, obs_dim: int) -> None:
        super().__init__()
        self.env_id, self.obs_dim = str(env_id), int(obs_dim)

    # --- the wrapper's checks -------------------------------------------------------------
    def check_compatible(self, env_id: str | None, obs_dim: int, *, check_env_id: bool = True) -> None:
        """Raise :class:`RewardMismatchError` unless this model fits ``env_id`` / ``obs_dim``.

        ``env_id`` may be None (an env built by hand): then only the size is checked.
        """
        if obs_dim != self.obs_dim:
            raise RewardMismatchError(
                f"{type(self).__name__} was trained on observations of size {self.obs_dim} "
                f"({self.env_id}); this env's observations have size {obs_dim}. Train a reward model "
                "on demonstrations of this env."
            )
        if check_env_id and env_id is not None and env_id != self.env_id:
            raise RewardMismatchError(
                f"{type(self).__name__} was trained for {self.env_id!r}, not {env_id!r}. Train one on "
                f"{env_id!r} demonstrations, or pass check_env_id=False if the mismatch is on purpose."
            )

    # --- what subclasses implement --------------------------------------------------------
    def step_reward(self, window: np.ndarray, actions: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per-step reward terms for a batch of windows.

        :param window: ``(B, context + 1, obs_dim)`` observations, newest last.
        :param actions: ``(B, action_dim)`` the actions that led to the newest observation.
        :return: ``{"total": (B,), <term>: (B,), ...}`` float arrays.
        """
        B = len(window)
        return {"total": np.zeros(B)}

    def episode_reward(self, episodes: list[np.ndarray]) -> np.ndarray:
        """``(n,)`` rewards for finished episodes (observation sequences ``(T_i, obs_dim)``)."""
        return np.zeros(len(episodes))

    def observe(self, window: np.ndarray, actions: np.ndarray | None = None) -> None:
        """Hook for terms that learn online (RND, disagreement): called after every step."""

    def reset_online(self) -> None:
        """Forget what the online terms learned (a fresh copy for a new RL run)."""

    def fresh(self) -> LearnedReward:
        """A copy for a new RL run: same trained model, online terms reset."""
        clone = copy.deepcopy(self)
        clone.reset_online()
        return clone

    def _check_window(self, window: np.ndarray) -> np.ndarray:
        """Validate ``(B, history_length, obs_dim)``; keep every ``stride``-th state: ``(B, k + 1, obs_dim)``."""
        window = np.asarray(window, dtype=np.float32)
        want = (self.history_length, self.obs_dim)
        if window.ndim != 3 or window.shape[1:] != want:
            raise ValueError(
                f"{type(self).__name__} expects windows of shape (B, {want[0]}, {want[1]}). Got {window.shape}."
            )
        return np.ascontiguousarray(window[:, :: self.stride])  # (B, k+1, obs_dim), the newest state last


def save_reward_model(model: LearnedReward, path: str | Path) -> Path:
    """Save a trained reward model (config, weights, env id) to one ``.pt`` file."""
    blob = {
        "class": type(model).__name__,
        "config": model.config,
        "env_id": model.env_id,
        "obs_dim": model.obs_dim,
        "state_dict": model.state_dict(),
    }
    return atomic_write(Path(path), lambda f: torch.save(blob, f))


def load_reward_model(path: str | Path, classes: dict[str, Any]) -> LearnedReward:
    """Load what :func:`save_reward_model` wrote; ``classes`` maps class names to classes."""
    blob = torch.load(Path(path), map_location="cpu", weights_only=False)
    cls = classes.get(blob["class"])
    if cls is None:
        raise ValueError(f"{path} holds a {blob['class']}; known reward models: {', '.join(classes)}.")
    model = cls(blob["config"], env_id=blob["env_id"], obs_dim=blob["obs_dim"])
    model.load_state_dict(blob["state_dict"])
    return model
