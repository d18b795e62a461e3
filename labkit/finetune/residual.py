"""Residual RL on a frozen prior (ResiP-style): the agent learns a small correction to the prior's action.

Any stock SB3 agent (PPO, SAC ...) runs unchanged on ``ResidualVecEnv``; the prior is frozen and
lives inside the env wrapper, so the agent only learns the bounded correction::

    env obs o_t (n, obs_dim) --> ChunkRunner --> prior action p_t (n, A)      (one batched call
          |                                        |                         when chunks run out)
          +---------- concat ----------------------+--> agent obs [o_t, p_t] (n, obs_dim + A)
                                                   |
                               agent --> residual r_t in [-1, 1]^A (n, A)
                                                   v
              executed a_t = clip(p_t + scale * half_range * r_t, low, high) --> venv.step

``scale`` is a fraction of the action space's half-range ``(high - low) / 2``, per axis (on labkit's
tasks, whose actions lie in [-1, 1], the half-range is 1): 0.1-0.5 keeps exploration near the
prior's behaviour, 1.0 lets the agent override it. A zero residual replays the prior exactly, so the
agent starts at the prior's success rate.

Recorded for plotting: ``residual_history()`` (steps, n_envs), the size of every executed correction.
Truncated episodes get their ``terminal_observation`` augmented too (with the action the prior would
take there), so the critic bootstraps from the right input. ``deploy(agent, n)`` runs a trained
agent on the plain env (``labkit.evaluate(agent, env_id)`` uses it).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from labkit.finetune.prior import PriorActor, env_id_of, monitored_vec_env, prior_runner
from labkit.policies.base import ChunkPolicy, check_fits

__all__ = ["ResidualVecEnv", "make_residual_env"]


class _ResidualActor(PriorActor):
    """A trained residual agent on the plain env (for ``labkit.evaluate``): the prior plus its correction."""

    def __init__(
        self, env: ResidualVecEnv, agent: Any, n: int, deterministic: bool, generator: torch.Generator
    ) -> None:
        super().__init__(env.prior, agent, n, deterministic, generator, **env.runner_kwargs)
        self.env = env

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        self.runner.observe_active(obs, active)
        prior_action = self.runner.next_action(active)  # (n, A)
        residual, _ = self.agent.predict(self.env._augment(obs, prior_action), deterministic=self.deterministic)
        return self.env.execute(prior_action, residual)


class ResidualVecEnv(VecEnvWrapper):
    """The agent sees ``[obs, prior action]`` and outputs a residual in [-1, 1]^A.

    :param venv: the task's vectorised env (Box observations and actions).
    :param prior: the frozen labkit chunk policy.
    :param scale: residual scale, a fraction of the action half-range (see the module docstring).
    :param check_env_id: False to adapt a prior trained on another env on purpose.
    :param seed: seeds the prior's sampling.
    :param runner_kwargs: passed to ``prior_runner`` (``sampler``, ``num_inference_steps``, ``n_action_steps``).
    """

    def __init__(
        self,
        venv: VecEnv,
        prior: ChunkPolicy,
        scale: float = 0.3,
        *,
        check_env_id: bool = True,
        seed: int = 0,
        **runner_kwargs: Any,
    ) -> None:
        obs_space, act_space = venv.observation_space, venv.action_space
        if not (isinstance(obs_space, spaces.Box) and isinstance(act_space, spaces.Box)):
            raise ValueError(
                f"ResidualVecEnv needs Box observation and action spaces. Got {obs_space} and {act_space}."
            )
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a finite number > 0. Got {scale}.")
        obs_dim, action_dim = int(np.prod(obs_space.shape)), int(np.prod(act_space.shape))
        check_fits(prior, env_id_of(venv), obs_dim, action_dim, check_env_id=check_env_id)
        low = np.concatenate([np.full(obs_dim, -np.inf), act_space.low]).astype(np.float32)
        high = np.concatenate([np.full(obs_dim, np.inf), act_space.high]).astype(np.float32)
        super().__init__(
            venv,
            observation_space=spaces.Box(low, high, dtype=np.float32),  # [obs (obs_dim), prior action (A)]
            action_space=spaces.Box(-1.0, 1.0, (action_dim,), dtype=np.float32),  # the residual
        )
        self.prior, self.scale, self.low, self.high = prior, float(scale), act_space.low, act_space.high
        self.half_range = ((act_space.high - act_space.low) / 2).astype(np.float32)  # (A,)
        self.runner_kwargs = {"seed": seed, **runner_kwargs}
        self.runner = prior_runner(prior, venv.num_envs, **self.runner_kwargs)
        self.prior_action = np.zeros((venv.num_envs, action_dim), np.float32)  # (n, A) p_t
        self.residual_norms: list[np.ndarray] = []  # one (n,) array per step

    def _augment(self, obs: np.ndarray, prior_action: np.ndarray) -> np.ndarray:
        return np.concatenate([obs, prior_action], axis=-1).astype(np.float32)  # (n, obs_dim + A)

    def correction(self, residual: np.ndarray) -> np.ndarray:
        """The agent's residual in env units (n, A): ``scale * half_range * clip(residual, -1, 1)``."""
        return self.scale * self.half_range * np.clip(residual, -1.0, 1.0)

    def execute(self, prior_action: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """The executed action (n, A): ``clip(prior + correction(residual), low, high)``."""
        return np.clip(prior_action + self.correction(residual), self.low, self.high)

    def reset(self) -> np.ndarray:
        obs = cast(np.ndarray, self.venv.reset())  # (n, obs_dim), a Box
        self.runner.reset(obs)
        self.prior_action = self.runner.next_action()  # (n, A)
        return self._augment(obs, self.prior_action)

    def step_async(self, actions: np.ndarray) -> None:
        correction = self.correction(actions)  # (n, A)
        self.residual_norms.append(np.linalg.norm(correction, axis=-1))  # (n,)
        self.venv.step_async(np.clip(self.prior_action + correction, self.low, self.high))

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()  # obs of done envs = first obs of their next episode
        rows = np.array([i for i in np.flatnonzero(dones) if infos[i].get("TimeLimit.truncated", False)], dtype=int)
        if len(rows):  # bootstrap input [terminal obs, what the prior would do there]
            last = np.stack([infos[i]["terminal_observation"] for i in rows])  # (R, obs_dim)
            peek = self.runner.peek_after(rows, last)  # (R, A)
            for j, i in enumerate(rows):
                infos[i]["terminal_observation"] = self._augment(last[j], peek[j])
        for i in np.flatnonzero(dones):
            if i not in rows and "terminal_observation" in infos[i]:
                infos[i]["terminal_observation"] = self._augment(infos[i]["terminal_observation"], self.prior_action[i])
        self.runner.observe(obs, dones)
        self.prior_action = self.runner.next_action()  # (n, A), one batched prior call at most
        return self._augment(obs, self.prior_action), rewards, dones, infos

    def residual_history(self) -> np.ndarray:
        """(steps, n_envs) L2 sizes of the corrections ``scale * half_range * residual``, in action units."""
        return np.stack(self.residual_norms) if self.residual_norms else np.zeros((0, self.num_envs))

    def deploy(
        self, agent: Any, n: int, *, deterministic: bool = True, generator: torch.Generator | None = None
    ) -> _ResidualActor:
        """``agent`` (trained in this wrapper) acting on the plain env, for ``labkit.evaluate``."""
        return _ResidualActor(self, agent, n, deterministic, generator or torch.Generator().manual_seed(0))


def make_residual_env(
    env_id: str,
    prior: ChunkPolicy,
    n_envs: int = 1,
    *,
    seed: int = 0,
    scale: float = 0.3,
    render: bool = False,
    **kwargs: Any,
) -> ResidualVecEnv:
    """``ResidualVecEnv`` over ``n_envs`` labkit/gymnasium envs (DummyVecEnv with SB3's Monitor), seeded.

    :param render: make the envs with ``render_mode="rgb_array"``.
    :param kwargs: passed to ``ResidualVecEnv`` (``check_env_id``, ``sampler``, ``num_inference_steps`` ...).
    """
    venv = monitored_vec_env(env_id, n_envs, seed=seed, render=render)
    return ResidualVecEnv(venv, prior, scale, seed=seed, **kwargs)
