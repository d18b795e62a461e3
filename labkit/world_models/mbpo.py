"""MBPO inside stock SB3 SAC: a replay buffer that mixes real and imagined data, and a callback.

::

    env step --> real buffer ----every `train_every` steps----> fit the ensemble on all of it
                      |
                      +--every `rollout_every` steps: `rollout_starts` real states
                      |     --k = `rollout_length` imagined steps with SAC's own actor--> model buffer
                      v
    SAC update (G = gradient_steps per env step): a batch = `real_ratio` real + the rest imagined

>>> sac = SAC("MlpPolicy", env, replay_buffer_class=MixedReplayBuffer,
...           replay_buffer_kwargs=dict(real_ratio=0.5, model_size=50_000), gradient_steps=3)
>>> sac.learn(5_000, callback=ModelRolloutCallback(ensemble, MBPOConfig(), done_fn=two_routes_done))

Short branched rollouts (Janner et al. 2019, arXiv 1906.08253) start from states the agent really
visited, so the model is only trusted a few steps away from real data, where its error is small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from labkit.world_models.ensemble import ProbabilisticEnsemble

__all__ = ["MBPOConfig", "MixedReplayBuffer", "ModelRolloutCallback"]

DoneFn = Callable[[np.ndarray], np.ndarray]  # next_obs (B, D) -> terminated (B,) bool
RewardFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # obs, action, next_obs -> reward (B,)


@dataclass
class MBPOConfig:
    """When the model is trained and how much imagined data it makes.

    :param warmup_steps: real env steps before the first model fit (the model needs data first).
    :param train_every: refit the ensemble every this many env steps (MBPO: 250).
    :param fit_steps: Adam steps per refit.
    :param rollout_every: branch imagined rollouts every this many env steps.
    :param rollout_starts: real states each branching starts from.
    :param rollout_length: imagined steps per branch, k (MBPO: 1 on InvertedPendulum, up to 15 elsewhere).
    :param sample: sample each member's Gaussian (MBPO) rather than take its mean.
    """

    warmup_steps: int = 500
    train_every: int = 250
    fit_steps: int = 200
    rollout_every: int = 10
    rollout_starts: int = 256
    rollout_length: int = 1
    sample: bool = True

    def __post_init__(self) -> None:
        for name in ("warmup_steps", "train_every", "fit_steps", "rollout_every", "rollout_starts", "rollout_length"):
            if getattr(self, name) < (0 if name == "warmup_steps" else 1):
                raise ValueError(f"{name} must be >= {0 if name == 'warmup_steps' else 1}. Got {getattr(self, name)}.")


class MixedReplayBuffer(ReplayBuffer):
    """SB3's ReplayBuffer plus a ring of imagined transitions; ``sample`` mixes the two.

    :param real_ratio: fraction of each batch drawn from real transitions (1.0 = model-free SAC).
    :param model_size: capacity of the imagined ring (old imagined data is overwritten first).
    """

    def __init__(self, *args, real_ratio: float = 0.5, model_size: int = 50_000, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0.0 <= real_ratio <= 1.0 or model_size < 1:
            raise ValueError(f"need 0 <= real_ratio <= 1 and model_size >= 1. Got {real_ratio} and {model_size}.")
        self.real_ratio, self.model_size = float(real_ratio), int(model_size)
        d, a = int(np.prod(self.obs_shape)), self.action_dim
        self.m_obs, self.m_next = np.zeros((model_size, d), np.float32), np.zeros((model_size, d), np.float32)
        self.m_act = np.zeros((model_size, a), np.float32)
        self.m_rew, self.m_done = np.zeros(model_size, np.float32), np.zeros(model_size, np.float32)
        self.m_pos, self.m_count = 0, 0

    def real_transitions(self) -> tuple[np.ndarray, ...]:
        """All real transitions so far, flattened over envs: ``obs, action, next_obs (N, .), reward (N,)``."""
        n = self.buffer_size if self.full else self.pos
        flat = lambda x: x[:n].reshape(n * self.n_envs, *x.shape[2:])  # (n, n_envs, ...) -> (n * n_envs, ...)
        return flat(self.observations), flat(self.actions), flat(self.next_observations), flat(self.rewards)

    def add_imagined(self, obs, action, next_obs, reward, done) -> None:
        """Write a batch ``(B, .)`` of imagined transitions into the ring."""
        idx = (self.m_pos + np.arange(len(obs))) % self.model_size
        self.m_obs[idx], self.m_act[idx], self.m_next[idx] = obs, action, next_obs
        self.m_rew[idx], self.m_done[idx] = reward, done
        self.m_pos = int((self.m_pos + len(obs)) % self.model_size)
        self.m_count = min(self.model_size, self.m_count + len(obs))

    def sample(self, batch_size: int, env=None) -> ReplayBufferSamples:
        n_model = int(round((1.0 - self.real_ratio) * batch_size)) if self.m_count else 0
        real = super().sample(batch_size - n_model, env=env)
        if n_model == 0:
            return real
        i = np.random.randint(0, self.m_count, size=n_model)
        imagined = (self.m_obs[i], self.m_act[i], self.m_next[i], self.m_done[i, None], self.m_rew[i, None])
        parts = [torch.cat([r, self.to_torch(m)]) for r, m in zip(real[:5], imagined)]
        return ReplayBufferSamples(*parts)


class ModelRolloutCallback(BaseCallback):
    """Fit ``ensemble`` on SAC's real data and fill its :class:`MixedReplayBuffer` with branched rollouts.

    :param ensemble: the dynamics-and-reward model.
    :param config: schedule and sizes.
    :param done_fn: the task's termination rule on predicted next observations (MBPO's "static" functions);
        ``None``: imagined episodes never end.
    :param reward_fn: the task's reward as a function of ``(obs, action, next_obs)``; ``None`` (MBPO): the
        ensemble's learned reward.
    ``history`` records per refit: ``steps``, ``holdout_mse``, ``fit_seconds``; ``imagined`` counts transitions.
    """

    def __init__(
        self,
        ensemble: ProbabilisticEnsemble,
        config: MBPOConfig | None = None,
        done_fn: DoneFn | None = None,
        reward_fn: RewardFn | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.ensemble, self.config, self.done_fn, self.reward_fn = ensemble, config or MBPOConfig(), done_fn, reward_fn
        self.history: dict[str, list[float]] = {"steps": [], "holdout_mse": [], "fit_seconds": [], "disagreement": []}
        self.imagined = 0
        self.seconds = {"fit": 0.0, "rollout": 0.0}  # wall
        self.cpu_seconds = {"fit": 0.0, "rollout": 0.0}  # this process's CPU

    @property
    def _sac(self) -> Any:
        """The SB3 SAC being trained (typed loosely: BaseAlgorithm has no replay buffer or actor)."""
        return self.model

    def _on_training_start(self) -> None:
        if not isinstance(self._sac.replay_buffer, MixedReplayBuffer):
            raise TypeError("ModelRolloutCallback needs SAC(..., replay_buffer_class=MixedReplayBuffer).")

    def _fit(self) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        obs, act, nxt, rew = self._sac.replay_buffer.real_transitions()
        out = self.ensemble.fit(obs, act, nxt, rew, self.config.fit_steps)
        self.seconds["fit"] += time.perf_counter() - t0
        self.cpu_seconds["fit"] += time.process_time() - c0
        self.history["steps"].append(self.num_timesteps)
        self.history["holdout_mse"].append(out["holdout_mse"])
        self.history["fit_seconds"].append(time.perf_counter() - t0)

    @torch.no_grad()
    def _rollout(self) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        buf: MixedReplayBuffer = self._sac.replay_buffer
        obs_all = buf.real_transitions()[0]
        obs = obs_all[np.random.randint(0, len(obs_all), size=self.config.rollout_starts)]  # (B, D)
        spreads = []
        for _ in range(self.config.rollout_length):
            act = self._sac.actor(torch.as_tensor(obs), deterministic=False).numpy()  # (B, A), SAC's scaled actions
            nxt, rew, spread = self.ensemble.step(obs, act, sample=self.config.sample)
            if self.reward_fn is not None:
                rew = self.reward_fn(obs, act, nxt)
            done = self.done_fn(nxt) if self.done_fn is not None else np.zeros(len(obs), bool)
            buf.add_imagined(obs, act, nxt, rew, done.astype(np.float32))
            self.imagined += len(obs)
            spreads.append(float(spread.mean()))
            obs = nxt[~done]
            if len(obs) == 0:
                break
        self.history["disagreement"].append(float(np.mean(spreads)))
        self.seconds["rollout"] += time.perf_counter() - t0
        self.cpu_seconds["rollout"] += time.process_time() - c0

    def _on_step(self) -> bool:
        t, c = self.num_timesteps, self.config
        if t < c.warmup_steps:
            return True
        if t == c.warmup_steps or (t - c.warmup_steps) % c.train_every == 0 or not self.history["steps"]:
            self._fit()
        if (t - c.warmup_steps) % c.rollout_every == 0:
            self._rollout()
        return True
