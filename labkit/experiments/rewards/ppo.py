"""Stock SB3 PPO on a reward (dense, sparse or learned), evaluated on the TRUE task; its throughput."""

from __future__ import annotations

import os
import time
from typing import Any

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env

from labkit.experiments.rewards.common import BASELINES, N_ENVS, PPO_SETTINGS, SUCCESS_BONUS, TASK, THRESHOLD
from labkit.rewards import (
    LearnedReward,
    LearnedRewardVecEnv,
)
from labkit.rollout import evaluate
from labkit.runtime import check_int, check_seed
from labkit.sb3 import TrainingMonitor, learn
from labkit.train import TrainLog, steps_to_reach


# --- PPO on a reward -----------------------------------------------------------------------------
class _EpisodeLog(BaseCallback):
    """Per training episode: env step at its end, success, learned and true return."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int, bool, float, float]] = []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode" in info:  # Monitor's record: the episode ended
                learned = info.get("learned_episode_return", float("nan"))
                self.rows.append(
                    (
                        int(self.num_timesteps),
                        bool(info.get("is_success", False)),
                        float(learned),
                        float(info.get("true_episode_return", info["episode"]["r"])),
                    )
                )
        return True


def ppo_summary(log: TrainLog) -> dict[str, Any]:
    """JSON-friendly summary of one :func:`run_ppo` log: final success, env steps to :data:`THRESHOLD`, time."""
    steps, success = log.curve("success_rate")
    return {
        **{k: log.meta[k] for k in ("reward", "seed", "cpu_seconds", "load") if k in log.meta},
        "env_steps": log.env_steps,
        "final_success": float(success[-1]) if success else 0.0,
        "steps_to_90": steps_to_reach(steps, success, THRESHOLD),
        "wall_seconds": round(log.seconds, 2),
        "steps": [int(x) for x in steps],
        "success": [float(v) for v in success],
    }


def make_training_env(
    reward, n_envs: int = N_ENVS, seed: int = 0, success_bonus: float = SUCCESS_BONUS, mode: str = "replace"
):
    """The VecEnv PPO trains in: ``"dense"``, ``"sparse"`` or a learned reward model (fresh online terms).

    :param mode: how a learned reward is paid (:class:`~rewards.wrapper.RewardCore`): ``"replace"`` or ``"potential"``.
    """
    if isinstance(reward, str):
        if reward not in BASELINES:
            raise ValueError(f"reward must be one of {', '.join(BASELINES)} or a trained reward model. Got {reward!r}.")
        return make_vec_env(TASK, n_envs=n_envs, seed=seed, env_kwargs={"reward": reward})
    venv = make_vec_env(TASK, n_envs=n_envs, seed=seed)  # dense env reward: logged as the true reward
    return LearnedRewardVecEnv(
        venv, reward.fresh(), success_bonus=success_bonus, mode=mode, gamma=PPO_SETTINGS["gamma"]
    )


def run_ppo(
    reward: str | LearnedReward,
    env_steps: int,
    *,
    seed: int = 0,
    n_envs: int = N_ENVS,
    eval_every: int = 2_000,
    n_eval_episodes: int = 20,
    success_bonus: float = SUCCESS_BONUS,
    progress: bool = True,
    name: str | None = None,
    record_video: bool = False,
    mode: str = "replace",
) -> TrainLog:
    """Train stock SB3 PPO (:data:`PPO_SETTINGS`) on ``reward`` and evaluate on the true task.

    :param reward: ``"dense"``, ``"sparse"`` or a trained reward model (paid ``learned + success_bonus *
        success``; the env's dense reward is only logged).
    :param eval_every: env steps between evaluations (deterministic policy, ``n_eval_episodes`` fixed starts).
    :param record_video: also render one episode of the final policy (``log.extras["frames"]``).
    :param mode: how a learned reward is paid: ``"replace"`` (default) or ``"potential"`` (shaping).
    :return: the ``TrainingMonitor``'s ``TrainLog`` (``history``: ``env_steps``, ``success_rate``);
        ``meta``: reward, seed, CPU seconds, load; ``extras``: ``episodes`` (env step, success, learned and
        true return of every training episode), ``trajectories`` (final policy, 5 starts), ``frames``.
    """
    env_steps, seed = check_int("env_steps", env_steps), check_seed(seed)
    torch.manual_seed(seed)
    venv = make_training_env(reward, n_envs, seed, success_bonus, mode)
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, **PPO_SETTINGS)
    label = name or (reward if isinstance(reward, str) else reward.name)
    monitor = TrainingMonitor(
        eval_env=TASK, eval_every=eval_every, n_eval_episodes=n_eval_episodes, progress=progress, desc=f"PPO on {label}"
    )
    episodes = _EpisodeLog()
    c0 = time.process_time()
    learn(model, env_steps, CallbackList([monitor, episodes]))
    cpu = time.process_time() - c0
    venv.close()
    final = evaluate(
        model, TASK, 5, seed=10_000, deterministic=True, progress=False, record_episodes=1 if record_video else 0
    )
    log = monitor.log
    log.meta.update(reward=label, seed=seed, cpu_seconds=round(cpu, 2), load=os.getloadavg()[0], mode=mode)
    log.extras.update(
        episodes=episodes.rows,
        trajectories=list(final.trajectories),
        frames=final.frames[0] if record_video else [],
    )
    return log


def ppo_throughput(reward, env_steps: int = 4_096, seed: int = 0, n_envs: int = N_ENVS) -> dict[str, float]:
    """Env steps per CPU second (and per wall second) of PPO training alone, no evaluations."""
    venv = make_training_env(reward, n_envs, seed)
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, **PPO_SETTINGS)
    model.learn(PPO_SETTINGS["n_steps"] * n_envs)  # warm-up (first rollout, imports, allocations)
    t0, c0 = time.perf_counter(), time.process_time()
    model.learn(env_steps, reset_num_timesteps=False)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    venv.close()
    return {
        "steps_per_cpu_second": env_steps / cpu,
        "steps_per_wall_second": env_steps / wall,
        "load": os.getloadavg()[0],
    }
