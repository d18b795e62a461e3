"""Stable-Baselines3 callbacks: a live progress bar and evaluation records for plotting.

>>> cb = TrainingMonitor(eval_env="labkit/TwoRoutes-v0", eval_every=5_000, n_eval_episodes=20)
>>> learn(model, 50_000, cb)          # Ctrl-C stops early and keeps what was learned
>>> cb.history["steps"], cb.history["success_rate"]

``learn`` wraps ``model.learn`` so that an interrupt (Ctrl-C, or the notebook's stop button)
ends training cleanly: the model keeps the weights it has, and the history so far is kept.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm

__all__ = ["TrainingMonitor", "learn"]


class TrainingMonitor(BaseCallback):
    """A ``tqdm.auto`` bar over environment steps plus periodic evaluation.

    :param eval_env: env id or zero-argument env factory for evaluation (``None``: no evaluation).
    :param eval_every: evaluate every this many environment steps (counted over all vector envs).
    :param n_eval_episodes: episodes per evaluation (seeds ``eval_seed, eval_seed + 1, ...``).
    :param deterministic: evaluate the mean action.

    ``history`` holds lists ``steps``, ``mean_return``, ``success_rate`` and ``seconds`` (wall time).
    """

    def __init__(
        self,
        eval_env: str | Callable | None = None,
        eval_every: int = 5_000,
        n_eval_episodes: int = 10,
        deterministic: bool = True,
        eval_seed: int = 10_000,
        progress: bool = True,
        verbose: int = 0,
    ):
        super().__init__(verbose)
        if eval_every < 1:
            raise ValueError(f"eval_every must be >= 1. Got {eval_every}.")
        self.eval_env, self.eval_every, self.n_eval_episodes = eval_env, eval_every, n_eval_episodes
        self.deterministic, self.eval_seed, self.progress = deterministic, eval_seed, progress
        self.history: dict[str, list[float]] = {"steps": [], "mean_return": [], "success_rate": [], "seconds": []}
        self._bar: Any = None
        self._next_eval = 0
        self._t0 = 0.0

    def _on_training_start(self) -> None:
        import time

        self._t0 = time.perf_counter()
        total = self.locals.get("total_timesteps", None)
        self._bar = tqdm(total=total, desc=type(self.model).__name__, unit="step", disable=not self.progress)
        self._next_eval = self.num_timesteps
        self._maybe_evaluate()

    def _maybe_evaluate(self) -> None:
        if self.eval_env is None or self.num_timesteps < self._next_eval:
            return
        import time

        from labkit.evaluate import evaluate

        res = evaluate(self.model, self.eval_env, self.n_eval_episodes, seed=self.eval_seed,
                       deterministic=self.deterministic, progress=False, batch_size=self.n_eval_episodes)
        self.history["steps"].append(int(self.num_timesteps))
        self.history["mean_return"].append(float(np.mean(res.returns)))
        self.history["success_rate"].append(res.success_rate)
        self.history["seconds"].append(time.perf_counter() - self._t0)
        if self._bar is not None:
            self._bar.set_postfix(ret=f"{np.mean(res.returns):.2f}", success=f"{res.success_rate:.0%}")
        self._next_eval = self.num_timesteps + self.eval_every

    def _on_step(self) -> bool:
        if self._bar is not None:
            self._bar.update(self.training_env.num_envs)
        self._maybe_evaluate()
        return True

    def _on_training_end(self) -> None:
        if self.eval_env is not None and (not self.history["steps"] or self.history["steps"][-1] != self.num_timesteps):
            self._next_eval = 0
            self._maybe_evaluate()
        if self._bar is not None:
            self._bar.close()


def learn(model: BaseAlgorithm, total_timesteps: int, callback: BaseCallback | None = None, **kwargs) -> BaseAlgorithm:
    """``model.learn(...)`` that survives an interrupt: the weights learned so far are kept.

    :returns: the model (trained up to the interrupt, if there was one).
    """
    try:
        model.learn(total_timesteps, callback=callback, **kwargs)
    except KeyboardInterrupt:
        warnings.warn(f"training interrupted at {model.num_timesteps} steps; the model keeps what it learned so far",
                      stacklevel=2)
        if isinstance(callback, TrainingMonitor) and callback._bar is not None:
            callback._bar.close()
    return model
