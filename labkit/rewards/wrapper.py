"""Plug a learned reward into stock Stable-Baselines3: a VecEnv wrapper (batched) and a gymnasium one.

::

    venv = make_vec_env("labkit/TwoRoutes-v0", n_envs=8)
    venv = LearnedRewardVecEnv(venv, reward_model, env_id="labkit/TwoRoutes-v0")   # checks the fit
    PPO("MlpPolicy", venv).learn(30_000)

What the agent is paid per step (``mode``):

- ``"replace"``: ``scale * learned + success_bonus * is_success``: the env's own reward is dropped;
  ``success_bonus`` is the sparse task reward (Diffusion Reward adds it; 0 turns it off);
- ``"add"``: ``env reward + scale * learned`` (a learned shaping term on top of the task reward);
- ``"potential"``: ``scale * (gamma * Phi(s_{t+1}) - Phi(s_t)) + success_bonus * is_success`` with the
  learned reward as potential ``Phi`` and ``Phi = 0`` once the task has ended (Ng et al. 1999): the
  shaped terms of an episode sum to ``-Phi(s_0)`` whatever the agent does, so they can speed learning
  up but cannot change which behaviour is best; only the task reward decides that.

The wrapper keeps each env's last ``history_length`` observations (the terminal observation on the
step an episode ends, so the last transition is scored too), calls the model ONCE per vector step on
all envs, and lets the model's online terms learn (``observe``). ``info`` carries, per env and step,
``"true_reward"`` (what the env paid), ``"learned_reward"`` (the model's total) and
``"reward_terms"`` (each term); when an episode ends also ``"learned_episode_return"`` and
``"true_episode_return"``. A model trained for another env id or observation size is refused when
the wrapper is built (:class:`~.base.RewardMismatchError`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from .base import LearnedReward

__all__ = ["RewardCore", "LearnedRewardVecEnv", "LearnedRewardWrapper", "env_id_of"]

MODES = ("replace", "add", "potential")


def env_id_of(env) -> str | None:
    """The registered id of a gymnasium env or of a VecEnv's first env (None if built by hand)."""
    if isinstance(env, VecEnv):
        specs = env.get_attr("spec", indices=[0])
        spec = specs[0] if specs else None
    else:
        spec = getattr(env, "spec", None)
    return getattr(spec, "id", None)


class RewardCore:
    """The wrapper logic for ``n`` env slots, shared by the VecEnv and the gymnasium wrapper.

    :param model: a trained :class:`~.base.LearnedReward`.
    :param n: number of env slots.
    :param mode: ``"replace"`` or ``"add"`` (see the module docstring).
    :param scale: multiplies the learned reward.
    :param success_bonus: paid on ``info["is_success"]`` in ``"replace"`` and ``"potential"`` modes.
    :param gamma: the agent's discount, for ``"potential"`` mode.
    :param learn_online: let the model's online terms (RND, disagreement) learn from these envs.
    """

    def __init__(
        self,
        model: LearnedReward,
        n: int,
        mode: str = "replace",
        scale: float = 1.0,
        success_bonus: float = 1.0,
        gamma: float = 0.99,
        learn_online: bool = True,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}. Got {mode!r}.")
        if mode == "potential" and model.episodic:
            raise ValueError("mode='potential' needs a per-step reward model; an episodic one has no potential.")
        self.model, self.n, self.mode, self.gamma = model, n, mode, float(gamma)
        self.scale, self.success_bonus, self.learn_online = float(scale), float(success_bonus), learn_online
        self.prev_phi, self.need_phi = np.zeros(n), np.ones(n, dtype=bool)
        self.window = np.zeros((n, model.history_length, model.obs_dim), dtype=np.float32)  # (n, k*m+1, obs_dim)
        self.episodes: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.learned_return, self.true_return = np.zeros(n), np.zeros(n)

    def start(self, i: int, obs: np.ndarray) -> None:
        """A new episode in slot ``i`` starts at ``obs``: the history is that state repeated."""
        self.window[i] = np.asarray(obs, dtype=np.float32)[None]
        self.episodes[i] = [np.asarray(obs, dtype=np.float32)] if self.model.episodic else []
        self.learned_return[i] = self.true_return[i] = 0.0
        self.need_phi[i] = True

    def reseed(self, seed: int) -> None:
        """Make the reward process reproducible from here: reseed its noise, restart online terms."""
        self.model.reset_online()
        gen = getattr(self.model, "gen", None)
        if isinstance(gen, torch.Generator):
            gen.manual_seed(int(seed))

    def step(
        self,
        newest: np.ndarray,
        actions: np.ndarray,
        env_rewards: np.ndarray,
        dones: np.ndarray,
        infos: list[dict],
        terminated: np.ndarray | None = None,
    ) -> np.ndarray:
        """Rewards ``(n,)`` for one step of all slots; fills ``infos``.

        :param newest: the states just reached ``(n, obs_dim)`` (terminal observations where done).
        :param dones: episode ended (terminated or truncated); ``terminated``: ended by the task itself
            (default: done and not ``info["TimeLimit.truncated"]``, SB3's convention).
        """
        if terminated is None:
            terminated = np.array(
                [bool(d) and not info.get("TimeLimit.truncated", False) for d, info in zip(dones, infos)]
            )
        if self.mode == "potential" and self.need_phi.any():  # Phi(s_0) of episodes that just started
            idx = np.flatnonzero(self.need_phi)
            self.prev_phi[idx] = self.model.step_reward(self.window[idx])["total"]
            self.need_phi[:] = False
        self.window[:, :-1] = self.window[:, 1:]  # shift the history by one step
        self.window[:, -1] = newest
        terms = self.model.step_reward(self.window, actions)
        if self.learn_online:
            self.model.observe(self.window, actions)
        learned = np.asarray(terms["total"], dtype=np.float64).copy()  # (n,)
        if self.model.episodic:
            for i in range(self.n):
                self.episodes[i].append(self.window[i, -1].copy())
            ended = [i for i in range(self.n) if dones[i]]
            if ended:
                learned[ended] += self.model.episode_reward([np.stack(self.episodes[i]) for i in ended])
        success = np.array([float(bool(info.get("is_success", False))) for info in infos])  # (n,)
        env_rewards = np.asarray(env_rewards, dtype=np.float64)
        if self.mode == "replace":
            paid = self.scale * learned + self.success_bonus * success
        elif self.mode == "add":
            paid = env_rewards + self.scale * learned
        else:
            phi = np.where(terminated, 0.0, learned)  # the episode is over: an absorbing state, Phi = 0
            paid = self.scale * (self.gamma * phi - self.prev_phi) + self.success_bonus * success
            self.prev_phi = phi
        self.learned_return += learned
        self.true_return += env_rewards
        for i, info in enumerate(infos):
            info["true_reward"] = float(env_rewards[i])
            info["learned_reward"] = float(learned[i])
            info["reward_terms"] = {k: float(v[i]) for k, v in terms.items() if k != "total"}
            if dones[i]:
                info["learned_episode_return"] = float(self.learned_return[i])
                info["true_episode_return"] = float(self.true_return[i])
        return paid.astype(np.float32)


class LearnedRewardVecEnv(VecEnvWrapper):
    """A VecEnv whose reward comes from a learned model, computed for all envs in one batch.

    :param venv: the vectorised env (e.g. ``make_vec_env("labkit/TwoRoutes-v0", n_envs=8)``).
    :param model: a trained reward model.
    :param env_id: the task id to check against the model; by default read off ``venv``.
    :param check_env_id: set False to use a model on another task on purpose (sizes still checked).
    :param kwargs: ``mode``, ``scale``, ``success_bonus``, ``learn_online`` of :class:`RewardCore`.
    :raises RewardMismatchError: the model was trained for another env id or observation size.
    """

    def __init__(
        self, venv: VecEnv, model: LearnedReward, *, env_id: str | None = None, check_env_id: bool = True, **kwargs
    ) -> None:
        model.check_compatible(
            env_id or env_id_of(venv), int(np.prod(venv.observation_space.shape or ())), check_env_id=check_env_id
        )
        super().__init__(venv)
        self.core = RewardCore(model, venv.num_envs, **kwargs)
        self._actions = np.zeros((venv.num_envs, *(venv.action_space.shape or ())), dtype=np.float32)
        self._seed: int | None = None

    def seed(self, seed: int | None = None):
        self._seed = seed
        return self.venv.seed(seed)

    def reset(self) -> np.ndarray:
        obs: Any = self.venv.reset()
        if self._seed is not None:
            self.core.reseed(self._seed)
            self._seed = None
        for i in range(self.num_envs):
            self.core.start(i, obs[i])
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.float32)
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        newest = np.array(obs, dtype=np.float32, copy=True)  # (n, obs_dim)
        for i in np.flatnonzero(dones):  # an auto-reset replaced the last state: score that one
            newest[i] = infos[i]["terminal_observation"]
        paid = self.core.step(newest, self._actions, rewards, dones, infos)
        for i in np.flatnonzero(dones):
            self.core.start(i, obs[i])
        return obs, paid, dones, infos


class LearnedRewardWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The same for one gymnasium env (batch of 1), e.g. for ``gymnasium.utils.env_checker.check_env``.

    A seeded ``reset(seed=s)`` reseeds the model's sampling noise and restarts its online terms, so
    seeded episodes are reproducible.
    """

    def __init__(self, env: gym.Env, model: LearnedReward, *, check_env_id: bool = True, **kwargs) -> None:
        model.check_compatible(
            env_id_of(env), int(np.prod(env.observation_space.shape or ())), check_env_id=check_env_id
        )
        gym.utils.RecordConstructorArgs.__init__(self, model=model, check_env_id=check_env_id, **kwargs)
        gym.Wrapper.__init__(self, env)
        self.core = RewardCore(model, 1, **kwargs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self.core.reseed(seed)
        self.core.start(0, obs)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        act = np.asarray(action, dtype=np.float32)[None]
        paid = self.core.step(
            np.asarray(obs, dtype=np.float32)[None],
            act,
            np.array([reward]),
            np.array([terminated or truncated]),
            [info],
            terminated=np.array([terminated]),
        )
        return obs, float(paid[0]), terminated, truncated, info
