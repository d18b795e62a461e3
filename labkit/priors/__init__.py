"""Plug a frozen generative (diffusion) prior into stock Stable-Baselines3 agents.

Three ways, each one small module, all on the same ``PriorRunner`` (``base.py``):

- ``ResidualVecEnv`` (``residual.py``): the agent outputs a bounded correction to the prior's action.
- ``NoiseSpaceVecEnv`` (``noise_space.py``, DSRL-style): the agent chooses the prior's initial noise.
- ``SampleSelectSAC`` (``select.py``): the prior proposes N actions, SAC's critic picks the best.

    prior = train_prior("two_routes_demos", iterations=2_000)
    venv = make_residual_env("labkit/TwoRoutes-v0", prior, n_envs=4, scale=0.3)
    PPO("MlpPolicy", venv).learn(20_000)
"""

from labkit.priors.base import PriorMismatchError, PriorRunner, check_prior, evaluate_vec
from labkit.priors.noise_space import ActionChunkWrapper, NoiseSpaceVecEnv, make_noise_space_env
from labkit.priors.residual import ResidualVecEnv, make_residual_env
from labkit.priors.select import SampleSelectSAC
from labkit.priors.training import load_prior, train_prior

__all__ = [
    "PriorMismatchError",
    "PriorRunner",
    "check_prior",
    "evaluate_vec",
    "ResidualVecEnv",
    "make_residual_env",
    "ActionChunkWrapper",
    "NoiseSpaceVecEnv",
    "make_noise_space_env",
    "SampleSelectSAC",
    "train_prior",
    "load_prior",
]
