"""The Stable-Baselines3 glue: one callback (progress + periodic evaluation) and an interrupt-safe ``learn``.

    monitor = TrainingMonitor(eval_env="labkit/TwoRoutes-v0", eval_every=5_000, n_eval_episodes=20)
    learn(model, 50_000, monitor)          # Ctrl-C stops early and keeps what was learned
    monitor.log.curve("success_rate")      # (env steps, success) for viz.curves

Steps are *environment* steps, counted from the step infos: an agent whose one step executes a chunk
of Ta env steps (DSRL, through ``ActionChunkWrapper``'s ``info["chunk_steps"]``) counts Ta, so
methods are compared at equal env-step budgets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from labkit.rollout import Episode, evaluate
from labkit.runtime import check_int
from labkit.train.log import TrainLog
from labkit.train.loop import training

__all__ = ["TrainingMonitor", "learn"]


class TrainingMonitor(BaseCallback):
    """A ``tqdm.auto`` bar over environment steps, periodic evaluation, and an optional env-step budget.

    :param eval_env: what to evaluate in: an env id or zero-argument factory (``labkit.evaluate``:
        ``n_eval_episodes`` episodes from seeds ``eval_seed, eval_seed + 1, ...``), an SB3 ``VecEnv`` of
        the kind the agent trains in (each env's first episode, reseeded with ``eval_seed`` every
        time; for agents acting in a labkit wrapper), or None (no evaluation).
    :param eval_every: environment steps between evaluations.
    :param n_eval_episodes: episodes per evaluation (env id or factory).
    :param total_env_steps: stop training after this many environment steps (None: SB3's own budget).
    :param deterministic: evaluate the mean action (False: sample from the agent's policy).
    :param success: ``Episode -> bool`` for tasks without ``info["is_success"]`` (env id or factory).

    ``log`` (a :class:`~labkit.train.log.TrainLog`) gets one history row per evaluation:
    ``env_steps``, ``success_rate``, ``mean_return``, ``seconds`` (training wall time, evaluations
    excluded).
    """

    def __init__(
        self,
        eval_env: str | Callable | VecEnv | None = None,
        eval_every: int = 5_000,
        n_eval_episodes: int = 10,
        *,
        total_env_steps: int | None = None,
        deterministic: bool = True,
        eval_seed: int = 10_000,
        success: Callable[[Episode], bool] | None = None,
        progress: bool = True,
        desc: str | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.eval_env, self.eval_every = eval_env, check_int("eval_every", eval_every)
        self.n_eval_episodes = check_int("n_eval_episodes", n_eval_episodes)
        self.total = None if total_env_steps is None else check_int("total_env_steps", total_env_steps)
        self.deterministic, self.eval_seed, self.success = deterministic, eval_seed, success
        self.progress, self.desc = progress, desc
        self.log = TrainLog()
        self.env_steps = 0
        self._bar: tqdm | None
        self._next, self._eval_time, self._t0, self._bar = 0, 0.0, 0.0, None

    def _evaluate(self) -> None:
        assert self.eval_env is not None  # the callers check it
        t = time.perf_counter()
        if isinstance(self.eval_env, VecEnv):
            res = evaluate(self.model, self.eval_env, seed=self.eval_seed, deterministic=self.deterministic)
        else:
            res = evaluate(
                self.model,
                self.eval_env,
                self.n_eval_episodes,
                seed=self.eval_seed,
                deterministic=self.deterministic,
                progress=False,
                batch_size=self.n_eval_episodes,
                success=self.success,
            )
        self._eval_time += time.perf_counter() - t
        self.log.record(
            env_steps=self.env_steps,
            success_rate=res.success_rate,
            mean_return=float(np.nanmean(res.returns)),
            seconds=time.perf_counter() - self._t0 - self._eval_time,
        )
        if self._bar is not None:
            self._bar.set_postfix(
                ret=f"{np.nanmean(res.returns):.2f}", success=f"{res.success_rate:.0%}", refresh=False
            )
        self._next = self.env_steps + self.eval_every

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter() - self.log.seconds
        total = self.total or self.locals.get("total_timesteps")
        self._bar = tqdm(
            total=total,
            desc=self.desc or type(self.model).__name__,
            unit="env step",
            disable=not self.progress,
            leave=False,
        )
        self._bar.update(self.env_steps)
        if self.eval_env is not None and not self.log.history:
            self._evaluate()

    def _on_step(self) -> bool:
        new = sum(int(info.get("chunk_steps", 1)) for info in self.locals["infos"])  # (n_envs,) infos
        self.env_steps += new
        self.log.env_steps = self.env_steps
        if self._bar is not None:
            self._bar.update(new)
        if self.eval_env is not None and self.env_steps >= self._next:
            self._evaluate()
        return self.total is None or self.env_steps < self.total

    def _on_training_end(self) -> None:
        if self.eval_env is not None and (not self.log.history or self.log.history[-1]["env_steps"] != self.env_steps):
            self._evaluate()
        self.log.seconds = time.perf_counter() - self._t0 - self._eval_time
        if self._bar is not None:
            self._bar.close()


def _monitors(callback: Any) -> list[TrainingMonitor]:
    if isinstance(callback, TrainingMonitor):
        return [callback]
    if isinstance(callback, (list, tuple)):
        return [m for c in callback for m in _monitors(c)]
    if isinstance(callback, CallbackList):
        return _monitors(callback.callbacks)
    return []


def learn(model: BaseAlgorithm, total_timesteps: int, callback: Any = None, **kwargs: Any) -> BaseAlgorithm:
    """``model.learn(...)`` that survives an interrupt: the weights learned so far are kept.

    :returns: the model (trained up to the interrupt, if there was one; a ``TrainingMonitor`` in
        ``callback`` then has ``log.interrupted = True``).
    """
    monitors = _monitors(callback)
    run = TrainLog()
    with training(run, total=None, desc=f"{type(model).__name__} training", progress=False):
        model.learn(check_int("total_timesteps", total_timesteps), callback=callback, **kwargs)
    for m in monitors:
        m.log.interrupted = m.log.interrupted or run.interrupted
        if m._bar is not None:
            m._bar.close()
    return model
