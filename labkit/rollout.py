"""Roll any policy out in gymnasium envs: one core behind ``evaluate``, ``record`` and ``collect``.

What can act (``as_actor``):

- a labkit chunk policy (``config`` + ``predict_action``: diffusion, Gaussian, IDQL, a DPPO actor ...),
  run by the one ``ChunkRunner``;
- a Stable-Baselines3 model (``predict``); one trained inside a labkit prior wrapper (residual RL,
  DSRL) is deployed on the plain env through its wrapper, so ``evaluate(agent, env_id)`` just works;
- a scripted expert or any callable ``policy(obs, rng) -> action`` (with an optional ``reset(rng)``).

Episode ``k`` starts with ``env.reset(seed=seed + k)``, and an expert gets its own
``rng = np.random.default_rng(seed + k)``, so an episode can be replayed alone, whatever the batch.
Episodes run in lockstep in ``batch_size`` copies of the env, so a generative policy samples a whole
batch at once (one denoising loop for many episodes).

``evaluate(policy, venv)`` with an SB3 ``VecEnv`` (e.g. the wrapped env an agent trains in) runs each
env until its *first* episode ends: taking the first n episodes to finish would favour short ones, and
successful episodes are short.
"""

from __future__ import annotations

import copy
import inspect
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from labkit.data.episodes import EpisodeDataset
from labkit.data.record import EpisodeRecorder
from labkit.envs.registry import make
from labkit.policies.base import ChunkPolicy, check_fits
from labkit.policies.runner import ChunkRunner
from labkit.runtime import check_int, check_seed

__all__ = ["Episode", "EvalResult", "as_actor", "collect", "evaluate", "find_start", "measure_latency", "record"]


@dataclass
class Episode:
    """One finished episode: what a ``success`` function receives (``success=lambda ep: ep.ret >= 950``)."""

    index: int
    ret: float
    length: int
    info: dict
    terminated: bool
    truncated: bool
    trajectory: np.ndarray = field(repr=False)
    frames: list = field(repr=False, default_factory=list)
    steps: dict[str, list] | None = field(repr=False, default=None)


def _default_success(ep: Episode) -> bool:
    return bool(ep.info.get("is_success", False))


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    :ivar successes: ``(n_episodes,)`` bool (``info["is_success"]`` at the end, or the ``success`` function).
    :ivar returns: ``(n_episodes,)`` undiscounted returns; ``lengths``: steps per episode.
    :ivar routes: ``(n_episodes,)`` ``info["route"]`` at the end (``"none"`` when the env has none).
    :ivar trajectories: per episode, the observations ``(T + 1, obs_dim)`` visited.
    :ivar frames: per recorded episode, a list of ``(H, W, 3)`` uint8 frames.
    :ivar has_routes: whether the env reports routes (``info["route"]``) at all.
    """

    successes: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    routes: np.ndarray
    trajectories: list[np.ndarray] = field(repr=False)
    frames: list[list[np.ndarray]] = field(repr=False)
    seconds: float = 0.0
    has_routes: bool = False
    env_steps: int = 0

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if len(self.successes) else 0.0

    @property
    def route_counts(self) -> dict[str, int]:
        """Successful episodes per route, e.g. ``{"left": 48, "right": 51}``."""
        return dict(Counter(str(r) for r, s in zip(self.routes, self.successes) if s))

    def summary(self) -> dict[str, Any]:
        """JSON-friendly numbers for a table or a benchmark file (routes only for tasks that have them)."""
        out: dict[str, Any] = {
            "episodes": int(len(self.successes)),
            "success_rate": round(self.success_rate, 4),
            "mean_return": round(float(np.mean(self.returns)), 4),
            "mean_length": round(float(np.mean(self.lengths)), 2),
        }
        if self.has_routes:
            counts, n_succ = self.route_counts, max(1, int(self.successes.sum()))
            out["route_counts"] = counts
            out["route_share"] = {k: round(v / n_succ, 3) for k, v in counts.items()}
        return out


# --------------------------------------------------------------------------------------------------
# actors: anything that acts, seen as start(i, obs, rng) + act(obs (B, D), active (B,)) -> (B, A)


class _ChunkActor:
    def __init__(self, policy: ChunkPolicy, n: int, generator: torch.Generator, deterministic: bool) -> None:
        kwargs = {}
        sampler = getattr(policy, "sample_actions", policy.predict_action)
        if deterministic and "deterministic" in _params(sampler):
            kwargs["deterministic"] = True
        self.runner = ChunkRunner(policy, n, generator=generator, **kwargs)

    def start(self, i: int, obs: np.ndarray, rng: np.random.Generator) -> None:
        self.runner.start(i, obs)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        self.runner.observe_active(obs, active)
        return self.runner.next_action(active)


class _SB3Actor:
    def __init__(self, model: Any, n: int, deterministic: bool) -> None:
        self.model, self.deterministic = model, deterministic
        self.episode_start = np.ones(n, bool)

    def start(self, i: int, obs: np.ndarray, rng: np.random.Generator) -> None:
        self.episode_start[i] = True

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        action, _ = self.model.predict(obs, episode_start=self.episode_start.copy(), deterministic=self.deterministic)
        self.episode_start[:] = False
        return np.asarray(action)


class _ExpertActor:
    def __init__(self, policy: Callable, n: int) -> None:
        self.experts = [policy] + [_clone(policy) for _ in range(n - 1)]
        self.rngs: list[np.random.Generator] = [np.random.default_rng(0)] * n

    def start(self, i: int, obs: np.ndarray, rng: np.random.Generator) -> None:
        self.rngs[i] = rng
        if hasattr(self.experts[i], "reset"):
            self.experts[i].reset(rng)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        out = [
            np.asarray(self.experts[i](obs[i], self.rngs[i]), np.float32) if active[i] else None
            for i in range(len(obs))
        ]
        shape = next(a for a in out if a is not None).shape
        return np.stack([a if a is not None else np.zeros(shape, np.float32) for a in out])


def _params(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _clone(policy: Any) -> Any:
    try:
        return copy.deepcopy(policy)
    except Exception:  # noqa: BLE001 - an uncopyable expert is shared (stateless ones are fine)
        return policy


def _deployable(model: Any) -> Any:
    """The labkit wrapper (residual RL, DSRL ...) an SB3 agent was trained in, if any."""
    venv = model.get_env() if hasattr(model, "get_env") else None
    while venv is not None:
        if hasattr(venv, "deploy"):
            return venv
        venv = getattr(venv, "venv", None)
    return None


def as_actor(policy: Any, n: int, *, deterministic: bool | None = None, generator: torch.Generator | None = None):
    """Adapt ``policy`` to ``start(i, obs, rng)`` / ``act(obs (n, D), active (n,)) -> (n, A)`` for ``n`` envs.

    :param deterministic: SB3 models default to their mean/greedy action (SB3's ``evaluate_policy``
        convention); labkit generative policies default to sampling (their distribution *is* the policy).
    """
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    if isinstance(policy, ChunkPolicy):
        return _ChunkActor(policy, n, generator, bool(deterministic))
    if hasattr(policy, "predict"):
        wrapper = _deployable(policy)
        det = True if deterministic is None else deterministic
        if wrapper is not None:
            return wrapper.deploy(policy, n, deterministic=det, generator=generator)
        return _SB3Actor(policy, n, det)
    if callable(policy):
        return _ExpertActor(policy, n)
    raise TypeError(
        f"Cannot run a {type(policy).__name__}: pass an SB3 model, a labkit policy with predict_action(), "
        "or a callable policy(obs, rng) -> action."
    )


# --------------------------------------------------------------------------------------------------
# the core


def _make_envs(env: Any, n: int, render: bool) -> list[gym.Env]:
    if isinstance(env, str):
        return [make(env, render_mode="rgb_array" if render and i == 0 else None) for i in range(n)]
    if isinstance(env, gym.Env):
        if n != 1:
            raise ValueError("an env instance runs one episode at a time: pass batch_size=1, or an env id or factory.")
        return [env]
    if callable(env):
        return [env() for _ in range(n)]
    raise TypeError(f"env must be an env id, a gymnasium env or a function returning one. Got {type(env).__name__}.")


def _check_fit(policy: Any, env: gym.Env, label: Any, need_flat: bool) -> None:
    """Flat observations for labkit policies and datasets, and matching sizes: say so before rolling out."""
    obs_space, act_space = env.observation_space, env.action_space
    flat = isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1
    name = label if isinstance(label, str) else (env.spec.id if env.spec else None)
    if need_flat and not flat:
        raise TypeError(
            f"labkit datasets hold flat vector observations; {name or 'this env'} gives {obs_space}. "
            "Flatten it first (gymnasium.wrappers.FlattenObservation), or use a state-based version."
        )
    if isinstance(policy, ChunkPolicy):
        if not flat:
            raise TypeError(
                f"labkit policies take flat vector observations; {name or 'this env'} gives {obs_space}. "
                "Use an SB3 CnnPolicy for images, or a state-based version of the task."
            )
        obs_dim = cast(spaces.Box, obs_space).shape[0]  # flat: a 1-D Box
        act_dim = int(np.prod(cast(tuple[int, ...], act_space.shape)))
        check_fits(policy, name, obs_dim, act_dim, check_env_id=False)
    elif hasattr(policy, "observation_space") and _deployable(policy) is None:
        if policy.observation_space.shape != obs_space.shape:
            raise ValueError(
                f"The agent expects observations of shape {policy.observation_space.shape} but {name or 'the env'} "
                f"gives {obs_space.shape}. An agent trained in a labkit prior wrapper needs it: use the model as "
                "returned by training (model.get_env() is the wrapper), or the same wrapper around this env."
            )


def _run(
    policy: Any,
    env: Any,
    n_episodes: int,
    *,
    seed: int,
    batch_size: int,
    record_episodes: int,
    deterministic: bool | None,
    generator_seed: int | None,
    max_steps: int | None,
    keep_steps: bool,
    progress: bool,
    desc: str,
    success: Callable[[Episode], bool] | None,
) -> list[Episode]:
    """Run ``n_episodes`` and return them in order (the engine of evaluate, record and collect)."""
    n_episodes, seed = check_int("n_episodes", n_episodes), check_seed(seed)
    batch = max(1, min(check_int("batch_size", batch_size), n_episodes))
    device = getattr(policy, "device", "cpu") if isinstance(policy, torch.nn.Module) else "cpu"
    gen = torch.Generator(device=device).manual_seed(seed if generator_seed is None else check_seed(generator_seed))
    envs = _make_envs(env, batch, render=record_episodes > 0)
    if record_episodes > 0 and envs[0].render_mode != "rgb_array":
        raise ValueError("record_episodes needs frames: pass an env id, or an env made with render_mode='rgb_array'.")
    _check_fit(policy, envs[0], env, need_flat=keep_steps)
    actor = as_actor(policy, batch, deterministic=deterministic, generator=gen)
    success = success or _default_success
    done: dict[int, Episode] = {}
    bar = tqdm(total=n_episodes, desc=desc, disable=not progress, leave=False)
    next_ep, ep_id = 0, np.full(batch, -1)  # slot i runs episode ep_id[i] (-1: idle)
    obs: list[Any] = [None] * batch
    ret, length = np.zeros(batch), np.zeros(batch, dtype=int)
    traj: list[list] = [[] for _ in range(batch)]
    shots: list[list] = [[] for _ in range(batch)]
    steps: list[dict[str, list]] = [{} for _ in range(batch)]

    def launch(i: int) -> None:
        nonlocal next_ep
        ep_id[i] = next_ep
        rng = np.random.default_rng(seed + next_ep)
        o, _ = envs[i].reset(seed=seed + next_ep)
        obs[i], ret[i], length[i], traj[i], shots[i] = o, 0.0, 0, [o], []
        steps[i] = {"observations": [], "actions": [], "rewards": [], "terminations": [], "truncations": []}
        if i == 0 and next_ep < record_episodes:
            shots[i].append(envs[i].render())
        actor.start(i, o, rng)
        next_ep += 1

    try:
        while True:
            for i in range(batch):  # fill idle slots; episodes < record_episodes run in slot 0 (it renders)
                if ep_id[i] < 0 and next_ep < n_episodes and (i == 0 or next_ep >= record_episodes):
                    launch(i)
            active = ep_id >= 0
            if not active.any():
                break
            obs_arr = np.stack([obs[i] if active[i] else obs[np.argmax(active)] for i in range(batch)])
            actions = actor.act(obs_arr, active)
            for i in np.flatnonzero(active).tolist():
                o, r, term, trunc, info = envs[i].step(actions[i])
                length[i] += 1
                cut = max_steps is not None and length[i] >= max_steps
                if keep_steps:
                    for key, value in zip(steps[i], (obs[i], actions[i], r, term, trunc or cut)):
                        steps[i][key].append(value)
                obs[i] = o
                ret[i] += r
                traj[i].append(o)
                if i == 0 and ep_id[i] < record_episodes:
                    shots[i].append(envs[i].render())
                if term or trunc or cut:
                    ep = Episode(
                        int(ep_id[i]),
                        float(ret[i]),
                        int(length[i]),
                        dict(info),
                        bool(term),
                        bool(trunc or cut),
                        np.asarray(traj[i]),
                        shots[i],
                        steps[i] if keep_steps else None,
                    )
                    ep.info["labkit_success"] = bool(success(ep))
                    done[ep.index] = ep
                    bar.update(1)
                    ep_id[i] = -1
    finally:
        bar.close()
        for env_ in envs:
            if env_ is not env:
                env_.close()
    return [done[k] for k in range(n_episodes)]


def evaluate(
    policy: Any,
    env: str | Callable[[], gym.Env] | gym.Env | VecEnv,
    n_episodes: int = 100,
    *,
    seed: int = 0,
    batch_size: int = 25,
    record_episodes: int = 0,
    deterministic: bool | None = None,
    generator_seed: int | None = None,
    max_steps: int | None = 10_000,
    progress: bool = True,
    success: Callable[[Episode], bool] | None = None,
) -> EvalResult:
    """Run ``n_episodes`` episodes (env seeds ``seed, seed + 1, ...``) and measure them.

    :param policy: SB3 model, labkit chunk policy or callable expert (see the module docstring).
    :param env: an env id (e.g. ``"labkit/TwoRoutes-v0"``), a zero-argument env factory, or an SB3
        ``VecEnv`` (then one episode per env, ``n_episodes`` is ignored).
    :param batch_size: episodes run in lockstep (policies are queried on a batch).
    :param record_episodes: render frames of the first this-many episodes.
    :param deterministic: SB3 models: mean action (default True, as SB3's ``evaluate_policy``); Gaussian
        BC: the mean chunk (default False). Diffusion sampling stays stochastic, seeded by
        ``generator_seed`` (default ``seed``).
    :param success: ``Episode -> bool`` when ``info["is_success"]`` is not what success means here
        (e.g. ``lambda ep: ep.ret >= 950`` on InvertedPendulum).
    :returns: an :class:`EvalResult`.
    """
    start = time.perf_counter()
    if isinstance(env, VecEnv):
        return _evaluate_vec(policy, env, seed=seed, deterministic=True if deterministic is None else deterministic)
    eps = _run(
        policy,
        env,
        n_episodes,
        seed=seed,
        batch_size=batch_size,
        record_episodes=record_episodes,
        deterministic=deterministic,
        generator_seed=generator_seed,
        max_steps=max_steps,
        keep_steps=False,
        progress=progress,
        desc="evaluate",
        success=success,
    )
    return EvalResult(
        successes=np.array([e.info["labkit_success"] for e in eps], dtype=bool),
        returns=np.array([e.ret for e in eps]),
        lengths=np.array([e.length for e in eps]),
        routes=np.array([str(e.info.get("route", "none")) for e in eps]),
        trajectories=[e.trajectory for e in eps],
        frames=[e.frames for e in eps[:record_episodes]],
        seconds=time.perf_counter() - start,
        has_routes=any("route" in e.info for e in eps),
    )


def _evaluate_vec(policy: Any, venv: VecEnv, *, seed: int | None, deterministic: bool) -> EvalResult:
    """Each env of ``venv`` until its first episode ends (reseeded with ``seed``, prior draws too)."""
    start = time.perf_counter()
    act = (lambda o: policy.predict(o, deterministic=deterministic)[0]) if hasattr(policy, "predict") else policy
    if seed is not None:
        venv.seed(seed)
        if hasattr(venv, "runner"):  # the prior's draws too: every evaluation sees the same randomness
            venv.runner.generator.manual_seed(seed)
    obs, n = venv.reset(), venv.num_envs
    success, ret, length = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, int)
    env_steps = 0
    while np.isnan(success).any():
        obs, _, dones, infos = venv.step(act(obs))
        chunk = np.array([int(info.get("chunk_steps", 1)) for info in infos])
        env_steps += int(chunk.sum())
        length += np.where(np.isnan(success), chunk, 0)
        for i in np.flatnonzero(dones):
            if np.isnan(success[i]):
                success[i] = float(infos[i].get("is_success", False))
                ret[i] = float(infos[i].get("episode", {}).get("r", np.nan))
    return EvalResult(
        successes=success.astype(bool),
        returns=ret,
        lengths=length,
        routes=np.full(n, "none"),
        trajectories=[],
        frames=[],
        seconds=time.perf_counter() - start,
        env_steps=env_steps,
    )


def record(
    policy: Any, env: str | Callable[[], gym.Env], seed: int = 0, **kwargs: Any
) -> tuple[list[np.ndarray], bool]:
    """Frames ``(H, W, 3)`` of one episode and whether it succeeded (``kwargs`` as for :func:`evaluate`)."""
    res = evaluate(policy, env, 1, seed=seed, record_episodes=1, progress=False, **kwargs)
    return res.frames[0], bool(res.successes[0])


def find_start(
    policy: Any, env: str | Callable[[], gym.Env], *, success: bool = False, seeds: range = range(20), **kwargs: Any
) -> int | None:
    """The first seed in ``seeds`` whose episode ends with ``success`` (``record(policy, env, seed)`` replays it).

    E.g. a start from which the prior fails, to film it before and after RL. ``kwargs`` as for :func:`evaluate`.
    """
    for seed in seeds:
        if bool(evaluate(policy, env, 1, seed=seed, progress=False, **kwargs).successes[0]) == success:
            return seed
    return None


def collect(
    policy: Any,
    env: str | Callable[[], gym.Env] | gym.Env,
    n_episodes: int,
    seed: int,
    *,
    expert_name: str,
    env_id: str | None = None,
    created_with: str = "",
    progress: bool = True,
    info_keys: tuple[str, ...] = ("is_success", "route"),
    max_steps: int | None = None,
    extra_metadata: dict[str, Any] | None = None,
    success: Callable[[Episode], bool] | None = None,
    batch_size: int = 1,
) -> EpisodeDataset:
    """Roll ``policy`` out for ``n_episodes`` episodes and return them as a dataset.

    Episode ``i`` starts with ``env.reset(seed=seed + i)`` and its own ``np.random.default_rng(seed + i)``,
    so it can be replayed alone. Per episode the dataset keeps ``reset_seed``, ``final_observation``
    and ``info_keys`` read from the last step (``is_success`` becomes ``success``, default False;
    ``route`` defaults to ``"none"``; other keys must be present), or ``success(episode)`` if given.

    :param policy: an expert ``policy(obs, rng) -> action`` (``labkit.envs.SB3Expert(model)`` for SB3
        models), or anything :func:`evaluate` runs.
    :param expert_name: who acted (``metadata["expert"]``); ``created_with``: the command that remakes it.
    :param max_steps: cut episodes after this many steps (marked truncated); None trusts the env's limit.
    """
    if env_id is None:
        probe = env if isinstance(env, gym.Env) else (None if isinstance(env, str) else env())
        env_id = env if isinstance(env, str) else getattr(getattr(probe, "spec", None), "id", None)
        if probe is not None and probe is not env:
            probe.close()
        if env_id is None:
            raise ValueError("the env has no spec id; pass env_id='...' to name the environment.")
    eps = _run(
        policy,
        env,
        n_episodes,
        seed=seed,
        batch_size=batch_size,
        record_episodes=0,
        deterministic=None,
        generator_seed=None,
        max_steps=max_steps,
        keep_steps=True,
        progress=progress,
        desc="collecting",
        success=success,
    )
    recorder = EpisodeRecorder()
    defaults, names = {"is_success": False, "route": "none"}, {"is_success": "success"}
    for ep in eps:
        assert ep.steps is not None  # keep_steps=True above
        for t in range(ep.length):
            recorder.add_step(
                *(ep.steps[k][t] for k in ("observations", "actions", "rewards", "terminations", "truncations"))
            )
        extra: dict[str, Any] = {"reset_seed": seed + ep.index}
        for key in info_keys:
            if key in ep.info or key in defaults:
                extra[names.get(key, key)] = ep.info.get(key, defaults.get(key))
            else:
                raise KeyError(
                    f"info key {key!r} missing at the end of episode {ep.index}; got keys {sorted(ep.info)}."
                )
        if "success" in extra or success is not None:
            extra["success"] = bool(ep.info["labkit_success"]) if success is not None else bool(extra["success"])
        recorder.end_episode(extra, final_observation=ep.trajectory[-1])
    meta = {
        **dict(extra_metadata or {}),
        "env_id": env_id,
        "expert": expert_name,
        "seed": int(seed),
        "created_with": created_with,
    }
    return recorder.to_dataset(meta)


def measure_latency(policy: Any, obs_dim: int, *, calls: int = 50, warmup: int = 5, **kwargs: Any) -> float:
    """Median wall time in milliseconds of one ``predict_action`` call at batch 1.

    One call returns a chunk of ``config.n_action_steps`` actions; divide by that for the cost per
    executed action. ``kwargs`` go to ``predict_action`` (``sampler=``, ``num_inference_steps=`` ...).
    """
    obs = torch.zeros(1, policy.config.n_obs_steps, obs_dim)  # (1, To, obs_dim)
    gen = torch.Generator(device=getattr(policy, "device", "cpu")).manual_seed(0)
    times = []
    with torch.no_grad():
        for i in range(warmup + check_int("calls", calls)):
            t0 = time.perf_counter()
            policy.predict_action(obs, generator=gen, **kwargs)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)
