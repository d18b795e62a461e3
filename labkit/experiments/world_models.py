"""Notebook 05's ready-made runs: representations from demo frames, PPO on them, SAC with a world model.

Everything the notebook and ``benchmarks/world_models.py`` share: the task and its settings, the frame
datasets rendered from the shipped demonstrations, one ``run_ppo`` for the four observation kinds, one
``run_sac`` for model-free SAC and SAC trained on a model's rollouts (MBPO-style), the probes behind the
figures, and ``run_trial``, the sweep-ready trial of the benchmark.

    frames = demo_frames(max_episodes=50)                       # FrameDataset of rendered demo states
    reps = train_representations(frames, iterations=600)        # {"vip": Representation, "autoencoder": ...}
    model, log = run_ppo("vip", 20_000, rep=reps["vip"])        # SB3 PPO on the frozen VIP latent
    model, log = run_sac("two_routes", 3_000, mbpo=MBPO_PRESETS["two_routes"])

Every run returns the SB3 model and a :class:`~labkit.train.TrainLog` (``log.curve("success_rate")``;
``log.meta`` has the method, seed, env steps, CPU and wall seconds and the load; ``log.extras`` the
ensemble and the model callback's history for SAC with a model).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.env_util import make_vec_env
from tqdm.auto import tqdm

from labkit import envs  # envs.PixelObservation: mujoco loads on first use, not at import
from labkit.data.shipped import load_demos
from labkit.envs.registry import make
from labkit.rollout import evaluate
from labkit.runtime import check_int, check_seed, seed_everything
from labkit.sb3 import TrainingMonitor, learn
from labkit.train.log import TrainLog
from labkit.world_models.autoencoder import AutoencoderConfig, train_autoencoder
from labkit.world_models.ensemble import EnsembleConfig, ProbabilisticEnsemble
from labkit.world_models.frames import FrameDataset
from labkit.world_models.mbpo import MBPOConfig, MixedReplayBuffer, ModelRolloutCallback
from labkit.world_models.probes import nearest_frames, position_probe
from labkit.world_models.representation import Representation
from labkit.world_models.rollouts import open_loop
from labkit.world_models.tdmpc import TDMPCAgent, TDMPCConfig, train_tdmpc
from labkit.world_models.vip import VIPConfig, train_vip
from labkit.world_models.wrappers import LatentObservation

__all__ = [
    "BUDGETS",
    "ENV_ID",
    "MBPO_PRESETS",
    "OBSERVATIONS",
    "SAC_TASKS",
    "TDMPC_CONFIG",
    "Budget",
    "MBPOSettings",
    "agent_env",
    "demo_frames",
    "disagreement_grid",
    "goal_frame",
    "measure_render_cost",
    "mbpo_targets",
    "nearest_frames",
    "open_loop_paths",
    "position_probe",
    "probe_frames",
    "run_ppo",
    "run_sac",
    "run_tdmpc",
    "run_trial",
    "summary",
    "tdmpc_probe",
    "train_representations",
    "vip_reward_table",
]

ENV_ID = "labkit/TwoRoutes-v0"
IMAGE_SIZE = 64
#: The frames representations learn from: the expert demos plus the mixed set's noisy and failing episodes.
FRAME_SOURCES = ("two_routes_demos", "two_routes_mixed")
#: Notebook 01's PPO for TwoRoutes (4 envs); pixels from scratch get a smaller step for the CNN.
PPO_KWARGS: dict[str, Any] = dict(n_steps=256, batch_size=256, n_epochs=5, learning_rate=1e-3, gamma=0.98)
PPO_PIXEL_KWARGS: dict[str, Any] = dict(PPO_KWARGS, learning_rate=3e-4)
N_ENVS = 4
OBSERVATIONS = {
    "state": "true state",
    "vip": "frozen VIP latent",
    "autoencoder": "frozen autoencoder latent",
    "pixels": "pixels (CnnPolicy)",
    "vip_no_negatives": "frozen VIP latent, no negatives",
}
LATENTS = ("vip", "autoencoder", "vip_no_negatives")


class _Clock:
    """Wall and CPU seconds of this process, and the load average, over a ``with`` block."""

    def __enter__(self) -> _Clock:
        self.t, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.t, time.process_time() - self.c
        self.load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _stamp(log: TrainLog, clock: _Clock, method: str, seed: int, env_steps: int) -> TrainLog:
    log.meta.update(
        method=method,
        seed=seed,
        env_steps=env_steps,
        wall_seconds=round(clock.wall, 1),
        cpu_seconds=round(clock.cpu, 1),
        cpu_ms_per_step=round(1e3 * clock.cpu / max(1, env_steps), 3),
        load=round(clock.load, 2),
    )
    return log


def summary(log: TrainLog) -> dict[str, Any]:
    """A run as a JSON-friendly dict: meta, final success and return, the curves, numbers from ``extras``."""
    steps, success = log.curve("success_rate")
    _, returns = log.curve("mean_return")
    _, seconds = log.curve("seconds")
    extra = {k: v for k, v in log.extras.items() if isinstance(v, (int, float, str))}
    return {
        **log.meta,
        "final_success": success[-1] if success else float("nan"),
        "final_return": returns[-1] if returns else float("nan"),
        "curve_steps": steps,
        "curve_success": success,
        "curve_return": returns,
        "curve_seconds": seconds,  # training wall time at each evaluation (evaluations excluded)
        **extra,
    }


# ---------------------------------------------------------------------------------------------------------------
# Part 1: frames, representations, probes


def _pixel_env(size: int) -> Any:
    env = envs.PixelObservation(make(ENV_ID), size=size)
    env.reset(seed=0)
    return env


def demo_frames(
    sources: tuple[str, ...] = FRAME_SOURCES,
    size: int = IMAGE_SIZE,
    max_episodes: int | None = None,
    progress: bool = True,
) -> FrameDataset:
    """Render every state of the shipped demonstrations (each episode's T + 1 observations) as frames.

    :param max_episodes: per source, the first this many episodes (``None``: all).
    """
    env = _pixel_env(size)
    frames, states, lengths = [], [], []
    try:
        for name in sources:
            ds = load_demos(name)
            n = len(ds.episode_ends) if max_episodes is None else min(max_episodes, len(ds.episode_ends))
            for i in tqdm(range(n), desc=f"rendering {name}", disable=not progress, leave=False):
                ep = ds.episode(i)
                final = ds.episode_fields["final_observation"][i][None]  # (1, 8)
                s = np.concatenate([ep["observations"], final])  # (T + 1, 8)
                frames.append(env.frames_at(s[:, :2], s[:, 2:4]))
                states.append(s)
                lengths.append(len(s))
    finally:
        env.close()
    return FrameDataset(np.concatenate(frames), np.concatenate(states), np.cumsum(lengths), ENV_ID, "+".join(sources))


def probe_frames(n: int = 2_000, size: int = IMAGE_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(n, 3, S, S)`` of the robot at uniform positions ``(n, 2)`` in the arena (not only the demos' paths)."""
    pos = np.random.default_rng(seed).uniform(-0.45, 0.45, size=(n, 2))
    env = _pixel_env(size)
    try:
        return env.frames_at(pos), pos
    finally:
        env.close()


def goal_frame(size: int = IMAGE_SIZE) -> np.ndarray:
    """A frame ``(3, S, S)`` of the robot on TwoRoutes' goal."""
    env = _pixel_env(size)
    try:
        return env.frames_at(np.asarray([env.unwrapped.goal]))[0]
    finally:
        env.close()


def measure_render_cost(steps: int = 1_000, size: int = IMAGE_SIZE, seed: int = 0) -> dict[str, float]:
    """CPU and wall milliseconds per env step: the state env, PixelObservation, and gymnasium's own ``render()``."""
    out = {}
    timed = [
        ("state", make(ENV_ID)),
        ("pixels", envs.PixelObservation(make(ENV_ID), size=size)),
        ("gymnasium_render", make(ENV_ID, render_mode="rgb_array", width=size, height=size)),
    ]
    for name, env in timed:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        with _Clock() as c:
            for _ in range(steps):
                env.step(env.action_space.sample())
                if name == "gymnasium_render":
                    env.render()
        env.close()
        out[f"{name}_cpu_ms"], out[f"{name}_wall_ms"] = 1e3 * c.cpu / steps, 1e3 * c.wall / steps
    out["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return out


def train_representations(
    frames: FrameDataset,
    iterations: int = 2_000,
    seed: int = 0,
    latent_dim: int = 16,
    progress: bool = True,
    kinds: tuple[str, ...] = ("vip", "autoencoder"),
) -> dict[str, Representation]:
    """VIP and the autoencoder on the same frames, the same encoder and the same number of steps.

    Each representation's ``rep.log.meta`` gets the ``cpu_seconds``, ``wall_seconds`` and ``load`` of its training.
    """
    iterations = check_int("iterations", iterations, minimum=0)

    def vip(negatives: int) -> Representation:
        config = VIPConfig(latent_dim=latent_dim, iterations=iterations, lr=1e-3, n_negatives=negatives)
        return train_vip(frames, config, seed, progress)

    trainers: dict[str, Callable[[], Representation]] = {
        "vip": lambda: vip(3),
        "vip_no_negatives": lambda: vip(0),
        "autoencoder": lambda: train_autoencoder(
            frames, AutoencoderConfig(latent_dim=latent_dim, iterations=iterations), seed, progress
        ),
    }
    unknown = set(kinds) - set(trainers)
    if unknown:
        raise ValueError(f"kinds must be among {list(trainers)}. Got {sorted(unknown)}.")
    reps = {}
    for kind in kinds:
        with _Clock() as c:
            reps[kind] = trainers[kind]()
        reps[kind].log.meta.update(cpu_seconds=round(c.cpu, 1), wall_seconds=round(c.wall, 1), load=round(c.load, 2))
    return reps


def vip_reward_table(rep: Representation, frames: FrameDataset, goal: np.ndarray) -> dict[str, np.ndarray]:
    """VIP's reward ``d(o_t, g) - d(o_t+1, g)`` and the task's reward for every transition of ``frames``.

    The true reward is recomputed from the states with the env's own ``path_length``:
    ``10 * (L_t - L_t+1) - 0.01`` (plus 5 on reaching the goal), so any frame set with states can be scored.
    """
    base = _two_routes()
    d = rep.distance(frames.frames, goal)  # (N,)
    length = np.array([base.path_length(s[:2]) for s in frames.states])
    goal_dist = np.linalg.norm(frames.states[:, 4:6], axis=1)
    vip, true, episode = [], [], []
    for i in range(frames.n_episodes):
        sl = frames.episode(i)
        vip.append(d[sl][:-1] - d[sl][1:])
        true.append(10.0 * (length[sl][:-1] - length[sl][1:]) - 0.01 + 5.0 * (goal_dist[sl][1:] < base.goal_radius))
        episode.append(np.full(sl.stop - sl.start - 1, i))
    return {"vip": np.concatenate(vip), "true": np.concatenate(true), "episode": np.concatenate(episode)}


def agent_env(kind: str, rep: Representation | None = None, size: int = IMAGE_SIZE) -> Callable[[], gym.Env]:
    """A factory for the env an agent trains in: ``state``, ``pixels``, or a frozen latent (``vip``, ...)."""
    if kind not in OBSERVATIONS:
        raise ValueError(f"kind must be one of {list(OBSERVATIONS)}. Got {kind!r}.")
    if kind in LATENTS and rep is None:
        raise ValueError(f"kind {kind!r} needs the trained representation: agent_env({kind!r}, rep).")

    def factory() -> gym.Env:
        env = make(ENV_ID)
        if kind == "state":
            return env
        pixels = envs.PixelObservation(env, size=size)
        if kind == "pixels" or rep is None:
            return pixels
        return LatentObservation(pixels, rep)

    return factory


def run_ppo(
    kind: str,
    env_steps: int,
    seed: int = 0,
    rep: Representation | None = None,
    eval_every: int = 4_000,
    n_eval_episodes: int = 10,
    progress: bool = True,
) -> tuple[PPO, TrainLog]:
    """SB3 PPO on TwoRoutes seen through ``kind`` (see :data:`OBSERVATIONS`); greedy success every ``eval_every``."""
    env_steps, seed = check_int("env_steps", env_steps), check_seed(seed)
    seed_everything(seed)
    factory = agent_env(kind, rep)
    venv = make_vec_env(factory, n_envs=N_ENVS, seed=seed)
    policy, kwargs = ("CnnPolicy", PPO_PIXEL_KWARGS) if kind == "pixels" else ("MlpPolicy", PPO_KWARGS)
    model = PPO(policy, venv, seed=seed, verbose=0, **kwargs)
    monitor = TrainingMonitor(
        eval_env=factory, eval_every=eval_every, n_eval_episodes=n_eval_episodes, progress=progress, desc=f"PPO {kind}"
    )
    with _Clock() as c:
        learn(model, env_steps, monitor)
    venv.close()
    return model, _stamp(monitor.log, c, kind, seed, int(model.num_timesteps))


# ---------------------------------------------------------------------------------------------------------------
# Part 2: a model of the world that trains SAC


def two_routes_done(next_obs: np.ndarray) -> np.ndarray:
    """TwoRoutes ends when the robot is within 0.05 m of the goal (``obs[4:6]`` = goal - position)."""
    return np.linalg.norm(next_obs[:, 4:6], axis=1) < 0.05


def two_routes_reward(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
    """TwoRoutes' own reward for a batch of (predicted) transitions: progress round the cup, -0.01, +5 at the goal."""
    base = _two_routes()
    before = np.array([base.path_length(p) for p in obs[:, :2]])
    after = np.array([base.path_length(p) for p in next_obs[:, :2]])
    return (10.0 * (before - after) - 0.01 + 5.0 * two_routes_done(next_obs)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _two_routes() -> Any:
    """One TwoRoutes instance for its ``path_length`` (made on first use, not at import)."""
    return make(ENV_ID).unwrapped


def pendulum_done(next_obs: np.ndarray) -> np.ndarray:
    """InvertedPendulum ends when the pole leaves +-0.2 rad (``obs[1]``) or the state is not finite."""
    return ~(np.isfinite(next_obs).all(axis=1) & (np.abs(next_obs[:, 1]) <= 0.2))


@dataclass(frozen=True)
class SACTask:
    """A task for notebook 05's SAC runs: env, discount, termination rule, and what "learned" means."""

    env_id: str
    gamma: float
    done_fn: Callable[[np.ndarray], np.ndarray]
    metric: str  # "success" or "return"
    description: str
    reward_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None


SAC_TASKS = {
    "two_routes": SACTask(
        ENV_ID, 0.98, two_routes_done, "success", "point robot round a cup, dense progress reward", two_routes_reward
    ),
    "inverted_pendulum": SACTask(
        "InvertedPendulum-v5", 0.99, pendulum_done, "return", "balance a pole, +1 per step, 1000 max"
    ),
}
#: SB3 SAC as in notebook 01 (small networks: about 2.5x faster per step on a CPU than SB3's 256 x 256).
SAC_KWARGS: dict[str, Any] = dict(learning_starts=500, learning_rate=1e-3, policy_kwargs=dict(net_arch=[64, 64]))


@dataclass
class MBPOSettings:
    """SAC with a model: how batches mix real and imagined data, and how hard SAC trains on them.

    :param real_ratio: fraction of real transitions per SAC batch (MBPO: 0.05-0.1 with 20 updates per step).
    :param gradient_steps: SAC updates per env step (the update-to-data ratio).
    :param model: when to fit the ensemble and how it branches (:class:`MBPOConfig`).
    :param ensemble: the ensemble's size (:class:`EnsembleConfig`).
    :param model_size: capacity of the imagined-data ring.
    :param known_reward: score imagined transitions with the task's reward function instead of the learned one.
    """

    real_ratio: float = 0.25
    gradient_steps: int = 3
    model: MBPOConfig = field(default_factory=MBPOConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    model_size: int = 50_000
    known_reward: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.real_ratio <= 1.0 or self.gradient_steps < 1:
            raise ValueError(
                f"need 0 <= real_ratio <= 1 and gradient_steps >= 1. Got {self.real_ratio}, {self.gradient_steps}."
            )


#: The settings the prototype's search kept (one-step branches; longer ones did worse on TwoRoutes).
MBPO_PRESETS = {
    "two_routes": MBPOSettings(real_ratio=0.25, gradient_steps=3, model=MBPOConfig(rollout_length=1)),
    "inverted_pendulum": MBPOSettings(real_ratio=0.25, gradient_steps=3, model=MBPOConfig(rollout_length=1)),
}


def run_sac(
    task: str,
    env_steps: int,
    seed: int = 0,
    mbpo: MBPOSettings | None = None,
    gradient_steps: int = 1,
    eval_every: int = 500,
    n_eval_episodes: int = 10,
    progress: bool = True,
) -> tuple[SAC, TrainLog]:
    """Model-free SB3 SAC (``mbpo=None``, ``gradient_steps`` updates per step) or SAC trained on a model's rollouts.

    With a model, ``log.extras`` holds the ``ensemble``, the callback's ``history``, the number of ``imagined``
    transitions and the CPU seconds spent fitting the model and imagining.
    """
    if task not in SAC_TASKS:
        raise ValueError(f"task must be one of {list(SAC_TASKS)}. Got {task!r}.")
    env_steps, seed = check_int("env_steps", env_steps), check_seed(seed)
    spec = SAC_TASKS[task]
    if mbpo is not None and mbpo.known_reward and spec.reward_fn is None:
        raise ValueError(f"task {task!r} has no reward function for imagined transitions; use known_reward=False.")
    seed_everything(seed)
    env = make(spec.env_id, seed=seed)
    kwargs = dict(SAC_KWARGS, gamma=spec.gamma, gradient_steps=mbpo.gradient_steps if mbpo else gradient_steps)
    success = None if spec.metric == "success" else (lambda ep: ep.ret >= 950)
    monitor = TrainingMonitor(
        eval_env=spec.env_id, eval_every=eval_every, n_eval_episodes=n_eval_episodes, progress=progress, success=success
    )
    callbacks: list[Any] = [monitor]
    if mbpo is not None:
        kwargs.update(
            replay_buffer_class=MixedReplayBuffer,
            replay_buffer_kwargs=dict(real_ratio=mbpo.real_ratio, model_size=mbpo.model_size),
        )
    model = SAC("MlpPolicy", env, seed=seed, verbose=0, **kwargs)
    if mbpo is not None:
        obs_dim, act_dim = int(np.prod(env.observation_space.shape or ())), int(np.prod(env.action_space.shape or ()))
        ensemble = ProbabilisticEnsemble(obs_dim, act_dim, mbpo.ensemble, seed=seed)
        reward_fn = spec.reward_fn if mbpo.known_reward else None
        callbacks.append(ModelRolloutCallback(ensemble, mbpo.model, done_fn=spec.done_fn, reward_fn=reward_fn))
    with _Clock() as c:
        learn(model, env_steps, CallbackList(callbacks))
    if mbpo is not None:
        method = "SAC + model (MBPO-style)"
    else:
        method = "SAC" if gradient_steps == 1 else f"SAC, {gradient_steps} updates/step"
    log = _stamp(monitor.log, c, method, seed, int(model.num_timesteps))
    if mbpo is not None:
        cb = callbacks[1]
        log.extras.update(
            ensemble=cb.ensemble,
            history=cb.history,
            imagined=cb.imagined,
            model_fit_cpu_seconds=round(cb.cpu_seconds["fit"], 1),
            rollout_cpu_seconds=round(cb.cpu_seconds["rollout"], 1),
        )
    return model, log


#: The TD-MPC-style agent as notebook 05 and the benchmark run it (the defaults of TDMPCConfig).
TDMPC_CONFIG = TDMPCConfig()


def run_tdmpc(
    task: str,
    env_steps: int,
    seed: int = 0,
    config: TDMPCConfig | None = None,
    eval_every: int = 500,
    n_eval_episodes: int = 10,
    progress: bool = True,
) -> tuple[TDMPCAgent, TrainLog]:
    """A TD-MPC-style latent world model (``labkit.world_models.tdmpc``) on one of :data:`SAC_TASKS`, timed as
    :func:`run_sac` is (``log.meta``: CPU ms per env step, the load), with the task's discount and success rule."""
    if task not in SAC_TASKS:
        raise ValueError(f"task must be one of {list(SAC_TASKS)}. Got {task!r}.")
    spec = SAC_TASKS[task]
    config = replace(config or TDMPC_CONFIG, gamma=spec.gamma)
    success = None if spec.metric == "success" else (lambda ep: ep.ret >= 950)
    with _Clock() as c:
        agent, log = train_tdmpc(
            spec.env_id, env_steps, config, seed, eval_every, n_eval_episodes, progress=progress, success=success
        )
    return agent, _stamp(log, c, log.meta["method"], seed, log.env_steps)


def tdmpc_probe(agent: TDMPCAgent, log: TrainLog, n_episodes: int = 10, seed: int = 10_000) -> dict[str, Any]:
    """Why a TD-MPC run on TwoRoutes did or did not learn: its greedy paths, the reward's jumps, its value error.

    :returns: ``trajectories`` (greedy episodes, each ``(T + 1, 8)``), ``success``, ``spike_xy (M, 2)``: where in
        its own replay a non-terminal step paid more than 1 in either direction (the shortest-path length the
        reward follows jumps where the robot grazes the cup), ``end_near_corner``: the share of greedy episodes
        that end within 5 cm of a top corner of the cup, ``predicted_value`` (the critic's
        ``Q(z_0, pi(z_0))`` at each start) and ``realised_return`` (the discounted return the episode got).
    """
    if "replay" not in log.extras or agent.obs_dim != 8:
        raise ValueError("tdmpc_probe needs a TwoRoutes agent and its log from run_tdmpc('two_routes', ...).")
    res = evaluate(agent, ENV_ID, n_episodes, seed=seed, progress=False)
    replay = log.extras["replay"]
    r, done = replay.rewards[: replay.n], replay.terminated[: replay.n]
    spikes = (np.abs(r) > 1.0) & ~done
    gamma = agent.config.gamma
    starts = np.stack([t[0] for t in res.trajectories]).astype(np.float32)
    with torch.no_grad():
        z = agent.encode(torch.as_tensor(starts, device=agent.device))
        predicted = agent.q(z, agent.act(z)).cpu().numpy()
    realised = []
    for ep in range(n_episodes):
        traj = res.trajectories[ep]
        rewards = two_routes_reward(traj[:-1], np.zeros((len(traj) - 1, 2), np.float32), traj[1:])
        realised.append(float(np.sum(rewards * gamma ** np.arange(len(rewards)))))
    base = _two_routes()
    corners = np.array([[s * (base.CUP_HALF_WIDTH + 0.03), base.obstacle[1] + 0.10] for s in (-1, 1)])  # (2, 2)
    ends = np.stack([t[-1, :2] for t in res.trajectories])  # (n, 2)
    near = np.linalg.norm(ends[:, None] - corners[None], axis=-1).min(1) < 0.05
    return {
        "trajectories": res.trajectories,
        "end_near_corner": float(near.mean()),
        "success": res.successes,
        "spike_xy": replay.next_obs[: replay.n][spikes, :2],
        "spike_share": float(spikes.mean()),
        "predicted_value": predicted,
        "realised_return": np.asarray(realised),
    }


def mbpo_targets(runs: dict[str, list[dict]], metric: str = "success") -> dict:
    """Issue 13's SAC targets from per-seed summaries ``{"sac": [...], "mbpo": [...], ...}``.

    The bar is model-free SAC's final ``metric`` (mean over seeds). Steps to the bar: the first evaluation at or
    above it, per seed (a run that never gets there counts as its whole budget and is flagged).
    """
    key, curve = ("final_success", "curve_success") if metric == "success" else ("final_return", "curve_return")
    bar = float(np.mean([r[key] for r in runs["sac"]]))

    def steps_to_bar(r: dict) -> tuple[int, bool]:
        hit = next((s for s, y in zip(r["curve_steps"], r[curve]) if y >= bar - 1e-9), None)
        return (hit, True) if hit is not None else (r["env_steps"], False)

    out: dict[str, Any] = {"bar": bar, "metric": metric}
    for name, rs in runs.items():
        hits = [steps_to_bar(r) for r in rs]
        out[name] = {
            "steps_to_bar": [h for h, _ in hits],
            "reached": [ok for _, ok in hits],
            "cpu_ms_per_step": float(np.mean([r["cpu_ms_per_step"] for r in rs])),
        }
    sac, mbpo = out["sac"], out["mbpo"]
    ratio = float(np.mean(mbpo["steps_to_bar"]) / max(np.mean(sac["steps_to_bar"]), 1))
    cost = mbpo["cpu_ms_per_step"] / sac["cpu_ms_per_step"]
    learned = bar > (0.0 if metric == "success" else -np.inf) and all(sac["reached"])
    out["steps_ratio"] = {
        "value": ratio,
        "target": 1 / 3,
        "met": bool(learned and ratio <= 1 / 3 and all(mbpo["reached"])),
        "note": "" if learned else "model-free SAC learned nothing in its budget: no bar to reach",
    }
    out["cost_ratio_cpu"] = {"value": float(cost), "target": 5.0, "met": bool(cost <= 5.0)}
    return out


def open_loop_paths(
    ensemble: ProbabilisticEnsemble, policy: Any, n_starts: int = 4, horizon: int = 30, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Real vs imagined TwoRoutes paths in the plane: one real episode of ``policy`` (stochastic actions), branched
    at ``n_starts`` evenly spaced states, each member replaying the episode's actions open loop from there.

    :returns: ``real_xy (N, H + 1, 2)`` and ``pred_xy (N, K, H + 1, 2)`` (H shrinks if the episode is short).
    """
    env = make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    observations, actions, done = [obs], [], False
    while not done:
        a, _ = policy.predict(obs, deterministic=False)
        obs, _, term, trunc, _ = env.step(a)
        observations.append(obs)
        actions.append(a)
        done = term or trunc
    env.close()
    horizon = max(1, min(horizon, len(actions) - 1))
    starts = np.linspace(0, len(actions) - horizon, n_starts).astype(int).tolist()
    real, pred = open_loop(ensemble, np.asarray(observations), np.asarray(actions), starts, horizon)
    return real[..., :2], pred[..., :2]


def disagreement_grid(
    ensemble: ProbabilisticEnsemble, n: int = 41, action: tuple[float, float] = (0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members' disagreement on a grid of positions (at rest, pushing ``action``): ``xs (n,), ys (n,), (n, n)``."""
    base = _two_routes()
    xs = ys = np.linspace(-0.48, 0.48, n)
    obs = np.stack([base.observation_at((x, y)) for y in ys for x in xs]).astype(np.float32)  # (n * n, 8)
    acts = np.repeat(np.asarray(action, np.float32)[None], len(obs), 0)  # (n * n, 2)
    _, _, spread = ensemble.step(obs, acts, sample=False)
    return xs, ys, spread.reshape(n, n)  # rows: y, columns: x


# ---------------------------------------------------------------------------------------------------------------
# The benchmark's trial (labkit.sweep.run(run_trial, settings, seeds))


@dataclass(frozen=True)
class Budget:
    """The budgets of one benchmark size (``BUDGETS["quick"]`` / ``["full"]``)."""

    rep_iterations: int
    max_episodes: int | None
    ppo_steps: int
    ppo_eval_every: int
    ppo_eval_episodes: int
    sac_steps: int
    mbpo_steps: int
    sac_eval_every: int
    sac_eval_episodes: int
    probe_frames: int
    tdmpc_steps: int


BUDGETS = {
    "quick": Budget(200, 30, 4_096, 2_048, 5, 1_500, 1_000, 500, 3, 400, 1_000),
    "full": Budget(3_000, None, 30_000, 5_000, 10, 15_000, 5_000, 500, 10, 2_000, 8_000),
}


def run_trial(seed: int, part: str, method: str, budget_name: str = "quick", task: str = "two_routes") -> dict:
    """One benchmark trial, JSON-friendly: ``part="ppo"`` (``method`` an observation kind; a latent is trained
    first on the demo frames, with its probe and VIP-reward correlation), ``part="sac"`` (``method`` one of
    ``sac``, ``mbpo``, ``sac_same_updates``) or ``part="latent"`` (``tdmpc``, ``tdmpc_policy_only`` or ``sac``,
    all for ``tdmpc_steps`` on ``task``)."""
    if budget_name not in BUDGETS:
        raise ValueError(f"budget_name must be one of {list(BUDGETS)}. Got {budget_name!r}.")
    b = BUDGETS[budget_name]
    out: dict[str, Any] = {"part": part, "method": method, "budget_name": budget_name}
    if part == "ppo":
        rep = None
        if method in LATENTS:
            frames = demo_frames(max_episodes=b.max_episodes, progress=False)
            rep = train_representations(frames, b.rep_iterations, seed=seed, progress=False, kinds=(method,))[method]
            probe, positions = probe_frames(b.probe_frames)
            table = vip_reward_table(rep, frames, goal_frame())
            out["representation"] = {
                **rep.log.meta,
                "final_loss": float(np.mean(rep.losses[-50:])),
                **position_probe(rep, probe, positions),
                "reward_corr_demos": float(np.corrcoef(table["vip"], table["true"])[0, 1]),
            }
        _, log = run_ppo(method, b.ppo_steps, seed, rep, b.ppo_eval_every, b.ppo_eval_episodes, progress=False)
    elif part == "sac":
        settings = MBPO_PRESETS[task]
        runs: dict[str, dict[str, Any]] = {
            "sac": dict(env_steps=b.sac_steps),
            "mbpo": dict(env_steps=b.mbpo_steps, mbpo=settings),
            "sac_same_updates": dict(env_steps=b.mbpo_steps, gradient_steps=settings.gradient_steps),
        }
        if method not in runs:
            raise ValueError(f"method must be one of {list(runs)} for part 'sac'. Got {method!r}.")
        _, log = run_sac(
            task,
            seed=seed,
            eval_every=b.sac_eval_every,
            n_eval_episodes=b.sac_eval_episodes,
            progress=False,
            **runs[method],
        )
        out["settings"] = asdict(settings) if method == "mbpo" else None
    elif part == "latent":  # TD-MPC against model-free SAC, the same budget, on either task
        if method not in ("tdmpc", "tdmpc_policy_only", "sac"):
            raise ValueError(f"method must be 'tdmpc', 'tdmpc_policy_only' or 'sac' for part 'latent'. Got {method!r}.")
        every = 2 * b.sac_eval_every
        if method == "sac":
            _, log = run_sac(task, b.tdmpc_steps, seed, None, 1, every, b.sac_eval_episodes, progress=False)
        else:
            config = replace(TDMPC_CONFIG, plan=method == "tdmpc")
            _, log = run_tdmpc(task, b.tdmpc_steps, seed, config, every, b.sac_eval_episodes, progress=False)
            out["settings"] = asdict(config)
            out.update({k: log.meta[k] for k in ("update_cpu_seconds", "act_cpu_seconds")})
        out["task"] = task
    else:
        raise ValueError(f"part must be 'ppo', 'sac' or 'latent'. Got {part!r}.")
    return {**out, **summary(log), "method": method}
