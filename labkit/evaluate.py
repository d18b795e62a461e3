"""Roll policies out in gymnasium envs: success rate, returns, per-route counts, frames.

One helper, :func:`evaluate`, for every kind of policy in the kit:

- a Stable-Baselines3 model (anything with ``predict(obs, deterministic=...)``);
- a labkit generative policy (``DiffusionPolicy``, ``GaussianBCPolicy``): anything with
  ``predict_action(obs_history) -> action chunk`` and ``config.n_obs_steps``; it keeps the last
  ``n_obs_steps`` observations per env and executes each predicted chunk before asking again;
- a scripted expert or any callable ``policy(obs, rng) -> action`` (with an optional ``reset(rng)``).

Episodes run in lockstep in ``batch_size`` copies of the env so a generative policy samples a whole
batch at once (one denoising loop for many episodes).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = ["EvalResult", "evaluate", "rollout_frames", "as_policy_fn", "measure_latency", "with_sampling"]


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    :ivar successes: ``(n_episodes,)`` bool, ``info["is_success"]`` at each episode's end.
    :ivar returns: ``(n_episodes,)`` undiscounted returns.
    :ivar lengths: ``(n_episodes,)`` steps per episode.
    :ivar routes: ``(n_episodes,)`` ``info["route"]`` at the end (``"none"`` when the env has none).
    :ivar trajectories: per episode, the observations ``(T + 1, obs_dim)`` visited.
    :ivar frames: per recorded episode, a list of ``(H, W, 3)`` uint8 frames.
    """

    successes: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    routes: np.ndarray
    trajectories: list[np.ndarray] = field(repr=False)
    frames: list[list[np.ndarray]] = field(repr=False)
    seconds: float = 0.0

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes)) if len(self.successes) else 0.0

    @property
    def route_counts(self) -> dict[str, int]:
        """Successful episodes per route, e.g. ``{"left": 48, "right": 51}``."""
        return dict(Counter(str(r) for r, s in zip(self.routes, self.successes) if s))

    def summary(self) -> dict[str, Any]:
        """JSON-friendly numbers for a table or a benchmark file."""
        counts = self.route_counts
        n_succ = max(1, int(self.successes.sum()))
        return {
            "episodes": int(len(self.successes)),
            "success_rate": round(self.success_rate, 4),
            "mean_return": round(float(np.mean(self.returns)), 4),
            "mean_length": round(float(np.mean(self.lengths)), 2),
            "route_counts": counts,
            "route_share": {k: round(v / n_succ, 3) for k, v in counts.items()},
        }


class _Runner:
    """Adapts any supported policy to ``act(obs_batch (B, obs_dim), new_episode mask) -> (B, act_dim)``."""

    def __init__(self, policy: Any, batch: int, rng: np.random.Generator, deterministic: bool,
                 generator: torch.Generator | None):
        self.policy, self.batch, self.rng = policy, batch, rng
        self.deterministic, self.generator = deterministic, generator
        if hasattr(policy, "predict_action") and hasattr(policy, "config"):
            self.kind = "chunk"
            self.n_obs = int(policy.config.n_obs_steps)
            self.history = [deque(maxlen=self.n_obs) for _ in range(batch)]
            self.queue: list[deque] = [deque() for _ in range(batch)]
        elif hasattr(policy, "predict"):
            self.kind = "sb3"
        elif callable(policy):
            self.kind = "callable"
            self.experts = [policy] + [_clone(policy) for _ in range(batch - 1)]
        else:
            raise TypeError(
                f"Cannot evaluate a {type(policy).__name__}: pass an SB3 model, a labkit policy with "
                "predict_action(), or a callable policy(obs, rng) -> action."
            )

    def start(self, i: int, obs: np.ndarray) -> None:
        if self.kind == "chunk":
            self.history[i].clear()
            self.history[i].extend([obs] * self.n_obs)
            self.queue[i].clear()
        elif self.kind == "callable" and hasattr(self.experts[i], "reset"):
            self.experts[i].reset(self.rng)

    def act(self, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
        if self.kind == "sb3":
            action, _ = self.policy.predict(obs, deterministic=self.deterministic)
            return np.asarray(action)
        if self.kind == "callable":
            return np.stack([self.experts[i](obs[i], self.rng) for i in range(len(obs))])
        for i in range(len(obs)):
            if active[i]:
                self.history[i].append(obs[i])
        need = [i for i in range(len(obs)) if active[i] and not self.queue[i]]
        if need:
            hist = torch.as_tensor(np.stack([np.stack(self.history[i]) for i in need]), dtype=torch.float32)
            with torch.no_grad():  # hist: (B', To, obs_dim) -> chunk: (B', Ta, act_dim)
                kwargs = {"generator": self.generator}
                if self.deterministic and "deterministic" in _params(getattr(self.policy, "sample_actions", self.policy.predict_action)):
                    kwargs["deterministic"] = True
                chunk = self.policy.predict_action(hist, **kwargs).cpu().numpy()
            for j, i in enumerate(need):
                self.queue[i].extend(chunk[j])
        act_dim = None
        out = []
        for i in range(len(obs)):
            if active[i]:
                a = self.queue[i].popleft()
                act_dim = a.shape
                out.append(a)
            else:
                out.append(None)
        return np.stack([a if a is not None else np.zeros(act_dim, np.float32) for a in out])


def _params(fn: Callable) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _clone(policy: Any) -> Any:
    import copy

    try:
        return copy.deepcopy(policy)
    except Exception:
        return policy


def as_policy_fn(policy: Any, deterministic: bool = True) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """Wrap an SB3 model or labkit policy as a single-env ``fn(obs, rng) -> action`` (for demos)."""
    runner = _Runner(policy, 1, np.random.default_rng(0), deterministic, None)
    state = {"fresh": True}

    def fn(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if state["fresh"]:
            runner.start(0, obs)
            state["fresh"] = False
        return runner.act(obs[None], np.array([True]))[0]

    def reset(rng: np.random.Generator) -> None:
        state["fresh"] = True

    fn.reset = reset  # type: ignore[attr-defined]
    return fn


def _check_dims(policy: Any, env: gym.Env, env_name: Any) -> None:
    """A labkit policy must fit the env's observation and action sizes: say so before rolling out."""
    cfg = getattr(policy, "config", None)
    if cfg is None or not hasattr(cfg, "obs_dim"):
        return
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    if (cfg.obs_dim, cfg.action_dim) != (obs_dim, act_dim):
        raise ValueError(
            f"the policy expects observations of size {cfg.obs_dim} and actions of size {cfg.action_dim}, but "
            f"{env_name if isinstance(env_name, str) else env.spec.id if env.spec else 'the env'} has {obs_dim} and "
            f"{act_dim}: evaluate it on the task it was trained for (policy.env_id = {getattr(policy, 'env_id', '?')!r})."
        )


def _make_envs(env: str | Callable[[], gym.Env], n: int, render: bool) -> list[gym.Env]:
    from labkit.envs import make

    if isinstance(env, str):
        return [make(env, render_mode="rgb_array" if render and i == 0 else None) for i in range(n)]
    if callable(env):
        return [env() for _ in range(n)]
    raise TypeError(f"env must be an env id or a function returning an env. Got {type(env).__name__}.")


def evaluate(
    policy: Any,
    env: str | Callable[[], gym.Env],
    n_episodes: int = 100,
    *,
    seed: int = 0,
    batch_size: int = 25,
    record_episodes: int = 0,
    deterministic: bool = False,
    generator_seed: int | None = None,
    max_steps: int = 10_000,
    progress: bool = True,
) -> EvalResult:
    """Run ``n_episodes`` episodes (env seeds ``seed, seed + 1, ...``) and measure them.

    :param policy: SB3 model, labkit generative policy or callable expert (see module docstring).
    :param env: an env id (e.g. ``"labkit/TwoRoutes-v0"``) or a zero-argument env factory.
    :param batch_size: episodes run in lockstep (policies are queried on a batch).
    :param record_episodes: render frames of the first this-many episodes (needs ``rgb_array``).
    :param deterministic: SB3: the mean action; Gaussian BC: the mean chunk. Diffusion sampling
        stays stochastic (seeded by ``generator_seed``, default ``seed``).
    :returns: an :class:`EvalResult`.
    """
    import time

    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1. Got {n_episodes}.")
    start_time = time.perf_counter()
    batch = max(1, min(batch_size, n_episodes))
    rng = np.random.default_rng(seed)
    device = getattr(policy, "device", "cpu") if isinstance(policy, torch.nn.Module) else "cpu"
    gen = torch.Generator(device=device).manual_seed(seed if generator_seed is None else generator_seed)
    envs = _make_envs(env, batch, render=record_episodes > 0)
    if record_episodes > 0 and envs[0].render_mode != "rgb_array":
        envs[0] = _make_envs(env, 1, render=True)[0] if isinstance(env, str) else envs[0]
    _check_dims(policy, envs[0], env)
    runner = _Runner(policy, batch, rng, deterministic, gen)
    successes, returns, lengths, routes, trajs, frames = [], [], [], [], [], []
    bar = tqdm(total=n_episodes, desc="evaluate", disable=not progress, leave=False)
    next_ep = 0
    # Each slot i runs one episode at a time; `ep_id[i]` is its episode number, -1 when idle.
    ep_id = np.full(batch, -1)
    obs = [None] * batch
    ret, length = np.zeros(batch), np.zeros(batch, dtype=int)
    traj: list[list[np.ndarray]] = [[] for _ in range(batch)]
    shots: list[list[np.ndarray]] = [[] for _ in range(batch)]
    last_info: list[dict] = [{} for _ in range(batch)]
    results: dict[int, tuple] = {}

    def launch(i: int) -> None:
        nonlocal next_ep
        if next_ep >= n_episodes:
            ep_id[i] = -1
            return
        ep_id[i] = next_ep
        o, info = envs[i].reset(seed=seed + next_ep)
        obs[i], ret[i], length[i], traj[i], shots[i], last_info[i] = o, 0.0, 0, [o], [], info
        recording = i == 0 and next_ep < record_episodes
        if recording:
            shots[i].append(envs[i].render())
        runner.start(i, o)
        next_ep += 1

    # Episodes < record_episodes are always run in slot 0 (the only rendering env).
    for i in range(batch):
        if i == 0 or next_ep >= record_episodes:
            launch(i)
    while (ep_id >= 0).any() or next_ep < n_episodes:
        for i in range(batch):  # fill idle slots (slot 0 takes the recorded ones first)
            if ep_id[i] < 0 and next_ep < n_episodes and (i == 0 or next_ep >= record_episodes):
                launch(i)
        active = ep_id >= 0
        if not active.any():
            break
        obs_arr = np.stack([obs[i] if active[i] else obs[np.argmax(active)] for i in range(batch)])
        actions = runner.act(obs_arr, active)
        for i in np.flatnonzero(active):
            o, r, term, trunc, info = envs[i].step(actions[i])
            obs[i], last_info[i] = o, info
            ret[i] += r
            length[i] += 1
            traj[i].append(o)
            if i == 0 and ep_id[i] < record_episodes:
                shots[i].append(envs[i].render())
            if term or trunc or length[i] >= max_steps:
                results[int(ep_id[i])] = (
                    bool(info.get("is_success", False)), float(ret[i]), int(length[i]),
                    str(info.get("route", "none")), np.asarray(traj[i]), shots[i],
                )
                bar.update(1)
                ep_id[i] = -1
    bar.close()
    for env_ in envs:
        env_.close()
    for k in range(n_episodes):
        s, r, n, route, tr, fr = results[k]
        successes.append(s); returns.append(r); lengths.append(n); routes.append(route); trajs.append(tr)
        if k < record_episodes:
            frames.append(fr)
    return EvalResult(
        successes=np.array(successes, dtype=bool),
        returns=np.array(returns),
        lengths=np.array(lengths),
        routes=np.array(routes),
        trajectories=trajs,
        frames=frames,
        seconds=time.perf_counter() - start_time,
    )


def rollout_frames(policy: Any, env: str | Callable[[], gym.Env], seed: int = 0, **kwargs) -> list[np.ndarray]:
    """Frames ``(H, W, 3)`` of one episode: ``evaluate(..., n_episodes=1, record_episodes=1)``."""
    return evaluate(policy, env, 1, seed=seed, record_episodes=1, progress=False, **kwargs).frames[0]


def measure_latency(policy: Any, obs_dim: int, *, calls: int = 50, warmup: int = 5, **kwargs) -> float:
    """Median wall time in milliseconds of one ``predict_action`` call at batch 1.

    One call returns a chunk of ``config.n_action_steps`` actions; divide by that for the cost per
    executed action. ``kwargs`` go to ``predict_action`` (``sampler=``, ``num_inference_steps=`` ...).
    """
    import statistics
    import time

    obs = torch.zeros(1, policy.config.n_obs_steps, obs_dim)  # (1, To, obs_dim)
    gen = torch.Generator(device=getattr(policy, "device", "cpu")).manual_seed(0)
    times = []
    with torch.no_grad():
        for i in range(warmup + calls):
            t0 = time.perf_counter()
            policy.predict_action(obs, generator=gen, **kwargs)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times)


class with_sampling:  # noqa: N801 (reads as a function at the call site)
    """The same generative policy, sampling with fixed options (e.g. ``sampler="ddpm", num_inference_steps=20``).

    ``evaluate(with_sampling(policy, sampler="ddim", num_inference_steps=5), env_id)`` compares
    samplers without retraining. The generator passed by ``evaluate`` is kept.
    """

    def __init__(self, policy: Any, **options: Any):
        if not hasattr(policy, "predict_action"):
            raise TypeError(f"with_sampling needs a labkit policy with predict_action(). Got {type(policy).__name__}.")
        self.policy, self.options = policy, options
        self.config = policy.config
        self.env_id = getattr(policy, "env_id", None)

    def predict_action(self, obs: torch.Tensor, generator: torch.Generator | None = None, **kw: Any) -> torch.Tensor:
        return self.policy.predict_action(obs, generator=generator, **{**kw, **self.options})
