"""Probing a learned reward without RL: held-out rollouts, correlation with the true progress, heat maps, cost."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.envs.experts import StraightUpPolicy, TwoRoutesExpert
from labkit.envs.registry import make
from labkit.experiments.rewards.common import N_ENVS, TASK, task_scene
from labkit.rewards import (
    episode_states,
    transition_windows,
)
from labkit.rewards.diffusion_reward import DiffusionReward
from labkit.rollout import collect


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
    L = task_scene(env).path_length
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
    L = task_scene(env).path_length
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
        out[n] = [task_scene(env).observation_at(p - (H - 1 - i) * v * dt, v) for i in range(H)]
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
    L = np.array([task_scene(env).path_length(p) for p in pos])
    env.close()
    return {"x": xs, "y": ys, "reward": r.reshape(grid, grid), "true_potential": -L.reshape(grid, grid)}


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
