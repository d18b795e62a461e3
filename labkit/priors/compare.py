"""SB3 from scratch vs residual RL vs DSRL on one task, recorded against *environment* steps.

One call trains one (method, seed) and returns its success curve, so notebook 07 and
``benchmarks/priors_sample_efficiency.py`` measure exactly the same thing::

    task = TASKS["blocked"]                      # env, shipped prior and settings per method
    prior = task.load_prior()
    run = train_with_prior("dsrl", task.env_id, prior, env_steps=20_000, seed=0, **task.kwargs("dsrl"))
    run.steps, run.success_rate          # the curve; run.model is the trained SB3 agent

The three methods (``METHODS``), all stock SB3 PPO with ``n_envs`` (default 8) vectorised envs and
the settings in ``PPO_DEFAULTS`` (overridden per task in ``TASKS``):

- ``"scratch"``: PPO on the plain env; the prior is not used.
- ``"residual"``: PPO on ``ResidualVecEnv``: executed = clip(prior + scale * residual).
- ``"dsrl"``: PPO on ``NoiseSpaceVecEnv``: the agent picks the prior's initial DDIM noise; one
  agent step executes a whole chunk of Ta env steps (so its ``gamma`` is 0.99 ** Ta).

The two tasks (``TASKS``):

- ``"blocked"``: ``labkit/TwoRoutesBlocked-v0`` with the shipped TwoRoutes prior. The world changed
  after the demonstrations (a barrier closes the right route, unseen in the observation) and the
  reward is 1 on success only: the prior succeeds about half the time, PPO from scratch must find the
  goal by chance.
- ``"pushblock"``: ``labkit/PushBlock-v0`` with the shipped PushBlock prior (~23% success): a prior
  whose failures are imprecise, long-horizon pushes; the hard case.

Why a callback of our own (``SuccessRecorder``) rather than ``labkit.callbacks.TrainingMonitor``:
the residual and DSRL agents act on *wrapped* observations/actions, so they cannot be evaluated as
plain policies by ``labkit.evaluate``; and a DSRL agent step is Ta env steps, so SB3's
``num_timesteps`` is not the x-axis we want. ``SuccessRecorder`` counts env steps from the infos and
evaluates the agent in an evaluation copy of its own wrapped env.

Evaluation (``first_episodes``) runs ``n`` envs side by side and keeps the *first* episode of each:
taking the first ``n`` episodes to finish (as ``labkit.priors.evaluate_vec`` does) would favour short
ones, and successful episodes are short. Each evaluation reseeds the envs and the prior's sampler,
so every point of a curve sees the same start states and the same prior draws.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from labkit.diffusion import ChunkPolicy

__all__ = ["METHODS", "EVAL_DETERMINISTIC", "PPO_DEFAULTS", "TASKS", "PriorTask", "FrameRecorder", "RunRecord", "SuccessRecorder", "first_episodes", "make_method_env",
           "find_start", "record_episode", "steps_to_reach", "train_with_prior"]

#: method name -> what the agent controls (for labels).
METHODS = {
    "scratch": "PPO from scratch",
    "residual": "residual PPO on the prior",
    "dsrl": "DSRL: PPO in the prior's noise space",
}


class FrameRecorder(gym.Wrapper):
    """Records ``env.render()`` after reset and every step; finished episodes go to ``episodes``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.frames: list[np.ndarray] = []  # the current episode
        self.episodes: list[list[np.ndarray]] = []  # finished ones (closed by the next reset)

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        if self.frames:
            self.episodes.append(self.frames)
        self.frames = [self.env.render()]
        return out

    def step(self, action):
        out = self.env.step(action)
        self.frames.append(self.env.render())
        return out


def make_method_env(method: str, env_id: str, prior: ChunkPolicy | None, n_envs: int, *, seed: int = 0,
                    scale: float = 0.3, bound: float = 2.0, render: bool = False,
                    check_env_id: bool = True) -> VecEnv:
    """The vec env the agent of ``method`` acts in: ``Monitor`` per env, seeded, prior wrapper on top.

    :param render: wrap each env in a ``FrameRecorder`` (``venv.get_attr("episodes")``), for videos.
    :param check_env_id: False to plug a prior trained on another env in on purpose.
    """
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from labkit.envs import make
    from labkit.priors.noise_space import ActionChunkWrapper, NoiseSpaceVecEnv
    from labkit.priors.residual import ResidualVecEnv

    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}. Got {method!r}.")
    if method != "scratch" and prior is None:
        raise ValueError(f"method {method!r} needs a prior (labkit.priors.load_prior or train_prior).")

    def one() -> gym.Env:
        env = make(env_id, render_mode="rgb_array") if render else make(env_id)
        env = FrameRecorder(env) if render else env
        if method == "dsrl":  # one agent step = one executed chunk of Ta env steps
            env = ActionChunkWrapper(env, prior.config.n_action_steps)
        return Monitor(env)

    venv = DummyVecEnv([one for _ in range(n_envs)])
    venv.seed(seed)
    if method == "residual":
        return ResidualVecEnv(venv, prior, scale, seed=seed, check_env_id=check_env_id)
    if method == "dsrl":
        return NoiseSpaceVecEnv(venv, prior, bound, seed=seed, check_env_id=check_env_id)
    return venv


def record_episode(policy: Any, method: str, env_id: str, prior: ChunkPolicy | None, *, seed: int = 0,
                   scale: float = 0.3, bound: float = 2.0, deterministic: bool = True,
                   check_env_id: bool = True) -> tuple[list[np.ndarray], bool]:
    """Frames (H, W, 3) of one episode of ``policy`` acting in ``method``'s env, and whether it succeeded.

    :param policy: an SB3 model, or a callable ``obs (1, ...) -> action (1, ...)`` (e.g. the zero
        residual, ``lambda o: np.zeros((1, 2))``, which replays the prior alone).
    """
    venv = make_method_env(method, env_id, prior, 1, seed=seed, scale=scale, bound=bound, render=True,
                           check_env_id=check_env_id)
    act = (lambda o: policy.predict(o, deterministic=deterministic)[0]) if hasattr(policy, "predict") else policy
    obs = venv.reset()
    while True:
        obs, _, dones, infos = venv.step(act(obs))
        if dones[0]:  # the auto-reset has closed the episode
            frames = venv.get_attr("episodes")[0][0]
            venv.close()
            return frames, bool(infos[0].get("is_success", False))


def find_start(policy: Any, method: str, env_id: str, prior: ChunkPolicy | None, *, success: bool = False,
               seeds: range = range(20), **kwargs: Any) -> int | None:
    """The first start seed in ``seeds`` whose episode (``record_episode``) ends with ``success``, or None.

    E.g. a start from which the prior alone fails, to film it before and after RL::

        find_start(lambda o: np.zeros((len(o), 2), np.float32), "residual", env_id, prior)

    :param kwargs: passed to ``record_episode`` (``scale``, ``bound``, ``deterministic``, ``check_env_id``).
    """
    for seed in seeds:
        if record_episode(policy, method, env_id, prior, seed=seed, **kwargs)[1] == success:
            return seed
    return None


def first_episodes(policy: Any, venv: VecEnv, seed: int | None = None, deterministic: bool = True) -> dict[str, float]:
    """Run every env of ``venv`` until its first episode ends; success rate and mean return over them.

    :param policy: an SB3 model (``predict``) or a callable ``obs (n, ...) -> actions (n, ...)``.
    :param seed: reseeds the envs (same start states at every evaluation) and the prior's sampling
        generator, if given.
    """
    act = (lambda o: policy.predict(o, deterministic=deterministic)[0]) if hasattr(policy, "predict") else policy
    if seed is not None:
        venv.seed(seed)
        if hasattr(venv, "runner"):  # the prior's draws too: every evaluation sees the same randomness
            venv.runner.generator.manual_seed(seed)
    obs, n = venv.reset(), venv.num_envs
    success, ret, env_steps = np.full(n, np.nan), np.full(n, np.nan), 0
    while np.isnan(success).any():
        obs, _, dones, infos = venv.step(act(obs))
        env_steps += sum(int(info.get("chunk_steps", 1)) for info in infos)
        for i in np.flatnonzero(dones):
            if np.isnan(success[i]):
                success[i] = float(infos[i].get("is_success", False))
                ret[i] = float(infos[i].get("episode", {}).get("r", np.nan))
    return {"success_rate": float(success.mean()), "mean_return": float(np.nanmean(ret)), "env_steps": env_steps}


class SuccessRecorder(BaseCallback):
    """Evaluate every ``eval_every`` *environment* steps; record success against env steps.

    :param eval_env: a vec env of the same kind the agent trains in (one episode per env per evaluation).
    :param eval_every: environment steps between evaluations (DSRL: Ta env steps per agent step).
    :param eval_seed: the evaluation envs are reseeded with it each time (same start states).
    :param deterministic: evaluate the agent's mean action (False: sample from its policy).
    :param progress: a ``tqdm.auto`` bar over environment steps.

    ``history`` holds lists ``steps`` (env steps), ``success_rate``, ``mean_return``, ``seconds``
    (training wall time, evaluations excluded).
    """

    def __init__(self, eval_env: VecEnv, eval_every: int, total_env_steps: int | None = None, *,
                 eval_seed: int = 10_000, deterministic: bool = True, progress: bool = True, desc: str = "train",
                 verbose: int = 0) -> None:
        super().__init__(verbose)
        self.deterministic = deterministic
        if eval_every < 1:
            raise ValueError(f"eval_every must be >= 1. Got {eval_every}.")
        self.eval_env, self.eval_every, self.eval_seed = eval_env, int(eval_every), eval_seed
        self.total, self.progress, self.desc = total_env_steps, progress, desc
        self.history: dict[str, list[float]] = {"steps": [], "success_rate": [], "mean_return": [], "seconds": []}
        self.env_steps = 0
        self._next, self._eval_time, self._t0, self._bar = 0, 0.0, 0.0, None

    def _evaluate(self) -> None:
        t = time.perf_counter()
        res = first_episodes(self.model, self.eval_env, seed=self.eval_seed, deterministic=self.deterministic)
        self._eval_time += time.perf_counter() - t
        self.history["steps"].append(self.env_steps)
        self.history["success_rate"].append(res["success_rate"])
        self.history["mean_return"].append(res["mean_return"])
        self.history["seconds"].append(time.perf_counter() - self._t0 - self._eval_time)
        if self._bar is not None:
            self._bar.set_postfix(success=f"{res['success_rate']:.0%}", refresh=False)
        self._next = self.env_steps + self.eval_every

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter()
        self._bar = tqdm(total=self.total, desc=self.desc, unit="env step", disable=not self.progress, leave=False)
        if not self.history["steps"]:
            self._evaluate()

    def _on_step(self) -> bool:
        new = sum(int(info.get("chunk_steps", 1)) for info in self.locals["infos"])  # (n_envs,) infos
        self.env_steps += new
        if self._bar is not None:
            self._bar.update(new)
        if self.env_steps >= self._next:
            self._evaluate()
        return self.total is None or self.env_steps < self.total

    def _on_training_end(self) -> None:
        if self.history["steps"][-1] != self.env_steps:
            self._evaluate()
        if self._bar is not None:
            self._bar.close()


@dataclass
class RunRecord:
    """One training run: the success curve against env steps, its cost and the trained agent."""

    method: str
    seed: int
    steps: list[int]
    success_rate: list[float]
    mean_return: list[float]
    seconds: list[float]
    model: Any = field(repr=False, default=None)
    train_env: Any = field(repr=False, default=None)
    eval_env: Any = field(repr=False, default=None)

    @property
    def curve(self) -> tuple[list[int], list[float]]:
        """``(steps, success_rate)``, the pair ``labkit.viz.learning_curves`` takes per seed."""
        return self.steps, self.success_rate

    def summary(self, threshold: float = 0.9) -> dict[str, Any]:
        """JSON-friendly: start and best success, env steps to reach ``threshold`` (None if never)."""
        return {"method": self.method, "seed": self.seed, "start_success": self.success_rate[0],
                "final_success": self.success_rate[-1], "best_success": max(self.success_rate),
                "steps_to_threshold": steps_to_reach(self.steps, self.success_rate, threshold),
                "env_steps": self.steps[-1], "train_seconds": round(self.seconds[-1], 2)}


def steps_to_reach(steps: list[int], values: list[float], threshold: float) -> int | None:
    """The first evaluated env step at which ``values`` >= ``threshold`` (None if never)."""
    return next((int(s) for s, v in zip(steps, values) if v >= threshold), None)


#: How each method is evaluated. A residual agent's mean action is the zero residual at the start (the
#: prior itself), so it is evaluated deterministically, like PPO from scratch. A DSRL agent's *mean*
#: noise x_T = 0 is not what the prior was trained to see; its stochastic policy (mean 0, std 1 at the
#: start) is exactly the prior's own sampling, x_T ~ N(0, I). So DSRL is evaluated stochastically.
EVAL_DETERMINISTIC = {"scratch": True, "residual": True, "dsrl": False}

#: PPO settings per method; overridable through ``ppo_kwargs``.
PPO_DEFAULTS: dict[str, dict[str, Any]] = {
    "scratch": dict(n_steps=256, batch_size=256, learning_rate=3e-4, gamma=0.99),
    "residual": dict(n_steps=256, batch_size=256, learning_rate=3e-4, gamma=0.99, policy_kwargs={"log_std_init": -1.0}),
    "dsrl": dict(n_steps=64, batch_size=128, learning_rate=3e-4, gamma=0.96, policy_kwargs={"log_std_init": 0.0}),
}


@dataclass(frozen=True)
class PriorTask:
    """A task to compare the methods on: the env, the shipped prior, and settings per method.

    :ivar settings: method -> keyword arguments: ``scale`` (residual), ``bound`` (DSRL) and PPO
        settings, which override ``PPO_DEFAULTS[method]``.
    :ivar check_env_id: False when the prior was trained on another env on purpose.
    """

    env_id: str
    prior: str
    env_steps: int
    settings: dict[str, dict[str, Any]]
    check_env_id: bool = True
    description: str = ""
    eval_every: int = 10_000

    def load_prior(self) -> ChunkPolicy:
        """The shipped prior (``labkit.datasets.load_shipped_prior``)."""
        from labkit.datasets import load_shipped_prior

        return load_shipped_prior(self.prior)

    def kwargs(self, method: str) -> dict[str, Any]:
        """Keyword arguments of ``train_with_prior`` for ``method`` on this task."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)}. Got {method!r}.")
        ppo = copy.deepcopy(self.settings.get(method, {}))  # callers may change what they get
        wrapper = {k: ppo.pop(k) for k in ("scale", "bound") if k in ppo}
        return {**wrapper, "ppo_kwargs": ppo, "check_env_id": self.check_env_id}


#: The tasks of notebook 07 and ``benchmarks/priors_sample_efficiency.py``. The "blocked" settings
#: were chosen by a small search (2 seeds, 20-30k env steps) among n_steps 32-256, learning rates
#: 3e-4/1e-3 and residual scales 0.3-1.0: short rollouts (frequent updates) matter most with a sparse
#: reward, so PPO from scratch gets the same n_steps and batch size as residual PPO.
TASKS: dict[str, PriorTask] = {
    "blocked": PriorTask(
        "labkit/TwoRoutesBlocked-v0", "two_routes_prior", 100_000,
        {"scratch": dict(n_steps=32, batch_size=128),  # the same rollouts and updates as residual PPO
         "residual": dict(scale=1.0, n_steps=32, batch_size=128, policy_kwargs={"log_std_init": -1.5}),
         "dsrl": dict(n_steps=32, batch_size=128, learning_rate=1e-3)},
        check_env_id=False,
        description="TwoRoutes prior in a changed world: the right route closed, reward 1 on success only",
        eval_every=2_000),
    "pushblock": PriorTask(
        "labkit/PushBlock-v0", "push_block_prior", 50_000, {},
        description="PushBlock prior (~23% success): precise, contact-rich pushing"),
}


def train_with_prior(
    method: str,
    env_id: str,
    prior: ChunkPolicy | None,
    env_steps: int,
    *,
    seed: int = 0,
    n_envs: int = 8,
    eval_every: int = 4_000,
    n_eval_episodes: int = 20,
    scale: float = 0.3,
    bound: float = 2.0,
    progress: bool = True,
    ppo_kwargs: dict[str, Any] | None = None,
    check_env_id: bool = True,
    callback: Callable | None = None,
) -> RunRecord:
    """Train one PPO agent of ``method`` for ``env_steps`` environment steps; return its record.

    :param method: ``"scratch"``, ``"residual"`` or ``"dsrl"`` (see the module docstring).
    :param prior: the frozen prior (ignored by ``"scratch"``).
    :param env_steps: budget in environment steps (a DSRL agent step counts as the Ta it executes).
    :param eval_every: environment steps between evaluations.
    :param n_eval_episodes: evaluation episodes (one per evaluation env; start states fixed per seed).
    :param scale: residual scale (``"residual"``); ``bound``: noise bound (``"dsrl"``).
    :param ppo_kwargs: override ``PPO_DEFAULTS[method]``.
    :param check_env_id: False to adapt a prior trained on another env (e.g. TwoRoutes -> TwoRoutesShifted).
    """
    from labkit.callbacks import learn

    kw = dict(scale=scale, bound=bound, check_env_id=check_env_id)
    venv = make_method_env(method, env_id, prior, n_envs, seed=seed, **kw)
    eval_env = make_method_env(method, env_id, prior, n_eval_episodes, seed=10_000 + seed, **kw)
    kwargs = {**PPO_DEFAULTS[method], **(ppo_kwargs or {})}
    model = PPO("MlpPolicy", venv, seed=seed, verbose=0, **kwargs)
    recorder = SuccessRecorder(eval_env, eval_every, env_steps, eval_seed=10_000 + seed, progress=progress,
                               deterministic=EVAL_DETERMINISTIC[method], desc=f"{method} seed {seed}")
    learn(model, env_steps, recorder if callback is None else [recorder, callback])
    h = recorder.history
    return RunRecord(method, seed, h["steps"], h["success_rate"], h["mean_return"], h["seconds"], model, venv, eval_env)
