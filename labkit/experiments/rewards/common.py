"""Notebook 04's task, reward families and their settings, PPO settings; training a reward family."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from labkit.rewards import (
    BonusConfig,
    DiffusionRewardConfig,
    VideoPredictionConfig,
    VLMConfig,
    make_episode_similarity_reward,
    train_diffusion_reward,
    train_video_prediction_reward,
    train_vlm_reward,
)
from labkit.store import load

TASK = "labkit/TwoRoutes-v0"
THRESHOLD = 0.9  # success rate that counts as "solved" for the steps-to-threshold measure
DEMOS = "two_routes_demos"

#: Reward family -> (label, settings). Settings were chosen by a small search (see REPORT / docstrings):
#: the state models see positions only (what a frame shows) every ``stride`` = 5 control steps.
REWARDS: dict[str, tuple[str, Any]] = {
    "diffusion": (
        "Diffusion Reward (entropy)",
        DiffusionRewardConfig(
            reward_type="entropy",
            state_dims=(0, 1),
            stride=5,
            n_samples=2,
            expl_scale=0.5,
            rnd=BonusConfig(update_every=4),
        ),
    ),
    "diffusion_likelihood": (
        "Diffusion Reward (likelihood)",
        DiffusionRewardConfig(reward_type="likelihood", state_dims=(0, 1), stride=5, expl_scale=0.5),
    ),
    "video_prediction": ("VIPER-style likelihood", VideoPredictionConfig(state_dims=(0, 1), stride=5, expl_scale=0.5)),
    "vlm": ("self-trained VLM (VLM-RMs reward)", VLMConfig()),
    "episode_similarity": ("episode similarity to one demo (RoboCLIP-style)", VLMConfig()),
}
#: The baselines PPO is compared with (no learned model).
BASELINES = {"dense": "PPO on the true dense reward", "sparse": "PPO on the sparse reward (1 on success)"}

#: Stock SB3 PPO settings shared by every run (the SB3 defaults apart from n_steps and batch size).
PPO_SETTINGS: dict[str, Any] = dict(n_steps=128, batch_size=256, learning_rate=3e-4, gamma=0.99)
N_ENVS = 8  # 8 x 128 = 1024 steps per rollout; more envs per call amortise the reward models' per-call cost
SUCCESS_BONUS = 1.0  # the sparse task reward added to every learned reward ("replace" mode)


def reward_config(name: str, smoke: bool = False, seed: int = 0):
    """The settings of reward family ``name`` (``smoke``: tiny budgets), with ``seed``."""
    if name not in REWARDS:
        raise ValueError(f"Unknown reward {name!r}. Choose one of {', '.join(REWARDS)}.")
    cfg = REWARDS[name][1]
    kw: dict[str, Any] = {"seed": seed}
    if smoke:
        kw.update(iterations=30, **({"n_images": 64} if isinstance(cfg, VLMConfig) else {}))
    if hasattr(cfg, "rnd"):
        kw["rnd"] = replace(cfg.rnd, seed=seed)
    if hasattr(cfg, "disagreement"):
        kw["disagreement"] = replace(cfg.disagreement, seed=seed)
    return replace(cfg, **kw)


def train_reward(name: str, demos=None, *, seed: int = 0, smoke: bool = False, progress: bool = True, vlm=None):
    """Train reward family ``name`` on ``demos`` (default: the shipped TwoRoutes demonstrations).

    :param vlm: for ``"episode_similarity"``, an already trained VLM reward whose encoder to reuse.
    :return: ``(model, TrainLog)`` (``log.seconds``, ``log.meta["cpu_seconds"]``; None when ``vlm`` is reused).
    """
    demos = demos if demos is not None else load(DEMOS)
    cfg = reward_config(name, smoke, seed)
    if isinstance(cfg, DiffusionRewardConfig):
        return train_diffusion_reward(demos, cfg, progress)
    if isinstance(cfg, VideoPredictionConfig):
        return train_video_prediction_reward(demos, cfg, progress)
    if name == "vlm" or vlm is None:
        model, log = train_vlm_reward(demos, cfg, progress)
        if name == "vlm":
            return model, log
        vlm = model
    else:
        log = None
    return make_episode_similarity_reward(vlm, demos, episode=0), log


def task_scene(env: Any) -> Any:
    """The ``TwoRoutesEnv`` under the wrappers (``path_length``, ``observation_at``)."""
    return env.unwrapped
