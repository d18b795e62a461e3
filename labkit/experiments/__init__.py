"""One module per notebook: its tasks, presets and ready-made runs, shared with its benchmark; and the
makers of the files shipped in ``data/``.

- ``diffusion_policy``: notebook 03 (``run_bc``: diffusion policy or Gaussian BC, one seed);
- ``priors``: notebook 07 (residual RL, DSRL vs PPO from scratch; ``TASKS``, ``train_with_prior``);
- ``offline``: notebook 08 (the mixed-quality data, ``train_offline_suite``);
- ``distill``: notebook 11 (RLDG, RPD, consistency distillation; ``run_part`` for the benchmark);
- ``rewards``: notebook 04 (rewards from generative models; ``run_reward`` for the benchmark);
- ``dppo``: notebook 10 (an under-trained policy, ``DPPO_ACTOR``, ``dppo_config``);
- ``reward_design``: notebook 04b (Eureka / Text2Reward on TwoRoutes; ``run_loop``, ``train_reward``);
- ``planning_diffusion``, ``planning_dd``, ``planning_language``, ``planning_explore``: notebook 06 (Diffuser,
  Decision Diffuser, SayCan over the skill library, ELLM vs RND; ``run_*`` sweep trials);
- ``world_models``: notebook 05 (representations from frames, PPO on them, SAC with a world model; ``run_trial``);
- ``shipped``: ``make_data``, the makers behind ``python -m labkit make-data``.
"""

from labkit.experiments import (
    diffusion_policy,
    distill,
    dppo,
    offline,
    planning_dd,
    planning_diffusion,
    planning_explore,
    planning_language,
    priors,
    reward_design,
    rewards,
    shipped,
    world_models,
)

__all__ = [
    "diffusion_policy",
    "distill",
    "dppo",
    "offline",
    "planning_dd",
    "planning_diffusion",
    "planning_explore",
    "planning_language",
    "priors",
    "reward_design",
    "rewards",
    "shipped",
    "world_models",
]
