"""RL for generative policies (the review's B1/B2): offline RL with diffusion policies and DPPO.

Offline, from a mixed-quality dataset (``labkit.datasets.load_demos("two_routes_mixed")``)::

    from labkit.finetune import IQLCritic, train_iql, IDQLPolicy, train_diffusion_ql
    critic = IQLCritic(obs_dim, action_dim); train_iql(critic, episodes)
    idql = IDQLPolicy(behaviour_diffusion_policy, critic, n_samples=32)   # works with evaluate()
    q, log = train_diffusion_ql(diffusion_policy, episodes)                 # trains the policy itself

Online, fine-tuning a pre-trained policy with PPO through its denoising chain (DPPO)::

    from labkit.finetune import DiffusionPPOActor, PPOConfig, finetune_ppo
    actor = DiffusionPPOActor(policy, num_inference_steps=10, ft_denoising_steps=10, min_std=0.1)
    result = finetune_ppo(actor, "labkit/TwoRoutesShifted-v0", PPOConfig(max_seconds=600))
    evaluate(actor, "labkit/TwoRoutesShifted-v0", 100)   # result.history -> learning curve
"""

from labkit.finetune.chain import ddpm_scheduler, denoise, gaussian_log_prob, step_log_probs
from labkit.finetune.dppo import (
    ActionChunkWrapper,
    DiffusionPPOActor,
    GaussianPPOActor,
    PPOConfig,
    PPOResult,
    compute_gae,
    finetune_ppo,
    make_chunk_vec_env,
    ppo_clip_loss,
)
from labkit.finetune.suite import (
    DPPO_ACTOR,
    DPPO_HORIZONS,
    IQL_CONFIG,
    OFFLINE_HORIZONS,
    OfflineSuite,
    dppo_config,
    pretrain_diffusion,
    pretrain_gaussian,
    normalized_return,
    quality_returns,
    split_observations,
    train_offline_suite,
)
from labkit.finetune.mixed import QUALITIES, StraightUpPolicy, collect_mixed_dataset
from labkit.finetune.offline import (
    DiffusionQLConfig,
    IDQLPolicy,
    IQLConfig,
    IQLCritic,
    OfflineLog,
    Transitions,
    TwinQ,
    ValueNet,
    expectile_loss,
    train_diffusion_ql,
    train_iql,
    transitions_from_episodes,
)

__all__ = [
    # the denoising chain
    "denoise",
    "step_log_probs",
    "gaussian_log_prob",
    "ddpm_scheduler",
    # offline RL
    "Transitions",
    "transitions_from_episodes",
    "expectile_loss",
    "TwinQ",
    "ValueNet",
    "IQLConfig",
    "IQLCritic",
    "train_iql",
    "IDQLPolicy",
    "DiffusionQLConfig",
    "train_diffusion_ql",
    "OfflineLog",
    # DPPO / PPO
    "ActionChunkWrapper",
    "make_chunk_vec_env",
    "DiffusionPPOActor",
    "GaussianPPOActor",
    "PPOConfig",
    "PPOResult",
    "ppo_clip_loss",
    "compute_gae",
    "finetune_ppo",
    # ready-made runs (notebooks 08 and 10, the benchmark)
    "OFFLINE_HORIZONS",
    "IQL_CONFIG",
    "OfflineSuite",
    "train_offline_suite",
    "split_observations",
    "quality_returns",
    "normalized_return",
    "DPPO_HORIZONS",
    "DPPO_ACTOR",
    "pretrain_diffusion",
    "pretrain_gaussian",
    "dppo_config",
    # data
    "QUALITIES",
    "StraightUpPolicy",
    "collect_mixed_dataset",
]
