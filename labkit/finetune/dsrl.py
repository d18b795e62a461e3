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
- **Executed part** (``n_action_steps``, default the prior's Ta): how many of the chunk's actions run
  per decision. Long open-loop chunks suit multimodal planning; feedback-control tasks (balancing)
  need 1, a decision every step.

Recorded for plotting: ``steered_noise()`` (decisions * n_envs, H * A), to compare with N(0, I).
``deploy(agent, n)`` runs a trained agent on the plain env (``labkit.evaluate(agent, env_id)`` uses it).

What moving the noise does, before any training: ``noise_shift_rollouts(prior, env_id, shifts)`` runs
the frozen prior with x_T = z + shift on chosen coordinates (``ShiftedNoiseAgent``), z ~ N(0, I) drawn
alike for every shift; ``labkit.viz.noise_shift_figure`` draws the paths with a slider over the shift.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from labkit.envs.wrappers import ActionChunkWrapper
from labkit.finetune.prior import PriorActor, env_id_of, monitored_vec_env, prior_runner
from labkit.policies.base import ChunkPolicy, PolicyMismatchError, check_fits
from labkit.policies.diffusion import DiffusionPolicy
from labkit.rollout import EvalResult, evaluate
from labkit.runtime import check_int

__all__ = ["NoiseSpaceVecEnv", "ShiftedNoiseAgent", "make_noise_space_env", "noise_shift_rollouts"]


class _NoiseActor(PriorActor):
    """A trained DSRL agent on the plain env (for ``labkit.evaluate``): it picks each chunk's noise."""

    def __init__(
        self, env: NoiseSpaceVecEnv, agent: Any, n: int, deterministic: bool, generator: torch.Generator
    ) -> None:
        super().__init__(env.prior, agent, n, deterministic, generator, **{**env.runner_kwargs, "align": False})
        self.env = env

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        self.runner.observe_active(obs, active)

        def noise(plan_rows: np.ndarray) -> torch.Tensor:
            w, _ = self.agent.predict(obs[plan_rows], deterministic=self.deterministic)  # (R, H*A)
            return self.env.noise_from(w)

        return self.runner.next_action(active, noise_fn=noise)


class NoiseSpaceVecEnv(VecEnvWrapper):
    """The agent's action is the prior's initial noise x_T in [-bound, bound]^(H*A).

    :param venv: a vec env of ``ActionChunkWrapper``-wrapped envs (see ``make_noise_space_env``).
    :param prior: the frozen labkit chunk policy; a ``DiffusionPolicy`` is sampled with DDIM,
        eta = 0 (a ``GaussianBCPolicy`` is also deterministic given its noise: mean + std * x).
    :param bound: b, the box the noise lives in (see the module docstring).
    :param num_inference_steps: DDIM steps (default: the prior's config).
    :param check_env_id: False to steer a prior trained on another env on purpose.
    """

    action_space: spaces.Box  # the noise box, set in __init__

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
        if not np.isfinite(bound) or bound <= 0:
            raise ValueError(f"bound must be a finite number > 0. Got {bound}.")
        cfg = getattr(prior, "config", None)
        obs_dim = int(np.prod(cast(tuple[int, ...], venv.observation_space.shape)))
        chunk_steps = (
            venv.get_attr("n_action_steps", [0])[0] if venv.env_is_wrapped(ActionChunkWrapper, [0])[0] else None
        )
        if cfg is not None and chunk_steps is None:
            raise PolicyMismatchError(
                f"NoiseSpaceVecEnv executes whole chunks: wrap each env in ActionChunkWrapper(env, "
                f"n_action_steps={cfg.n_action_steps}) or build it with make_noise_space_env(...)."
            )
        act = int(np.prod(cast(tuple[int, ...], venv.action_space.shape))) // (chunk_steps or 1)
        check_fits(prior, env_id_of(venv), obs_dim, act, check_env_id=check_env_id)
        if isinstance(prior, DiffusionPolicy) and prior.config.ddim_eta != 0:
            raise PolicyMismatchError(
                "Noise-space steering needs deterministic DDIM: set prior.config.ddim_eta = 0. "
                f"Got {prior.config.ddim_eta}."
            )
        self.prior = prior
        sampler: dict[str, Any] = (
            {"sampler": "ddim", "num_inference_steps": num_inference_steps}
            if isinstance(prior, DiffusionPolicy)
            else {}
        )
        self.runner_kwargs: dict[str, Any] = {"seed": seed, "n_action_steps": chunk_steps, **sampler}
        self.runner = prior_runner(prior, venv.num_envs, **self.runner_kwargs)
        H, A = self.runner.chunk_shape
        super().__init__(venv, action_space=spaces.Box(-bound, bound, (H * A,), dtype=np.float32))
        self.bound = float(bound)
        self.noise_log: list[np.ndarray] = []  # one (n, H*A) array per decision

    def noise_from(self, actions: np.ndarray) -> torch.Tensor:
        """The agent's actions (R, H*A), clipped to the bound, as initial noise (R, H, A)."""
        w = np.clip(np.asarray(actions, np.float32), -self.bound, self.bound)  # (R, H*A)
        return torch.from_numpy(w).reshape(len(w), *self.runner.chunk_shape)  # (R, H*A) -> (R, H, A)

    def reset(self) -> np.ndarray:
        obs = cast(np.ndarray, self.venv.reset())  # Box observations
        self.runner.reset(obs)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        x_T = self.noise_from(actions)  # (n, H, A)
        self.noise_log.append(x_T.reshape(self.num_envs, -1).numpy())
        chunk = self.runner.plan(self.runner.history.data, noise=x_T)  # (n, Ta, A), one batched call
        self.venv.step_async(chunk.reshape(self.num_envs, -1))  # (n, Ta*A)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for i, info in enumerate(infos):
            if not dones[i]:
                for o in info["chunk_obs"]:  # the history gets every obs seen inside the chunk
                    self.runner.history.push(o[None], [i])
        self.runner.reset(obs, np.flatnonzero(dones))
        return obs, rewards, dones, infos

    def steered_noise(self) -> np.ndarray:
        """(decisions * n_envs, H * A) every noise the agent chose (compare with N(0, I))."""
        return np.concatenate(self.noise_log) if self.noise_log else np.zeros((0, self.action_space.shape[0]))

    def deploy(
        self, agent: Any, n: int, *, deterministic: bool = True, generator: torch.Generator | None = None
    ) -> _NoiseActor:
        """``agent`` (trained in this wrapper) acting on the plain env, for ``labkit.evaluate``."""
        return _NoiseActor(self, agent, n, deterministic, generator or torch.Generator().manual_seed(0))


def make_noise_space_env(
    env_id: str,
    prior: ChunkPolicy,
    n_envs: int = 1,
    *,
    seed: int = 0,
    bound: float = 2.0,
    n_action_steps: int | None = None,
    render: bool = False,
    **kwargs: Any,
) -> NoiseSpaceVecEnv:
    """``NoiseSpaceVecEnv`` over ``n_envs`` envs, each ``Monitor(ActionChunkWrapper(make(env_id)))``, seeded.

    :param n_action_steps: actions executed per decision (default: the prior's Ta; 1 for feedback control).
    :param render: make the envs with ``render_mode="rgb_array"``.
    :param kwargs: passed to ``NoiseSpaceVecEnv`` (``num_inference_steps``, ``check_env_id``).
    """
    if not isinstance(prior, ChunkPolicy):
        raise PolicyMismatchError(
            f"make_noise_space_env needs a labkit chunk policy as prior. Got {type(prior).__name__}."
        )
    Ta = prior.config.n_action_steps if n_action_steps is None else check_int("n_action_steps", n_action_steps)
    if Ta > prior.config.n_action_steps:
        raise ValueError(f"n_action_steps must be in [1, {prior.config.n_action_steps}] (the prior's Ta). Got {Ta}.")
    venv = monitored_vec_env(env_id, n_envs, seed=seed, render=render, chunk=Ta)
    return NoiseSpaceVecEnv(venv, prior, bound, seed=seed, **kwargs)


class ShiftedNoiseAgent:
    """A stand-in DSRL agent: it picks x_T = z + shift on ``coords``, z ~ N(0, I) from its own seeded stream.

    Shift 0 is the prior's own sampling. ``labkit.evaluate(agent, env_id)`` runs it on the plain env
    through its ``NoiseSpaceVecEnv`` (``get_env``), as a trained agent would run.

    :param env: the noise-space env whose box and chunk shape the noise has.
    :param shift: added to the noise coordinates ``coords``.
    :param coords: which of the H * A coordinates to shift (``slice(0, None, 2)``: the first action
        axis of every step of the chunk, e.g. TwoRoutes' x velocity).
    """

    def __init__(self, env: NoiseSpaceVecEnv, shift: float, coords: slice = slice(None), *, seed: int = 0) -> None:
        self.env, self.shift, self.coords = env, float(shift), coords
        self.rng = np.random.default_rng(seed)

    def get_env(self) -> NoiseSpaceVecEnv:
        return self.env

    def predict(
        self, observation: np.ndarray, state: Any = None, episode_start: Any = None, deterministic: bool = False
    ) -> tuple[np.ndarray, Any]:
        """observation (R, obs_dim) -> noise (R, H * A): N(0, I) draws, shifted on ``coords``."""
        z = self.rng.standard_normal((len(observation), self.env.action_space.shape[0]))  # (R, H*A)
        z[:, self.coords] += self.shift
        return z.astype(np.float32), state


def noise_shift_rollouts(
    prior: ChunkPolicy,
    env_id: str,
    shifts: Any,
    *,
    coords: slice = slice(0, None, 2),
    n_episodes: int = 10,
    seed: int = 0,
    bound: float = 2.0,
    check_env_id: bool = True,
) -> dict[float, EvalResult]:
    """``{shift: EvalResult}``: the frozen prior's episodes when its initial noise is shifted.

    Every shift sees the same start states (env seeds ``seed, seed + 1, ...``) and the same noise
    stream z before the shift, so only the shift differs. Costs one batched prior call per chunk:
    about a second per shift for ten TwoRoutes episodes.

    :param shifts: the values to add to the noise coordinates ``coords`` (clipped to ``bound`` after).
    """
    env = make_noise_space_env(env_id, prior, 1, seed=seed, bound=bound, check_env_id=check_env_id)
    out = {}
    for shift in shifts:
        agent = ShiftedNoiseAgent(env, float(shift), coords, seed=seed)
        out[float(shift)] = evaluate(agent, env_id, n_episodes, seed=seed, deterministic=False, progress=False)
    env.close()
    return out
