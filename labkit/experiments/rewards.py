"""Notebook 04's ready-made runs: train each reward model, probe it, and train PPO on it.

Everything notebook 04 and ``benchmarks/rewards.py`` compute goes through these functions:

- :data:`REWARDS` the reward families and their chosen settings (:func:`reward_config`);
- :func:`train_reward` trains one family on ``two_routes_demos`` (the VLM also renders frames);
- :func:`heldout_rollouts` + :func:`reward_correlation`: Pearson r of each learned reward with the true
  per-step progress on episodes none of the models saw (expert, noisy, failing and random drivers);
- :func:`reward_heatmap`: the reward over the plane, probing states with ``env.unwrapped.observation_at``;
- :func:`run_ppo`: stock SB3 PPO on the true dense reward, the sparse reward, or a learned reward
  (success against env steps on the TRUE task, learned and true episode returns; a ``TrainLog``);
- :func:`reward_cost`: milliseconds of reward computation per env step, batched over the envs;
- :func:`run_reward`: the benchmark's sweep-ready trial (one reward family, one seed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env

from labkit.envs.experts import StraightUpPolicy, TwoRoutesExpert
from labkit.envs.registry import make
from labkit.rewards import (
    BonusConfig,
    DiffusionRewardConfig,
    LearnedReward,
    LearnedRewardVecEnv,
    VideoPredictionConfig,
    VLMConfig,
    episode_states,
    make_episode_similarity_reward,
    tabulate,
    train_diffusion_reward,
    train_video_prediction_reward,
    train_vlm_reward,
    transition_windows,
)
from labkit.rewards.diffusion_reward import DiffusionReward
from labkit.rollout import collect, evaluate
from labkit.runtime import check_int, check_seed
from labkit.sb3 import TrainingMonitor, learn
from labkit.store import load
from labkit.train import TrainLog, steps_to_reach

__all__ = [
    "BASELINES",
    "HELDOUT_DRIVERS",
    "PPO_SETTINGS",
    "REWARDS",
    "TASK",
    "THRESHOLD",
    "Rollouts",
    "heldout_rollouts",
    "make_training_env",
    "ppo_summary",
    "ppo_throughput",
    "probe_windows",
    "reward_by_driver",
    "reward_config",
    "reward_correlation",
    "reward_cost",
    "reward_heatmap",
    "run_ppo",
    "run_reward",
    "tabulate",
    "train_reward",
    "true_progress_by_driver",
]

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


def _scene(env: Any) -> Any:
    """The ``TwoRoutesEnv`` under the wrappers (``path_length``, ``observation_at``)."""
    return env.unwrapped


# --- held-out rollouts and correlation with the true progress ---------------------------------------
class _Uniform:
    """A driver that picks uniformly random actions (the least expert-like data we can make)."""

    def reset(self, rng: np.random.Generator) -> None:
        pass

    def __call__(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=2).astype(np.float32)


#: Held-out drivers: name -> driver. Their episodes span good, mediocre and failing behaviour.
HELDOUT_DRIVERS: dict[str, Callable[[], Any]] = {
    "expert": lambda: TwoRoutesExpert(noise=0.1),
    "noisy expert": lambda: TwoRoutesExpert(noise=0.5),
    "very noisy expert": lambda: TwoRoutesExpert(noise=1.0),
    "straight into the cup": lambda: StraightUpPolicy(noise=0.3),
    "random": _Uniform,
}


@dataclass
class Rollouts:
    """Held-out episodes: ``states`` per episode ``(T_i + 1, obs_dim)``, the driver of each, and the
    true per-step progress ``L(s_t) - L(s_{t+1})`` (m along the shortest way round the cup)."""

    states: list[np.ndarray]
    drivers: list[str]
    progress: list[np.ndarray]
    success: np.ndarray


def heldout_rollouts(n_per_driver: int = 10, seed: int = 10_000) -> Rollouts:
    """Episodes of every :data:`HELDOUT_DRIVERS` driver, env seeds from ``seed`` (the demos used 0..)."""
    env = make(TASK)
    states: list[np.ndarray] = []
    drivers: list[str] = []
    success: list[bool] = []
    for k, (name, driver) in enumerate(HELDOUT_DRIVERS.items()):
        ds = collect(
            driver(),
            TASK,
            n_per_driver,
            seed + 1000 * k,
            expert_name=name,
            created_with="labkit.experiments.rewards.heldout_rollouts",
            progress=False,
        )
        states += episode_states(ds)
        drivers += [name] * len(ds)
        success += list(np.asarray(ds.episode_fields["success"], dtype=bool))
    L = _scene(env).path_length
    progress = [np.array([L(s[t, :2]) - L(s[t + 1, :2]) for t in range(len(s) - 1)]) for s in states]
    env.close()
    return Rollouts(states, drivers, progress, np.array(success))


def _model_term(model, window: np.ndarray) -> np.ndarray:
    """The learned model's own term per step (online exploration terms left out: they depend on the run)."""
    if model.episodic:
        return np.zeros(len(window))
    return np.asarray(model.step_reward(window)["model"], dtype=np.float64)


def reward_correlation(model, rollouts: Rollouts) -> dict[str, float]:
    """Pearson r of the learned reward with the truth on held-out episodes.

    ``per_step``: learned reward of each transition vs its true progress (per-step models only);
    ``per_episode``: learned episode return vs true episode progress (every model).
    """
    step_r, step_p, ep_r, ep_p = [], [], [], []
    for s, p in zip(rollouts.states, rollouts.progress):
        r = _model_term(model, transition_windows([s], model.context, model.stride))
        ret = float(model.episode_reward([s])[0]) if model.episodic else float(r.sum())
        step_r.append(r)
        step_p.append(p)
        ep_r.append(ret)
        ep_p.append(float(p.sum()))
    out = {"per_episode": float(np.corrcoef(ep_r, ep_p)[0, 1])}
    if not model.episodic:
        out["per_step"] = float(np.corrcoef(np.concatenate(step_r), np.concatenate(step_p))[0, 1])
    return out


def reward_by_driver(model, rollouts: Rollouts) -> dict[str, float]:
    """Mean learned reward per step (model term) for each held-out driver: does it rank them like the truth?"""
    out: dict[str, list[np.ndarray]] = {}
    for s, d in zip(rollouts.states, rollouts.drivers):
        if model.episodic:
            out.setdefault(d, []).append(np.asarray(model.episode_reward([s])))
        else:
            out.setdefault(d, []).append(_model_term(model, transition_windows([s], model.context, model.stride)))
    return {d: float(np.concatenate(v).mean()) for d, v in out.items()}


def true_progress_by_driver(rollouts: Rollouts) -> dict[str, float]:
    """Mean true progress per step (m) for each held-out driver, for comparison with :func:`reward_by_driver`."""
    out: dict[str, list[np.ndarray]] = {}
    for p, d in zip(rollouts.progress, rollouts.drivers):
        out.setdefault(d, []).append(p)
    return {d: float(np.concatenate(v).mean()) for d, v in out.items()}


# --- the reward over the plane ---------------------------------------------------------------------
def _toward_goal(env, pos: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Unit direction of steepest descent of the true path length at ``pos`` (2,)."""
    L = _scene(env).path_length
    g = np.array([L(pos + [eps, 0]) - L(pos - [eps, 0]), L(pos + [0, eps]) - L(pos - [0, eps])]) / (2 * eps)
    return -g / max(float(np.linalg.norm(g)), 1e-9)


def probe_windows(model, positions: np.ndarray, motion: str = "toward", speed: float = 0.45) -> np.ndarray:
    """Windows ``(N, history_length, obs_dim)`` of a robot arriving at each position.

    :param motion: ``"toward"`` (moving along the true shortest way to the goal at ``speed`` m/s),
        ``"away"`` (the opposite direction) or ``"rest"`` (standing still).
    """
    if motion not in ("toward", "away", "rest"):
        raise ValueError(f"motion must be 'toward', 'away' or 'rest'. Got {motion!r}.")
    env = make(TASK)
    env.reset(seed=0)
    dt, H = 0.05, model.history_length
    out = np.empty((len(positions), H, int(np.prod(env.observation_space.shape or ()))), dtype=np.float32)
    for n, p in enumerate(np.asarray(positions, dtype=np.float64)):
        v = {"toward": 1.0, "away": -1.0, "rest": 0.0}[motion] * speed * _toward_goal(env, p)
        out[n] = [_scene(env).observation_at(p - (H - 1 - i) * v * dt, v) for i in range(H)]
    env.close()
    return out


def reward_heatmap(model, grid: int = 31, motion: str = "toward", half: float = 0.47) -> dict[str, np.ndarray]:
    """The learned reward (model term) over a ``grid x grid`` lattice of the arena.

    :return: ``{"x": (grid,), "y": (grid,), "reward": (grid, grid), "true_potential": (grid, grid)}``
        with rows along y; ``true_potential = -L(pos)`` (minus the true path length to the goal).
    """
    xs = ys = np.linspace(-half, half, grid)
    pos = np.array([[x, y] for y in ys for x in xs])  # (grid*grid, 2), row-major in y
    if isinstance(model, DiffusionReward) or not hasattr(model, "embed_positions"):
        r = _model_term(model, probe_windows(model, pos, motion))
    else:  # frame-based: one batched render + encode
        r = model.reward_from_embeddings(model.embed_positions(pos)).numpy()
    env = make(TASK)
    L = np.array([_scene(env).path_length(p) for p in pos])
    env.close()
    return {"x": xs, "y": ys, "reward": r.reshape(grid, grid), "true_potential": -L.reshape(grid, grid)}


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


def reward_cost(model, rollouts: Rollouts, n_envs: int = N_ENVS, n_calls: int = 50) -> dict[str, float]:
    """Milliseconds of reward computation per env step, batched over ``n_envs`` (online updates included)."""
    m = model.fresh()
    windows = np.concatenate([transition_windows([s], m.context, m.stride) for s in rollouts.states])
    rng = np.random.default_rng(0)
    batches = [windows[rng.integers(0, len(windows), n_envs)] for _ in range(n_calls + 5)]
    actions = rng.uniform(-1, 1, (n_envs, 2)).astype(np.float32)
    for b in batches[:5]:  # warm-up (a copy builds its renderer on first use)
        m.step_reward(b, actions)
        m.observe(b, actions)
    if m.episodic:
        m.episode_reward(rollouts.states[:1])
    t0, c0 = time.perf_counter(), time.process_time()
    for b in batches[5:]:
        m.step_reward(b, actions)
        m.observe(b, actions)
    if m.episodic:  # one episode-end reward per env and episode of ~55 steps (the demos' mean length)
        t1 = time.process_time()
        m.episode_reward([rollouts.states[i % len(rollouts.states)] for i in range(n_envs)])
        per_episode = (time.process_time() - t1) / n_envs
        extra = per_episode / 55.0 * n_calls * n_envs
    else:
        extra = 0.0
    cpu, wall = time.process_time() - c0 + extra, time.perf_counter() - t0 + extra
    return {
        "cpu_ms_per_env_step": 1e3 * cpu / (n_calls * n_envs),
        "wall_ms_per_env_step": 1e3 * wall / (n_calls * n_envs),
    }


# --- the benchmark's trial -----------------------------------------------------------------------
def run_reward(
    seed: int,
    reward: str = "diffusion",
    env_steps: int = 30_000,
    *,
    mode: str = "replace",
    train_ppo: bool = True,
    smoke: bool = False,
    n_heldout: int = 6,
    eval_every: int = 2_000,
    throughput_steps: int = 0,
) -> dict[str, Any]:
    """One reward family (or baseline), one seed: train it, probe it, train PPO on it (sweep-ready).

    :param reward: a key of :data:`REWARDS` or :data:`BASELINES`.
    :param mode: how a learned reward is paid (``"replace"`` or ``"potential"``).
    :param train_ppo: False: train and probe the reward model only (correlation, cost).
    :param smoke: tiny model budgets (the numbers then mean nothing).
    :param n_heldout: held-out episodes per driver for the correlations.
    :param throughput_steps: > 0: also measure PPO's env steps per CPU second with this reward in the loop.
    :return: JSON-friendly: ``correlation``, ``cost``, ``by_driver``, ``train_cpu_seconds`` (learned
        rewards), ``ppo`` (:func:`ppo_summary`), ``throughput``.
    """
    seed = check_seed(seed)
    if reward not in REWARDS and reward not in BASELINES:
        raise ValueError(f"reward must be one of {', '.join([*REWARDS, *BASELINES])}. Got {reward!r}.")
    out: dict[str, Any] = {"reward": reward, "mode": mode}
    agent_reward: str | LearnedReward = reward
    if reward in REWARDS:
        vlm = train_reward("vlm", seed=seed, smoke=smoke, progress=False)[0] if reward == "episode_similarity" else None
        c0 = time.process_time()
        model, _ = train_reward(reward, seed=seed, smoke=smoke, progress=False, vlm=vlm)
        rollouts = heldout_rollouts(n_per_driver=n_heldout)
        out.update(
            train_cpu_seconds=time.process_time() - c0,
            correlation=reward_correlation(model, rollouts),
            cost=reward_cost(model, rollouts, n_calls=10 if smoke else 50),
            by_driver=reward_by_driver(model, rollouts),
        )
        # the VLM reward depends on the position only: PPO uses its table (no rendering in the loop)
        agent_reward = tabulate(model, grid=15 if smoke else 61) if reward == "vlm" else model
    if train_ppo:
        log = run_ppo(agent_reward, env_steps, seed=seed, progress=False, mode=mode, eval_every=eval_every, name=reward)
        out["ppo"] = ppo_summary(log)
    if throughput_steps > 0:
        out["throughput"] = ppo_throughput(agent_reward, throughput_steps, seed=seed)
    return out
