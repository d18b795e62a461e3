"""B2, RL fine-tuning of generative policies: policy-agnostic (notebook 07) and policy-specific (notebook 10).

Policy-agnostic: the prior stays frozen and a stock SB3 agent learns around it::

    venv = make_residual_env("labkit/TwoRoutes-v0", prior, n_envs=4, scale=0.3)   # residual RL
    venv = make_noise_space_env("labkit/TwoRoutes-v0", prior, n_envs=4)           # DSRL
    PPO("MlpPolicy", venv).learn(20_000)
    SampleSelectSAC("MlpPolicy", env, prior=prior).learn(5_000)                     # sample-and-select

Policy-specific (DPPO: PPO through the denoising chain)::

    actor = DiffusionPPOActor(policy, num_inference_steps=10, ft_denoising_steps=10, min_std=0.1)
    log = finetune_ppo(actor, "labkit/TwoRoutesShifted-v0", PPOConfig(max_seconds=600))
"""

from labkit.finetune.dppo import DiffusionPPOActor, GaussianPPOActor
from labkit.finetune.dsrl import NoiseSpaceVecEnv, ShiftedNoiseAgent, make_noise_space_env, noise_shift_rollouts
from labkit.finetune.ppo import PPOConfig, compute_gae, finetune_ppo, make_chunk_vec_env, ppo_clip_loss
from labkit.finetune.prior import env_id_of, prior_runner
from labkit.finetune.residual import ResidualVecEnv, make_residual_env
from labkit.finetune.sample_select import SampleSelectSAC

__all__ = [
    "DiffusionPPOActor",
    "GaussianPPOActor",
    "NoiseSpaceVecEnv",
    "PPOConfig",
    "ResidualVecEnv",
    "SampleSelectSAC",
    "ShiftedNoiseAgent",
    "compute_gae",
    "env_id_of",
    "finetune_ppo",
    "make_chunk_vec_env",
    "make_noise_space_env",
    "make_residual_env",
    "noise_shift_rollouts",
    "ppo_clip_loss",
    "prior_runner",
]
