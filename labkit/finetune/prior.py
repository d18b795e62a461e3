"""What the policy-agnostic fine-tuning wrappers share: a runner for a frozen prior, the env's id.

A *prior* is a trained chunk policy kept frozen while an SB3 agent learns around it (residual RL,
DSRL, sample-and-select). ``prior_runner`` builds the one ``ChunkRunner`` they use, with the
sampler options a diffusion prior takes; ``check_fits`` (``labkit.policies``) refuses a prior that
does not fit the env at wrap time.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from labkit.envs.registry import make
from labkit.envs.wrappers import ActionChunkWrapper, FrameRecorder
from labkit.policies.base import ChunkPolicy
from labkit.policies.diffusion import DiffusionPolicy
from labkit.policies.runner import ChunkRunner
from labkit.runtime import check_int

__all__ = ["PriorActor", "env_id_of", "monitored_vec_env", "prior_runner"]


def env_id_of(venv: VecEnv) -> str | None:
    """The id of the first env of ``venv`` (None if it has no spec)."""
    spec = venv.get_attr("spec", [0])[0]
    return getattr(spec, "id", None)


def monitored_vec_env(
    env_id: str, n_envs: int, *, seed: int = 0, render: bool = False, frames: bool = False, chunk: int | None = None
) -> DummyVecEnv:
    """``n_envs`` copies of ``Monitor([ActionChunkWrapper]([FrameRecorder](make(env_id))))``, seeded.

    The base every prior wrapper sits on. ``render`` makes ``rgb_array`` envs; ``frames`` also records
    every episode's frames (``venv.get_attr("episodes")``); ``chunk=Ta`` makes one step execute Ta actions.
    """
    check_int("n_envs", n_envs)

    def one() -> gym.Env:
        env = make(env_id, render_mode="rgb_array") if render or frames else make(env_id)
        env = FrameRecorder(env) if frames else env
        env = ActionChunkWrapper(env, chunk) if chunk is not None else env
        return Monitor(env)

    venv = DummyVecEnv([one for _ in range(n_envs)])
    venv.seed(seed)
    return venv


def prior_runner(
    prior: ChunkPolicy,
    n_envs: int,
    *,
    seed: int = 0,
    sampler: str | None = None,
    num_inference_steps: int | None = None,
    n_action_steps: int | None = None,
    align: bool = True,
    **kwargs: Any,
) -> ChunkRunner:
    """A ``ChunkRunner`` for a frozen prior in ``n_envs`` envs, its chunks kept in step (``align``).

    :param sampler: "ddpm" or "ddim" for a ``DiffusionPolicy`` (default: the prior's config).
    :param num_inference_steps: denoising steps K (default: the prior's config). Few DDIM steps
        (e.g. 10) keep the prior cheap enough to sit inside an RL loop.
    :param n_action_steps: actions executed per chunk (default: the prior's Ta).
    """
    if isinstance(prior, DiffusionPolicy):
        kwargs = {"sampler": sampler or prior.config.sampler, "num_inference_steps": num_inference_steps, **kwargs}
    elif sampler is not None or num_inference_steps is not None:
        raise ValueError(
            f"sampler and num_inference_steps apply to a DiffusionPolicy prior, not a {type(prior).__name__}."
        )
    return ChunkRunner(prior, n_envs, n_action_steps=n_action_steps, seed=seed, align=align, **kwargs)


class PriorActor:
    """Base of the deployed agents (``wrapper.deploy(agent, n)``): an SB3 agent and its prior on the plain env.

    ``labkit.evaluate`` calls ``start(i, obs, rng)`` when row ``i`` begins an episode and
    ``act(obs (n, D), active (n,)) -> (n, A)`` every step; subclasses implement ``act``.
    """

    def __init__(
        self,
        prior: ChunkPolicy,
        agent: Any,
        n: int,
        deterministic: bool,
        generator: torch.Generator,
        **runner_kwargs: Any,
    ) -> None:
        self.agent, self.deterministic = agent, deterministic
        self.runner = prior_runner(prior, n, **runner_kwargs)
        self.runner.generator = generator

    def start(self, i: int, obs: np.ndarray, rng: np.random.Generator) -> None:
        self.runner.start(i, obs)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        raise NotImplementedError
