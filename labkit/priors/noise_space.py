"""Noise-space steering (DSRL-style): the agent picks the *initial noise* of the prior's sampler.

A diffusion prior with the deterministic DDIM sampler (eta = 0) is a function
``chunk = f(obs history, x_T)``. DSRL leaves f frozen and lets an RL agent choose x_T instead of
drawing it from N(0, I): every action the agent can take is a chunk the prior can produce, so
exploration stays on the demonstrated behaviour while the agent learns *which* of it pays off
(e.g. which of TwoRoutes' two routes)::

    env obs o_t (n, obs_dim) ----------------------------------> agent
                                                                   | w_t in [-b, b]^(H*A)  (n, H*A)
    history (n, To, obs_dim) --+                                   v
                               +--> prior DDIM (eta = 0), x_T = w_t.reshape(n, H, A)   <- ONE call
                                         | chunk (n, H, A) -> executable part (n, Ta, A)
                                         v
    ActionChunkWrapper: execute the Ta actions as ONE macro-step; reward = their sum; stop early
    if the episode ends. The agent's next obs is the obs after the chunk.

Choices (documented so a learner can change them):

- **Whole executable chunk per agent step** (as DSRL does): one decision per Ta env steps gives
  Ta-times shorter credit-assignment horizons and one prior call per decision. Rewards are summed
  undiscounted inside the chunk; set the agent's ``gamma`` per macro-step (~0.99 ** Ta).
- **Bound b = 2.0** (``bound``): x_T ~ N(0, I) lies within +-2 per coordinate 95% of the time, so
  [-2, 2] covers what the prior saw in training, while much larger inputs are out of distribution
  (with ``clip_sample`` the outputs just saturate). 1.5-2.5 all work; smaller b = safer, less reach.
- **Full chunk noise** (H * A numbers, e.g. 8 * 2 = 16), not a latent subset.

Recorded for plotting: ``steered_noise()`` (decisions * n_envs, H * A), to compare with N(0, I).
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper

from labkit.diffusion import ChunkPolicy, DiffusionPolicy
from labkit.envs.wrappers import ActionChunkWrapper
from labkit.priors.base import PriorMismatchError, PriorRunner, check_prior
from labkit.priors.residual import _env_id

__all__ = ["ActionChunkWrapper", "NoiseSpaceVecEnv", "make_noise_space_env"]


class NoiseSpaceVecEnv(VecEnvWrapper):
    """The agent's action is the prior's initial noise x_T in [-bound, bound]^(H*A).

    :param venv: a vec env of ``ActionChunkWrapper``-wrapped envs (see ``make_noise_space_env``).
    :param prior: the frozen labkit ``ChunkPolicy``; a ``DiffusionPolicy`` is sampled with DDIM,
        eta = 0 (a ``GaussianBCPolicy`` is also deterministic given its noise: mean + std * x).
    :param bound: b, the box the noise lives in (see the module docstring).
    :param num_inference_steps: DDIM steps (default: the prior's config).
    :param check_env_id: False to steer a prior trained on another env on purpose.
    """

    def __init__(
        self,
        venv: VecEnv,
        prior: ChunkPolicy,
        bound: float = 2.0,
        *,
        num_inference_steps: int | None = None,
        check_env_id: bool = True,
        seed: int = 0,
    ) -> None:
        if bound <= 0:
            raise ValueError(f"bound must be > 0. Got {bound}.")
        cfg = getattr(prior, "config", None)
        obs_dim = int(np.prod(venv.observation_space.shape))
        act = int(np.prod(venv.action_space.shape))
        if cfg is not None and act != cfg.n_action_steps * cfg.action_dim and act == cfg.action_dim:
            raise PriorMismatchError(
                f"NoiseSpaceVecEnv executes whole chunks: wrap each env in ActionChunkWrapper(env, "
                f"n_action_steps={cfg.n_action_steps}) or build it with make_noise_space_env(...)."
            )
        if cfg is not None and act % cfg.n_action_steps == 0:
            act //= cfg.n_action_steps
        check_prior(prior, _env_id(venv), obs_dim, act, check_env_id=check_env_id)
        if isinstance(prior, DiffusionPolicy) and prior.config.ddim_eta != 0:
            raise PriorMismatchError(f"Noise-space steering needs deterministic DDIM: set prior.config.ddim_eta = 0. Got {prior.config.ddim_eta}.")
        self.runner = PriorRunner(prior, venv.num_envs, sampler="ddim", num_inference_steps=num_inference_steps, seed=seed)
        H, A = self.runner.chunk_shape
        super().__init__(venv, action_space=spaces.Box(-bound, bound, (H * A,), dtype=np.float32))
        self.bound = float(bound)
        self.noise_log: list[np.ndarray] = []  # one (n, H*A) array per decision

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()
        self.runner.reset(obs)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        w = np.clip(np.asarray(actions, np.float32), -self.bound, self.bound)  # (n, H*A)
        self.noise_log.append(w)
        x_T = torch.from_numpy(w).reshape(self.num_envs, *self.runner.chunk_shape)  # (n, H*A) -> (n, H, A)
        chunk = self.runner.sample(self.runner.history, noise=x_T)  # (n, Ta, A), one batched call
        self.venv.step_async(chunk.reshape(self.num_envs, -1))  # (n, Ta*A)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for i, info in enumerate(infos):
            if not dones[i]:
                for o in info["chunk_obs"]:  # history gets every obs seen inside the chunk
                    self.runner.history[i] = np.concatenate([self.runner.history[i, 1:], o[None]])
        self.runner.reset(obs, np.flatnonzero(dones))
        return obs, rewards, dones, infos

    def steered_noise(self) -> np.ndarray:
        """(decisions * n_envs, H * A) every noise the agent chose (compare with N(0, I))."""
        return np.concatenate(self.noise_log) if self.noise_log else np.zeros((0, self.action_space.shape[0]))


def make_noise_space_env(
    env_id: str, prior: ChunkPolicy, n_envs: int = 1, *, seed: int = 0, bound: float = 2.0, **kwargs
) -> NoiseSpaceVecEnv:
    """``NoiseSpaceVecEnv`` over ``n_envs`` envs, each ``Monitor(ActionChunkWrapper(make(env_id)))``, seeded.

    :param kwargs: passed to ``NoiseSpaceVecEnv`` (``num_inference_steps``, ``check_env_id``).
    """
    from stable_baselines3.common.monitor import Monitor

    from labkit.envs import make

    Ta = prior.config.n_action_steps if isinstance(prior, ChunkPolicy) else 1
    venv = DummyVecEnv([lambda: Monitor(ActionChunkWrapper(make(env_id), Ta)) for _ in range(n_envs)])
    venv.seed(seed)
    return NoiseSpaceVecEnv(venv, prior, bound, seed=seed, **kwargs)
