"""Residual RL on a frozen prior (ResiP-style): the agent learns a small correction to the prior's action.

Any stock SB3 agent (PPO, SAC ...) runs unchanged on ``ResidualVecEnv``; the prior is frozen and
lives inside the env wrapper, so the agent only learns the bounded correction::

    env obs o_t (n, obs_dim) --> PriorRunner --> prior action p_t (n, A)      (one batched call
          |                                        |                         when chunks run out)
          +---------- concat ----------------------+--> agent obs [o_t, p_t] (n, obs_dim + A)
                                                   |
                               agent --> residual r_t in [-1, 1]^A (n, A)
                                                   v
                      executed a_t = clip(p_t + scale * r_t, low, high) --> venv.step

A zero residual replays the prior exactly, so the agent starts at the prior's success rate; a small
``scale`` (0.1-0.5 of the action range) keeps exploration near the prior's behaviour.

Recorded for plotting: ``residual_norms`` (steps, n_envs), the size |scale * r_t| of every correction.
Truncated episodes get their ``terminal_observation`` augmented too (with the action the prior would
take there), so the critic bootstraps from the right input.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper

from labkit.diffusion import ChunkPolicy
from labkit.priors.base import PriorRunner, check_prior

__all__ = ["ResidualVecEnv", "make_residual_env"]


def _env_id(venv: VecEnv) -> str | None:
    spec = venv.get_attr("spec", [0])[0]
    return getattr(spec, "id", None)


class ResidualVecEnv(VecEnvWrapper):
    """The agent sees ``[obs, prior action]`` and outputs a residual in [-1, 1]^A.

    :param venv: the task's vectorised env (Box observations and actions).
    :param prior: the frozen labkit ``ChunkPolicy``.
    :param scale: residual scale: executed = clip(prior + scale * residual).
    :param check_env_id: False to adapt a prior trained on another env on purpose.
    :param seed: seeds the prior's sampling.
    :param runner_kwargs: passed to ``PriorRunner`` (``sampler``, ``num_inference_steps``, ``n_action_steps``).
    """

    def __init__(
        self,
        venv: VecEnv,
        prior: ChunkPolicy,
        scale: float = 0.3,
        *,
        check_env_id: bool = True,
        seed: int = 0,
        **runner_kwargs,
    ) -> None:
        obs_space, act_space = venv.observation_space, venv.action_space
        if not (isinstance(obs_space, spaces.Box) and isinstance(act_space, spaces.Box)):
            raise ValueError(f"ResidualVecEnv needs Box observation and action spaces. Got {obs_space} and {act_space}.")
        if scale <= 0:
            raise ValueError(f"scale must be > 0. Got {scale}.")
        obs_dim, action_dim = int(np.prod(obs_space.shape)), int(np.prod(act_space.shape))
        check_prior(prior, _env_id(venv), obs_dim, action_dim, check_env_id=check_env_id)
        low = np.concatenate([np.full(obs_dim, -np.inf), act_space.low]).astype(np.float32)
        high = np.concatenate([np.full(obs_dim, np.inf), act_space.high]).astype(np.float32)
        super().__init__(
            venv,
            observation_space=spaces.Box(low, high, dtype=np.float32),  # [obs (obs_dim), prior action (A)]
            action_space=spaces.Box(-1.0, 1.0, (action_dim,), dtype=np.float32),  # the residual
        )
        self.scale, self.low, self.high = float(scale), act_space.low, act_space.high
        self.runner = PriorRunner(prior, venv.num_envs, seed=seed, **runner_kwargs)
        self.prior_action = np.zeros((venv.num_envs, action_dim), np.float32)  # (n, A) p_t
        self.residual_norms: list[np.ndarray] = []  # one (n,) array per step

    def _augment(self, obs: np.ndarray, prior_action: np.ndarray) -> np.ndarray:
        return np.concatenate([obs, prior_action], axis=-1).astype(np.float32)  # (n, obs_dim + A)

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()  # (n, obs_dim)
        self.runner.reset(obs)
        self.prior_action = self.runner.next_action()  # (n, A)
        return self._augment(obs, self.prior_action)

    def step_async(self, actions: np.ndarray) -> None:
        correction = self.scale * np.clip(actions, -1.0, 1.0)  # (n, A)
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
        """(steps, n_envs) sizes of the executed corrections |scale * residual| (L2, action units)."""
        return np.stack(self.residual_norms) if self.residual_norms else np.zeros((0, self.num_envs))


def make_residual_env(
    env_id: str, prior: ChunkPolicy, n_envs: int = 1, *, seed: int = 0, scale: float = 0.3, **kwargs
) -> ResidualVecEnv:
    """``ResidualVecEnv`` over ``n_envs`` labkit/gymnasium envs (DummyVecEnv with SB3's Monitor), seeded.

    :param kwargs: passed to ``ResidualVecEnv`` (``check_env_id``, ``sampler``, ``num_inference_steps`` ...).
    """
    from stable_baselines3.common.monitor import Monitor

    from labkit.envs import make

    venv = DummyVecEnv([lambda: Monitor(make(env_id)) for _ in range(n_envs)])
    venv.seed(seed)
    return ResidualVecEnv(venv, prior, scale, seed=seed, **kwargs)
